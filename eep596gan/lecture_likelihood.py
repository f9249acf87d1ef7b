"""Helpers for the likelihood lectures (03 fully visible belief nets, 04 variational autoencoder).

The models live in `eep596gan.models`; this module holds what the lectures measure and show:
- the slide "Fully Visible BN" says generation costs O(n) sequential steps and offers no hidden
  variable to control: `count_calls` and `time_calls` measure the first, `complete` shows the
  only knob an FVBN has (the pixels already drawn), `fill_in_frames` shows sampling in progress;
- a per-pixel independent Bernoulli fitted by maximum likelihood is the baseline an
  autoregressive pixel model must beat: `independent_bernoulli_nll`;
- the slide "Variational Autoencoder" writes p(x) = integral p(z) p(x|z) dz: `importance_log_likelihood`
  estimates that integral (Burda et al. 2016), so the ELBO can be seen to lie below it;
  `VAEDecoder` and `decode_grid` turn the decoder into images for `eep596gan.viz`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn

from .losses import bernoulli_nll, gaussian_nll
from .models.autoregressive import PixelAR, _uniform
from .models.vae import VAE, normal

__all__ = [
    "complete",
    "fill_in_frames",
    "independent_bernoulli_nll",
    "count_calls",
    "time_calls",
    "linear_fit",
    "VAEDecoder",
    "decode_grid",
    "importance_log_likelihood",
]


# ------------------------------------------------------------------ fully visible belief nets
@torch.no_grad()
def complete(model: PixelAR, x: Tensor, n_observed: int, generator: torch.Generator | None = None) -> Tensor:
    """Keep the first `n_observed` pixels of x (raster order) and sample the rest from the model.

    Each missing pixel i is drawn from p(x_i | x_<i), one network call per pixel, exactly as
    `PixelAR.sample` does (with n_observed=0 and the same generator it gives the same images).

    Args:
        model: a `PixelAR`.
        x: binary images (m, *model.in_shape) in {0, 1}; only their first n_observed pixels are read.
        n_observed: how many pixels, in raster order, are given (0 to n_pixels).
        generator: optional torch.Generator for the draws.
    Returns:
        binary images (m, *model.in_shape): x's first n_observed pixels, then the model's.
    """
    model.check_input(x)
    d = math.prod(model.in_shape)
    if not 0 <= int(n_observed) <= d:
        raise ValueError(f"n_observed must lie in [0, {d}] (the number of pixels); got {n_observed}")
    out = x.flatten(1).clone()  # (m, d)
    out[:, int(n_observed):] = 0  # not drawn yet; MADE never reads them for pixels before them
    for i in range(int(n_observed), d):
        logit_i = model(out.view(-1, *model.in_shape)).flatten(1)[:, i]  # depends on out[:, :i] only
        out[:, i] = (_uniform(out.shape[0], out.device, generator) < torch.sigmoid(logit_i)).to(out.dtype)
    return out.view_as(x)


def fill_in_frames(x: Tensor, counts: Sequence[int]) -> Tensor:
    """Binary images as they look while being drawn: pixels >= k shown grey, for each k in counts.

    Args:
        x: binary images (m, C, H, W) in {0, 1}.
        counts: how many pixels (raster order) have been drawn in each frame.
    Returns:
        images in [-1, 1] (black 0, white 1, grey not drawn yet), shape (m * len(counts), C, H, W),
        one row of frames per image: show with `image_grid(..., nrow=len(counts))`.
    """
    d = x[0].numel()
    if any(not 0 <= int(k) <= d for k in counts) or not len(counts):
        raise ValueError(f"counts must be pixel counts in [0, {d}]; got {list(counts)}")
    flat = 2 * x.flatten(1).float() - 1  # (m, d) in {-1, 1}
    drawn = torch.arange(d, device=x.device)[None, None, :] < torch.as_tensor(list(counts), device=x.device)[None, :, None]
    frames = torch.where(drawn, flat[:, None, :], 0.0)  # (m, len(counts), d)
    return frames.reshape(-1, *x.shape[1:])


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
        raise ValueError(f"x_train {tuple(x_train.shape)} and x_test {tuple(x_test.shape)} need one image shape")
    if not 0 < clip < 0.5:
        raise ValueError(f"clip must lie in (0, 0.5); got {clip}")
    p = x_train.double().mean(0).clamp(clip, 1 - clip)  # (...,) the MLE of each pixel
    logits = (p.log() - (-p).log1p()).expand_as(x_test)
    return bernoulli_nll(logits, x_test.double())


@contextmanager
def count_calls(module: nn.Module):
    """Count `module`'s forward calls inside the block: `with count_calls(m) as calls: ...; calls[0]`."""
    calls = [0]

    def hook(*_):
        calls[0] += 1

    handle = module.register_forward_hook(hook)
    try:
        yield calls
    finally:
        handle.remove()


