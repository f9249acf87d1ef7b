"""Helpers for the GAN-training lectures (06, 07) that the notebooks would otherwise paste.

- `trainer_from_recipe` (re-exported from `recipes`): a `GANTrainer` set up as the CLI does.
- `ModeCoverage`: a callback tracing modes captured on ring8/grid25 during training.
- `training_explorer`: a short 2-D run with a chosen k and loss; ipywidgets controls to re-run it.
- `describe_samples`: the digits classifier's label and a stroke-thickness score per generated
  image, for latent vector arithmetic in the spirit of Radford et al. 2015.
- `fit_pix2pix`, `fit_cyclegan`: the image-to-image training loops (Isola et al. 2017, Zhu et al. 2017).
"""

from __future__ import annotations

import importlib.util
import sys

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import viz
from .classifier import load_classifier
from .data import sample_2d
from .device import get_device
from .losses import GAN_LOSSES, discriminator_loss, generator_loss_nonsaturating
from .metrics import mode_coverage
from .models.translation import (
    cycle_consistency_loss,
    pix2pix_discriminator_loss,
    pix2pix_generator_loss,
)
from .recipes import recipe, trainer_from_recipe
from .train import GANTrainer, make_adam

__all__ = [
    "trainer_from_recipe", "ModeCoverage", "plot_mode_coverage", "training_explorer", "ink",
    "describe_samples", "fit_pix2pix", "fit_cyclegan",
]


# ---------------------------------------------------------------------------- 2-D mixtures
class ModeCoverage:
    """Callback: `metrics.mode_coverage` of G(z) for one fixed batch of n noise vectors.

    After training, `steps`, `modes` (modes captured) and `quality` (high-quality fraction) are
    lists with one entry per call.
    """

    def __init__(self, name: str = "ring8", n: int = 2000, seed: int = 0):
        self.name, self.n, self.seed = name, int(n), int(seed)
        self.steps: list[int] = []
        self.modes: list[int] = []
        self.quality: list[float] = []
        self.total = None

    def __call__(self, trainer: GANTrainer, step: int) -> None:
        z = torch.randn(self.n, trainer.config.latent_dim, generator=torch.Generator().manual_seed(self.seed))
        cov = mode_coverage(trainer.sample(z=z).cpu(), self.name)
        self.steps.append(int(step))
        self.modes.append(cov["modes_captured"])
        self.quality.append(cov["high_quality_fraction"])
        self.total = cov["modes_total"]


def plot_mode_coverage(tracks: dict[str, ModeCoverage], ax=None, title: str = "Modes captured during training"):
    """One line per labelled `ModeCoverage` (modes captured against the step); returns the Figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    for label, track in tracks.items():
        ax.plot(track.steps, track.modes, marker="o", ms=3, label=label)
    totals = {t.total for t in tracks.values() if t.total}
    for total in totals:
        ax.axhline(total, color="k", ls="--", lw=1, label=f"all {total} modes")
    ax.set(xlabel="generator step", ylabel="modes captured", title=title, ylim=(-0.5, max(totals, default=8) + 0.5))
    ax.legend(fontsize="small")
    return ax.figure


def _in_kernel() -> bool:
    """True inside a Jupyter kernel with ipywidgets installed."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and hasattr(shell, "kernel") and importlib.util.find_spec("ipywidgets") is not None


