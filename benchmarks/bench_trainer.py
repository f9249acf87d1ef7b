"""GANTrainer vs the textbook loop of the PyTorch DCGAN tutorial: steps per second, same work.

Both sides train the same models (same initial weights), at the same batch size, for the same
number of steps, in one process, alternating which runs first; the ratio printed is the median
over repeats of each back-to-back pair's ratio, with its range. The textbook loop is the
tutorial's: a DataLoader over a TensorDataset, BCEWithLogitsLoss against label tensors, and
`.item()` on the losses every step. GANTrainer runs with its defaults (float32) and, where the
device multiplies bfloat16 natively, also with amp=True (bf16 autocast). Prints a table; `--write`
also updates benchmarks/RESULTS.md.

    python benchmarks/bench_trainer.py [--steps 200] [--repeats 5] [--write]

On CUDA it also reports images per second and the fraction of the bf16 roofline that the 28x28
DCGAN step reaches (FLOPs counted with torch.utils.flop_counter over one step).
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from eep596gan.data import load_images
from eep596gan.device import get_device, native_bf16
from eep596gan.recipes import build_gan, recipe
from eep596gan.train import GANTrainer

# dense bf16 tensor-core peaks (FLOP/s) for the roofline line; unknown devices print no fraction
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12, "T4": 65e12}


def textbook_loop(generator, discriminator, x, steps, batch_size, latent_dim, lr, betas, device):
    """The PyTorch DCGAN tutorial's loop, with logits (BCEWithLogitsLoss) instead of a sigmoid."""
    loader = DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True, drop_last=True)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    done, log = 0, []
    while done < steps:
        for (real,) in loader:
            real = real.to(device)
            m = real.size(0)
            label = torch.full((m,), 1.0, device=device)
            # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
            discriminator.zero_grad()
            out = discriminator(real).view(-1)
            err_d_real = criterion(out, label)
            err_d_real.backward()
            d_x = out.sigmoid().mean().item()
            noise = torch.randn(m, latent_dim, device=device)
            fake = generator(noise)
            label.fill_(0.0)
            out = discriminator(fake.detach()).view(-1)
            err_d_fake = criterion(out, label)
            err_d_fake.backward()
            opt_d.step()
            # (2) Update G: maximize log(D(G(z)))
            generator.zero_grad()
            label.fill_(1.0)
            out = discriminator(fake).view(-1)
            err_g = criterion(out, label)
            err_g.backward()
            opt_g.step()
            log.append(((err_d_real + err_d_fake).item(), err_g.item(), d_x,
                        out.sigmoid().mean().item()))
            done += 1
            if done == steps:
                break
    return log


