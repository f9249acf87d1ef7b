"""The one training loop behind every trainer in the package, and what they all need.

A trainer subclasses `Trainer`, names its `columns` (the statistics of one step) and hands
`Trainer.run` a step function that does one update and returns those statistics as a (columns,)
tensor on the device. The loop gives every trainer the same fast path and the same guarantees:

- a device-resident buffer of per-step statistics, copied to the host only every `log_every`
  steps (a lazy sync: no `.item()` per step, which on a GPU would wait for every kernel);
- a stop at the first NaN or inf that names the step, the statistic and what to do;
- callbacks `fn(trainer, step)` every `callback_every` steps and at the end;
- checkpoints written atomically (`atomic_save`) every `checkpoint_every` steps and at the end,
  and `load` to resume bit for bit (the subclass's `state_dict` holds weights, optimizers and
  RNG states).

`make_adam` is the optimizer every trainer uses: torch's fused Adam where the device supports it,
else the foreach implementation (the same update).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..device import get_device

__all__ = ["Trainer", "ModelTrainer", "Callback", "make_adam", "atomic_save", "check_steps"]

Callback = Callable[["Trainer", int], None]


def make_adam(params, lr: float, betas=(0.9, 0.999)) -> torch.optim.Adam:
    """`torch.optim.Adam(fused=True)` where this torch and device support it, else foreach."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or dtype
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def atomic_save(obj, path: str | os.PathLike) -> None:
    """torch.save to a temporary file in the same folder, then rename: a kill leaves the old
    file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_steps(steps, batch_size) -> None:
    """Refuse a step count or batch size that is not a whole number in range."""
    if int(steps) != steps or steps < 0 or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError("steps must be an int >= 0 and batch_size an int >= 1; "
                         f"got {steps}, {batch_size}")


class Trainer:
    """Device, step counter, history, checkpoints, and the loop that runs a step function.

    Subclasses set `columns` and `desc`, keep `self.lr` (named in the NaN message), and
    implement `state_dict()` / `load_state_dict(state)` for what they own; `step` and
    `history` are saved and restored here.
    """

    columns: tuple[str, ...] = ()
    desc = "training"

    def __init__(self, device=None, lr: float = 1e-3):
        if not lr > 0 or not math.isfinite(lr):
            raise ValueError(f"lr must be a positive number, got {lr}")
        self.device = get_device(device)
        self.lr = float(lr)
        self.step = 0
        self.history: dict[str, list[float]] = {name: [] for name in self.columns}

    # ------------------------------------------------------------------ the loop
    def run(self, steps: int, step_fn: Callable[[], Tensor], *, modules: Sequence[nn.Module] = (),
            progress: bool = True, callbacks: Sequence[Callback] = (), callback_every: int = 100,
            checkpoint_path: str | os.PathLike | None = None, checkpoint_every: int | None = None,
            log_every: int | None = None) -> dict[str, list[float]]:
        """Call `step_fn` `steps` times; each call returns this step's (len(columns),) statistics.

        Args:
            modules: put in train mode for the run, and back in their previous mode after it.
            progress: a tqdm bar with the latest statistics.
            callbacks: `fn(trainer, step)` every `callback_every` steps (of `self.step`) and at
                the end; the history is synced before they run.
            checkpoint_path, checkpoint_every: `save` every N steps and at the end.
            log_every: steps between host syncs (progress, NaN check); default 1% of steps,
                10 to 50.
        Returns:
            `self.history`, one entry per step in each column (accumulates over calls).
        """
        if int(steps) != steps or steps < 0:
            raise ValueError(f"steps must be an int >= 0; got {steps}")
        if callbacks and (int(callback_every) != callback_every or callback_every < 1):
            raise ValueError(f"callback_every must be an int >= 1; got {callback_every}")
        steps = int(steps)
        if steps == 0:
            return self.history
        log_every = max(1, int(log_every or max(10, min(50, steps // 100))))
        bar = tqdm(total=steps, disable=not progress, desc=self.desc, dynamic_ncols=True)
        modes = [m.training for m in modules]
        for m in modules:
            m.train()
        buf: Tensor | None = None  # (steps, columns) on the device, synced lazily
        synced = 0
        try:
            for i in range(steps):
                row = step_fn()
                if buf is None:  # the statistics' dtype: float64 for a float64 model
                    buf = torch.empty(steps, len(self.columns), device=row.device, dtype=row.dtype)
                buf[i] = row
                self.step += 1
                done = i + 1
                due_cb = bool(callbacks) and (self.step % callback_every == 0 or done == steps)
                due_ckpt = checkpoint_path is not None and (
                    done == steps or bool(checkpoint_every) and self.step % checkpoint_every == 0)
                if done % log_every == 0 or done == steps or due_cb or due_ckpt:
                    self._sync(buf[synced:done], self.step - (done - synced), bar, progress)
                    synced = done
                if due_ckpt:
                    self.save(checkpoint_path)
                if due_cb:
                    for cb in callbacks:
                        cb(self, self.step)
        finally:
            bar.close()
            for m, mode in zip(modules, modes):
                m.train(mode)
        return self.history

    def _sync(self, rows: Tensor, first_step: int, bar, progress: bool) -> None:
        """Copy a block of step statistics to the history; stop at the first NaN or inf.

        At a stop, the history keeps the steps before the bad one and `step` counts just those
        (the weights have moved on: the message says to rebuild the model).
        """
        values = rows.cpu().tolist()
        for j, row in enumerate(values):
            bad = [k for k, v in enumerate(row) if not math.isfinite(v)]
            if bad:
                self.step = first_step + j
                stats = ", ".join(f"{c}={v:.4g}" for c, v in zip(self.columns, row))
                raise FloatingPointError(
                    f"{self.columns[bad[0]]} became {row[bad[0]]} at step {self.step + 1} "
                    f"(lr={self.lr:g}; {stats}): training stopped. The model diverged: rebuild it "
                    f"and train with a lower learning rate, e.g. lr={self.lr / 10:g}, or check "
                    "the data for NaN")
            for name, v in zip(self.columns, row):
                self.history[name].append(v)
        bar.update(len(values))
        if progress:
            bar.set_postfix({c: f"{v:.4g}" for c, v in zip(self.columns, values[-1])},
                            refresh=False)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """What the subclass owns: weights, optimizers, RNG states (step and history added here)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned."""
        raise NotImplementedError

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint atomically (a kill during the save leaves the previous file
        intact).
        """
        state = self.state_dict()
        state["step"] = self.step
        state["history"] = {k: list(v) for k, v in self.history.items()}
        atomic_save(state, path)

    def load(self, path: str | os.PathLike):
        """Restore a checkpoint written by `save`; training then continues exactly; returns self."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}: train with checkpoint_path= "
                                    "(or call save) first")
        state = torch.load(path, map_location=self.device, weights_only=True)
        self.load_state_dict(state)
        self.step = int(state["step"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        return self


class ModelTrainer(Trainer):
    """One model, one Adam, one generator for the batches (saved with them): a likelihood trainer.

    Args:
        model: the module to train (moved to `device`); lr: Adam's learning rate.
        device: default `get_device()`.
        generator: draws the batches (and any noise); default: a new one seeded with `seed`, or,
            without a seed, from torch's global RNG (so `seed_everything` fixes it).
    """

    def __init__(self, model: nn.Module, lr: float, device=None,
                 generator: torch.Generator | None = None, seed: int | None = None):
        super().__init__(device, lr)
        self.model = model.to(self.device)
        if generator is None:
            seed = int(torch.randint(2**62, (), dtype=torch.int64)) if seed is None else int(seed)
            generator = torch.Generator(device=self.device).manual_seed(seed)
        self.generator = generator
        self.optimizer = make_adam(self.model.parameters(), self.lr)

    def update(self, loss: Tensor) -> None:
        """One Adam step that minimises `loss`."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def state_dict(self) -> dict:
        """Model, optimizer and the batch generator's state (step and history added by `save`)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())
