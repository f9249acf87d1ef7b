"""Metrics against planted samples and closed forms: mode coverage, Fréchet distance, precision/recall."""

import math
import time

import numpy as np
import pytest
import torch

import eep596gan.classifier as classifier
from eep596gan.data import load_images, mode_centers, sample_2d
from eep596gan.metrics import (
    classifier_accuracy,
    feature_extractor,
    features,
    frechet_distance,
    frechet_distance_from_stats,
    mode_coverage,
    precision_recall,
)

# P(||x - c|| <= 3 sigma) for an isotropic 2-D Gaussian: the Rayleigh CDF at 3, 1 - exp(-9/2).
HQ_2D = 1 - math.exp(-4.5)


@pytest.fixture(scope="session")
def digits_classifier(tmp_path_factory):
    """Train the digits classifier once per session into a private cache (not the user's)."""
    patch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("eep596gan-cache")
    patch.setenv("EEP596GAN_CACHE", str(root))
    start = time.perf_counter()
    model = classifier.load_classifier("digits")
    seconds = time.perf_counter() - start
    yield {"root": root, "model": model, "seconds": seconds}
    patch.undo()


@pytest.fixture(scope="session")
def digits():
    x_train, _ = load_images("digits", split="train")
    x_test, y_test = load_images("digits", split="test")
    return x_train, x_test, y_test


# ---------------------------------------------------------------------------- mode coverage
@pytest.mark.parametrize("name, k", [("ring8", 8), ("grid25", 25)])
def test_true_samples_capture_every_mode_with_the_rayleigh_high_quality_fraction(name, k):
    n = 20_000
    out = mode_coverage(sample_2d(name, n, seed=1), name=name)
    assert out["modes_captured"] == out["modes_total"] == k
    se = math.sqrt(HQ_2D * (1 - HQ_2D) / n)
    assert HQ_2D - 5 * se < out["high_quality_fraction"] < HQ_2D + 5 * se
    assert sum(out["counts"]) == round(out["high_quality_fraction"] * n)
    assert min(out["counts"]) > 0.8 * n / k * HQ_2D and max(out["counts"]) < 1.2 * n / k * HQ_2D


def test_samples_at_one_center_capture_exactly_that_mode():
    centers, sigma = mode_centers("ring8")
    samples = centers[3] + 0.5 * sigma * torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    out = mode_coverage(samples, "ring8")
    assert out["modes_captured"] == 1 and out["modes_total"] == 8
    assert out["counts"] == [0, 0, 0, 500, 0, 0, 0, 0]
    assert out["high_quality_fraction"] == 1.0


def test_samples_far_from_every_mode_capture_nothing():
    out = mode_coverage(sample_2d("grid25", 300, seed=0) + 100.0, "grid25")
    assert out == {"modes_captured": 0, "modes_total": 25, "high_quality_fraction": 0.0, "counts": [0] * 25}


def test_high_quality_boundary_is_three_sigma_of_the_nearest_center():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    samples = np.array([[0.5, 0.0], [0.0, 2.99], [3.01, 0.0], [10.0, 0.0], [6.5, 0.0]])  # numpy is fine
    out = mode_coverage(samples, centers=centers, sigma=1.0)
    assert out["counts"] == [2, 1] and out["modes_captured"] == 2
    assert out["high_quality_fraction"] == pytest.approx(3 / 5, abs=1e-12)


@pytest.mark.parametrize(
    "samples, kwargs, match",
    [
        (torch.tensor([[0.0, float("nan")]]), {}, "NaN"),
        (torch.zeros(4, 3), {}, r"\(n, 2\)"),
        (torch.zeros(4), {}, "dimension"),
        (torch.zeros(0, 2), {}, "at least one"),
        (torch.zeros(4, 2), {"centers": torch.zeros(2, 2)}, "both centers and sigma"),
        (torch.zeros(4, 2), {"name": "moons"}, "valid names"),
    ],
)
def test_mode_coverage_refuses_bad_input_clearly(samples, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(samples, **kwargs)


# ---------------------------------------------------------------------------- Fréchet distance
@pytest.mark.parametrize("m1, s1, m2, s2", [(0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 3.0, 1.0), (1.0, 0.5, -2.0, 4.0), (0.0, 0.0, 0.0, 2.0)])
def test_frechet_distance_of_1d_gaussians_is_mean_gap_plus_std_gap_squared(m1, s1, m2, s2):
    got = frechet_distance_from_stats(m1, s1**2, m2, s2**2)
    assert got == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-10, abs=1e-10)


