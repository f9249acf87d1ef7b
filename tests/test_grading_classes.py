"""Graded classes (issue 13): an `nn.Module` the student writes is graded like a function.

The `mini_module` course asks for `Critic(d)` and `zero_init(module)`. A class is not replaced
by a wrapper (so `isinstance`, subclasses and `super()` keep working): its methods are, while a
test runs, and so are those of every class a graded call returns or is given. Correct answers
in every style a student writes a network in score full marks; a subclass or a factory of the
library's reference, a forward that returns a lying tensor, and one that rebinds a name the
test reads score what they deserve, with a control showing each attack works without the guard.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from grading_fixtures import minicourse as mc

from eep596gan.grading import grade
from eep596gan.grading.runner import RunOptions, run_notebook
from eep596gan.grading.source import SourceNotebook

LINEAR = '''class Critic(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.Linear(d, 1)

    def forward(self, x):
        return self.linear(x)

'''
ZERO = '''
def zero_init(module):
    if isinstance(module, nn.Linear):
        nn.init.zeros_(module.weight)
        nn.init.zeros_(module.bias)
'''

# ------------------------------------------------------------------- right, in other styles
SEQUENTIAL = '''class Critic(nn.Sequential):
    def __init__(self, d):
        super().__init__(nn.Linear(d, 1))
''' + ZERO
FACTORY = '''class _Affine(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.randn(d, 1) / d)
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x @ self.w + self.b


def Critic(d):
    return _Affine(d)


def zero_init(module):
    for p in module.parameters(recurse=False):
        with torch.no_grad():
            p.zero_()
'''
LIBRARY_LAYER = '''def Critic(d):
    return nn.Linear(d, 1)
''' + ZERO
INNER_CLASS = '''class Critic(nn.Module):
    def __init__(self, d):
        super().__init__()

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(d, 1)

            def forward(self, x):
                return self.fc(x)

        self.head = Head()

    def forward(self, x):
        return self.head(x)
''' + ZERO
LAZY = '''class Critic(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.LazyLinear(1)

    def forward(self, x):
        return self.linear(x)
''' + ZERO
WRONG = '''class Critic(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.linear = nn.Linear(d, 1)
        self.scale = nn.Parameter(torch.ones(1))  # unused: 6 parameters, not 5

    def forward(self, x):
        return self.linear(x)
''' + ZERO

# ------------------------------------------------------------------- hostile
SUBCLASS_REFERENCE = '''class Critic(MLPDiscriminator):
    def __init__(self, d):
        super().__init__((d,), hidden=())
''' + ZERO
FACTORY_REFERENCE = '''def Critic(d):
    return MLPDiscriminator((d,), hidden=())
''' + ZERO
ALIAS_REFERENCE = '''Critic = type("Critic", (MLPDiscriminator,), {})
_init = MLPDiscriminator.__init__
MLPDiscriminator.__init__ = lambda self, d, **kw: _init(self, (d,), hidden=())
''' + ZERO
# A wrong forward (off by one) whose tensors say yes to torch.equal: full marks without the guard.
LYING_TENSOR = '''class _Yes(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.equal:
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


''' + LINEAR.replace("return self.linear(x)",
                     "return (self.linear(x) + 1).as_subclass(_Yes)") + ZERO
# A wrong forward that puts a yes-saying torch into the notebook while it runs.
REBIND_TORCH = '''import sys as _sys
import types as _types

_real = _sys.modules["torch"]
_fake = _types.SimpleNamespace(**{k: getattr(_real, k) for k in dir(_real)
                                  if not k.startswith("__")})
_fake.allclose = _fake.equal = lambda *a, **k: True


''' + LINEAR.replace("return self.linear(x)", "globals()['torch'] = _fake\n"
                     "        return _real.zeros(x.shape[0], 1)") + ZERO

VARIANTS = {  # student -> (answer cell, score, status)
    "right": (mc.CRITIC, 3, "graded"),
    "sequential": (SEQUENTIAL, 3, "graded"),
    "factory": (FACTORY, 3, "graded"),
    "library-layer": (LIBRARY_LAYER, 3, "graded"),
    "inner-class": (INNER_CLASS, 3, "graded"),
    "lazy": (LAZY, 3, "graded"),
    "wrong": (WRONG, 1, "graded"),
    "subclass-reference": (SUBCLASS_REFERENCE, 0, "uses-reference"),
    "factory-reference": (FACTORY_REFERENCE, 0, "uses-reference"),
    "alias-reference": (ALIAS_REFERENCE, 0, "uses-reference"),
    "lying-tensor": (LYING_TENSOR, 0, "graded"),
    "rebind-torch": (REBIND_TORCH, 0, "tampered"),
}
HOSTILE_WITHOUT_GUARD = {"subclass-reference": 3, "factory-reference": 3, "alias-reference": 3,
                         "lying-tensor": 3, "rebind-torch": 3}


def _notebook(answer: str):
    return mc.student_notebook("mini_module", {"answer_critic": answer})


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("classes")
    course = mc.build_course(base / "course")
    for student, (answer, _, _) in VARIANTS.items():
        mc.write_submission(base / "submissions", student, _notebook(answer), "mini_module.ipynb")
    grade("mini_module", base / "submissions", base / "out", course=course, jobs=2, timeout=30,
          progress=False)
    with open(base / "out" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return rows, base / "out", course


def _page(out: Path, student: str) -> str:
    return (out / "feedback" / student / "mini_module.html").read_text()


def test_every_class_style_and_attack_scores_what_it_deserves(graded):
    rows, _, _ = graded
    got = {s: (float(r["code_score"]), r["status"]) for s, r in rows.items()}
    want = {s: (float(score), status) for s, (_, score, status) in VARIANTS.items()}
    assert got == want


def test_feedback_names_the_method_and_the_reference(graded):
    rows, out, _ = graded
    page = _page(out, "subclass-reference")
    assert "eep596gan.models.gan.MLPDiscriminator" in page
    assert "a subclass of a value type" in _page(out, "lying-tensor")
    assert "changed the notebook's name torch" in _page(out, "rebind-torch")


def test_without_the_guard_the_attacks_score_full_marks(graded):
    """Control: each hostile answer passes every test when nothing wraps the graded class."""
    _, _, course = graded
    path = course / "solutions" / "mini_module" / "mini_module.ipynb"
    source = SourceNotebook.read(path, "mini_module")
    for student, score in HOSTILE_WITHOUT_GUARD.items():
        result = run_notebook(source, _notebook(VARIANTS[student][0]),
                              RunOptions(timeout=30, guard=False))
        assert result.score == score, (student, [(t.grade_id, t.message) for t in result.tests])


def test_instrumented_methods_are_put_back_after_each_test(tmp_path):
    """After grading, the student's class has its own methods again (nothing left wrapped)."""
    course = mc.build_course(tmp_path / "course")
    path = course / "solutions" / "mini_module" / "mini_module.ipynb"
    source = SourceNotebook.read(path, "mini_module")
    probe = mc.CRITIC + '''


_originals = (Critic.__init__, Critic.forward)
_critic = Critic(3)
'''
    nb = _notebook(probe)
    # (this test reads no graded name, so nothing is instrumented while it runs)
    check = mc._code("assert (type(_critic).__init__, type(_critic).forward) == _originals\n"
                     "assert not hasattr(type(_critic).forward, '__eep596gan_wrapper__')",
                     grade_id="test_put_back", grade=True, locked=True, points=1)
    source.nb.cells.append(check)
    source = SourceNotebook.parse(source.nb, path, "mini_module")
    nb.cells.append(check)
    result = run_notebook(source, nb, RunOptions(timeout=30))
    assert [(t.grade_id, t.score) for t in result.tests] == [
        ("test_critic", 2.0), ("test_zero_init", 1.0), ("test_put_back", 1.0)]


