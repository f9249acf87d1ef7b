"""Metrics against planted samples and closed forms: mode coverage, Fréchet distance,
precision/recall, the training callback, latent-arithmetic helpers and the likelihood baselines."""

import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import eep596gan.classifier as classifier
from eep596gan import metrics
from eep596gan.data import load_images, mode_centers, sample_2d
from eep596gan.losses import vae_loss
from eep596gan.metrics import (
    ModeCoverage,
    classifier_accuracy,
    describe_samples,
    feature_extractor,
    features,
    frechet_distance,
    frechet_distance_from_stats,
    importance_log_likelihood,
    independent_bernoulli_nll,
    ink,
    mode_coverage,
    precision_recall,
)
from eep596gan.models.vae import VAE

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
    noise = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    samples = centers[3] + 0.5 * sigma * noise
    out = mode_coverage(samples, "ring8")
    assert out["modes_captured"] == 1 and out["modes_total"] == 8
    assert out["counts"] == [0, 0, 0, 500, 0, 0, 0, 0]
    assert out["high_quality_fraction"] == 1.0


def test_samples_far_from_every_mode_capture_nothing():
    out = mode_coverage(sample_2d("grid25", 300, seed=0) + 100.0, "grid25")
    assert out == {"modes_captured": 0, "modes_total": 25, "high_quality_fraction": 0.0,
                   "counts": [0] * 25}


def test_high_quality_boundary_is_three_sigma_of_the_nearest_center():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    # numpy is fine
    samples = np.array([[0.5, 0.0], [0.0, 2.99], [3.01, 0.0], [10.0, 0.0], [6.5, 0.0]])
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
@pytest.mark.parametrize("m1, s1, m2, s2", [(0.0, 1.0, 0.0, 1.0), (0.0, 1.0, 3.0, 1.0),
                                            (1.0, 0.5, -2.0, 4.0), (0.0, 0.0, 0.0, 2.0)])
def test_frechet_distance_of_1d_gaussians_is_mean_gap_plus_std_gap_squared(m1, s1, m2, s2):
    got = frechet_distance_from_stats(m1, s1**2, m2, s2**2)
    assert got == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-10, abs=1e-10)


def test_frechet_distance_of_rotated_diagonal_covariances_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))  # a random rotation
    d1 = torch.rand(6, generator=g, dtype=torch.float64) + 0.1
    d2 = torch.rand(6, generator=g, dtype=torch.float64) * 3
    mu1 = torch.randn(6, generator=g, dtype=torch.float64)
    mu2 = torch.randn(6, generator=g, dtype=torch.float64)
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
    got = frechet_distance_from_stats([0.0, 0.0], np.diag([1.0, 0.0]),
                                      [0.0, 0.0], np.diag([4.0, 0.0]))
    assert got == pytest.approx(1.0, rel=1e-10)  # (sqrt(1) - sqrt(4))^2; the zero direction adds 0


def test_frechet_distance_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        frechet_distance_from_stats([0.0, 0.0], np.eye(3), [0.0, 0.0], np.eye(2))


def test_frechet_distance_of_a_set_to_itself_is_zero(digits_classifier, digits):
    x_train = digits[0][:400]
    d = frechet_distance(x_train, x_train, "digits", device="cpu")
    assert 0.0 <= d < 1e-6


def test_held_out_digits_are_much_closer_to_train_than_noise_or_a_single_class(
        digits_classifier, digits):
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


def test_classifier_is_cached_on_disk_and_reloaded_without_training(digits_classifier, digits,
                                                                     monkeypatch):
    path = classifier.classifier_path("digits")
    assert path.parent.parent == digits_classifier["root"] and path.is_file()
    before = features(digits[1][:50], "digits", device="cpu")
    classifier._cached_classifier.cache_clear()
    monkeypatch.setattr(classifier, "train_classifier",
                        lambda *a, **k: pytest.fail("retrained despite the cache"))
    after = features(digits[1][:50], "digits", device="cpu")
    torch.testing.assert_close(after, before, rtol=0, atol=0)


def test_unreadable_cache_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path))
    path = classifier.classifier_path("digits")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(classifier, "train_classifier",
                        lambda dataset, **kw: classifier.SmallCNN().eval())
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


@pytest.mark.parametrize("x, match", [(torch.zeros(5, 1, 28, 28), r"\(m, 1, 8, 8\)"),
                                      (torch.full((5, 1, 8, 8), float("nan")), "NaN")])
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
        return np.mean([any(np.linalg.norm(q - p) <= rj for p, rj in zip(points, r))
                        for q in queries])

    return covered(fake, real, radii(real)), covered(real, fake, radii(fake))


def test_precision_recall_matches_a_brute_force_reference():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(60, 3)), rng.normal(loc=1.5, scale=0.5, size=(45, 3))
    want_p, want_r = _brute_force_precision_recall(real, fake, k=3)
    got = precision_recall(torch.tensor(real), torch.tensor(fake), k=3, chunk=7)
    assert got["precision"] == pytest.approx(want_p, abs=1e-12)
    assert got["recall"] == pytest.approx(want_r, abs=1e-12)
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


def test_precision_recall_on_digit_features_separates_held_out_digits_from_noise(
        digits_classifier, digits):
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
    """metrics.features runs under no_grad; an empty cache must still train (and cache) it."""
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


# ---------------------------------------------------------------------------- during training
def _fake_trainer(points):
    """Stands in for a GANTrainer whose generator always returns `points`."""
    return SimpleNamespace(config=SimpleNamespace(latent_dim=3),
                           sample=lambda z: points[: len(z)])