def test_frechet_distance_of_rotated_diagonal_covariances_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))  # a random rotation
    d1, d2 = torch.rand(6, generator=g, dtype=torch.float64) + 0.1, torch.rand(6, generator=g, dtype=torch.float64) * 3
    mu1, mu2 = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    got = frechet_distance_from_stats(mu1, q @ torch.diag(d1) @ q.T, mu2, q @ torch.diag(d2) @ q.T)
    want = float((mu1 - mu2).square().sum() + (d1.sqrt() - d2.sqrt()).square().sum())
    assert got == pytest.approx(want, rel=1e-9)


def test_frechet_distance_of_non_commuting_covariances_matches_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    want = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-8)


def test_frechet_distance_handles_singular_covariances():
    got = frechet_distance_from_stats([0.0, 0.0], np.diag([1.0, 0.0]), [0.0, 0.0], np.diag([4.0, 0.0]))
    assert got == pytest.approx(1.0, rel=1e-10)  # (sqrt(1) - sqrt(4))^2; the zero direction adds 0


def test_frechet_distance_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        frechet_distance_from_stats([0.0, 0.0], np.eye(3), [0.0, 0.0], np.eye(2))


def test_frechet_distance_of_a_set_to_itself_is_zero(digits_classifier, digits):
    x_train = digits[0][:400]
    d = frechet_distance(x_train, x_train, "digits", device="cpu")
    assert 0.0 <= d < 1e-6


def test_held_out_digits_are_much_closer_to_train_than_noise_or_a_single_class(digits_classifier, digits):
    x_train, x_test, y_test = digits
    floor = frechet_distance(x_test, x_train, "digits", device="cpu")
    noise = torch.rand(len(x_test), 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    far = frechet_distance(noise, x_train, "digits", device="cpu")
    x_all, y_all = load_images("digits", split="all")
    collapsed = frechet_distance(x_all[y_all == 0], x_train, "digits", device="cpu")
    assert 0.0 < floor < 0.1 * far  # finite samples keep the floor above 0
    assert collapsed > 5 * floor  # mode collapse onto one class is visible


# ---------------------------------------------------------------------------- the classifier
def test_digits_classifier_is_accurate_on_held_out_digits(digits_classifier):
    acc = classifier_accuracy("digits", "test", device="cpu")
    assert 0.95 <= acc <= 1.0
    assert digits_classifier["seconds"] < 60


def test_classifier_is_cached_on_disk_and_reloaded_without_training(digits_classifier, digits, monkeypatch):
    path = classifier.classifier_path("digits")
    assert path.parent.parent == digits_classifier["root"] and path.is_file()
    before = features(digits[1][:50], "digits", device="cpu")
    classifier._cached_classifier.cache_clear()
    monkeypatch.setattr(classifier, "train_classifier", lambda *a, **k: pytest.fail("retrained despite the cache"))
    after = features(digits[1][:50], "digits", device="cpu")
    torch.testing.assert_close(after, before, rtol=0, atol=0)


def test_unreadable_cache_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path))
    path = classifier.classifier_path("digits")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(classifier, "train_classifier", lambda dataset, **kw: classifier.SmallCNN().eval())
    with pytest.warns(UserWarning, match="retraining"):
        model = classifier.load_classifier("digits")
    reloaded = classifier.SmallCNN()
    reloaded.load_state_dict(torch.load(path, weights_only=True))
    torch.testing.assert_close(reloaded.state_dict(), model.state_dict())
    assert not list(path.parent.glob("*.tmp"))


