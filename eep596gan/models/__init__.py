"""Models: GANs (MLP, DCGAN, conditional), a VAE, autoregressive pixel and character models,
image-to-image translation networks (pix2pix), and an explicit Gaussian mixture. Models import
no loss and no trainer: `eep596gan.losses` and `eep596gan.train` use them."""

from .autoregressive import CharLM, MaskedLinear, PixelAR, Term, binarize, load_corpus
from .gan import (
    DCGAN_SIZES,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    check_noise,
)
from .mixture import GaussianMixture, gaussian_mle
from .translation import PAIRED_KINDS, PatchDiscriminator, UNetGenerator, edge_map, paired_digits
from .vae import VAE, VAE_LIKELIHOODS, VAEDecoder, decode_grid

__all__ = [
    "CharLM", "MaskedLinear", "PixelAR", "Term", "binarize", "load_corpus",
    "DCGAN_SIZES", "DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator",
    "check_noise",
    "GaussianMixture", "gaussian_mle",
    "PAIRED_KINDS", "PatchDiscriminator", "UNetGenerator", "edge_map", "paired_digits",
    "VAE", "VAE_LIKELIHOODS", "VAEDecoder", "decode_grid",
]
