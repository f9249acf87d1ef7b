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


# Scheduling of `make test` (`pytest -n 2 --dist loadgroup --no-loadscope-reorder`): every test
# file is one group, so its module fixtures (graded batches) are computed once, on one worker;
# a module that sets ONE_GROUP_PER_TEST = True (the grading round trips, minutes each) gives
# each of its tests a group of its own, and those run first, one per worker, so that the
# longest work does not queue behind the rest on a single worker.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    def alone(item):
        return bool(getattr(getattr(item, "module", None), "ONE_GROUP_PER_TEST", False))

    for item in items:
        group = item.nodeid if alone(item) else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group.replace("@", "_")))
    items.sort(key=lambda item: not alone(item))  # stable: the file order is kept otherwise