def test_feature_extractor_maps_images_to_64_frozen_features(digits_classifier, digits):
    net = feature_extractor("digits", device="cpu")
    out = net(digits[1][:7])
    assert out.shape == (7, classifier.FEATURE_DIM) and not out.requires_grad
    assert all(not p.requires_grad for p in net.parameters())


@pytest.mark.parametrize("x, match", [(torch.zeros(5, 1, 28, 28), r"\(m, 1, 8, 8\)"), (torch.full((5, 1, 8, 8), float("nan")), "NaN")])
def test_features_refuse_images_of_the_wrong_shape_or_nan(digits_classifier, x, match):
    with pytest.raises(ValueError, match=match):
        features(x, "digits", device="cpu")


def test_unknown_dataset_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="valid names"):
        classifier.classifier_path("cifar10")


# ---------------------------------------------------------------------------- precision / recall
def _brute_force_precision_recall(real: np.ndarray, fake: np.ndarray, k: int):
    """Kynkäänniemi et al. 2019 with plain loops: an independent reference."""
    def radii(p):
        return np.array([np.sort(np.linalg.norm(p - q, axis=1))[k] for q in p])

    def covered(queries, points, r):
        return np.mean([any(np.linalg.norm(q - p) <= rj for p, rj in zip(points, r)) for q in queries])

    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


def test_precision_recall_matches_a_brute_force_reference():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(60, 3)), rng.normal(loc=1.5, scale=0.5, size=(45, 3))
    want_p, want_r = _brute_force_precision_recall(real, fake, k=3)
    got = precision_recall(torch.tensor(real), torch.tensor(fake), k=3, chunk=7)
    assert got["precision"] == pytest.approx(want_p, abs=1e-12) and got["recall"] == pytest.approx(want_r, abs=1e-12)
    assert 0 < want_p < 1 and 0 < want_r < 1  # the planted sets overlap only in part


def test_identical_sets_have_full_precision_and_recall():
    x = sample_2d("ring8", 400, seed=0)
    assert precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}


def test_disjoint_far_sets_have_zero_precision_and_recall():
    x = sample_2d("ring8", 400, seed=0)
    assert precision_recall(x, x + 50.0) == {"precision": 0.0, "recall": 0.0}


def test_fake_covering_half_the_modes_has_half_recall_and_full_precision():
    centers, _ = mode_centers("ring8")
    real = sample_2d("ring8", 800, seed=1)
    pool = sample_2d("ring8", 2000, seed=2)
    fake = pool[torch.cdist(pool, centers).argmin(1) < 4][:400]  # modes 0..3 only
    out = precision_recall(real, fake, k=3)
    assert 0.40 <= out["recall"] <= 0.52
    assert 0.92 <= out["precision"] <= 1.0


def test_precision_recall_on_digit_features_separates_held_out_digits_from_noise(digits_classifier, digits):
    x_train, x_test, _ = digits
    noise = torch.rand(len(x_test), 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    good = precision_recall(x_train, x_test, dataset="digits", device="cpu")
    bad = precision_recall(x_train, noise, dataset="digits", device="cpu")
    assert good["precision"] > 0.8 and good["recall"] > 0.8
    assert bad["precision"] < 0.2 and bad["precision"] < good["precision"] - 0.6


def test_precision_recall_refuses_k_too_large_and_dimension_mismatch():
    with pytest.raises(ValueError, match="k"):
        precision_recall(torch.zeros(3, 2), torch.zeros(10, 2), k=3)
    with pytest.raises(ValueError, match="same dimension"):
        precision_recall(torch.zeros(10, 2), torch.zeros(10, 3))


def test_first_use_trains_the_classifier_even_under_no_grad(tmp_path, monkeypatch):
    """metrics.features runs under no_grad; an empty cache must still train (and cache) the model."""
    from eep596gan import classifier, metrics
    from eep596gan.data import load_images

    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path))
    classifier._cached_classifier.cache_clear()
    x, _ = load_images("digits", split="test")
    with torch.no_grad():
        f = metrics.features(x[:10], dataset="digits")
    assert f.shape == (10, 64)
    assert (tmp_path / "classifiers" / "digits-v1.pt").is_file()
    classifier._cached_classifier.cache_clear()
