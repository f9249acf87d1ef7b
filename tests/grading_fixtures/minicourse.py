"""A tiny nbgrader course for the grading tests, written into a folder on demand.

Two assignments, laid out like the real course (solutions/ -> assignments/):
- `mini` (numpy and math only, so a kernel starts fast): `mse(x, y)` and `clip01(x)`;
  tests worth 2 + 3 = 5 points, mostly hidden, plus a manually graded answer (1 point, which
  is not part of the code score).
- `mini_torch`: `discriminator_loss(real_logits, fake_logits)` (there is a library version
  in eep596gan.losses a student must not call) and `scaled_ns_loss(fake_logits, scale)`, which
  legitimately uses eep596gan.losses.generator_loss_nonsaturating from a read-only import cell;
  tests worth 2 + 1 = 3 points, checked with torch.testing.assert_close, torch.allclose,
  tensor comparisons and .item().
- `mini_module`: a graded class, `Critic(d)` (an `nn.Module`: logits (m, 1), affine in x, 5
  parameters for d = 4), and `zero_init(module)`, applied with `module.apply`; tests worth
  2 + 1 = 3 points. Its reference implementation is the library's MLPDiscriminator (with
  `hidden=()` it is that linear critic), declared in the notebook's metadata.
Every hidden test region holds the marker HIDDEN_MARKER, which feedback must never show.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HIDDEN_MARKER = "zq7-hidden-marker-5f1c"

CONFIG = '''c = get_config()  # noqa: F821
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
'''


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _code(source, **meta):
    return new_code_cell(source, metadata=_meta(**meta))


def _md(source, **meta):
    return new_markdown_cell(source, metadata=_meta(**meta))


MSE = '''def mse(x, y):
    """Mean squared error of two arrays, as a Python float."""
    ### BEGIN SOLUTION
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.mean((x - y) ** 2))
    ### END SOLUTION'''
CLIP = '''def clip01(x):
    """x clipped to [0, 1], elementwise (a numpy array)."""
    ### BEGIN SOLUTION
    return np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    ### END SOLUTION'''
TEST_MSE = f'''# mse: visible test
assert math.isclose(mse([0, 0], [3, 4]), 12.5)
### BEGIN HIDDEN TESTS
# {HIDDEN_MARKER}: mse hidden tests
assert np.allclose(mse(np.ones(5), np.zeros(5)), 1.0)
assert isinstance(mse([1.0], [2.0]), float)
np.testing.assert_allclose(mse(np.arange(4.0), np.arange(4.0) + 2), 4.0)
### END HIDDEN TESTS'''
TEST_CLIP = f'''# clip01: visible test
np.testing.assert_allclose(clip01(np.array([-1.0, 0.5, 2.0])), [0.0, 0.5, 1.0])
### BEGIN HIDDEN TESTS
# {HIDDEN_MARKER}: clip01 hidden tests
x = np.linspace(-2, 2, 9)
assert (clip01(x) == np.minimum(np.maximum(x, 0.0), 1.0)).all()
assert len(clip01(x)) == 9 and abs(sum(clip01(x)) - 3.5) < 1e-12
### END HIDDEN TESTS'''

D_LOSS = '''def discriminator_loss(real_logits, fake_logits):
    """J^(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z))) from logits."""
    ### BEGIN SOLUTION
    return 0.5 * F.softplus(-real_logits).mean() + 0.5 * F.softplus(fake_logits).mean()
    ### END SOLUTION'''
SCALED = '''def scaled_ns_loss(fake_logits, scale):
    """scale times the library's non-saturating generator loss."""
    ### BEGIN SOLUTION
    return scale * generator_loss_nonsaturating(fake_logits)
    ### END SOLUTION'''
TEST_D = f'''# discriminator_loss: visible test
out = discriminator_loss(torch.zeros(4), torch.zeros(4))
torch.testing.assert_close(out, torch.tensor(math.log(2.0)))
### BEGIN HIDDEN TESTS
# {HIDDEN_MARKER}: discriminator_loss hidden tests
r, f = torch.linspace(-3, 3, 7, dtype=torch.float64), torch.linspace(-2, 4, 5, dtype=torch.float64)
ref = 0.5 * torch.log1p(torch.exp(-r)).mean() + 0.5 * torch.log1p(torch.exp(f)).mean()
out = discriminator_loss(r, f)
assert torch.allclose(out, ref)
assert (abs(out - ref) < 1e-9).item()
assert torch.equal(discriminator_loss(torch.zeros(2), torch.zeros(2)) > 0.69, torch.tensor(True))
big = discriminator_loss(torch.full((3,), 1000.0), torch.full((3,), -1000.0))
assert math.isfinite(big.item()) and big.item() < 1e-6
### END HIDDEN TESTS'''
TEST_SCALED = f'''### BEGIN HIDDEN TESTS
# {HIDDEN_MARKER}: scaled_ns_loss hidden tests
logits = torch.linspace(-2, 2, 5)
torch.testing.assert_close(scaled_ns_loss(logits, 3.0), 1.5 * F.softplus(-logits).mean())
### END HIDDEN TESTS'''


