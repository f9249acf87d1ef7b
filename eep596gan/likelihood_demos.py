"""Explicit densities for the maximum-likelihood lecture: a Gaussian mixture and divergences.

`GaussianMixture` is an explicit model (slide "Unsupervised Learning in NN": explicit models
define p_model): it can evaluate log p_model(x | theta), so it can be fitted by maximum
likelihood, theta* = argmax_theta E_{x ~ p_data} log p_model(x | theta), with `fit_mle`.

`entropy`, `kl_divergence` and `js_divergence` integrate known 1-D densities on a grid
(trapezoid rule, float64). They make the identities of the lectures checkable:
E_{p_data} log p_model = -H(p_data) - KL(p_data || p_model)  (MLE minimises KL), and
V(D*, G) = -log 4 + 2 JSD(p_data || p_model)  (Goodfellow et al. 2014, Theorem 1).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = [
    "GaussianMixture",
    "gaussian_mle",
    "fit_mle",
    "entropy",
    "kl_divergence",
    "js_divergence",
]

_LOG_2PI = math.log(2 * math.pi)


def _points(x: Tensor, dim: int) -> Tensor:
    """`x` as (m, dim): a 1-D model also takes a flat (m,) tensor."""
    x = torch.as_tensor(x)
    if dim == 1 and x.dim() == 1:
        x = x[:, None]
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(f"x must have shape (m, {dim}) for this {dim}-D model; got {tuple(x.shape)}")
    return x


class GaussianMixture(nn.Module):
    """p(x) = sum_k pi_k N(x; mu_k, diag(sigma_k^2)), parameterised for unconstrained ascent.

    The weights are softmax(`logits`) and the standard deviations exp(`log_stds`), so any
    gradient step keeps a valid density.
    """

    def __init__(self, n_components: int, dim: int = 1, init: Tensor | None = None,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64):
        """Args:
        n_components: K, the number of Gaussians.
        dim: the dimension of x.
        init: data (m, dim) to start from: means at K of its points (evenly spaced quantiles
            of the first coordinate, so 1-D modes start spread out), stds at the data's std.
            Without it the means are drawn from N(0, 1).
        generator: for the random means when `init` is None.
        dtype: float64 by default: likelihoods are compared to closed forms.
        """
        super().__init__()
        if n_components < 1 or dim < 1:
            raise ValueError(f"need n_components >= 1 and dim >= 1; got {n_components}, {dim}")
        self.n_components, self.dim = int(n_components), int(dim)
        if init is None:
            means = torch.randn(n_components, dim, generator=generator, dtype=dtype)
            stds = torch.ones(n_components, dim, dtype=dtype)
        else:
            data = _points(init, dim).detach().to(dtype)
            order = data[:, 0].argsort()
            pick = ((torch.arange(n_components) + 0.5) * len(data) / n_components).long()
            means = data[order[pick]]  # (K, dim)
            stds = data.std(0, unbiased=False).clamp_min(1e-3).expand(n_components, dim)
        self.logits = nn.Parameter(torch.zeros(n_components, dtype=dtype))  # (K,)
        self.means = nn.Parameter(means.clone())  # (K, dim)
        self.log_stds = nn.Parameter(stds.log().clone())  # (K, dim)

    @classmethod
    def from_params(cls, weights, means, stds, trainable: bool = False) -> GaussianMixture:
        """A mixture with given weights (K,), means (K, dim) or (K,), stds (K, dim), (K,) or scalar.

        A known density by default (no gradients); `trainable=True` to fit it from there.
        """
        w = torch.as_tensor(weights, dtype=torch.float64)
        mu = torch.as_tensor(means, dtype=torch.float64)
        mu = mu[:, None] if mu.dim() == 1 else mu
        sd = torch.as_tensor(stds, dtype=torch.float64)
        sd = (sd[:, None] if sd.dim() == 1 else sd).expand_as(mu)
        if w.shape != (len(mu),) or (w <= 0).any() or (sd <= 0).any():
            raise ValueError("need one positive weight per mean and positive stds")
        model = cls(len(mu), mu.shape[1], init=mu)  # init only sets shapes; overwritten below
        with torch.no_grad():
            model.logits.copy_(w.log())
            model.means.copy_(mu)
            model.log_stds.copy_(sd.log())
        return model.requires_grad_(trainable)

    @property
    def weights(self) -> Tensor:
        """The mixture weights pi (K,), summing to 1."""
        return self.logits.softmax(0)

    @property
    def stds(self) -> Tensor:
        """The standard deviations sigma (K, dim)."""
        return self.log_stds.exp()

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) for x of shape (m, dim) (or (m,) when dim is 1): shape (m,)."""
        x = _points(x, self.dim).to(self.means.dtype)[:, None, :]  # (m, 1, dim)
        z = (x - self.means) / self.stds  # (m, K, dim)
        log_comp = -0.5 * (z.pow(2) + _LOG_2PI).sum(-1) - self.log_stds.sum(-1)  # (m, K)
        return torch.logsumexp(log_comp + self.logits.log_softmax(0), dim=1)  # (m,)

    def pdf(self, x: Tensor) -> Tensor:
        """p(x), shape (m,)."""
        return self.log_prob(x).exp()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw n samples (n, dim): pick a component by its weight, then add Gaussian noise."""
        which = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator, dtype=self.means.dtype)
        return self.means[which] + self.stds[which] * noise


def gaussian_mle(x: Tensor) -> tuple[Tensor, Tensor]:
    """The closed-form maximum-likelihood Gaussian: (mean (dim,), variance (dim,)), in float64.

    Setting the gradient of sum_i log N(x_i; mu, sigma^2) to zero gives mu = mean(x) and
    sigma^2 = mean((x - mu)^2): the variance divides by m, not m - 1.
    """
    x = torch.as_tensor(x).detach().to(torch.float64)
    x = x[:, None] if x.dim() == 1 else x.flatten(1)
    if len(x) < 1:
        raise ValueError("need at least one sample")
    mu = x.sum(0) / len(x)
    return mu, (x - mu).pow(2).sum(0) / len(x)


def fit_mle(model: nn.Module, x: Tensor, steps: int, lr: float = 0.05, batch_size: int | None = None,
            generator: torch.Generator | None = None, progress: bool = True,
            callback=None) -> dict[str, list[float]]:
    """Gradient ascent on the average log-likelihood (Adam minimising its negative).

    Args:
        model: any module with `log_prob(x) -> (m,)`, e.g. `GaussianMixture`.
        x: the data (m, dim) or (m,).
        steps: number of Adam steps.
        lr: Adam's learning rate.
        batch_size: minibatch size (default: the whole data set every step).
        generator: for drawing minibatches.
        progress: show a tqdm progress bar.
        callback: optional fn(model, step) called after each step.
    Returns:
        {"log_likelihood": [...]}: the average log-likelihood of each step's batch, before the step.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0; got {steps}")
    from tqdm.auto import trange

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.as_tensor(x)
    history: dict[str, list[float]] = {"log_likelihood": []}
    for step in trange(steps, disable=not progress, desc="MLE"):
        batch = x
        if batch_size is not None and batch_size < len(x):
            batch = x[torch.randint(len(x), (batch_size,), generator=generator)]
        avg_ll = model.log_prob(batch).mean()
        opt.zero_grad(set_to_none=True)
        (-avg_ll).backward()  # ascent on log-likelihood = descent on its negative
        opt.step()
        history["log_likelihood"].append(avg_ll.detach().item())
        if callback is not None:
            callback(model, step)
    return history


