"""An assignment's source notebook, parsed for grading: its cells, their roles, points and names.

The source (instructor) notebook is the only truth: test cells (with their hidden tests), the
points they are worth, read-only cells, and the names students must write. Nothing about
scoring is read from a student's file.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .references import reference_implementations

__all__ = ["SourceCell", "SourceNotebook", "names_of", "BUILTIN_NAMES", "BEGIN_HIDDEN",
           "END_HIDDEN"]

BUILTIN_NAMES = frozenset(dir(builtins))
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"  # nbgrader's defaults


def names_of(source: str) -> tuple[set[str], set[str], set[str]]:
    """(top-level names a cell binds, names it reads anywhere, top-level packages it imports)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return set(), set(), set()
    defines, reads, packages = set(), set(), set()
    top = _top_targets(tree)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defines.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                defines.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                reads.add(node.id)
            elif node in top:
                defines.add(node.id)
        elif isinstance(node, ast.Import):
            packages |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            packages.add(node.module.split(".")[0])
    return defines, reads, packages


def _top_targets(tree: ast.Module) -> set[ast.AST]:
    """Name nodes bound at the top level of a cell (assignments, for loops, with ... as)."""
    out = set()
    for node in tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                break
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                out.add(sub)
    return out


@dataclass
class SourceCell:
    """One cell of a source notebook, with its role for grading.

    role: "test" (autograded, points), "locked" (read-only: restored from the source),
    "solution" (the student's answer), "manual" (a manually graded answer) or "plain".
    """

    index: int
    role: str
    grade_id: str | None
    cell: nbformat.NotebookNode
    points: float = 0.0
    defines: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)
    visible_source: str = ""
    hidden_lines: list[str] = field(default_factory=list)

    @property
    def has_hidden(self) -> bool:
        return bool(self.hidden_lines)


def _role(cell) -> str:
    meta = cell.metadata.get("nbgrader", {})
    if not meta:
        return "plain"
    if meta.get("solution") and meta.get("grade"):
        return "manual"
    if meta.get("solution"):
        return "solution"
    if meta.get("grade") and cell.cell_type == "code":
        return "test"
    if meta.get("grade") or meta.get("locked") or meta.get("task"):
        return "locked"
    return "plain"


def _split_hidden(source: str, begin: str, end: str) -> tuple[str, list[str]]:
    """(the source without hidden-test regions, the lines of those regions)."""
    visible, hidden, inside = [], [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            visible.append(line)
    return "\n".join(visible), hidden


@dataclass
class SourceNotebook:
    """An assignment's source notebook, parsed for grading."""

    assignment: str
    name: str
    path: Path
    nb: nbformat.NotebookNode
    cells: list[SourceCell]

    @classmethod
    def read(cls, path: Path, assignment: str, begin: str = BEGIN_HIDDEN,
             end: str = END_HIDDEN) -> SourceNotebook:
        """Parse the source notebook at `path` (hidden tests between `begin` and `end` lines)."""
        return cls.parse(nbformat.read(path, as_version=4), path, assignment, begin, end)

    @classmethod
    def parse(cls, nb: nbformat.NotebookNode, path: Path, assignment: str,
              begin: str = BEGIN_HIDDEN, end: str = END_HIDDEN) -> SourceNotebook:
        """Parse a source notebook already in memory (`path` names it)."""
        cells, seen = [], set()
        for i, cell in enumerate(nb.cells):
            role = _role(cell)
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id") if role != "plain" else None
            if grade_id is not None and grade_id in seen:
                raise ValueError(f"{path}: duplicate nbgrader grade_id {grade_id!r}")
            seen.add(grade_id)
            spec = SourceCell(i, role, grade_id, cell, float(meta.get("points", 0) or 0))
            if cell.cell_type == "code":
                spec.defines, spec.reads, spec.packages = names_of(cell.source)
            spec.visible_source, spec.hidden_lines = _split_hidden(cell.source, begin, end)
            cells.append(spec)
        return cls(assignment, path.stem, path, nb, cells)

    @property
    def tests(self) -> list[SourceCell]:
        return [c for c in self.cells if c.role == "test"]

    @property
    def max_score(self) -> float:
        """The autograded maximum: the points of every test cell of the source."""
        return float(sum(c.points for c in self.tests))

    @property
    def by_id(self) -> dict[str, SourceCell]:
        return {c.grade_id: c for c in self.cells if c.grade_id}

    @property
    def graded_names(self) -> set[str]:
        """Top-level functions and classes the student writes (defined in solution cells)."""
        out = set()
        for c in self.cells:
            if c.role in ("solution", "manual") and c.cell.cell_type == "code":
                out |= {n for n in c.defines if n in _defs(c.cell.source)}
        return out

    @property
    def protected_names(self) -> set[str]:
        """Names bound by read-only and test cells: the tests read these as the source made them."""
        return set().union(*(c.defines for c in self.cells if c.role in ("locked", "test")))

    @property
    def packages(self) -> set[str]:
        return set().union(*(c.packages for c in self.cells))

    @property
    def all_defined(self) -> set[str]:
        return set().union(*(c.defines for c in self.cells))

    @property
    def hidden_lines(self) -> list[str]:
        return [line for c in self.cells for line in c.hidden_lines]

    @property
    def declared_references(self) -> list[str]:
        """The notebook's `{"eep596gan": {"reference": [...]}}` metadata: "module:QualName"."""
        meta = self.nb.metadata.get("eep596gan", {})
        return [str(s) for s in (meta.get("reference", ()) if isinstance(meta, dict) else ())]

    def reference_implementations(self) -> list[tuple[str, str, str]]:
        """(file, qualname, label) of library code the graded functions may not call."""
        return reference_implementations(self.declared_references, self.graded_names)


def _defs(source: str) -> set[str]:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return set()
    return {n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
