"""The CUDA fast-path switches of GANTrainer, checked against eager fp32 and timed (28x28 DCGAN).

    python benchmarks/gpu_paths.py [--steps 300]

For each variant (fp32 eager, bf16 autocast, + channels_last, + torch.compile) it trains the same
models from the same weights on the same batches and prints steps/s and how far its losses and
samples are from the fp32 eager run. Run it on a CUDA machine; on the CPU it only checks.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from eep596gan.device import get_device
from eep596gan.recipes import build_gan, recipe
from eep596gan.train import GANTrainer

VARIANTS = {
    "fp32 eager": {"amp": False, "channels_last": False},
    "bf16 autocast": {"amp": True, "channels_last": False},
    "bf16 + channels_last": {"amp": True, "channels_last": True},
    "bf16 + channels_last + compile": {"amp": True, "channels_last": True, "compile": True},
    "fp32 + compile": {"amp": False, "channels_last": False, "compile": True},
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    args = p.parse_args(argv)
    device = get_device()
    r = recipe("dcgan", "mnist", batch_size=args.batch_size, width=32)
    x = torch.rand(60_000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    torch.manual_seed(0)
    g0, d0 = build_gan(r, (1, 28, 28))
    z = torch.randn(256, r.latent_dim, generator=torch.Generator().manual_seed(1)).to(device)
    ref = None
    print(f"device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""))
    for name in args.variants.split(","):
        kw = VARIANTS[name]
        if kw.get("compile") and device.type != "cuda":
            continue
        t = GANTrainer(copy.deepcopy(g0), copy.deepcopy(d0), latent_dim=r.latent_dim, lr=r.lr,
                       device=device, **kw)
        t.fit(x, 20, r.batch_size, progress=False)  # warm-up (and compilation)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        t.fit(x, args.steps, r.batch_size, progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = args.steps / (time.perf_counter() - t0)
        out = (torch.tensor(t.history["d_loss"]), t.sample(z=z).float().cpu())
        if ref is None:
            ref = out
        d_loss_gap = (out[0][:20] - ref[0][:20]).abs().max().item()
        sample_gap = (out[1] - ref[1]).abs().mean().item()
        print(f"{name:<32} {rate:8.1f} steps/s  {rate * r.batch_size:9.0f} images/s  "
              f"max |d_loss - fp32| over the first 20 steps {d_loss_gap:.4f}  "
              f"mean |G(z) - fp32| after {20 + args.steps} steps {sample_gap:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
