"""Build the notebook that runs: the student's answers in the source's tests and read-only cells.

The order and content of every nbgrader cell come from the source notebook: test cells and
read-only cells are the source's (hidden tests included), whatever the student did to them
(edited, blanked, deleted, retyped to markdown, retagged, metadata removed or points raised).
Only answer cells, found by their grade_id, keep the student's source. The student's own extra
cells stay after the nbgrader cell they followed. Outputs and tags are dropped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from .source import SourceCell, SourceNotebook

__all__ = ["Planned", "assemble", "grade_ids"]


@dataclass
class Planned:
    """One cell of the notebook that runs."""

    cell: nbformat.NotebookNode
    role: str  # test | locked | solution | manual | plain
    spec: SourceCell | None = None


def grade_ids(nb: nbformat.NotebookNode) -> list[str]:
    """The nbgrader grade_ids in a notebook, in order."""
    out = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            out.append(meta["grade_id"])
    return out


def _clean(cell: nbformat.NotebookNode, *, keep_nbgrader: bool) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell)
    meta = {k: v for k, v in cell.get("metadata", {}).items()
            if k not in ("tags", "nbgrader", "editable", "deletable")}
    if keep_nbgrader and "nbgrader" in cell.get("metadata", {}):
        meta["nbgrader"] = cell.metadata["nbgrader"]
    cell["metadata"] = nbformat.from_dict(meta)
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    source = cell.get("source", "")
    cell["source"] = "".join(source) if isinstance(source, list) else str(source)
    return cell


def _student_answer(spec: SourceCell, student_cell) -> nbformat.NotebookNode:
    """The student's source in the source cell's type and metadata."""
    cell = _clean(spec.cell, keep_nbgrader=True)
    cell.source = _clean(student_cell, keep_nbgrader=False).source
    return cell


def assemble(source: SourceNotebook, student: nbformat.NotebookNode) -> list[Planned]:
    """The cells to run, in the source's order, for one student's notebook."""
    known = source.by_id
    claimed: dict[str, nbformat.NotebookNode] = {}
    head: list = []
    attached: dict[str, list] = {}
    current = head
    for cell in student.get("cells", []):
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid in known and gid not in claimed:
            claimed[gid] = cell
            current = attached.setdefault(gid, [])
        else:
            current.append(cell)

    def plain(cells):
        return [Planned(_clean(c, keep_nbgrader=False), "plain") for c in cells]

    planned = plain(head)
    for spec in source.cells:
        if spec.role == "plain":
            continue
        if spec.role in ("test", "locked"):
            planned.append(Planned(_clean(spec.cell, keep_nbgrader=True), spec.role, spec))
        elif spec.grade_id in claimed:
            planned.append(Planned(_student_answer(spec, claimed[spec.grade_id]), spec.role, spec))
        planned += plain(attached.get(spec.grade_id, []))
    return planned
