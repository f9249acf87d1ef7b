"""Assignment likelihood_models: maximum likelihood, a fully visible belief net and the VAE.

Lectures 02-04. Students write a Gaussian mixture's log-likelihood (stable far from the modes),
the chain-rule log-likelihood of binary images from per-pixel logits and the masks of a MADE
network, and the VAE's reparameterization, KL term and negative ELBO. Locked cells then use their
functions: a mixture fitted by gradient ascent (and checked against the closed-form Gaussian MLE),
a MADE trained and sampled pixel by pixel, and a VAE trained on the digits.

Every hidden test block is self-contained (the student's answer cell runs before it and could
shadow any helper defined elsewhere) and calls the student's functions inside `_isolated()`:
warnings and printing are captured, and the library's versions raise. Each hidden test targets
one mistake, so that partial credit says what went wrong. The MADE masks are graded by what the
network does: a masked tanh MLP with random weights, and its Jacobian.

Longer than 300 lines: it is one notebook, cells in order, like the other assignments.
"""

import textwrap

from ._cells import (
    answer,
    before_you_submit,
    colab_install,
    hidden,
    isolated,
    locked,
    markdown,
    setup,
    test,
    test_helpers,
    visible,
    visible_summary,
    written,
)

# The library's versions of what the students write (the grader reads this from the notebook);
# eep596gan.losses.gaussian_kl shares a graded name and is covered without being listed.
REFERENCE_IMPLEMENTATIONS = (
    "eep596gan.losses:bernoulli_nll",
    "eep596gan.losses:reconstruction_nll",
    "eep596gan.losses:elbo",
    "eep596gan.losses:vae_loss",
    "eep596gan.models.vae:VAE",
    "eep596gan.models.autoregressive:PixelAR",
    "eep596gan.models.autoregressive:MaskedLinear",
    "eep596gan.models.mixture:GaussianMixture",
    "eep596gan.metrics:importance_log_likelihood",
    "eep596gan.metrics:independent_bernoulli_nll",
)

# ------------------------------------------------------------------ shared hidden-test preamble
ISOLATED = '''
import contextlib
import io
import math
import sys
import warnings

import torch
import torch.nn.functional as F

F64, F32 = torch.float64, torch.float32


def _library(losses):
    """The library's versions of this assignment's functions: they raise inside _isolated."""
    from eep596gan.models import autoregressive, mixture, vae

    found = [getattr(losses, name, None) for name in (
        "gaussian_kl", "bernoulli_nll", "reconstruction_nll", "elbo", "vae_loss")]
    found += [vae.VAE.reparameterize, vae.VAE.forward, autoregressive.PixelAR.forward,
              autoregressive.PixelAR.nll, autoregressive.MaskedLinear.forward,
              mixture.GaussianMixture.log_prob]
    metrics = sys.modules.get("eep596gan.metrics")  # (slow to import: only if already loaded)
    if metrics is not None:
        found += [getattr(metrics, "independent_bernoulli_nll", None)]
    return found

''' + isolated('eep596gan.losses', 'reference versions', "_library(lib)", 'the function') + '''
_isolated_calls = _isolated


@contextlib.contextmanager
def _isolated():
    """_isolated_calls, and eep596gan's MADE model cannot be built (its masks are an answer)."""
    def _refuse(self, *args, **kwargs):
        raise AssertionError("this answer builds eep596gan's PixelAR: write made_masks yourself")

    try:
        from eep596gan.models.autoregressive import PixelAR
        init = PixelAR.__dict__["__init__"]
        PixelAR.__init__ = _refuse
    except Exception:  # not importable here: nothing to delegate to
        PixelAR = None
    try:
        with _isolated_calls():
            yield
    finally:
        if PixelAR is not None:
            PixelAR.__init__ = init


def _value(out, what):
    """The single number in a result (refuses anything that is not a one-element tensor)."""
    assert isinstance(out, torch.Tensor), (
        f"{what} must return a torch.Tensor, got {type(out).__name__}")
    assert out.numel() == 1, f"{what} must return a scalar, got shape {tuple(out.shape)}"
    return float(out.detach().reshape(-1)[0])


def _values(out, shape, what):
    """The entries (float64 list) of a result that must be a tensor of `shape`."""
    assert isinstance(out, torch.Tensor), (
        f"{what} must return a torch.Tensor, got {type(out).__name__}")
    assert tuple(out.shape) == tuple(shape), (
        f"{what} must return shape {tuple(shape)}, got {tuple(out.shape)}")
    assert out.is_floating_point(), f"{what} must return floats, got {out.dtype}"
    return out.detach().double().reshape(-1).tolist()


def _close(actual, expected, rtol, atol):
    return math.isfinite(actual) and abs(actual - expected) <= atol + rtol * abs(expected)


def _check(actual, expected, rtol, atol, what):
    assert _close(actual, expected, rtol, atol), f"{what}: got {actual!r}, expected {expected!r}"


def _sp(a):
    """softplus(a) = log(1 + e^a) in float64, for any a:
    -log sigmoid(l) = sp(-l), -log(1 - sigmoid(l)) = sp(l)."""
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


def _tol(dtype):
    """(rtol, atol) for results computed in `dtype`."""
    return (1e-6, 1e-8) if dtype == F64 else (1e-4, 1e-5)
'''


def _visible(comment: str, calls: str) -> str:
    """The visible part of a hidden-test cell: what it checks, and a call that fails on the stub."""
    return textwrap.dedent(comment).strip("\n") + "\n" + calls


def _hidden_test(grade_id: str, points: int, comment: str, call: str, *blocks: str) -> dict:
    return test(grade_id, points, hidden(_visible(comment, call), ISOLATED, *blocks))


# ================================================================== Part 1: the mixture
MIX_REF = '''
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _log_mixture(x, logits, means, log_stds):
    """log sum_k softmax(logits)_k N(x; means_k, exp(log_stds_k)^2) for one float x: float64
    Python arithmetic, each sum shifted by its largest term (finite for any x)."""
    top = max(logits)
    log_norm = top + math.log(sum(math.exp(a - top) for a in logits))
    terms = [a - log_norm - 0.5 * ((x - m) / math.exp(s)) ** 2 - s - _HALF_LOG_2PI
             for a, m, s in zip(logits, means, log_stds)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def _mixture(xs, params, dtype=F64):
    """The answer on the samples xs (a list), params = (logits, means, log_stds) as lists."""
    return gaussian_mixture_log_likelihood(torch.tensor(xs, dtype=dtype),
                                           *(torch.tensor(p, dtype=dtype) for p in params))


def _params(gen, k, normalised=True):
    """Random parameters (lists): logits (log-weights when `normalised`), means, log_stds."""
    logits = torch.randn(k, generator=gen, dtype=F64)
    if normalised:  # softmax(logits) = exp(logits): a missing normalisation changes nothing
        logits = logits - torch.logsumexp(logits, 0)
    means = 3 * torch.randn(k, generator=gen, dtype=F64)
    log_stds = 0.5 * torch.randn(k, generator=gen, dtype=F64)
    return logits.tolist(), means.tolist(), log_stds.tolist()


def _near(gen, params, n):
    """n samples within 3 standard deviations of a random component (every density term is
    then far above float32's underflow)."""
    _, means, log_stds = params
    which = torch.randint(len(means), (n,), generator=gen).tolist()
    u = (6 * torch.rand(n, generator=gen, dtype=F64) - 3).tolist()
    return [means[j] + math.exp(log_stds[j]) * a for j, a in zip(which, u)]
'''

MIX_VALUES = '''
gen = torch.Generator().manual_seed(20)
with _isolated():
    for k in (1, 2, 3, 5):
        for _ in range(3):
            params = _params(gen, k)
            for x in _near(gen, params, 4):
                expected = _log_mixture(x, *params)
                for dtype in (F64, F32):
                    got = _value(_mixture([x], params, dtype), "gaussian_mixture_log_likelihood")
                    _check(got, expected, *_tol(dtype),
                           f"log p(x) of a mixture of K = {k} at x = {x:.4g} ({dtype}), weights "
                           f"{[round(math.exp(a), 3) for a in params[0]]}, means "
                           f"{[round(m, 3) for m in params[1]]}, stds "
                           f"{[round(math.exp(s), 3) for s in params[2]]}")
'''

MIX_FAR = '''
cases = [
    ([0.0], [0.0], [0.0]),
    ([math.log(0.3), math.log(0.7)], [0.0, 2.0], [0.0, math.log(0.5)]),
    ([math.log(0.2), math.log(0.5), math.log(0.3)], [-1.0, 0.0, 4.0], [0.3, -0.2, 0.0]),
]
with _isolated():
    for params in cases:
        for x in (60.0, -75.0, 1000.0, -1000.0):
            expected = _log_mixture(x, *params)
            for dtype in (F64, F32):
                got = _value(_mixture([x], params, dtype), "gaussian_mixture_log_likelihood")
                _check(got, expected, 1e-5, 1e-6,
                       f"log p(x) at x = {x:g}, far from every mode (K = {len(params[0])}, "
                       f"{dtype}): exp(log N) underflows to 0 there, so log(sum(exp(...))) is "
                       "-inf; compute it with a log-sum-exp (torch.logsumexp)")
            tensors = [torch.tensor(p, dtype=F64, requires_grad=True) for p in params]
            out = gaussian_mixture_log_likelihood(torch.tensor([x], dtype=F64), *tensors)
            if isinstance(out, torch.Tensor) and out.requires_grad:  # (gradients: own test)
                grads = torch.autograd.grad(out.sum(), tensors, allow_unused=True)
                for name, g in zip(("logits", "means", "log_stds"), grads):
                    assert g is None or bool(torch.isfinite(g).all()), (
                        f"the gradient with respect to {name} at x = {x:g} is {g.tolist()}: "
                        "compute log p(x) with a log-sum-exp")
'''

MIX_WEIGHTS = '''
gen = torch.Generator().manual_seed(21)
with _isolated():
    means, log_stds = [0.0, 1.5], [0.0, -0.3]
    for x in (-1.0, 0.5, 2.0):
        a = _value(_mixture([x], ([3.0, -1.0], means, log_stds)), "gaussian_mixture_log_likelihood")
        b = _value(_mixture([x], ([4.0, 0.0], means, log_stds)), "gaussian_mixture_log_likelihood")
        assert _close(a, b, 1e-9, 1e-9), (
            f"logits [3, -1] and [4, 0] give the same weights softmax(logits) = "
            f"[{1 / (1 + math.exp(-4)):.4f}, {1 / (1 + math.exp(4)):.4f}], but log p(x = {x}) "
            f"is {a} and {b}: the weights are softmax(logits), which sum to 1")
        _check(a, _log_mixture(x, [3.0, -1.0], means, log_stds), 1e-6, 1e-8,
               f"log p(x = {x}) with logits [3, -1] (weights softmax(logits))")
    for k in (2, 3, 4):
        logits = (2 + 2 * torch.randn(k, generator=gen, dtype=F64)).tolist()
        params = (logits, *_params(gen, k)[1:])
        for x in _near(gen, params, 3):
            _check(_value(_mixture([x], params), "gaussian_mixture_log_likelihood"),
                   _log_mixture(x, *params), 1e-6, 1e-8,
                   f"log p(x = {x:.4g}) with logits {[round(a, 3) for a in logits]}: the "
                   "weights are softmax(logits), not exp(logits) (these do not sum to 1)")
'''

