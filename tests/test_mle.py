"""eep596gan.train.mle: maximum likelihood by gradient ascent, against closed forms."""

import pytest
import torch

from eep596gan.data import mixture_1d
from eep596gan.divergences import kl_divergence
from eep596gan.models.mixture import GaussianMixture, gaussian_mle
from eep596gan.train import MLETrainer, fit_mle

GRID = torch.linspace(-12, 12, 8001, dtype=torch.float64)


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
    torch.testing.assert_close(means, torch.tensor([-2.0, 2.0], dtype=torch.float64),
                               atol=0.05, rtol=0)
    torch.testing.assert_close(model.stds.detach().flatten(),
                               torch.full((2,), 0.5, dtype=torch.float64), atol=0.05, rtol=0)
    assert kl_divergence(p.pdf(GRID), model.pdf(GRID).detach(), GRID) < 0.01


def test_history_is_the_average_log_likelihood_before_each_step():
    x = mixture_1d("gaussian").sample(500, generator=torch.Generator().manual_seed(2)).double()
    model = GaussianMixture(1, init=x)
    with torch.no_grad():
        before = model.log_prob(x).mean().item()
    hist = fit_mle(model, x, steps=3, lr=0.05, progress=False)
    assert list(hist) == ["log_likelihood"] and len(hist["log_likelihood"]) == 3
    assert hist["log_likelihood"][0] == pytest.approx(before, rel=1e-12, abs=1e-12)


def test_callback_gets_the_model_and_the_step_index_of_this_call():
    x = mixture_1d("gaussian").sample(200, generator=torch.Generator().manual_seed(0))
    model = GaussianMixture(1, init=x)
    trainer = MLETrainer(model, lr=0.05)
    seen = []
    trainer.fit(x, 4, progress=False, callback=lambda m, i: seen.append((m, i)))
    trainer.fit(x, 2, progress=False, callback=lambda m, i: seen.append((m, i)))
    assert [i for _, i in seen] == [0, 1, 2, 3, 0, 1]
    assert all(m is model for m, _ in seen)
    assert trainer.step == 6 and len(trainer.history["log_likelihood"]) == 6


def test_minibatches_are_drawn_with_the_given_generator():
    x = mixture_1d("bimodal").sample(1000, generator=torch.Generator().manual_seed(0))
    runs = []
    for seed in (0, 0, 1):
        model = GaussianMixture(2, init=x)
        gen = torch.Generator().manual_seed(seed)
        runs.append(fit_mle(model, x, steps=5, batch_size=64, generator=gen, progress=False))
    assert runs[0] == runs[1] and runs[0] != runs[2]
