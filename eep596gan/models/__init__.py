"""Models: GANs (MLP, DCGAN, conditional), a VAE, autoregressive pixel and character models,
and image-to-image translation (pix2pix, CycleGAN's cycle loss)."""

from .autoregressive import CharLM, MaskedLinear, PixelAR, Term, binarize, load_corpus
from .gan import (
    DCGAN_SIZES,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    check_noise,
)
from .translation import (
    PAIRED_KINDS,
    PatchDiscriminator,
    UNetGenerator,
    cycle_consistency_loss,
    edge_map,
    paired_digits,
    pix2pix_discriminator_loss,
    pix2pix_generator_loss,
)
from .vae import VAE, VAE_LIKELIHOODS

__all__ = [
    "CharLM", "MaskedLinear", "PixelAR", "Term", "binarize", "load_corpus",
    "DCGAN_SIZES", "DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator",
    "check_noise",
    "PAIRED_KINDS", "PatchDiscriminator", "UNetGenerator", "cycle_consistency_loss", "edge_map",
    "paired_digits", "pix2pix_discriminator_loss", "pix2pix_generator_loss",
    "VAE", "VAE_LIKELIHOODS",
]
