"""Trainers for the likelihood-based models: the VAE (maximise the ELBO) and the autoregressive
models (maximise the exact log-likelihood, i.e. minimise the NLL).

Both know nothing of the model beyond a small protocol:
- VAE: `model.loss(x, generator=..., check=False) -> (loss, {"recon", "kl"})`, `model.check_input(x)`.
- autoregressive: `model.nll(batch) -> (m,)`; images also need `model.check_input(x)`, text needs
  `model.encode(text)` and `model.windows(ids)` (every context window of the text, as rows).

The fast path is the GAN trainer's: data lives on the device, batches are drawn by random index
with a seeded `torch.Generator`, step losses go into a preallocated device tensor and reach Python
only every `sync_every` steps, and Adam is fused where supported (`train.make_adam`).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .data import TensorSampler
from .device import get_device
from .train import atomic_save, make_adam

__all__ = ["VAETrainer", "ARTrainer"]


class _Trainer:
    """Device, seeded generator, optimizer, history, and the synced training loop they share."""

    columns: tuple[str, ...] = ()

    def __init__(self, model: nn.Module, lr: float, device, seed: int, sync_every: int):
        if not lr > 0:
            raise ValueError(f"lr must be positive; got {lr}")
        self.device = get_device(device)
        self.model = model.to(self.device)
        self.lr, self.seed, self.sync_every = float(lr), int(seed), max(1, int(sync_every))
        self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        self.optimizer = make_adam(self.model.parameters(), self.lr, (0.9, 0.999))
        self.history: dict[str, list[float]] = {name: [] for name in self.columns}
        self.step = 0

    def _loop(self, steps: int, step_fn, progress: bool) -> None:
        """Run step_fn `steps` times; each returns a detached (len(columns),) tensor of losses."""
        steps = int(steps)
        if steps < 0:
            raise ValueError(f"steps must be >= 0; got {steps}")
        dtype = next(self.model.parameters()).dtype
        buf = torch.empty(steps, len(self.columns), device=self.device, dtype=dtype)  # stays on device
        bar = tqdm(total=steps, disable=not progress, desc=type(self).__name__)
        was_training, done = self.model.training, 0
        self.model.train()
        try:
            for i in range(steps):
                buf[i] = step_fn()
                if (i + 1) % self.sync_every == 0 or i == steps - 1:
                    done = self._sync(buf[done : i + 1], bar, done)
        finally:
            bar.close()
            self.model.train(was_training)

    def _sync(self, rows: Tensor, bar, done: int) -> int:
        """Copy a block of step losses to the history; stop at the first NaN."""
        values = rows.tolist()
        for j, row in enumerate(values):
            if not all(math.isfinite(v) for v in row):
                bad = self.step + j + 1
                raise FloatingPointError(
                    f"{self.columns[0]} became {row[0]} at step {bad} (lr={self.lr}): the model "
                    f"diverged; rebuild it and train with a lower learning rate, e.g. lr={self.lr / 10:g}"
                )
            self._record(row)
        self.step += len(values)
        bar.update(len(values))
        bar.set_postfix({self.columns[0]: f"{values[-1][0]:.4g}"})
        return done + len(values)

    def _record(self, row: list[float]) -> None:
        for name, v in zip(self.columns, row):
            self.history[name].append(v)

    def save(self, path) -> None:
        """Write model, optimizer, step, history and RNG state to `path` atomically (resumable)."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "history": self.history,
            "generator": self.generator.get_state(),
        }
        atomic_save(state, path)

    def load(self, path) -> None:
        """Restore what `save` wrote; training then continues exactly where it stopped."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.history = int(state["step"]), state["history"]
        self.generator.set_state(state["generator"].cpu())

    def _update(self, loss: Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()


class VAETrainer(_Trainer):
    """Minimises the negative ELBO of a VAE with Adam on minibatches drawn from device-resident data.

    Args:
        model: a `VAE` (anything with `loss(x, generator, check)` and `check_input(x)`).
        lr: Adam's learning rate.
        device: where to train; default `get_device()`.
        seed: seeds the minibatch indices and the reparameterization noise.
        sync_every: how many steps between host syncs (losses reach the history in blocks).
    """

    columns = ("loss", "recon", "kl", "elbo")

    def __init__(self, model: nn.Module, lr: float = 1e-3, device=None, seed: int = 0, sync_every: int = 50):
        super().__init__(model, lr, device, seed, sync_every)

    def fit(self, x: Tensor, steps: int, batch_size: int = 128, progress: bool = True) -> dict[str, list[float]]:
        """Train for `steps` Adam steps on minibatches of x (images in [-1, 1]).

        Returns:
            the history, one entry per step (accumulates over calls): "loss" (negative ELBO,
            nats per image), "recon", "kl", "elbo" (= -loss).
        """
        x = x.to(self.device)
        self.model.check_input(x)
        sampler = TensorSampler(x, generator=self.generator)

        def step() -> Tensor:
            # maximise ELBO = E_q log p(x|z) - KL(q(z|x) || p(z)): minimise its negative
            loss, parts = self.model.loss(sampler(batch_size), generator=self.generator, check=False)
            self._update(loss)
            return torch.stack([loss, parts["recon"], parts["kl"], -loss]).detach()

        self._loop(steps, step, progress)
        return self.history


class ARTrainer(_Trainer):
    """Minimises the exact negative log-likelihood of an autoregressive model (PixelAR, CharLM).

    Args:
        model: a `PixelAR` or `CharLM` (anything with `nll(batch) -> (m,)`; see the module docstring).
        lr: Adam's learning rate.
        device: where to train; default `get_device()`.
        seed: seeds the minibatch indices.
        sync_every: how many steps between host syncs.
    """

    columns = ("nll",)

    def __init__(self, model: nn.Module, lr: float = 1e-3, device=None, seed: int = 0, sync_every: int = 50):
        super().__init__(model, lr, device, seed, sync_every)

    def _rows(self, data) -> Tensor:
        """The rows to sample from: binary images as given, or every context window of a text."""
        if isinstance(data, str):
            data = self.model.encode(data)
        if not isinstance(data, Tensor):
            raise TypeError(f"data must be a tensor of binary images, a str, or encoded ids; got {type(data).__name__}")
        data = data.to(self.device)
        if data.is_floating_point():
            self.model.check_input(data)
            return data
        if data.dim() != 1 or not hasattr(self.model, "windows"):
            raise ValueError(
                f"integer data must be a 1-D tensor of token ids for a text model; got shape "
                f"{tuple(data.shape)} for {type(self.model).__name__}. Pass images as floats in {{0, 1}}"
            )
        if len(data) == 0 or data.min() < 0 or data.max() > self.model.bos:
            raise ValueError(f"token ids must be non-empty and lie in [0, {self.model.bos}]: use model.encode(text)")
        return self.model.windows(data)  # (n, context + 1), a view: no copy

    def fit(self, data, steps: int, batch_size: int = 128, progress: bool = True) -> dict[str, list[float]]:
        """Train for `steps` Adam steps on random rows of `data`.

        Args:
            data: binarized images (N, *in_shape) in {0, 1} for PixelAR; a str (or the ids from
                `model.encode`) for CharLM, from which random windows are drawn.
            steps: number of Adam steps.
            batch_size: images, or windows (one predicted character each), per step.
        Returns:
            the history: "nll", mean nats per image (PixelAR) or per character (CharLM), one per step.
        """
        sampler = TensorSampler(self._rows(data), generator=self.generator)

        def step() -> Tensor:
            # maximise log p(x) = sum_i log p(x_i | x_<i): minimise the mean NLL
            loss = self.model.nll(sampler(batch_size)).mean()
            self._update(loss)
            return loss.detach()[None]

        self._loop(steps, step, progress)
        return self.history
