"""Submissions whose cells lost their nbgrader metadata (issue 14): answers found by content and
position, graded in full, the status saying so; Colab's and VS Code's extra metadata harmless.

nbgrader itself matches answers by grade_id only (nbgrader#424, #1398: students pasting answers
into new cells, editors dropping cell metadata).
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import minicourse as mc

from eep596gan.grading import grade
from eep596gan.grading.assemble import assemble
from eep596gan.grading.source import SourceNotebook


def _strip(nb):
    """Every cell's nbgrader metadata (and ids) removed, as some editors and conversions do."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("editable", None)
        cell.metadata.pop("deletable", None)
    return nb


def _cells(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {})
                .get("grade_id") == grade_id)


def _variants() -> dict[str, tuple]:
    """name -> (notebook, score, status)."""
    full = mc.student_notebook("mini")
    stripped = _strip(full)
    split = copy.deepcopy(full)  # mse's answer in two cells: a helper, then the function
    i = _cells(split, "answer_mse")
    split.cells[i].source = ("def mse(x, y):\n    return float(np.mean(_sq(x, y)))")
    split.cells.insert(i, nbformat.v4.new_code_cell(
        "def _sq(x, y):\n    return (np.asarray(x, float) - np.asarray(y, float)) ** 2"))
    split = _strip(split)
    merged = copy.deepcopy(full)  # both answers in mse's cell, clip01's cell deleted
    i, j = _cells(merged, "answer_mse"), _cells(merged, "answer_clip01")
    merged.cells[i].source += "\n\n\n" + merged.cells[j].source
    del merged.cells[j]
    merged = _strip(merged)
    moved = copy.deepcopy(full)  # clip01's answer pasted at the top, in a new cell
    j = _cells(moved, "answer_clip01")
    moved.cells.insert(1, moved.cells.pop(j))
    moved = _strip(moved)
    colab = copy.deepcopy(full)  # what Colab adds: cell ids and its own metadata
    for k, cell in enumerate(colab.cells):
        cell.metadata["id"] = f"cell{k:04d}"
        cell.metadata["colab"] = {"base_uri": "https://localhost:8080/"}
        if cell.cell_type == "code":
            cell.metadata["outputId"] = f"out{k}"
    colab.metadata["colab"] = {"provenance": [], "toc_visible": True}
    colab.metadata["accelerator"] = "GPU"
    vscode = copy.deepcopy(full)  # what VS Code adds, with the cell ids dropped
    for cell in vscode.cells:
        cell.metadata["vscode"] = {"languageId": "python"}
        cell.pop("id", None)
    vscode.metadata["vscode"] = {"interpreter": {"hash": "0" * 64}}
    vscode.nbformat_minor = 4
    return {
        "stripped": (stripped, 5, "matched-without-metadata"),
        "split": (split, 5, "matched-without-metadata"),
        "merged": (merged, 5, "matched-without-metadata"),
        "moved": (moved, 5, "matched-without-metadata"),
        "stripped-stubs": (_strip(mc.student_notebook("mini", release=True)), 0,
                           "matched-without-metadata"),
        "colab": (colab, 5, "graded"),
        "vscode": (vscode, 5, "graded"),
    }


def test_stripped_answers_are_found_by_content_and_the_written_one_by_position():
    source = SourceNotebook.parse(mc.source_notebooks()["mini"], Path("mini.ipynb"), "mini")
    plan = assemble(source, _variants()["stripped"][0])
    found = {p.spec.grade_id: p.matched for p in plan if p.role in ("solution", "manual")}
    assert found == {"answer_mse": "content", "answer_clip01": "content", "written": "position"}
    # the student's copies of read-only and test cells do not run: the source's do, once each
    assert [p.cell.source for p in plan if p.role == "plain"] == ["Now clip."]  # no copies
    merged = assemble(source, _variants()["merged"][0])
    answers = [p for p in merged if p.role == "solution"]
    assert [p.spec.grade_id for p in answers] == ["answer_mse"]
    assert "def clip01" in answers[0].cell.source


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("metadata")
    course = mc.build_course(base / "course")
    for name, (nb, _, _) in _variants().items():
        mc.write_submission(base / "submissions", name, nb)
    grade("mini", base / "submissions", base / "out", course=course, jobs=2, timeout=30,
          progress=False)
    with open(base / "out" / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def test_lost_metadata_split_merged_moved_colab_and_vscode_score_what_they_deserve(graded):
    got = {name: (float(r["code_score"]), r["status"]) for name, r in graded.items()}
    assert got == {name: (float(score), status)
                   for name, (_, score, status) in _variants().items()}


def test_a_real_assignment_stripped_and_colab_saved_scores_full(tmp_path):
    from submissions import make_submission, points_by_test

    from eep596gan.grading.course import Course

    root = Path(__file__).resolve().parents[1]
    nb = make_submission("gan_losses", "solution")
    colab = copy.deepcopy(nb)
    for k, cell in enumerate(colab.cells):
        cell.metadata["id"] = f"c{k}"
    colab.metadata["colab"] = {"provenance": []}
    for name, student in (("stripped", _strip(nb)), ("colab", colab)):
        mc.write_submission(tmp_path / "subs", name, student, "gan_losses.ipynb")
    rows = grade("gan_losses", tmp_path / "subs", tmp_path / "out", course=Course(root).root,
                 jobs=1, progress=False, preflight=False)
    top = sum(points_by_test("gan_losses").values())
    assert {r["student_id"]: (r["code_score"], r["status"]) for r in rows} == {
        "stripped": (top, "matched-without-metadata"), "colab": (top, "graded")}
