"""GAN generators and discriminators: MLPs for points and small images, DCGAN for images.

Generators map z (m, latent_dim) to samples (m, *out_shape); discriminators map samples to logits
(m, 1). Passing `num_classes` makes either conditional (Mirza & Osindero 2014): the label enters
as a learned embedding, the small-scale version of text-to-image synthesis (Reed et al. 2016).
DCGAN follows Radford et al. 2015: strided (transposed) convolutions, batch norm, ReLU in G,
LeakyReLU(0.2) in D, tanh output.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = [
    "MLPGenerator",
    "MLPDiscriminator",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "DCGAN_SIZES",
    "check_noise",
]

DCGAN_SIZES = (8, 16, 28, 32, 64)


def _shape(shape, what: str) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"{what} must be positive ints, e.g. (2,) or (1, 28, 28); got {shape}")
    return shape


def check_noise(z: Tensor, latent_dim: int, module: nn.Module) -> None:
    """Refuse noise of the wrong shape or on the wrong device, with what to pass instead."""
    if not isinstance(z, Tensor) or z.dim() != 2 or z.shape[1] != latent_dim:
        got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise ValueError(
            f"z must have shape (m, latent_dim) = (m, {latent_dim}); got {got}. "
            f"Draw it with torch.randn(m, {latent_dim})"
        )
    p = next(module.parameters(), None)
    if p is not None and z.device != p.device:
        raise RuntimeError(f"z is on {z.device} but the generator is on {p.device}: "
                           f"use z.to({str(p.device)!r})")


def _check_input(x: Tensor, in_shape: tuple[int, ...], module: nn.Module) -> None:
    if not isinstance(x, Tensor) or tuple(x.shape[1:]) != in_shape:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError("discriminator input must have shape "
                         f"(m, {', '.join(map(str, in_shape))}); got {got}")
    p = next(module.parameters())
    if x.device != p.device:
        raise RuntimeError(f"x is on {x.device} but the discriminator is on {p.device}: "
                           f"use x.to({str(p.device)!r})")


class _Conditioning(nn.Module):
    """Appends a learned label embedding (or nothing when unconditional)."""

    def __init__(self, num_classes: int | None, dim: int):
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, dim) if num_classes else None
        self.dim = dim if num_classes else 0

    def forward(self, h: Tensor, y: Tensor | None) -> Tensor:
        if self.embed is None:
            if y is not None:
                raise ValueError("this model is unconditional: "
                                 "build it with num_classes to pass labels")
            return h
        if y is None:
            raise ValueError("this model is conditional: "
                             f"pass labels y of shape (m,) in [0, {self.num_classes})")
        if y.shape != (h.shape[0],) or y.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"labels y must be integer, shape ({h.shape[0]},); "
                             f"got {tuple(y.shape)} {y.dtype}")
        return torch.cat([h, self.embed(y)], dim=1)


class MLPGenerator(nn.Module):
    """z (m, latent_dim) -> samples (m, *out_shape) through ReLU layers; tanh for images.

    `batchnorm=True` normalises each hidden layer (as DCGAN does), which steadies image GANs.
    """

    def __init__(self, latent_dim: int, out_shape, hidden=(256, 256),
                 num_classes: int | None = None, out_activation: str | None = "auto",
                 batchnorm: bool = False):
        super().__init__()
        self.latent_dim, self.out_shape = int(latent_dim), _shape(out_shape, "out_shape")
        self.num_classes = num_classes
        self.cond = _Conditioning(num_classes, 16)
        layers, width = [], self.latent_dim + self.cond.dim
        for h in hidden:
            layers += [nn.Linear(width, h, bias=not batchnorm)]
            layers += [nn.BatchNorm1d(h), nn.ReLU()] if batchnorm else [nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, math.prod(self.out_shape)))
        if out_activation == "auto":
            out_activation = "tanh" if len(self.out_shape) == 3 else None
        if out_activation == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        check_noise(z, self.latent_dim, self)
        return self.net(self.cond(z, y)).view(z.shape[0], *self.out_shape)  # (m, *out_shape)


class MLPDiscriminator(nn.Module):
    """samples (m, *in_shape) -> logits (m, 1) through LeakyReLU(0.2) layers.

    `pack` > 1 makes it a PacGAN discriminator (Lin et al. 2018): it judges `pack` samples at once,
    (m, *in_shape) -> logits (m / pack, 1), which penalises a generator that drops modes.
    """

    def __init__(self, in_shape, hidden=(256, 256), num_classes: int | None = None, pack: int = 1):
        super().__init__()
        self.in_shape, self.num_classes = _shape(in_shape, "in_shape"), num_classes
        if int(pack) != pack or pack < 1 or (pack > 1 and num_classes):
            raise ValueError(f"pack must be an int >= 1 (and 1 for conditional models); got {pack}")
        self.pack = int(pack)
        self.cond = _Conditioning(num_classes, 16)
        layers, width = [], self.pack * math.prod(self.in_shape) + self.cond.dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        _check_input(x, self.in_shape, self)
        if x.shape[0] % self.pack:
            raise ValueError(f"a PacGAN discriminator with pack={self.pack} "
                             f"needs a batch size divisible by {self.pack}; got {x.shape[0]}")
        h = x.reshape(x.shape[0] // self.pack, -1)  # (m / pack, pack * prod(in_shape))
        return self.net(self.cond(h, y))  # (m / pack, 1)


def _dcgan_plan(shape, what: str) -> tuple[int, int, int]:
    """(channels, base size, number of 2x up/downsamplings) for a supported image shape."""
    shape = _shape(shape, what)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in DCGAN_SIZES:
        raise ValueError(
            f"DCGAN supports square images (C, S, S) with S in {DCGAN_SIZES}; got {shape}. "
            "Resize the data, or use MLPGenerator/MLPDiscriminator for other shapes"
        )
    size, n = shape[1], 0
    while size % 2 == 0 and size // 2 >= 4:
        size, n = size // 2, n + 1
    return shape[0], size, n


class DCGANGenerator(nn.Module):
    """z -> Linear -> (width*2^(n-1), s, s) -> n x [ConvT 4x4 stride 2, BN, ReLU] -> tanh image."""

    def __init__(self, latent_dim: int, out_shape=(1, 28, 28), width: int = 32,
                 num_classes: int | None = None):
        super().__init__()
        self.latent_dim, self.out_shape, self.num_classes = (
            int(latent_dim), _shape(out_shape, "out_shape"), num_classes)
        channels, self.base, n = _dcgan_plan(out_shape, "out_shape")
        self.cond = _Conditioning(num_classes, 16)
        self.top = width * 2 ** (n - 1) if n > 1 else width * 2
        self.project = nn.Sequential(
            nn.Linear(self.latent_dim + self.cond.dim, self.top * self.base**2, bias=False),
            nn.BatchNorm1d(self.top * self.base**2),
            nn.ReLU(),
        )
        blocks, ch = [], self.top
        for _ in range(n - 1):
            blocks += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU()]
            ch //= 2
        blocks += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        check_noise(z, self.latent_dim, self)
        h = self.project(self.cond(z, y)).view(-1, self.top, self.base, self.base)  # (m, top, s, s)
        return self.net(h)  # (m, C, S, S)


class DCGANDiscriminator(nn.Module):
    """image -> n x [Conv 4x4 stride 2, (BN), LeakyReLU(0.2)] -> Linear -> logit (m, 1).

    Conditional: a projection discriminator (Miyato & Koyama 2018), logit = w.f + <e(y), f>, so
    the label interacts with the image features (a label concatenated at the last linear layer
    could only add a per-class bias, and D would never check that image and label agree).
    """

    def __init__(self, in_shape=(1, 28, 28), width: int = 32, num_classes: int | None = None):
        super().__init__()
        self.in_shape, self.num_classes = _shape(in_shape, "in_shape"), num_classes
        channels, base, n = _dcgan_plan(in_shape, "in_shape")
        layers, ch = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)], width
        for _ in range(n - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.2)]
            ch *= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        feature_dim = ch * base * base
        self.cond = _Conditioning(num_classes, feature_dim)  # checks labels; embeds y -> (m, F)
        self.head = nn.Linear(feature_dim, 1)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        _check_input(x, self.in_shape, self)
        f = self.features(x)  # (m, F)
        logit = self.head(f)  # (m, 1)
        if self.num_classes or y is not None:
            e = self.cond(f, y)[:, f.shape[1]:]  # (m, F): the label's embedding
            logit = logit + (e * f).sum(1, keepdim=True)  # projection term <e(y), f>
        return logit
