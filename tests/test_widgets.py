"""Tests of eep596gan.lecture_tools: the lecture 06/07 helpers."""

from types import SimpleNamespace

import matplotlib
import pytest
import torch

from eep596gan.data import load_images, mode_centers
from eep596gan.lecture_tools import (
    ModeCoverage,
    describe_samples,
    fit_cyclegan,
    fit_pix2pix,
    ink,
    plot_mode_coverage,
    trainer_from_recipe,
    training_explorer,
)
from eep596gan.models import DCGANDiscriminator, MLPDiscriminator
from eep596gan.models.translation import PatchDiscriminator, UNetGenerator, paired_digits
from eep596gan.recipes import recipe


def test_trainer_from_recipe_uses_the_recipes_settings():
    r = recipe("gan", "ring8", k=3, loss="minimax", lr=1e-3, steps=50, pack=1)
    t = trainer_from_recipe(r, (2,), seed=4, device="cpu")
    cfg = t.config
    assert (cfg.k, cfg.loss, cfg.lr, cfg.betas, cfg.seed, cfg.decay_steps) == (3, "minimax", 1e-3, r.betas, 4, 50)
    assert cfg.latent_dim == r.latent_dim and isinstance(t.discriminator, MLPDiscriminator)
    assert trainer_from_recipe(recipe("gan", "ring8", decay=False), (2,), device="cpu").config.decay_steps is None


def _fake_trainer(points):
    """Stands in for a GANTrainer whose generator always returns `points`."""
    return SimpleNamespace(config=SimpleNamespace(latent_dim=3), sample=lambda z: points[: len(z)])


def test_mode_coverage_callback_counts_exact_centers_and_far_points():
    centers, sigma = mode_centers("ring8")
    track = ModeCoverage("ring8", n=16)
    on_modes = centers.repeat(2, 1)  # (16, 2): every mode hit twice
    track(_fake_trainer(on_modes), 10)
    half = on_modes.clone()
    half[:, 0] += 10 * sigma * (torch.arange(16) % 2)  # every other point is far from its mode
    track(_fake_trainer(half), 20)
    track(_fake_trainer(torch.full((16, 2), 50.0)), 30)
    assert track.steps == [10, 20, 30] and track.total == 8
    assert track.modes == [8, 4, 0]  # centers.repeat puts modes 0..7 twice: the even rows keep 0,2,4,6
    assert track.quality == pytest.approx([1.0, 0.5, 0.0])
    fig = plot_mode_coverage({"fake": track})
    assert fig.axes[0].get_ylabel() == "modes captured"
    matplotlib.pyplot.close(fig)


def test_ink_is_the_mean_brightness_in_zero_one():
    x = torch.stack([torch.full((1, 8, 8), -1.0), torch.full((1, 8, 8), 1.0), torch.zeros(1, 8, 8)])
    x[2, 0, :4] = 1.0  # half the rows white on a grey image: (0.5 * 32 + 1 * 32) / 64
    torch.testing.assert_close(ink(x), torch.tensor([0.0, 1.0, 0.75]))


def test_describe_samples_reports_the_classifiers_argmax_and_the_ink(monkeypatch):
    import eep596gan.lecture_tools as lt

    torch.manual_seed(0)
    probe = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))  # stands in for the CNN
    monkeypatch.setattr(lt, "load_classifier", lambda dataset: probe)
    x_test, _ = load_images("digits", split="test")

    class Replay(torch.nn.Module):  # a "generator" that returns the z-th held-out digit
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(()))

        def forward(self, z):
            return x_test[z[:, 0].long()]

    z = torch.arange(len(x_test), dtype=torch.float32)[:, None]
    out = describe_samples(Replay(), z)
    with torch.no_grad():
        probs = torch.softmax(probe(x_test).double(), 1)  # float64 reference
    torch.testing.assert_close(out["x"], x_test)
    torch.testing.assert_close(out["ink"], ((x_test.double() + 1) / 2).flatten(1).mean(1).float())
    assert torch.equal(out["label"], probs.argmax(1))
    torch.testing.assert_close(out["confidence"].double(), probs.max(1).values, rtol=1e-5, atol=1e-6)


def test_fit_pix2pix_learns_the_inverse_of_a_negative():
    torch.manual_seed(0)
    source, target = paired_digits("invert")
    g, d = UNetGenerator(width=8), PatchDiscriminator(width=8)
    history = fit_pix2pix(g, d, source, target, steps=40, batch_size=32, lr=1e-3, device="cpu", progress=False)
    assert set(history) == {"d_loss", "g_loss", "l1"} and all(len(v) == 40 for v in history.values())
    g.eval()
    with torch.no_grad():
        l1 = (g(source[:200]) - target[:200]).abs().mean().item()
    baseline = (source[:200] - target[:200]).abs().mean().item()  # copying the input
    assert 0 < l1 < baseline / 3


def test_fit_pix2pix_and_cyclegan_refuse_unpaired_or_bad_arguments():
    g, d = UNetGenerator(width=4), PatchDiscriminator(width=4)
    x = torch.zeros(10, 1, 8, 8)
    with pytest.raises(ValueError, match="needs pairs"):
        fit_pix2pix(g, d, x, x[:5], steps=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="steps must be"):
        fit_pix2pix(g, d, x, x, steps=-1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit_cyclegan(g, g, d, d, x, x, steps=1, batch_size=0, device="cpu", progress=False)


def test_fit_cyclegan_makes_the_round_trip_close_to_identity():
    torch.manual_seed(0)
    digits, _ = load_images("digits")
    x, y = digits[:700], -digits[700:1400]  # unpaired: different digits in the two domains
    g, f = UNetGenerator(width=8), UNetGenerator(width=8)
    d_x, d_y = DCGANDiscriminator((1, 8, 8), width=8), DCGANDiscriminator((1, 8, 8), width=8)
    history = fit_cyclegan(g, f, d_x, d_y, x, y, steps=40, batch_size=32, lr=1e-3, device="cpu", progress=False)
    assert set(history) == {"d_loss", "g_loss", "cycle"} and all(len(v) == 40 for v in history.values())
    first, last = sum(history["cycle"][:5]) / 5, sum(history["cycle"][-5:]) / 5
    assert 0 < last < first / 2


def test_training_explorer_static_draws_a_run_and_refuses_bad_arguments():
    fig = training_explorer("ring8", steps=20, k=2, loss="minimax", mode="static", device="cpu")
    assert len(fig.axes) >= 3 and "k=2, minimax" in fig.axes[0].get_title()
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="mode must be"):
        training_explorer(mode="slider")
    with pytest.raises(ValueError, match="ring8"):
        training_explorer("moons")


def test_training_explorer_widget_reruns_with_the_chosen_k_and_loss(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs: shown.extend(objs))
    fig = training_explorer("grid25", steps=10, mode="widget", device="cpu")
    assert "k=1, nonsaturating" in fig.axes[0].get_title()
    matplotlib.pyplot.close(fig)
    controls, _ = shown[0].children  # VBox([HBox([k, loss, steps, button]), output])
    k_box, loss_box, steps_box, button = controls.children
    k_box.value, loss_box.value, steps_box.value = 2, "hinge", 100
    button.click()  # runs the callback, which displays the new figure
    titles = [f.axes[0].get_title() for f in shown[1:]]
    assert len(titles) == 1 and "k=2, hinge" in titles[0]
