"""How good are the samples? Mode coverage, Fréchet distance and precision/recall.

- Mode coverage on the 2-D mixtures follows VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
  2018): a sample is high quality within 3 sigma of its nearest mode; a mode is captured when it
  is the nearest mode of at least one high-quality sample.
- The Fréchet distance (Heusel et al. 2017, "FID") fits a Gaussian to the features of each image
  set and compares the two; our features come from a small classifier trained on the dataset
  (`eep596gan.classifier`), not Inception, so numbers are comparable only within one dataset.
- Precision and recall (Kynkäänniemi et al. 2019) separate quality (fake samples land on the real
  manifold) from coverage (real samples land on the fake manifold); each manifold is the union of
  balls reaching every point's k-th nearest neighbour.
- During training: `ModeCoverage`, a trainer callback; for latent arithmetic: `describe_samples`
  (the classifier's label and `ink`, a stroke-thickness score); for the likelihood models: the
  independent-pixel baseline's NLL and the VAE's importance-sampled log p(x) (Burda et al. 2016).

Longer than 300 lines because it is every sample-quality measure of the course in one place:
each section is short and they share the input checks.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from .classifier import (
    FEATURE_DIM,
    classifier_accuracy,
    feature_extractor,
    load_classifier,
)
from .data import dataset as dataset_entry
from .data import mode_centers
from .losses import bernoulli_nll, reconstruction_nll
from .models.vae import VAE, normal

__all__ = [
    "mode_coverage",
    "features",
    "feature_stats",
    "frechet_distance",
    "frechet_distance_from_stats",
    "precision_recall",
    "feature_extractor",
    "classifier_accuracy",
    "ModeCoverage",
    "ink",
    "describe_samples",
    "independent_bernoulli_nll",
    "importance_log_likelihood",
]


def _as_float64(x, what: str, ndim: int | None = None) -> Tensor:
    """`x` (tensor, array or list) as a detached float64 CPU tensor, refusing NaN and inf."""
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x.detach())
    x = x.to(device="cpu", dtype=torch.float64)
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{what} must have {ndim} dimension(s); got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(
            f"{what} contains {bad} NaN or infinite value(s): the model has probably diverged; "
            "check the losses, lower the learning rate, or filter with x[torch.isfinite(x).all(1)]"
        )
    return x


# ---------------------------------------------------------------------------- mode coverage
def mode_coverage(samples, name: str = "ring8", centers=None, sigma: float | None = None) -> dict:
    """Count the modes of a 2-D Gaussian mixture that the samples capture.

    Args:
        samples: (n, 2) points, e.g. `generator(z)`.
        name: "ring8" or "grid25": the mixture whose modes to use (see `data.mode_centers`).
        centers: (K, 2) mode centers; with `sigma`, overrides `name`.
        sigma: per-mode standard deviation; "high quality" means within 3 sigma of a center.
    Returns:
        dict with `modes_captured` (int), `modes_total` (int), `high_quality_fraction` (float)
        and `counts` (list of K ints: high-quality samples whose nearest mode is each center).
    """
    if (centers is None) != (sigma is None):
        raise ValueError("pass both centers and sigma, or neither (then name picks them)")
    if centers is None:
        centers, sigma = mode_centers(name)
    centers = _as_float64(centers, "centers", ndim=2)
    x = _as_float64(samples, "samples", ndim=2)
    if x.shape[1] != 2 or centers.shape[1] != 2:
        raise ValueError(f"samples and centers must be 2-D points (n, 2); got {tuple(x.shape)} "
                         f"and {tuple(centers.shape)}")
    if len(x) == 0 or len(centers) == 0:
        raise ValueError("need at least one sample and one center")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    dist, nearest = torch.cdist(x, centers).min(dim=1)  # (n,), (n,)
    high_quality = dist <= 3 * sigma
    counts = torch.bincount(nearest[high_quality], minlength=len(centers))  # (K,)
    return {
        "modes_captured": int((counts > 0).sum()),
        "modes_total": len(centers),
        "high_quality_fraction": float(high_quality.double().mean()),
        "counts": counts.tolist(),
    }


# ---------------------------------------------------------------------------- features
def _check_images(x, dataset: str, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    shape = dataset_entry(dataset, "images").shape  # a ValueError naming the image datasets
    if x.dim() == 3 and x.shape[1:] == shape[1:]:
        x = x.unsqueeze(1)  # (m, H, W) -> (m, 1, H, W)
    if x.dim() != 4 or tuple(x.shape[1:]) != shape:
        raise ValueError(
            f"{what} must be images of shape (m, {', '.join(map(str, shape))}) for {dataset!r}; "
            f"got {tuple(x.shape)}. Reshape with x.view(-1, {', '.join(map(str, shape))})"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite pixels: "
                         "the generator has probably diverged")
    return x.detach()


@torch.no_grad()
def features(x, dataset: str = "digits", device=None, batch_size: int = 1000,
             root=None) -> Tensor:
    """Classifier features (m, 64), float32 on the CPU, of images (m, C, H, W) in [-1, 1]."""
    x = _check_images(x, dataset, "x")
    net = feature_extractor(dataset, device, root)
    dev = next(net.parameters()).device
    out = [net(x[i : i + batch_size].to(dev, torch.float32)).cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out) if out else torch.zeros(0, FEATURE_DIM)


def feature_stats(x, dataset: str = "digits", device=None, root=None) -> tuple[Tensor, Tensor]:
    """Mean (d,) and covariance (d, d), float64, of the classifier features of images `x`."""
    f = features(x, dataset, device, root=root).double()  # (m, d)
    if len(f) < 2:
        raise ValueError(f"need at least 2 images to estimate a covariance; got {len(f)}")
    return f.mean(0), torch.cov(f.T)


# ---------------------------------------------------------------------------- Fréchet distance
def _psd_sqrt(a: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix via eigh
    (negative rounding -> 0).
    """
    w, v = torch.linalg.eigh((a + a.T) / 2)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet (2-Wasserstein squared) distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}), computed in float64. The trace of
    (S1 S2)^{1/2} equals that of (S1^{1/2} S2 S1^{1/2})^{1/2}, a symmetric PSD matrix, which avoids
    the complex roots and blow-ups of a general matrix square root on singular covariances.

    Args:
        mu1, mu2: means (d,) (a scalar for d = 1).
        sigma1, sigma2: covariances (d, d) (a variance for d = 1).
    Returns:
        The distance as a float, >= 0.
    """
    mu1, mu2 = (_as_float64(m, "mean").reshape(-1) for m in (mu1, mu2))
    s1, s2 = (_as_float64(s, "covariance") for s in (sigma1, sigma2))
    s1, s2 = (s.reshape(1, 1) if s.dim() < 2 else s for s in (s1, s2))
    d = len(mu1)
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        if tuple(s.shape) != (d, d):
            raise ValueError(f"{name} must be ({d}, {d}) to match the means; got {tuple(s.shape)}")
    if len(mu2) != d:
        raise ValueError(f"the means must have the same length; got {d} and {len(mu2)}")
    root1 = _psd_sqrt(s1)
    middle = root1 @ s2 @ root1  # (d, d), symmetric PSD
    tr_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    value = (mu1 - mu2).square().sum() + s1.trace() + s2.trace() - 2 * tr_sqrt
    return max(float(value), 0.0)  # rounding can leave -1e-13 for identical statistics


def frechet_distance(x_a, x_b, dataset: str = "digits", device=None, root=None) -> float:
    """Fréchet distance between two image sets in the classifier's feature space ("FID").

    Args:
        x_a, x_b: images (m, C, H, W) in [-1, 1] of `dataset`'s shape, at least 2 each (a few
            hundred for a stable number: the estimate is biased upwards for small sets).
        dataset: which classifier supplies the features.
        device: where to compute the features (default: `get_device()`).
        root: where a torchvision dataset is found if its classifier must be trained first.
    Returns:
        The distance as a float; 0 for identical feature statistics.
    """
    mu_a, s_a = feature_stats(x_a, dataset, device, root)
    mu_b, s_b = feature_stats(x_b, dataset, device, root)
    return frechet_distance_from_stats(mu_a, s_a, mu_b, s_b)


# ---------------------------------------------------------------------------- precision / recall
def _kth_neighbour_radii(points: Tensor, k: int, chunk: int) -> Tensor:
    """Distance from each point to its k-th nearest other point (n,)."""
    radii = [torch.cdist(points[i : i + chunk], points).kthvalue(k + 1, dim=1).values
             for i in range(0, len(points), chunk)]
    return torch.cat(radii)  # k + 1: the point itself is its own nearest neighbour at distance 0


def _inside_manifold(queries: Tensor, points: Tensor, radii: Tensor, chunk: int) -> Tensor:
    """For each query: does it fall inside any ball (points[j], radii[j])? (q,) bool."""
    hits = [(torch.cdist(queries[i : i + chunk], points) <= radii).any(dim=1)
            for i in range(0, len(queries), chunk)]
    return torch.cat(hits)


def precision_recall(real, fake, k: int = 3, dataset: str | None = None, device=None,
                     chunk: int = 1024) -> dict:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    precision = fraction of fake samples inside the real manifold (sample quality);
    recall = fraction of real samples inside the fake manifold (coverage, the cure for mode
    collapse hiding behind a good FID). A manifold is the union of balls around each point that
    reach its k-th nearest neighbour.

    Args:
        real, fake: points (n, d), e.g. 2-D samples or features; or images when `dataset` is given.
        k: neighbourhood size (the paper uses 3).
        dataset: when given, compare the classifier features of images of this dataset.
        device: where to compute the features (only with `dataset`).
        chunk: rows per distance block (bounds memory at chunk x n).
    Returns:
        dict with `precision` and `recall`, floats in [0, 1].
    """
    if dataset is not None:
        real, fake = features(real, dataset, device), features(fake, dataset, device)
    real, fake = _as_float64(real, "real"), _as_float64(fake, "fake")
    real, fake = (x.reshape(len(x), -1) if x.dim() != 2 else x for x in (real, fake))
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake must have the same dimension; got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")
    if not 1 <= k < min(len(real), len(fake)):
        raise ValueError(f"need 1 <= k < number of points in each set; got k={k}, "
                         f"{len(real)} real, {len(fake)} fake")
    real_radii = _kth_neighbour_radii(real, k, chunk)
    fake_radii = _kth_neighbour_radii(fake, k, chunk)
    return {
        "precision": float(_inside_manifold(fake, real, real_radii, chunk).double().mean()),
        "recall": float(_inside_manifold(real, fake, fake_radii, chunk).double().mean()),
    }


