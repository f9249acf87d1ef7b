"""Trainers for the likelihood-based models: the VAE (maximise the ELBO) and the autoregressive
models (maximise the exact log-likelihood, i.e. minimise the NLL).

Both know nothing of the model beyond a small protocol:
- VAE: what `losses.vae_loss` needs (`encode`, `reparameterize`, `decode`), `model.check_input(x)`.
- autoregressive: `model.nll(batch) -> (m,)`; images also need `model.check_input(x)`, text needs
  `model.encode(text)` and `model.windows(ids)` (every context window of the text, as rows).

The loop is `loop.Trainer`'s, as for the GAN: data lives on the device, batches are drawn by
random index with a seeded `torch.Generator`, step losses stay on the device and reach Python
only every `sync_every` steps, a NaN stops training at its step, and `save`/`load` resume exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..data import TensorSampler
from ..losses import vae_loss
from .loop import ModelTrainer

__all__ = ["VAETrainer", "ARTrainer"]


class _LikelihoodTrainer(ModelTrainer):
    """A `ModelTrainer` seeded by `seed` that syncs to the host every `sync_every` steps."""

    def __init__(self, model: nn.Module, lr: float, device, seed: int, sync_every: int):
        super().__init__(model, lr, device, seed=int(seed))
        self.seed, self.sync_every = int(seed), max(1, int(sync_every))
        self.desc = type(self).__name__

    def _fit(self, step_fn, steps: int, progress: bool, loop: dict) -> dict[str, list[float]]:
        loop.setdefault("log_every", self.sync_every)
        return self.run(steps, step_fn, modules=(self.model,), progress=progress, **loop)


class VAETrainer(_LikelihoodTrainer):
    """Minimises the negative ELBO of a VAE with Adam on minibatches drawn from device-resident
    data.

    Args:
        model: a `VAE` (anything `losses.vae_loss` takes, with `check_input(x)`).
        lr: Adam's learning rate.
        device: where to train; default `get_device()`.
        seed: seeds the minibatch indices and the reparameterization noise.
        sync_every: how many steps between host syncs (losses reach the history in blocks).
    """

    columns = ("loss", "recon", "kl", "elbo")

    def __init__(self, model: nn.Module, lr: float = 1e-3, device=None, seed: int = 0,
                 sync_every: int = 50):
        super().__init__(model, lr, device, seed, sync_every)

    def fit(self, x: Tensor, steps: int, batch_size: int = 128,
            progress: bool = True, **loop) -> dict[str, list[float]]:
        """Train for `steps` Adam steps on minibatches of x (images in [-1, 1]).

        Keyword arguments `loop` (callbacks, callback_every, checkpoint_path, checkpoint_every,
        log_every) go to `Trainer.run`.

        Returns:
            the history, one entry per step (accumulates over calls): "loss" (negative ELBO,
            nats per image), "recon", "kl", "elbo" (= -loss).
        """
        x = x.to(self.device)
        self.model.check_input(x)
        sampler = TensorSampler(x, generator=self.generator)

        def step() -> Tensor:
            # maximise ELBO = E_q log p(x|z) - KL(q(z|x) || p(z)): minimise its negative
            batch = sampler(batch_size)
            loss, parts = vae_loss(self.model, batch, generator=self.generator, check=False)
            self.update(loss)
            return torch.stack([loss, parts["recon"], parts["kl"], -loss]).detach()

        return self._fit(step, steps, progress, loop)


class ARTrainer(_LikelihoodTrainer):
    """Minimises the exact negative log-likelihood of an autoregressive model (PixelAR, CharLM).

    Args:
        model: a `PixelAR` or `CharLM` (anything with `nll(batch) -> (m,)`; see the module
            docstring).
        lr: Adam's learning rate.
        device: where to train; default `get_device()`.
        seed: seeds the minibatch indices.
        sync_every: how many steps between host syncs.
    """

    columns = ("nll",)

    def __init__(self, model: nn.Module, lr: float = 1e-3, device=None, seed: int = 0,
                 sync_every: int = 50):
        super().__init__(model, lr, device, seed, sync_every)

    def _rows(self, data) -> Tensor:
        """The rows to sample from: binary images as given, or every context window of a text."""
        if isinstance(data, str):
            data = self.model.encode(data)
        if not isinstance(data, Tensor):
            raise TypeError("data must be a tensor of binary images, a str, or encoded ids; "
                            f"got {type(data).__name__}")
        data = data.to(self.device)
        if data.is_floating_point():
            self.model.check_input(data)
            return data
        if data.dim() != 1 or not hasattr(self.model, "windows"):
            raise ValueError(
                f"integer data must be a 1-D tensor of token ids for a text model; got shape "
                f"{tuple(data.shape)} for {type(self.model).__name__}. "
                "Pass images as floats in {0, 1}"
            )
        if len(data) == 0 or data.min() < 0 or data.max() > self.model.bos:
            raise ValueError(f"token ids must be non-empty and lie in [0, {self.model.bos}]: "
                             "use model.encode(text)")
        return self.model.windows(data)  # (n, context + 1), a view: no copy

    def fit(self, data, steps: int, batch_size: int = 128,
            progress: bool = True, **loop) -> dict[str, list[float]]:
        """Train for `steps` Adam steps on random rows of `data`.

        Args:
            data: binarized images (N, *in_shape) in {0, 1} for PixelAR; a str (or the ids from
                `model.encode`) for CharLM, from which random windows are drawn.
            steps: number of Adam steps.
            batch_size: images, or windows (one predicted character each), per step.
            loop: callbacks, callback_every, checkpoint_path, checkpoint_every, log_every: as
                in `Trainer.run`.
        Returns:
            the history: "nll", mean nats per image (PixelAR) or per character (CharLM), one
            per step.
        """
        sampler = TensorSampler(self._rows(data), generator=self.generator)

        def step() -> Tensor:
            # maximise log p(x) = sum_i log p(x_i | x_<i): minimise the mean NLL
            loss = self.model.nll(sampler(batch_size)).mean()
            self.update(loss)
            return loss.detach()[None]

        return self._fit(step, steps, progress, loop)
