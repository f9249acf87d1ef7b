"""Build the notebook that runs: the student's answers in the source's tests and read-only cells.

The order and content of every nbgrader cell come from the source notebook: test cells and
read-only cells are the source's (hidden tests included), whatever the student did to them
(edited, blanked, deleted, retyped to markdown, retagged, metadata removed or points raised).
Only answer cells, found by their grade_id, keep the student's source. The student's own extra
cells stay after the nbgrader cell they followed. Outputs and tags are dropped.

A notebook whose answer cells lost their nbgrader metadata (pasted into new cells, saved by an
editor that drops it, cells split, merged or moved) is matched by content, then by position
(`_lost_answers`): a code answer by the functions and classes it defines (the first cell that
defines one of them; a merged cell answers the first of its answers, and runs where that one
stands), a written answer as the first cell of its type after a copy of the source cell that
precedes it. Copies of read-only and test cells (which lost their metadata too) are dropped:
the source's run in their place. Those answers' Planned cells say `matched="content"` or
`"position"`, and the student's status says so.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from .source import SourceCell, SourceNotebook, _defs

__all__ = ["Planned", "assemble", "grade_ids"]


@dataclass
class Planned:
    """One cell of the notebook that runs."""

    cell: nbformat.NotebookNode
    role: str  # test | locked | solution | manual | plain
    spec: SourceCell | None = None
    matched: str = ""  # how an answer without its nbgrader metadata was found: content | position


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


def _text(cell) -> str:
    source = cell.get("source", "")
    return ("".join(source) if isinstance(source, list) else str(source)).strip()


def _lost_answers(source: SourceNotebook, cells: list, claimed: dict) -> dict[int, tuple]:
    """{id(student cell): (grade_id, how)} for answers no cell carries the grade_id of."""
    lost = [s for s in source.cells if s.role in ("solution", "manual")
            and s.grade_id not in claimed]
    if not lost:
        return {}
    taken = {id(c) for c in claimed.values()}
    free = [c for c in cells if id(c) not in taken]
    found: dict[int, tuple] = {}
    for spec in lost:
        if spec.cell.cell_type != "code":
            continue
        names = _defs(spec.cell.source) or spec.defines
        for cell in free:
            if (id(cell) not in found and cell.get("cell_type") == "code" and names
                    and names & _defs(_text(cell))):
                found[id(cell)] = (spec.grade_id, "content")
                break
    defined = {n for c in free if id(c) in found for n in _defs(_text(c))}
    for spec in lost:
        if spec.grade_id in {g for g, _ in found.values()} or spec.index == 0:
            continue
        if spec.cell.cell_type == "code" and (_defs(spec.cell.source) or spec.defines) & defined:
            continue  # merged into a cell already matched: it runs there
        anchor = source.cells[spec.index - 1].visible_source.strip()  # as the release has it
        after = next((i for i, c in enumerate(free) if anchor and _text(c) == anchor), None)
        if after is None:
            continue
        for cell in free[after + 1:]:
            if id(cell) not in found and cell.get("cell_type") == spec.cell.cell_type:
                found[id(cell)] = (spec.grade_id, "position")
                break
    return found


def assemble(source: SourceNotebook, student: nbformat.NotebookNode) -> list[Planned]:
    """The cells to run, in the source's order, for one student's notebook."""
    known = source.by_id
    claimed: dict[str, nbformat.NotebookNode] = {}
    cells = [c for c in student.get("cells", []) if c.get("cell_type") in ("code", "markdown",
                                                                          "raw")]
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid in known and gid not in claimed:
            claimed[gid] = cell
    lost = _lost_answers(source, cells, claimed)
    copies = {s.visible_source.strip() for s in source.cells if s.role in ("locked", "test")} \
        if lost else set()
    how: dict[str, str] = {}
    head: list = []
    attached: dict[str, list] = {}
    current = head
    for cell in cells:
        gid = next((g for g, c in claimed.items() if c is cell), None)
        if gid is None and id(cell) in lost:
            gid, how_found = lost[id(cell)]
            claimed[gid], how[gid] = cell, how_found
        if gid is not None:
            current = attached.setdefault(gid, [])
        elif not (copies and _text(cell) in copies):
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
            planned.append(Planned(_student_answer(spec, claimed[spec.grade_id]), spec.role, spec,
                                   how.get(spec.grade_id, "")))
        planned += plain(attached.get(spec.grade_id, []))
    return planned