# ---------------------------------------------------------------------------- during training
class ModeCoverage:
    """Callback: `metrics.mode_coverage` of G(z) for one fixed batch of n noise vectors.

    After training, `steps`, `modes` (modes captured) and `quality` (high-quality fraction) are
    lists with one entry per call.
    """

    def __init__(self, name: str = "ring8", n: int = 2000, seed: int = 0):
        self.name, self.n, self.seed = name, int(n), int(seed)
        self.steps: list[int] = []
        self.modes: list[int] = []
        self.quality: list[float] = []
        self.total = None

    def __call__(self, trainer, step: int) -> None:
        z = torch.randn(self.n, trainer.config.latent_dim,
                        generator=torch.Generator().manual_seed(self.seed))
        cov = mode_coverage(trainer.sample(z=z).cpu(), self.name)
        self.steps.append(int(step))
        self.modes.append(cov["modes_captured"])
        self.quality.append(cov["high_quality_fraction"])
        self.total = cov["modes_total"]


# ---------------------------------------------------------------------------- latent arithmetic
def ink(x: Tensor) -> Tensor:
    """Stroke thickness score (m,): mean brightness of images in [-1, 1], mapped to [0, 1]."""
    return ((x.detach().float().clamp(-1, 1) + 1) / 2).flatten(1).mean(1)


