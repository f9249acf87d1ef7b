"""The `eep596gan` command: `train`, `grade` and `doctor`."""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

__all__ = ["main", "train_command", "doctor"]


def _train_parser(sub) -> None:
    from .data import DATASETS
    from .losses import GAN_LOSSES
    from .recipes import GAN_KINDS, LIKELIHOOD_KINDS

    p = sub.add_parser("train", help="train a model; write samples.png, metrics.json, "
                       "checkpoint.pt")
    p.add_argument("model", choices=GAN_KINDS + LIKELIHOOD_KINDS, help="what to train")
    p.add_argument("--data", default="digits", choices=tuple(DATASETS), metavar="NAME",
                   help=f"dataset: {', '.join(DATASETS)} (default digits)")
    p.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    p.add_argument("--batch-size", type=int, help="minibatch size m (default: the recipe's)")
    p.add_argument("--k", type=int, help="discriminator steps per generator step (default 1)")
    p.add_argument("--loss", choices=tuple(GAN_LOSSES), metavar="LOSS",
                   help=f"GAN loss: {', '.join(GAN_LOSSES)} (default: the recipe's)")
    p.add_argument("--lr", type=float, help="Adam learning rate (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--root", help="folder for torchvision datasets")
    p.add_argument("--checkpoint-every", type=int, help="save a checkpoint every N steps")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--out", required=True, help="output folder")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `eep596gan` console script."""
    parser = argparse.ArgumentParser(prog="eep596gan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    grade = sub.add_parser("grade", help="autograde a folder (or zip) of student submissions")
    from . import grading

    grading.add_arguments(grade)
    sub.add_parser("doctor", help="versions, device and which datasets are available offline")
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return train_command(args)
        if args.command == "grade":
            return grading.run(args)
        return doctor()
    except (ValueError, FileNotFoundError, FloatingPointError, RuntimeError) as err:
        print(f"eep596gan {args.command}: error: {err}", file=sys.stderr)
        return 2


def train_command(args: argparse.Namespace) -> int:
    """`eep596gan train`: GANs in `_train_gan`, the VAE and MADE models in `_train_likelihood`."""
    from .recipes import LIKELIHOOD_KINDS

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.model in LIKELIHOOD_KINDS:
        return _train_likelihood(args, out)
    return _train_gan(args, out)


def _train_likelihood(args, out: Path) -> int:
    """`train vae` / `train ar`: a VAE or a MADE pixel model on an image dataset."""
    import torch

    from .data import load_images
    from .device import get_device, seed_everything
    from .losses import vae_loss
    from .models import VAE, PixelAR, binarize
    from .recipes import likelihood_recipe
    from .train import ARTrainer, VAETrainer

    r = likelihood_recipe(args.model, args.data, steps=args.steps, batch_size=args.batch_size,
                          lr=args.lr)
    device = get_device(args.device)
    seed_everything(args.seed)
    x, _ = load_images(args.data, root=args.root)
    held_out, _ = load_images(args.data, root=args.root, split="test")
    shape = tuple(x.shape[1:])
    steps, batch_size = r.steps, r.batch_size
    if args.model == "vae":
        model, trainer_cls, data = VAE(shape, latent_dim=r.latent_dim), VAETrainer, x
    else:
        model, trainer_cls, data = PixelAR(shape), ARTrainer, binarize(x)
    trainer = trainer_cls(model, lr=r.lr, device=device, seed=args.seed)
    ckpt = out / "checkpoint.pt"
    if args.resume and ckpt.is_file():
        trainer.load(ckpt)
        print(f"resumed from {ckpt} at step {trainer.step}")
    todo, every = max(0, steps - trainer.step), args.checkpoint_every or steps
    t0 = time.perf_counter()
    while trainer.step < steps:  # in chunks, with a checkpoint after each
        trainer.fit(data, min(every - trainer.step % every, steps - trainer.step), batch_size,
                    progress=not args.no_progress)
        trainer.save(ckpt)
    trainer.save(ckpt)
    seconds = time.perf_counter() - t0
    model.eval()
    gen = torch.Generator(device=device).manual_seed(12345)
    with torch.no_grad():
        samples = model.sample(1000, generator=gen).cpu()
        if args.model == "vae":
            elbo = -vae_loss(model, held_out.to(device))[0].item()
            score = {"heldout_elbo": round(elbo, 4)}
        else:
            nll = model.log_prob(binarize(held_out).to(device)).neg().mean().item()
            score = {"heldout_nll_nats": round(nll, 4),
                     "heldout_bits_per_dim": round(nll / math.log(2) / math.prod(shape), 4)}
            samples = samples * 2 - 1  # {0, 1} pixels -> [-1, 1] for plots and features
    metrics = {"model": args.model, "data": args.data, "seed": args.seed, "steps": trainer.step,
               "steps_this_run": todo, "seconds": round(seconds, 3),
               "images_per_second": (round(todo * batch_size / seconds, 1)
                                     if todo and seconds else 0.0),
               "device": str(device), **score, **_image_scores(samples, x, held_out, args)}
    _save_grid(samples[:64], out / "samples.png",
               f"{args.model} samples after {trainer.step} steps")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    print(f"wrote {out / 'samples.png'}, {out / 'metrics.json'}, {ckpt}")
    return 0


def _train_gan(args, out: Path) -> int:
    from .data import dataset, load_images, sample_2d
    from .device import get_device, seed_everything
    from .recipes import recipe, trainer_from_recipe

    r = recipe(args.model, args.data, steps=args.steps, batch_size=args.batch_size, k=args.k,
               loss=args.loss, lr=args.lr)
    device = get_device(args.device)
    seed_everything(args.seed)
    points = not dataset(args.data).is_image
    if points:
        x = sample_2d(args.data, r.n_points, seed=args.seed)
    else:
        x, _ = load_images(args.data, root=args.root)
    trainer = trainer_from_recipe(r, x.shape[1:], seed=args.seed, device=device)
    ckpt = out / "checkpoint.pt"
    if args.resume and ckpt.is_file():
        trainer.load(ckpt)
        print(f"resumed from {ckpt} at step {trainer.step}")
    elif args.resume:
        print(f"no checkpoint at {ckpt}: starting from step 0")
    todo = max(0, r.steps - trainer.step)
    t0 = time.perf_counter()
    trainer.fit(x, todo, r.batch_size, progress=not args.no_progress, checkpoint_path=ckpt,
                checkpoint_every=args.checkpoint_every)
    if todo == 0:
        trainer.save(ckpt)
    seconds = time.perf_counter() - t0
    metrics = {"model": args.model, "data": args.data, "seed": args.seed, "steps": trainer.step,
               "steps_this_run": todo, "seconds": round(seconds, 3),
               "images_per_second": round(todo * r.batch_size * r.k / seconds, 1) if todo else 0.0,
               "device": str(device), "recipe": {k: v for k, v in vars(r).items()}}
    metrics.update(_gan_metrics(trainer, x, args, points))
    _plot_samples(trainer, x, out / "samples.png", points)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps({k: v for k, v in metrics.items() if k != "recipe"}, indent=2))
    print(f"wrote {out / 'samples.png'}, {out / 'metrics.json'}, {ckpt}")
    return 0