def test_mode_coverage_callback_counts_exact_centers_and_far_points():
    centers, sigma = mode_centers("ring8")
    track = ModeCoverage("ring8", n=16)
    on_modes = centers.repeat(2, 1)  # (16, 2): every mode hit twice
    track(_fake_trainer(on_modes), 10)
    half = on_modes.clone()
    half[:, 0] += 10 * sigma * (torch.arange(16) % 2)  # every other point is far from its mode
    track(_fake_trainer(half), 20)
    track(_fake_trainer(torch.full((16, 2), 50.0)), 30)
    assert track.steps == [10, 20, 30] and track.total == 8
    # centers.repeat puts modes 0..7 twice: the even rows keep 0,2,4,6
    assert track.modes == [8, 4, 0]
    assert track.quality == pytest.approx([1.0, 0.5, 0.0])


# ---------------------------------------------------------------------------- latent arithmetic
def test_ink_is_the_mean_brightness_in_zero_one():
    x = torch.stack([torch.full((1, 8, 8), -1.0), torch.full((1, 8, 8), 1.0),
                     torch.zeros(1, 8, 8)])
    x[2, 0, :4] = 1.0  # half the rows white on a grey image: (0.5 * 32 + 1 * 32) / 64
    torch.testing.assert_close(ink(x), torch.tensor([0.0, 1.0, 0.75]))


def test_describe_samples_reports_the_classifiers_argmax_and_the_ink(monkeypatch):
    torch.manual_seed(0)
    # stands in for the CNN
    probe = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    monkeypatch.setattr(metrics, "load_classifier", lambda dataset: probe)
    x_test, _ = load_images("digits", split="test")

    class Replay(torch.nn.Module):  # a "generator" that returns the z-th held-out digit
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(()))

        def forward(self, z):
            return x_test[z[:, 0].long()]

    z = torch.arange(len(x_test), dtype=torch.float32)[:, None]
    out = describe_samples(Replay(), z)
    with torch.no_grad():
        probs = torch.softmax(probe(x_test).double(), 1)  # float64 reference
    torch.testing.assert_close(out["x"], x_test)
    torch.testing.assert_close(out["ink"], ((x_test.double() + 1) / 2).flatten(1).mean(1).float())
    assert torch.equal(out["label"], probs.argmax(1))
    torch.testing.assert_close(out["confidence"].double(), probs.max(1).values,
                               rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- likelihoods
def _bits(m, shape, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (m, *shape), generator=gen).to(dtype)


def test_independent_bernoulli_nll_matches_torch_distributions():
    x_train, x_test = _bits(50, (1, 3, 3), seed=2), _bits(7, (1, 3, 3), seed=3)
    x_train[:, 0, 0, 0] = 0  # a pixel never on: its clipped probability keeps the NLL finite
    x_test[0, 0, 0, 0] = 1
    p = x_train.double().mean(0).clamp(1e-3, 1 - 1e-3)
    expected = -torch.distributions.Bernoulli(probs=p).log_prob(x_test.double()).flatten(1).sum(1)
    torch.testing.assert_close(independent_bernoulli_nll(x_train, x_test), expected,
                               rtol=1e-12, atol=1e-12)


def test_independent_bernoulli_train_nll_is_the_sum_of_pixel_entropies():
    x = _bits(200, (1, 2, 2), seed=5)
    p = x.double().mean(0).flatten()  # every pixel is sometimes on, sometimes off: no clipping
    entropy = -(p * p.log() + (1 - p) * (1 - p).log()).sum()
    assert math.isclose(independent_bernoulli_nll(x, x).mean().item(), entropy.item(),
                        rel_tol=1e-12)
    with pytest.raises(ValueError, match="one image shape"):
        independent_bernoulli_nll(x, _bits(2, (1, 3, 3)))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_importance_log_likelihood_converges_to_the_integral_and_bounds_it_from_below(likelihood):
    torch.manual_seed(0)
    vae = VAE((1, 2, 2), latent_dim=1, hidden=(8,), likelihood=likelihood, sigma=0.5).double()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 1, 2, 2, generator=gen, dtype=torch.float64) * 2 - 1
    # reference: log p(x) = log integral N(z; 0, 1) p(x | z) dz by the trapezoid rule in float64
    z = torch.linspace(-12, 12, 40001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        out = vae.decode(z)  # (g, 1, 2, 2)
        for j in range(3):
            xj = x[j].expand_as(out)
            if likelihood == "bernoulli":
                t = (xj + 1) / 2  # targets in [0, 1]: the cross-entropy, written out
                log_px_z = (t * F.logsigmoid(out) + (1 - t) * F.logsigmoid(-out)).flatten(1).sum(1)
            else:
                log_px_z = torch.distributions.Normal(out, 0.5).log_prob(xj).flatten(1).sum(1)
            log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z[:, 0])
            integrand = (log_pz + log_px_z).exp()
            exact = torch.trapezoid(integrand, z[:, 0]).log().item()
            estimate = importance_log_likelihood(vae, x[j : j + 1], k=20000,
                                                 generator=torch.Generator().manual_seed(j))
            many = x[j : j + 1].repeat(20000, 1, 1, 1)
            single = importance_log_likelihood(vae, many, k=1,
                                               generator=torch.Generator().manual_seed(9))
            elbo = -vae_loss(vae, many, generator=torch.Generator().manual_seed(9))[0]
            assert abs(estimate.item() - exact) < 0.02
            # k=1 averages to the ELBO (closed-form KL)
            assert abs(single.mean().item() - elbo.item()) < 0.01
            assert single.mean().item() < exact - 1e-3  # the ELBO lies below log p(x)
    with pytest.raises(ValueError, match="k must be a positive int"):
        importance_log_likelihood(vae, x, k=0)