def _explore_once(data: str, steps: int, k: int, loss: str, seed: int, device, progress: bool):
    """Train the recipe's plain GAN (pack=1) for `steps` with `k` and `loss`; a 3-panel Figure."""
    r = recipe("gan", data, steps=steps, k=k, loss=loss, pack=1)
    trainer = trainer_from_recipe(r, (2,), seed=seed, device=device)
    track = ModeCoverage(data)
    x = sample_2d(data, 10_000, seed=seed)
    trainer.fit(x, steps, r.batch_size, progress=progress, callbacks=[track], callback_every=max(1, steps // 10))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    lim = 2.6 if data == "ring8" else 5.0
    viz.plot_2d(trainer.sample(z=torch.randn(1000, r.latent_dim, generator=torch.Generator().manual_seed(0))),
                real=x[:1000], discriminator=trainer.discriminator, ax=axes[0], lim=lim,
                title=f"{data}, k={k}, {loss}: {track.modes[-1]}/{track.total} modes")
    viz.plot_losses(trainer.history, ax=axes[1])
    plot_mode_coverage({f"k={k}, {loss}": track}, ax=axes[2])
    fig.tight_layout()
    return fig


def training_explorer(data: str = "ring8", steps: int = 1000, k: int = 1, loss: str = "nonsaturating",
                      seed: int = 0, mode: str = "auto", device=None):
    """Train a short plain GAN on 2-D `data` with k D-steps per G-step and `loss`, and show it.

    Args:
        data: "ring8" or "grid25"; steps: generator steps per run; k, loss: the initial choices.
        seed: seeds the run; device: training device (default `get_device()`).
        mode: "widget" displays ipywidgets controls (k, loss, steps, a Train button) that re-run
            into their own output; "static" does not; "auto" picks "widget" inside a kernel.
    Returns:
        The Figure of the run with the given arguments: the static fallback shown in any viewer.
    """
    if mode not in ("auto", "widget", "static"):
        raise ValueError(f"mode must be 'auto', 'widget' or 'static'; got {mode!r}")
    if data not in ("ring8", "grid25"):
        raise ValueError(f"data must be 'ring8' or 'grid25' (mixtures with known modes); got {data!r}")
    if mode == "widget" or (mode == "auto" and _in_kernel()):
        import ipywidgets as widgets
        from IPython.display import display

        k_box = widgets.IntSlider(value=k, min=1, max=5, description="k")
        loss_box = widgets.Dropdown(options=list(GAN_LOSSES), value=loss, description="loss")
        steps_box = widgets.IntSlider(value=steps, min=100, max=5000, step=100, description="steps")
        button, out = widgets.Button(description="Train", button_style="primary"), widgets.Output()

        def run(_=None):
            out.clear_output()
            with out:
                fig = _explore_once(data, steps_box.value, k_box.value, loss_box.value, seed, device, True)
                display(fig)
                plt.close(fig)

        button.on_click(run)
        display(widgets.VBox([widgets.HBox([k_box, loss_box, steps_box, button]), out]))
    return _explore_once(data, steps, k, loss, seed, device, progress=False)


# ---------------------------------------------------------------------------- latent arithmetic
def ink(x: Tensor) -> Tensor:
    """Stroke thickness score (m,): mean brightness of images in [-1, 1], mapped to [0, 1]."""
    return ((x.detach().float().clamp(-1, 1) + 1) / 2).flatten(1).mean(1)


@torch.no_grad()
def describe_samples(generator: nn.Module, z: Tensor, y: Tensor | None = None,
                     dataset: str = "digits") -> dict[str, Tensor]:
    """Generate G(z) and describe each image with the dataset's classifier and `ink`.

    Args:
        generator: maps z (m, latent_dim) (and labels y, if conditional) to images.
        z: noise (m, latent_dim); y: labels (m,) for a conditional generator.
        dataset: whose classifier labels the images ("digits", "mnist", ...).
    Returns:
        dict of CPU tensors: "x" images, "label" (m,), "confidence" (m,) and "ink" (m,).
    """
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        x = (generator(z.to(device)) if y is None else generator(z.to(device), y.to(device))).float().cpu()
    finally:
        generator.train(was_training)
    with torch.enable_grad():  # the classifier trains itself on first use
        classifier = load_classifier(dataset)
    probs = classifier(x).softmax(1)  # (m, classes)
    confidence, label = probs.max(1)
    return {"x": x, "label": label, "confidence": confidence, "ink": ink(x)}


# ---------------------------------------------------------------------------- image-to-image
def _check_steps(steps, batch_size) -> None:
    if int(steps) != steps or steps < 0 or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"steps must be an int >= 0 and batch_size an int >= 1; got {steps}, {batch_size}")


def _batches(n: int, m: int, steps: int, rng: torch.Generator, device) -> Tensor:
    return torch.randint(n, (steps, m), generator=rng).to(device)  # (steps, m) indices


def fit_pix2pix(generator: nn.Module, discriminator: nn.Module, source: Tensor, target: Tensor, steps: int,
                batch_size: int = 64, lr: float = 2e-4, l1_weight: float = 100.0, seed: int = 0,
                device=None, progress: bool = True) -> dict[str, list[float]]:
    """Train a pix2pix pair on paired images (source[i] -> target[i]).

    Args:
        generator: G(x) -> y, e.g. `UNetGenerator`; discriminator: D(x, y) -> patch logits.
        source, target: paired images (N, C, H, W); steps, batch_size, lr: as for `GANTrainer`.
        l1_weight: lambda of L1 in G's cost; seed: batch order; device: default `get_device()`.
    Returns:
        history with lists "d_loss", "g_loss" and "l1" (mean |G(x) - y| of the batch), one per step.
    """
    if source.shape[0] != target.shape[0] or source.shape[2:] != target.shape[2:]:
        raise ValueError(f"pix2pix needs pairs: source {tuple(source.shape)} and target {tuple(target.shape)} "
                         "must have the same number of images and the same height and width")
    _check_steps(steps, batch_size)
    device = get_device(device)
    generator, discriminator = generator.to(device).train(), discriminator.to(device).train()
    source, target = source.to(device), target.to(device)
    opt_g = make_adam(generator.parameters(), lr, (0.5, 0.999))
    opt_d = make_adam(discriminator.parameters(), lr, (0.5, 0.999))
    history = {"d_loss": [], "g_loss": [], "l1": []}
    rng = torch.Generator().manual_seed(seed)
    for idx in tqdm(_batches(len(source), batch_size, steps, rng, device), disable=not progress, desc="pix2pix"):
        x, y = source[idx], target[idx]
        fake = generator(x)
        # (1) D: minimise J^(D) with real pairs (x, y) against fake pairs (x, G(x))
        d_loss = pix2pix_discriminator_loss(discriminator(x, y), discriminator(x, fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        # (2) G: minimise -1/2 E log D(x, G(x)) + lambda E |y - G(x)|  (D held fixed)
        g_loss = pix2pix_generator_loss(discriminator(x, fake), fake, y, l1_weight)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward(inputs=list(generator.parameters()))
        opt_g.step()
        for key, v in (("d_loss", d_loss), ("g_loss", g_loss), ("l1", (fake - y).abs().mean())):
            history[key].append(float(v.detach()))
    return history


def fit_cyclegan(g: nn.Module, f: nn.Module, d_x: nn.Module, d_y: nn.Module, x: Tensor, y: Tensor, steps: int,
                 batch_size: int = 64, lr: float = 2e-4, cycle_weight: float = 10.0, seed: int = 0,
                 device=None, progress: bool = True) -> dict[str, list[float]]:
    """Train CycleGAN on unpaired sets: G: X -> Y, F: Y -> X, D_X and D_Y judge single images.

    Args:
        g, f: the two generators; d_x, d_y: discriminators D(image) -> logits (m, 1).
        x, y: images of the two domains (N_x, C, H, W), (N_y, C, H, W); no pairing is used.
        steps, batch_size, lr: as for `GANTrainer`; cycle_weight: lambda of the cycle loss.
        seed: batch order; device: default `get_device()`; progress: a tqdm bar.
    Returns:
        history with lists "d_loss", "g_loss" (adversarial part) and "cycle", one entry per step.
    """
    _check_steps(steps, batch_size)
    device = get_device(device)
    g, f, d_x, d_y = (net.to(device).train() for net in (g, f, d_x, d_y))
    x, y = x.to(device), y.to(device)
    gen_params = list(g.parameters()) + list(f.parameters())
    opt_g = make_adam(gen_params, lr, (0.5, 0.999))
    opt_d = make_adam(list(d_x.parameters()) + list(d_y.parameters()), lr, (0.5, 0.999))
    history = {"d_loss": [], "g_loss": [], "cycle": []}
    rng = torch.Generator().manual_seed(seed)
    ix, iy = _batches(len(x), batch_size, steps, rng, device), _batches(len(y), batch_size, steps, rng, device)
    for i in tqdm(range(steps), disable=not progress, desc="CycleGAN"):
        x_real, y_real = x[ix[i]], y[iy[i]]
        y_fake, x_fake = g(x_real), f(y_real)
        # (1) D_Y, D_X: minimise J^(D): real images of their domain against translated ones
        d_loss = (discriminator_loss(d_y(y_real), d_y(y_fake.detach()))
                  + discriminator_loss(d_x(x_real), d_x(x_fake.detach())))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        # (2) G, F: fool both discriminators and come back: lambda (E|F(G(x)) - x| + E|G(F(y)) - y|)
        adversarial = generator_loss_nonsaturating(d_y(y_fake)) + generator_loss_nonsaturating(d_x(x_fake))
        cycle = cycle_consistency_loss(x_real, f(y_fake)) + cycle_consistency_loss(y_real, g(x_fake))
        opt_g.zero_grad(set_to_none=True)
        (adversarial + cycle_weight * cycle).backward(inputs=gen_params)
        opt_g.step()
        for key, v in (("d_loss", d_loss), ("g_loss", adversarial), ("cycle", cycle)):
            history[key].append(float(v.detach()))
    return history