MIX_BATCH = '''
gen = torch.Generator().manual_seed(22)
with _isolated():
    for m in (2, 5, 16, 40):
        params = _params(gen, 3, normalised=False)
        xs = _near(gen, params, m)
        singles = [_value(_mixture([x], params), "gaussian_mixture_log_likelihood") for x in xs]
        got = _value(_mixture(xs, params), f"gaussian_mixture_log_likelihood on {m} samples")
        mean = sum(singles) / m
        hint = " (that is their sum: divide by m)" if _close(got, sum(singles), 1e-6, 1e-8) else ""
        assert _close(got, mean, 1e-6, 1e-8), (
            f"on {m} samples the answer must be the mean of log p(x_i) over the samples, "
            f"{mean}, got {got}{hint}")
'''

MIX_GRADS = '''
gen = torch.Generator().manual_seed(23)
h = 1e-6
with _isolated():
    for k in (1, 3):
        params = _params(gen, k, normalised=False)
        xs = _near(gen, params, 5)
        tensors = [torch.tensor(p, dtype=F64, requires_grad=True) for p in params]
        out = gaussian_mixture_log_likelihood(torch.tensor(xs, dtype=F64), *tensors)
        assert isinstance(out, torch.Tensor) and out.requires_grad, (
            "gaussian_mixture_log_likelihood has no gradient: keep the computation in torch "
            "(no .item(), .detach(), numpy or math on the parameters)")
        grads = torch.autograd.grad(out.sum(), tensors, allow_unused=True)
        for i, (name, g) in enumerate(zip(("logits", "means", "log_stds"), grads)):
            assert g is not None, f"no gradient reaches {name}: use it through torch operations"
            for j in range(k):
                up = [list(p) for p in params]
                down = [list(p) for p in params]
                up[i][j] += h
                down[i][j] -= h
                slope = (_value(_mixture(xs, up), "gaussian_mixture_log_likelihood")
                         - _value(_mixture(xs, down), "gaussian_mixture_log_likelihood")) / (2 * h)
                _check(float(g[j]), slope, 1e-5, 1e-7,
                       f"d/d {name}[{j}] of the mean log-likelihood, K = {k} (autograd vs finite "
                       "differences of your function)")
'''

_CALL_MIX = ("_ = quietly(gaussian_mixture_log_likelihood, torch.zeros(1), torch.zeros(1),\n"
             "            torch.zeros(1), torch.zeros(1))")

# ================================================================== Part 2: the FVBN
AR_REF = '''
def _log_p(logits, x):
    """log p(x) of each image (a list): the sum over its pixels of log p(x_i | x_<i), where
    p(x_i = 1 | x_<i) = sigmoid(logit_i), in float64 Python arithmetic."""
    rows = zip(logits.detach().double().flatten(1).tolist(), x.detach().flatten(1).tolist())
    return [sum(-_sp(-a) if b == 1 else -_sp(a) for a, b in zip(ls, xs)) for ls, xs in rows]


def _case(gen, shape, dtype=F64, scale=3.0):
    """Random logits and binary images of `shape`."""
    logits = scale * torch.randn(shape, generator=gen, dtype=F64)
    x = (torch.rand(shape, generator=gen) < 0.5).to(F64)
    return logits.to(dtype), x.to(dtype)


def _ar(logits, x):
    """The answer's log p(x) per image, as a list (refuses any shape but (m,))."""
    return _values(autoregressive_log_likelihood(logits, x), (len(x),),
                   f"autoregressive_log_likelihood of {len(x)} images of shape "
                   f"{tuple(x.shape[1:])} (one log p(x) per image)")
'''

AR_VALUES = '''
gen = torch.Generator().manual_seed(30)
with _isolated():
    for shape in ((3, 5), (1, 7), (2, 1, 3, 4), (4, 2, 2, 2)):
        for dtype in (F64, F32):
            logits, x = _case(gen, shape, dtype)
            n = math.prod(shape[1:])
            first = [(-_sp(-a) if b == 1 else -_sp(a)) for a, b in
                     zip(logits.double().flatten(1)[:, 0].tolist(), x.flatten(1)[:, 0].tolist())]
            for i, (got, want) in enumerate(zip(_ar(logits, x), _log_p(logits, x))):
                hint = ""
                if _close(got, -want, 1e-4, 1e-4):
                    hint = ": that is -log p(x), the NLL; return log p(x)"
                elif _close(got, want / n, 1e-4, 1e-4):
                    hint = ": that is a mean over the pixels; log p(x) is their sum"
                elif _close(got, want - first[i], 1e-4, 1e-4):
                    hint = (": the first pixel's factor is missing (the chain rule starts with "
                            "p(x_1))")
                rtol, atol = _tol(dtype)
                assert _close(got, want, rtol, 10 * atol), (
                    f"log p(x) of image {i} of a batch of shape {shape} ({dtype}): got {got}, "
                    f"expected {want}{hint}")
'''

AR_SUMS = '''
gen = torch.Generator().manual_seed(31)
with _isolated():
    # one value per image: image i's log p(x) does not depend on the other images
    for shape in ((4, 6), (3, 1, 2, 3)):
        logits, x = _case(gen, shape)
        batch = _ar(logits, x)
        for i in range(len(x)):
            alone = _ar(logits[i:i + 1], x[i:i + 1])[0]
            assert _close(batch[i], alone, 1e-9, 1e-9), (
                f"log p(x) of image {i} is {batch[i]} in a batch of {len(x)} and {alone} on its "
                "own: return one value per image (no mean or sum over the batch)")
    # every pixel adds its own factor: changing logit j alone changes log p(x) by exactly the
    # change of log p(x_j | x_<j), for the first pixel, a middle one and the last
    for shape in ((2, 6), (2, 1, 2, 3)):
        logits, x = _case(gen, shape)
        base, n = _ar(logits, x), math.prod(shape[1:])
        for j in (0, n // 2, n - 1):
            moved = logits.clone()
            moved.view(len(x), -1)[:, j] += 2.0
            new = _ar(moved, x)
            for i in range(len(x)):
                a0, a1 = logits.flatten(1)[i, j].item(), moved.flatten(1)[i, j].item()
                b = x.flatten(1)[i, j].item()
                want = (-_sp(-a1) + _sp(-a0)) if b == 1 else (-_sp(a1) + _sp(a0))
                got = new[i] - base[i]
                hint = ""
                if abs(got) < 1e-12:
                    hint = (": this pixel does not count (the chain rule's first factor is "
                            "p(x_1), every pixel has one)" if j == 0 else ": it does not count")
                elif _close(abs(got), abs(want) / n, 1e-6, 1e-9):
                    hint = ": by 1/n of it, a mean over the pixels; log p(x) is their sum"
                assert _close(abs(got), abs(want), 1e-6, 1e-9), (
                    f"changing the logit of pixel {j} (of {n}, flattened) of image {i} changed "
                    f"log p(x) by {got}, expected {want}{hint}")
'''

AR_EXTREME = '''
def _one(out, what):
    """The single value of a one-image result (shape (1,); the shape has its own tests)."""
    assert isinstance(out, torch.Tensor) and out.numel() == 1, (
        f"{what}: expected one value for one image, got {out!r}")
    return float(out.detach().reshape(-1)[0])


with _isolated():
    for dtype in (F32, F64):
        for signs, what in (([1.0, 0.0, 1.0, 0.0], "agree with"),
                            ([0.0, 1.0, 0.0, 1.0], "contradict")):
            for shape in ((1, 4), (1, 1, 2, 2)):
                x = torch.tensor([signs], dtype=dtype).view(shape)
                values = {}
                for a in (20.0, 30.0, 100.0, 1000.0):
                    logits = torch.tensor([[a, -a, a, -a]], dtype=dtype).view(shape)
                    values[a] = _one(autoregressive_log_likelihood(logits, x),
                                     "autoregressive_log_likelihood")
                    assert math.isfinite(values[a]), (
                        f"log p(x) for logits +-{a:g} whose signs {what} the pixels ({dtype}) "
                        f"is {values[a]}: work with logits throughout (log sigmoid(l) is "
                        "-softplus(-l)); log(sigmoid(l)) is -inf there")
                # far from 0 every log p(x_i | x_<i) is flat or a straight line in the logit:
                # what happens at +-100 and +-1000 continues what happens between 20 and 30
                slope = (values[30.0] - values[20.0]) / 10
                for a in (100.0, 1000.0):
                    predicted = values[30.0] + (a - 30.0) * slope
                    assert _close(values[a], predicted, 1e-5, 1e-6), (
                        f"log p(x) for logits +-{a:g} whose signs {what} the pixels ({dtype}) is "
                        f"{values[a]}, but the trend between +-20 and +-30 predicts {predicted}: "
                        "is a probability clamped? Work with logits throughout "
                        "(log sigmoid(l) = -softplus(-l))")
'''

_CALL_AR = "_ = quietly(autoregressive_log_likelihood, torch.zeros(1, 2), torch.ones(1, 2))"

# ------------------------------------------------------------------ MADE masks
MADE_REF = '''
def _masks(n_in, hidden, order):
    """The answer's masks for this network, float64, after checking their number and shapes."""
    masks = made_masks(n_in, hidden, order)
    what = f"made_masks({n_in}, {list(hidden)}, {[int(i) for i in order]})"
    assert isinstance(masks, (list, tuple)), (
        f"{what} must return a list of masks, got {type(masks).__name__}")
    sizes = [n_in, *hidden, n_in]
    assert len(masks) == len(sizes) - 1, (
        f"{what}: one mask per layer, {len(sizes) - 1} for hidden = {list(hidden)}; "
        f"got {len(masks)}")
    out = []
    for layer, mask in enumerate(masks):
        if isinstance(mask, torch.Tensor):
            mask = mask.detach()
        mask = torch.as_tensor(mask).cpu()
        want = (sizes[layer + 1], sizes[layer])
        assert tuple(mask.shape) == want, (
            f"{what}: mask {layer} has shape {tuple(mask.shape)}; it multiplies the weight of "
            f"nn.Linear({sizes[layer]}, {sizes[layer + 1]}), shape (out_features, in_features) "
            f"= {want}")
        out.append(mask.to(F64))
    return out


def _depends(masks, gen, points=3):
    """d[i][j]: whether output i of a masked tanh MLP with random weights depends on input j
    (a nonzero entry of d out / d in at any of a few random inputs)."""
    weights = [torch.randn(m.shape, generator=gen, dtype=F64) * m / math.sqrt(m.shape[1])
               for m in masks]
    biases = [0.5 * torch.randn(m.shape[0], generator=gen, dtype=F64) for m in masks]

    def net(x):
        for layer, (w, b) in enumerate(zip(weights, biases)):
            x = F.linear(x, w, b)
            if layer < len(weights) - 1:
                x = torch.tanh(x)
        return x

    n = masks[0].shape[1]
    jac = sum(torch.autograd.functional.jacobian(
        net, torch.randn(n, generator=gen, dtype=F64)).abs() for _ in range(points))
    return (jac > 0).tolist()


def _orders(gen):
    """(name, order): identity, reversed, and random ones given as lists and as tensors."""
    return {"identity": lambda n: list(range(n)), "reversed": lambda n: list(range(n))[::-1],
            "random (a list)": lambda n: torch.randperm(n, generator=gen).tolist(),
            "random (a tensor)": lambda n: torch.randperm(n, generator=gen)}
'''

MADE_SHAPES = '''
gen = torch.Generator().manual_seed(40)
with _isolated():
    for n_in, hidden_sizes, order in ((4, [7], [0, 1, 2, 3]), (5, [6, 3], [4, 3, 2, 1, 0]),
                                      (6, [2], torch.randperm(6, generator=gen)),
                                      (3, [4, 4, 4], [2, 0, 1]), (2, [9], [1, 0])):
        for layer, mask in enumerate(_masks(n_in, hidden_sizes, order)):
            assert bool(((mask == 0) | (mask == 1)).all()), (
                f"made_masks({n_in}, {hidden_sizes}, ...): mask {layer} holds values other than "
                "0 and 1 (booleans or 0/1 numbers)")
'''

