"""Pictures of a GAN at work: sample grids, training curves, D's view of the plane, latent walks.

Every function returns the matplotlib Figure it drew on (pass `ax=` to draw into your own), so a
notebook can add titles; none calls `plt.show()`. Images are tensors (m, C, H, W) in [-1, 1].
The interactive explorers built on these are in `eep596gan.widgets`.

Longer than 300 lines because every static figure of the course lives here, so a student looks
for a plot in one place; the sections (images, curves, the plane, latent walks) share helpers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation
from matplotlib.figure import Figure
from torch import Tensor

__all__ = [
    "image_grid", "save_image_grid", "plot_losses", "plot_d_outputs", "plot_d_histogram", "plot_2d",
    "interpolate", "generate", "plot_interpolation", "animate_snapshots", "to_html",
    "plot_mode_coverage", "fill_in_frames", "sweep_images",
]


def _axes(ax, figsize=(5, 4)):
    """`ax` and its figure, or a fresh pair."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def _device(module) -> torch.device:
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@contextlib.contextmanager
def _evaluating(module):
    """Eval mode (batch norm uses its running statistics) and no grad; the mode is restored
    after.
    """
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)


def _images(x) -> Tensor:
    """Images as a detached float CPU tensor (m, C, H, W) in [0, 1]."""
    x = torch.as_tensor(x).detach().float().cpu()
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (m, H, W) -> (m, 1, H, W)
    if x.dim() != 4:
        raise ValueError(f"images must have shape (m, C, H, W) or (m, H, W); got {tuple(x.shape)}")
    return ((x.clamp(-1, 1) + 1) / 2).nan_to_num(0.5)


def _grid(x, nrow: int) -> np.ndarray:
    """make_grid of images in [-1, 1] as an (H, W) or (H, W, 3) array in [0, 1]."""
    from torchvision.utils import make_grid

    x = _images(x)
    grid = make_grid(x, nrow=nrow, padding=1, pad_value=1.0)  # (3, H, W): 1 channel is repeated
    return grid[0].numpy() if x.shape[1] == 1 else grid.permute(1, 2, 0).numpy()


