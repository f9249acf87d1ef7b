"""The GAN training algorithm of the lecture (Goodfellow et al. 2014, Algorithm 1), on a fast path.

    for each training step:
        for k steps:  sample m noise z and m real x;  (1) update D: minimise J^(D)
        sample m noise z;                              (2) update G: minimise J^(G)

`d_step` and `g_step` are the two updates; `GANTrainer` runs them with batches drawn by index
from device-resident tensors, losses kept on the device (synced only when logged), fused Adam,
one G forward per step (G's step reuses the last D step's G(z), as the PyTorch DCGAN tutorial
does; `reuse_fake=False` draws fresh noise as printed above), optional bf16 autocast,
channels_last and torch.compile, atomic checkpoints and exact resume.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from tqdm.auto import tqdm

from .data import TensorSampler
from .device import get_device, native_bf16
from .losses import GAN_LOSSES, gradient_penalty, unchecked

__all__ = ["GANConfig", "GANTrainer", "d_step", "g_step", "SampleSnapshots", "make_adam", "LeanAdam", "atomic_save"]

Callback = Callable[["GANTrainer", int], None]
_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake")


@dataclass(frozen=True)
class GANConfig:
    """Hyperparameters of one GAN run."""

    latent_dim: int  # size of the noise vector z
    k: int = 1  # discriminator steps per generator step (the slide's k)
    lr: float = 2e-4  # Adam learning rate for both players
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas (DCGAN's 0.5 damps oscillation)
    loss: str = "nonsaturating"  # a key of eep596gan.losses.GAN_LOSSES
    gp_weight: float = 10.0  # gradient-penalty weight, used by loss="wgan-gp" only
    seed: int = 0  # seeds noise, batch indices and fixed_z
    # Measured on an H100 (benchmarks/RESULTS.md): course-sized GANs are launch-bound, and bf16,
    # NHWC and torch.compile each made a 28x28 DCGAN step slower, so all three are opt-in.
    amp: bool = False  # bf16 autocast of the forward passes (CUDA, or a CPU with native bf16)
    channels_last: bool = False  # NHWC memory format for conv nets
    decay_steps: int | None = None  # lr decays linearly to 0 at this step; None = constant lr
    compile: bool | str = False  # torch.compile G and D: True, an inductor mode, or a backend name
    reuse_fake: bool = True  # G's step reuses the last D step's G(z) (as the DCGAN tutorial); False = fresh z


class LeanAdam(torch.optim.Adam):
    """`torch.optim.Adam(fused=True)` whose `step()` calls the fused kernel directly.

    Same update, same state and `state_dict` as Adam (checkpoints load in either), bit for bit
    (tests/test_train.py). What it drops is Adam.step's Python around the kernel (re-collecting
    the state lists, grouping tensors by device and dtype, option checks): ~45 us per call on a
    CPU, where at course sizes the kernel itself takes ~100 us. Step hooks still run (Optimizer's
    wrapper calls them). Anything the short path does not cover (amsgrad, maximize, decoupled
    weight decay, a tensor lr, GradScaler's grad_scale/found_inf, sparse grads, a group that mixes
    devices or dtypes, a torch without the kernel) goes through Adam's own step.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), **kwargs):
        super().__init__(params, lr=lr, betas=betas, fused=True, **kwargs)  # raises where fused is unsupported

    def _lean(self, group: dict, params: list[Tensor]) -> bool:
        if (group["amsgrad"] or group["maximize"] or group["differentiable"] or group.get("decoupled_weight_decay")
                or isinstance(group["lr"], Tensor) or getattr(self, "grad_scale", None) is not None
                or getattr(self, "found_inf", None) is not None or not hasattr(torch, "_fused_adam_")):
            return False
        p0 = params[0]
        return all(p.device == p0.device and p.dtype == p0.dtype == p.grad.dtype and p.grad.layout == torch.strided
                   for p in params)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:  # first: the closure may be what makes the gradients
            with torch.enable_grad():
                loss = closure()
        groups = [(g, [p for p in g["params"] if p.grad is not None]) for g in self.param_groups]
        if not all(self._lean(g, ps) for g, ps in groups if ps):
            adam_step = torch.optim.Adam.step  # unwrapped: the hooks already ran around this call
            adam_step = adam_step.__wrapped__ if getattr(adam_step, "hooked", False) else adam_step
            adam_step(self)
            return loss
        for group, params in groups:
            if not params:
                continue
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if not state:  # as Adam._init_group does for fused=True
                    state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            steps = [s["step"] for s in states]
            torch._foreach_add_(steps, 1)
            beta1, beta2 = group["betas"]
            torch._fused_adam_(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                               [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False, lr=group["lr"],
                               beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                               maximize=False)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        if not set_to_none:
            return super().zero_grad(set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None


def make_adam(params, lr: float, betas) -> torch.optim.Adam:
    """Adam, fused where this torch and device support it (`LeanAdam`), else foreach."""
    params = list(params)
    try:
        return LeanAdam(params, lr=lr, betas=betas)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def _call(model: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
    return model(x) if y is None else model(x, y)


def d_step(generator, discriminator, d_optimizer, x_real, z, *, d_loss_fn, y_real=None,
           y_fake=None, gp_weight=0.0, rng=None, concat=False, x_fake=None):
    """(1) Update D: minimise J^(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z))), i.e. maximise V.

    G is held fixed: x_fake is made without a graph (or, when the caller passes an `x_fake` it
    made itself, e.g. to reuse in `g_step`, detached here), so no gradient reaches G.
    Returns (loss, real_logits, fake_logits), detached.
    """
    if x_fake is None:
        with torch.no_grad():
            x_fake = _call(generator, z, y_fake)  # (m, *shape), no graph
    else:
        x_fake = x_fake.detach()
    if concat and len(x_real) == len(x_fake):  # one forward: same result when D has no batch norm
        y = None if y_real is None else torch.cat([y_real, y_fake])
        logits = _call(discriminator, torch.cat([x_real, x_fake]), y).float()
        real_logits, fake_logits = logits.chunk(2)  # equal halves (PacGAN: m / pack rows each)
    else:
        real_logits = _call(discriminator, x_real, y_real).float()  # (m, 1)
        fake_logits = _call(discriminator, x_fake, y_fake).float()  # (m, 1)
    loss = d_loss_fn(real_logits, fake_logits)
    if gp_weight:
        loss = loss + gp_weight * gradient_penalty(discriminator, x_real, x_fake, rng, y_real)
    d_optimizer.zero_grad(set_to_none=True)
    loss.backward()
    d_optimizer.step()
    return loss.detach(), real_logits.detach(), fake_logits.detach()


def g_step(generator, discriminator, g_optimizer, z, *, g_loss_fn, y_fake=None, g_params=None,
           x_fake=None):
    """(2) Update G: minimise J^(G) (non-saturating: -1/2 E log D(G(z))) with D held fixed.

    Gradients flow through D to G, but only G's parameters receive them (backward(inputs=...)).
    `x_fake`: G(z) already made with its graph (the trainer reuses the last D step's); else G(z) here.
    Returns (loss, fake_logits), detached.
    """
    g_params = list(generator.parameters()) if g_params is None else g_params
    if x_fake is None:
        x_fake = _call(generator, z, y_fake)  # (m, *shape), with a graph back to G
    fake_logits = _call(discriminator, x_fake, y_fake).float()  # (m, 1)
    loss = g_loss_fn(fake_logits)
    g_optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=g_params)
    g_optimizer.step()
    return loss.detach(), fake_logits.detach()


def atomic_save(obj, path: str | os.PathLike) -> None:
    """torch.save to a temporary file in the same folder, then rename: a kill leaves the old file."""
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


class SampleSnapshots:
    """Callback keeping (step, G(fixed_z)) on the CPU, for sample grids and animations."""

    def __init__(self):
        self.snapshots: list[tuple[int, Tensor]] = []

    def __call__(self, trainer: GANTrainer, step: int) -> None:
        self.snapshots.append((step, trainer.sample().cpu()))


class GANTrainer:
    """Trains `generator` against `discriminator` with the slide's k-step algorithm.

    Args:
        generator, discriminator: modules; G(z[, y]) -> samples, D(x[, y]) -> logits (m, 1).
        latent_dim, k, lr, betas, loss, gp_weight, seed, amp, channels_last, decay_steps, compile,
            reuse_fake: see `GANConfig`.
        device: training device (default: `get_device()`).
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, *, latent_dim: int, k: int = 1,
                 lr: float = 2e-4, betas=(0.5, 0.999), loss: str = "nonsaturating", device=None,
                 seed: int = 0, gp_weight: float = 10.0, amp: bool = False,
                 channels_last: bool = False, decay_steps: int | None = None,
                 compile: bool | str = False, reuse_fake: bool = True):
        if loss not in GAN_LOSSES:
            raise ValueError(f"unknown loss {loss!r}; valid names are: {', '.join(GAN_LOSSES)}")
        if int(k) != k or k < 1:
            raise ValueError(f"k (discriminator steps per generator step) must be an int >= 1, got {k}")
        if not lr > 0 or not math.isfinite(lr):
            raise ValueError(f"lr must be a positive number, got {lr}")
        self.device = get_device(device)
        if amp and self.device.type in ("cpu", "cuda") and not native_bf16(self.device):
            warnings.warn(f"amp=True: {self.device.type} here has no native bfloat16 arithmetic, so bf16 autocast "
                          "is emulated and usually slower than float32; leave amp=False on this machine",
                          stacklevel=2)
        self.config = GANConfig(int(latent_dim), int(k), float(lr), tuple(betas), loss, float(gp_weight),
                                int(seed), bool(amp), bool(channels_last),
                                None if decay_steps is None else int(decay_steps), compile,
                                bool(reuse_fake))
        fmt = torch.channels_last if self.config.channels_last else torch.preserve_format
        self.generator = generator.to(self.device, memory_format=fmt)
        self.discriminator = discriminator.to(self.device, memory_format=fmt)
        self.g_params = list(self.generator.parameters())
        # the updates call these: compiled wrappers that share the modules' parameters, or the modules
        self._g, self._d = self.generator, self.discriminator
        if compile:
            if compile == "reduce-overhead":  # CUDA graphs: each replay overwrites the last output
                raise ValueError("compile='reduce-overhead' (CUDA graphs) overwrites D(x_real) with "
                                 "D(x_fake) inside one GAN step; use compile=True or 'max-autotune'")
            if compile in ("default", "max-autotune"):  # inductor modes
                opts = {"mode": compile}
            else:
                opts = {"backend": "inductor" if compile is True else compile}
            self._g = torch.compile(self.generator, dynamic=False, **opts)
            self._d = torch.compile(self.discriminator, dynamic=False, **opts)
        self.g_optimizer = make_adam(self.g_params, lr, betas)
        self.d_optimizer = make_adam(self.discriminator.parameters(), lr, betas)
        self.d_loss_fn, self.g_loss_fn = GAN_LOSSES[loss]
        self.num_classes = getattr(generator, "num_classes", None)
        # one generator for noise, batch indices and fake labels: saving it makes resume exact
        self.rng = torch.Generator(device=self.device).manual_seed(self.config.seed)
        fixed = torch.Generator().manual_seed(self.config.seed + 1)
        self.fixed_z = torch.randn(64, self.config.latent_dim, generator=fixed).to(self.device)
        self.fixed_y = (torch.arange(64) % self.num_classes).to(self.device) if self.num_classes else None
        self._concat = not any(isinstance(m, _BatchNorm) for m in self.discriminator.modules())
        self.step = 0
        self.history: dict[str, list[float]] = {c: [] for c in _COLUMNS}
        self._sampler: TensorSampler | None = None
        self._source: tuple | None = None

    # ------------------------------------------------------------------ sampling
    def _autocast(self):
        if not self.config.amp:  # a disabled autocast still costs its enter/exit every step
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def noise(self, m: int) -> Tensor:
        """Fresh noise z ~ N(0, I), shape (m, latent_dim), from the trainer's generator."""
        return torch.randn(m, self.config.latent_dim, device=self.device, generator=self.rng)

    def _labels(self, m: int) -> Tensor | None:
        if not self.num_classes:
            return None
        return torch.randint(self.num_classes, (m,), device=self.device, generator=self.rng)

    @torch.no_grad()
    def sample(self, n: int | None = None, y: Tensor | None = None, z: Tensor | None = None) -> Tensor:
        """G(z) in eval mode: `z` if given, else the first `n` of `fixed_z` (n > 64: fresh noise)."""
        if z is None:
            n = len(self.fixed_z) if n is None else n
            z = self.fixed_z[:n] if n <= len(self.fixed_z) else torch.randn(n, self.config.latent_dim, device=self.device)
        z = z.to(self.device)
        if self.num_classes and y is None:
            y = self.fixed_y[: len(z)] if len(z) <= len(self.fixed_y) else torch.arange(len(z), device=self.device) % self.num_classes
        was_training = self.generator.training
        self.generator.eval()
        try:
            with self._autocast():
                return _call(self.generator, z, None if y is None else y.to(self.device)).float()
        finally:
            self.generator.train(was_training)

    # ------------------------------------------------------------------ training
    def _prepare(self, x: Tensor, y: Tensor | None) -> TensorSampler:
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 2 or len(x) == 0:
            raise ValueError("x must be a non-empty float tensor of samples (N, ...), e.g. from load_images()")
        if self.num_classes and y is None:
            raise ValueError(f"the generator is conditional ({self.num_classes} classes): pass labels y to fit()")
        if y is not None and not self.num_classes:
            raise ValueError("labels y were given but the generator is unconditional: build it with num_classes")
        if self._source is not None and x is self._source[0] and y is self._source[1]:
            return self._sampler  # same tensors as the last fit(): already on the device
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or inf: clean the data before training")
        probe = self.sample(z=self.fixed_z[:2])
        if probe.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"the data has shape {tuple(x.shape[1:])} but the generator makes {tuple(probe.shape[1:])}:"
                " build the generator (and discriminator) for the data's shape"
            )
        fmt = torch.channels_last if self.config.channels_last and x.dim() == 4 else torch.contiguous_format
        tensors = (x.to(self.device, memory_format=fmt),) + (() if y is None else (y.to(self.device),))
        self._sampler = TensorSampler(*tensors, generator=self.rng)
        self._source = (x, y)
        return self._sampler

    def _one_step(self, sampler: TensorSampler, m: int) -> Tensor:
        """k D steps and one G step; returns (4,) on device: d_loss (mean of k), g_loss, D(x), D(G(z))."""
        cfg = self.config
        if cfg.decay_steps:  # a function of the step alone, so resume stays exact
            lr = cfg.lr * max(0.0, 1.0 - self.step / cfg.decay_steps)
            for group in (*self.g_optimizer.param_groups, *self.d_optimizer.param_groups):
                group["lr"] = lr
        d_losses, x_fake = [], None
        for j in range(cfg.k):
            batch = sampler(m)
            x_real, y_real = (batch, None) if self.num_classes is None else batch
            z, y_fake = self.noise(m), self._labels(m)
            with self._autocast():
                if cfg.reuse_fake and j == cfg.k - 1:  # one G forward, kept with its graph for G's step
                    x_fake = _call(self._g, z, y_fake)
                d_loss, real_logits, _ = d_step(
                    self._g, self._d, self.d_optimizer, x_real, z,
                    d_loss_fn=self.d_loss_fn, y_real=y_real, y_fake=y_fake,
                    gp_weight=cfg.gp_weight if cfg.loss == "wgan-gp" else 0.0, rng=self.rng,
                    concat=self._concat, x_fake=x_fake)
            d_losses.append(d_loss)
        if x_fake is None:  # Algorithm 1 as printed: fresh noise for G's step
            z, y_fake = self.noise(m), self._labels(m)
        with self._autocast():
            g_loss, fake_logits = g_step(self._g, self._d, self.g_optimizer, z, g_loss_fn=self.g_loss_fn,
                                         y_fake=y_fake, g_params=self.g_params, x_fake=x_fake)
        d_loss = d_losses[0] if cfg.k == 1 else torch.stack(d_losses).mean()
        return torch.stack([d_loss, g_loss, torch.sigmoid(real_logits).mean(),
                            torch.sigmoid(fake_logits).mean()])

    def fit(self, x: Tensor, steps: int, batch_size: int = 64, *, y: Tensor | None = None,
            progress: bool = True, callbacks: Sequence[Callback] = (), callback_every: int = 100,
            checkpoint_path: str | os.PathLike | None = None, checkpoint_every: int | None = None,
            log_every: int | None = None) -> dict[str, list[float]]:
        """Train for `steps` more generator steps (each after k discriminator steps).

        Args:
            x: training samples (N, ...), any device; y: labels (N,) for conditional models.
            steps: generator steps to run now; batch_size: m, for real and fake batches alike.
            progress: show a tqdm progress bar with the latest losses.
            callbacks: `fn(trainer, step)`, called every `callback_every` steps and at the end.
            checkpoint_path, checkpoint_every: save atomically every N steps and at the end.
            log_every: steps between host syncs (progress, NaN check); default 1% of steps, 10 to 50.
        Returns:
            `self.history`: lists "d_loss", "g_loss", "d_real", "d_fake", one entry per step.
        """
        if int(steps) != steps or steps < 0 or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"steps must be an int >= 0 and batch_size an int >= 1; got {steps}, {batch_size}")
        sampler = self._prepare(x, y)
        if steps == 0:
            return self.history
        log_every = log_every or max(10, min(50, steps // 100))  # a sync costs ~0.1 ms of Python
        buf = torch.empty(steps, len(_COLUMNS), device=self.device)  # per-step stats, synced lazily
        synced, start = 0, self.step
        bar = tqdm(total=steps, disable=not progress, desc=f"GAN ({self.config.loss}, k={self.config.k})",
                   leave=True, dynamic_ncols=True)

        def sync(upto: int) -> None:
            nonlocal synced
            if upto <= synced:
                return
            rows = buf[synced:upto].cpu()
            bad = (~torch.isfinite(rows)).any(1).nonzero()
            if len(bad):
                i = int(bad[0])
                raise FloatingPointError(
                    f"the loss became NaN/inf at step {start + synced + i + 1} (d_loss={rows[i, 0]:.4g}, "
                    f"g_loss={rows[i, 1]:.4g}); training stopped. Lower the learning rate (lr="
                    f"{self.config.lr:g}, try {self.config.lr / 4:g}) or check the data for NaN")
            for j, name in enumerate(_COLUMNS):
                self.history[name].extend(rows[:, j].tolist())
            bar.update(upto - synced)
            if progress:
                bar.set_postfix(d_loss=f"{rows[-1, 0]:.3f}", g_loss=f"{rows[-1, 1]:.3f}",
                                D_x=f"{rows[-1, 2]:.2f}", D_G_z=f"{rows[-1, 3]:.2f}", refresh=False)
            synced = upto

        self.generator.train()
        self.discriminator.train()
        try:
            with unchecked():
                for i in range(steps):
                    buf[i] = self._one_step(sampler, batch_size)
                    self.step += 1
                    done = i + 1
                    due_cb = callbacks and (self.step % callback_every == 0 or done == steps)
                    due_ckpt = checkpoint_path and (done == steps or (checkpoint_every and self.step % checkpoint_every == 0))
                    if done % log_every == 0 or done == steps or due_cb or due_ckpt:
                        sync(done)
                    if due_ckpt:
                        self.save(checkpoint_path)
                    if due_cb:
                        for cb in callbacks:
                            cb(self, self.step)
        finally:
            bar.close()
        return self.history

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to resume bit for bit: weights, optimizers, step, RNG states, history."""
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "step": self.step,
            "rng": {"trainer": self.rng.get_state(), "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "history": {k: list(v) for k, v in self.history.items()},
            "config": asdict(self.config),
            "fixed_z": self.fixed_z.cpu(),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint atomically (a kill during the save leaves the previous file intact)."""
        atomic_save(self.state_dict(), path)

    def load(self, path: str | os.PathLike) -> GANTrainer:
        """Restore a checkpoint written by `save` into this trainer; returns self."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}: train with checkpoint_path= first")
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state.get("config", {}).get("latent_dim") != self.config.latent_dim:
            raise ValueError(f"checkpoint {path} was made with latent_dim={state['config'].get('latent_dim')}, "
                             f"this trainer has {self.config.latent_dim}")
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.step = int(state["step"])
        self.rng.set_state(state["rng"]["trainer"].cpu())
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng"]["cuda"]])
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.fixed_z = state["fixed_z"].to(self.device)
        return self
