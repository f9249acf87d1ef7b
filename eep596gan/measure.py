"""Measuring code as the lectures do: count a module's calls, time a function, fit a line.

The slide "Fully Visible BN" says generation costs O(n) sequential steps: lecture 03 counts the
network calls of `PixelAR.sample` with `count_calls` and fits `time_calls` against the number of
pixels with `linear_fit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
from torch import nn

__all__ = ["count_calls", "time_calls", "linear_fit"]


@contextmanager
def count_calls(module: nn.Module):
    """Count `module`'s forward calls inside the block:
    `with count_calls(m) as calls: ...; calls[0]`.
    """
    calls = [0]

    def hook(*_):
        calls[0] += 1

    handle = module.register_forward_hook(hook)
    try:
        yield calls
    finally:
        handle.remove()


def time_calls(fn: Callable[[int], object], sizes: Sequence[int], repeats: int = 3) -> np.ndarray:
    """Wall-clock seconds of fn(n) for each n in sizes: the fastest of `repeats` runs (after a
    warm-up).
    """
    if repeats < 1 or not len(sizes):
        raise ValueError(f"need repeats >= 1 and at least one size; got {repeats}, {list(sizes)}")
    fn(int(sizes[0]))  # warm-up: first calls pay for allocations and lazy initialisation
    seconds = []
    for n in sizes:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(int(n))
            runs.append(time.perf_counter() - start)
        seconds.append(min(runs))  # the least disturbed run on a shared machine
    return np.asarray(seconds)


def linear_fit(x, y) -> tuple[float, float, float]:
    """Least-squares line y ~ slope * x + intercept; returns (slope, intercept, r2)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError("need x and y of one shape with at least 2 points; "
                         f"got {x.shape}, {y.shape}")
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - (residual**2).sum() / total if total > 0 else 1.0
    return float(slope), float(intercept), float(r2)
