"""Shared fixtures: CPU, quick mode and a private cache so tests never touch a user's files."""

import os

import pytest

os.environ.setdefault("EEP596GAN_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _cpu_and_threads(monkeypatch):
    import torch  # here, not at the top: pytest-xdist's controller never loads torch (~350 MiB)

    monkeypatch.setenv("EEP596GAN_DEVICE", "cpu")
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One classifier cache for the whole session (trained once)."""
    path = tmp_path_factory.mktemp("eep596gan_cache")
    os.environ["EEP596GAN_CACHE"] = str(path)
    return path
