"""The lecture's losses: GAN costs on logits, their variations, the VAE's terms, pix2pix and
CycleGAN.

Every function here is a function of tensors; none imports a model (the layer table in
CONTRIBUTING.md). `GAN_LOSSES` is the registry of GAN cost pairs: the trainer, the CLI and the
widgets list it, so a new pair is one entry here plus its test in tests/test_losses.py.

One sign convention, used everywhere (Goodfellow 2014; NIPS 2016 tutorial, eqs. 8-10). With
D(x) = sigmoid(logit) and means over the batch, *both players minimise their own cost*:

    J^(D) = -1/2 E_x log D(x) - 1/2 E_z log(1 - D(G(z)))     (slide "Competing cost functions")
    J^(G) = -J^(D) up to the term G cannot change = 1/2 E_z log(1 - D(G(z)))   (minimax)
    J^(G) = -1/2 E_z log D(G(z))                              (non-saturating heuristic)

The slide "Optimization in NN" writes J^(G) with the opposite sign and says "gradient ascent" for
D while writing argmin: minimising *its* J^(G) would help the discriminator. The lectures say so.

Logs of sigmoids go through softplus: -log sigmoid(a) = softplus(-a), -log(1 - sigmoid(a)) =
softplus(a). They stay finite for logits of +-1000, where log(sigmoid(a)) gives -inf.

Longer than 300 lines because it holds every equation of the lecture, so each one is found here.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "discriminator_loss",
    "generator_loss_minimax",
    "generator_loss_nonsaturating",
    "optimal_discriminator",
    "game_value",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "wgan_critic_loss",
    "wgan_generator_loss",
    "gradient_penalty",
    "gaussian_kl",
    "bernoulli_nll",
    "gaussian_nll",
    "reconstruction_nll",
    "elbo",
    "vae_loss",
    "pix2pix_discriminator_loss",
    "pix2pix_generator_loss",
    "cycle_consistency_loss",
    "GANLoss",
    "GAN_LOSSES",
    "gan_loss",
    "check_logits",
    "unchecked",
]

_state = threading.local()


@contextlib.contextmanager
def unchecked():
    """Skip the NaN scan of `check_logits` (a host sync on GPU) inside a trainer that checks
    itself.
    """
    before = getattr(_state, "skip_values", False)
    _state.skip_values = True
    try:
        yield
    finally:
        _state.skip_values = before


def check_logits(t: Tensor, name: str) -> Tensor:
    """Refuse what cannot be logits: non-tensors, integers, NaN, or the output of a sigmoid."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of logits, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of logits, got dtype {t.dtype}")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: pass a batch of at least one logit")
    if t.dim() > 1 and t.shape[1:].numel() != 1:
        raise ValueError(
            f"{name} must hold one logit per sample, shape (m,) or (m, 1); got {tuple(t.shape)}"
        )
    fn = type(t.grad_fn).__name__ if t.grad_fn is not None else ""
    if fn.startswith("Sigmoid"):
        raise ValueError(
            f"{name} is the output of a sigmoid (probabilities); these losses take logits: "
            "drop the final torch.sigmoid and pass the raw discriminator output"
        )
    if not getattr(_state, "skip_values", False) and not torch.isfinite(t).all():
        raise ValueError(
            f"{name} contains NaN or inf; the discriminator diverged: lower the learning rate"
        )
    return t


# ------------------------------------------------------------------------ the lecture's losses
def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """J^(D) = -1/2 E_x log D(x) - 1/2 E_z log(1 - D(G(z)))  (slide "Competing cost functions").

    Args:
        real_logits: D's logits on real samples, shape (m,) or (m, 1).
        fake_logits: D's logits on generated samples, shape (n,) or (n, 1).
    Returns:
        Scalar J^(D), to be minimised over D's parameters.
    """
    check_logits(real_logits, "real_logits")
    check_logits(fake_logits, "fake_logits")
    return 0.5 * F.softplus(-real_logits).mean() + 0.5 * F.softplus(fake_logits).mean()


def generator_loss_minimax(fake_logits: Tensor) -> Tensor:
    """J^(G) = 1/2 E_z log(1 - D(G(z))): the zero-sum game's generator cost, to be minimised.

    Saturates: when D confidently rejects fakes (D(G(z)) -> 0) its gradient vanishes.
    """
    check_logits(fake_logits, "fake_logits")
    return -0.5 * F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """J^(G) = -1/2 E_z log D(G(z)): same fixed point, strong gradients when D(G(z)) -> 0."""
    check_logits(fake_logits, "fake_logits")
    return 0.5 * F.softplus(-fake_logits).mean()