# ---------------------------------------------------------------------------- quadrature
def _densities(x: Tensor, *ps: Tensor) -> list[Tensor]:
    """Check a 1-D grid and densities on it; return the densities as float64."""
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.dim() != 1 or len(x) < 2 or not (x.diff() > 0).all():
        raise ValueError("x must be an increasing 1-D grid, e.g. torch.linspace(-8, 8, 4001)")
    out = []
    for p in ps:
        p = torch.as_tensor(p, dtype=torch.float64).reshape(-1)
        if p.shape != x.shape:
            raise ValueError(f"densities must be evaluated on the grid: shape {tuple(x.shape)}, got {tuple(p.shape)}")
        if (p < 0).any():
            raise ValueError("densities must be non-negative")
        out.append(p)
    return out


def _xlogy(p: Tensor, q: Tensor) -> Tensor:
    """p log q with 0 log 0 = 0."""
    return torch.xlogy(p, q)


def entropy(p: Tensor, x: Tensor) -> Tensor:
    """H(p) = -int p log p dx for a density p evaluated on the grid x (trapezoid rule)."""
    (p,) = _densities(x, p)
    return -torch.trapezoid(_xlogy(p, p), torch.as_tensor(x, dtype=torch.float64))


def kl_divergence(p: Tensor, q: Tensor, x: Tensor) -> Tensor:
    """KL(p || q) = int p log(p / q) dx on the grid x; inf where p > 0 = q."""
    p, q = _densities(x, p, q)
    x = torch.as_tensor(x, dtype=torch.float64)
    if ((p > 0) & (q == 0)).any():
        return torch.tensor(math.inf, dtype=torch.float64)
    return torch.trapezoid(_xlogy(p, p) - _xlogy(p, q), x)


def js_divergence(p: Tensor, q: Tensor, x: Tensor) -> Tensor:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2; between 0 and log 2."""
    p, q = _densities(x, p, q)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, x) + 0.5 * kl_divergence(q, m, x)
