"""Datasets: the registry, the embedded digits, the torchvision path on tiny IDX files, toy
mixtures, the sampler."""

import gzip
import struct

import numpy as np
import pytest
import torch

from eep596gan import data


def write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    """Write an IDX file (the MNIST format): magic, dims, big-endian sizes, then uint8 data."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = (struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
              + struct.pack(f">{array.ndim}I", *array.shape))
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def make_fake_mnist(root, folder="MNIST", n_train=12, n_test=5, seed=0):
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    images = {n: rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for n in (n_train, n_test)}
    labels = {n: rng.integers(0, 10, n, dtype=np.uint8) for n in (n_train, n_test)}
    write_idx(raw / "train-images-idx3-ubyte", images[n_train])
    write_idx(raw / "train-labels-idx1-ubyte", labels[n_train])
    write_idx(raw / "t10k-images-idx3-ubyte", images[n_test])
    write_idx(raw / "t10k-labels-idx1-ubyte", labels[n_test])
    return images[n_train], labels[n_train], images[n_test]


def test_digits_are_real_8x8_images_in_minus1_1_with_a_fixed_split():
    x, y = data.load_images("digits")
    xt, yt = data.load_images("digits", split="test")
    xa, _ = data.load_images("digits", split="all")
    assert x.shape == (1500, 1, 8, 8) and xt.shape == (297, 1, 8, 8) and xa.shape == (1797, 1, 8, 8)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() == -1.0 and x.max() == 1.0
    assert set(y.tolist()) == set(range(10))
    from sklearn.datasets import load_digits

    ref = torch.tensor(load_digits().images, dtype=torch.float32)[:, None] / 8 - 1
    torch.testing.assert_close(xa, ref)
    # train and test are disjoint and together are all images
    both = torch.cat([x, xt]).flatten(1)
    assert torch.unique(both, dim=0).shape[0] == torch.unique(xa.flatten(1), dim=0).shape[0]


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_torchvision_path_reads_idx_files_written_here(tmp_path, name, folder):
    train_images, train_labels, test_images = make_fake_mnist(tmp_path, folder)
    x, y = data.load_images(name, root=tmp_path, download=False)
    assert x.shape == (12, 1, 28, 28) and y.tolist() == train_labels.tolist()
    torch.testing.assert_close(x[:, 0], torch.tensor(train_images, dtype=torch.float32) / 127.5 - 1)
    xt, _ = data.load_images(name, root=tmp_path, split="test", download=False)
    assert xt.shape == (5, 1, 28, 28)
    assert data.load_images(name, root=tmp_path, split="all", download=False)[0].shape[0] == 17
    assert "available" in data.dataset_status(tmp_path)[name]


def test_missing_mnist_offline_names_the_folder_and_suggests_digits(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.load_images("mnist", root=tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in msg and "digits" in msg
    assert "absent" in data.dataset_status(tmp_path)["mnist"]


def test_download_failure_is_reported_with_the_same_advice(tmp_path, monkeypatch):
    import torchvision

    def offline(self, *a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    with pytest.raises(FileNotFoundError, match="(?s)network unreachable.*digits"):
        data.load_images("mnist", root=tmp_path, download=True)


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="digits, mnist, fashion_mnist"):
        data.load_images("cifar")
    with pytest.raises(ValueError, match="ring8, grid25, moons, swissroll"):
        data.sample_2d("ring9", 10)


@pytest.mark.parametrize("name,k,sigma", [("ring8", 8, 0.02), ("grid25", 25, 0.05)])
def test_mixtures_put_their_mass_near_the_modes(name, k, sigma):
    centers, s = data.mode_centers(name)
    assert centers.shape == (k, 2) and s == sigma
    x = data.sample_2d(name, 20_000, seed=0)
    dist, which = torch.cdist(x, centers).min(1)
    # |N(0, s^2 I_2)| < 3s with probability 1 - exp(-4.5) = 0.98889
    assert 0.985 < (dist < 3 * sigma).float().mean().item() < 0.993
    counts = torch.bincount(which, minlength=k).float() / len(x)
    assert counts.min() > 1 / k - 0.02 and counts.max() < 1 / k + 0.02
    if name == "ring8":
        torch.testing.assert_close(centers.norm(dim=1), torch.full((8,), 2.0))


def test_sample_2d_is_reproducible_by_seed():
    for name in data.POINT_DATASETS:
        a, b = data.sample_2d(name, 100, seed=3), data.sample_2d(name, 100, seed=3)
        assert a.shape == (100, 2) and torch.equal(a, b)
        assert not torch.equal(a, data.sample_2d(name, 100, seed=4))


def test_mixture_1d_density_integrates_to_one_and_matches_samples():
    for name in data.MIXTURES_1D:
        mix = data.mixture_1d(name)
        xs = torch.linspace(-15, 15, 30_001, dtype=torch.float64)
        assert torch.trapezoid(mix.pdf(xs), xs).item() == pytest.approx(1.0, abs=1e-8)
        s = mix.sample(50_000, generator=torch.Generator().manual_seed(0)).double()
        mean = sum(w * m for w, m in zip(mix.weights, mix.means)) / sum(mix.weights)
        assert s.shape == (50_000, 1) and abs(s.mean().item() - mean) < 0.05


def test_tensor_sampler_draws_batches_by_index_reproducibly():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    s1 = data.TensorSampler(x, y, generator=torch.Generator().manual_seed(0))
    s2 = data.TensorSampler(x, y, generator=torch.Generator().manual_seed(0))
    (xb, yb), (xb2, _) = s1(7), s2(7)
    assert xb.shape == (7, 1) and torch.equal(xb[:, 0].long(), yb) and torch.equal(xb, xb2)
    with pytest.raises(ValueError, match="equal length"):
        data.TensorSampler(x, y[:5])


# ---------------------------------------------------------------------------- the registry
def test_every_registry_entry_is_complete_and_the_derived_tuples_agree():
    import torchvision

    assert list(data.DATASETS) == [d.name for d in data.DATASETS.values()]
    for name, entry in data.DATASETS.items():
        assert isinstance(entry, data.Dataset) and data.dataset(name) is entry
        assert (entry.load is None) != (entry.torchvision is None), name  # exactly one source
        if entry.torchvision is not None:
            assert isinstance(getattr(torchvision.datasets, entry.torchvision), type)
        assert entry.is_image == (len(entry.shape) == 3), name
        assert entry.shape == (2,) or len(entry.shape) == 3, name
        if entry.is_image:
            assert entry.classifier_epochs > 0 and entry.modes is None, name
    images = tuple(n for n, d in data.DATASETS.items() if d.is_image)
    points = tuple(n for n, d in data.DATASETS.items() if not d.is_image)
    modes = tuple(n for n, d in data.DATASETS.items() if d.modes is not None)
    assert (images, points, modes) == (data.IMAGE_DATASETS, data.POINT_DATASETS,
                                       data.MODE_DATASETS)
    assert set(images) | set(points) == set(data.DATASETS)
    assert set(data.MODE_DATASETS) <= set(data.POINT_DATASETS)
    assert {"digits", "mnist", "fashion_mnist"} <= set(data.IMAGE_DATASETS)
    assert {"ring8", "grid25"} <= set(data.MODE_DATASETS)


@pytest.mark.parametrize("name", list(data.IMAGE_DATASETS))
def test_every_image_entry_loads_with_its_declared_shape(tmp_path, name):
    entry = data.DATASETS[name]
    if entry.torchvision is not None:  # through torchvision, from tiny IDX files written here
        make_fake_mnist(tmp_path, entry.torchvision)
    x, y = data.load_images(name, root=tmp_path, download=False)
    assert tuple(x.shape[1:]) == entry.shape and len(y) == len(x) > 0
    assert x.dtype == torch.float32 and x.min() >= -1.0 and x.max() <= 1.0


@pytest.mark.parametrize("name", list(data.POINT_DATASETS))
def test_every_point_entry_samples_n_points_in_2d(name):
    x = data.sample_2d(name, 37, seed=0)
    assert x.shape == (37, 2) == (37, *data.DATASETS[name].shape)
    assert x.dtype == torch.float32 and torch.isfinite(x).all()


@pytest.mark.parametrize("name", list(data.MODE_DATASETS))
def test_every_mode_entry_gives_its_centres_and_sigma(name):
    centers, sigma = data.mode_centers(name)
    assert centers.dim() == 2 and centers.shape[1] == 2 and len(centers) >= 2
    assert 0 < sigma < torch.cdist(centers, centers).add(torch.eye(len(centers)) * 1e9).min()
    x = data.sample_2d(name, 2000, seed=0)
    # every point near a mode: P(|N(0, s^2 I_2)| > 6 s) = exp(-18)
    assert (torch.cdist(x, centers).min(1).values < 6 * sigma).all()


def test_dataset_refuses_unknown_names_listing_the_valid_ones():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'") as err:
        data.dataset("cifar")
    assert all(name in str(err.value) for name in data.DATASETS)
    with pytest.raises(ValueError, match="ring8, grid25"):
        data.mode_centers("moons")  # points without known modes


def _register(monkeypatch, entry):
    """Add `entry` to the registry (and the derived tuples) for one test."""
    monkeypatch.setitem(data.DATASETS, entry.name, entry)
    kind = "IMAGE_DATASETS" if entry.is_image else "POINT_DATASETS"
    monkeypatch.setattr(data, kind, (*getattr(data, kind), entry.name))


def test_a_new_dataset_whose_recipe_group_has_no_recipe_is_refused_by_name(monkeypatch):
    """The old bug: an unknown dataset silently trained with the MNIST recipe."""
    from eep596gan import recipes

    def tiny(split):
        return torch.zeros(4, 3, 32, 32), torch.zeros(4, dtype=torch.int64)

    _register(monkeypatch, data.Dataset("cifar_tiny", (3, 32, 32), "cifar", load=tiny,
                                        classifier_epochs=1))
    assert data.load_images("cifar_tiny")[0].shape == (4, 3, 32, 32)  # registered and loadable
    for kind in ("gan", "dcgan"):
        with pytest.raises(ValueError, match=r"no \w+ recipe for 'cifar_tiny'.*'cifar'"):
            recipes.recipe(kind, "cifar_tiny")
    for kind in ("vae", "ar"):
        with pytest.raises(ValueError, match="no .* recipe for 'cifar_tiny'"):
            recipes.likelihood_recipe(kind, "cifar_tiny")
    # a new member of an existing group gets that group's recipe
    _register(monkeypatch, data.Dataset("kmnist_tiny", (1, 28, 28), "mnist", load=tiny,
                                        classifier_epochs=1))
    assert recipes.recipe("dcgan", "kmnist_tiny") == recipes.recipe("dcgan", "mnist")
