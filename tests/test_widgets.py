"""Tests of eep596gan.widgets: the explorers (widget and static modes) and `in_kernel`."""

import importlib.util
import sys
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import pytest

from eep596gan import widgets
from eep596gan.models import MLPGenerator
from eep596gan.widgets import in_kernel, latent_explorer, training_explorer


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------- in_kernel
def test_in_kernel_is_false_outside_jupyter():
    assert in_kernel() is False


def test_in_kernel_needs_a_kernel_shell_and_ipywidgets(monkeypatch):
    pytest.importorskip("ipywidgets")
    shell = SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: shell))
    assert in_kernel() is True
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: object()))
    assert in_kernel() is False  # a plain IPython terminal: no kernel to display widgets in
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: shell))
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(widgets.importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipywidgets" else find_spec(name, *a))
    assert in_kernel() is False  # a kernel without ipywidgets: the static fallback


# ---------------------------------------------------------------------------- latent_explorer
def test_latent_explorer_widget_redraws_when_a_slider_moves():
    ipywidgets = pytest.importorskip("ipywidgets")
    gen = MLPGenerator(6, (1, 8, 8), hidden=(16,))
    box = latent_explorer(gen, 6, n_sliders=3, mode="widget")
    assert isinstance(box, ipywidgets.HBox)
    controls, image = box.children
    assert len(controls.children) == 4  # the seed and 3 coordinates
    first = image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    controls.children[1].value = 2.5
    assert image.value != first
    assert not plt.get_fignums()  # redraws do not leave pyplot figures behind


def test_latent_explorer_falls_back_to_a_static_sweep_outside_a_kernel():
    gen = MLPGenerator(5, (1, 8, 8), hidden=(16,), num_classes=10)
    # mode="auto", no kernel here
    fig = latent_explorer(gen, 5, n_sliders=2, y=3, values=(-2, 0, 2))
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (2 * 9 + 1, 3 * 9 + 1)  # rows: coordinates; columns: values


def test_latent_explorer_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be"):
        latent_explorer(MLPGenerator(5, (1, 8, 8), hidden=(16,)), 5, mode="slider")


# ---------------------------------------------------------------------------- training_explorer
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