CRITIC = '''class Critic(nn.Module):
    """A linear critic: logits (m, 1) of inputs (m, d)."""

    def __init__(self, d):
        ### BEGIN SOLUTION
        super().__init__()
        self.linear = nn.Linear(d, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.linear(x)
        ### END SOLUTION


def zero_init(module):
    """Set a linear layer's weight and bias to 0 (for module.apply)."""
    ### BEGIN SOLUTION
    if isinstance(module, nn.Linear):
        nn.init.zeros_(module.weight)
        nn.init.zeros_(module.bias)
    ### END SOLUTION'''
TEST_CRITIC = f'''# Critic: visible test
assert tuple(Critic(3)(torch.zeros(5, 3)).shape) == (5, 1)
### BEGIN HIDDEN TESTS
# {HIDDEN_MARKER}: Critic hidden tests
torch.manual_seed(1)
critic = Critic(4)
x, origin = torch.randn(6, 4), torch.zeros(1, 4)
out = critic(x)
assert out.shape == (6, 1)
assert torch.allclose(critic(2 * x) - critic(origin), 2 * (out - critic(origin)), atol=1e-5)
assert torch.equal((out - critic(origin)).abs().sum() > 1e-4, torch.tensor(True))  # not constant
assert sum(p.numel() for p in critic.parameters()) == 5
### END HIDDEN TESTS'''
TEST_ZERO = f'''### BEGIN HIDDEN TESTS
# {HIDDEN_MARKER}: zero_init hidden tests
critic = Critic(3)
critic(torch.ones(1, 3))  # (a lazy layer gets its parameters here)
critic.apply(zero_init)
assert torch.equal(critic(torch.randn(4, 3)), torch.zeros(4, 1))
### END HIDDEN TESTS'''


def source_notebooks() -> dict[str, nbformat.NotebookNode]:
    """The three source notebooks, keyed by assignment."""
    mini = new_notebook(cells=[
        _md("# Mini assignment", grade_id="intro", locked=True),
        _code("import math\n\nimport numpy as np", grade_id="imports", locked=True),
        _code(MSE, grade_id="answer_mse", solution=True),
        _code(TEST_MSE, grade_id="test_mse", grade=True, locked=True, points=2),
        new_markdown_cell("Now clip."),
        _code(CLIP, grade_id="answer_clip01", solution=True),
        _code(TEST_CLIP, grade_id="test_clip01", grade=True, locked=True, points=3),
        _md("Why clip? YOUR ANSWER", grade_id="written", grade=True, solution=True, points=1),
    ])
    mini_torch = new_notebook(cells=[
        _code("import math\n\nimport torch\nimport torch.nn.functional as F\n\n"
              "from eep596gan.losses import generator_loss_nonsaturating",
              grade_id="setup", locked=True),
        _code(D_LOSS, grade_id="answer_d_loss", solution=True),
        _code(TEST_D, grade_id="test_d_loss", grade=True, locked=True, points=2),
        _code(SCALED, grade_id="answer_scaled", solution=True),
        _code(TEST_SCALED, grade_id="test_scaled", grade=True, locked=True, points=1),
    ])
    mini_module = new_notebook(cells=[
        _code("import torch\nfrom torch import nn\n\n"
              "from eep596gan.models.gan import MLPDiscriminator", grade_id="setup", locked=True),
        _code(CRITIC, grade_id="answer_critic", solution=True),
        _code(TEST_CRITIC, grade_id="test_critic", grade=True, locked=True, points=2),
        _code(TEST_ZERO, grade_id="test_zero_init", grade=True, locked=True, points=1),
    ])
    mini_module.metadata["eep596gan"] = {"reference": ["eep596gan.models.gan:MLPDiscriminator"]}
    for nb in (mini, mini_torch, mini_module):
        nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                     "name": "python3"}
    return {"mini": mini, "mini_torch": mini_torch, "mini_module": mini_module}


def build_course(root: Path) -> Path:
    """Write the mini course (config and source notebooks; no release yet) into root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(CONFIG)
    for name, nb in source_notebooks().items():
        folder = root / "solutions" / name
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{name}.ipynb")
    return root


def strip_solutions(source: str) -> str:
    """The release version of an answer cell: solution regions become NotImplementedError."""
    out, inside = [], False
    for line in source.split("\n"):
        if "### BEGIN SOLUTION" in line:
            inside = True
            out.append(line[:line.index("###")] + "raise NotImplementedError()")
        elif "### END SOLUTION" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def student_notebook(assignment: str, answers: dict[str, str] | None = None,
                     release: bool = False) -> nbformat.NotebookNode:
    """A student's notebook: the source without hidden tests, answers replaced by `answers`.

    Args:
        assignment: "mini", "mini_torch" or "mini_module".
        answers: grade_id -> the source of that answer cell (others keep the solution).
        release: start from the untouched release (every answer a stub).
    """
    nb = copy.deepcopy(source_notebooks()[assignment])
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if meta.get("grade") and not meta.get("solution"):  # a test: hidden part removed
            cell.source = _drop_hidden(cell.source)
        elif meta.get("solution") and cell.cell_type == "code":
            cell.source = strip_solutions(cell.source) if release else cell.source
        if answers and gid in answers:
            cell.source = answers[gid]
    return nb


def _drop_hidden(source: str) -> str:
    out, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    """The cell of a notebook with this grade_id."""
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return c
    raise KeyError(grade_id)


def write_submission(folder: Path, student: str, nb: nbformat.NotebookNode | str | bytes,
                     name: str = "mini.ipynb") -> Path:
    """Write one student's file into folder/<student>/<name> (a notebook or raw text/bytes)."""
    path = folder / student / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    return path
