"""Device choice, seeding and quick mode: the three things every notebook's first cell needs."""

from __future__ import annotations

import functools
import os
import random

import numpy as np
import torch

__all__ = ["get_device", "seed_everything", "quick_mode", "pick", "native_bf16"]


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Return `device`, else `$EEP596GAN_DEVICE`, else the best available: cuda > mps > cpu."""
    choice = device if device is not None else os.environ.get("EEP596GAN_DEVICE") or None
    if choice is not None:
        dev = torch.device(choice)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {str(dev)!r} was asked for but CUDA is not available here; "
                "use device='cpu' or unset EEP596GAN_DEVICE"
            )
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def native_bf16(device: str | torch.device | None = None) -> bool:
    """True when `device` multiplies bfloat16 natively: a CUDA GPU from Ampere on, or a CPU with
    AVX512-BF16 or AMX (recent Xeons, AMD Zen 4+). Elsewhere bf16 is emulated, slower than fp32."""
    dev = get_device(device)
    if dev.type == "cuda":  # compute capability 8 and later; a T4 only emulates bf16
        return torch.cuda.get_device_capability(dev)[0] >= 8
    if dev.type == "cpu":
        return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})
    return False


@functools.cache
def _cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU `torch.Generator` seeded alike."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def quick_mode() -> bool:
    """True when `EEP596GAN_QUICK=1` (tests, CI) or nbgrader is executing the notebook."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    return os.environ.get("EEP596GAN_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def pick(full, quick):
    """`quick` in quick mode, else `full`: keeps a notebook's two settings side by side."""
    return quick if quick_mode() else full