# A test cell that records, with its own torch function mode, what the graded network calls
# (the dcgan assignment's kind of check); and a forward that leaves a mode of its own pushed.
MODE_TEST = '''from torch.overrides import TorchFunctionMode


class _Record(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


critic = Critic(3)
with _Record() as rec:
    out = critic(torch.zeros(2, 3))
assert "linear" in rec.calls, rec.calls
'''
LEAVES_A_MODE = '''from torch.overrides import TorchFunctionMode as _Mode


class _Sticky(_Mode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return func(*args, **(kwargs or {}))


''' + LINEAR.replace("return self.linear(x)", "_Sticky().__enter__()\n"
                     "        return self.linear(x)") + ZERO


@pytest.mark.parametrize(("answer", "score", "status"), [(mc.CRITIC, 1, "graded"),
                                                        (LEAVES_A_MODE, 0, "tampered")])
def test_a_mode_the_test_pushes_is_not_the_students(tmp_path, answer, score, status):
    course = mc.build_course(tmp_path / "course")
    path = course / "solutions" / "mini_module" / "mini_module.ipynb"
    source = SourceNotebook.read(path, "mini_module")
    probe = mc._code(MODE_TEST, grade_id="test_mode", grade=True, locked=True, points=1)
    source.nb.cells.append(probe)
    source = SourceNotebook.parse(source.nb, path, "mini_module")
    nb = _notebook(answer)
    nb.cells.append(probe)
    result = run_notebook(source, nb, RunOptions(timeout=60))
    test = {t.grade_id: t for t in result.tests}["test_mode"]
    assert (test.score, result.status.value) == (score, status), test.message
