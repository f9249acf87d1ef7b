"""The course folder and what the grader reads from an assignment's source notebooks.

The source (instructor) notebook is the only truth: test cells (with their hidden tests), the
points they are worth, read-only cells, and the names students must write. Nothing about
scoring is read from a student's file.
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import nbformat
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

__all__ = ["Course", "SourceCell", "SourceNotebook", "find_course", "names_of", "generate_release"]

CONFIG_FILE = "nbgrader_config.py"
# Library code a student may not delegate to, beyond functions named like a graded one.
# An assignment can also list them in its notebook metadata: {"eep596gan": {"reference": [...]}}.
REFERENCE_IMPLEMENTATIONS = {
    "gan_training": ("eep596gan.train:GANTrainer", "eep596gan.train:d_step",
                     "eep596gan.train:g_step"),
}
BUILTIN_NAMES = frozenset(dir(builtins))


def find_course(course: str | os.PathLike | None = None) -> Course:
    """The course at `course`, or the first folder from the cwd upwards with nbgrader_config.py."""
    if course is not None:
        root = Path(course).resolve()
        if not (root / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{root} has no {CONFIG_FILE}: pass the course folder (the "
                                    "clone of the repository) with --course")
        return Course(root)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return Course(folder)
    raise FileNotFoundError(f"no {CONFIG_FILE} in {here} or above: run this in a clone of the "
                            "course repository or pass --course")


@dataclass(frozen=True)
class Course:
    """A course folder: nbgrader_config.py, the source and release folders."""

    root: Path

    @cached_property
    def config(self) -> Config:
        return PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()

    def _dir(self, trait: str, default: str) -> Path:
        value = self.config.get("CourseDirectory", {}).get(trait, default)
        return self.root / value

    @property
    def source_dir(self) -> Path:
        return self._dir("source_directory", "source")

    @property
    def release_dir(self) -> Path:
        return self._dir("release_directory", "release")

    def assignments(self) -> list[str]:
        return sorted(p.name for p in self.source_dir.iterdir() if p.is_dir()) if self.source_dir.is_dir() else []

    def source_notebooks(self, assignment: str) -> list[SourceNotebook]:
        folder = self.source_dir / assignment
        paths = sorted(folder.glob("*.ipynb"))
        if not paths:
            known = ", ".join(self.assignments()) or "none"
            raise FileNotFoundError(f"no assignment {assignment!r}: {folder} holds no notebook "
                                    f"(assignments in {self.source_dir}: {known})")
        delimiters = self.config.get("ClearHiddenTests", {})
        begin = delimiters.get("begin_test_delimeter", "BEGIN HIDDEN TESTS")
        end = delimiters.get("end_test_delimeter", "END HIDDEN TESTS")
        return [SourceNotebook.read(p, assignment, begin, end) for p in paths]


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
    def read(cls, path: Path, assignment: str, begin: str, end: str) -> SourceNotebook:
        nb = nbformat.read(path, as_version=4)
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

    def release_cell(self, spec: SourceCell) -> nbformat.NotebookNode:
        """A copy of a source cell as students see it (no hidden tests)."""
        cell = copy.deepcopy(spec.cell)
        cell.source = spec.visible_source
        return cell

    def reference_implementations(self) -> list[tuple[str, str, str]]:
        """(file, qualname, label) of library code the graded functions may not call."""
        specs = list(self.nb.metadata.get("eep596gan", {}).get("reference", ())) or list(
            REFERENCE_IMPLEMENTATIONS.get(self.assignment, ()))
        out = []
        for spec in specs:
            module, _, qual = spec.partition(":")
            path = _module_file(module)
            if path:
                out.append((path, qual, f"{module}.{qual}"))
        out += _same_named_library_functions(self.graded_names)
        return sorted(set(out))


def _defs(source: str) -> set[str]:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        tree = ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return set()
    return {n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _module_file(module: str) -> str | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return os.path.realpath(spec.origin) if spec and spec.origin else None


def _same_named_library_functions(names: set[str]) -> list[tuple[str, str, str]]:
    """eep596gan's top-level functions and classes named like a graded function (by AST, no import)."""
    package = _module_file("eep596gan")
    if not package or not names:
        return []
    root = Path(package).parent
    out = []
    for path in sorted(root.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError):
            continue
        module = "eep596gan." + ".".join(path.relative_to(root).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
                out.append((os.path.realpath(path), node.name, f"{module}.{node.name}"))
    return out


def generate_release(assignment: str, course: Course, *, force: bool = False,
                     release_dir: str | os.PathLike | None = None) -> Path:
    """Write the student version of an assignment into the release folder (nbgrader).

    nbgrader records the assignment in a gradebook; it goes to a temporary file.

    Args:
        release_dir: where the release goes instead of the course's (tests compare a fresh one).
    Returns:
        The assignment's release folder.
    """
    import tempfile

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs alembic from the venv's bin
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="eep596gan-generate-") as tmp:
        cfg = Config()
        cfg.merge(course.config)
        cfg.CourseDirectory.root = str(course.root)
        if release_dir is not None:
            cfg.CourseDirectory.release_directory = str(Path(release_dir).resolve())
        cfg.CourseDirectory.db_url = f"sqlite:///{Path(tmp) / 'gradebook.db'}"
        cfg.GenerateAssignment.force = force
        api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
        result = api.generate_assignment(assignment, force=force)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result['log']}\n"
                           f"{result['error']}")
    return (Path(release_dir).resolve() if release_dir is not None else course.release_dir) / assignment
