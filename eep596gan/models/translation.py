"""Image-to-image translation networks: a small pix2pix (Isola et al. 2017), toy image pairs.

pix2pix learns y = G(x) from paired examples with a conditional GAN plus L1,

    G* = arg min_G max_D  L_cGAN(G, D) + lambda E ||y - G(x)||_1,     lambda = 100,

where the PatchGAN discriminator D(x, y) scores every patch of the (input, output) pair as real or
fake. CycleGAN drops the pairs: two generators G: X -> Y and F: Y -> X are tied by the cycle
consistency loss E ||F(G(x)) - x||_1 + E ||G(F(y)) - y||_1. The losses are in `eep596gan.losses`,
the training loops in `eep596gan.train.translation`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import load_images

__all__ = [
    "UNetGenerator",
    "PatchDiscriminator",
    "edge_map",
    "paired_digits",
    "PAIRED_KINDS",
]

PAIRED_KINDS = ("edges", "invert", "rotate")


def _check_pair_input(x: Tensor, channels: int, what: str) -> None:
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != channels:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{what} must have shape (m, {channels}, H, W); got {got}")
    if x.shape[2] % 4 or x.shape[3] % 4:
        raise ValueError(
            f"{what}'s height and width must be multiples of 4 (two 2x downsamplings), "
            f"e.g. 8 or 28; got {tuple(x.shape[2:])}: pad or resize the images"
        )


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU())


class UNetGenerator(nn.Module):
    """A two-level U-Net: encoder (S -> S/2 -> S/4), decoder back up, skip connections at each size.

    Args:
        in_channels: channels of the input image x.
        out_channels: channels of the output image G(x), in [-1, 1] (tanh).
        width: channels at full resolution (doubled at each downsampling).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 32):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        w = int(width)
        self.enc0 = _block(self.in_channels, w)  # (m, w, S, S)
        self.down1 = nn.Sequential(nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),
                                   _block(2 * w, 2 * w))
        self.down2 = nn.Sequential(nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2),
                                   _block(4 * w, 4 * w))
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1)  # S/4 -> S/2
        self.dec1 = _block(4 * w, 2 * w)  # after concatenating the S/2 skip
        self.up1 = nn.ConvTranspose2d(2 * w, w, 4, 2, 1)  # S/2 -> S
        self.dec0 = _block(2 * w, w)  # after concatenating the S skip
        self.out = nn.Sequential(nn.Conv2d(w, self.out_channels, 1), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        """x (m, in_channels, S, S) -> G(x) (m, out_channels, S, S) in [-1, 1]."""
        _check_pair_input(x, self.in_channels, "x")
        h0 = self.enc0(x)  # (m, w, S, S)
        h1 = self.down1(h0)  # (m, 2w, S/2, S/2)
        h2 = self.down2(h1)  # (m, 4w, S/4, S/4)
        u1 = self.dec1(torch.cat([self.up2(h2), h1], dim=1))  # (m, 2w, S/2, S/2)
        u0 = self.dec0(torch.cat([self.up1(u1), h0], dim=1))  # (m, w, S, S)
        return self.out(u0)


class PatchDiscriminator(nn.Module):
    """Conditional PatchGAN: (x, y) concatenated on channels -> a map of patch logits
    (m, 1, S/4, S/4).

    Args:
        in_channels: channels of x plus channels of y (2 for grayscale to grayscale).
        width: channels of the first layer.
    """

    def __init__(self, in_channels: int = 2, width: int = 32):
        super().__init__()
        self.in_channels, w = int(in_channels), int(width)
        self.net = nn.Sequential(
            nn.Conv2d(self.in_channels, w, 4, 2, 1), nn.LeakyReLU(0.2),  # (m, w, S/2, S/2)
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 1, 3, 1, 1),  # (m, 1, S/4, S/4): one logit per patch
        )

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Patch logits for the pair (input x, output y): real target or G(x)."""
        if (not isinstance(x, Tensor) or not isinstance(y, Tensor) or x.shape[0] != y.shape[0]
                or x.shape[2:] != y.shape[2:]):
            raise ValueError("x and y must be image batches with the same m, H and W: "
                             "D scores the pair (x, y)")
        pair = torch.cat([x, y], dim=1)
        _check_pair_input(pair, self.in_channels, "torch.cat([x, y], dim=1)")
        return self.net(pair)


# ---------------------------------------------------------------------------------- toy pairs
def edge_map(x: Tensor) -> Tensor:
    """Sobel gradient magnitude of images in [-1, 1], scaled per image to [-1, 1] (-1 = no edge)."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype,
                      device=x.device)
    kernels = torch.stack([kx, kx.T])[:, None]  # (2, 1, 3, 3)
    c = x.shape[1]
    g = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernels.repeat(c, 1, 1, 1), groups=c)
    mag = g.view(x.shape[0], c, 2, *x.shape[2:]).pow(2).sum(2).sqrt()  # (m, C, H, W)
    peak = mag.flatten(1).amax(1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return 2 * mag / peak - 1


def paired_digits(kind: str = "edges", name: str = "digits", split: str = "train", device=None,
                  **load_kwargs) -> tuple[Tensor, Tensor]:
    """(input, target) image pairs for a toy pix2pix: the target is always the digit itself.

    Args:
        kind: "edges" (input = Sobel edge map), "invert" (input = -digit, a photo negative) or
            "rotate" (input = digit rotated 90 degrees counter-clockwise).
        name, split, device, load_kwargs: passed to `eep596gan.data.load_images`.
    Returns:
        (x_input, x_target), both (N, 1, H, W) in [-1, 1].
    """
    if kind not in PAIRED_KINDS:
        raise ValueError(f"kind must be one of {PAIRED_KINDS}; got {kind!r}")
    target, _ = load_images(name, device=device, split=split, **load_kwargs)
    if kind == "edges":
        source = edge_map(target)
    elif kind == "invert":
        source = -target
    else:
        source = torch.rot90(target, 1, dims=(2, 3))
    return source.contiguous(), target
