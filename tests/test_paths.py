"""eep596gan.paths: one cache folder for every module, moved by environment variables."""

from pathlib import Path

from eep596gan import classifier, data
from eep596gan.paths import cache_dir, data_dir


def test_cache_dir_honours_eep596gan_cache_else_the_home_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and not (tmp_path / "c").exists()  # not created
    monkeypatch.delenv("EEP596GAN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == Path(tmp_path) / ".cache" / "eep596gan"
    monkeypatch.setenv("EEP596GAN_CACHE", "")  # empty: as if unset
    assert cache_dir() == Path(tmp_path) / ".cache" / "eep596gan"


def test_data_dir_honours_eep596gan_data_else_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path / "c"))
    monkeypatch.delenv("EEP596GAN_DATA", raising=False)
    assert data_dir() == tmp_path / "c"
    monkeypatch.setenv("EEP596GAN_DATA", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d"
    status = data.dataset_status()  # torchvision sets are looked for under data_dir()
    raw = tmp_path / "d" / "MNIST" / "raw"
    assert status["mnist"] == f"absent from {raw} (downloads on first use)"


def test_the_classifier_cache_lives_under_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path))
    assert classifier.classifier_path("digits").is_relative_to(tmp_path)
