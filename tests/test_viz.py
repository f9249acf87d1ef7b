"""Plots run on tiny inputs (Agg) and draw what they say; interpolation's math; animations;
the generator helpers behind the explorers; mode-coverage curves and fill-in frames."""

import math
import re
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from torchvision.utils import make_grid

from eep596gan.data import mode_centers
from eep596gan.metrics import ModeCoverage
from eep596gan.models import DCGANGenerator, MLPDiscriminator
from eep596gan.viz import (
    animate_snapshots,
    fill_in_frames,
    generate,
    image_grid,
    interpolate,
    plot_2d,
    plot_d_histogram,
    plot_d_outputs,
    plot_interpolation,
    plot_losses,
    plot_mode_coverage,
    save_image_grid,
    sweep_images,
    to_html,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(n: int) -> dict:
    g = torch.Generator().manual_seed(0)
    return {
        "d_loss": (0.69 + 0.1 * torch.randn(n, generator=g)).tolist(),
        "g_loss": (0.69 + 0.1 * torch.randn(n, generator=g)).tolist(),
        "d_real": torch.rand(n, generator=g).tolist(),
        "d_fake": torch.rand(n, generator=g).tolist(),
    }


# ---------------------------------------------------------------------------- grids
def test_image_grid_shows_make_grids_layout_in_gray_scaled_to_unit_range():
    x = torch.linspace(-1, 1, 10 * 64).reshape(10, 1, 8, 8)
    fig = image_grid(x, nrow=5, title="samples")
    (ax,) = fig.axes
    shown = ax.images[0].get_array()
    want = make_grid((x + 1) / 2, nrow=5, padding=1, pad_value=1.0)[0]  # (H, W)
    assert shown.shape == tuple(want.shape) == (2 * 9 + 1, 5 * 9 + 1)
    np.testing.assert_allclose(shown, want.numpy(), atol=1e-6)
    assert ax.images[0].get_cmap().name == "gray" and ax.get_title() == "samples"


def test_image_grid_shows_color_images_as_rgb():
    fig = image_grid(torch.zeros(3, 3, 8, 8), nrow=3)
    assert fig.axes[0].images[0].get_array().shape == (10, 28, 3)


def test_image_grid_refuses_flat_vectors():
    with pytest.raises(ValueError, match=r"\(m, C, H, W\)"):
        image_grid(torch.zeros(4, 64))


def test_save_image_grid_writes_a_png_of_make_grids_size(tmp_path):
    from PIL import Image

    x = torch.rand(11, 1, 8, 8) * 2 - 1
    x[0] = -1.0  # a black image: 0 in the PNG
    path = save_image_grid(x, tmp_path / "sub" / "grid.png", nrow=4)
    want = make_grid((x + 1) / 2, nrow=4)  # save_image's defaults: padding 2
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (want.shape[2], want.shape[1])
        pixels = np.asarray(img.convert("L"))
    assert pixels[2:10, 2:10].max() == 0  # the first cell sits after 2 px of padding


# ---------------------------------------------------------------------------- curves
def test_plot_losses_draws_both_costs_with_labels():
    fig = plot_losses(_history(20))
    (ax,) = fig.axes
    assert len(ax.lines) == 2 and len(ax.get_legend().get_texts()) == 2
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), _history(20)["d_loss"])


def test_plot_losses_smooths_long_runs_with_a_trailing_moving_average():
    history = _history(300)
    fig = plot_losses(history, smooth=10)
    ax = fig.axes[0]
    assert len(ax.lines) == 4 and len(ax.get_legend().get_texts()) == 2
    y = np.asarray(history["g_loss"])
    want = np.array([y[max(0, i - 9) : i + 1].mean() for i in range(len(y))])
    np.testing.assert_allclose(ax.lines[3].get_ydata(), want, rtol=1e-10)


def test_plot_losses_names_the_missing_keys():
    with pytest.raises(KeyError, match="g_loss"):
        plot_losses({"d_loss": [1.0]})


def test_plot_d_outputs_draws_both_means_and_the_half_line():
    history = _history(15)
    fig = plot_d_outputs(history)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history["d_real"])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), history["d_fake"])
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [0.5, 0.5])
    assert len(ax.get_legend().get_texts()) == 3


def test_plot_d_histogram_bins_sigmoid_of_logits():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(200, 1, generator=g) + 2, torch.randn(100, 1, generator=g) - 2
    fig = plot_d_histogram(real, fake, bins=20, title="D")
    ax = fig.axes[0]
    assert len(ax.patches) == 40 and ax.get_title() == "D"
    heights = np.array([p.get_height() for p in ax.patches])
    want_real, _ = np.histogram(torch.sigmoid(real.double()).numpy(), bins=np.linspace(0, 1, 21))
    np.testing.assert_array_equal(heights[:20], want_real)
    assert heights[20:].sum() == 100


def test_plot_d_histogram_refuses_logits_passed_as_probabilities():
    with pytest.raises(ValueError, match="logits=True"):
        plot_d_histogram(torch.tensor([3.0]), torch.tensor([0.5]), logits=False)


