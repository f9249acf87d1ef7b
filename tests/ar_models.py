"""Small autoregressive models shared by the PixelAR tests."""

import torch

from eep596gan.models.autoregressive import PixelAR


def sharpened_2x2_model(seed=0):
    """A (1, 2, 2) float64 PixelAR with large weights, so its conditionals are far from 1/2."""
    torch.manual_seed(seed)
    model = PixelAR((1, 2, 2), hidden=(8,)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(4).add_(0.5 * torch.randn_like(p))
    return model
