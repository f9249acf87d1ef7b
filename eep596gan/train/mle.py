"""Maximum likelihood by gradient ascent (slide "Maximum Likelihood Estimation").

    theta* = argmax_theta E_{x ~ p_data} log p_model(x | theta)

Adam minimises the negative average log-likelihood of any explicit model with `log_prob`
(e.g. `models.GaussianMixture`), in `loop.Trainer`'s loop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..data import TensorSampler
from .loop import ModelTrainer

__all__ = ["MLETrainer", "fit_mle"]


class MLETrainer(ModelTrainer):
    """Gradient ascent on the average log-likelihood of `model` (Adam on its negative).

    Args:
        model: any module with `log_prob(x) -> (m,)`; lr: Adam's learning rate.
        generator: draws the minibatches (when `fit` is given a batch size); default: a
            generator seeded from torch's global RNG (so `seed_everything` fixes it), saved in
            checkpoints with the rest.
    """

    columns = ("log_likelihood",)
    desc = "MLE"

    def __init__(self, model: nn.Module, lr: float = 0.05, generator: torch.Generator | None = None,
                 device=None):
        device = device if device is not None else next(model.parameters()).device
        super().__init__(model, lr, device, generator)

    def fit(self, x: Tensor, steps: int, batch_size: int | None = None, progress: bool = True,
            callback: Callable[[nn.Module, int], None] | None = None) -> dict[str, list[float]]:
        """Take `steps` Adam steps on x (m, dim) or (m,): the whole set, or minibatches.

        Args:
            callback: optional fn(model, i) after each step i = 0, 1, ... of this call.
        Returns:
            history "log_likelihood": each step's batch average, before the step.
        """
        x = torch.as_tensor(x).to(self.device)
        whole = batch_size is None or batch_size >= len(x)
        sampler = None if whole else TensorSampler(x, generator=self.generator)

        def step() -> Tensor:
            batch = x if sampler is None else sampler(batch_size)
            avg_ll = self.model.log_prob(batch).mean()
            self.update(-avg_ll)  # ascent on the log-likelihood = descent on its negative
            return avg_ll.detach()[None]

        first = self.step
        callbacks = () if callback is None else (lambda t, s: callback(t.model, s - first - 1),)
        return self.run(steps, step, modules=(self.model,), progress=progress,
                        callbacks=callbacks, callback_every=1)


def fit_mle(model: nn.Module, x: Tensor, steps: int, lr: float = 0.05,
            batch_size: int | None = None, generator: torch.Generator | None = None,
            progress: bool = True, callback=None) -> dict[str, list[float]]:
    """`MLETrainer(model, lr, generator).fit(x, steps, batch_size, progress, callback)`."""
    trainer = MLETrainer(model, lr, generator)
    return trainer.fit(x, steps, batch_size, progress, callback)
