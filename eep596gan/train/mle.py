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
from .loop import Trainer, make_adam

__all__ = ["MLETrainer", "fit_mle"]


class MLETrainer(Trainer):
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
        super().__init__(device, lr)
        self.model = model.to(self.device)
        if generator is None:
            seed = int(torch.randint(2**62, (), dtype=torch.int64))
            generator = torch.Generator(device=self.device).manual_seed(seed)
        self.generator = generator
        self.optimizer = make_adam(self.model.parameters(), self.lr)

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
            self.optimizer.zero_grad(set_to_none=True)
            (-avg_ll).backward()  # ascent on the log-likelihood = descent on its negative
            self.optimizer.step()
            return avg_ll.detach()[None]

        first = self.step
        callbacks = () if callback is None else (lambda t, s: callback(t.model, s - first - 1),)
        return self.run(steps, step, modules=(self.model,), progress=progress,
                        callbacks=callbacks, callback_every=1)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())


def fit_mle(model: nn.Module, x: Tensor, steps: int, lr: float = 0.05,
            batch_size: int | None = None, generator: torch.Generator | None = None,
            progress: bool = True, callback=None) -> dict[str, list[float]]:
    """`MLETrainer(model, lr, generator).fit(x, steps, batch_size, progress, callback)`."""
    trainer = MLETrainer(model, lr, generator)
    return trainer.fit(x, steps, batch_size, progress, callback)