MADE_AUTOREGRESSIVE = '''
gen = torch.Generator().manual_seed(41)
with _isolated():
    for n_in, hidden_sizes in ((5, [12]), (4, [3]), (6, [10, 9]), (7, [5, 4]), (3, [8, 8, 8])):
        for name, make in _orders(gen).items():
            order = make(n_in)
            pos = {int(i): k for k, i in enumerate(order)}  # input index -> position in the order
            d = _depends(_masks(n_in, hidden_sizes, order), gen)
            for out in range(n_in):
                for inp in range(n_in):
                    if not d[out][inp] or pos[inp] < pos[out]:
                        continue
                    hint = (" (its own input: at the output layer, unit k reaches output i only "
                            "when i's degree is strictly greater than k's)" if out == inp else
                            " (is the order used? input order[k] gets degree k + 1)")
                    raise AssertionError(
                        f"n_in = {n_in}, hidden = {hidden_sizes}, order {name} "
                        f"{[int(i) for i in order]}: output {out} (position {pos[out]} in the "
                        f"order) depends on input {inp} (position {pos[inp]}){hint}; output "
                        "order[k] may depend only on inputs order[0], ..., order[k-1]")
'''

MADE_CONNECTED = '''
gen = torch.Generator().manual_seed(42)
with _isolated():
    for n_in, hidden_sizes in ((5, [64]), (6, [64, 64]), (4, [64, 64, 64])):
        for name, make in _orders(gen).items():
            order = make(n_in)
            d = _depends(_masks(n_in, hidden_sizes, order), gen)
            # inputs each output depends on, its own input left out (that is the other test's
            # business, like which inputs they are): a MADE's outputs see 0, 1, ..., n - 1
            counts = sorted(sum(d[i][j] for j in range(n_in) if j != i) for i in range(n_in))
            assert all(c >= k for k, c in enumerate(counts)), (
                f"n_in = {n_in}, hidden = {hidden_sizes} (wide layers), order {name} "
                f"{[int(i) for i in order]}: the outputs depend on {counts} inputs (sorted), "
                f"expected {list(range(n_in))}: with wide hidden layers a MADE connects every "
                "output to every earlier input. Connections are missing: a hidden unit of "
                "degree m should see the units of degree <= m below it (>=, not >, in the hidden "
                "layers)")
'''

_CALL_MADE = "_ = quietly(made_masks, 3, [4], [0, 1, 2])"

# ================================================================== Part 3: the VAE
VAE_REF = '''
def _gauss(gen, shape, dtype=F64, scale=1.0):
    return (scale * torch.randn(shape, generator=gen, dtype=F64)).to(dtype)


def _kl(mu, log_var):
    """KL(N(mu, diag exp(log_var)) || N(0, I)) of each row, float64 Python arithmetic."""
    return [sum(0.5 * (m * m + math.exp(v) - 1 - v) for m, v in zip(ms, vs))
            for ms, vs in zip(mu.detach().double().tolist(), log_var.detach().double().tolist())]
'''

REPARAM_VALUES = '''
gen = torch.Generator().manual_seed(50)
with _isolated():
    for shape in ((3, 2), (1, 5), (4, 3), (2, 1)):
        for dtype in (F64, F32):
            mu, log_var = _gauss(gen, shape, dtype), _gauss(gen, shape, dtype, 1.5)
            eps = _gauss(gen, shape, dtype)
            got = _values(reparameterize(mu, log_var, eps), shape,
                          f"reparameterize of shape {shape}")
            triples = zip(*(t.double().reshape(-1).tolist() for t in (mu, log_var, eps)))
            for g, (m, v, e) in zip(got, triples):
                hint = ""
                for guess, what in ((m + math.exp(v) * e, "exp(log_var) (the variance) as "
                                     "the standard deviation"),
                                    (m + v * e, "log_var as the standard deviation"),
                                    (m + v, "mu + log_var: eps is ignored"),
                                    (m + math.exp(v / 2), "mu + std: eps is ignored")):
                    if _close(g, guess, 1e-4, 1e-5):
                        hint = f" (that uses {what})"
                        break
                _check(g, m + math.exp(v / 2) * e, *_tol(dtype),
                       f"reparameterize at mu = {m:.4g}, log_var = {v:.4g}, eps = {e:.4g} "
                       f"({dtype}): z = mu + exp(log_var / 2) * eps{hint}")
'''

REPARAM_GRADS = '''
gen = torch.Generator().manual_seed(51)
h = 1e-6
with _isolated():
    for shape in ((3, 2), (1, 4)):
        mu = _gauss(gen, shape).requires_grad_()
        log_var = _gauss(gen, shape).requires_grad_()
        eps, w = _gauss(gen, shape), _gauss(gen, shape)
        out = reparameterize(mu, log_var, eps)
        assert isinstance(out, torch.Tensor) and out.requires_grad, (
            "reparameterize's result has no gradient: z must be computed from mu, log_var and "
            "eps in torch. Sampling (torch.distributions.Normal(...).sample(), torch.normal) "
            "cuts the graph; the trick is z = mu + std * eps")
        grads = torch.autograd.grad((w * out).sum(), (mu, log_var), allow_unused=True)
        for name, grad in zip(("mu", "log_var"), grads):
            assert grad is not None, f"no gradient reaches {name}"
        for i in range(shape[0]):
            for j in range(shape[1]):
                for which, (name, grad) in enumerate(zip(("mu", "log_var"), grads)):
                    args = [mu.detach(), log_var.detach()]
                    up, down = [a.clone() for a in args], [a.clone() for a in args]
                    up[which][i, j] += h
                    down[which][i, j] -= h
                    slope = float((w * (reparameterize(*up, eps)
                                        - reparameterize(*down, eps))).sum()) / (2 * h)
                    _check(float(grad[i, j]), slope, 1e-5, 1e-8,
                           f"d/d {name}[{i}, {j}] of sum(w * z) (autograd vs finite differences "
                           "of your function)")
'''

KL_VALUES = '''
gen = torch.Generator().manual_seed(52)
with _isolated():
    for shape in ((4, 2), (1, 3), (5, 8), (3, 1)):
        for dtype in (F64, F32):
            mu, log_var = _gauss(gen, shape, dtype), _gauss(gen, shape, dtype)
            want = _kl(mu, log_var)
            out = gaussian_kl(mu, log_var)
            assert not (isinstance(out, torch.Tensor) and out.numel() == 1 and shape[0] > 1), (
                f"gaussian_kl of {shape[0]} examples returned one number: the KL of each example, "
                f"shape ({shape[0]},), summed over the latent dimensions only")
            got = _values(out, (shape[0],), f"gaussian_kl of shape {shape}")
            for i, (g, e) in enumerate(zip(got, want)):
                hint = " (the sign is flipped: a KL is >= 0)" if _close(g, -e, 1e-4, 1e-5) else ""
                _check(g, e, *_tol(dtype), f"KL of example {i} of shape {shape} ({dtype}){hint}")
'''

KL_PER_EXAMPLE = '''
gen = torch.Generator().manual_seed(53)
with _isolated():
    for m, d in ((1, 3), (3, 2), (6, 4)):
        mu, log_var = _gauss(gen, (m, d)), _gauss(gen, (m, d))
        batch = _values(gaussian_kl(mu, log_var), (m,),
                        f"gaussian_kl of {m} example(s) of {d} dimensions (one KL per example)")
        for i in range(m):
            alone = _values(gaussian_kl(mu[i:i + 1], log_var[i:i + 1]), (1,),
                            "gaussian_kl of one example, shape (1, d)")[0]
            assert _close(batch[i], alone, 1e-9, 1e-9), (
                f"the KL of example {i} is {batch[i]} in a batch of {m} and {alone} on its own: "
                "return each example's KL (no sum or mean over the batch)")
'''

ELBO_REF = '''
def _recon(x_logits, x):
    """-log p(x | z) of each image: sum over pixels of the Bernoulli NLL, float64."""
    rows = zip(x_logits.detach().double().flatten(1).tolist(), x.detach().flatten(1).tolist())
    return [sum(_sp(-a) if b == 1 else _sp(a) for a, b in zip(ls, xs)) for ls, xs in rows]


def _elbo(x_logits, x, mu, log_var, what):
    return _value(negative_elbo(x_logits, x, mu, log_var), what)
'''

ELBO_RECON = '''
gen = torch.Generator().manual_seed(60)
with _isolated():
    # mu = 0 and log_var = 0: q(z | x) is N(0, I) and the KL is 0, so only the reconstruction
    # term counts here (the KL term has its own test)
    for shape in ((3, 5), (1, 6), (2, 1, 3, 4), (4, 2, 2, 2)):
        for dtype in (F64, F32):
            x_logits = (3 * torch.randn(shape, generator=gen, dtype=F64)).to(dtype)
            x = (torch.rand(shape, generator=gen) < 0.5).to(dtype)
            zeros = torch.zeros(shape[0], 3, dtype=dtype)
            want = sum(_recon(x_logits, x)) / shape[0]
            got = _elbo(x_logits, x, zeros, zeros, f"negative_elbo on images of shape {shape}")
            n = math.prod(shape[1:])
            hint = ""
            if _close(got, want / n, 1e-4, 1e-4):
                hint = ": that is a mean over the pixels; sum them (log p(x | z) is a sum)"
            elif shape[0] > 1 and _close(got, want * shape[0], 1e-4, 1e-4):
                hint = ": that is a sum over the batch; take the mean"
            elif _close(got, -want, 1e-4, 1e-4):
                hint = ": the sign is flipped (the negative ELBO is >= 0 here)"
            rtol, atol = _tol(dtype)
            assert _close(got, want, rtol, 10 * atol), (
                f"negative_elbo with mu = log_var = 0 (KL = 0) on images of shape {shape} "
                f"({dtype}): got {got}, expected the batch mean of the summed Bernoulli NLL, "
                f"{want}{hint}")
'''

ELBO_LOGITS = '''
with _isolated():
    for dtype in (F32, F64):
        x_signs = torch.tensor([[1.0, -1.0, 1.0, -1.0], [-1.0, -1.0, 1.0, 1.0]], dtype=dtype)
        for flip, what in ((1.0, "agree with"), (-1.0, "contradict")):
            x = (flip * x_signs > 0).to(dtype)
            zeros = torch.zeros(2, 2, dtype=dtype)
            for shape in ((2, 4), (2, 1, 2, 2)):
                values = {}
                for a in (20.0, 30.0, 100.0, 1000.0):
                    x_logits = (a * x_signs).view(shape)
                    values[a] = _elbo(x_logits, x.view(shape), zeros, zeros, "negative_elbo")
                    assert math.isfinite(values[a]), (
                        f"negative_elbo for logits +-{a:g} whose signs {what} the pixels "
                        f"({dtype}) is {values[a]}: use binary_cross_entropy_with_logits")
                slope = (values[30.0] - values[20.0]) / 10
                for a in (100.0, 1000.0):
                    predicted = values[30.0] + (a - 30.0) * slope
                    assert _close(values[a], predicted, 1e-5, 1e-6), (
                        f"negative_elbo for logits +-{a:g} whose signs {what} the pixels "
                        f"({dtype}) is {values[a]}, but the trend between +-20 and +-30 "
                        f"predicts {predicted}: is a probability clamped?")
                # -log p(x | z) of a pixel whose logit contradicts it grows like |logit|, of one
                # that agrees it vanishes: read as probabilities, the logits would saturate
                assert (slope >= 0.9) if flip < 0 else (abs(slope) <= 1e-6), (
                    f"negative_elbo for logits +-20 to +-30 whose signs {what} the pixels "
                    f"({dtype}, KL = 0) changes by {slope:.4g} per unit of logit, expected "
                    f"{'at least 1 (each wrong pixel costs about |logit| nats)' if flip < 0 else 0}"
                    ": x_logits are logits; use binary_cross_entropy_with_logits on them as they "
                    "are (no sigmoid first, no binary_cross_entropy on logits)")
'''

