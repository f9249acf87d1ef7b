"""Tests for eep596gan.likelihood_demos: checked against torch.distributions and closed forms."""

import math

import pytest
import torch
from torch import distributions as dist

from eep596gan.data import mixture_1d
from eep596gan.likelihood_demos import (
    GaussianMixture,
    entropy,
    fit_mle,
    gaussian_mle,
    js_divergence,
    kl_divergence,
)

GRID = torch.linspace(-12, 12, 8001, dtype=torch.float64)


def _normal_pdf(x, mu, sd):
    return dist.Normal(mu, sd).log_prob(x).exp()


def test_log_prob_matches_torch_mixture_same_family():
    gen = torch.Generator().manual_seed(0)
    model = GaussianMixture(3, dim=2, generator=gen)
    with torch.no_grad():
        model.logits.copy_(torch.tensor([0.3, -1.0, 0.5]))
        model.log_stds.copy_(torch.randn(3, 2, generator=gen, dtype=torch.float64) * 0.3)
    ref = dist.MixtureSameFamily(
        dist.Categorical(logits=model.logits.detach()),
        dist.Independent(dist.Normal(model.means.detach(), model.stds.detach()), 1),
    )
    x = torch.randn(50, 2, generator=gen, dtype=torch.float64) * 2
    torch.testing.assert_close(model.log_prob(x), ref.log_prob(x))


def test_from_params_matches_library_mixture_pdf():
    p = mixture_1d("skewed")
    model = GaussianMixture.from_params(p.weights, p.means, p.stds)
    x = torch.linspace(-4, 4, 101, dtype=torch.float64)
    torch.testing.assert_close(model.pdf(x), p.pdf(x))
    torch.testing.assert_close(model.weights.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_from_params_does_not_consume_the_global_rng():
    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    GaussianMixture.from_params([1.0], [0.0], [1.0])
    assert torch.rand(1) == expected


def test_sample_moments_match_the_mixture():
    model = GaussianMixture.from_params([0.25, 0.75], [-2.0, 1.0], [0.5, 1.0])
    x = model.sample(200_000, generator=torch.Generator().manual_seed(1))
    mean = 0.25 * -2.0 + 0.75 * 1.0
    var = 0.25 * (0.25 + 4.0) + 0.75 * (1.0 + 1.0) - mean**2
    assert x.shape == (200_000, 1)
    assert abs(float(x.mean()) - mean) < 0.02
    assert abs(float(x.var()) - var) < 0.05


def test_gaussian_mle_is_the_sample_mean_and_biased_variance():
    x = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0)) * 2 + 1
    mu, var = gaussian_mle(x)
    x64 = x.double()
    torch.testing.assert_close(mu, x64.mean(0))
    torch.testing.assert_close(var, x64.var(0, unbiased=False))
    assert mu.dtype == torch.float64


def test_fit_mle_single_gaussian_converges_to_closed_form():
    x = mixture_1d("shifted").sample(2000, generator=torch.Generator().manual_seed(0))
    model = GaussianMixture(1, init=x)
    with torch.no_grad():
        model.means.add_(0.7)  # start away from the answer
    hist = fit_mle(model, x, steps=400, lr=0.05, progress=False)
    mu, var = gaussian_mle(x)
    torch.testing.assert_close(model.means.detach()[0], mu, atol=1e-3, rtol=0)
    torch.testing.assert_close(model.stds.detach()[0] ** 2, var, atol=1e-3, rtol=0)
    assert hist["log_likelihood"][-1] > hist["log_likelihood"][0]
    assert len(hist["log_likelihood"]) == 400


def test_fit_mle_mixture_recovers_bimodal_parameters():
    p = mixture_1d("bimodal")
    x = p.sample(4000, generator=torch.Generator().manual_seed(0))
    model = GaussianMixture(2, init=x)
    fit_mle(model, x, steps=300, lr=0.05, progress=False)
    means = model.means.detach().flatten().sort().values
    torch.testing.assert_close(means, torch.tensor([-2.0, 2.0], dtype=torch.float64), atol=0.05, rtol=0)
    torch.testing.assert_close(model.stds.detach().flatten(), torch.full((2,), 0.5, dtype=torch.float64), atol=0.05, rtol=0)
    assert kl_divergence(p.pdf(GRID), model.pdf(GRID).detach(), GRID) < 0.01


def test_entropy_of_gaussian_matches_closed_form():
    sd = 1.7
    expected = 0.5 * math.log(2 * math.pi * math.e * sd**2)
    assert abs(float(entropy(_normal_pdf(GRID, 0.3, sd), GRID)) - expected) < 1e-6  # tails beyond +-12 cut off


def test_kl_between_gaussians_matches_closed_form():
    p, q = _normal_pdf(GRID, 0.0, 1.0), _normal_pdf(GRID, 1.5, 2.0)
    expected = dist.kl_divergence(dist.Normal(0.0, 1.0), dist.Normal(1.5, 2.0))
    assert abs(float(kl_divergence(p, q, GRID)) - float(expected)) < 1e-8
    assert float(kl_divergence(p, p, GRID)) == pytest.approx(0.0, abs=1e-12)


def test_kl_is_infinite_when_q_misses_mass_of_p():
    p = torch.where(GRID.abs() < 1, 0.5, 0.0).double()
    q = torch.where(GRID > 0, 0.0, 1.0).double()
    assert math.isinf(float(kl_divergence(p, q, GRID)))


def test_js_divergence_bounds_and_symmetry():
    p, q = _normal_pdf(GRID, -1.0, 1.0), _normal_pdf(GRID, 1.0, 0.5)
    js = float(js_divergence(p, q, GRID))
    assert 0 < js < math.log(2)
    assert js == pytest.approx(float(js_divergence(q, p, GRID)), abs=1e-12)
    far = _normal_pdf(GRID, 9.0, 0.3)
    near_zero = _normal_pdf(GRID, -9.0, 0.3)
    assert float(js_divergence(far, near_zero, GRID)) == pytest.approx(math.log(2), abs=1e-6)
    assert float(js_divergence(p, p, GRID)) == pytest.approx(0.0, abs=1e-12)


def test_bad_inputs_raise_clear_errors():
    model = GaussianMixture(2, dim=2)
    with pytest.raises(ValueError, match=r"\(m, 2\)"):
        model.log_prob(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="increasing"):
        entropy(torch.ones(3), torch.tensor([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="grid"):
        kl_divergence(torch.ones(3), torch.ones(4), torch.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="positive"):
        GaussianMixture.from_params([1.0, -1.0], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(0)


def test_from_params_is_fixed_unless_trainable():
    fixed = GaussianMixture.from_params([1.0], [0.0], [1.0])
    assert not fixed.log_prob(torch.zeros(3)).requires_grad
    free = GaussianMixture.from_params([1.0], [0.0], [1.0], trainable=True)
    x = torch.full((100, 1), 2.0, dtype=torch.float64) + torch.linspace(-0.1, 0.1, 100, dtype=torch.float64)[:, None]
    fit_mle(free, x, steps=50, lr=0.1, progress=False)
    assert float(free.means.detach()[0, 0]) > 1.0  # moved toward the data at 2
