"""CONTRIBUTING.md's walk-throughs hold: a new GAN loss or dataset is one registry entry.

Each test adds an entry the way the walk-through says (here with monkeypatch, in the source it
is one line) and then uses it through every part of the package that should see it, without
touching anything else.
"""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_data import make_fake_mnist

from eep596gan import data, losses
from eep596gan.cli import main
from eep596gan.data import Dataset, load_images
from eep596gan.losses import GANLoss
from eep596gan.models import MLPDiscriminator, MLPGenerator
from eep596gan.recipes import recipe
from eep596gan.train import GANTrainer


def _rsgan_d(real_logits, fake_logits):
    """Relativistic standard GAN (Jolicoeur-Martineau 2019): -E log sigmoid(D(x) - D(G(z)))."""
    return F.softplus(-(real_logits - fake_logits)).mean()


def _rsgan_g(fake_logits):
    return F.softplus(-fake_logits).mean()


def _help(capsys, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    return capsys.readouterr().out


def test_a_new_gan_loss_is_one_registry_entry(monkeypatch, capsys):
    monkeypatch.setitem(losses.GAN_LOSSES, "rsgan", GANLoss(_rsgan_d, _rsgan_g))
    assert losses.gan_loss("rsgan").discriminator is _rsgan_d
    torch.manual_seed(0)
    trainer = GANTrainer(MLPGenerator(4, (2,), hidden=(16,)), MLPDiscriminator((2,), hidden=(16,)),
                         latent_dim=4, loss="rsgan", device="cpu")
    history = trainer.fit(data.sample_2d("ring8", 256, seed=0), 5, 32, progress=False)
    assert len(history["d_loss"]) == 5
    assert all(0 < v < 10 for v in history["d_loss"] + history["g_loss"])
    assert "rsgan" in _help(capsys, monkeypatch)


@pytest.fixture
def kmnist(monkeypatch, tmp_path):
    """The walk-through's example entry, with tiny IDX files in torchvision's KMNIST folder."""
    entry = Dataset("kmnist", (1, 28, 28), "mnist", torchvision="KMNIST", classifier_epochs=2)
    monkeypatch.setitem(data.DATASETS, "kmnist", entry)
    make_fake_mnist(tmp_path, folder="KMNIST", n_train=40, n_test=12)
    return tmp_path


def test_a_new_dataset_is_one_registry_entry(kmnist, capsys, monkeypatch):
    x, y = load_images("kmnist", root=kmnist, download=False)
    assert x.shape == (40, 1, 28, 28) and y.shape == (40,)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert load_images("kmnist", root=kmnist, split="test", download=False)[0].shape[0] == 12
    assert data.dataset_status(kmnist)["kmnist"].startswith("available in")
    assert recipe("dcgan", "kmnist") == recipe("dcgan", "mnist")  # its recipe group's defaults
    assert data.dataset("kmnist", "images") is data.DATASETS["kmnist"]
    with pytest.raises(ValueError, match="kmnist"):  # listed among the image datasets
        data.sample_2d("kmnist", 3)
    assert "kmnist" in _help(capsys, monkeypatch)


def test_the_cli_trains_on_a_new_dataset_with_its_recipe_and_metrics(kmnist, tmp_path,
                                                                     monkeypatch, capsys):
    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path / "cache"))  # its own Fréchet classifier
    out = tmp_path / "run"
    assert main(["train", "dcgan", "--data", "kmnist", "--root", str(kmnist), "--steps", "3",
                 "--batch-size", "8", "--no-progress", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 3 and metrics["recipe"]["latent_dim"] == 64  # the mnist group's
    assert np.isfinite(metrics["frechet_distance"]) and metrics["frechet_distance"] > 0
    assert (tmp_path / "cache" / "classifiers" / "kmnist-v1.pt").is_file()
