"""Interactive explorers for a notebook: ipywidgets controls with a static fallback.

Each takes `mode`: "widget" (ipywidgets), "static" (a figure any viewer shows, also what CI
runs), or "auto": the widget inside a Jupyter kernel with ipywidgets installed, else static.
"""

from __future__ import annotations

import importlib.util
import io
import sys

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from .data import dataset, mode_centers, sample_2d
from .losses import GAN_LOSSES
from .metrics import ModeCoverage
from .recipes import recipe, trainer_from_recipe
from .viz import generate, image_grid, plot_2d, plot_losses, plot_mode_coverage, sweep_images

__all__ = ["in_kernel", "latent_explorer", "training_explorer"]


def in_kernel() -> bool:
    """True inside a Jupyter kernel with ipywidgets installed: widgets can be displayed."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return (shell is not None and hasattr(shell, "kernel")
            and importlib.util.find_spec("ipywidgets") is not None)


def _use_widget(mode: str) -> bool:
    """Whether `mode` ("auto", "widget" or "static") shows ipywidgets here."""
    if mode not in ("auto", "widget", "static"):
        raise ValueError(f"mode must be 'auto', 'widget' or 'static'; got {mode!r}")
    return mode == "widget" or (mode == "auto" and in_kernel())


def latent_explorer(generator, latent_dim: int, n_sliders: int = 4, seed: int = 0, y=None,
                    mode: str = "auto", values=(-3, -1.5, 0, 1.5, 3)):
    """Explore G's latent space: a seed slider plus sliders on the first latent coordinates.

    Args:
        generator: an image generator taking z (m, latent_dim).
        latent_dim: size of z; n_sliders: how many coordinates get a slider.
        seed: the initial seed of the base z; y: a label for a conditional generator.
        mode: "widget" (ipywidgets), "static" (a figure sweeping each slider coordinate through
            `values`), or "auto": the widget inside a Jupyter kernel, else the static figure.
    Returns:
        An ipywidgets `HBox` (widget mode) or a matplotlib Figure (static mode).
    """
    coords = list(range(min(n_sliders, latent_dim)))
    if not _use_widget(mode):
        x = sweep_images(generator, latent_dim, coords, values, seed, y)
        return image_grid(x, nrow=len(values),
                          title=f"rows: z[0..{len(coords) - 1}] swept over {list(values)}")
    try:
        import ipywidgets as widgets
    except ImportError:
        raise ImportError("latent_explorer(mode='widget') needs ipywidgets: "
                          "pip install ipywidgets") from None
    seed_slider = widgets.IntSlider(value=seed, min=0, max=999, description="seed")
    sliders = [widgets.FloatSlider(value=0.0, min=-3, max=3, step=0.1, description=f"z[{c}]")
               for c in coords]
    image = widgets.Image(format="png")

    def redraw(_=None):  # the seed draws z; the sliders then set its first coordinates
        z = torch.randn(latent_dim, generator=torch.Generator().manual_seed(seed_slider.value))
        z[coords] = torch.tensor([s.value for s in sliders], dtype=z.dtype)
        fig = Figure(figsize=(2.5, 2.5))  # not pyplot: nothing leaks into the notebook's figures
        image_grid(generate(generator, z[None], y), nrow=1, ax=fig.add_subplot())
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        image.value = buf.getvalue()

    for w in (seed_slider, *sliders):
        w.observe(redraw, names="value")
    redraw()
    return widgets.HBox([widgets.VBox([seed_slider, *sliders]), image])


def _explore_once(data: str, steps: int, k: int, loss: str, seed: int, device, progress: bool):
    """Train the recipe's plain GAN (pack=1) for `steps` with `k` and `loss`; a 3-panel Figure."""
    r = recipe("gan", data, steps=steps, k=k, loss=loss, pack=1)
    trainer = trainer_from_recipe(r, (2,), seed=seed, device=device)
    track = ModeCoverage(data)
    x = sample_2d(data, 10_000, seed=seed)
    trainer.fit(x, steps, r.batch_size, progress=progress, callbacks=[track],
                callback_every=max(1, steps // 10))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    lim = 1.3 * float(mode_centers(data)[0].abs().max())  # the modes and a margin
    plot_2d(trainer.sample(z=torch.randn(1000, r.latent_dim,
                                         generator=torch.Generator().manual_seed(0))),
                real=x[:1000], discriminator=trainer.discriminator, ax=axes[0], lim=lim,
                title=f"{data}, k={k}, {loss}: {track.modes[-1]}/{track.total} modes")
    plot_losses(trainer.history, ax=axes[1])
    plot_mode_coverage({f"k={k}, {loss}": track}, ax=axes[2])
    fig.tight_layout()
    return fig


def training_explorer(data: str = "ring8", steps: int = 1000, k: int = 1,
                      loss: str = "nonsaturating", seed: int = 0, mode: str = "auto",
                      device=None):
    """Train a short plain GAN on 2-D `data` with k D-steps per G-step and `loss`, and show it.

    Args:
        data: "ring8" or "grid25"; steps: generator steps per run; k, loss: the initial choices.
        seed: seeds the run; device: training device (default `get_device()`).
        mode: "widget" displays ipywidgets controls (k, loss, steps, a Train button) that re-run
            into their own output; "static" does not; "auto" picks "widget" inside a kernel.
    Returns:
        The Figure of the run with the given arguments: the static fallback shown in any viewer.
    """
    dataset(data, "modes")  # a ValueError naming ring8, grid25, ...: mixtures with known modes
    if _use_widget(mode):
        import ipywidgets as widgets
        from IPython.display import display

        k_box = widgets.IntSlider(value=k, min=1, max=5, description="k")
        loss_box = widgets.Dropdown(options=list(GAN_LOSSES), value=loss, description="loss")
        steps_box = widgets.IntSlider(value=steps, min=100, max=5000, step=100, description="steps")
        button, out = widgets.Button(description="Train", button_style="primary"), widgets.Output()

        def run(_=None):
            out.clear_output()
            with out:
                fig = _explore_once(data, steps_box.value, k_box.value, loss_box.value, seed,
                                    device, True)
                display(fig)
                plt.close(fig)

        button.on_click(run)
        display(widgets.VBox([widgets.HBox([k_box, loss_box, steps_box, button]), out]))
    return _explore_once(data, steps, k, loss, seed, device, progress=False)