# ---------------------------------------------------------------------------- 2-D
class _RecordingD(nn.Module):
    """logit = x_0, recording whether grad was enabled and the module was in training mode."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls = []

    def forward(self, x):
        self.calls.append((torch.is_grad_enabled(), self.training, x.shape))
        return self.scale * x[:, :1]


def test_plot_2d_draws_d_contours_on_a_grid_without_grad_in_eval_mode():
    d = _RecordingD()
    fig = plot_2d(torch.randn(50, 2), real=torch.randn(60, 2), discriminator=d, lim=3,
                  centers=torch.zeros(2, 2), title="t", resolution=30)
    ax, cbar = fig.axes
    assert cbar.get_ylabel() == "D(x)" and ax.get_title() == "t"
    assert d.calls == [(False, False, (900, 2))] and d.training  # the mode is restored
    assert len(ax.collections) == 4  # contour, real, fake, centers
    assert ax.get_xlim() == (-3, 3) and ax.get_aspect() == 1.0
    levels = ax.collections[0].levels
    assert levels[0] == 0 and levels[-1] == 1


def test_plot_2d_without_discriminator_fits_the_points():
    fig = plot_2d(torch.tensor([[0.0, 5.0], [1.0, -1.0]]))
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.collections) == 1
    assert ax.get_xlim()[1] == pytest.approx(5 * 1.15)


def test_plot_2d_works_with_the_library_discriminator():
    fig = plot_2d(torch.randn(20, 2), discriminator=MLPDiscriminator((2,)), resolution=10)
    assert len(fig.axes) == 2


def test_plot_2d_refuses_images():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot_2d(torch.zeros(5, 1, 8, 8))


# ---------------------------------------------------------------------------- interpolation
@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_hits_both_endpoints_exactly(method):
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 16, generator=g)
    path = interpolate(z0, z1, steps=7, method=method)
    assert path.shape == (7, 16) and path.dtype == z0.dtype
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)


def test_linear_interpolation_is_evenly_spaced_on_the_chord():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    want = torch.tensor([[0.0, 2.0], [1.0, 1.0], [2.0, 0.0], [3.0, -1.0], [4.0, -2.0]])
    torch.testing.assert_close(interpolate(z0, z1, 5), want)


def test_slerp_keeps_the_norm_and_walks_the_great_circle():
    g = torch.Generator().manual_seed(1)
    z0, z1 = torch.randn(2, 32, generator=g, dtype=torch.float64)
    z1 = z1 * z0.norm() / z1.norm()  # equal norms
    path = interpolate(z0, z1, 9, "slerp")
    torch.testing.assert_close(path.norm(dim=1), z0.norm().expand(9), rtol=1e-12, atol=0)
    e0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    e1 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    mid = interpolate(e0, e1, 3, "slerp")[1]
    torch.testing.assert_close(mid, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)],
                                                 dtype=torch.float64))


def test_slerp_of_parallel_latents_falls_back_to_linear():
    z = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(interpolate(z, 3 * z, 3, "slerp"),
                               interpolate(z, 3 * z, 3, "linear"))


def test_interpolate_refuses_unknown_methods_and_shape_mismatch():
    with pytest.raises(ValueError, match="slerp"):
        interpolate(torch.zeros(2), torch.ones(2), method="cubic")
    with pytest.raises(ValueError, match="one shape"):
        interpolate(torch.zeros(2), torch.ones(3))


def test_plot_interpolation_shows_one_row_of_generated_images():
    gen = DCGANGenerator(8, out_shape=(1, 8, 8), width=8)
    fig = plot_interpolation(gen, latent_dim=8, steps=6, method="slerp")
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (8 + 2, 6 * 9 + 1) and "slerp" in fig.axes[0].get_title()
    assert gen.training  # the generator's mode is restored
    with pytest.raises(ValueError, match="latent_dim"):
        plot_interpolation(gen)


# ---------------------------------------------------------------------------- animations
def test_2d_animation_has_one_frame_per_snapshot_and_moves_the_points():
    snapshots = [(10 * i, torch.randn(30, 2) * (i + 1)) for i in range(4)]
    anim = animate_snapshots(snapshots, kind="2d", real=torch.randn(20, 2))
    assert len(list(anim.new_frame_seq())) == 4
    anim._func(2)  # draw frame 2
    ax = anim._fig.axes[0]
    np.testing.assert_allclose(ax.collections[-1].get_offsets(), snapshots[2][1].numpy(), rtol=1e-6)
    assert ax.get_title() == "step 20"
    html = to_html(anim).data
    assert sorted(set(re.findall(r"frames\[(\d+)\]", html))) == ["0", "1", "2", "3"]


def test_image_animation_has_one_frame_per_snapshot():
    snapshots = [(i, torch.rand(6, 1, 8, 8) * 2 - 1) for i in range(3)]
    anim = animate_snapshots(snapshots, kind="images", nrow=3)
    assert len(list(anim.new_frame_seq())) == 3
    anim._func(1)
    want = make_grid((snapshots[1][1] + 1) / 2, nrow=3, padding=1, pad_value=1.0)[0]
    np.testing.assert_allclose(anim._fig.axes[0].images[0].get_array(), want.numpy(), atol=1e-6)
    assert len(set(re.findall(r"frames\[(\d+)\]", to_html(anim).data))) == 3


def test_animation_refuses_empty_snapshots_and_unknown_kinds():
    with pytest.raises(ValueError, match="snapshot"):
        animate_snapshots([])
    with pytest.raises(ValueError, match="images"):
        animate_snapshots([(0, torch.zeros(3, 2))], kind="video")


def test_plot_2d_shows_a_pacgan_discriminator_on_copies_of_each_point():
    from eep596gan.models import MLPDiscriminator
    from eep596gan.viz import _d_surface

    d = MLPDiscriminator((2,), hidden=(8,), pack=2)
    gx, gy, prob = _d_surface(d, -1.0, 1.0, 5)
    assert prob.shape == (5, 5)
    point = torch.tensor([[gx[2, 3].item(), gy[2, 3].item()]])
    with torch.no_grad():
        expected = d(point.repeat(2, 1)).sigmoid().item()
    assert abs(prob[2, 3].item() - expected) < 1e-6


# ---------------------------------------------------------------------------- generator helpers
class _RecordingG(nn.Module):
    """G(z) = z repeated into (m, 1, 2, 2) images, recording grad mode and training mode."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls = []

    def forward(self, z, y=None):
        self.calls.append((torch.is_grad_enabled(), self.training, y))
        return (self.scale * z[:, :1]).view(-1, 1, 1, 1).expand(-1, 1, 2, 2)