def image_grid(x, nrow: int = 8, ax=None, title: str | None = None) -> Figure:
    """Show images (m, C, H, W) in [-1, 1] as one grid, `nrow` per row; returns the Figure."""
    fig, ax = _axes(ax, figsize=(5, 5))
    ax.imshow(_grid(x, nrow), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def save_image_grid(x, path, nrow: int = 8) -> Path:
    """Write images (m, C, H, W) in [-1, 1] as one PNG grid (torchvision's layout); returns the
    path.
    """
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(_images(x), path, nrow=nrow)
    return path


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (same length; shorter windows at the start)."""
    c = np.cumsum(np.insert(y, 0, 0.0))
    i = np.arange(1, len(y) + 1)
    n = np.minimum(i, window)
    return (c[i] - c[i - n]) / n


def _series(history: dict, *keys: str) -> list[np.ndarray]:
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"history has no {missing}; it has {sorted(history)} "
                       "(use GANTrainer.fit's return value)")
    return [np.asarray(torch.as_tensor(history[k], dtype=torch.float64)) for k in keys]


def plot_losses(history: dict, ax=None, smooth: int | None = None) -> Figure:
    """Discriminator and generator costs against the step, raw and (for long runs) smoothed.

    Args:
        history: `GANTrainer.fit`'s dict with lists "d_loss" and "g_loss"; ax: axes to draw into.
        smooth: moving-average window; default len/50 when there are more than 100 steps.
    Returns:
        The Figure.
    """
    fig, ax = _axes(ax)
    d_loss, g_loss = _series(history, "d_loss", "g_loss")
    steps = np.arange(1, len(d_loss) + 1)
    smooth = smooth if smooth is not None else (len(steps) // 50 if len(steps) > 100 else 1)
    for y, label, color in ((d_loss, "discriminator $J^{(D)}$", "C0"),
                            (g_loss, "generator $J^{(G)}$", "C1")):
        if smooth > 1:
            ax.plot(steps, y, color=color, alpha=0.25, lw=0.8)
            ax.plot(steps, _smooth(y, smooth), color=color, label=f"{label} (mean of {smooth})")
        else:
            ax.plot(steps, y, color=color, label=label)
    ax.set(xlabel="generator step", ylabel="cost", title="Training costs")
    ax.legend()
    return fig


def plot_d_outputs(history: dict, ax=None) -> Figure:
    """Mean D(x) and D(G(z)) against the step, with the equilibrium D = 1/2."""
    fig, ax = _axes(ax)
    d_real, d_fake = _series(history, "d_real", "d_fake")
    steps = np.arange(1, len(d_real) + 1)
    ax.plot(steps, d_real, label="$D(x)$, real")
    ax.plot(steps, d_fake, label="$D(G(z))$, fake")
    ax.axhline(0.5, color="k", ls="--", lw=1, label="equilibrium 1/2")
    ax.set(xlabel="generator step", ylabel="mean discriminator output", ylim=(-0.02, 1.02))
    ax.set_title("What the discriminator says")
    ax.legend()
    return fig


def plot_d_histogram(real, fake, *, logits: bool = True, bins: int = 30, ax=None,
                     title: str | None = None) -> Figure:
    """Histograms of D's probabilities on real and on fake samples; returns the Figure.

    Args:
        real, fake: discriminator outputs, any shape: logits, or probabilities with logits=False.
        bins: number of bins over [0, 1]; ax: axes to draw into; title: replaces the default.
    """
    fig, ax = _axes(ax)
    real, fake = (torch.as_tensor(v).detach().double().cpu().reshape(-1) for v in (real, fake))
    if logits:
        real, fake = real.sigmoid(), fake.sigmoid()
    elif ((real < 0) | (real > 1)).any() or ((fake < 0) | (fake > 1)).any():
        raise ValueError("with logits=False the inputs must be probabilities in [0, 1]; "
                         "pass logits=True for logits")
    edges = np.linspace(0, 1, bins + 1)
    ax.hist(real.numpy(), bins=edges, alpha=0.6, label=f"real (mean {float(real.mean()):.2f})")
    ax.hist(fake.numpy(), bins=edges, alpha=0.6, label=f"fake (mean {float(fake.mean()):.2f})")
    ax.axvline(0.5, color="k", ls="--", lw=1)
    ax.set(xlabel="D(x) = sigmoid(logit)", ylabel="count", title=title or "Discriminator outputs")
    ax.legend()
    return fig


def _points(x, what: str) -> np.ndarray:
    x = torch.as_tensor(x).detach().double().cpu()
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"{what} must be 2-D points of shape (n, 2); got {tuple(x.shape)}")
    return x.numpy()


def _d_surface(discriminator, lo: float, hi: float, resolution: int):
    """D(x) = sigmoid(logit) on a resolution^2 grid over [lo, hi]^2, on D's device."""
    ticks = torch.linspace(lo, hi, resolution)
    gx, gy = torch.meshgrid(ticks, ticks, indexing="xy")  # (R, R) each
    grid = (torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (R*R, 2)
            .to(_device(discriminator)))
    # a PacGAN discriminator judges `pack` samples at once: show D on `pack` copies of each point
    grid = grid.repeat_interleave(getattr(discriminator, "pack", 1), dim=0)
    with _evaluating(discriminator):
        prob = discriminator(grid).sigmoid().reshape(resolution, resolution).float().cpu()
    return gx.numpy(), gy.numpy(), prob.numpy()


def plot_2d(samples, real=None, discriminator=None, ax=None, lim=None, title: str | None = None,
            centers=None, resolution: int = 120) -> Figure:
    """Fake 2-D samples over real ones, with D(x) as a filled contour behind them.

    Args:
        samples: fake points (n, 2), e.g. `trainer.sample(500)`; real: points drawn underneath.
        discriminator: maps (m, 2) to logits (m, 1); D(x) = sigmoid(logit) is evaluated on a
            resolution^2 grid on its device, drawn with a colorbar.
        lim: half-width of the square view, or (lo, hi) (default: fits the points).
        centers: (K, 2) mode centers to mark; ax, title: as in the other plots.
    Returns:
        The Figure.
    """
    fig, ax = _axes(ax, figsize=(5.5, 4.5))
    fake = _points(samples, "samples")
    if lim is None:
        shown = [fake] + ([_points(real, "real")] if real is not None else [])
        lim = 1.15 * max([1.0] + [float(np.abs(p).max()) for p in shown if p.size])
    lo, hi = (-float(lim), float(lim)) if np.isscalar(lim) else map(float, lim)
    if discriminator is not None:
        gx, gy, prob = _d_surface(discriminator, lo, hi, resolution)
        cs = ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        fig.colorbar(cs, ax=ax, label="D(x)")
    if real is not None:
        r = _points(real, "real")
        ax.scatter(r[:, 0], r[:, 1], s=4, c="k", alpha=0.3, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="C1", alpha=0.7, label="fake G(z)")
    if centers is not None:
        c = _points(centers, "centers")
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=40, c="g", label="modes")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal")
    ax.legend(loc="upper right", fontsize="small")
    if title:
        ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------- the latent space