def _gan_metrics(trainer, x, args, points: bool) -> dict:
    import torch

    from . import metrics
    from .data import dataset, load_images

    gen = torch.Generator(device=trainer.device).manual_seed(12345)
    z = torch.randn(5000 if points else 1000, trainer.config.latent_dim, generator=gen,
                    device=trainer.device)
    fake = trainer.sample(z=z).cpu()
    if points:
        if dataset(args.data).modes is None:
            return {}
        cov = metrics.mode_coverage(fake, name=args.data)
        return {k: cov[k] for k in ("modes_captured", "modes_total", "high_quality_fraction")}
    held_out, _ = load_images(args.data, root=args.root, split="test")
    return _image_scores(fake, x, held_out, args)


def _image_scores(fake, x, held_out, args) -> dict:
    """Fréchet distance of samples to training images, beside that of held-out real images
    (the floor).
    """
    import torch

    from . import metrics

    train = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
              [: max(len(held_out), 1000)]]
    def score(images) -> float:
        return round(metrics.frechet_distance(images, train, dataset=args.data, root=args.root), 4)

    return {"frechet_distance": score(fake), "frechet_distance_real": score(held_out)}


def _save_grid(images, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from . import viz

    fig = viz.image_grid(images, nrow=8, title=title)  # through matplotlib: 8x8 digits stay visible
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _plot_samples(trainer, x, path: Path, points: bool) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from . import viz

    if points:
        fake = trainer.sample(z=_plot_noise(2000, trainer.config.latent_dim, trainer.device)).cpu()
        fig = viz.plot_2d(fake, real=x[:2000], discriminator=trainer.discriminator,
                          title=f"step {trainer.step}: samples over D(x)")
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
    else:
        _save_grid(trainer.sample(64).cpu(), path, f"G(z) after {trainer.step} steps")


def _plot_noise(n: int, d: int, device):
    """Seeded noise for plots, independent of the training generator."""
    import torch

    return torch.randn(n, d, generator=torch.Generator(device=device).manual_seed(54321),
                       device=device)


def doctor() -> int:
    """Print versions, the device and which datasets load offline."""
    from importlib.metadata import version

    import torch

    from . import __version__
    from .data import dataset_status
    from .device import get_device, quick_mode

    dev = get_device()
    rows = [("eep596gan", __version__), ("python", platform.python_version()),
            ("torch", torch.version.__version__), ("torchvision", version("torchvision")),
            ("numpy", version("numpy")),
            ("device",
             str(dev) + (f" ({torch.cuda.get_device_name()})" if dev.type == "cuda" else "")),
            ("cpu threads", str(torch.get_num_threads())), ("quick mode", str(quick_mode()))]
    rows += [(f"data: {k}", v) for k, v in dataset_status().items()]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
