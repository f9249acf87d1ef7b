"""An explicit density for the maximum-likelihood lecture: a Gaussian mixture.

`GaussianMixture` is an explicit model (slide "Unsupervised Learning in NN": explicit models
define p_model): it can evaluate log p_model(x | theta), so it can be fitted by maximum
likelihood, theta* = argmax_theta E_{x ~ p_data} log p_model(x | theta), with
`eep596gan.train.fit_mle`; `gaussian_mle` is the closed form for one Gaussian.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["GaussianMixture", "gaussian_mle"]

_LOG_2PI = math.log(2 * math.pi)


def _points(x: Tensor, dim: int) -> Tensor:
    """`x` as (m, dim): a 1-D model also takes a flat (m,) tensor."""
    x = torch.as_tensor(x)
    if dim == 1 and x.dim() == 1:
        x = x[:, None]
    if x.dim() != 2 or x.shape[1] != dim:
        raise ValueError(f"x must have shape (m, {dim}) for this {dim}-D model; "
                         f"got {tuple(x.shape)}")
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
