"""Assignment gan_losses: the lecture's GAN costs and the optimal discriminator.

Every hidden test block is self-contained (the student's answer cell runs before it and could
shadow any helper defined elsewhere) and calls the student's functions inside `_isolated()`:
warnings and printing are captured (nbgrader scores a test cell that writes to stderr as 0), and
the library's reference versions in eep596gan.losses raise if the answer delegates to them.
Each hidden test targets one mistake, so that partial credit says what went wrong.
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

# ------------------------------------------------------------------ shared hidden-test preamble
ISOLATED = '''
import contextlib
import io
import math
import warnings

import torch

''' + isolated('eep596gan.losses', 'reference versions', """[getattr(lib, name, None) for name in (
            "discriminator_loss", "generator_loss_minimax", "generator_loss_nonsaturating",
            "optimal_discriminator")]""", 'the function') + '''

def _value(out, what):
    """The single number in a loss (refuses anything that is not a one-element tensor)."""
    assert isinstance(out, torch.Tensor), (
        f"{what} must return a torch.Tensor, got {type(out).__name__}")
    assert out.numel() == 1, (
        f"{what} must return a scalar (a mean over the batch), got shape {tuple(out.shape)}")
    return float(out.detach().reshape(-1)[0])


def _check(actual, expected, rtol, atol, what):
    ok = math.isfinite(actual) and abs(actual - expected) <= atol + rtol * abs(expected)
    assert ok, f"{what}: got {actual!r}, expected {expected!r}"
'''

REFERENCE = '''
def _sp(a):
    """softplus(a) = log(1 + e^a) in float64, for any a:
    -log D = sp(-logit), -log(1 - D) = sp(logit)."""
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


def _t(*values):
    return torch.tensor(values, dtype=torch.float64)


def _slots():
    """Each loss as a function of one logit tensor a (the other input held at logit 0)."""
    return {
        "discriminator_loss(real logit a, fake logit 0)":
            lambda a: discriminator_loss(a, torch.zeros_like(a)),
        "discriminator_loss(real logit 0, fake logit a)":
            lambda a: discriminator_loss(torch.zeros_like(a), a),
        "generator_loss_minimax(a)": generator_loss_minimax,
        "generator_loss_nonsaturating(a)": generator_loss_nonsaturating,
    }
'''

D_VALUES = '''
cases = [(r, f) for r in (-4.0, -0.7, 0.0, 1.3, 4.0) for f in (-3.0, 0.0, 0.4, 2.5)]
with _isolated():
    for dtype, rtol, atol in ((torch.float64, 1e-6, 1e-8), (torch.float32, 1e-4, 1e-6)):
        for shape in ((1,), (1, 1)):
            for r, f in cases:
                out = discriminator_loss(torch.full(shape, r, dtype=dtype),
                                         torch.full(shape, f, dtype=dtype))
                expected = 0.5 * _sp(-r) + 0.5 * _sp(f)  # -1/2 log D(x) - 1/2 log(1 - D(G(z)))
                _check(_value(out, "discriminator_loss"), expected, rtol, atol,
                       f"discriminator_loss(real logit {r}, fake logit {f}), "
                       f"{dtype}, shape {shape}")
'''

G_VALUES = '''
references = {
    # 1/2 log(1 - D(G(z)))
    "generator_loss_minimax": (generator_loss_minimax, lambda f: -0.5 * _sp(f)),
    # -1/2 log D(G(z))
    "generator_loss_nonsaturating": (generator_loss_nonsaturating, lambda f: 0.5 * _sp(-f)),
}
with _isolated():
    for name, (fn, reference) in references.items():
        for dtype, rtol, atol in ((torch.float64, 1e-6, 1e-8), (torch.float32, 1e-4, 1e-6)):
            for shape in ((1,), (1, 1)):
                for f in (-6.0, -2.5, -0.3, 0.0, 0.8, 3.0, 6.0):
                    out = fn(torch.full(shape, f, dtype=dtype))
                    _check(_value(out, name), reference(f), rtol, atol,
                           f"{name}(fake logit {f}), {dtype}, shape {shape}")
'''

BATCH_MEAN = '''
gen = torch.Generator().manual_seed(596)
with _isolated():
    for m, n in ((2, 2), (5, 3), (16, 7)):
        real = 3 * torch.randn(m, generator=gen, dtype=torch.float64)
        fake = 3 * torch.randn(n, generator=gen, dtype=torch.float64)
        # J^(D) = 1/2 (mean over the m real logits) + 1/2 (mean over the n fake logits)
        # = the mean of J^(D) over all (real, fake) pairs of single samples
        pairs = [_value(discriminator_loss(real[i:i + 1], fake[j:j + 1]), "discriminator_loss")
                 for i in range(m) for j in range(n)]
        expected = sum(pairs) / len(pairs)
        for r, f in ((real, fake), (real[:, None], fake[:, None]), (real[:, None], fake)):
            _check(_value(discriminator_loss(r, f), "discriminator_loss"), expected, 1e-6, 1e-9,
                   f"discriminator_loss on {m} real and {n} fake logits of shapes "
                   f"{tuple(r.shape)} and {tuple(f.shape)} (each expectation is a mean over "
                   "its own batch)")
        for name, fn in (("generator_loss_minimax", generator_loss_minimax),
                         ("generator_loss_nonsaturating", generator_loss_nonsaturating)):
            expected = sum(_value(fn(fake[j:j + 1]), name) for j in range(n)) / n
            for f in (fake, fake[:, None]):
                _check(_value(fn(f), name), expected, 1e-6, 1e-9,
                       f"{name} on {n} fake logits of shape {tuple(f.shape)} "
                       "(a mean over the batch)")
'''

EXTREME = '''
with _isolated():
    for what, fn in _slots().items():
        for dtype in (torch.float32, torch.float64):
            for a in (-1000.0, -100.0, 100.0, 1000.0):
                x = torch.tensor([a], dtype=dtype, requires_grad=True)
                out = fn(x)
                v = _value(out, what)
                assert math.isfinite(v), (f"{what} at a = {a:g} ({dtype}) is {v}: "
                                          "compute it in a form that is finite for any logit")
                if out.requires_grad:  # (differentiability has its own test)
                    (grad,) = torch.autograd.grad(out.reshape(()), x)
                    assert math.isfinite(float(grad)), (
                        f"the gradient of {what} at a = {a:g} ({dtype}) is {float(grad)}")

        def v(a, fn=fn, what=what):
            return _value(fn(_t(a)), what)

        # far from 0 the exact cost is flat on one side and a straight line on the other:
        # what happens at |a| = 1000 continues what happens between |a| = 20 and 30 (no clamping)
        for side in (1.0, -1.0):
            far, v20, v30 = v(1000 * side), v(20 * side), v(30 * side)
            predicted = v30 + 97 * (v30 - v20)
            assert abs(far - predicted) <= 1e-6 * max(1.0, abs(predicted)), (
                f"{what} at a = {1000 * side:g} is {far}, but the trend between "
                f"a = {20 * side:g} and {30 * side:g} predicts {predicted}: "
                "is something clamped?")
        slopes = sorted(abs(v(s * 30.0) - v(s * 20.0)) / 10 for s in (1.0, -1.0))
        assert slopes[0] <= 1e-6 and 0.25 <= slopes[1] <= 1.01, (
            f"{what} should grow like |a|/2 on one side and flatten on the other for large |a|; "
            f"slopes {slopes}: is something clamped?")
'''

GRADIENTS = '''
h = 1e-6
with _isolated():
    for what, fn in _slots().items():
        for a in (-3.0, -0.5, 0.25, 1.0, 2.5):  # not at a kink of max(a, 0) or |a|
            x = _t(a).requires_grad_()
            out = fn(x)
            assert isinstance(out, torch.Tensor) and out.requires_grad, (
                f"{what} has no gradient: keep the computation in torch "
                "(no .item(), .detach(), numpy or math on the logits)")
            (grad,) = torch.autograd.grad(out.reshape(()), x)
            slope = (_value(fn(_t(a + h)), what) - _value(fn(_t(a - h)), what)) / (2 * h)
            _check(float(grad), slope, 1e-5, 1e-8,
                   f"d/da {what} at a = {a} (autograd vs finite differences)")
'''

SATURATION = '''
def _slope(fn, a, what, h=1e-4):
    return (_value(fn(_t(a + h)), what) - _value(fn(_t(a - h)), what)) / (2 * h)


with _isolated():
    # D(G(z)) = sigmoid(-10) ~ 5e-5: D rejects the fakes; sigmoid(10): D is fooled
    for name, fn, flat_at, steep_at in (
            ("generator_loss_minimax", generator_loss_minimax, -10.0, 10.0),
            ("generator_loss_nonsaturating", generator_loss_nonsaturating, 10.0, -10.0)):
        flat, steep = abs(_slope(fn, flat_at, name)), abs(_slope(fn, steep_at, name))
        assert flat <= 1e-3 and 0.1 <= steep <= 2.0, (
            f"{name}: |dJ/dlogit| is {flat:.3g} at fake logit {flat_at:g} and {steep:.3g} at "
            f"{steep_at:g}; the minimax cost saturates when D rejects the fakes, the "
            "non-saturating one when D is fooled. Are the two generator losses swapped?")
'''

DIRECTIONS = '''
def _at(fn, *logits):
    return _value(fn(*[_t(a) for a in logits]), fn.__name__)


with _isolated():
    assert _at(discriminator_loss, 1.0, 0.0) < _at(discriminator_loss, -1.0, 0.0), (
        "discriminator_loss must fall as D's logit on a real sample rises "
        "(D says 'real' with more confidence)")
    assert _at(discriminator_loss, 0.0, 1.0) > _at(discriminator_loss, 0.0, -1.0), (
        "discriminator_loss must rise as D's logit on a fake sample rises (D is fooled)")
    for fn in (generator_loss_minimax, generator_loss_nonsaturating):
        assert _at(fn, 1.0) < _at(fn, -1.0), (
            f"{fn.__name__} must fall as D's logit on the fakes rises: the generator minimises "
            "its cost by fooling D (check the sign against the convention above, not the slide)")
'''

TAKES_LOGITS = '''
with _isolated():
    confident = _value(discriminator_loss(_t(6.0), _t(-6.0)), "discriminator_loss")
    fooled = _value(discriminator_loss(_t(-6.0), _t(6.0)), "discriminator_loss")
assert 0 < confident < 0.01, (
    f"J^(D) for real logit 6 and fake logit -6 (D is right and sure, D = 0.998 and 0.002) is "
    f"{confident}, expected close to 0: the inputs are logits, not probabilities (apply the "
    "sigmoid once, or not at all)")
assert 5 < fooled < 13, (
    f"J^(D) for real logit -6 and fake logit 6 (D is wrong and sure) is {fooled}, "
    "expected about 6: the inputs are logits, not probabilities")
'''

OPT_VALUES = '''
def _check_all(out, expected, what, tol=1e-6):
    assert isinstance(out, torch.Tensor), (
        f"{what} must return a torch.Tensor, got {type(out).__name__}")
    assert out.is_floating_point(), f"{what} must return a floating-point tensor, got {out.dtype}"
    assert tuple(out.shape) == tuple(expected.shape), (
        f"{what}: shape {tuple(out.shape)}, expected {tuple(expected.shape)}")
    for got, want in zip(out.detach().double().reshape(-1).tolist(), expected.reshape(-1).tolist()):
        assert math.isfinite(got) and abs(got - want) <= tol, f"{what}: got {got}, expected {want}"
'''

OPT_BASIC = '''
gen = torch.Generator().manual_seed(7)
with _isolated():
    for shape in ((7,), (2, 3)):
        p = 3 * torch.rand(shape, generator=gen, dtype=torch.float64)
        q = 3 * torch.rand(shape, generator=gen, dtype=torch.float64)
        # D* = 0 where only the model has mass, 1 where only the data has
        p.view(-1)[0], q.view(-1)[1] = 0.0, 0.0
        expected = torch.tensor(
            [a / (a + b) for a, b in zip(p.reshape(-1).tolist(), q.reshape(-1).tolist())],
            dtype=torch.float64).reshape(shape)
        _check_all(optimal_discriminator(p, q), expected,
                   f"optimal_discriminator, float64, shape {shape}")
        _check_all(optimal_discriminator(p.float(), q.float()), expected,
                   f"optimal_discriminator, float32, shape {shape}")
'''

OPT_BROADCAST = '''
with _isolated():
    p, q = _t(1.0, 2.0, 3.0)[:, None], _t(1.0, 0.5, 3.0, 6.0)  # (3, 1) and (4,) broadcast to (3, 4)
    expected = torch.tensor([[a / (a + b) for b in q.tolist()] for a in p[:, 0].tolist()],
                            dtype=torch.float64)
    _check_all(optimal_discriminator(p, q), expected,
               "optimal_discriminator of shapes (3, 1) and (4,)")
    _check_all(optimal_discriminator(q, p), 1 - expected,
               "optimal_discriminator of shapes (4,) and (3, 1)")
    _check_all(optimal_discriminator(torch.tensor(2.0, dtype=torch.float64), q),
               torch.tensor([2 / (2 + b) for b in q.tolist()], dtype=torch.float64),
               "optimal_discriminator of a 0-dim tensor and shape (4,)")
'''

OPT_ZERO = '''
with _isolated():
    # a 0 / 0 on the way (numpy warns) fails the test
    warnings.simplefilter("error", RuntimeWarning)
    results = [
        ("densities [0, 0, 1, 0] and [0, 2, 0, 0]",
         optimal_discriminator(_t(0.0, 0.0, 1.0, 0.0), _t(0.0, 2.0, 0.0, 0.0)),
         _t(0.5, 0.0, 1.0, 0.5)),
        ("zeros of shape (2, 2), float32",
         optimal_discriminator(torch.zeros(2, 2), torch.zeros(2, 2)),
         torch.full((2, 2), 0.5, dtype=torch.float64)),
    ]
for what, out, expected in results:
    _check_all(out, expected,
               f"optimal_discriminator at 0/0 ({what}): D* is 1/2 where both densities are 0")
'''

OPT_INT = '''
with _isolated():
    out = optimal_discriminator(torch.tensor([1, 0, 3, 5]), torch.tensor([1, 2, 1, 0]))
_check_all(out, _t(0.5, 0.0, 0.75, 1.0),
           "optimal_discriminator of integer tensors [1, 0, 3, 5] and [1, 2, 1, 0]")
'''


def _visible(comment: str, calls: str) -> str:
    """The visible part of a hidden-test cell: what it checks, and a call that fails on the stub."""
    return textwrap.dedent(comment).strip("\n") + "\n" + calls


def _call_each(*calls: str) -> str:
    return "with _isolated():\n" + "\n".join(f"    {c}" for c in calls)


_ALL_LOSSES = _call_each("discriminator_loss(torch.zeros(1), torch.zeros(1))",
                         "generator_loss_minimax(torch.zeros(1))",
                         "generator_loss_nonsaturating(torch.zeros(1))")
_CALL_D = "_ = quietly(discriminator_loss, torch.zeros(1), torch.zeros(1))"
_CALL_G = ("_ = quietly(generator_loss_minimax, torch.zeros(1))\n"
           "_ = quietly(generator_loss_nonsaturating, torch.zeros(1))")
_CALL_ALL = _CALL_D + "\n" + _CALL_G
_CALL_OPT = "_ = quietly(optimal_discriminator, torch.ones(1), torch.ones(1))"


COSTS = "Parts 1-2: the costs"

CELLS = [
    markdown("intro", r"""
        # Assignment: the costs of the GAN game

        *EEP 596, Lecture 7: Generative Adversarial Networks.*

        A GAN is a game between two networks. The **discriminator** $D$ maps a sample $x$ to a logit
        $\ell$, and $D(x) = \sigma(\ell)$ is its probability that $x$ is real. The **generator** $G$
        maps noise $z$ to a sample $G(z)$. In this assignment you write the costs of that game,
        study why the generator's cost is usually changed, and derive the discriminator that
        wins it.

        **The convention used everywhere in this course: both players *minimise* their own cost.**
        With means over a batch ($m$ real samples $x$, $n$ noise vectors $z$):

        $$J^{(D)} = -\tfrac12\,\mathbb{E}_{x\sim p_\text{data}} \log D(x)
        \;-\; \tfrac12\,\mathbb{E}_{z} \log\bigl(1 - D(G(z))\bigr)$$

        * **minimax** generator (the zero-sum game: $J^{(G)} = -J^{(D)}$, dropping the term $G$
          cannot change):
          $$J^{(G)}_\text{minimax} = \tfrac12\,\mathbb{E}_{z} \log\bigl(1 - D(G(z))\bigr)$$
        * **non-saturating** generator (the heuristic used in practice):
          $$J^{(G)}_\text{NS} = -\tfrac12\,\mathbb{E}_{z} \log D(G(z))$$

        $J^{(D)}$ is the binary cross-entropy of a classifier that labels real samples 1 and fakes
        0, with each of the two expectations averaged over its own batch. The slide
        *"Competing cost functions"* writes $J^{(D)}$ exactly like this. The slide
        *"Optimization in NN"* writes the same two costs again, but with a **sign slip**: do not
        copy its signs (lecture 05 §6 finds the slip).

        **Rules.** Write each function yourself with PyTorch; do not import them from `eep596gan`
        (the graders check this). Your functions take **logits**, tensors of shape `(m,)` or
        `(m, 1)`, and return a scalar tensor that gradients can flow through. Run the first two
        code cells first: the first installs the course library in Colab (elsewhere it does
        nothing), the second is the setup.
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

        from eep596gan.data import mixture_1d
        from eep596gan.device import get_device, pick, quick_mode, seed_everything
        """),
    markdown("about-tests", """
        The test cells below check your answers. Each is worth points; most of their checks are
        hidden and run when your notebook is graded, so passing the visible ones is a start, not a
        guarantee. They call your functions through `quietly`, which captures warnings and printed
        output: nbgrader gives 0 points to a test cell that writes to stderr, and a warning of yours
        should not cost you points.
        """),
    test_helpers(),
    markdown("part1", r"""
        ## Part 1: the discriminator's cost

        Write `discriminator_loss(real_logits, fake_logits)`. The real and fake batches may differ
        in size ($m$ and $n$): each expectation is the mean over its own batch.

        It must stay finite (and correct) for logits of $\pm 1000$, which a confident discriminator
        does produce. `torch.log(torch.sigmoid(x))` is `-inf` there: rewrite $\log\sigma(\ell)$ and
        $\log(1 - \sigma(\ell))$ with a function that is stable for any $\ell$ (look in
        `torch.nn.functional`).
        """),
    answer("answer_discriminator_loss", '''
        def discriminator_loss(real_logits, fake_logits):
            """J^(D) = -1/2 E_x log D(x) - 1/2 E_z log(1 - D(G(z))), with D = sigmoid(logit).

            Args:
                real_logits: D's logits on m real samples, shape (m,) or (m, 1).
                fake_logits: D's logits on n generated samples, shape (n,) or (n, 1).
            Returns:
                A scalar tensor, differentiable with respect to both inputs.
            """
            ### BEGIN SOLUTION
            # -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l):
            # finite for any l
            return 0.5 * F.softplus(-real_logits).mean() + 0.5 * F.softplus(fake_logits).mean()
            ### END SOLUTION
        '''),
    visible("check_discriminator_loss", COSTS, """
        LOG2 = math.log(2)


        def _d(real, fake, dtype=torch.float64):
            return float(discriminator_loss(torch.tensor(real, dtype=dtype),
                                            torch.tensor(fake, dtype=dtype)))


        def _d_grads(real, fake):
            real = torch.tensor(real, dtype=torch.float64, requires_grad=True)
            fake = torch.tensor(fake, dtype=torch.float64, requires_grad=True)
            out = discriminator_loss(real, fake)
            grads = torch.autograd.grad(out.reshape(()), (real, fake))
            return tuple(round(float(g.sum()), 6) for g in grads)


        visible_check(PART, "discriminator_loss, real and fake logits 0 (D = 1/2 on both)",
                      f"log 2 = {LOG2:.6f}", lambda: _d([0.0], [0.0]),
                      lambda v: abs(v - LOG2) < 1e-6)
        visible_check(PART, "discriminator_loss, real logit log 3 (D(x) = 3/4), fake logit 0",
                      f"-1/2 log(3/4) + 1/2 log 2 = {-0.5 * math.log(0.75) + 0.5 * LOG2:.6f}",
                      lambda: _d([math.log(3)], [0.0]),
                      lambda v: abs(v - (-0.5 * math.log(0.75) + 0.5 * LOG2)) < 1e-6)
        visible_check(PART, "discriminator_loss, 3 real logits 0 of shape (3,), 5 fake of (5, 1)",
                      "a scalar, log 2 (each expectation is a mean over its own batch)",
                      lambda: (tuple(quietly(discriminator_loss, torch.zeros(3),
                                             torch.zeros(5, 1)).shape),
                               _d([0.0] * 3, [[0.0]] * 5)),
                      lambda r: len(r[0]) <= 1 and abs(r[1] - LOG2) < 1e-6)
        visible_check(PART, "d J^(D) / d logit at real and fake logits 0 (one sample each)",
                      "(-1/4, +1/4): the cost falls as the real logit rises, rises with the fake",
                      lambda: _d_grads([0.0], [0.0]),
                      lambda g: abs(g[0] + 0.25) < 1e-6 and abs(g[1] - 0.25) < 1e-6)
        visible_check(PART, "discriminator_loss, real logit -1000, fake logit 1000 (float32)",
                      "finite, about 1000 (D is wrong and sure)",
                      lambda: _d([-1000.0], [1000.0], torch.float32),
                      lambda v: math.isfinite(v) and abs(v - 1000) < 1e-2)
        """),
    markdown("part2", r"""
        ## Part 2: the generator's two costs

        Write `generator_loss_minimax(fake_logits)` $= \tfrac12\,\mathbb{E}_z \log(1 - D(G(z)))$ and
        `generator_loss_nonsaturating(fake_logits)` $= -\tfrac12\,\mathbb{E}_z \log D(G(z))$, both
        to be *minimised* by the generator, both stable for logits of $\pm 1000$.
        """),
    answer("answer_generator_losses", '''
        def generator_loss_minimax(fake_logits):
            """J^(G) = 1/2 E_z log(1 - D(G(z))): minus J^(D) without the term G cannot change.

            Args:
                fake_logits: D's logits on n generated samples, shape (n,) or (n, 1).
            Returns:
                A scalar tensor, to be minimised over G's parameters.
            """
            ### BEGIN SOLUTION
            return -0.5 * F.softplus(fake_logits).mean()
            ### END SOLUTION


        def generator_loss_nonsaturating(fake_logits):
            """J^(G) = -1/2 E_z log D(G(z)): the non-saturating heuristic.

            Args:
                fake_logits: D's logits on n generated samples, shape (n,) or (n, 1).
            Returns:
                A scalar tensor, to be minimised over G's parameters.
            """
            ### BEGIN SOLUTION
            return 0.5 * F.softplus(-fake_logits).mean()
            ### END SOLUTION
        '''),
    visible("check_generator_losses", COSTS, """
        LOG2 = math.log(2)


        def _g(fn, logits, dtype=torch.float64):
            return float(fn(torch.tensor(logits, dtype=dtype)))


        def _g_grad(fn, logit):
            x = torch.tensor([logit], dtype=torch.float64, requires_grad=True)
            (grad,) = torch.autograd.grad(fn(x).reshape(()), x)
            return float(grad)


        MM, NS = "generator_loss_minimax", "generator_loss_nonsaturating"
        visible_check(PART, f"{MM} and {NS}, fake logit 0 (D(G(z)) = 1/2)",
                      f"(-1/2 log 2, 1/2 log 2) = ({-0.5 * LOG2:.6f}, {0.5 * LOG2:.6f})",
                      lambda: (_g(generator_loss_minimax, [0.0]),
                               _g(generator_loss_nonsaturating, [0.0])),
                      lambda v: abs(v[0] + 0.5 * LOG2) < 1e-6 and abs(v[1] - 0.5 * LOG2) < 1e-6)
        visible_check(PART, f"{MM} and {NS}, fake logit log 3 (D(G(z)) = 3/4)",
                      f"(1/2 log(1/4), -1/2 log(3/4)) = "
                      f"({0.5 * math.log(0.25):.6f}, {-0.5 * math.log(0.75):.6f})",
                      lambda: (_g(generator_loss_minimax, [math.log(3)]),
                               _g(generator_loss_nonsaturating, [math.log(3)])),
                      lambda v: (abs(v[0] - 0.5 * math.log(0.25)) < 1e-6
                                 and abs(v[1] + 0.5 * math.log(0.75)) < 1e-6))
        visible_check(PART, "both, on 4 fake logits 0 of shape (4, 1)",
                      "scalars, the same values as for one logit 0 (a mean over the batch)",
                      lambda: (tuple(quietly(generator_loss_minimax, torch.zeros(4, 1)).shape),
                               tuple(quietly(generator_loss_nonsaturating, torch.zeros(4)).shape),
                               _g(generator_loss_minimax, [[0.0]] * 4),
                               _g(generator_loss_nonsaturating, [[0.0]] * 4)),
                      lambda r: (len(r[0]) <= 1 and len(r[1]) <= 1 and abs(r[2] + 0.5 * LOG2) < 1e-6
                                 and abs(r[3] - 0.5 * LOG2) < 1e-6))
        visible_check(PART, "d J^(G) / d logit at fake logit 0, minimax and non-saturating",
                      "(-1/4, -1/4): both costs fall as D is fooled",
                      lambda: (round(_g_grad(generator_loss_minimax, 0.0), 6),
                               round(_g_grad(generator_loss_nonsaturating, 0.0), 6)),
                      lambda g: abs(g[0] + 0.25) < 1e-6 and abs(g[1] + 0.25) < 1e-6)
        visible_check(PART, "|d J^(G) / d logit| at fake logit -5 (D rejects the fakes)",
                      "minimax smaller than non-saturating (see the plot below)",
                      lambda: (round(abs(_g_grad(generator_loss_minimax, -5.0)), 6),
                               round(abs(_g_grad(generator_loss_nonsaturating, -5.0)), 6)),
                      lambda g: g[0] < g[1])
        visible_check(PART, "both at fake logits -1000 and 1000 (float32)",
                      "finite values",
                      lambda: [_g(fn, [a], torch.float32) for a in (-1000.0, 1000.0)
                               for fn in (generator_loss_minimax, generator_loss_nonsaturating)],
                      lambda v: all(math.isfinite(x) for x in v))
        """),
    test("test_losses_visible", 1, hidden('''
        # Visible tests: each loss returns a differentiable scalar for logits of shape (m,)
        # and (m, 1) ...
        logits = torch.linspace(-3, 3, 8, requires_grad=True)
        for x in (logits, logits[:, None]):
            for name, out in (
                ("discriminator_loss", quietly(discriminator_loss, x, x)),
                ("generator_loss_minimax", quietly(generator_loss_minimax, x)),
                ("generator_loss_nonsaturating", quietly(generator_loss_nonsaturating, x)),
            ):
                assert isinstance(out, torch.Tensor) and out.numel() == 1, (
                    f"{name} must return a scalar tensor (the mean over the batch), got {out!r}")
                assert out.requires_grad, (
                    f"{name}'s result has no gradient: keep the computation in torch")
        # ... and at logit 0, where D = 1/2 for every sample:
        zero = torch.zeros(1)
        assert abs(float(quietly(discriminator_loss, zero, zero)) - math.log(2)) < 1e-6, (
            "J^(D) at D = 1/2 is log 2")
        assert abs(float(quietly(generator_loss_minimax, zero)) + 0.5 * math.log(2)) < 1e-6, (
            "the minimax J^(G) at D = 1/2 is 1/2 log(1/2) = -1/2 log 2")
        assert abs(float(quietly(generator_loss_nonsaturating, zero)) - 0.5 * math.log(2)) < 1e-6, (
            "the non-saturating J^(G) at D = 1/2 is -1/2 log(1/2) = 1/2 log 2")
        print("visible tests passed")
        ''', ISOLATED, _ALL_LOSSES)),
    test("test_discriminator_loss_values", 2, hidden(_visible('''
        # Hidden tests: discriminator_loss against a float64 reference, one real and one fake logit
        # at a time, for logits in [-4, 4], shapes (1,) and (1, 1), float32 and float64. Float32
        # accuracy is enough: relative error 1e-6 in float64 (1e-4 in float32).
        ''', _CALL_D), ISOLATED, REFERENCE, D_VALUES)),
    test("test_generator_loss_values", 3, hidden(_visible('''
        # Hidden tests: both generator losses against a float64 reference, one logit at a time,
        # for logits in [-6, 6], shapes (1,) and (1, 1), float32 and float64. Float32 accuracy
        # is enough: relative error 1e-6 in float64 (1e-4 in float32).
        ''', _CALL_G), ISOLATED, REFERENCE, G_VALUES)),
    test("test_losses_average_over_the_batch", 2, hidden(_visible('''
        # Hidden tests: on batches of several sizes (real and fake batches of different sizes too,
        # shapes (m,) and (m, 1)), each loss is a scalar: the mean of its values on single samples.
        ''', _CALL_ALL), ISOLATED, BATCH_MEAN)),
    test("test_losses_at_extreme_logits", 2, hidden(_visible('''
        # Hidden tests: at logits of +-100 and +-1000 (float32 and float64) every loss and its
        # gradient is finite, and the value is right there too (nothing clamped).
        ''', _CALL_ALL), ISOLATED, REFERENCE, EXTREME)),
    test("test_loss_gradients", 2, hidden(_visible('''
        # Hidden tests: gradients flow to the logits (real and fake) and agree with finite
        # differences.
        ''', _CALL_ALL), ISOLATED, REFERENCE, GRADIENTS)),
    test("test_minimax_saturates_nonsaturating_does_not", 1, hidden(_visible('''
        # Hidden tests: where D rejects the fakes (logit -10) the minimax cost is flat and the
        # non-saturating one is steep; where D is fooled (logit +10), the other way round.
        ''', _CALL_G), ISOLATED, REFERENCE, SATURATION)),
    test("test_costs_point_the_right_way", 1, hidden(_visible('''
        # Hidden tests: J^(D) falls as D gets real samples right and fakes right; both generator
        # costs fall as D is fooled.
        ''', _CALL_ALL), ISOLATED, REFERENCE, DIRECTIONS)),
    test("test_discriminator_loss_takes_logits", 1, hidden(_visible('''
        # Hidden tests: discriminator_loss reads its inputs as logits (values outside [0, 1]).
        ''', _CALL_D), ISOLATED, REFERENCE, TAKES_LOGITS)),
    markdown("gradients-md", r"""
        ## Why two generator costs?

        The next cell plots $|\partial J^{(G)} / \partial \ell|$ for one fake sample against
        $D(G(z)) = \sigma(\ell)$, for both of your generator costs (through autograd). Early in
        training the generator is bad and the discriminator rejects its samples easily:
        $D(G(z)) \to 0$, the left of the plot.
        """),
    locked("gradients-plot", """
        logits = torch.linspace(-10, 10, 201, dtype=torch.float64)
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, fn in (("minimax", generator_loss_minimax),
                         ("non-saturating", generator_loss_nonsaturating)):
            slopes = []
            for a in logits:
                a = a.reshape(1).requires_grad_()
                (grad,) = torch.autograd.grad(fn(a).sum(), a)  # one sample: d J^(G) / d logit
                slopes.append(abs(float(grad)))
            ax.plot(torch.sigmoid(logits), slopes, label=name)
        ax.set(xscale="log", yscale="log", xlabel="D(G(z))", ylabel="|dJ(G) / d logit|",
               title="Generator gradient for one fake sample")
        ax.legend()
        plt.show()
        """),
    markdown("q1", r"""
        **Question 1 (3 points).** Write $\ell$ for the logit of one fake sample, so that
        $D(G(z)) = \sigma(\ell)$. Answer in the cell below.

        * **(a) 1 point.** Derive $\partial J^{(G)} / \partial \ell$ for each of the two generator
          costs as a function of $D(G(z))$, and say what each does as $D(G(z)) \to 0$. Does the
          plot agree?
        * **(b) 1 point.** When in training is $D(G(z))$ close to 0, and what does that mean for a
          generator trained with the minimax cost?
        * **(c) 1 point.** With the non-saturating cost the game is no longer zero-sum
          ($J^{(G)} \neq -J^{(D)}$). Show that $p_\text{model} = p_\text{data}$ with $D = D^*$ is
          still a fixed point of training: neither player's gradient moves it. (What is $D^*$
          there, as a function of $x$?) Would "both costs fall as $D(G(z))$ rises" be enough to
          show this?
        """),
    written("written_nonsaturating", 3, r"""
        (a) Minimax: $J = \tfrac12\log(1 - \sigma(\ell))$, so
        $\partial J/\partial\ell = -\tfrac12\sigma(\ell) = -\tfrac12 D(G(z)) \to 0$ as
        $D(G(z)) \to 0$. Non-saturating: $J = -\tfrac12\log\sigma(\ell)$, so
        $\partial J/\partial\ell = -\tfrac12(1 - \sigma(\ell)) = -\tfrac12(1 - D(G(z)))
        \to -\tfrac12$.
        On the log-log plot the minimax slope falls in proportion to $D(G(z))$ (a straight line of
        slope 1 on the left), the non-saturating one levels off at $\tfrac12$.

        (b) Early in training, when the fakes are poor and $D$ rejects them easily, and whenever
        $D$ gets far ahead of $G$ (many D steps, a stronger $D$). The minimax generator's gradient
        is then proportional to $D(G(z)) \approx 0$: it learns slowly or stalls exactly when it is
        worst.

        (c) At $p_\text{model} = p_\text{data} = p$, $D^*(x) = p(x)/(p(x) + p(x)) = \tfrac12$ for
        every $x$: a constant. For any cost $f(D(G(z)))$ the generator's gradient is
        $\mathbb{E}_z[f'(D)\,\nabla_x D(G(z))\,\partial G/\partial\theta_g]$, and
        $\nabla_x D^* = 0$, so it vanishes for both costs; $D = D^*$ minimises $J^{(D)}$, so $D$'s
        gradient is zero too. Monotonicity is not enough: both costs push each sample the same way,
        but they weigh samples differently ($\tfrac12 D$ against $\tfrac12(1 - D)$), so their
        stationary points need not coincide in general; this one is shared because $D^*$ is
        constant there.
        """, [
        ("a", 1, """Both derivatives (in D(G(z)) or in the logit) and their limits, 0 for minimax
         and -1/2 for non-saturating, and a word on the plot. Half a point for the limits read off
         the plot without the derivation, or for one derivative only."""),
        ("b", 1, """Early training or D far ahead of G, and that the minimax generator then gets a
         vanishing gradient (slow or stalled learning). Half a point for only one of the two."""),
        ("c", 1, """D* = 1/2 for every x, so its x-gradient is 0 and G's gradient vanishes under
         either cost, while D* is optimal for D; and that monotonicity alone does not show a shared
         fixed point. Half a point for an argument from monotonicity only, or for D* = 1/2 without
         the gradient argument."""),
    ]),
    markdown("part3", r"""
        ## Part 3: the optimal discriminator

        For a fixed generator, $J^{(D)} = -\tfrac12\int p_\text{data}(x)\log D(x)\,dx -
        \tfrac12\int p_\text{model}(x)\log(1 - D(x))\,dx$ is minimised pointwise by
        $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_\text{model}(x)}.$$
        The slide assumes both densities are nonzero everywhere. Where both are 0 the cost does not
        depend on $D(x)$; we define $D^*(x) = \tfrac12$ there.

        Write `optimal_discriminator(p_data, p_model)`: elementwise on tensors of densities, with
        broadcasting (shapes `(3, 1)` and `(4,)` give `(3, 4)`), integer tensors allowed, a
        floating-point result, no NaN and no warning where both densities are 0.
        """),
    answer("answer_optimal_discriminator", '''
        def optimal_discriminator(p_data, p_model):
            """D*(x) = p_data(x) / (p_data(x) + p_model(x)) elementwise, and 1/2 where both are 0.

            Args:
                p_data, p_model: tensors of densities (>= 0) of broadcastable shapes.
            Returns:
                A floating-point tensor of the broadcast shape.
            """
            ### BEGIN SOLUTION
            p_data, p_model = torch.as_tensor(p_data), torch.as_tensor(p_model)
            dtype = torch.promote_types(p_data.dtype, p_model.dtype)
            if not dtype.is_floating_point:
                dtype = torch.get_default_dtype()
            p_data, p_model = p_data.to(dtype), p_model.to(dtype)
            total = p_data + p_model
            both_zero = total == 0
            ratio = p_data / torch.where(both_zero, torch.ones_like(total), total)  # never 0 / 0
            return torch.where(both_zero, torch.full_like(ratio, 0.5), ratio)
            ### END SOLUTION
        '''),
    visible("check_optimal_discriminator", "Part 3: optimal_discriminator", """
        def _no_warning(fn, *args):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return fn(*args)


        visible_check(PART, "optimal_discriminator([3, 1, 0], [1, 1, 2])",
                      "[0.75, 0.5, 0.0]",
                      lambda: optimal_discriminator(torch.tensor([3.0, 1.0, 0.0]),
                                                    torch.tensor([1.0, 1.0, 2.0])).tolist(),
                      lambda v: len(v) == 3 and all(abs(a - b) < 1e-6
                                                    for a, b in zip(v, [0.75, 0.5, 0.0])))
        visible_check(PART, "optimal_discriminator of shapes (2, 1) and (3,)",
                      "shape (2, 3)",
                      lambda: tuple(optimal_discriminator(torch.ones(2, 1), torch.ones(3)).shape),
                      lambda shape: shape == (2, 3))
        visible_check(PART, "optimal_discriminator([0.0], [0.0]): both densities 0",
                      "[0.5], no NaN and no warning",
                      lambda: _no_warning(optimal_discriminator, torch.zeros(1),
                                          torch.zeros(1)).tolist(),
                      lambda v: v == [0.5])
        visible_check(PART, "optimal_discriminator of integer tensors [1, 3] and [1, 1]",
                      "a floating-point tensor [0.5, 0.75]",
                      lambda: (lambda out: (str(out.dtype), out.tolist()))(
                          optimal_discriminator(torch.tensor([1, 3]), torch.tensor([1, 1]))),
                      lambda r: "float" in r[0] and r[1] == [0.5, 0.75])
        """),
    test("test_optimal_discriminator_visible", 1, hidden('''
        # Visible tests
        out = quietly(optimal_discriminator, torch.tensor([3.0, 1.0, 0.0]),
                      torch.tensor([1.0, 1.0, 2.0]))
        assert isinstance(out, torch.Tensor) and tuple(out.shape) == (3,), (
            f"expected a tensor of shape (3,), got {out!r}")
        assert all(abs(a - b) < 1e-6 for a, b in zip(out.tolist(), [0.75, 0.5, 0.0])), (
            f"expected [0.75, 0.5, 0.0], got {out}")
        print("visible tests passed")
        ''', ISOLATED, _call_each(
            "optimal_discriminator(torch.tensor([3.0, 1.0]), torch.tensor([1.0, 1.0]))"))),
    test("test_optimal_discriminator_values", 1, hidden(_visible('''
        # Hidden tests: values against p_data / (p_data + p_model), float32 and float64 inputs,
        # shapes (7,) and (2, 3), to 1e-6 (a float32 or a float64 result).
        ''', _CALL_OPT), ISOLATED, REFERENCE, OPT_VALUES, OPT_BASIC)),
    test("test_optimal_discriminator_broadcasts", 1, hidden(_visible('''
        # Hidden tests: broadcasting, e.g. shapes (3, 1) and (4,) give (3, 4).
        ''', _CALL_OPT), ISOLATED, REFERENCE, OPT_VALUES, OPT_BROADCAST)),
    test("test_optimal_discriminator_zero_over_zero", 1, hidden(_visible('''
        # Hidden tests: D* = 1/2 where both densities are 0, without NaN and without a warning.
        ''', _CALL_OPT), ISOLATED, REFERENCE, OPT_VALUES, OPT_ZERO)),
    test("test_optimal_discriminator_integer_inputs", 1, hidden(_visible('''
        # Hidden tests: integer tensors of densities give the right floating-point D*.
        ''', _CALL_OPT), ISOLATED, REFERENCE, OPT_VALUES, OPT_INT)),
    markdown("q2", r"""
        **Question 2 (2 points).** Many implementations concatenate a real batch of $m_r$
        samples and a fake batch of $m_f$ and average one binary cross-entropy over all
        $m_r + m_f$. With $\pi = m_r / (m_r + m_f)$ that is
        $$J^{(D)}_\pi = -\pi\,\mathbb{E}_{x\sim p_\text{data}}\log D(x)
        - (1 - \pi)\,\mathbb{E}_{x\sim p_\text{model}}\log(1 - D(x)),$$
        and your `discriminator_loss` is the case $\pi = \tfrac12$.

        * **(a) 1 point.** Derive the discriminator $D^*_\pi(x)$ that minimises $J^{(D)}_\pi$ for a
          fixed generator. How can your `optimal_discriminator` compute it? Check your formula in
          the scratch cell, which finds the best $D(x)$ by brute force.
        * **(b) 1 point.** Against $D^*_\pi$, is the generator's best response still
          $p_\text{model} = p_\text{data}$ (for $0 < \pi < 1$)? What are $D^*_\pi$ and
          $J^{(D)}_\pi$ there, and what does that mean when you read $D$'s outputs and loss off a
          training log with $m_r \neq m_f$?
        """),
    written("written_weighted_game", 2, r"""
        (a) Pointwise in $x$, minimise $-\pi p_\text{data}\log D - (1 - \pi) p_\text{model}
        \log(1 - D)$: the derivative $-\pi p_\text{data}/D + (1 - \pi) p_\text{model}/(1 - D)$
        is 0 at $D^*_\pi(x) = \pi p_\text{data}(x) /
        (\pi p_\text{data}(x) + (1 - \pi) p_\text{model}(x))$,
        a minimum (the cost is convex in $D$). That is
        `optimal_discriminator(pi * p_data, (1 - pi) * p_model)`.

        (b) With $M = \pi p_\text{data} + (1 - \pi) p_\text{model}$,
        $-J^{(D)}_\pi(D^*_\pi) = \pi\,\mathrm{KL}(p_\text{data}\|M)
        + (1 - \pi)\,\mathrm{KL}(p_\text{model}\|M) + \pi\log\pi + (1 - \pi)\log(1 - \pi)$: a
        $\pi$-weighted Jensen-Shannon divergence, which is $\geq 0$ and 0 only when
        $p_\text{model} = p_\text{data}$, minus the entropy $H(\pi)$. So the best response is
        still $p_\text{model} = p_\text{data}$, but there $D^*_\pi = \pi$ everywhere, not
        $\tfrac12$, and $J^{(D)}_\pi = H(\pi) = -\pi\log\pi - (1 - \pi)\log(1 - \pi)$, not
        $\log 2$. With $m_r = 64$, $m_f = 192$ a perfect generator leaves $D = 0.25$ on every
        input: "D near 1/2" and "D loss near 0.693" are the signs of equilibrium only for equal
        batches.
        """, [
        ("a", 1, """D*_pi = pi p_data / (pi p_data + (1 - pi) p_model), derived pointwise (a
         stationary point of the pointwise cost), and optimal_discriminator called on the weighted
         densities. Half a point for the right formula without the derivation."""),
        ("b", 1, """Yes, p_model = p_data is still the best response (an argument: a weighted JSD,
         or D*_pi's value), D*_pi = pi and the loss H(pi) there, and the consequence for reading a
         log with unequal batches. Half a point for the best response without D*_pi = pi, or the
         other way round."""),
    ]),
    {"cell_type": "code", "id": "scratch-q2", "source": (
        "# Scratch cell (not graded): check Question 2 (a) against a brute-force minimum.\n"
        "pi = 0.25\n"
        "x = torch.linspace(-4, 4, 801, dtype=torch.float64)\n"
        "p_data, p_model = mixture_1d(\"bimodal\").pdf(x), mixture_1d(\"gaussian\").pdf(x)\n"
        "d = torch.linspace(1e-4, 1 - 1e-4, 9999, dtype=torch.float64)[:, None]  # candidates\n"
        "cost = -pi * p_data * torch.log(d) - (1 - pi) * p_model * torch.log(1 - d)  # (9999, 801)"
        "\n"
        "d_best = d[cost.argmin(0), 0]  # the best D(x) at each x, by brute force\n"
        "# your_d = ...  (your formula for D*_pi)\n"
        "# print((d_best - your_d).abs().max())  # below 1e-4, the candidates' spacing")},
    markdown("dstar-md", r"""
        ## Does a trained discriminator find $D^*$?

        The next cell trains a small discriminator with **your** `discriminator_loss` to tell
        samples of a bimodal mixture ($p_\text{data}$) from a standard normal ($p_\text{model}$),
        whose densities we know, and compares $\sigma(\ell(x))$ with **your**
        `optimal_discriminator`. (Where there is almost no mass, the discriminator sees no samples
        and cannot learn $D^*$; we compare where $p_\text{data} + p_\text{model} > 0.05$.)
        """),
    locked("dstar-check", """
        p_data, p_model = mixture_1d("bimodal"), mixture_1d("gaussian")
        gen = seed_everything(0)
        disc = torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.LeakyReLU(0.2),
                                   torch.nn.Linear(64, 64), torch.nn.LeakyReLU(0.2),
                                   torch.nn.Linear(64, 1)).to(device)
        opt = torch.optim.Adam(disc.parameters(), lr=3e-3)
        for _ in range(pick(2000, 400)):
            x_real = p_data.sample(256, generator=gen).to(device)  # (256, 1)
            x_fake = p_model.sample(256, generator=gen).to(device)  # (256, 1)
            loss = discriminator_loss(disc(x_real), disc(x_fake))
            opt.zero_grad()
            loss.backward()
            opt.step()

        x = torch.linspace(-4, 4, 401)  # (401,)
        with torch.no_grad():
            d_trained = torch.sigmoid(disc(x[:, None].to(device))).squeeze(1).double().cpu()
        d_star = optimal_discriminator(p_data.pdf(x), p_model.pdf(x))
        where = (p_data.pdf(x) + p_model.pdf(x)) > 0.05
        gap = (d_trained - d_star)[where].abs().mean().item()

        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(x, p_data.pdf(x), "k", lw=1, label="p_data (bimodal)")
        ax.plot(x, p_model.pdf(x), "k--", lw=1, label="p_model (normal)")
        ax.plot(x, d_star, "C0", lw=2, label="your D*(x)")
        ax.plot(x, d_trained, "C1", label="trained D(x)")
        ax.set(xlabel="x", title=f"mean |D - D*| where there is mass: {gap:.3f}")
        ax.legend()
        plt.show()
        assert gap < 0.1, (f"the trained discriminator is {gap:.3f} from your D* on average: "
                           "check both functions")
        """),
    # The quote's J^(D) stays one line of the notebook (a formula wrapped across "> " lines
    # would take the ">" into the maths): the two literals below join into that line.
    markdown("q3", r"""
        **Question 3 (2 points).** Look at the plot above: the trained discriminator against your
        $D^*$.

        * **(a) 1 point.** Where do they agree and where not? Why could no amount of training make
          them agree everywhere? (Think about what $J^{(D)}$ sees.)
        * **(b) 1 point.** The generator learns through $\nabla_x D(x)$ at its samples. Suppose all
          the fakes sit in a region where $p_\text{data} = 0$ (the supports do not overlap). What
          is $D^*$ on that region, and its gradient? Why is the network's imperfect $D$ more
          useful to the generator there than $D^*$ would be?
        """),
    written("written_trained_vs_optimal", 2, r"""
        (a) They agree where $p_\text{data} + p_\text{model}$ has mass (the printed gap is small
        there) and part in the tails. $J^{(D)}$ is an expectation under $p_\text{data}$ and
        $p_\text{model}$: where both densities are (nearly) 0 no sample lands, $D$'s value there
        carries (almost) no weight in the loss, any value is (nearly) optimal, and the network
        just extrapolates its shape. $D^*$ there is a ratio of two tiny densities (and $\tfrac12$
        by convention where both are 0). Finite batches and a finite network leave small gaps in
        the bulk too.

        (b) Where $p_\text{data} = 0 < p_\text{model}$, $D^*(x) = 0$ on the whole region, so
        $\nabla_x D^* = 0$: the generator gets no direction from it (the minimax cost is flat
        there too: with disjoint supports the JSD is $\log 2$ whatever the distance, Arjovsky and
        Bottou 2017). A network's $D$ is smooth: its output still rises towards the real data, so
        $\nabla_x D$ points the fakes there. A discriminator trained to optimality can stall the
        generator; an imperfect one is what gives it a signal.
        """, [
        ("a", 1, """Agreement where there is mass and disagreement in the tails, explained by the
         loss putting (almost) no weight where neither distribution has samples. Half a point for
         the description without the reason."""),
        ("b", 1, """D* = 0 on the region and a zero gradient (no direction for G), against a smooth
         network D whose slope points to the data. Half a point for one of the two."""),
    ]),
    markdown("visible-summary-md", """
        ## Your visible checks

        The table counts the visible checks (not graded) of each part that passed, and says how
        many points the graded test cells decide for that part: mostly hidden tests, which run
        when your notebook is graded.
        """),
    "VISIBLE_SUMMARY",
    before_you_submit("gan_losses", "every visible test and visible check should pass "
                      "(see the table above) and the plots should appear"),
]
CELLS[CELLS.index("VISIBLE_SUMMARY")] = visible_summary(CELLS)