@torch.no_grad()
def describe_samples(generator: nn.Module, z: Tensor, y: Tensor | None = None,
                     dataset: str = "digits") -> dict[str, Tensor]:
    """Generate G(z) and describe each image with the dataset's classifier and `ink`.

    Args:
        generator: maps z (m, latent_dim) (and labels y, if conditional) to images.
        z: noise (m, latent_dim); y: labels (m,) for a conditional generator.
        dataset: whose classifier labels the images ("digits", "mnist", ...).
    Returns:
        dict of CPU tensors: "x" images, "label" (m,), "confidence" (m,) and "ink" (m,).
    """
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        x = (generator(z.to(device)) if y is None
             else generator(z.to(device), y.to(device))).float().cpu()
    finally:
        generator.train(was_training)
    with torch.enable_grad():  # the classifier trains itself on first use
        classifier = load_classifier(dataset)
    probs = classifier(x).softmax(1)  # (m, classes)
    confidence, label = probs.max(1)
    return {"x": x, "label": label, "confidence": confidence, "ink": ink(x)}


# ---------------------------------------------------------------------------- likelihoods
def independent_bernoulli_nll(x_train: Tensor, x_test: Tensor, clip: float = 1e-3) -> Tensor:
    """-log p(x) in nats per test image under independent pixels with MLE probabilities.

    p_i = mean of pixel i over x_train (the MLE), clipped to [clip, 1 - clip] so that a pixel
    never on in training is unlikely rather than impossible on a test image.

    Args:
        x_train, x_test: binary images (N, ...) and (m, ...) in {0, 1} of one shape.
    Returns:
        the NLL of each test image, shape (m,).
    """
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"x_train {tuple(x_train.shape)} and x_test {tuple(x_test.shape)} "
                         "need one image shape")
    if not 0 < clip < 0.5:
        raise ValueError(f"clip must lie in (0, 0.5); got {clip}")
    p = x_train.double().mean(0).clamp(clip, 1 - clip)  # (...,) the MLE of each pixel
    logits = (p.log() - (-p).log1p()).expand_as(x_test)
    return bernoulli_nll(logits, x_test.double())


