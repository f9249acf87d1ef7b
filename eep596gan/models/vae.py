"""A variational autoencoder (Kingma & Welling 2014) for small images: MLP encoder and decoder.

The slide "Variational Autoencoder" contrasts the FVBN's chain rule with a latent-variable model,

    p_model(x) = integral p_model(z) p_model(x | z) dz,     p(z) = N(0, I),

which has no closed form. The VAE maximises a lower bound instead (the ELBO),

    log p(x) >= E_{q(z|x)} log p(x | z) - KL(q(z | x) || p(z)),
    q(z | x) = N(mu(x), diag exp(logvar(x))),

with the expectation estimated by one draw z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (the
reparameterization trick: the noise moves outside the network, so gradients reach mu and logvar).
The objective is `eep596gan.losses.vae_loss`; the trainer `eep596gan.train.VAETrainer`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["VAE", "VAE_LIKELIHOODS", "VAEDecoder", "check_images", "decode_grid", "normal"]

VAE_LIKELIHOODS = ("bernoulli", "gaussian")


def check_images(x: Tensor, in_shape: tuple[int, ...], module: nn.Module, what: str = "x") -> None:
    """Refuse a batch that is not (m, *in_shape) floats on the module's device, or holds NaN/inf."""
    if (not isinstance(x, Tensor) or tuple(x.shape[1:]) != tuple(in_shape)
            or x.dim() != len(in_shape) + 1):
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{what} must have shape (m, {', '.join(map(str, in_shape))}); got {got}")
    if not x.is_floating_point():
        raise TypeError(f"{what} must be a floating-point tensor, got dtype {x.dtype}: "
                        f"use {what}.float()")
    p = next(module.parameters())
    if x.device != p.device:
        raise RuntimeError(f"{what} is on {x.device} but the model is on {p.device}: "
                           f"use {what}.to({str(p.device)!r})")
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or inf: "
                         "clean the data (torch.nan_to_num) before passing it")


