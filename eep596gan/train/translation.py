"""Image-to-image training: pix2pix on pairs (Isola et al. 2017), CycleGAN without
(Zhu et al. 2017).

Both are the GAN game with an extra term in G's cost, run by `loop.Trainer`'s loop:

    pix2pix:  (1) D: minimise J^(D) on real pairs (x, y) against fake pairs (x, G(x))
              (2) G: minimise -1/2 E log D(x, G(x)) + lambda E |y - G(x)|
    CycleGAN: (1) D_Y, D_X: minimise J^(D) on real images of their domain against translated ones
              (2) G, F: fool both and come back: + lambda (E |F(G(x)) - x| + E |G(F(y)) - y|)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..data import TensorSampler
from ..losses import (
    cycle_consistency_loss,
    discriminator_loss,
    generator_loss_nonsaturating,
    pix2pix_discriminator_loss,
    pix2pix_generator_loss,
)
from .loop import Trainer, check_steps, make_adam

__all__ = ["Pix2PixTrainer", "CycleGANTrainer", "fit_pix2pix", "fit_cyclegan"]

_BETAS = (0.5, 0.999)  # DCGAN's, as in both papers


def _step(optimizer, loss: Tensor, inputs=None) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=inputs)
    optimizer.step()


class _Translation(Trainer):
    """Networks moved to the device, two Adams, a seeded batch generator; saved and restored
    whole.
    """

    def __init__(self, nets: dict[str, nn.Module], generators: list[str], lr: float, seed: int,
                 device):
        super().__init__(device, lr)
        self.nets = {name: net.to(self.device) for name, net in nets.items()}
        self.g_params = [p for name in generators for p in self.nets[name].parameters()]
        d_params = [p for name in nets if name not in generators
                    for p in self.nets[name].parameters()]
        self.g_optimizer = make_adam(self.g_params, lr, _BETAS)
        self.d_optimizer = make_adam(d_params, lr, _BETAS)
        self.rng = torch.Generator(device=self.device).manual_seed(int(seed))

    def state_dict(self) -> dict:
        return {"nets": {name: net.state_dict() for name, net in self.nets.items()},
                "g_optimizer": self.g_optimizer.state_dict(),
                "d_optimizer": self.d_optimizer.state_dict(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(state["nets"][name])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.rng.set_state(state["rng"].cpu())


class Pix2PixTrainer(_Translation):
    """pix2pix: a generator G(x) -> y and a conditional discriminator D(x, y) -> patch logits.

    Args:
        generator: e.g. `models.UNetGenerator`; discriminator: e.g. `models.PatchDiscriminator`.
        lr: Adam's learning rate for both; l1_weight: lambda of L1 in G's cost (100 in the paper).
        seed: batch order; device: default `get_device()`.
    """

    columns = ("d_loss", "g_loss", "l1")
    desc = "pix2pix"

    def __init__(self, generator: nn.Module, discriminator: nn.Module, lr: float = 2e-4,
                 l1_weight: float = 100.0, seed: int = 0, device=None):
        super().__init__({"g": generator, "d": discriminator}, ["g"], lr, seed, device)
        self.l1_weight = float(l1_weight)

    def fit(self, source: Tensor, target: Tensor, steps: int, batch_size: int = 64,
            progress: bool = True, **loop) -> dict[str, list[float]]:
        """Train on paired images source[i] -> target[i], both (N, C, H, W).

        Keyword arguments `loop` (callbacks, callback_every, checkpoint_path, checkpoint_every,
        log_every) go to `Trainer.run`.

        Returns:
            history: "d_loss", "g_loss" and "l1" (mean |G(x) - y| of the batch), one per step.
        """
        if source.shape[0] != target.shape[0] or source.shape[2:] != target.shape[2:]:
            raise ValueError(f"pix2pix needs pairs: source {tuple(source.shape)} and target "
                             f"{tuple(target.shape)} must have the same number of images and "
                             "the same height and width")
        check_steps(steps, batch_size)
        g, d = self.nets["g"], self.nets["d"]
        pairs = TensorSampler(source.to(self.device), target.to(self.device), generator=self.rng)

        def step() -> Tensor:
            x, y = pairs(batch_size)
            fake = g(x)
            # (1) D: minimise J^(D) with real pairs (x, y) against fake pairs (x, G(x))
            d_loss = pix2pix_discriminator_loss(d(x, y), d(x, fake.detach()))
            _step(self.d_optimizer, d_loss)
            # (2) G: minimise -1/2 E log D(x, G(x)) + lambda E |y - G(x)|  (D held fixed)
            g_loss = pix2pix_generator_loss(d(x, fake), fake, y, self.l1_weight)
            _step(self.g_optimizer, g_loss, self.g_params)
            return torch.stack([d_loss, g_loss, (fake - y).abs().mean()]).detach()

        return self.run(steps, step, modules=(g, d), progress=progress, **loop)


class CycleGANTrainer(_Translation):
    """CycleGAN on unpaired sets: G: X -> Y, F: Y -> X; D_X and D_Y judge single images.

    Args:
        g, f: the two generators; d_x, d_y: discriminators D(image) -> logits (m, 1).
        lr: Adam's learning rate; cycle_weight: lambda of the cycle loss (10 in the paper).
        seed: batch order; device: default `get_device()`.
    """

    columns = ("d_loss", "g_loss", "cycle")
    desc = "CycleGAN"

    def __init__(self, g: nn.Module, f: nn.Module, d_x: nn.Module, d_y: nn.Module,
                 lr: float = 2e-4, cycle_weight: float = 10.0, seed: int = 0, device=None):
        super().__init__({"g": g, "f": f, "d_x": d_x, "d_y": d_y}, ["g", "f"], lr, seed, device)
        self.cycle_weight = float(cycle_weight)

    def fit(self, x: Tensor, y: Tensor, steps: int, batch_size: int = 64,
            progress: bool = True, **loop) -> dict[str, list[float]]:
        """Train on images of the two domains, (N_x, C, H, W) and (N_y, C, H, W), never paired.

        Keyword arguments `loop` (callbacks, callback_every, checkpoint_path, checkpoint_every,
        log_every) go to `Trainer.run`.

        Returns:
            history: "d_loss", "g_loss" (the adversarial part) and "cycle", one per step.
        """
        check_steps(steps, batch_size)
        g, f, d_x, d_y = (self.nets[k] for k in ("g", "f", "d_x", "d_y"))
        xs = TensorSampler(x.to(self.device), generator=self.rng)
        ys = TensorSampler(y.to(self.device), generator=self.rng)

        def step() -> Tensor:
            x_real, y_real = xs(batch_size), ys(batch_size)
            y_fake, x_fake = g(x_real), f(y_real)
            # (1) D_Y, D_X: minimise J^(D): real images of their domain against translated ones
            d_loss = (discriminator_loss(d_y(y_real), d_y(y_fake.detach()))
                      + discriminator_loss(d_x(x_real), d_x(x_fake.detach())))
            _step(self.d_optimizer, d_loss)
            # (2) G, F: fool both discriminators and come back (D_X, D_Y held fixed)
            adversarial = (generator_loss_nonsaturating(d_y(y_fake))
                           + generator_loss_nonsaturating(d_x(x_fake)))
            cycle = (cycle_consistency_loss(x_real, f(y_fake))
                     + cycle_consistency_loss(y_real, g(x_fake)))
            _step(self.g_optimizer, adversarial + self.cycle_weight * cycle, self.g_params)
            return torch.stack([d_loss, adversarial, cycle]).detach()

        return self.run(steps, step, modules=(g, f, d_x, d_y), progress=progress, **loop)


def fit_pix2pix(generator: nn.Module, discriminator: nn.Module, source: Tensor, target: Tensor,
                steps: int, batch_size: int = 64, lr: float = 2e-4, l1_weight: float = 100.0,
                seed: int = 0, device=None, progress: bool = True) -> dict[str, list[float]]:
    """`Pix2PixTrainer(...).fit(source, target, steps, batch_size)`: the history."""
    trainer = Pix2PixTrainer(generator, discriminator, lr, l1_weight, seed, device)
    return trainer.fit(source, target, steps, batch_size, progress)


def fit_cyclegan(g: nn.Module, f: nn.Module, d_x: nn.Module, d_y: nn.Module, x: Tensor,
                 y: Tensor, steps: int, batch_size: int = 64, lr: float = 2e-4,
                 cycle_weight: float = 10.0, seed: int = 0, device=None,
                 progress: bool = True) -> dict[str, list[float]]:
    """`CycleGANTrainer(...).fit(x, y, steps, batch_size)`: the history."""
    trainer = CycleGANTrainer(g, f, d_x, d_y, lr, cycle_weight, seed, device)
    return trainer.fit(x, y, steps, batch_size, progress)
