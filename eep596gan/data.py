"""Datasets: the embedded digits, torchvision's MNIST family, 2-D and 1-D mixtures, and a sampler.

Images come back as float tensors in [-1, 1] of shape (N, C, H, W), the range of a tanh generator.
`DATASETS` (at the end) is the registry every other module reads: a new dataset is one entry.

A little over 300 lines because the registry and the loaders it points to belong together:
splitting them would put a dataset's facts in two files again.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .paths import data_dir

__all__ = [
    "Dataset",
    "DATASETS",
    "IMAGE_DATASETS",
    "POINT_DATASETS",
    "MODE_DATASETS",
    "MIXTURES_1D",
    "dataset",
    "names",
    "load_images",
    "dataset_status",
    "sample_2d",
    "mode_centers",
    "Mixture1D",
    "mixture_1d",
    "TensorSampler",
]

_SPLITS = ("train", "test", "all")
# digits has no official split: a fixed shuffle keeps 297 images (about 1/6) held out.
_DIGITS_TEST = 297


@dataclass(frozen=True)
class Dataset:
    """One entry of `DATASETS`: everything the package knows about a dataset, in one place."""

    name: str
    shape: tuple[int, ...]  # one sample: (C, H, W) for images, (2,) for points
    recipe_group: str  # which default hyperparameters fit it (a key group of recipes.py)
    load: Callable | None = None  # images: load(split) -> (x, y); points: load(n, generator)
    torchvision: str | None = None  # a torchvision dataset class: downloaded, not embedded
    classifier_epochs: int = 0  # images: epochs of the CNN behind the Fréchet distance
    modes: Callable[[], tuple[torch.Tensor, float]] | None = None  # 2-D: (centers, sigma)

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3


def _unknown(name: str, valid: tuple[str, ...], what: str) -> ValueError:
    return ValueError(f"unknown {what} {name!r}; valid names are: {', '.join(valid)}")


def load_images(
    name: str = "digits",
    root: str | os.PathLike | None = None,
    download: bool | None = None,
    device: str | torch.device | None = None,
    split: str = "train",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load an image dataset as `(x, y)`.

    Args:
        name: "digits" (scikit-learn's 8x8 handwriting, offline), "mnist" or "fashion_mnist".
        root: folder for torchvision datasets (default: `paths.data_dir()`).
        download: let torchvision download a missing dataset (default: True).
        device: where to put the tensors (default: CPU).
        split: "train", "test" (held out) or "all".
    Returns:
        x: float32 (N, 1, H, W) in [-1, 1]; y: int64 (N,) class labels.
    """
    entry = dataset(name, "images")
    if split not in _SPLITS:
        raise _unknown(split, _SPLITS, "split")
    if entry.torchvision:
        x, y = _load_torchvision(entry, root, download, split)
    else:
        x, y = entry.load(split)
    return x.to(device or "cpu"), y.to(device or "cpu")