def optimal_discriminator(p_data: Tensor, p_model: Tensor) -> Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_model(x)) elementwise (broadcast); 1/2 where both
    are 0.
    """
    p_data, p_model = torch.as_tensor(p_data), torch.as_tensor(p_model)
    if not (p_data.is_floating_point() or p_model.is_floating_point()):
        p_data = p_data.double()
    if (p_data < 0).any() or (p_model < 0).any():
        raise ValueError("densities must be non-negative")
    total = p_data + p_model
    both_zero = total == 0
    ratio = p_data / torch.where(both_zero, torch.ones_like(total), total)
    return torch.where(both_zero, torch.full_like(ratio, 0.5), ratio)


def game_value(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))) = -2 J^(D)
    (slide "Minmax Game Optimization").
    """
    return -2.0 * discriminator_loss(real_logits, fake_logits)


# ------------------------------------------------------------------------ GAN variations
def lsgan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Least squares GAN (Mao et al. 2017): 1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2 on raw scores."""
    check_logits(real_logits, "real_logits")
    check_logits(fake_logits, "fake_logits")
    return 0.5 * (real_logits - 1).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def lsgan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Least squares GAN generator: 1/2 E (D(G(z)) - 1)^2."""
    check_logits(fake_logits, "fake_logits")
    return 0.5 * (fake_logits - 1).pow(2).mean()


def hinge_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge loss (Lim & Ye 2017; SAGAN): E relu(1 - D(x)) + E relu(1 + D(G(z)))."""
    check_logits(real_logits, "real_logits")
    check_logits(fake_logits, "fake_logits")
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_generator_loss(fake_logits: Tensor) -> Tensor:
    """Hinge generator loss: -E D(G(z))."""
    check_logits(fake_logits, "fake_logits")
    return -fake_logits.mean()


def wgan_critic_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Wasserstein critic (Arjovsky et al. 2017): E D(G(z)) - E D(x); add `gradient_penalty`."""
    check_logits(real_logits, "real_logits")
    check_logits(fake_logits, "fake_logits")
    return fake_logits.mean() - real_logits.mean()


def wgan_generator_loss(fake_logits: Tensor) -> Tensor:
    """Wasserstein generator: -E D(G(z))."""
    check_logits(fake_logits, "fake_logits")
    return -fake_logits.mean()


def gradient_penalty(critic, x_real: Tensor, x_fake: Tensor, generator=None, y=None) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E (||grad_x D(x_hat)||_2 - 1)^2 on random interpolates.

    Args:
        critic: the discriminator (called as critic(x) or critic(x, y)).
        x_real, x_fake: batches of the same shape (m, ...).
        generator: optional torch.Generator for the interpolation weights.
        y: optional labels for a conditional critic.
    """
    if x_real.shape != x_fake.shape:
        raise ValueError(f"x_real {tuple(x_real.shape)} and x_fake {tuple(x_fake.shape)} "
                         "differ in shape")
    m = x_real.shape[0]
    eps = torch.rand(m, *([1] * (x_real.dim() - 1)), device=x_real.device, generator=generator)
    x_hat = (eps * x_real + (1 - eps) * x_fake.detach()).requires_grad_(True)
    out = critic(x_hat) if y is None else critic(x_hat, y)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


class GANLoss(NamedTuple):
    """One entry of `GAN_LOSSES`: the two players' costs, both minimised."""

    discriminator: Callable[[Tensor, Tensor], Tensor]  # J^(D)(real_logits, fake_logits)
    generator: Callable[[Tensor], Tensor]  # J^(G)(fake_logits)
    penalty: bool = False  # add `gradient_penalty` to J^(D) (GANConfig.gp_weight)


GAN_LOSSES: dict[str, GANLoss] = {
    "nonsaturating": GANLoss(discriminator_loss, generator_loss_nonsaturating),
    "minimax": GANLoss(discriminator_loss, generator_loss_minimax),
    "lsgan": GANLoss(lsgan_discriminator_loss, lsgan_generator_loss),
    "hinge": GANLoss(hinge_discriminator_loss, hinge_generator_loss),
    "wgan-gp": GANLoss(wgan_critic_loss, wgan_generator_loss, penalty=True),
}


def gan_loss(name: str) -> GANLoss:
    """The registered pair called `name`; a ValueError listing the valid names otherwise."""
    if name not in GAN_LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid names are: {', '.join(GAN_LOSSES)}")
    return GAN_LOSSES[name]


