"""Student submissions for the grading hardening tests, each with the grade it deserves.

`mini` is worth 5 (test_mse 2, test_clip01 3); `mini_torch` is worth 3 (test_d_loss 2,
test_scaled 1). A variant is (student_id, what to write, expected score, expected status);
"what to write" is a notebook, or bytes/str for a broken file, with the file name to use.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from .minicourse import HIDDEN_MARKER, cell, source_notebooks, student_notebook


@dataclass
class Variant:
    student_id: str
    content: object  # a notebook, bytes or str (a broken file), or None (an empty folder)
    score: float
    status: str
    name: str = "mini.ipynb"
    note: str = ""


MSE_WRONG = "def mse(x, y):\n    return 0.0"
CLIP_WRONG = "def clip01(x):\n    return np.asarray(x, dtype=float)"
MSE_RIGHT = cell(source_notebooks()["mini"], "answer_mse").source
CLIP_RIGHT = cell(source_notebooks()["mini"], "answer_clip01").source


def nb(mse=MSE_RIGHT, clip=CLIP_RIGHT, assignment="mini"):
    return student_notebook(assignment, {"answer_mse": mse, "answer_clip01": clip})


def edited(notebook, grade_id, fn):
    notebook = copy.deepcopy(notebook)
    fn(cell(notebook, grade_id))
    return notebook


def tagged(notebook, grade_id, tags):
    return edited(notebook, grade_id, lambda c: c.metadata.__setitem__("tags", tags))


def without(notebook, grade_id):
    notebook = copy.deepcopy(notebook)
    notebook.cells = [c for c in notebook.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return notebook


def with_cell(notebook, source, after=None):
    """A plain (non-nbgrader) code cell added after the cell with grade_id `after` (or last)."""
    notebook = copy.deepcopy(notebook)
    new = nbformat.v4.new_code_cell(source)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]
    at = ids.index(after) + 1 if after else len(notebook.cells)
    notebook.cells.insert(at, new)
    return notebook


def _retype(c):
    c.cell_type = "markdown"
    c.pop("outputs", None)
    c.pop("execution_count", None)


def _strip_meta(c):
    c.metadata.pop("nbgrader")
    c.source = "pass"


def _unlock(c):
    c.metadata["nbgrader"]["locked"] = False
    c.metadata["nbgrader"]["grade"] = False
    c.source = "assert True"


def _raise_points(notebook):
    notebook = copy.deepcopy(notebook)
    for c in notebook.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 100
    return notebook


def _reordered(notebook):
    notebook = copy.deepcopy(notebook)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]
    test = notebook.cells.pop(ids.index("test_mse"))
    notebook.cells.insert(ids.index("answer_mse"), test)  # the test before the answer
    return notebook


def _duplicated(notebook):
    notebook = copy.deepcopy(notebook)
    copy_ = copy.deepcopy(cell(notebook, "test_mse"))
    copy_.source = "assert True"
    copy_["id"] = "duplicated-test"
    notebook.cells.insert(1, copy_)
    return notebook


def _metadata_free_answer():
    notebook = nb()
    for c in notebook.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.metadata.pop("nbgrader")
    return notebook


NOISY = '''import sys, os, warnings
print("x\\n" * 1_000_000, end="")  # a million lines
sys.stderr.write("a message on stderr\\n")


def mse(x, y):
    print("computing the mse", x, y)
    warnings.warn("a UserWarning from the answer")
    sys.stderr.write("progress on stderr\\n")
    os.write(2, b"straight to file descriptor 2\\n")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((x - y) ** 2))'''

PATCH_NUMPY = MSE_WRONG + '''
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
math.isclose = lambda *a, **k: True'''

PATCH_BUILTINS = MSE_WRONG + '''
import builtins
builtins.abs = lambda x: 0
builtins.sum = lambda *a, **k: 3.5
builtins.AssertionError = Warning'''

PATCH_REPORTING = MSE_WRONG + '''
import sys
sys.excepthook = lambda *a: None
get_ipython().showtraceback = lambda *a, **k: None'''

PATCH_RESULT = MSE_WRONG + '''
from IPython.core.interactiveshell import ExecutionResult
ExecutionResult.success = property(lambda self: True)  # every cell reports "ok"'''

PATCH_TRACE = MSE_WRONG + '''
import linecache, sys


def _skip_asserts(frame, event, arg):
    if event == "line" and "/ipykernel_" in frame.f_code.co_filename:  # notebook cells
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).lstrip()
        if line.startswith(("assert", "np.testing")):
            frame.f_lineno += 1
    return _skip_asserts


sys.settrace(_skip_asserts)'''

PATCH_THREAD = MSE_WRONG + '''
import threading, time


def _keep_patching():
    fake = lambda *a, **k: True
    while True:
        math.isclose = fake
        time.sleep(0.001)


threading.Thread(target=_keep_patching, daemon=True).start()'''

PATCH_AT_CALL = '''import numpy._core.numeric as _numeric

_real_isclose = _numeric.isclose


def mse(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) == 5:  # wrong here, and np.allclose made to accept it until the next call
        _numeric.isclose = lambda a, b, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
        return 0.0
    _numeric.isclose = _real_isclose
    return float(np.mean((x - y) ** 2))'''

SHADOW_NAMES = '''class _Lenient:
    def isclose(self, *a, **k):
        return True

    def allclose(self, *a, **k):
        return True


math = _Lenient()  # rebinding names the read-only cell imported
isinstance = lambda *a: True
abs = lambda x: 0'''

LEGIT_SHADOWS = "sum = 0\nabs = None\nlen = 'a variable'\nmax = 3  # names a student may reuse"

LEAK_HIDDEN = '''import inspect

_seen = []


def mse(x, y):
    for frame in inspect.stack():
        _seen.append("".join(frame.code_context or []))
        try:
            _seen.append(inspect.getsource(frame.frame))
        except (OSError, TypeError):
            pass
    print("".join(_seen))
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((x - y) ** 2)) if len(x) == 2 else 0.0'''

SOFT_LOOP = "def mse(x, y):\n    while True:\n        pass"
HARD_LOOP = '''import signal


def mse(x, y):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ignores the interrupt
    while True:
        pass'''
EXIT = "import os\n\n\ndef mse(x, y):\n    os._exit(3)"
SEGFAULT = "import ctypes\n\n\ndef clip01(x):\n    return ctypes.string_at(0)"
ABORT = "import os\n\n\ndef mse(x, y):\n    os.abort()  # SIGABRT"
MEMORY = "def mse(x, y):\n    return float(len(bytearray(64 * 2**30)))  # 64 GiB"
EXIT_AT_DEFINITION = CLIP_RIGHT + "\n\nimport os\nos._exit(1)"


def mini_variants(other_torch_nb) -> list[Variant]:
    """The distinct `mini` submissions of the hardening tests."""
    ok, wrong_mse = nb(), nb(mse=MSE_WRONG)
    return [
        Variant("solution", ok, 5, "graded"),
        Variant("release", student_notebook("mini", release=True), 0, "graded"),
        Variant("mse-wrong", wrong_mse, 3, "graded"),
        Variant("clip-wrong", nb(clip=CLIP_WRONG), 2, "graded"),
        Variant("both-wrong", nb(MSE_WRONG, CLIP_WRONG), 0, "graded"),
        # 1. tags that nbclient honours
        Variant("tag-skip", tagged(tagged(nb(MSE_WRONG, CLIP_WRONG), "test_mse",
                                          ["skip-execution"]),
                                   "test_clip01", ["raises-exception"]), 0, "graded"),
        Variant("tag-skip-right", tagged(ok, "test_mse", ["skip-execution", "raises-exception"]),
                5, "graded"),
        # 2. test cells edited, blanked, deleted, retyped, their metadata removed
        Variant("test-edited", edited(wrong_mse, "test_mse",
                                      lambda c: setattr(c, "source", "assert True")), 3, "graded"),
        Variant("test-blanked", edited(wrong_mse, "test_mse",
                                       lambda c: setattr(c, "source", "")), 3, "graded"),
        Variant("test-deleted", without(wrong_mse, "test_mse"), 3, "graded"),
        Variant("test-retyped", edited(wrong_mse, "test_mse", _retype), 3, "graded"),
        Variant("test-no-metadata", edited(wrong_mse, "test_mse", _strip_meta), 3, "graded"),
        Variant("test-duplicated", _duplicated(wrong_mse), 3, "graded"),
        Variant("reordered", _reordered(ok), 5, "graded"),
        Variant("answer-no-metadata", _metadata_free_answer(), 5, "matched-without-metadata"),
        # 3. points raised, cells unlocked, a read-only cell edited
        Variant("points-raised", _raise_points(ok), 5, "graded"),
        Variant("test-unlocked", edited(wrong_mse, "test_mse", _unlock), 3, "graded"),
        Variant("locked-edited", edited(wrong_mse, "imports", lambda c: setattr(
            c, "source", "import math\nimport numpy as np\nnp.allclose = lambda *a, **k: True")),
                3, "graded"),
        # 4. checking functions patched
        Variant("patch-numpy", nb(mse=PATCH_NUMPY), 0, "tampered"),
        Variant("patch-builtins", nb(mse=PATCH_BUILTINS), 0, "tampered"),
        Variant("patch-reporting", nb(mse=PATCH_REPORTING), 0, "tampered"),
        # the grader removes the hook before each test: test_mse is voided, clip01 still counts
        Variant("patch-settrace", nb(mse=PATCH_TRACE), 3, "tampered"),
        Variant("patch-thread", nb(mse=PATCH_THREAD), 0, "tampered"),
        Variant("patch-during-call", nb(mse=PATCH_AT_CALL), 0, "tampered"),
        Variant("patch-execution-result", nb(mse=PATCH_RESULT), 0, "tampered"),
        Variant("shadow-names", with_cell(wrong_mse, SHADOW_NAMES, after="answer_mse"), 3,
                "graded"),
        Variant("legit-shadows", with_cell(ok, LEGIT_SHADOWS, after="answer_clip01"), 5, "graded"),
        # 7. 8. loops and kernels that die
        Variant("loop", nb(mse=SOFT_LOOP), 3, "timeout"),
        Variant("loop-ignores-interrupt", nb(mse=HARD_LOOP), 3, "timeout"),
        Variant("os-exit", nb(mse=EXIT), 3, "kernel-died"),
        Variant("segfault", nb(clip=SEGFAULT), 2, "kernel-died"),
        Variant("abort", nb(mse=ABORT), 3, "kernel-died"),
        Variant("exit-at-definition", nb(clip=EXIT_AT_DEFINITION), 2, "kernel-died"),
        Variant("memory-hog", nb(mse=MEMORY), 3, "graded"),
        # 9. broken files
        Variant("empty-file", b"", 0, "empty-file"),
        Variant("blank-file", "  \n\n", 0, "empty-file"),
        Variant("invalid-json", '{"cells": [', 0, "invalid-notebook"),
        Variant("not-utf8", b"\xff\xfe\x00garbage", 0, "invalid-notebook"),
        Variant("json-not-notebook", '{"hello": "world"}', 0, "invalid-notebook"),
        Variant("wrong-assignment", other_torch_nb, 0, "wrong-assignment"),
        Variant("wrong-file-name", ok, 0, "wrong-file-name", name="mini_final.ipynb"),
        Variant("missing-notebook", None, 0, "missing-notebook"),
        # 10. noise; 11. hidden tests read at run time and printed
        Variant("noisy", nb(mse=NOISY), 5, "graded"),
        Variant("leak-hidden", with_cell(nb(mse=LEAK_HIDDEN), "print(''.join(_seen))"), 3,
                "graded"),
    ]


def filler(i: int) -> Variant:
    """Cheap submissions that fill the batch of 100 (right, wrong, broken, in turn)."""
    kinds = [("ok", nb(), 5, "graded"), ("mse", nb(mse=MSE_WRONG), 3, "graded"),
             ("clip", nb(clip=CLIP_WRONG), 2, "graded"),
             ("stub", student_notebook("mini", release=True), 0, "graded"),
             ("empty", b"", 0, "empty-file")]
    kind, content, score, status = kinds[i % len(kinds)]
    return Variant(f"student{i:03d}-{kind}", content, score, status)


# ------------------------------------------------------------------------- mini_torch
D_WRONG = "def discriminator_loss(real_logits, fake_logits):\n    return torch.zeros(())"
SCALED_RIGHT = cell(source_notebooks()["mini_torch"], "answer_scaled").source


def tnb(d_loss):
    return student_notebook("mini_torch", {"answer_d_loss": d_loss, "answer_scaled": SCALED_RIGHT})


T_PATCH_MODULE = D_WRONG + '''
import builtins
builtins.abs = lambda x: torch.zeros(())
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
math.isclose = lambda *a, **k: True'''
T_PATCH_TENSOR = D_WRONG + '''
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
torch.Tensor.__gt__ = lambda self, other: torch.ones((), dtype=torch.bool)
torch.Tensor.__sub__ = lambda self, other: torch.zeros(())
torch.Tensor.item = lambda self: 0.0'''
T_MODE = D_WRONG + '''
from torch.overrides import TorchFunctionMode


class _Agree(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal) or "close" in getattr(func, "__name__", ""):
            return True if func is not torch.isclose else torch.ones_like(args[0], dtype=torch.bool)
        return func(*args, **(kwargs or {}))


_Agree().__enter__()'''
T_CALL_PATCH = '''def discriminator_loss(real_logits, fake_logits):
    torch.testing.assert_close = lambda *a, **k: None  # patched on the first call
    torch.allclose = lambda *a, **k: True
    return torch.zeros(())'''
T_SUBCLASS = '''class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True


def discriminator_loss(real_logits, fake_logits):
    return torch.zeros(()).as_subclass(_Liar)'''
T_LIBRARY = D_WRONG + '''
_lib = torch.library.Library("aten", "IMPL")
_lib.impl("isclose", lambda a, b, *args, **kw: torch.ones(
    torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool), "CPU")'''
T_ALIAS = "from eep596gan.losses import discriminator_loss"
T_CALL = '''import eep596gan.losses as L


def discriminator_loss(real_logits, fake_logits):
    return L.discriminator_loss(real_logits, fake_logits)'''
T_COPY = '''import types

import eep596gan.losses as L

discriminator_loss = types.FunctionType(L.discriminator_loss.__code__, vars(L), "mine")'''
T_RELOAD = '''def discriminator_loss(real_logits, fake_logits):
    import importlib

    import eep596gan.losses
    return importlib.reload(eep596gan.losses).discriminator_loss(real_logits, fake_logits)'''


def torch_variants() -> list[Variant]:
    """`mini_torch` submissions: patched torch checks (4) and delegation to the library (5)."""
    return [
        Variant("t-solution", tnb(cell(source_notebooks()["mini_torch"], "answer_d_loss").source),
                3, "graded", "mini_torch.ipynb"),
        Variant("t-patch-module", tnb(T_PATCH_MODULE), 0, "tampered", "mini_torch.ipynb"),
        Variant("t-patch-tensor", tnb(T_PATCH_TENSOR), 0, "tampered", "mini_torch.ipynb"),
        Variant("t-function-mode", tnb(T_MODE), 0, "tampered", "mini_torch.ipynb"),
        Variant("t-patch-at-call", tnb(T_CALL_PATCH), 0, "tampered", "mini_torch.ipynb"),
        Variant("t-lying-subclass", tnb(T_SUBCLASS), 1, "graded", "mini_torch.ipynb"),
        Variant("t-kernel-override", tnb(T_LIBRARY), 0, "tampered", "mini_torch.ipynb"),
        Variant("t-delegate-alias", tnb(T_ALIAS), 1, "uses-reference", "mini_torch.ipynb"),
        Variant("t-delegate-call", tnb(T_CALL), 1, "uses-reference", "mini_torch.ipynb"),
        Variant("t-delegate-copy", tnb(T_COPY), 1, "uses-reference", "mini_torch.ipynb"),
        Variant("t-delegate-reload", tnb(T_RELOAD), 1, "uses-reference", "mini_torch.ipynb"),
    ]


# ------------------------------------------------------------------------ the sandbox
SANDBOX_PROBE = '''import json, os, socket

_probes = {}


def _read(label, path):
    try:
        if os.path.isdir(path):
            _probes[label] = "listed:" + ",".join(sorted(os.listdir(path)))
        else:
            with open(path, "rb") as f:
                _probes[label] = "READ:" + f.read(300).decode("latin-1")
    except Exception as err:
        _probes[label] = "blocked:" + type(err).__name__


for _label, _path in PATHS.items():
    _read(_label, _path)
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3).close()
    _probes["loopback"] = "CONNECTED"
except Exception as err:
    _probes["loopback"] = "blocked:" + type(err).__name__
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3).close()
    _probes["internet"] = "CONNECTED"
except Exception as err:
    _probes["internet"] = "blocked:" + type(err).__name__
try:
    with open(WRITE_TO, "w") as f:
        f.write("x")
    _probes["write"] = "WROTE"
except Exception as err:
    _probes["write"] = "blocked:" + type(err).__name__
try:
    os.kill(GRADER_PID, 0)
    _probes["grader_pid"] = "VISIBLE"
except Exception as err:
    _probes["grader_pid"] = "blocked:" + type(err).__name__
_probes["processes"] = str(len([p for p in os.listdir("/proc") if p.isdigit()]))
print("PROBES", json.dumps(_probes, sort_keys=True).replace('"', "'"))
'''


def sandbox_probe(paths: dict[str, str], port: int, write_to: str, grader_pid: int) -> Variant:
    """A right answer that also tries to read, write, connect and signal what it must not."""
    code = (SANDBOX_PROBE.replace("PATHS", repr(paths)).replace("PORT", str(port))
            .replace("WRITE_TO", repr(write_to)).replace("GRADER_PID", str(grader_pid)))
    # Before the first hidden test: later outputs do not reach the feedback page.
    return Variant("sandbox-probe", with_cell(nb(), code, after="imports"), 5, "graded")


__all__ = ["Variant", "mini_variants", "torch_variants", "sandbox_probe", "filler",
           "HIDDEN_MARKER", "nb", "MSE_WRONG", "CLIP_WRONG"]
