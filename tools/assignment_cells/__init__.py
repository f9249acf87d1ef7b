"""Cell lists of the two autograded assignments, and the helpers that tag cells for nbgrader."""

from __future__ import annotations

import textwrap


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def markdown(cell_id: str, text: str) -> dict:
    """A plain markdown cell."""
    return {"cell_type": "markdown", "id": cell_id, "source": _src(text)}


def locked(cell_id: str, text: str) -> dict:
    """A read-only code cell that nbgrader restores before grading (setup, helpers, plots)."""
    meta = {"grade": False, "solution": False, "locked": True, "grade_id": cell_id, "schema_version": 3}
    return {"cell_type": "code", "id": cell_id, "source": _src(text), "nbgrader": meta}


def answer(grade_id: str, text: str) -> dict:
    """A code cell the student fills in: the solution sits between the solution markers."""
    meta = {"grade": False, "solution": True, "locked": False, "grade_id": grade_id, "schema_version": 3}
    return {"cell_type": "code", "id": grade_id, "source": _src(text), "nbgrader": meta}


def test(grade_id: str, points: int, text: str) -> dict:
    """An autograded test cell: passes (full points) when it runs without an error."""
    meta = {"grade": True, "solution": False, "locked": True, "points": points, "grade_id": grade_id,
            "schema_version": 3}
    return {"cell_type": "code", "id": grade_id, "source": _src(text), "nbgrader": meta}


def written(grade_id: str, points: int, text: str) -> dict:
    """A manually graded markdown answer; its text (the model answer) is replaced in the release."""
    meta = {"grade": True, "solution": True, "locked": False, "points": points, "grade_id": grade_id,
            "schema_version": 3}
    return {"cell_type": "markdown", "id": grade_id, "source": _src(text), "nbgrader": meta}


def hidden(visible: str, *blocks: str) -> str:
    """Test source: a visible part, then hidden code (dedented blocks) between the markers."""
    body = "\n\n".join(_src(b) for b in blocks)
    return _src(visible) + "\n### BEGIN HIDDEN TESTS\n" + body + "\n### END HIDDEN TESTS"


def _load() -> dict[str, list[dict]]:
    from . import gan_losses, gan_training

    return {"gan_losses": gan_losses.CELLS, "gan_training": gan_training.CELLS}


ASSIGNMENTS = _load()
