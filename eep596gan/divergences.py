"""Entropy and divergences of known 1-D densities, by quadrature on a grid (float64).

They make the identities of the lectures checkable:
E_{p_data} log p_model = -H(p_data) - KL(p_data || p_model)  (MLE minimises KL), and
V(D*, G) = -log 4 + 2 JSD(p_data || p_model)  (Goodfellow et al. 2014, Theorem 1).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["entropy", "kl_divergence", "js_divergence"]


def _densities(x: Tensor, *ps: Tensor) -> list[Tensor]:
    """Check a 1-D grid and densities on it; return the densities as float64."""
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.dim() != 1 or len(x) < 2 or not (x.diff() > 0).all():
        raise ValueError("x must be an increasing 1-D grid, e.g. torch.linspace(-8, 8, 4001)")
    out = []
    for p in ps:
        p = torch.as_tensor(p, dtype=torch.float64).reshape(-1)
        if p.shape != x.shape:
            raise ValueError(f"densities must be evaluated on the grid: shape {tuple(x.shape)}, "
                             f"got {tuple(p.shape)}")
        if (p < 0).any():
            raise ValueError("densities must be non-negative")
        out.append(p)
    return out


def _xlogy(p: Tensor, q: Tensor) -> Tensor:
    """p log q with 0 log 0 = 0."""
    return torch.xlogy(p, q)


def entropy(p: Tensor, x: Tensor) -> Tensor:
    """H(p) = -int p log p dx for a density p evaluated on the grid x (trapezoid rule)."""
    (p,) = _densities(x, p)
    return -torch.trapezoid(_xlogy(p, p), torch.as_tensor(x, dtype=torch.float64))


def kl_divergence(p: Tensor, q: Tensor, x: Tensor) -> Tensor:
    """KL(p || q) = int p log(p / q) dx on the grid x; inf where p > 0 = q."""
    p, q = _densities(x, p, q)
    x = torch.as_tensor(x, dtype=torch.float64)
    if ((p > 0) & (q == 0)).any():
        return torch.tensor(math.inf, dtype=torch.float64)
    return torch.trapezoid(_xlogy(p, p) - _xlogy(p, q), x)


def js_divergence(p: Tensor, q: Tensor, x: Tensor) -> Tensor:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2; between 0 and log 2."""
    p, q = _densities(x, p, q)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, x) + 0.5 * kl_divergence(q, m, x)
