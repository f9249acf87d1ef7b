"""eep596gan.measure: counting a module's calls, timing a function, fitting a line."""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from eep596gan import measure
from eep596gan.measure import count_calls, linear_fit, time_calls
from eep596gan.models.autoregressive import PixelAR


def test_count_calls_counts_forward_calls_and_removes_its_hook():
    torch.manual_seed(0)
    model = PixelAR((1, 3, 3), hidden=(8,))
    with count_calls(model) as calls:
        model.sample(2)
    assert calls[0] == 9  # one call per pixel
    model(torch.zeros(1, 1, 3, 3))
    assert calls[0] == 9 and not model._forward_hooks


def test_count_calls_removes_its_hook_when_the_block_raises():
    model = torch.nn.Linear(2, 1)
    with pytest.raises(RuntimeError, match="boom"), count_calls(model) as calls:
        model(torch.zeros(1, 2))
        raise RuntimeError("boom")
    assert calls[0] == 1 and not model._forward_hooks


def test_time_calls_keeps_the_fastest_run_of_each_size(monkeypatch):
    clock = {"t": 0.0, "calls": 0}

    def fake_fn(n):  # takes n seconds, plus 1 second on every other call
        clock["calls"] += 1
        clock["t"] += n + (clock["calls"] % 2)

    monkeypatch.setattr(measure.time, "perf_counter", lambda: clock["t"])
    seconds = time_calls(fake_fn, [2, 5, 9], repeats=2)
    np.testing.assert_allclose(seconds, [2.0, 5.0, 9.0])
    assert clock["calls"] == 1 + 3 * 2  # warm-up, then repeats per size
    with pytest.raises(ValueError, match="repeats >= 1"):
        time_calls(fake_fn, [1], repeats=0)
    with pytest.raises(ValueError, match="at least one size"):
        time_calls(fake_fn, [])


def test_linear_fit_matches_sklearn():
    rng = np.random.default_rng(0)
    x = np.arange(1.0, 11.0)
    y = 0.3 * x + 2 + rng.normal(0, 0.5, x.size)
    slope, intercept, r2 = linear_fit(x, y)
    reg = LinearRegression().fit(x[:, None], y)
    assert math.isclose(slope, reg.coef_[0], rel_tol=1e-9)
    assert math.isclose(intercept, reg.intercept_, rel_tol=1e-9)
    assert math.isclose(r2, r2_score(y, reg.predict(x[:, None])), rel_tol=1e-9)
    assert 0 < r2 < 1
    assert linear_fit([1, 2, 3], [5, 7, 9]) == pytest.approx((2.0, 3.0, 1.0))
    with pytest.raises(ValueError, match="at least 2 points"):
        linear_fit([1.0], [2.0])