def normal(shape, like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """N(0, 1) noise shaped `shape` on like's device and dtype, drawn from `generator`
    (any device).
    """
    where = generator.device if generator is not None else like.device
    eps = torch.randn(shape, generator=generator, device=where, dtype=like.dtype)
    return eps.to(like.device)


def _mlp(sizes, last_activation=None) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if last_activation is not None:
        layers.append(last_activation)
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """MLP VAE for images in [-1, 1] of shape (C, H, W): 8x8 digits, 28x28 MNIST.

    Args:
        in_shape: image shape (C, H, W).
        latent_dim: size of z (2 for a latent space you can plot, 8 to 16 for sharper samples).
        hidden: encoder widths; the decoder mirrors them.
        likelihood: "bernoulli" (pixels mapped to [0, 1] are Bernoulli targets, the decoder
            returns logits) or "gaussian" (the decoder returns the mean in [-1, 1], fixed `sigma`).
        sigma: the Gaussian likelihood's standard deviation, in [-1, 1] pixel units.
    """

    def __init__(self, in_shape=(1, 8, 8), latent_dim: int = 8, hidden=(256, 128),
                 likelihood: str = "bernoulli", sigma: float = 0.1):
        super().__init__()
        self.in_shape = tuple(int(s) for s in in_shape)
        if len(self.in_shape) != 3 or any(s <= 0 for s in self.in_shape):
            raise ValueError("in_shape must be (C, H, W) of positive ints, e.g. (1, 8, 8); "
                             f"got {in_shape}")
        if int(latent_dim) < 1:
            raise ValueError("latent_dim must be a positive int (2 to 16 is typical); "
                             f"got {latent_dim}")
        if likelihood not in VAE_LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {VAE_LIKELIHOODS}; got {likelihood!r}")
        if sigma <= 0:
            raise ValueError(f"sigma must be positive; got {sigma}")
        self.latent_dim, self.likelihood, self.sigma = int(latent_dim), likelihood, float(sigma)
        d, hidden = math.prod(self.in_shape), tuple(int(h) for h in hidden)
        self.encoder = _mlp((d, *hidden, 2 * self.latent_dim))  # -> (mu, logvar)
        out = nn.Tanh() if likelihood == "gaussian" else None
        self.decoder = _mlp((self.latent_dim, *hidden[::-1], d), out)

    # ------------------------------------------------------------------ the model's pieces
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """q(z | x): returns (mu, logvar), each (m, latent_dim)."""
        h = self.encoder(x.flatten(1))  # (m, 2 * latent_dim)
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar

    def reparameterize(self, mu: Tensor, logvar: Tensor,
                       generator: torch.Generator | None = None) -> Tensor:
        """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I): a sample of q(z | x) that gradients
        flow through.
        """
        return mu + torch.exp(0.5 * logvar) * normal(mu.shape, mu, generator)

    def decode(self, z: Tensor) -> Tensor:
        """p(x | z): Bernoulli logits or the Gaussian mean in [-1, 1], shape (m, *in_shape)."""
        if not isinstance(z, Tensor) or z.dim() != 2 or z.shape[1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"z must have shape (m, {self.latent_dim}); got {got}")
        return self.decoder(z).view(z.shape[0], *self.in_shape)

    def forward(self, x: Tensor,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Returns (recon, mu, logvar): recon = decode(z) for one z ~ q(z | x) (logits or mean)."""
        check_images(x, self.in_shape, self)
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, generator)), mu, logvar

    # ------------------------------------------------------------------ the objective
    def check_input(self, x: Tensor) -> None:
        """Refuse images of the wrong shape or device, NaN, or (Bernoulli) values outside
        [-1, 1].
        """
        check_images(x, self.in_shape, self)
        if self.likelihood == "bernoulli" and (x.min() < -1 or x.max() > 1):
            raise ValueError(
                "Bernoulli VAE targets must lie in [-1, 1] (mapped to [0, 1]); "
                f"got values in [{x.min().item():.3g}, {x.max().item():.3g}]: rescale the images"
            )

    # ------------------------------------------------------------------ using the model
    def to_image(self, out: Tensor) -> Tensor:
        """Decoder output -> the mean of p(x | z) in [-1, 1]."""
        return 2 * torch.sigmoid(out) - 1 if self.likelihood == "bernoulli" else out

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Decode z ~ N(0, I): the mean of p(x | z) for n draws, images in [-1, 1],
        shape (n, *in_shape).
        """
        p = next(self.parameters())
        return self.to_image(self.decode(normal((int(n), self.latent_dim), p, generator)))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decode the posterior mean mu(x): images in [-1, 1], shape (m, *in_shape)."""
        check_images(x, self.in_shape, self)
        mu, _ = self.encode(x)
        return self.to_image(self.decode(mu))


class VAEDecoder(nn.Module):
    """The VAE's decoder as an image generator z -> mean of p(x | z) in [-1, 1] (for `viz`)."""

    def __init__(self, vae: VAE):
        super().__init__()
        self.vae = vae

    def forward(self, z: Tensor) -> Tensor:
        return self.vae.to_image(self.vae.decode(z))  # (m, *in_shape)


@torch.no_grad()
def decode_grid(vae: VAE, n: int = 12, lim: float = 2.5) -> Tensor:
    """Decode an n x n grid of z over [-lim, lim]^2 (a 2-D latent): images (n * n, *in_shape).

    Rows go from z[1] = +lim (top) to -lim, columns from z[0] = -lim (left) to +lim, so
    `image_grid(..., nrow=n)` lays them out like a scatter plot of the latent space.
    """
    if vae.latent_dim != 2:
        raise ValueError("decode_grid needs a VAE with latent_dim=2; "
                         f"this one has {vae.latent_dim}")
    p = next(vae.parameters())
    t = torch.linspace(-lim, lim, int(n), device=p.device, dtype=p.dtype)
    grid = torch.meshgrid(t, t.flip(0), indexing="xy")
    z = torch.stack(grid, dim=-1).reshape(-1, 2)  # (n*n, 2) row-major
    return VAEDecoder(vae)(z)