ELBO_KL = '''
gen = torch.Generator().manual_seed(61)
with _isolated():
    for m, d, shape in ((1, 2, (1, 4)), (3, 4, (3, 1, 2, 3)), (5, 3, (5, 6))):
        x_logits = torch.zeros(shape, dtype=F64)  # the reconstruction term is the same below
        x = (torch.rand(shape, generator=gen) < 0.5).to(F64)
        zeros = torch.zeros(m, d, dtype=F64)
        base = _elbo(x_logits, x, zeros, zeros, "negative_elbo")
        for _ in range(2):
            mu, log_var = _gauss(gen, (m, d)), _gauss(gen, (m, d))
            got = _elbo(x_logits, x, mu, log_var, "negative_elbo") - base
            want = sum(_kl(mu, log_var)) / m
            try:  # your own gaussian_kl counts too: a mistake there is charged by its own tests
                own = float(torch.as_tensor(gaussian_kl(mu, log_var)).double().mean())
            except Exception:  # noqa: BLE001
                own = want
            hint = ""
            if abs(got) < 1e-12:
                hint = ": negative_elbo does not change with mu and log_var; add the KL term"
            elif m > 1 and _close(got, want * m, 1e-6, 1e-9):
                hint = ": that is the KL summed over the batch; take the mean"
            assert _close(got, want, 1e-6, 1e-9) or _close(got, own, 1e-6, 1e-9), (
                f"with {m} images and {d} latent dimensions, moving q(z | x) from N(0, I) to "
                f"N(mu, diag exp(log_var)) changed negative_elbo by {got}; expected the batch "
                f"mean of KL(q(z | x) || N(0, I)), {want}{hint}")
'''

_CALL_REPARAM = ("_ = quietly(reparameterize, torch.zeros(1, 2), torch.zeros(1, 2),\n"
                 "            torch.ones(1, 2))")
_CALL_KL = "_ = quietly(gaussian_kl, torch.zeros(1, 2), torch.zeros(1, 2))"
_CALL_ELBO = ("_ = quietly(negative_elbo, torch.zeros(1, 4), torch.ones(1, 4), torch.zeros(1, 2),\n"
              "            torch.zeros(1, 2))")

MIXTURE = "Part 1: maximum likelihood"
FVBN = MADE = "Part 2: FVBN and MADE"
LATENT = ELBO = "Part 3: VAE"