def interpolate(z0: Tensor, z1: Tensor, steps: int = 8, method: str = "linear") -> Tensor:
    """Points from z0 to z1 (both ends included), shape (steps, latent_dim).

    "linear" walks the chord; "slerp" walks the great circle (White 2016), keeping the norm
    typical of Gaussian noise when z0 and z1 have equal norms.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}")
    z0, z1 = torch.as_tensor(z0).reshape(-1), torch.as_tensor(z1).reshape(-1)
    if z0.shape != z1.shape or steps < 2:
        raise ValueError(f"need two latents of one shape and steps >= 2; got {tuple(z0.shape)}, "
                         f"{tuple(z1.shape)}, steps={steps}")
    a, b = z0.double(), z1.to(z0.device).double()
    t = torch.linspace(0, 1, steps, dtype=torch.float64, device=a.device)[:, None]  # (steps, 1)
    cos = (a @ b) / (a.norm() * b.norm()).clamp(min=1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if method == "linear" or omega.sin().abs() < 1e-6:  # (anti)parallel: slerp is undefined
        out = (1 - t) * a + t * b
    else:
        out = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / omega.sin()
    return out.to(z0.dtype)


def generate(generator, z: Tensor, y=None) -> Tensor:
    """G(z) on the CPU, computed on G's device in eval mode (a label y is repeated for each z)."""
    z = z.to(_device(generator))
    with _evaluating(generator):
        return (generator(z) if y is None
                else generator(z, torch.as_tensor(y).to(z.device).expand(len(z)))).cpu()


def plot_interpolation(generator, z0=None, z1=None, steps: int = 8, method: str = "linear",
                       latent_dim: int | None = None, y=None, seed: int = 0, ax=None,
                       title: str | None = None) -> Figure:
    """A row of images G(z) along the path from z0 to z1 (random ends from `seed` when omitted)."""
    if z0 is None or z1 is None:
        if latent_dim is None:
            raise ValueError("pass z0 and z1, or latent_dim so that random end points can be drawn")
        z0, z1 = torch.randn(2, latent_dim, generator=torch.Generator().manual_seed(seed))
    x = generate(generator, interpolate(z0, z1, steps, method).float(), y)
    fig, ax = _axes(ax, figsize=(steps, 1.5))
    return image_grid(x, nrow=steps, ax=ax,
                      title=title or f"{method} interpolation from $z_0$ to $z_1$")


