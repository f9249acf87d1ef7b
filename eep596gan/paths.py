"""Where the package keeps files on disk: one cache folder, honoured by every module.

Imports nothing heavy (no torch), so the grader can use it before any kernel starts.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "data_dir"]


def cache_dir() -> Path:
    """The cache folder: `$EEP596GAN_CACHE`, else `~/.cache/eep596gan` (not created here)."""
    return Path(os.environ.get("EEP596GAN_CACHE") or Path.home() / ".cache" / "eep596gan")


def data_dir() -> Path:
    """Where torchvision datasets live: `$EEP596GAN_DATA`, else `cache_dir()`."""
    return Path(os.environ.get("EEP596GAN_DATA") or cache_dir())