@torch.no_grad()
def importance_log_likelihood(vae: VAE, x: Tensor, k: int = 256,
                              generator: torch.Generator | None = None) -> Tensor:
    """Importance-sampled log p(x) = log E_{z~q(z|x)} [p(z) p(x|z) / q(z|x)] with k draws
    (IWAE bound).

    With k=1 its expectation is the ELBO; it rises towards log p(x) as k grows (Burda et al. 2016).

    Args:
        vae: a `VAE`.
        x: images in [-1, 1], shape (m, *vae.in_shape).
        k: importance samples per image.
        generator: optional torch.Generator for the draws.
    Returns:
        the estimate of log p(x) in nats for each image, shape (m,).
    """
    vae.check_input(x)
    if int(k) < 1:
        raise ValueError(f"k must be a positive int; got {k}")
    mu, logvar = vae.encode(x)  # (m, latent_dim) each
    std = torch.exp(0.5 * logvar)
    eps = normal((int(k), *mu.shape), mu, generator)  # (k, m, latent_dim)
    z = mu + std * eps
    log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)  # (k, m)
    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)  # (k, m)
    out = vae.decode(z.flatten(0, 1))  # (k * m, *in_shape)
    target = x.repeat(int(k), *[1] * (x.dim() - 1))
    log_px_z = -reconstruction_nll(out, target, vae.likelihood, vae.sigma)
    log_w = log_pz + log_px_z.view(int(k), -1) - log_q  # (k, m)
    return torch.logsumexp(log_w, dim=0) - math.log(int(k))
