"""A small CNN per image dataset, trained once and cached: the feature extractor of our metrics.

FID (Heusel et al. 2017) compares Inception-v3 features of real and generated images. Inception
knows nothing of 8x8 digits, so we play the same game with a classifier trained on the dataset
itself (as the "MNIST FID" literature does): its 64-d penultimate layer is the feature space.
Training is seeded, so every machine gets the same weights; they are cached on disk under
`$EEP596GAN_CACHE` (default `~/.cache/eep596gan`) in `classifiers/<dataset>-v1.pt`, and in memory.
"""

from __future__ import annotations

import copy
import functools
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import dataset as dataset_entry
from .data import load_images
from .device import get_device
from .paths import cache_dir

__all__ = [
    "FEATURE_DIM",
    "SmallCNN",
    "classifier_path",
    "load_classifier",
    "feature_extractor",
    "classifier_accuracy",
    "train_classifier",
]

VERSION = 1  # bump when the architecture or the recipe changes: old cache files are then ignored
FEATURE_DIM = 64
_SEED = 0


class SmallCNN(nn.Module):
    """conv-pool-conv-pool, a 64-d ReLU feature layer, a linear head; for 8x8 and 28x28 inputs."""

    def __init__(self, num_classes: int = 10, feature_dim: int = FEATURE_DIM):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (m, 32, H/2, W/2)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),  # (m, 64, 4, 4)
            nn.Flatten(), nn.Linear(64 * 16, feature_dim), nn.ReLU(),  # (m, feature_dim)
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (m, num_classes) logits


def _check_dataset(dataset: str) -> None:
    dataset_entry(dataset, "images")  # a ValueError naming the image datasets otherwise


def classifier_path(dataset: str = "digits") -> Path:
    """Where the classifier's state_dict for `dataset` is cached."""
    _check_dataset(dataset)
    return cache_dir() / "classifiers" / f"{dataset}-v{VERSION}.pt"


@torch.enable_grad()  # callers such as metrics.features run under no_grad
def train_classifier(dataset: str = "digits", epochs: int | None = None, device=None,
                     root=None) -> SmallCNN:
    """Train a `SmallCNN` on `dataset`'s train split with a fixed seed (no caching).

    Args:
        dataset: "digits", "mnist" or "fashion_mnist".
        epochs: passes over the training set (default: the dataset's `classifier_epochs`).
        device: where to train (default: `get_device()`).
    Returns:
        The trained model, on the CPU, in eval mode.
    """
    _check_dataset(dataset)
    device = get_device(device)
    x, y = load_images(dataset, root=root, split="train", device=device)
    gen = torch.Generator().manual_seed(_SEED)
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
        torch.manual_seed(_SEED)
        model = SmallCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    m = 64
    model.train()
    # One CPU thread: these layers are too small to gain from more, and on a shared machine
    # (CI runs pytest -n 2) competing OpenMP threads made training 20x slower here.
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if device.type == "cpu" else threads)
    try:
        for _ in range(epochs if epochs is not None else dataset_entry(dataset).classifier_epochs):
            order = torch.randperm(len(x), generator=gen).to(device)
            for i in range(0, len(x), m):
                idx = order[i : i + m]
                loss = F.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.cpu().eval()


def _save_atomic(state: dict, path: Path) -> None:
    """torch.save to a temporary file, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@functools.cache
def _cached_classifier(dataset: str, path: str, root: str | None = None) -> SmallCNN:
    """Load from `path`, or train and write it there; memoised per (dataset, path)."""
    model = SmallCNN()
    if os.path.exists(path):
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.eval()
        except Exception as err:  # a truncated or foreign file: train afresh and overwrite it
            warnings.warn(f"ignoring unreadable classifier cache {path} ({err}); retraining",
                          stacklevel=3)
    # digits trains in seconds on the CPU, which gives the same weights on every machine
    model = train_classifier(dataset, device="cpu" if dataset == "digits" else None, root=root)
    _save_atomic(model.state_dict(), Path(path))
    return model


def load_classifier(dataset: str = "digits", root=None) -> SmallCNN:
    """The cached classifier for `dataset` (trained on first use), on the CPU, in eval mode.

    `root`: where a torchvision dataset is found when the classifier must be trained (as for
    `load_images`); the weights do not depend on it.
    """
    return _cached_classifier(dataset, str(classifier_path(dataset)),
                              None if root is None else str(root))


def feature_extractor(dataset: str = "digits", device=None, root=None) -> nn.Module:
    """The classifier's penultimate layer as a frozen module.

    Args:
        dataset: "digits", "mnist" or "fashion_mnist": the classifier is trained on it once.
        device: where the module lives (default: `get_device()`).
    Returns:
        An eval-mode `nn.Module` mapping images (m, *data.DATASETS[dataset].shape) in [-1, 1] to
        features (m, FEATURE_DIM).
    """
    features = copy.deepcopy(load_classifier(dataset, root).features).to(get_device(device)).eval()
    return features.requires_grad_(False)


@torch.no_grad()
def classifier_accuracy(dataset: str = "digits", split: str = "test", device=None) -> float:
    """Accuracy of the cached classifier on `split` of `dataset` (a sanity check of the
    features).
    """
    device = get_device(device)
    model = copy.deepcopy(load_classifier(dataset)).to(device)
    x, y = load_images(dataset, split=split, device=device)
    correct = sum(int((model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum())
                  for i in range(0, len(x), 1000))
    return correct / len(y)