CELLS = [
    markdown("intro", r"""
        # Assignment: likelihood models (maximum likelihood, an FVBN, the VAE)

        *EEP 596, Lectures 2-4: maximum likelihood, fully visible belief nets, the variational
        autoencoder.*

        The lectures' explicit models all come down to a few lines that compute a
        log-likelihood, or a bound on one. In this assignment you write those lines:

        1. **Maximum likelihood** (lecture 2): the mean log-likelihood of samples under a 1-D
           Gaussian mixture, computed so that it stays finite far from every mode. A cell then
           fits a mixture with it by gradient ascent and compares the one-Gaussian fit with the
           closed-form answer.
        2. **A fully visible belief net** (lecture 3): $\log p(x) = \sum_i \log p(x_i \mid
           x_{<i})$ of binary images from a network's per-pixel logits, and the masks that make a
           MADE network autoregressive in any order. A cell trains one on the digits and samples
           from it, one pixel at a time.
        3. **The VAE** (lecture 4): the reparameterization trick, the KL term in closed form and
           the negative ELBO. A cell trains a VAE on the digits with them.

        **Conventions.** A *logit* $\ell$ is the log-odds of a binary variable: $p(x = 1) =
        \sigma(\ell)$. All logarithms are natural (nats). Shapes are written `(m, ...)` with `m`
        the batch size. Your functions take and return torch tensors (float32 or float64: return
        the dtype you are given, or float64), keep gradients flowing (no `.item()`, `.detach()`,
        numpy or `math` on the inputs), and must not change their inputs.

        **Rules.** Write each function yourself with PyTorch; do not import them from `eep596gan`
        (the graders check this). `torch.logsumexp`, `torch.nn.functional` and
        `torch.distributions` are fine. Run the first two code cells first: the first installs the
        course library in Colab (elsewhere it does nothing), the second is the setup.
        """),
    colab_install(),
    setup("""
        import contextlib
        import io
        import math
        import warnings

        import matplotlib.pyplot as plt
        import torch
        import torch.nn.functional as F

        from eep596gan.data import load_images, mixture_1d
        from eep596gan.device import get_device, pick, quick_mode, seed_everything
        from eep596gan.models import VAE, MaskedLinear, binarize, gaussian_mle
        from eep596gan.viz import image_grid
        """),
    markdown("about-tests", """
        The test cells below check your answers. Each is worth points; most of their checks are
        hidden and run when your notebook is graded, so passing the visible ones is a start, not a
        guarantee. Each test looks for one kind of mistake, so a wrong answer can lose one test
        and keep the others. They call your functions through `quietly`, which captures warnings
        and printed output: nbgrader gives 0 points to a test cell that writes to stderr, and a
        warning of yours should not cost you points.
        """),
    test_helpers(),
    # ------------------------------------------------------------------ Part 1
    markdown("part1", r"""
        ## Part 1: the log-likelihood of a Gaussian mixture

        An explicit model defines $p_\text{model}(x;\theta)$, and maximum likelihood picks
        $\theta^* = \arg\max_\theta \mathbb{E}_{x\sim p_\text{data}} \log p_\text{model}(x;
        \theta)$, estimated by the mean over samples $x_1, \dots, x_m$. Take a mixture of $K$
        Gaussians on the real line,
        $$p(x) = \sum_{k=1}^K \pi_k\, \mathcal{N}(x;\, \mu_k, \sigma_k^2), \qquad
        \pi = \operatorname{softmax}(a), \quad \sigma_k = e^{s_k},$$
        parameterised by unconstrained tensors (logits $a$, means $\mu$, log-standard deviations
        $s$), so that any gradient step keeps a valid density.

        Write `gaussian_mixture_log_likelihood(x, logits, means, log_stds)`:

        * `x`: samples, shape `(m,)`; `logits`, `means`, `log_stds`: shape `(K,)` each.
        * returns a scalar tensor: $\frac1m \sum_{i=1}^m \log p(x_i)$, the **mean** over the
          samples, differentiable with respect to `logits`, `means` and `log_stds`.
        * the weights are $\operatorname{softmax}(a)$: logits `[3, -1]` and `[4, 0]` are the
          same mixture.
        * it must be finite and right **far from every mode**, e.g. $x = 1000$ with
          $\sigma_k = 1$. There each $\pi_k \mathcal{N}(x; \mu_k, \sigma_k^2)$ underflows to 0,
          so $\log\sum_k \exp(\dots)$ is $-\infty$. Work with the log-densities
          $\log\pi_k + \log\mathcal{N}(x; \mu_k, \sigma_k^2)$ and combine them with a
          log-sum-exp, $\log\sum_k e^{c_k} = c^* + \log\sum_k e^{c_k - c^*}$ with
          $c^* = \max_k c_k$ (`torch.logsumexp` does this).
        """),
    answer("answer_gaussian_mixture_log_likelihood", '''
        def gaussian_mixture_log_likelihood(x, logits, means, log_stds):
            """Mean log-likelihood of samples under a 1-D Gaussian mixture.

            p(x) = sum_k softmax(logits)_k N(x; means_k, exp(log_stds_k)^2).

            Args:
                x: samples, shape (m,).
                logits, means, log_stds: the K components' parameters, shape (K,) each.
            Returns:
                A scalar tensor: the mean over the samples of log p(x_i), finite for any x.
            """
            ### BEGIN SOLUTION
            z = (x[:, None] - means) / log_stds.exp()  # (m, K)
            log_normal = -0.5 * z.pow(2) - log_stds - 0.5 * math.log(2 * math.pi)  # (m, K)
            log_weights = torch.log_softmax(logits, dim=0)  # (K,)
            return torch.logsumexp(log_weights + log_normal, dim=1).mean()
            ### END SOLUTION
        '''),
    visible("check_mixture", MIXTURE, """
        HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


        def _gmll(x, logits, means, log_stds, dtype=torch.float64):
            args = (torch.tensor(v, dtype=dtype) for v in (x, logits, means, log_stds))
            return float(gaussian_mixture_log_likelihood(*args))


        def _gmll_grads():
            params = [torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
                      for _ in range(3)]
            out = gaussian_mixture_log_likelihood(torch.tensor([1.0], dtype=torch.float64),
                                                  *params)
            return tuple(round(float(g), 6) for g in torch.autograd.grad(out.sum(), params))


        two_modes = -HALF_LOG_2PI + math.log(0.5 * (1 + math.exp(-8)))
        visible_check(PART, "K = 1, N(0, 1), at x = 0", f"-log(2 pi) / 2 = {-HALF_LOG_2PI:.6f}",
                      lambda: _gmll([0.0], [0.0], [0.0], [0.0]),
                      lambda v: abs(v + HALF_LOG_2PI) < 1e-6)
        visible_check(PART, "K = 2, equal weights, means -2 and 2, std 1, at x = 2 and -2",
                      f"{two_modes:.6f}", lambda: _gmll([2.0, -2.0], [0.0, 0.0], [-2.0, 2.0],
                                                         [0.0, 0.0]),
                      lambda v: abs(v - two_modes) < 1e-6)
        visible_check(PART, "K = 1, N(0, 1), on x = [0, 0, 0, 0, 0]",
                      "a scalar, the same as at one x = 0 (the mean over the samples)",
                      lambda: (tuple(quietly(gaussian_mixture_log_likelihood, torch.zeros(5),
                                             torch.zeros(1), torch.zeros(1),
                                             torch.zeros(1)).shape),
                               _gmll([0.0] * 5, [0.0], [0.0], [0.0])),
                      lambda r: len(r[0]) <= 1 and abs(r[1] + HALF_LOG_2PI) < 1e-6)
        visible_check(PART, "logits [3, -1] and [4, 0] (the same weights), at x = 0.5",
                      "the same value", lambda: (round(_gmll([0.5], [3.0, -1.0], [0.0, 1.0],
                                                             [0.0, 0.0]), 6),
                                                 round(_gmll([0.5], [4.0, 0.0], [0.0, 1.0],
                                                             [0.0, 0.0]), 6)),
                      lambda v: abs(v[0] - v[1]) < 1e-6)
        visible_check(PART, "K = 1, N(0, 1), at x = 60 (float32)",
                      f"finite, -1800 - log(2 pi) / 2 = {-1800 - HALF_LOG_2PI:.4f}",
                      lambda: _gmll([60.0], [0.0], [0.0], [0.0], torch.float32),
                      lambda v: math.isfinite(v) and abs(v + 1800 + HALF_LOG_2PI) < 1e-2)
        visible_check(PART, "K = 1, N(0, 1), at x = 1: d/d(logits, means, log_stds)",
                      "(0, 1, 0): (x - mu) / sigma^2 = 1, and (x - mu)^2 / sigma^2 - 1 = 0",
                      _gmll_grads, lambda g: max(abs(a - b) for a, b in zip(g, (0, 1, 0))) < 1e-6)
        """),
    test("test_mixture_values", 3, hidden('''
        # Visible tests: a scalar tensor, and log N(0; 0, 1) = -log(2 pi) / 2 for K = 1 at x = 0
        out = quietly(gaussian_mixture_log_likelihood, torch.zeros(1), torch.zeros(1),
                      torch.zeros(1), torch.zeros(1))
        assert isinstance(out, torch.Tensor) and out.numel() == 1, (
            f"expected a scalar tensor, got {out!r}")
        assert abs(float(out) + 0.5 * math.log(2 * math.pi)) < 1e-6, (
            f"log N(0; 0, 1) is -0.918939, got {float(out)}")
        # two components, weights [1/2, 1/2] (logits log 1/2), means 0 and 3, std 1, at x = 0
        out = quietly(gaussian_mixture_log_likelihood, torch.zeros(1),
                      torch.full((2,), math.log(0.5)), torch.tensor([0.0, 3.0]), torch.zeros(2))
        expected = math.log(0.5 * (1 + math.exp(-4.5))) - 0.5 * math.log(2 * math.pi)
        assert abs(float(out) - expected) < 1e-6, f"expected {expected}, got {float(out)}"
        print("visible tests passed")
        # Hidden tests: values against a float64 reference for K = 1, 2, 3 and 5, one sample at
        # a time (near the components), float32 and float64 inputs.
        ''', ISOLATED, MIX_REF, MIX_VALUES)),
    _hidden_test("test_mixture_far_from_the_modes", 2, """
        # Hidden tests: at x = 60, -75, 1000 and -1000 (components of std 0.5 to 1.3 near 0),
        # float32 and float64: the value is finite and right (a log-sum-exp), and so are the
        # gradients.
        """, _CALL_MIX, MIX_REF, MIX_FAR),
    _hidden_test("test_mixture_weights_are_softmax_of_the_logits", 1, """
        # Hidden tests: logits [3, -1] and [4, 0] give the same answer; with logits that are not
        # log-weights (softmax(logits) != exp(logits)) the values are still right.
        """, _CALL_MIX, MIX_REF, MIX_WEIGHTS),
    _hidden_test("test_mixture_mean_over_the_samples", 1, """
        # Hidden tests: on m = 2 to 40 samples the answer is the mean of its values on single
        # samples.
        """, _CALL_MIX, MIX_REF, MIX_BATCH),
    _hidden_test("test_mixture_gradients", 2, """
        # Hidden tests: gradients reach logits, means and log_stds and agree with finite
        # differences of your function (float64).
        """, _CALL_MIX, MIX_REF, MIX_GRADS),
    markdown("fit-md", r"""
        ### Maximum likelihood by gradient ascent

        The next cell draws 2000 samples from a bimodal mixture with a known density and fits
        mixtures to them by gradient ascent on **your** mean log-likelihood (Adam on
        $-\frac1m\sum_i \log p(x_i)$): one with $K = 2$ components, and one with $K = 1$, a single
        Gaussian, for which maximum likelihood has a closed form: the sample mean and the
        *biased* standard deviation $\sqrt{\frac1m\sum_i (x_i - \bar x)^2}$ (lecture 2). The
        cell checks that gradient ascent finds it.
        """),
    locked("fit-mixture", """
        data = mixture_1d("bimodal")
        gen = seed_everything(0)
        x = data.sample(2000, generator=gen)[:, 0].double()  # (2000,)


        def fit(k, steps, lr=0.05):
            \"\"\"Maximise your mean log-likelihood over a K-component mixture's parameters.\"\"\"
            logits = torch.zeros(k, dtype=torch.float64, requires_grad=True)
            quantiles = (torch.arange(k, dtype=torch.float64) + 0.5) / k
            means = torch.quantile(x, quantiles).requires_grad_()  # spread over the data
            log_stds = torch.zeros(k, dtype=torch.float64, requires_grad=True)
            opt = torch.optim.Adam([logits, means, log_stds], lr=lr)
            for _ in range(steps):
                loss = -gaussian_mixture_log_likelihood(x, logits, means, log_stds)
                opt.zero_grad()
                loss.backward()
                opt.step()
            return logits.detach(), means.detach(), log_stds.detach(), -loss.item()


        fits = {k: fit(k, pick(1000, 300)) for k in (1, 2)}
        mu_mle, var_mle = gaussian_mle(x)  # the closed form: mean and biased variance
        _, mean_1, log_std_1, _ = fits[1]
        std_1, std_mle = log_std_1.exp().item(), var_mle.sqrt().item()
        print(f"K = 1 by gradient ascent: mean {mean_1.item():.4f}, std {std_1:.4f}")
        print(f"closed-form MLE:          mean {mu_mle.item():.4f}, std {std_mle:.4f}")
        for k, (logits, means, log_stds, ll) in fits.items():
            print(f"K = {k}: mean log-likelihood {ll:.4f}; weights "
                  f"{[round(w, 3) for w in logits.softmax(0).tolist()]}, means "
                  f"{[round(m, 3) for m in means.tolist()]}, stds "
                  f"{[round(s, 3) for s in log_stds.exp().tolist()]}")

        grid = torch.linspace(-5, 5, 401, dtype=torch.float64)
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.hist(x.numpy(), bins=80, density=True, color="0.85", label="samples")
        ax.plot(grid, data.pdf(grid), "k--", lw=1, label="true density")
        for k, (logits, means, log_stds, _) in fits.items():
            stds = log_stds.exp()
            components = torch.exp(-0.5 * ((grid[:, None] - means) / stds) ** 2) / (
                stds * math.sqrt(2 * math.pi))  # (401, K)
            ax.plot(grid, components @ logits.softmax(0), lw=2, label=f"fitted, K = {k}")
        ax.set(xlabel="x", ylabel="density", title="Maximum likelihood by gradient ascent")
        ax.legend()
        plt.show()
        assert abs(mean_1.item() - mu_mle.item()) < 1e-3, "the K = 1 mean is not the sample mean"
        assert abs(std_1 - std_mle) < 1e-3, (
            "the K = 1 standard deviation is not the biased sample standard deviation")
        """),
    # ------------------------------------------------------------------ Part 2a
    markdown("part2", r"""
        ## Part 2: a fully visible belief net

        An FVBN writes the likelihood of an image $x = (x_1, \dots, x_n)$ with the chain rule,
        $$p(x) = \prod_{i=1}^n p(x_i \mid x_1, \dots, x_{i-1}),$$
        where the first factor is $p(x_1)$ itself (nothing comes before it). For binary pixels a
        network outputs one logit $\ell_i$ per pixel, computed from $x_{<i}$ only, and
        $p(x_i = 1 \mid x_{<i}) = \sigma(\ell_i)$. (The slide writes $p(x_1)
        \prod_{i=2}^n p(x_i \mid x_{<i})$: the same product, with its first factor taken out.)

        Write `autoregressive_log_likelihood(logits, x)`:

        * `x`: binary images, values in $\{0, 1\}$, shape `(m, n)` or `(m, C, H, W)`; `logits`:
          the conditional logits, the same shape (pixel order = flattening order, but the sum does
          not care).
        * returns $\log p(x)$ **per image**, shape `(m,)`: the sum over every pixel of
          $\log p(x_i \mid x_{<i})$.
        * finite and right for logits of $\pm 1000$ (a confident network): work with logits
          throughout ($\log\sigma(\ell) = -\operatorname{softplus}(-\ell)$).
        """),
    answer("answer_autoregressive_log_likelihood", '''
        def autoregressive_log_likelihood(logits, x):
            """log p(x) = sum_i log p(x_i | x_<i) for binary images, from per-pixel logits.

            Args:
                logits: logits of p(x_i = 1 | x_<i), shape (m, n) or (m, C, H, W).
                x: binary pixels in {0, 1}, the same shape.
            Returns:
                log p(x) of each image, shape (m,).
            """
            ### BEGIN SOLUTION
            nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none")  # -log p(x_i|.)
            return -nll.flatten(1).sum(1)
            ### END SOLUTION
        '''),
    visible("check_autoregressive", FVBN, """
        def _ar(logits, x, dtype=torch.float64):
            out = autoregressive_log_likelihood(torch.tensor(logits, dtype=dtype),
                                                torch.tensor(x, dtype=dtype))
            return tuple(out.shape), [round(v, 6) for v in out.tolist()]


        LOG2 = math.log(2)
        visible_check(PART, "logits 0 (p = 1/2 for every pixel), 2 images of 4 pixels",
                      f"shape (2,), [-4 log 2, -4 log 2] = [{-4 * LOG2:.6f}, {-4 * LOG2:.6f}]",
                      lambda: _ar([[0.0] * 4] * 2, [[0.0, 1.0, 1.0, 0.0], [1.0] * 4]),
                      lambda r: r[0] == (2,) and all(abs(v + 4 * LOG2) < 1e-6 for v in r[1]))
        visible_check(PART, "one pixel, logit log 3 (p = 3/4): x = 1 and x = 0",
                      f"[log(3/4), log(1/4)] = [{math.log(0.75):.6f}, {math.log(0.25):.6f}]",
                      lambda: _ar([[math.log(3)], [math.log(3)]], [[1.0], [0.0]])[1],
                      lambda v: abs(v[0] - math.log(0.75)) < 1e-6
                      and abs(v[1] - math.log(0.25)) < 1e-6)
        visible_check(PART, "logits 0 on images of shape (3, 1, 2, 2)",
                      f"shape (3,), each -4 log 2 = {-4 * LOG2:.6f}",
                      lambda: _ar([[[[0.0, 0.0], [0.0, 0.0]]]] * 3,
                                  [[[[1.0, 0.0], [0.0, 1.0]]]] * 3),
                      lambda r: r[0] == (3,) and all(abs(v + 4 * LOG2) < 1e-6 for v in r[1]))
        visible_check(PART, "logits [1000, -1000], x = [0, 1] (float32): both pixels wrong",
                      "finite, -2000", lambda: _ar([[1000.0, -1000.0]], [[0.0, 1.0]],
                                                   torch.float32)[1],
                      lambda v: math.isfinite(v[0]) and abs(v[0] + 2000) < 1e-2)
        """),
    test("test_autoregressive_values", 3, hidden('''
        # Visible tests: logits 0 give p = 1/2 per pixel, log p(x) = -n log 2 for each image
        out = quietly(autoregressive_log_likelihood, torch.zeros(2, 4),
                      torch.tensor([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]))
        assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2,), (
            f"expected a tensor of shape (2,) (one value per image), got {out!r}")
        assert all(abs(v + 4 * math.log(2)) < 1e-5 for v in out.tolist()), (
            f"expected [-4 log 2, -4 log 2] = [-2.772589, -2.772589], got {out.tolist()}")
        print("visible tests passed")
        # Hidden tests: values against a float64 reference on random logits and images of shapes
        # (m, n) and (m, C, H, W), float32 and float64.
        ''', ISOLATED, AR_REF, AR_VALUES)),
    _hidden_test("test_autoregressive_sums_every_pixel_per_image", 2, """
        # Hidden tests: one log p(x) per image, independent of the other images in the batch;
        # every pixel, the first included, adds its own log p(x_i | x_<i) (a sum, not a mean).
        """, _CALL_AR, AR_REF, AR_SUMS),
    _hidden_test("test_autoregressive_extreme_logits", 2, """
        # Hidden tests: logits of +-20 to +-1000 that agree with the pixels (log p(x) about 0)
        # or contradict them (about -4000): finite, and nothing clamped (the values at +-100 and
        # +-1000 continue the trend between +-20 and +-30), float32 and float64.
        """, _CALL_AR, AR_REF, AR_EXTREME),
    # ------------------------------------------------------------------ Part 2b
    markdown("made-md", r"""
        ### The masks of a MADE network

        MADE (Germain et al. 2015) computes all $n$ conditional logits in one pass of an MLP
        $n \to h_1 \to \dots \to h_L \to n$ whose weights are multiplied by fixed 0/1 masks, so
        that output $i$ depends only on the inputs before $i$. In a given **order** (a
        permutation of the input indices, `order[0]` generated first): input `order[k]` gets the
        degree $k + 1$; every hidden unit gets a degree $m$ in $1, \dots, n - 1$ (spread evenly,
        or drawn at random as in the paper); a hidden unit of degree $m$ may see the units below it
        of degree $\le m$, and output `order[k]`, of degree $k + 1$, may see the last hidden
        layer's units of degree $< k + 1$ (strictly). Then output `order[k]` depends on inputs
        `order[0], ..., order[k-1]` only, and output `order[0]` on none.

        Write `made_masks(n_in, hidden, order)`:

        * `n_in`: $n$; `hidden`: the hidden widths $[h_1, \dots, h_L]$ (at least one);
          `order`: a list or a 1-D tensor holding a permutation of `0..n_in-1`.
        * returns a list of $L + 1$ masks, one per `nn.Linear` of the network, each shaped like
          that layer's weight, `(out_features, in_features)`: `(h_1, n)`, `(h_2, h_1)`, ...,
          `(n, h_L)`, with values 0 and 1 (booleans or numbers).
        * the tests build a network from your masks and check what it does: output `order[k]` must
          not depend on input `order[j]` for $j \ge k$, and with wide hidden layers every output
          must depend on every earlier input.
        """),
    answer("answer_made_masks", '''
        def made_masks(n_in, hidden, order):
            """The masks of a MADE network n_in -> hidden[0] -> ... -> hidden[-1] -> n_in.

            Args:
                n_in: the number of inputs (and outputs).
                hidden: the widths of the hidden layers, a list of ints.
                order: a permutation of 0..n_in-1 (list or tensor), order[0] generated first.
            Returns:
                A list of len(hidden) + 1 masks of 0s and 1s, each (out_features, in_features):
                output order[k] depends only on inputs order[0], ..., order[k-1].
            """
            ### BEGIN SOLUTION
            order = [int(i) for i in order]
            degree_in = torch.empty(n_in, dtype=torch.long)
            degree_in[order] = torch.arange(1, n_in + 1)  # input order[k] has degree k + 1
            degrees = [degree_in]
            for width in hidden:  # 1, ..., n_in - 1, cycled: every degree is used
                degrees.append(torch.arange(width) % max(n_in - 1, 1) + 1)
            masks = [d_out[:, None] >= d_in[None, :] for d_in, d_out in zip(degrees, degrees[1:])]
            masks.append(degree_in[:, None] > degrees[-1][None, :])  # strictly: no x_i -> out_i
            return masks
            ### END SOLUTION
        '''),
    visible("check_made_masks", MADE, """
        def _dependencies(n_in, hidden, order, seed=0):
            \"\"\"For each output, the inputs it depends on, in a masked tanh net with random
            weights (read off the Jacobian).\"\"\"
            gen = torch.Generator().manual_seed(seed)
            masks = [torch.as_tensor(m).double() for m in made_masks(n_in, hidden, order)]
            weights = [torch.randn(m.shape, generator=gen, dtype=torch.float64) * m
                       for m in masks]

            def net(x):
                for i, w in enumerate(weights):
                    x = x @ w.T
                    x = torch.tanh(x) if i < len(weights) - 1 else x
                return x

            jac = torch.autograd.functional.jacobian(
                net, torch.randn(n_in, generator=gen, dtype=torch.float64))
            return {i: [j for j in range(n_in) if jac[i, j] != 0] for i in range(n_in)}


        visible_check(PART, "made_masks(3, [5], [0, 1, 2]): the shapes",
                      "[(5, 3), (3, 5)], like nn.Linear(3, 5).weight and nn.Linear(5, 3).weight",
                      lambda: [tuple(torch.as_tensor(m).shape)
                               for m in made_masks(3, [5], [0, 1, 2])],
                      lambda s: s == [(5, 3), (3, 5)])
        visible_check(PART, "made_masks(4, [6, 6], [0, 1, 2, 3]): the values",
                      "only 0 and 1", lambda: sorted({float(v) for m in made_masks(4, [6, 6],
                                                                                  [0, 1, 2, 3])
                                                      for v in torch.as_tensor(m).flatten()}),
                      lambda v: set(v) <= {0.0, 1.0})
        visible_check(PART, "order [0, 1, 2, 3], hidden [16]: each output's inputs",
                      "{0: [], 1: [0], 2: [0, 1], 3: [0, 1, 2]}",
                      lambda: _dependencies(4, [16], [0, 1, 2, 3]),
                      lambda d: d == {0: [], 1: [0], 2: [0, 1], 3: [0, 1, 2]})
        visible_check(PART, "order [2, 0, 1], hidden [12]: each output's inputs",
                      "{0: [2], 1: [0, 2], 2: []}: output 2 comes first, so it sees nothing",
                      lambda: _dependencies(3, [12], [2, 0, 1]),
                      lambda d: d == {0: [2], 1: [0, 2], 2: []})
        visible_check(PART, "order torch.tensor([3, 1, 0, 2]), hidden [16, 16]: the inputs",
                      "{0: [1, 3], 1: [3], 2: [0, 1, 3], 3: []}",
                      lambda: _dependencies(4, [16, 16], torch.tensor([3, 1, 0, 2])),
                      lambda d: d == {0: [1, 3], 1: [3], 2: [0, 1, 3], 3: []})
        """),
    test("test_made_masks_shapes", 1, hidden('''
        # Visible tests: one mask per layer, shaped (out_features, in_features)
        masks = quietly(made_masks, 3, [5], [0, 1, 2])
        assert len(masks) == 2, f"expected 2 masks for one hidden layer, got {len(masks)}"
        shapes = [tuple(torch.as_tensor(m).shape) for m in masks]
        assert shapes == [(5, 3), (3, 5)], f"expected shapes [(5, 3), (3, 5)], got {shapes}"
        print("visible tests passed")
        # Hidden tests: the number and shapes of the masks for 1 to 3 hidden layers, orders given
        # as lists and tensors; values 0 and 1 only.
        ''', ISOLATED, MADE_REF, MADE_SHAPES)),
    _hidden_test("test_made_masks_are_autoregressive", 3, """
        # Hidden tests: a network built from your masks (random weights, tanh) for 1 to 3 hidden
        # layers and identity, reversed and random orders: d output[order[k]] / d input[order[j]]
        # is exactly 0 for every j >= k.
        """, _CALL_MADE, MADE_REF, MADE_AUTOREGRESSIVE),
    _hidden_test("test_made_masks_connect_every_earlier_input", 2, """
        # Hidden tests: with wide hidden layers (64 units), no connection is missing: the
        # outputs depend on 0, 1, ..., n - 1 other inputs, for several orders and depths
        # (every output on every earlier input, once the other test has checked the order).
        """, _CALL_MADE, MADE_REF, MADE_CONNECTED),
    markdown("made-demo-md", r"""
        ### Train a MADE on the digits, and sample from it

        The next cell builds a MADE network from **your** masks (raster order, one hidden layer,
        `eep596gan`'s `MaskedLinear` layers) and trains it on the binarised 8x8 digits by
        maximising **your** `autoregressive_log_likelihood`. Scoring an image is one network call;
        sampling one is $n = 64$ calls, one per pixel, each drawing $x_i$ from
        $p(x_i \mid x_{<i})$ given the pixels drawn so far. (In quick mode, as when graded, it
        trains only a few steps and the samples are noise.)
        """),
    locked("made-demo", """
        x_train = binarize(load_images("digits")[0]).to(device)  # (1500, 1, 8, 8) in {0, 1}
        n_pixels = x_train[0].numel()
        gen = seed_everything(0)
        masks = made_masks(n_pixels, [256], list(range(n_pixels)))
        layers = []
        for i, mask in enumerate(masks):
            layers.append(MaskedLinear(torch.as_tensor(mask)))
            if i < len(masks) - 1:
                layers.append(torch.nn.ReLU())
        made = torch.nn.Sequential(*layers).to(device)
        opt = torch.optim.Adam(made.parameters(), lr=1e-3)
        made_losses = []
        for _ in range(pick(3000, 60)):
            batch = x_train[torch.randint(len(x_train), (128,), generator=gen).to(device)]
            logits = made(batch.flatten(1)).view_as(batch)  # (128, 1, 8, 8)
            loss = -autoregressive_log_likelihood(logits, batch).mean()  # nats per image
            opt.zero_grad()
            loss.backward()
            opt.step()
            made_losses.append(loss.item())

        with torch.no_grad():  # n network calls: pixel i is drawn given pixels 0..i-1
            samples = torch.zeros(32, n_pixels, device=device)
            for i in range(n_pixels):
                p_i = torch.sigmoid(made(samples)[:, i])
                samples[:, i] = (torch.rand(32, generator=gen).to(device) < p_i).float()
        print(f"-log p(x) per image: {made_losses[0]:.1f} nats at the start, "
              f"{sum(made_losses[-20:]) / 20:.1f} over the last 20 steps")
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
        axes[0].plot(made_losses)
        axes[0].set(xlabel="step", ylabel="-log p(x) (nats per image)", title="MADE training")
        image_grid(2 * samples.view(-1, 1, 8, 8).cpu() - 1, ax=axes[1],
                   title="samples, one pixel at a time")
        image_grid(2 * x_train[:32].cpu() - 1, ax=axes[2], title="binarised training digits")
        plt.show()
        assert sum(made_losses[-10:]) / 10 < made_losses[0] - 3, "the MADE did not learn"
        """),
    markdown("q-fvbn", r"""
        **Question 1 (2 points): sampling from an FVBN.**

        * **(a) 1 point.** The cell above scores a batch of images with one call of the network,
          but needs 64 calls to draw one batch of samples. Why can sampling not be done in one call
          (or a few), however the network is built, and how does the cost grow with the number of
          pixels? Compare with drawing a sample from a VAE's decoder.
        * **(b) 1 point.** Suppose you want a digit with a thick stroke, or one halfway between
          two samples you like. What can you control when you generate with an FVBN, and what does
          a VAE offer instead?
        """),
    written("written_fvbn_sampling", 2, r"""
        (a) Pixel $x_i$ is drawn from $p(x_i \mid x_{<i})$, whose logit is a function of the
        pixels $x_{<i}$ that have just been drawn: the network cannot compute it before they
        exist. The $n$ draws form a chain, so sampling takes $n$ sequential network calls, $O(n)$
        steps (64 here, 784 for MNIST, $3 \cdot 256^2$ for a colour image), whatever the
        architecture; only *scoring* a given image is parallel, because then every $x_{<i}$ is
        known and the masks let one pass compute all the conditionals. A VAE decodes a sample in
        one call: draw $z \sim \mathcal{N}(0, I)$ and evaluate $p(x \mid z)$, whose pixels are
        independent given $z$.

        (b) An FVBN has no latent code: all its randomness is in the pixel draws. The only
        handles are the pixels themselves: fix the first ones and sample the rest (completion,
        conditioning on the pixels that come earlier in the order), or change the order, the
        temperature of the conditionals or the training data. There is no vector to move to thicken
        a stroke, and nothing to interpolate between two samples. A VAE's $z$ is such a code:
        encode an image, move or interpolate $z$ (or follow a direction that correlates with
        stroke thickness) and decode.
        """, [
        ("a", 1, """Each conditional needs the previously drawn pixels, so the draws are
         sequential: n network calls, O(n), however the net is built (scoring is parallel because
         all pixels are known), against one decoder call for a VAE. Half a point for "one call per
         pixel" without the reason, or without the comparison."""),
        ("b", 1, """No latent: only already-drawn pixels (completion), the order or sampling
         settings can be controlled; a VAE's z can be moved or interpolated and decoded. Half a
         point for one side only."""),
    ]),
    # ------------------------------------------------------------------ Part 3a
    markdown("part3", r"""
        ## Part 3: the variational autoencoder

        A VAE's encoder maps an image $x$ to $q(z \mid x) = \mathcal{N}(\mu,
        \operatorname{diag}\sigma^2)$, given as $\mu$ and $\log\sigma^2$ (`log_var`), each
        `(m, d)`; its decoder maps a latent $z$ to the logits of $p(x \mid z)$, a Bernoulli per
        pixel. Training minimises the negative ELBO,
        $$-\text{ELBO}(x) = \mathbb{E}_{z\sim q(z\mid x)}\bigl[-\log p(x \mid z)\bigr] +
        \mathrm{KL}\bigl(q(z \mid x)\,\|\,p(z)\bigr), \qquad p(z) = \mathcal{N}(0, I),$$
        with the expectation estimated by one draw of $z$.

        Write:

        * `reparameterize(mu, log_var, eps)`: the draw $z = \mu + \sigma \odot \epsilon$ with
          $\sigma = \exp(\text{log\_var} / 2)$, for a given noise tensor `eps` $\sim
          \mathcal{N}(0, I)$; all three `(m, d)`, the result `(m, d)`, differentiable with respect
          to `mu` and `log_var`.
        * `gaussian_kl(mu, log_var)`: $\mathrm{KL}(\mathcal{N}(\mu,
          \operatorname{diag}\sigma^2)\,\|\,\mathcal{N}(0, I))$ in closed form, summed over the
          $d$ latent dimensions, **one value per example**: shape `(m,)` for inputs `(m, d)`. (Per
          dimension it is $\tfrac12(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$; derive it or look it
          up.)
        """),
    answer("answer_reparameterize", '''
        def reparameterize(mu, log_var, eps):
            """z = mu + exp(log_var / 2) * eps: a draw of N(mu, diag exp(log_var)) given the noise.

            Args:
                mu, log_var: the mean and log-variance of q(z | x), shape (m, d) each.
                eps: standard normal noise, shape (m, d).
            Returns:
                z, shape (m, d), differentiable with respect to mu and log_var.
            """
            ### BEGIN SOLUTION
            return mu + torch.exp(0.5 * log_var) * eps
            ### END SOLUTION
        '''),
    answer("answer_gaussian_kl", '''
        def gaussian_kl(mu, log_var):
            """KL(N(mu, diag exp(log_var)) || N(0, I)) of each example, summed over dimensions.

            Args:
                mu, log_var: shape (m, d) each.
            Returns:
                The KL of each example, shape (m,).
            """
            ### BEGIN SOLUTION
            return 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)
            ### END SOLUTION
        '''),
    visible("check_reparameterize_kl", LATENT, """
        def _t(values):
            return torch.tensor(values, dtype=torch.float64)


        def _reparam_grads():
            mu, log_var = _t([[0.5]]).requires_grad_(), _t([[0.0]]).requires_grad_()
            out = reparameterize(mu, log_var, _t([[1.0]]))
            return tuple(round(float(g), 6) for g in torch.autograd.grad(out.sum(), (mu, log_var)))


        visible_check(PART, "reparameterize(mu [[1, 2]], log_var [[0, log 4]], eps [[1, 1]])",
                      "[[2.0, 4.0]] (sigma = 1 and 2)",
                      lambda: reparameterize(_t([[1.0, 2.0]]), _t([[0.0, math.log(4)]]),
                                             _t([[1.0, 1.0]])).tolist(),
                      lambda v: all(abs(a - b) < 1e-6 for a, b in zip(v[0], [2.0, 4.0]))
                      and len(v) == 1)
        visible_check(PART, "d z / d mu and d z / d log_var at mu 0.5, log_var 0, eps 1",
                      "(1.0, 0.5): z = mu + exp(log_var / 2) eps", _reparam_grads,
                      lambda g: abs(g[0] - 1) < 1e-6 and abs(g[1] - 0.5) < 1e-6)
        visible_check(PART, "gaussian_kl(zeros (3, 2), zeros (3, 2)): q(z | x) = p(z)",
                      "shape (3,), [0.0, 0.0, 0.0]",
                      lambda: (lambda out: (tuple(out.shape), out.tolist()))(
                          gaussian_kl(torch.zeros(3, 2), torch.zeros(3, 2))),
                      lambda r: r[0] == (3,) and all(abs(v) < 1e-7 for v in r[1]))
        visible_check(PART, "gaussian_kl(mu [[1, 0], [0, 0]], log_var [[0, 0], [log 2, 0]])",
                      f"[0.5, (1 - log 2) / 2] = [0.5, {(1 - math.log(2)) / 2:.6f}]",
                      lambda: gaussian_kl(_t([[1.0, 0.0], [0.0, 0.0]]),
                                          _t([[0.0, 0.0], [math.log(2), 0.0]])).tolist(),
                      lambda v: abs(v[0] - 0.5) < 1e-6 and abs(v[1] - (1 - math.log(2)) / 2) < 1e-6)
        visible_check(PART, "gaussian_kl on random mu and log_var, shape (100, 4)",
                      "every value >= 0 (a KL is never negative)",
                      lambda: round(float(gaussian_kl(torch.randn(100, 4),
                                                      torch.randn(100, 4)).min()), 6),
                      lambda v: v >= 0)
        """),
    test("test_reparameterize_values", 2, hidden('''
        # Visible tests: z = mu + exp(log_var / 2) * eps
        out = quietly(reparameterize, torch.tensor([[1.0, 2.0]]),
                      torch.tensor([[0.0, math.log(4)]]), torch.tensor([[1.0, -1.0]]))
        assert isinstance(out, torch.Tensor) and tuple(out.shape) == (1, 2), (
            f"expected a tensor of shape (1, 2), got {out!r}")
        assert all(abs(a - b) < 1e-5 for a, b in zip(out[0].tolist(), [2.0, 0.0])), (
            f"expected [[2.0, 0.0]] (sigma = 1 and 2), got {out.tolist()}")
        print("visible tests passed")
        # Hidden tests: values against mu + exp(log_var / 2) * eps for random inputs of several
        # shapes (m, d), float32 and float64.
        ''', ISOLATED, VAE_REF, REPARAM_VALUES)),
    _hidden_test("test_reparameterize_gradients", 1, """
        # Hidden tests: gradients flow from z to mu and log_var (the point of the trick) and agree
        # with finite differences of your function.
        """, _CALL_REPARAM, VAE_REF, REPARAM_GRADS),
    test("test_gaussian_kl_values", 2, hidden('''
        # Visible tests: KL = 0 when q(z | x) is N(0, I), and 1/2 for mu = [1, 0], log_var = 0
        out = quietly(gaussian_kl, torch.zeros(2, 3), torch.zeros(2, 3))
        assert isinstance(out, torch.Tensor) and tuple(out.shape) == (2,), (
            f"expected a tensor of shape (2,) (one KL per example), got {out!r}")
        assert all(abs(v) < 1e-6 for v in out.tolist()), f"expected [0, 0], got {out.tolist()}"
        out = quietly(gaussian_kl, torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2))
        assert abs(float(out.reshape(-1)[0]) - 0.5) < 1e-6, f"expected [0.5], got {out}"
        print("visible tests passed")
        # Hidden tests: values against the closed form for random mu and log_var of several
        # shapes (m, d), float32 and float64.
        ''', ISOLATED, VAE_REF, KL_VALUES)),
    _hidden_test("test_gaussian_kl_per_example", 1, """
        # Hidden tests: one KL per example (shape (m,), also for m = 1), each independent of the
        # other examples in the batch.
        """, _CALL_KL, VAE_REF, KL_PER_EXAMPLE),
    # ------------------------------------------------------------------ Part 3b
    markdown("elbo-md", r"""
        ### The negative ELBO

        Write `negative_elbo(x_logits, x, mu, log_var)`:

        * `x`: binary images in $\{0, 1\}$, shape `(m, n)` or `(m, C, H, W)`; `x_logits`: the
          decoder's logits of $p(x \mid z)$ for one draw $z$, the same shape; `mu`, `log_var`:
          the encoder's outputs, `(m, d)`.
        * returns a scalar: the **mean over the batch** of
          $-\log p(x \mid z) + \mathrm{KL}(q(z \mid x)\,\|\,\mathcal{N}(0, I))$, where
          $-\log p(x \mid z)$ is the Bernoulli negative log-likelihood **summed over the pixels**
          (`F.binary_cross_entropy_with_logits(..., reduction="none")`, then a sum per image).
          You may call your `gaussian_kl`.
        * finite and right for logits of $\pm 1000$.
        """),
    answer("answer_negative_elbo", '''
        def negative_elbo(x_logits, x, mu, log_var):
            """-ELBO = mean over the batch of [-log p(x | z) + KL(q(z | x) || N(0, I))].

            Args:
                x_logits: the decoder's Bernoulli logits, shape (m, n) or (m, C, H, W).
                x: binary images in {0, 1}, the same shape.
                mu, log_var: q(z | x)'s mean and log-variance, shape (m, d) each.
            Returns:
                A scalar tensor (nats per image).
            """
            ### BEGIN SOLUTION
            recon = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none")
            kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)  # (m,)
            return (recon.flatten(1).sum(1) + kl).mean()
            ### END SOLUTION
        '''),
    visible("check_negative_elbo", ELBO, """
        LOG2 = math.log(2)


        def _elbo(x_logits, x, mu, log_var, dtype=torch.float64):
            args = (torch.tensor(v, dtype=dtype) for v in (x_logits, x, mu, log_var))
            return float(negative_elbo(*args))


        def _elbo_grads():
            tensors = [torch.zeros(1, 2, dtype=torch.float64, requires_grad=True),
                       torch.tensor([[1.0, 0.0]], dtype=torch.float64, requires_grad=True),
                       torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)]
            out = negative_elbo(tensors[0], torch.ones(1, 2, dtype=torch.float64), *tensors[1:])
            return [[round(v, 6) for v in g.flatten().tolist()]
                    for g in torch.autograd.grad(out, tensors)]


        visible_check(PART, "logits 0 on 2 images of 4 pixels, mu = log_var = 0 (KL = 0)",
                      f"a scalar, 4 log 2 = {4 * LOG2:.6f} (nats per image)",
                      lambda: (tuple(negative_elbo(torch.zeros(2, 4), torch.ones(2, 4),
                                                   torch.zeros(2, 3), torch.zeros(2, 3)).shape),
                               _elbo([[0.0] * 4] * 2, [[1.0, 0.0, 1.0, 0.0]] * 2,
                                     [[0.0] * 3] * 2, [[0.0] * 3] * 2)),
                      lambda r: len(r[0]) <= 1 and abs(r[1] - 4 * LOG2) < 1e-6)
        visible_check(PART, "the same, one image, with mu = [1, 0] (KL = 1/2)",
                      f"4 log 2 + 1/2 = {4 * LOG2 + 0.5:.6f}",
                      lambda: _elbo([[0.0] * 4], [[1.0] * 4], [[1.0, 0.0]], [[0.0, 0.0]]),
                      lambda v: abs(v - 4 * LOG2 - 0.5) < 1e-6)
        visible_check(PART, "logits 0 on images of shape (3, 1, 2, 2), mu = log_var = 0",
                      f"4 log 2 = {4 * LOG2:.6f}",
                      lambda: float(negative_elbo(torch.zeros(3, 1, 2, 2), torch.ones(3, 1, 2, 2),
                                                  torch.zeros(3, 2), torch.zeros(3, 2))),
                      lambda v: abs(v - 4 * LOG2) < 1e-5)
        visible_check(PART, "logits [1000, -1000], x = [0, 1] (both wrong, float32), KL = 0",
                      "finite, 2000", lambda: _elbo([[1000.0, -1000.0]], [[0.0, 1.0]],
                                                    [[0.0]], [[0.0]], torch.float32),
                      lambda v: math.isfinite(v) and abs(v - 2000) < 1e-2)
        visible_check(PART, "gradients at logits 0, x = 1, mu = [1, 0], log_var = 0",
                      "[[-0.5, -0.5], [1.0, 0.0], [0.0, 0.0]] for x_logits, mu, log_var",
                      _elbo_grads, lambda g: g == [[-0.5, -0.5], [1.0, 0.0], [0.0, 0.0]])
        """),
    test("test_negative_elbo_reconstruction", 3, hidden('''
        # Visible tests: logits 0 (p = 1/2 per pixel) and KL = 0 give n log 2 nats per image
        x = torch.tensor([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
        out = quietly(negative_elbo, torch.zeros(2, 4), x, torch.zeros(2, 3), torch.zeros(2, 3))
        assert isinstance(out, torch.Tensor) and out.numel() == 1, (
            f"expected a scalar tensor (the mean over the batch), got {out!r}")
        assert abs(float(out) - 4 * math.log(2)) < 1e-5, (
            f"expected 4 log 2 = 2.772589 (a sum over the 4 pixels), got {float(out)}")
        print("visible tests passed")
        # Hidden tests: with mu = log_var = 0 (KL = 0), the batch mean of the Bernoulli NLL
        # summed over pixels, against a float64 reference, images of shapes (m, n) and
        # (m, C, H, W), float32 and float64.
        ''', ISOLATED, VAE_REF, ELBO_REF, ELBO_RECON)),
    _hidden_test("test_negative_elbo_takes_logits", 1, """
        # Hidden tests: logits of +-20 to +-1000 that agree with the pixels or contradict them:
        # finite, nothing clamped, and a wrong pixel costs about |logit| nats (x_logits are read
        # as logits).
        """, _CALL_ELBO, VAE_REF, ELBO_REF, ELBO_LOGITS),
    _hidden_test("test_negative_elbo_adds_the_kl", 2, """
        # Hidden tests: moving q(z | x) away from N(0, I) changes negative_elbo by the batch mean
        # of the KL (the reference's, or your gaussian_kl's: a mistake there is not charged here).
        """, _CALL_ELBO, VAE_REF, ELBO_REF, ELBO_KL),
    markdown("vae-md", r"""
        ### Train a VAE on the digits

        The next cell trains a small VAE on the binarised digits: `eep596gan`'s `VAE` provides the
        encoder and decoder networks (`vae.encode(x)` returns `(mu, log_var)`, `vae.decode(z)` the
        logits), and **your** `reparameterize` and `negative_elbo` make the training step. It then
        shows reconstructions of held-out digits (decoding $z = \mu(x)$) and samples (decoding
        $z \sim \mathcal{N}(0, I)$). (In quick mode, as when graded, it trains only a few steps.)
        """),
    locked("train-vae", """
        x_test = binarize(load_images("digits", split="test")[0]).to(device)  # (297, 1, 8, 8)
        gen = seed_everything(0)
        vae = VAE((1, 8, 8), latent_dim=8, hidden=(256, 128)).to(device)
        opt = torch.optim.Adam(vae.parameters(), lr=1e-3)
        vae_losses = []
        for _ in range(pick(5000, 150)):
            batch = x_train[torch.randint(len(x_train), (128,), generator=gen).to(device)]
            mu, log_var = vae.encode(batch)  # (128, 8) each
            eps = torch.randn(mu.shape, generator=gen).to(device)
            x_logits = vae.decode(reparameterize(mu, log_var, eps))  # (128, 1, 8, 8)
            loss = negative_elbo(x_logits, batch, mu, log_var)
            opt.zero_grad()
            loss.backward()
            opt.step()
            vae_losses.append(loss.item())

        with torch.no_grad():
            mu, log_var = vae.encode(x_test[:32])
            test_loss = negative_elbo(vae.decode(mu), x_test[:32], mu, log_var).item()
            reconstructions = torch.sigmoid(vae.decode(mu))  # p(x_i = 1 | z = mu(x))
            samples = torch.sigmoid(vae.decode(torch.randn(32, 8, generator=gen).to(device)))
        print(f"-ELBO: {vae_losses[0]:.1f} nats per image at the start, "
              f"{sum(vae_losses[-20:]) / 20:.1f} over the last 20 steps; held-out digits (z = mu): "
              f"{test_loss:.1f}")
        fig, axes = plt.subplots(1, 4, figsize=(18, 4.5))
        axes[0].plot(vae_losses)
        axes[0].set(xlabel="step", ylabel="-ELBO (nats per image)", title="VAE training")
        image_grid(2 * x_test[:32].cpu() - 1, ax=axes[1], title="held-out digits")
        image_grid(2 * reconstructions.cpu() - 1, ax=axes[2], title="reconstructions")
        image_grid(2 * samples.cpu() - 1, ax=axes[3], title="samples, z ~ N(0, I)")
        plt.show()
        assert sum(vae_losses[-10:]) / 10 < vae_losses[0] - 5, "the VAE's loss did not go down"
        """),
    markdown("q-elbo", r"""
        **Question 2 (2 points): the bound.**

        * **(a) 1 point.** Show that $\log p(x) \ge \mathbb{E}_{q(z\mid x)}[\log p(x \mid z)] -
          \mathrm{KL}(q(z \mid x)\,\|\,p(z))$ for any distribution $q(z \mid x)$ (by Jensen's
          inequality, or from an identity for $\log p(x)$).
        * **(b) 1 point.** What exactly is the gap $\log p(x) - \text{ELBO}(x)$, and when is it
          zero? What does minimising your `negative_elbo` over the *encoder's* parameters do to
          this gap, and why can the trained VAE's ELBO stay below $\log p(x)$ anyway?
        """),
    written("written_elbo_gap", 2, r"""
        (a) $\log p(x) = \log \int p(x \mid z)\,p(z)\,dz = \log \mathbb{E}_{q(z\mid x)}
        \bigl[p(x \mid z)\,p(z) / q(z \mid x)\bigr] \ge \mathbb{E}_{q}\bigl[\log p(x \mid z) +
        \log p(z) - \log q(z \mid x)\bigr]$ by Jensen ($\log$ is concave), and the right-hand side
        is $\mathbb{E}_q[\log p(x \mid z)] - \mathrm{KL}(q(z \mid x)\,\|\,p(z))$, the ELBO.
        Equivalently, using $p(x, z) = p(z \mid x)\,p(x)$: $\log p(x) = \text{ELBO}(x) +
        \mathrm{KL}(q(z \mid x)\,\|\,p(z \mid x))$, and a KL is $\ge 0$.

        (b) The gap is exactly $\mathrm{KL}(q(z \mid x)\,\|\,p(z \mid x))$, the divergence of the
        approximate posterior from the true one; it is zero if and only if $q(z \mid x) = p(z \mid
        x)$ (almost everywhere). $\log p(x)$ does not depend on the encoder, so minimising the
        negative ELBO over the encoder's parameters is minimising this KL: it pulls $q$ towards
        the true posterior (variational inference). The gap stays open when the family cannot
        represent the posterior (a diagonal Gaussian against a posterior that is correlated,
        skewed or multimodal), when the encoder is amortised (one network for all $x$, the
        amortisation gap) or not trained to the optimum, and the decoder is trained on the bound
        too, so it can settle where the bound, not $\log p(x)$, is high.
        """, [
        ("a", 1, """A correct derivation: Jensen on log E_q[p(x, z) / q(z|x)], or the identity
         log p(x) = ELBO + KL(q(z|x) || p(z|x)) with KL >= 0, and the step to the
         reconstruction-minus-KL form. Half a point for the idea without the steps."""),
        ("b", 1, """The gap is KL(q(z|x) || p(z|x)), zero iff q equals the true posterior;
         training the encoder reduces it (log p(x) is fixed w.r.t. the encoder); a reason it stays
         positive (a diagonal Gaussian family, amortisation, finite training). Half a point for
         the gap without the encoder's role or the reason."""),
    ]),
    markdown("q-reparam", r"""
        **Question 3 (2 points): the reparameterization trick.**

        * **(a) 1 point.** Suppose `reparameterize` drew $z \sim \mathcal{N}(\mu, \sigma^2)$
          directly, e.g. with `torch.distributions.Normal(mu, std).sample()`. Why would no gradient
          of the reconstruction term reach $\mu$ and $\sigma$ (the encoder) through $z$? What
          estimator of $\nabla_{\mu,\sigma}\,\mathbb{E}_{z\sim q}[f(z)]$ exists without the trick,
          and what is wrong with it in practice?
        * **(b) 1 point.** What does writing $z = \mu + \sigma \odot \epsilon$, $\epsilon \sim
          \mathcal{N}(0, I)$ change? Write the gradient it gives as an expectation, and say why it
          is the one that works for training (and what `rsample()` has to do with it).
        """),
    written("written_reparameterization", 2, r"""
        (a) A sample is a number drawn by a random procedure, not a differentiable function of
        $\mu$ and $\sigma$ in the graph: `.sample()` runs under no_grad and returns a tensor with
        no history, so autograd has no path from $z$ back to the encoder and the reconstruction
        term's gradient with respect to $\mu, \sigma$ is simply absent (only the KL term, which
        is computed from $\mu$ and $\log\sigma^2$ directly, would train the encoder). The
        expectation still has a gradient: the score-function (REINFORCE, likelihood-ratio)
        estimator $\nabla_\phi \mathbb{E}_{q_\phi}[f(z)] = \mathbb{E}_{q_\phi}[f(z)\,
        \nabla_\phi \log q_\phi(z)]$, which needs only samples and $\log q$. But it uses only the
        value of $f$, not its slope: its variance is high (it grows with $f$'s magnitude and with
        the dimension), so it needs many samples or baselines/control variates to be usable.

        (b) The randomness moves into $\epsilon$, which does not depend on the parameters; $z$ is
        now a deterministic, differentiable function of $\mu$, $\sigma$ and $\epsilon$, so
        $\nabla_{\mu,\sigma} \mathbb{E}_{q}[f(z)] = \mathbb{E}_{\epsilon \sim \mathcal{N}(0, I)}
        [\nabla_{\mu,\sigma} f(\mu + \sigma \odot \epsilon)]$: backpropagation through the
        decoder into the encoder, for one draw. This pathwise gradient uses the derivative of $f$
        and has much lower variance, so one sample per image is enough (Kingma and Welling 2014).
        `Normal(mu, std).rsample()` does exactly this: it draws $\epsilon$ and returns
        $\mu + \sigma\epsilon$ inside the graph; `sample()` does not.
        """, [
        ("a", 1, """No path in the graph from a sampled z to mu and sigma (sampling is not a
         differentiable operation / sample() detaches), and the score-function (REINFORCE)
         estimator named or written, with its high variance. Half a point for one of the two."""),
        ("b", 1, """z becomes a differentiable function of mu, sigma with parameter-free noise; the
         pathwise gradient E_eps[grad f(mu + sigma eps)], of low variance (uses f's derivative),
         and rsample as the same trick. Half a point for "gradients flow" without the expectation
         or the variance argument."""),
    ]),
    markdown("visible-summary-md", """
        ## Your visible checks

        The table counts the visible checks (not graded) of each part that passed, and says how
        many points the graded test cells decide for that part: mostly hidden tests, which run
        when your notebook is graded.
        """),
    "VISIBLE_SUMMARY",
    before_you_submit("likelihood_models", "every visible test and visible check should pass "
                      "(see the table above), the three trainings should run, and the plots "
                      "should appear"),
]
CELLS[CELLS.index("VISIBLE_SUMMARY")] = visible_summary(CELLS)
