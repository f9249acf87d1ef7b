"""The GAN training algorithm of the lecture (Goodfellow et al. 2014, Algorithm 1), on a fast path.

    for each training step:
        for k steps:  sample m noise z and m real x;  (1) update D: minimise J^(D)
        sample m noise z;                              (2) update G: minimise J^(G)

`d_step` and `g_step` are the two updates; `GANTrainer` runs them with batches drawn by index
from device-resident tensors, losses kept on the device (synced only when logged), fused Adam,
one G forward per step (G's step reuses the last D step's G(z), as the PyTorch DCGAN tutorial
does; `reuse_fake=False` draws fresh noise as printed above), optional bf16 autocast,
channels_last and torch.compile. The loop itself (lazy sync, NaN stop, callbacks, atomic
checkpoints, exact resume) is `loop.Trainer`'s, shared with every other trainer.

Longer than 300 lines so that it reads top to bottom as Algorithm 1: the two updates and the
trainer that runs them, with its sampling, checks and checkpoint state, stay in one file.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from ..data import TensorSampler
from ..device import native_bf16
from ..losses import gan_loss, gradient_penalty, unchecked
from .loop import Callback, Trainer, check_steps, make_adam

__all__ = ["GANConfig", "GANTrainer", "d_step", "g_step", "SampleSnapshots"]

# Normalisation layers that mix the samples of a batch: D then needs real and fake apart.
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm,
                nn.LazyBatchNorm1d, nn.LazyBatchNorm2d, nn.LazyBatchNorm3d)


@dataclass(frozen=True)
class GANConfig:
    """Hyperparameters of one GAN run."""

    latent_dim: int  # size of the noise vector z
    k: int = 1  # discriminator steps per generator step (the slide's k)
    lr: float = 2e-4  # Adam learning rate for both players
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas (DCGAN's 0.5 damps oscillation)
    loss: str = "nonsaturating"  # a key of eep596gan.losses.GAN_LOSSES
    gp_weight: float = 10.0  # gradient-penalty weight, for losses with penalty=True (wgan-gp)
    seed: int = 0  # seeds noise, batch indices and fixed_z
    # Measured on an H100 (benchmarks/RESULTS.md): course-sized GANs are launch-bound, and bf16,
    # NHWC and torch.compile each made a 28x28 DCGAN step slower, so all three are opt-in.
    amp: bool = False  # bf16 autocast of the forward passes (CUDA, or a CPU with native bf16)
    channels_last: bool = False  # NHWC memory format for conv nets
    decay_steps: int | None = None  # lr decays linearly to 0 at this step; None = constant lr
    compile: bool | str = False  # torch.compile G and D: True, an inductor mode, or a backend name
    # G's step reuses the last D step's G(z) (as the DCGAN tutorial does); False = fresh z
    reuse_fake: bool = True


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
    `x_fake`: G(z) already made with its graph (the trainer reuses the last D step's); else G(z)
    here.
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


class SampleSnapshots:
    """Callback keeping (step, G(fixed_z)) on the CPU, for sample grids and animations."""

    def __init__(self):
        self.snapshots: list[tuple[int, Tensor]] = []

    def __call__(self, trainer: GANTrainer, step: int) -> None:
        self.snapshots.append((step, trainer.sample().cpu()))


class GANTrainer(Trainer):
    """Trains `generator` against `discriminator` with the slide's k-step algorithm.

    Args:
        generator, discriminator: modules; G(z[, y]) -> samples, D(x[, y]) -> logits (m, 1).
        latent_dim, k, lr, betas, loss, gp_weight, seed, amp, channels_last, decay_steps, compile,
            reuse_fake: see `GANConfig`.
        device: training device (default: `get_device()`).
    """

    columns = ("d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, generator: nn.Module, discriminator: nn.Module, *, latent_dim: int,
                 k: int = 1, lr: float = 2e-4, betas=(0.5, 0.999), loss: str = "nonsaturating",
                 device=None, seed: int = 0, gp_weight: float = 10.0, amp: bool = False,
                 channels_last: bool = False, decay_steps: int | None = None,
                 compile: bool | str = False, reuse_fake: bool = True):
        pair = gan_loss(loss)
        if int(k) != k or k < 1:
            raise ValueError("k (discriminator steps per generator step) must be an int >= 1, "
                             f"got {k}")
        super().__init__(device, lr)
        self.desc = f"GAN ({loss}, k={int(k)})"
        if amp and self.device.type in ("cpu", "cuda") and not native_bf16(self.device):
            warnings.warn(f"amp=True: {self.device.type} here has no native bfloat16 arithmetic, "
                          "so bf16 autocast is emulated and usually slower than float32; leave "
                          "amp=False on this machine", stacklevel=2)
        self.config = GANConfig(int(latent_dim), int(k), float(lr), tuple(betas), loss,
                                float(gp_weight), int(seed), bool(amp), bool(channels_last),
                                None if decay_steps is None else int(decay_steps), compile,
                                bool(reuse_fake))
        fmt = torch.channels_last if self.config.channels_last else torch.preserve_format
        self.generator = generator.to(self.device, memory_format=fmt)
        self.discriminator = discriminator.to(self.device, memory_format=fmt)
        self.g_params = list(self.generator.parameters())
        # the updates call these: compiled wrappers sharing the modules' parameters, or the modules
        self._g, self._d = self.generator, self.discriminator
        if compile:
            self._g, self._d = (_compiled(m, compile) for m in (self.generator, self.discriminator))
        self.g_optimizer = make_adam(self.g_params, lr, betas)
        self.d_optimizer = make_adam(self.discriminator.parameters(), lr, betas)
        self.d_loss_fn, self.g_loss_fn = pair.discriminator, pair.generator
        self._gp_weight = self.config.gp_weight if pair.penalty else 0.0
        self.num_classes = getattr(generator, "num_classes", None)
        # one generator for noise, batch indices and fake labels: saving it makes resume exact
        self.rng = torch.Generator(device=self.device).manual_seed(self.config.seed)
        fixed = torch.Generator().manual_seed(self.config.seed + 1)
        self.fixed_z = torch.randn(64, self.config.latent_dim, generator=fixed).to(self.device)
        self.fixed_y = None
        if self.num_classes:
            self.fixed_y = (torch.arange(64) % self.num_classes).to(self.device)
        self._concat = not any(isinstance(m, _BATCH_NORMS) for m in self.discriminator.modules())
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
    def sample(self, n: int | None = None, y: Tensor | None = None,
               z: Tensor | None = None) -> Tensor:
        """G(z) in eval mode: `z` if given, else the first `n` of `fixed_z` (n > 64: fresh
        noise).
        """
        if z is None:
            n = len(self.fixed_z) if n is None else n
            if n <= len(self.fixed_z):
                z = self.fixed_z[:n]
            else:
                z = torch.randn(n, self.config.latent_dim, device=self.device)
        z = z.to(self.device)
        if self.num_classes and y is None:
            if len(z) <= len(self.fixed_y):
                y = self.fixed_y[: len(z)]
            else:
                y = torch.arange(len(z), device=self.device) % self.num_classes
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
            raise ValueError("x must be a non-empty float tensor of samples (N, ...), "
                             "e.g. from load_images()")
        if self.num_classes and y is None:
            raise ValueError(f"the generator is conditional ({self.num_classes} classes): "
                             "pass labels y to fit()")
        if y is not None and not self.num_classes:
            raise ValueError("labels y were given but the generator is unconditional: "
                             "build it with num_classes")
        if self._source is not None and x is self._source[0] and y is self._source[1]:
            return self._sampler  # same tensors as the last fit(): already on the device
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or inf: clean the data before training")
        probe = self.sample(z=self.fixed_z[:2])
        if probe.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"the data has shape {tuple(x.shape[1:])} but the generator makes "
                f"{tuple(probe.shape[1:])}: build the generator (and discriminator) for the "
                "data's shape")
        nhwc = self.config.channels_last and x.dim() == 4
        fmt = torch.channels_last if nhwc else torch.contiguous_format
        tensors = (x.to(self.device, memory_format=fmt),)
        tensors += () if y is None else (y.to(self.device),)
        self._sampler = TensorSampler(*tensors, generator=self.rng)
        self._source = (x, y)
        return self._sampler

    def _one_step(self, sampler: TensorSampler, m: int) -> Tensor:
        """k D steps and one G step; (4,) on the device: d_loss (mean of k), g_loss, D(x),
        D(G(z)).
        """
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
                if cfg.reuse_fake and j == cfg.k - 1:  # one G forward, its graph kept for G's step
                    x_fake = _call(self._g, z, y_fake)
                d_loss, real_logits, _ = d_step(
                    self._g, self._d, self.d_optimizer, x_real, z,
                    d_loss_fn=self.d_loss_fn, y_real=y_real, y_fake=y_fake,
                    gp_weight=self._gp_weight, rng=self.rng, concat=self._concat, x_fake=x_fake)
            d_losses.append(d_loss)
        if x_fake is None:  # Algorithm 1 as printed: fresh noise for G's step
            z, y_fake = self.noise(m), self._labels(m)
        with self._autocast():
            g_loss, fake_logits = g_step(self._g, self._d, self.g_optimizer, z,
                                         g_loss_fn=self.g_loss_fn, y_fake=y_fake,
                                         g_params=self.g_params, x_fake=x_fake)
        d_loss = d_losses[0] if cfg.k == 1 else torch.stack(d_losses).mean()
        return torch.stack([d_loss, g_loss, torch.sigmoid(real_logits).mean(),
                            torch.sigmoid(fake_logits).mean()])

    def fit(self, x: Tensor, steps: int, batch_size: int = 64, *, y: Tensor | None = None,
            progress: bool = True, callbacks: Sequence[Callback] = (), callback_every: int = 100,
            checkpoint_path=None, checkpoint_every: int | None = None,
            log_every: int | None = None) -> dict[str, list[float]]:
        """Train for `steps` more generator steps (each after k discriminator steps).

        Args:
            x: training samples (N, ...), any device; y: labels (N,) for conditional models.
            steps: generator steps to run now; batch_size: m, for real and fake batches alike.
            progress: show a tqdm progress bar with the latest losses.
            callbacks: `fn(trainer, step)`, called every `callback_every` steps and at the end.
            checkpoint_path, checkpoint_every: save atomically every N steps and at the end.
            log_every: steps between host syncs (progress, NaN check); default 1% of steps,
                10 to 50.
        Returns:
            `self.history`: lists "d_loss", "g_loss", "d_real", "d_fake", one entry per step.
        """
        check_steps(steps, batch_size)
        sampler = self._prepare(x, y)
        with unchecked():  # the loop checks for NaN itself, without a host sync per step
            return self.run(steps, lambda: self._one_step(sampler, batch_size),
                            modules=(self.generator, self.discriminator), progress=progress,
                            callbacks=callbacks, callback_every=callback_every,
                            checkpoint_path=checkpoint_path, checkpoint_every=checkpoint_every,
                            log_every=log_every)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to resume bit for bit: weights, optimizers, RNG states, config."""
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "rng": {"trainer": self.rng.get_state(), "torch": torch.get_rng_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "config": asdict(self.config),
            "fixed_z": self.fixed_z.cpu(),
        }

    def load_state_dict(self, state: dict) -> None:
        made_with = state.get("config", {}).get("latent_dim")
        if made_with != self.config.latent_dim:
            raise ValueError(f"the checkpoint was made with latent_dim={made_with}, "
                             f"this trainer has {self.config.latent_dim}")
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.rng.set_state(state["rng"]["trainer"].cpu())
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng"]["cuda"]])
        self.fixed_z = state["fixed_z"].to(self.device)


def _compiled(module: nn.Module, compile: bool | str) -> nn.Module:
    """torch.compile(module) for GANConfig.compile: True, an inductor mode or a backend name."""
    if compile == "reduce-overhead":  # CUDA graphs: each replay overwrites the last output
        raise ValueError("compile='reduce-overhead' (CUDA graphs) overwrites D(x_real) with "
                         "D(x_fake) inside one GAN step; use compile=True or 'max-autotune'")
    if compile in ("default", "max-autotune"):  # inductor modes
        opts = {"mode": compile}
    else:
        opts = {"backend": "inductor" if compile is True else compile}
    return torch.compile(module, dynamic=False, **opts)