def _load_digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 8.0 - 1.0  # (N,1,8,8), 0..16
    y = torch.tensor(bunch.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    if split == "train":
        order = order[_DIGITS_TEST:]
    elif split == "test":
        order = order[:_DIGITS_TEST]
    else:
        order = torch.arange(len(y))
    return x[order], y[order]


def _load_torchvision(entry: Dataset, root, download, split):
    import torchvision

    name, cls = entry.name, getattr(torchvision.datasets, entry.torchvision)
    root = Path(root) if root is not None else data_dir()
    download = True if download is None else download
    parts = []
    for train in ({"train": [True], "test": [False], "all": [True, False]}[split]):
        try:
            ds = cls(str(root), train=train, download=False)
        except RuntimeError:
            if not download:
                raise _missing(name, root, cls) from None
            try:
                ds = cls(str(root), train=train, download=True)
            except Exception as err:  # offline: URLError, socket errors, checksum failures...
                raise _missing(name, root, cls, err) from err
        parts.append((ds.data, ds.targets))
    data = torch.cat([torch.as_tensor(d) for d, _ in parts])
    targets = torch.cat([torch.as_tensor(t) for _, t in parts])
    x = data.to(torch.float32).unsqueeze(1) / 127.5 - 1.0  # (N,1,28,28) from uint8
    return x, targets.to(torch.int64)


def _missing(name, root, cls, err=None) -> FileNotFoundError:
    folder = Path(root) / cls.__name__ / "raw"
    why = f" (download failed: {type(err).__name__}: {err})" if err is not None else ""
    return FileNotFoundError(
        f"{name!r} is not in {folder} and could not be downloaded{why}. "
        f"Connect to the internet and pass download=True, copy the four IDX files into {folder}, "
        "or use the embedded dataset: load_images('digits')."
    )


def dataset_status(root: str | os.PathLike | None = None) -> dict[str, str]:
    """Which image datasets can be loaded right now without a network."""
    root = Path(root) if root is not None else data_dir()
    status = {}
    for name in names("images"):
        folder = DATASETS[name].torchvision
        if folder is None:
            status[name] = "available (embedded)"
            continue
        raw = root / folder / "raw"
        have = raw.is_dir() and sum(1 for p in raw.iterdir() if "idx" in p.name) >= 4
        status[name] = (f"available in {raw}" if have
                        else f"absent from {raw} (downloads on first use)")
    return status


# ---------------------------------------------------------------------------- 2-D mixtures
def _ring8() -> tuple[torch.Tensor, float]:
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return (2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)).float(), 0.02


def _grid25() -> tuple[torch.Tensor, float]:
    ticks = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(ticks, ticks), 0.05


def mode_centers(name: str) -> tuple[torch.Tensor, float]:
    """The mode centers (K, 2) and the per-mode standard deviation of `ring8` or `grid25`."""
    return dataset(name, "modes").modes()


def _mixture_points(name: str):
    def load(n: int, generator=None) -> torch.Tensor:
        centers, sigma = mode_centers(name)
        which = torch.randint(len(centers), (n,), generator=generator)
        return centers[which] + sigma * torch.randn(n, 2, generator=generator)

    return load


def _moons(n: int, generator=None) -> torch.Tensor:
    t = math.pi * torch.rand(n, generator=generator)
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, t.cos(), 1 - t.cos())
    yy = torch.where(upper, t.sin(), 0.5 - t.sin())
    pts = torch.stack([x - 0.5, yy - 0.25], dim=1) * 2.0
    return pts + 0.05 * torch.randn(n, 2, generator=generator)


def _swissroll(n: int, generator=None) -> torch.Tensor:
    """A 2-D spiral, scaled to about the same extent as ring8."""
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator))
    pts = torch.stack([t * t.cos(), t * t.sin()], dim=1) / 5.0
    return pts + 0.05 * torch.randn(n, 2, generator=generator)


def sample_2d(name: str, n: int, seed: int | None = None, generator: torch.Generator | None = None):
    """Draw `n` points (n, 2) float32 from a 2-D toy distribution: ring8, grid25, moons,
    swissroll.
    """
    entry = dataset(name, "points")
    if generator is None:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return entry.load(n, generator)


