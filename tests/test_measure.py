"""Lecture helpers for FVBNs and VAEs: completion, baselines, timing, decoder views, IWAE."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from ar_models import sharpened_2x2_model
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from eep596gan import lecture_likelihood as ll
from eep596gan.lecture_likelihood import (
    VAEDecoder,
    complete,
    count_calls,
    decode_grid,
    fill_in_frames,
    importance_log_likelihood,
    independent_bernoulli_nll,
    linear_fit,
    time_calls,
)
from eep596gan.models.autoregressive import PixelAR
from eep596gan.models.vae import VAE


def _bits(m, shape, seed=0, dtype=torch.float32):
    return torch.randint(0, 2, (m, *shape), generator=torch.Generator().manual_seed(seed)).to(dtype)


# ------------------------------------------------------------------ complete
def test_complete_keeps_the_observed_pixels_and_fills_the_rest_with_bits():
    torch.manual_seed(0)
    model = PixelAR((1, 4, 4), hidden=(16,))
    x = _bits(5, (1, 4, 4))
    out = complete(model, x, 7, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and set(out.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out.flatten(1)[:, :7], x.flatten(1)[:, :7])
    assert torch.equal(complete(model, x, 16), x)  # everything observed: nothing to draw


def test_complete_with_nothing_observed_is_pixelar_sample():
    torch.manual_seed(0)
    model = PixelAR((1, 4, 4), hidden=(16,))
    out = complete(model, torch.ones(6, 1, 4, 4), 0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out, model.sample(6, generator=torch.Generator().manual_seed(3)))


def test_complete_draws_from_the_models_conditional_distribution():
    model = sharpened_2x2_model(seed=4)
    n, observed = 20000, (1.0, 0.0)
    x = torch.tensor([*observed, 0.0, 0.0], dtype=torch.float64).view(1, 1, 2, 2).repeat(n, 1, 1, 1)
    out = complete(model, x, 2, generator=torch.Generator().manual_seed(0)).flatten(1)[:, 2:]  # (n, 2)
    freq = torch.bincount((2 * out[:, 0] + out[:, 1]).long(), minlength=4).double() / n
    # reference: p(x_3, x_4 | x_1, x_2) = p(x) / sum over the 4 completions, by enumeration
    rest = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)), dtype=torch.float64)
    full = torch.cat([torch.tensor(observed, dtype=torch.float64).expand(4, 2), rest], 1).view(4, 1, 2, 2)
    with torch.no_grad():
        p = torch.softmax(model.log_prob(full), 0)
    assert p.max() - p.min() > 0.1  # the conditional is far from uniform: the test can fail
    assert torch.all((freq - p).abs() <= 4.5 * torch.sqrt(p * (1 - p) / n) + 1e-12)


def test_complete_refuses_bad_pixel_counts_and_non_binary_images():
    model = PixelAR((1, 2, 2), hidden=(4,))
    with pytest.raises(ValueError, match=r"n_observed must lie in \[0, 4\]"):
        complete(model, _bits(2, (1, 2, 2)), 5)
    with pytest.raises(ValueError, match="binarize"):
        complete(model, torch.full((2, 1, 2, 2), 0.5), 1)


# ------------------------------------------------------------------ fill_in_frames
def test_fill_in_frames_shows_drawn_pixels_and_grey_elsewhere():
    x = _bits(3, (1, 2, 3), seed=1)
    frames = fill_in_frames(x, [0, 2, 6]).view(3, 3, 6)  # (image, frame, pixel)
    assert torch.equal(frames[:, 0], torch.zeros(3, 6))
    assert torch.equal(frames[:, 1, :2], 2 * x.flatten(1)[:, :2] - 1)
    assert torch.equal(frames[:, 1, 2:], torch.zeros(3, 4))
    assert torch.equal(frames[:, 2], 2 * x.flatten(1) - 1)
    with pytest.raises(ValueError, match=r"pixel counts in \[0, 6\]"):
        fill_in_frames(x, [7])


# ------------------------------------------------------------------ the independent baseline
def test_independent_bernoulli_nll_matches_torch_distributions():
    x_train, x_test = _bits(50, (1, 3, 3), seed=2), _bits(7, (1, 3, 3), seed=3)
    x_train[:, 0, 0, 0] = 0  # a pixel never on: its clipped probability keeps the NLL finite
    x_test[0, 0, 0, 0] = 1
    p = x_train.double().mean(0).clamp(1e-3, 1 - 1e-3)
    expected = -torch.distributions.Bernoulli(probs=p).log_prob(x_test.double()).flatten(1).sum(1)
    torch.testing.assert_close(independent_bernoulli_nll(x_train, x_test), expected, rtol=1e-12, atol=1e-12)


def test_independent_bernoulli_train_nll_is_the_sum_of_pixel_entropies():
    x = _bits(200, (1, 2, 2), seed=5)
    p = x.double().mean(0).flatten()  # every pixel is sometimes on, sometimes off: no clipping
    entropy = -(p * p.log() + (1 - p) * (1 - p).log()).sum()
    assert math.isclose(independent_bernoulli_nll(x, x).mean().item(), entropy.item(), rel_tol=1e-12)
    with pytest.raises(ValueError, match="one image shape"):
        independent_bernoulli_nll(x, _bits(2, (1, 3, 3)))


# ------------------------------------------------------------------ counting and timing
def test_count_calls_counts_forward_calls_and_removes_its_hook():
    torch.manual_seed(0)
    model = PixelAR((1, 3, 3), hidden=(8,))
    with count_calls(model) as calls:
        model.sample(2)
    assert calls[0] == 9  # one call per pixel
    model(torch.zeros(1, 1, 3, 3))
    assert calls[0] == 9 and not model._forward_hooks


def test_time_calls_keeps_the_fastest_run_of_each_size(monkeypatch):
    clock = {"t": 0.0, "calls": 0}

    def fake_fn(n):  # takes n seconds, plus 1 second on every other call
        clock["calls"] += 1
        clock["t"] += n + (clock["calls"] % 2)

    monkeypatch.setattr(ll.time, "perf_counter", lambda: clock["t"])
    seconds = time_calls(fake_fn, [2, 5, 9], repeats=2)
    np.testing.assert_allclose(seconds, [2.0, 5.0, 9.0])
    assert clock["calls"] == 1 + 3 * 2  # warm-up, then repeats per size
    with pytest.raises(ValueError, match="repeats >= 1"):
        time_calls(fake_fn, [1], repeats=0)


def test_linear_fit_matches_sklearn():
    rng = np.random.default_rng(0)
    x = np.arange(1.0, 11.0)
    y = 0.3 * x + 2 + rng.normal(0, 0.5, x.size)
    slope, intercept, r2 = linear_fit(x, y)
    reg = LinearRegression().fit(x[:, None], y)
    assert math.isclose(slope, reg.coef_[0], rel_tol=1e-9) and math.isclose(intercept, reg.intercept_, rel_tol=1e-9)
    assert math.isclose(r2, r2_score(y, reg.predict(x[:, None])), rel_tol=1e-9)
    assert 0 < r2 < 1
    assert linear_fit([1, 2, 3], [5, 7, 9]) == pytest.approx((2.0, 3.0, 1.0))


# ------------------------------------------------------------------ VAE views
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_decoder_gives_the_same_images_as_sample(likelihood):
    torch.manual_seed(0)
    vae = VAE((1, 4, 4), latent_dim=3, hidden=(8,), likelihood=likelihood)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        images = VAEDecoder(vae)(z)
        out = vae.decode(z)
    expected = 2 * torch.sigmoid(out) - 1 if likelihood == "bernoulli" else out
    torch.testing.assert_close(images, expected)
    torch.testing.assert_close(images, vae.sample(5, generator=torch.Generator().manual_seed(2)))


def test_decode_grid_lays_out_the_latent_plane_like_a_scatter_plot():
    torch.manual_seed(0)
    vae = VAE((1, 4, 4), latent_dim=2, hidden=(8,))
    n, lim = 4, 2.0
    grid = decode_grid(vae, n=n, lim=lim)
    t = torch.linspace(-lim, lim, n)
    for r, c in [(0, 0), (0, 3), (2, 1), (3, 3)]:  # row r: z[1] = t[n-1-r]; column c: z[0] = t[c]
        with torch.no_grad():
            expected = VAEDecoder(vae)(torch.tensor([[t[c], t[n - 1 - r]]]))[0]
        torch.testing.assert_close(grid[r * n + c], expected)
    with pytest.raises(ValueError, match="latent_dim=2"):
        decode_grid(VAE((1, 4, 4), latent_dim=3, hidden=(8,)))


# ------------------------------------------------------------------ importance sampling
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_importance_log_likelihood_converges_to_the_integral_and_bounds_it_from_below(likelihood):
    torch.manual_seed(0)
    vae = VAE((1, 2, 2), latent_dim=1, hidden=(8,), likelihood=likelihood, sigma=0.5).double()
    x = torch.rand(3, 1, 2, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - 1
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
            integrand = (torch.distributions.Normal(0.0, 1.0).log_prob(z[:, 0]) + log_px_z).exp()
            exact = torch.trapezoid(integrand, z[:, 0]).log().item()
            estimate = importance_log_likelihood(vae, x[j : j + 1], k=20000, generator=torch.Generator().manual_seed(j))
            single = importance_log_likelihood(vae, x[j : j + 1].repeat(20000, 1, 1, 1), k=1,
                                               generator=torch.Generator().manual_seed(9))
            elbo = -vae.loss(x[j : j + 1].repeat(20000, 1, 1, 1), generator=torch.Generator().manual_seed(9))[0]
            assert abs(estimate.item() - exact) < 0.02
            assert abs(single.mean().item() - elbo.item()) < 0.01  # k=1 averages to the ELBO (closed-form KL)
            assert single.mean().item() < exact - 1e-3  # the ELBO lies below log p(x)
    with pytest.raises(ValueError, match="k must be a positive int"):
        importance_log_likelihood(vae, x, k=0)
