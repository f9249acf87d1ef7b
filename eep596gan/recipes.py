"""Tested default settings for each (model, dataset) pair: what the CLI and the lectures train.

GANs: `recipe(kind, data)` picks a `Recipe` by the dataset's `recipe_group` (data.DATASETS);
the likelihood models: `likelihood_recipe(kind, data)`. A pair with no entry is an error, never
another dataset's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import nn

from .data import dataset
from .models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from .train import GANTrainer

__all__ = ["Recipe", "recipe", "build_gan", "trainer_from_recipe", "GAN_KINDS",
           "LikelihoodRecipe", "likelihood_recipe", "LIKELIHOOD_KINDS"]

GAN_KINDS = ("gan", "dcgan")
LIKELIHOOD_KINDS = ("vae", "ar")


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of a default GAN run."""

    kind: str  # "gan" (MLPs) or "dcgan" (convolutional)
    latent_dim: int  # size of z
    steps: int  # generator steps
    batch_size: int  # m
    lr: float  # Adam learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas
    k: int = 1  # discriminator steps per generator step
    loss: str = "nonsaturating"  # key of GAN_LOSSES
    hidden: tuple[int, ...] = (256, 256)  # MLP widths (kind="gan")
    width: int = 32  # DCGAN base channel count (kind="dcgan")
    decay: bool = True  # linear learning-rate decay to 0 over `steps`
    pack: int = 1  # PacGAN packing of the MLP discriminator (Lin et al. 2018); 1 = plain GAN
    batchnorm: bool = False  # batch norm in the MLP generator's hidden layers
    n_points: int = 50_000  # 2-D data: training samples drawn from the mixture


# Plain GANs on ring8 collapse to a few modes on many seeds (lecture 06 shows it); packing two
# samples per discriminator input covers all eight, and a high lr with decay sharpens the modes.
_POINTS = Recipe("gan", latent_dim=8, steps=6000, batch_size=256, lr=2e-3, hidden=(128, 128, 128),
                 pack=2)
_RECIPES = {
    ("gan", "points"): _POINTS,
    # batch norm in the MLP generator takes digits from blobs (Fréchet ~300) to digits (~30)
    ("gan", "digits"): Recipe("gan", latent_dim=32, steps=3000, batch_size=64, lr=2e-4,
                              hidden=(256, 512), batchnorm=True),
    ("dcgan", "digits"): Recipe("dcgan", latent_dim=32, steps=3000, batch_size=64, lr=2e-4,
                                width=32, decay=False),
    ("gan", "mnist"): Recipe("gan", latent_dim=64, steps=10000, batch_size=128, lr=2e-4,
                             hidden=(512, 512)),
    ("dcgan", "mnist"): Recipe("dcgan", latent_dim=64, steps=5000, batch_size=64, lr=2e-4,
                               width=64),
}


def recipe(kind: str, data: str, **overrides) -> Recipe:
    """The default `Recipe` for `kind` ("gan" or "dcgan") on `data`, with fields overridden."""
    if kind not in GAN_KINDS:
        raise ValueError(f"unknown GAN kind {kind!r}; valid kinds are: {', '.join(GAN_KINDS)}")
    entry = dataset(data)
    if kind == "dcgan" and not entry.is_image:
        raise ValueError(f"dcgan needs images; {data!r} is 2-D points: use kind 'gan'")
    if (kind, entry.recipe_group) not in _RECIPES:
        raise ValueError(f"no {kind} recipe for {data!r} (recipe group {entry.recipe_group!r}): "
                         "add one to recipes._RECIPES")
    group = entry.recipe_group
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(_RECIPES[(kind, group)], **overrides)


def build_gan(r: Recipe, shape: tuple[int, ...],
              num_classes: int | None = None) -> tuple[nn.Module, nn.Module]:
    """A fresh (generator, discriminator) pair for samples of `shape`, e.g. (2,) or (1, 8, 8)."""
    if r.kind == "gan":
        return (MLPGenerator(r.latent_dim, shape, hidden=r.hidden, num_classes=num_classes,
                             batchnorm=r.batchnorm),
                MLPDiscriminator(shape, hidden=r.hidden, num_classes=num_classes, pack=r.pack))
    return (DCGANGenerator(r.latent_dim, shape, width=r.width, num_classes=num_classes),
            DCGANDiscriminator(shape, width=r.width, num_classes=num_classes))


def trainer_from_recipe(r: Recipe, shape, *, num_classes: int | None = None, seed: int = 0,
                        device=None) -> GANTrainer:
    """A fresh (G, D) for samples of `shape` in a `GANTrainer` with `r`'s k, lr, betas, loss and
    decay.
    """
    generator, discriminator = build_gan(r, tuple(shape), num_classes=num_classes)
    return GANTrainer(generator, discriminator, latent_dim=r.latent_dim, k=r.k, lr=r.lr,
                      betas=r.betas, loss=r.loss, device=device, seed=seed,
                      decay_steps=r.steps if r.decay else None)


@dataclass(frozen=True)
class LikelihoodRecipe:
    """Defaults of a VAE or autoregressive (MADE) run on an image dataset."""

    kind: str  # "vae" or "ar"
    steps: int  # Adam steps
    batch_size: int = 128  # images per step
    lr: float = 1e-3  # Adam learning rate
    latent_dim: int = 8  # size of the VAE's z (kind="vae")


_LIKELIHOOD = {
    ("vae", "digits"): LikelihoodRecipe("vae", steps=3000),
    ("vae", "mnist"): LikelihoodRecipe("vae", steps=10000),
    ("ar", "digits"): LikelihoodRecipe("ar", steps=3000),
    ("ar", "mnist"): LikelihoodRecipe("ar", steps=10000),
}


def likelihood_recipe(kind: str, data: str, **overrides) -> LikelihoodRecipe:
    """The default `LikelihoodRecipe` for `kind` ("vae" or "ar") on image `data`, overridden."""
    if kind not in LIKELIHOOD_KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid kinds are: {', '.join(LIKELIHOOD_KINDS)}")
    entry = dataset(data)
    if not entry.is_image or (kind, entry.recipe_group) not in _LIKELIHOOD:
        raise ValueError(f"no {kind} recipe for {data!r}: {kind} trains on image datasets")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(_LIKELIHOOD[(kind, entry.recipe_group)], **overrides)