def test_generate_runs_g_without_grad_in_eval_mode_and_restores_the_mode():
    g = _RecordingG()
    x = generate(g, torch.tensor([[0.5, 1.0], [-0.25, 0.0]]))
    assert x.shape == (2, 1, 2, 2) and not x.requires_grad
    torch.testing.assert_close(x[:, 0, 0, 0], torch.tensor([0.5, -0.25]))
    assert g.calls[0][:2] == (False, False) and g.training
    generate(g, torch.zeros(3, 2), y=4)  # a conditional generator gets one label per sample
    assert torch.equal(g.calls[1][2], torch.full((3,), 4))


def test_sweep_images_moves_one_coordinate_per_row_from_a_seeded_base():
    shown = []

    class Capture(nn.Module):  # records the z it is given; images are its first 4 coordinates
        def forward(self, z):
            shown.append(z.clone())
            return z[:, :4].reshape(-1, 1, 2, 2)

    x = sweep_images(Capture(), 5, coords=[0, 3], values=(-1.0, 0.0, 2.0), seed=7)
    assert x.shape == (6, 1, 2, 2)
    (z,) = shown
    base = torch.randn(5, generator=torch.Generator().manual_seed(7))
    for row, c in enumerate([0, 3]):
        block = z[3 * row : 3 * row + 3]
        torch.testing.assert_close(block[:, c], torch.tensor([-1.0, 0.0, 2.0]))
        others = [j for j in range(5) if j != c]
        torch.testing.assert_close(block[:, others], base[others].expand(3, 4))


# ---------------------------------------------------------------------------- mode coverage
def test_plot_mode_coverage_draws_one_line_per_track_and_the_total():
    centers, _ = mode_centers("ring8")
    track = ModeCoverage("ring8", n=16)

    def fake(points):  # stands in for a GANTrainer whose generator returns `points`
        return SimpleNamespace(config=SimpleNamespace(latent_dim=3),
                               sample=lambda z: points[: len(z)])

    track(fake(centers.repeat(2, 1)), 10)
    track(fake(torch.full((16, 2), 50.0)), 30)
    fig = plot_mode_coverage({"fake": track})
    ax = fig.axes[0]
    assert ax.get_ylabel() == "modes captured"
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [10, 30])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [8, 0])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [8, 8])  # the dashed "all 8 modes"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["fake", "all 8 modes"]


# ---------------------------------------------------------------------------- fill-in frames
def _bits(m, shape, seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (m, *shape), generator=gen).to(dtype)


def test_fill_in_frames_shows_drawn_pixels_and_grey_elsewhere():
    x = _bits(3, (1, 2, 3), seed=1)
    frames = fill_in_frames(x, [0, 2, 6]).view(3, 3, 6)  # (image, frame, pixel)
    assert torch.equal(frames[:, 0], torch.zeros(3, 6))
    assert torch.equal(frames[:, 1, :2], 2 * x.flatten(1)[:, :2] - 1)
    assert torch.equal(frames[:, 1, 2:], torch.zeros(3, 4))
    assert torch.equal(frames[:, 2], 2 * x.flatten(1) - 1)
    with pytest.raises(ValueError, match=r"pixel counts in \[0, 6\]"):
        fill_in_frames(x, [7])