# ---------------------------------------------------------------------------- 1-D mixtures
@dataclass(frozen=True)
class Mixture1D:
    """A 1-D Gaussian mixture with a known density: for checking
    D* = p_data / (p_data + p_model).
    """

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw `n` samples, shape (n, 1)."""
        w = torch.tensor(self.weights, dtype=torch.float64)
        which = torch.multinomial(w / w.sum(), n, replacement=True, generator=generator)
        mu = torch.tensor(self.means, dtype=torch.float64)[which]
        sd = torch.tensor(self.stds, dtype=torch.float64)[which]
        return (mu + sd * torch.randn(n, generator=generator, dtype=torch.float64)).float()[:, None]

    def pdf(self, x: torch.Tensor) -> torch.Tensor:
        """The density at `x` (any shape), computed in float64."""
        x = torch.as_tensor(x, dtype=torch.float64)[..., None]
        w = torch.tensor(self.weights, dtype=torch.float64)
        mu = torch.tensor(self.means, dtype=torch.float64)
        sd = torch.tensor(self.stds, dtype=torch.float64)
        comp = torch.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
        return (comp * (w / w.sum())).sum(-1)


MIXTURES_1D = {
    "gaussian": Mixture1D((1.0,), (0.0,), (1.0,)),
    "shifted": Mixture1D((1.0,), (1.5,), (1.0,)),
    "bimodal": Mixture1D((0.5, 0.5), (-2.0, 2.0), (0.5, 0.5)),
    "skewed": Mixture1D((0.7, 0.3), (-1.0, 2.0), (0.7, 0.4)),
}


def mixture_1d(name: str) -> Mixture1D:
    """One of the named 1-D mixtures in `MIXTURES_1D`."""
    if name not in MIXTURES_1D:
        raise _unknown(name, tuple(MIXTURES_1D), "1-D mixture")
    return MIXTURES_1D[name]


# ---------------------------------------------------------------------------- sampling
class TensorSampler:
    """Draws minibatches by random index from tensors kept on the training device (no DataLoader).

    `sampler(m)` returns `x[idx]` (or a tuple `(x[idx], y[idx])` when built with labels), where
    `idx` is drawn with replacement from `generator`; saving the generator's state makes runs
    resumable bit for bit.
    """

    def __init__(self, *tensors: torch.Tensor, device=None,
                 generator: torch.Generator | None = None):
        if not tensors:
            raise ValueError("TensorSampler needs at least one tensor")
        n = len(tensors[0])
        if n == 0 or any(len(t) != n for t in tensors):
            raise ValueError("tensors must be non-empty and of equal length, "
                             f"got {[len(t) for t in tensors]}")
        device = torch.device(device) if device is not None else tensors[0].device
        self.tensors = tuple(t.to(device) for t in tensors)
        self.device = device
        self.generator = generator

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __call__(self, m: int):
        idx = torch.randint(len(self), (m,), device=self.device, generator=self.generator)
        out = tuple(t[idx] for t in self.tensors)
        return out[0] if len(out) == 1 else out


# ---------------------------------------------------------------------------- the registry
# A new dataset is one entry here (plus its test in tests/test_data.py): the CLI, the recipes,
# the classifier and the metrics read everything they need from it.
DATASETS: dict[str, Dataset] = {d.name: d for d in (
    Dataset("digits", (1, 8, 8), "digits", load=_load_digits, classifier_epochs=30),
    Dataset("mnist", (1, 28, 28), "mnist", torchvision="MNIST", classifier_epochs=2),
    Dataset("fashion_mnist", (1, 28, 28), "mnist", torchvision="FashionMNIST",
            classifier_epochs=2),
    Dataset("ring8", (2,), "points", load=_mixture_points("ring8"), modes=_ring8),
    Dataset("grid25", (2,), "points", load=_mixture_points("grid25"), modes=_grid25),
    Dataset("moons", (2,), "points", load=_moons),
    Dataset("swissroll", (2,), "points", load=_swissroll),
)}
_KINDS = {  # what `dataset(name, kind)` asks of an entry, and how its error names the kind
    "images": (lambda d: d.is_image, "image dataset"),
    "points": (lambda d: not d.is_image, "2-D dataset"),
    "modes": (lambda d: d.modes is not None, "mixture with known modes"),
}


def names(kind: str | None = None) -> tuple[str, ...]:
    """The registered names, in order; `kind` "images", "points" or "modes" keeps those only."""
    keep = _KINDS[kind][0] if kind else (lambda d: True)
    return tuple(name for name, d in DATASETS.items() if keep(d))


def dataset(name: str, kind: str | None = None) -> Dataset:
    """The registry entry called `name`, which must be of `kind` when one is given.

    Raises a ValueError listing the valid names otherwise. Every module looks datasets up here
    at call time, so an entry added to `DATASETS` is seen everywhere.
    """
    keep, what = _KINDS[kind] if kind else (lambda d: True, "dataset")
    entry = DATASETS.get(name)
    if entry is None or not keep(entry):
        raise _unknown(name, names(kind), what)
    return entry


# The names at import, for convenience (parametrized tests, notebooks); code checks `dataset()`.
IMAGE_DATASETS = names("images")
POINT_DATASETS = names("points")
MODE_DATASETS = names("modes")