def _synthetic_mnist(n=60_000):
    """MNIST-sized stand-in (60000 x 1 x 28 x 28 in [-1, 1]) when MNIST is not on disk."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=g) * 2 - 1


def _case(name, kind, data, batch_size):
    if data == "mnist":
        try:
            x, _ = load_images("mnist", download=False)
            source = "MNIST"
        except FileNotFoundError:
            x, source = _synthetic_mnist(), "synthetic, MNIST's size"
        r = recipe(kind, "mnist", batch_size=batch_size, width=32)
    else:
        x, _ = load_images(data)
        source = "digits (1500 x 8 x 8)"
        r = recipe(kind, data, batch_size=batch_size)
    return {"name": name, "x": x, "recipe": r, "source": source}


def _time(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def bench_case(case, steps: int, repeats: int, device, bf16: bool) -> dict:
    r, x = case["recipe"], case["x"]
    torch.manual_seed(0)
    g0, d0 = build_gan(r, tuple(x.shape[1:]))

    def run_textbook():
        g, d = copy.deepcopy(g0).to(device), copy.deepcopy(d0).to(device)
        textbook_loop(g, d, x, steps, r.batch_size, r.latent_dim, r.lr, r.betas, device)

    def trainer_run(**options):
        def run():
            t = GANTrainer(copy.deepcopy(g0), copy.deepcopy(d0), latent_dim=r.latent_dim, lr=r.lr,
                           betas=r.betas, device=device, **options)
            t.fit(x, steps, r.batch_size, progress=False)
        return run

    runs = {"textbook": run_textbook, "trainer": trainer_run()}
    if bf16:
        runs["trainer_bf16"] = trainer_run(amp=True)
    for fn in runs.values():  # warm-up: allocator, kernels, data on device
        fn()
    rates = {k: [] for k in runs}
    for i in range(repeats):  # alternate the order, so drifts in machine speed hit every side
        for label, fn in list(runs.items())[:: 1 if i % 2 == 0 else -1]:
            rates[label].append(steps / _time(fn))
    med = {k: statistics.median(v) for k, v in rates.items()}
    row = {"case": case["name"], "data": case["source"], "batch": r.batch_size, **med}
    # the ratio is the median of each repeat's pair (trainer run / textbook run, back to back):
    # a shift in machine speed between repeats then moves both sides of a pair together
    for key, label in (("ratio", "trainer"), ("ratio_bf16", "trainer_bf16")):
        if label in rates:
            pairs = [a / b for a, b in zip(rates[label], rates["textbook"])]
            row[key], row[key + "_range"] = statistics.median(pairs), (min(pairs), max(pairs))
    if device.type == "cuda" and case["name"].startswith("DCGAN 28x28"):
        row.update(_roofline(g0, d0, r, x, device))
    return row


def _roofline(g0, d0, r, x, device) -> dict:
    """FLOPs of one training step (k=1) counted by torch, vs the device's bf16 peak."""
    from torch.utils.flop_counter import FlopCounterMode

    t = GANTrainer(copy.deepcopy(g0), copy.deepcopy(d0), latent_dim=r.latent_dim, lr=r.lr,
                   device=device)
    t.fit(x, 5, r.batch_size, progress=False)
    with FlopCounterMode(display=False) as counter:
        t.fit(x, 1, r.batch_size, progress=False)
    flops = counter.get_total_flops()
    steps = 200
    seconds = _time(lambda: t.fit(x, steps, r.batch_size, progress=False))
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    achieved = flops * steps / seconds
    return {"images_per_second": steps * r.batch_size / seconds, "flops_per_step": flops,
            "achieved_tflops": achieved / 1e12,
            "roofline_fraction": achieved / peak if peak else None}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dev = get_device()
    gpu = f", {torch.cuda.get_device_name()}" if dev.type == "cuda" else ""
    return (f"{cpu}, {torch.get_num_threads()} torch threads{gpu}; torch {torch.__version__}, "
            f"Python {platform.python_version()}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200, help="training steps per timed run")
    p.add_argument("--repeats", type=int, default=5, help="alternated runs per side (median)")
    p.add_argument("--device", default=None)
    p.add_argument("--cases", default="mlp,dcgan,dcgan28", help="comma-separated subset")
    p.add_argument("--no-bf16", action="store_true", help="skip the GANTrainer(amp=True) column")
    p.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    device = get_device(args.device)
    cases = {"mlp": ("MLP GAN on digits", "gan", "digits", 128),
             "dcgan": ("DCGAN on digits", "dcgan", "digits", 64),
             "dcgan28": ("DCGAN 28x28", "dcgan", "mnist", 64)}
    bf16 = native_bf16(device) and not args.no_bf16
    rows = []
    for key in args.cases.split(","):
        row = bench_case(_case(*cases[key]), args.steps, args.repeats, device, bf16)
        rows.append(row)
        print(f"{row['case']:<20} batch {row['batch']:>3}: "
              f"textbook {row['textbook']:7.1f} steps/s, "
              f"GANTrainer {row['trainer']:7.1f} steps/s ({_ratio(row, 'ratio')})"
              + (f", GANTrainer(amp=True) {row['trainer_bf16']:7.1f} steps/s "
                 f"({_ratio(row, 'ratio_bf16')})"
                 if bf16 else ""), flush=True)
        if "images_per_second" in row:
            frac = row["roofline_fraction"]
            print(f"  {row['images_per_second']:.0f} images/s, "
                  f"{row['flops_per_step'] / 1e9:.2f} GFLOP/step, "
                  f"{row['achieved_tflops']:.2f} TFLOP/s"
                  + (f" = {frac:.1%} of bf16 peak" if frac else ""))
    if args.write:
        write_results(rows, args, device)
    return 0


def _ratio(row: dict, key: str) -> str:
    low, high = row[key + "_range"]
    return f"{row[key]:.2f}x; {low:.2f}-{high:.2f}"


def write_results(rows, args, device) -> None:
    path = Path(__file__).with_name("RESULTS.md")
    cmd = (f"python benchmarks/bench_trainer.py --steps {args.steps} --repeats {args.repeats} "
           "--write")
    bf16 = "ratio_bf16" in rows[0]
    lines = [f"## Trainer vs textbook loop ({device.type}, {date.today().isoformat()})", "",
             f"Machine: {machine()}", f"Command: `{cmd}`", "",
             "| case | data | batch | textbook steps/s | GANTrainer steps/s | ratio; range |"
             + (" GANTrainer(amp=True) steps/s | ratio; range |" if bf16 else ""),
             "|---|---|---:|---:|---:|---:|" + ("---:|---:|" if bf16 else "")]
    lines += [f"| {r['case']} | {r['data']} | {r['batch']} | {r['textbook']:.1f} | "
              f"{r['trainer']:.1f} | {_ratio(r, 'ratio')} |"
              + (f" {r['trainer_bf16']:.1f} | {_ratio(r, 'ratio_bf16')} |" if bf16 else "")
              for r in rows]
    section = "\n".join(lines) + "\n"
    marker = f"<!-- bench:{device.type} -->"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if marker in old:
        head, _, rest = old.partition(marker)
        tail = rest.split("<!-- /bench -->", 1)[1] if "<!-- /bench -->" in rest else ""
        new = f"{head}{marker}\n{section}<!-- /bench -->{tail}"
    else:
        new = f"{old.rstrip()}\n\n{marker}\n{section}<!-- /bench -->\n"
    path.write_text(new)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
