"""eep596gan.divergences: entropy, KL and JS by quadrature, against closed forms."""

import math

import pytest
import torch
from torch import distributions as dist

from eep596gan.divergences import entropy, js_divergence, kl_divergence

GRID = torch.linspace(-12, 12, 8001, dtype=torch.float64)


def _normal_pdf(x, mu, sd):
    return dist.Normal(mu, sd).log_prob(x).exp()


def test_entropy_of_gaussian_matches_closed_form():
    sd = 1.7
    expected = 0.5 * math.log(2 * math.pi * math.e * sd**2)
    got = float(entropy(_normal_pdf(GRID, 0.3, sd), GRID))
    assert abs(got - expected) < 1e-6  # tails beyond +-12 cut off


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
    with pytest.raises(ValueError, match="increasing"):
        entropy(torch.ones(3), torch.tensor([0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="grid"):
        kl_divergence(torch.ones(3), torch.ones(4), torch.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="non-negative"):
        js_divergence(-torch.ones(3), torch.ones(3), torch.linspace(0, 1, 3))