def time_calls(fn: Callable[[int], object], sizes: Sequence[int], repeats: int = 3) -> np.ndarray:
    """Wall-clock seconds of fn(n) for each n in sizes: the fastest of `repeats` runs (after a warm-up)."""
    if repeats < 1 or not len(sizes):
        raise ValueError(f"need repeats >= 1 and at least one size; got {repeats}, {list(sizes)}")
    fn(int(sizes[0]))  # warm-up: first calls pay for allocations and lazy initialisation
    seconds = []
    for n in sizes:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(int(n))
            runs.append(time.perf_counter() - start)
        seconds.append(min(runs))  # the least disturbed run on a shared machine
    return np.asarray(seconds)


def linear_fit(x, y) -> tuple[float, float, float]:
    """Least-squares line y ~ slope * x + intercept; returns (slope, intercept, r2)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"need x and y of one shape with at least 2 points; got {x.shape}, {y.shape}")
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - (residual**2).sum() / total if total > 0 else 1.0
    return float(slope), float(intercept), float(r2)


# ------------------------------------------------------------------ variational autoencoder
class VAEDecoder(nn.Module):
    """The VAE's decoder as an image generator z -> mean of p(x | z) in [-1, 1] (for `eep596gan.viz`)."""

    def __init__(self, vae: VAE):
        super().__init__()
        self.vae = vae

    def forward(self, z: Tensor) -> Tensor:
        return self.vae._to_image(self.vae.decode(z))  # (m, *in_shape)


@torch.no_grad()
def decode_grid(vae: VAE, n: int = 12, lim: float = 2.5) -> Tensor:
    """Decode an n x n grid of z over [-lim, lim]^2 (a 2-D latent): images (n * n, *in_shape).

    Rows go from z[1] = +lim (top) to -lim, columns from z[0] = -lim (left) to +lim, so
    `image_grid(..., nrow=n)` lays them out like a scatter plot of the latent space.
    """
    if vae.latent_dim != 2:
        raise ValueError(f"decode_grid needs a VAE with latent_dim=2; this one has {vae.latent_dim}")
    p = next(vae.parameters())
    t = torch.linspace(-lim, lim, int(n), device=p.device, dtype=p.dtype)
    z = torch.stack(torch.meshgrid(t, t.flip(0), indexing="xy"), dim=-1).reshape(-1, 2)  # (n*n, 2) row-major
    return VAEDecoder(vae)(z)


@torch.no_grad()
def importance_log_likelihood(vae: VAE, x: Tensor, k: int = 256, generator: torch.Generator | None = None) -> Tensor:
    """Importance-sampled log p(x) = log E_{z~q(z|x)} [p(z) p(x|z) / q(z|x)] with k draws (IWAE bound).

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
    if vae.likelihood == "bernoulli":
        log_px_z = -bernoulli_nll(out, (target + 1) / 2)
    else:
        log_px_z = -gaussian_nll(out, target, vae.sigma)
    log_w = log_pz + log_px_z.view(int(k), -1) - log_q  # (k, m)
    return torch.logsumexp(log_w, dim=0) - math.log(int(k))