def animate_snapshots(snapshots, kind: str = "2d", interval: int = 200, real=None, lim=None,
                      nrow: int = 8) -> animation.FuncAnimation:
    """An animation with one frame per (step, tensor) snapshot; show it with `to_html`.

    Args:
        snapshots: list of (step, samples): points (n, 2) for kind="2d", images for "images".
        kind: "2d" (scatter over optional `real` points) or "images" (a grid, `nrow` per row).
        interval: milliseconds between frames.
        real: real points drawn under every 2-D frame; lim: half-width of the 2-D view.
    Returns:
        A `FuncAnimation` whose figure is already closed (it would otherwise show once more).
    """
    if kind not in ("2d", "images") or not snapshots:
        raise ValueError("need kind '2d' or 'images' and at least one snapshot; "
                         f"got {kind!r}, {len(snapshots)}")
    steps = [int(s) for s, _ in snapshots]
    if kind == "2d":
        frames = [_points(x, "snapshot") for _, x in snapshots]
        fig = plot_2d(frames[0], real=real,
                      lim=lim or 1.15 * max([1.0] + [np.abs(f).max() for f in frames if f.size]))
        artist = fig.axes[0].collections[-1]  # the fake scatter
        set_frame = artist.set_offsets
    else:
        frames = [_grid(x, nrow) for _, x in snapshots]
        fig = image_grid(snapshots[0][1], nrow=nrow)
        artist = fig.axes[0].images[0]
        set_frame = artist.set_data

    def update(i):
        set_frame(frames[i])
        fig.axes[0].set_title(f"step {steps[i]}")
        return (artist,)

    update(0)
    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)
    plt.close(fig)
    return anim


def to_html(anim: animation.FuncAnimation):
    """The animation as an interactive JavaScript player for a notebook cell (jshtml)."""
    from IPython.display import HTML

    return HTML(anim.to_jshtml())


def plot_mode_coverage(tracks: dict, ax=None, title: str = "Modes captured during training"):
    """One line per labelled `metrics.ModeCoverage` (modes captured against the step)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    for label, track in tracks.items():
        ax.plot(track.steps, track.modes, marker="o", ms=3, label=label)
    totals = {t.total for t in tracks.values() if t.total}
    for total in totals:
        ax.axhline(total, color="k", ls="--", lw=1, label=f"all {total} modes")
    ax.set(xlabel="generator step", ylabel="modes captured", title=title,
           ylim=(-0.5, max(totals, default=8) + 0.5))
    ax.legend(fontsize="small")
    return ax.figure


def fill_in_frames(x: Tensor, counts: Sequence[int]) -> Tensor:
    """Binary images as they look while being drawn: pixels >= k shown grey, for each k in counts.

    Args:
        x: binary images (m, C, H, W) in {0, 1}.
        counts: how many pixels (raster order) have been drawn in each frame.
    Returns:
        images in [-1, 1] (black 0, white 1, grey not drawn yet), shape (m * len(counts), C, H, W),
        one row of frames per image: show with `image_grid(..., nrow=len(counts))`.
    """
    d = x[0].numel()
    if any(not 0 <= int(k) <= d for k in counts) or not len(counts):
        raise ValueError(f"counts must be pixel counts in [0, {d}]; got {list(counts)}")
    flat = 2 * x.flatten(1).float() - 1  # (m, d) in {-1, 1}
    drawn = (torch.arange(d, device=x.device)[None, None, :]
             < torch.as_tensor(list(counts), device=x.device)[None, :, None])
    frames = torch.where(drawn, flat[:, None, :], 0.0)  # (m, len(counts), d)
    return frames.reshape(-1, *x.shape[1:])


def sweep_images(generator, latent_dim: int, coords, values, seed: int, y=None) -> Tensor:
    """G(z) where each row moves one latent coordinate of a seeded z through `values`."""
    base = torch.randn(latent_dim, generator=torch.Generator().manual_seed(seed))
    z = base.repeat(len(coords) * len(values), 1)  # (rows*cols, latent_dim)
    for r, c in enumerate(coords):
        z[r * len(values) : (r + 1) * len(values), c] = torch.as_tensor(values, dtype=z.dtype)
    return generate(generator, z, y)
