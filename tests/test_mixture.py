"""eep596gan.models.mixture: the Gaussian mixture, checked against torch.distributions."""

import pytest
import torch
from torch import distributions as dist

from eep596gan.data import mixture_1d
from eep596gan.models.mixture import GaussianMixture, gaussian_mle
from eep596gan.train import fit_mle


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


def test_bad_inputs_raise_clear_errors():
    model = GaussianMixture(2, dim=2)
    with pytest.raises(ValueError, match=r"\(m, 2\)"):
        model.log_prob(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="positive"):
        GaussianMixture.from_params([1.0, -1.0], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(0)


def test_from_params_is_fixed_unless_trainable():
    fixed = GaussianMixture.from_params([1.0], [0.0], [1.0])
    assert not fixed.log_prob(torch.zeros(3)).requires_grad
    free = GaussianMixture.from_params([1.0], [0.0], [1.0], trainable=True)
    offsets = torch.linspace(-0.1, 0.1, 100, dtype=torch.float64)[:, None]
    x = torch.full((100, 1), 2.0, dtype=torch.float64) + offsets
    fit_mle(free, x, steps=50, lr=0.1, progress=False)
    assert float(free.means.detach()[0, 0]) > 1.0  # moved toward the data at 2