# ------------------------------------------------------------------------ VAE terms
def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per sample, summed over latent dims: shape (m,)."""
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must match")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1)


def bernoulli_nll(x_logits: Tensor, x: Tensor) -> Tensor:
    """-log p(x|z) for Bernoulli pixels, x in [0, 1]: summed per sample, shape (m,)."""
    if x_logits.shape != x.shape:
        raise ValueError(f"x_logits {tuple(x_logits.shape)} and x {tuple(x.shape)} must match")
    return F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(1)


def gaussian_nll(x_mean: Tensor, x: Tensor, sigma: float = 1.0) -> Tensor:
    """-log N(x; x_mean, sigma^2 I), summed per sample, shape (m,)."""
    if x_mean.shape != x.shape:
        raise ValueError(f"x_mean {tuple(x_mean.shape)} and x {tuple(x.shape)} must match")
    d = x[0].numel()
    sq = (x - x_mean).pow(2).flatten(1).sum(1) / (2 * sigma**2)
    return sq + d * (math.log(sigma) + 0.5 * math.log(2 * math.pi))


def reconstruction_nll(out: Tensor, x: Tensor, likelihood: str, sigma: float = 1.0) -> Tensor:
    """-log p(x | z) per sample (m,) for a decoder output `out` and images x in [-1, 1].

    Args:
        out: Bernoulli logits ("bernoulli": pixels mapped to [0, 1]) or the Gaussian mean.
        likelihood: "bernoulli" or "gaussian" (standard deviation `sigma`).
    """
    if likelihood == "bernoulli":
        return bernoulli_nll(out, (x + 1) / 2)
    if likelihood == "gaussian":
        return gaussian_nll(out, x, sigma)
    raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}")


def elbo(recon_nll: Tensor, kl: Tensor) -> Tensor:
    """ELBO = E_q log p(x|z) - KL(q(z|x) || p(z)) per sample; maximise it (minimise -ELBO)."""
    return -(recon_nll + kl)


def vae_loss(vae, x: Tensor, generator: torch.Generator | None = None,
             check: bool = True) -> tuple[Tensor, dict[str, Tensor]]:
    """Negative ELBO averaged over the batch, in nats per image (slide "Variational Autoencoder").

    -ELBO = E_q -log p(x | z) + KL(q(z | x) || p(z)), with one reparameterized draw of z.

    Args:
        vae: a `models.VAE` (anything with `encode`, `reparameterize`, `decode`, `check_input`,
            `likelihood` and `sigma`).
        x: images in [-1, 1], shape (m, *vae.in_shape).
        generator: optional torch.Generator for the reparameterization noise.
        check: validate x (shape, device, NaN, range); trainers check their data once and skip it.
    Returns:
        (loss, {"recon": mean -log p(x | z), "kl": mean KL(q(z | x) || p(z))}), scalars.
    """
    if check:
        vae.check_input(x)
    mu, logvar = vae.encode(x)  # (m, latent_dim) each
    out = vae.decode(vae.reparameterize(mu, logvar, generator))  # (m, *in_shape)
    recon = reconstruction_nll(out, x, vae.likelihood, vae.sigma).mean()
    kl = gaussian_kl(mu, logvar).mean()
    return recon + kl, {"recon": recon, "kl": kl}


# ------------------------------------------------------------------------ image-to-image
def pix2pix_discriminator_loss(real_patch_logits: Tensor, fake_patch_logits: Tensor) -> Tensor:
    """J^(D) of `discriminator_loss`, every patch counted as one sample (Isola et al. 2017)."""
    return discriminator_loss(real_patch_logits.reshape(-1), fake_patch_logits.reshape(-1))


def pix2pix_generator_loss(fake_patch_logits: Tensor, fake: Tensor, target: Tensor,
                           l1_weight: float = 100.0) -> Tensor:
    """Non-saturating cost on every patch + l1_weight * mean |target - fake| (Isola et al. 2017).

    Args:
        fake_patch_logits: D(x, G(x)), shape (m, 1, h, w).
        fake: G(x), shape (m, C, H, W).
        target: the paired ground truth y, same shape as fake.
        l1_weight: lambda, 100 in the paper.
    Returns:
        scalar cost, to be minimised over G's parameters.
    """
    if fake.shape != target.shape:
        raise ValueError(f"fake {tuple(fake.shape)} and target {tuple(target.shape)} "
                         "must have the same shape")
    adversarial = generator_loss_nonsaturating(fake_patch_logits.reshape(-1))
    return adversarial + l1_weight * (fake - target).abs().mean()


def cycle_consistency_loss(x: Tensor, x_cycled: Tensor) -> Tensor:
    """E |F(G(x)) - x| (mean absolute error): CycleGAN's L1 cycle loss for one direction."""
    if not isinstance(x, Tensor) or not isinstance(x_cycled, Tensor) or x.shape != x_cycled.shape:
        got = [tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__ for t in (x, x_cycled)]
        raise ValueError("x and x_cycled must be tensors of the same shape; "
                         f"got {got[0]} and {got[1]}")
    return (x_cycled - x).abs().mean()
