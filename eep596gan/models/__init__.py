"""Models: GANs (MLP, DCGAN, conditional), a VAE, autoregressive pixel and character models."""

from .gan import (
    DCGAN_SIZES,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    check_noise,
)

__all__ = [
    "DCGAN_SIZES",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "check_noise",
]
