"""Submission notebooks for the grading tests: correct answers in other styles, planted mistakes.

    VARIANTS[assignment][name] = (answer_sources_by_grade_id, expected)

One module per assignment, `tests/submissions/<assignment>.py`, defines its VARIANTS; they are
found by name (modules starting with "_" are not assignments).

`answer_sources_by_grade_id` maps an answer cell's grade_id to the code a student wrote there;
answer cells it does not list keep the solution's code, and None means the untouched release.
`expected` is "full marks", "zero", or the frozenset of test cells (grade_ids) that must fail while
every other test cell passes.

    nb = make_submission("gan_losses", "sum_not_mean")   # an nbformat notebook, ready to write
    scores = score_notebook(nb, "gan_losses")            # {grade_id: (score, max)}, run by nbgrader
"""

from __future__ import annotations

import importlib
import pkgutil
import tempfile
from functools import cache
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = {info.name: importlib.import_module(f"{__name__}.{info.name}").VARIANTS
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
            if not info.name.startswith("_")}


def source_path(assignment: str) -> Path:
    """The instructor notebook solutions/<assignment>/<assignment>.ipynb."""
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(assignment: str) -> Path:
    """The student notebook assignments/<assignment>/<assignment>.ipynb."""
    return ROOT / "assignments" / assignment / f"{assignment}.ipynb"


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@cache
def points_by_test(assignment: str) -> dict[str, float]:
    """{grade_id: points} of the autograded test cells, in notebook order."""
    nb = nbformat.read(source_path(assignment), as_version=4)
    return {_nbgrader(c)["grade_id"]: float(_nbgrader(c)["points"]) for c in nb.cells
            if c.cell_type == "code" and _nbgrader(c).get("grade")
            and not _nbgrader(c).get("solution")}


@cache
def solution_answers(assignment: str) -> dict[str, str]:
    """{grade_id: source} of the answer cells in the solution, without the solution marker lines."""
    nb = nbformat.read(source_path(assignment), as_version=4)
    answers = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
            lines = [line for line in cell.source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line]
            answers[_nbgrader(cell)["grade_id"]] = "\n".join(lines)
    return answers


def make_submission(assignment: str, variant: str) -> nbformat.NotebookNode:
    """The release notebook with its answer cells filled in as `variant` says."""
    sources, _ = VARIANTS[assignment][variant]
    nb = nbformat.read(release_path(assignment), as_version=4)
    if sources is None:
        return nb
    answers = solution_answers(assignment)
    unknown = set(sources) - set(answers)
    if unknown:
        raise KeyError(f"{assignment}/{variant}: no answer cells {sorted(unknown)}; "
                       f"they are {sorted(answers)}")
    answers = {**answers, **sources}
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if cell.cell_type == "code" and _nbgrader(cell).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def expected_failures(assignment: str, variant: str) -> frozenset[str]:
    """The test cells that must fail for `variant` (all for "zero", none for "full marks")."""
    expected = VARIANTS[assignment][variant][1]
    if expected == "full marks":
        return frozenset()
    if expected == "zero":
        return frozenset(points_by_test(assignment))
    unknown = set(expected) - set(points_by_test(assignment))
    if unknown:
        raise KeyError(f"{assignment}/{variant} expects unknown test cells {sorted(unknown)}")
    return frozenset(expected)


def expected_score(assignment: str, variant: str) -> float:
    """The autograded points `variant` must get."""
    failing = expected_failures(assignment, variant)
    return sum(p for grade_id, p in points_by_test(assignment).items() if grade_id not in failing)


def score_notebook(nb: nbformat.NotebookNode, assignment: str,
                   timeout: int = 120) -> dict[str, tuple[float, float]]:
    """Run `nb` as nbgrader's autograde does (its Execute preprocessor, quick mode) and score it.

    Hidden tests are put back first: each test cell gets the source notebook's code, as nbgrader's
    OverwriteCells does. Returns {grade_id: (score, max_score)} for the autograded test cells.
    """
    from nbgrader import utils
    from nbgrader.preprocessors import Execute

    source = nbformat.read(source_path(assignment), as_version=4)
    originals = {_nbgrader(c)["grade_id"]: c.source for c in source.cells
                 if _nbgrader(c).get("grade")}
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if (cell.cell_type == "code" and grade_id in originals
                and not _nbgrader(cell).get("solution")):
            cell.source = originals[grade_id]
    with tempfile.TemporaryDirectory(prefix="eep596gan-score-") as tmp, \
            utils.setenv(NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg"):
        nb, _ = Execute(timeout=timeout).preprocess(nb, {"metadata": {"path": tmp}})
    return {_nbgrader(c)["grade_id"]: tuple(float(v) for v in utils.determine_grade(c))
            for c in nb.cells if c.cell_type == "code" and _nbgrader(c).get("grade")}
