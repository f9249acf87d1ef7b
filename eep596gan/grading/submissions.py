"""Find each student's notebooks in a folder or in a zip downloaded from an LMS.

Accepted layouts (a folder, or the same inside a .zip, optionally under one wrapper folder):
- `<student_id>/<notebook>.ipynb`: one folder per student (nbgrader's `submitted/` layout,
  `<student_id>/<assignment>/<notebook>.ipynb`, works too: the folder is searched recursively);
- notebooks at the top, named `<student_id>_<notebook>.ipynb` or as in Canvas's bulk download,
  `<student_id>_[LATE_]<number>_<number>_<notebook>.ipynb`; a resubmission `<notebook>-2.ipynb`
  beats `-1` (the highest number is graded).
Every student folder (or flat-file student) gets a row, even with nothing gradable in it.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .verdict import Status

__all__ = ["Submission", "LMSFile", "collect", "load_notebook", "extract_zip", "parse_flat",
           "lms_file"]

MAX_NOTEBOOK_MB = 100
MAX_ZIP_MB = 4096
IGNORED = ("__MACOSX", ".ipynb_checkpoints", ".DS_Store")
RESUBMISSION = re.compile(r"^(?P<stem>.*?)(?:-(?P<n>\d+))?$")
CANVAS = re.compile(r"^(?P<sid>[^_]+)_(?P<late>LATE_)?(?P<uid>\d+)_(?P<order>\d+)_(?P<file>.*)$")


@dataclass
class Submission:
    """One student's files for one assignment."""

    student_id: str
    files: dict[str, Path] = field(default_factory=dict)  # notebook name -> file
    others: list[Path] = field(default_factory=list)  # .ipynb files with other names
    lms: LMSFile | None = None  # the LMS's ids of the file graded, from its name (Canvas)


@dataclass(frozen=True)
class LMSFile:
    """What an LMS download's file name says: `<slug>_[LATE_]<user id>_<submission id>_<file>`."""

    user_id: str  # Canvas's user id: the "ID" column of its gradebook export
    submission_id: str
    late: bool  # Canvas's LATE_ marker: submitted after the due date


def lms_file(filename: str) -> LMSFile | None:
    """The LMS ids in a Canvas bulk-download file name (or a student folder named like its
    prefix, `<slug>_[LATE_]<user id>_<submission id>`), or None for any other name."""
    m = CANVAS.match(filename) or CANVAS.match(filename + "_")
    if m is None:
        return None
    return LMSFile(m.group("uid"), m.group("order"), m.group("late") is not None)


def _safe_id(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9._@+-]", "_", text.strip()) or "unknown"
    return "_" + text if text.startswith(".") else text


def _ignored(path: Path) -> bool:
    return any(part in IGNORED or part.startswith("._") for part in path.parts)


def extract_zip(path: Path, dest: Path) -> Path:
    """Extract an LMS zip safely (no absolute or parent paths, bounded size) into dest."""
    total = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = Path(info.filename)
            if info.is_dir() or name.is_absolute() or ".." in name.parts or _ignored(name):
                continue
            total += info.file_size
            if total > MAX_ZIP_MB << 20:
                raise ValueError(f"{path} unpacks to more than {MAX_ZIP_MB} MB; grade it in parts")
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    return dest


def _unwrap(root: Path, names: list[str]) -> Path:
    """Descend through a single wrapper folder (`submissions/<student>/...` or flat LMS files).

    A lone folder that holds only the assignment's notebooks is a student's, not a wrapper.
    """
    while True:
        entries = [p for p in root.iterdir() if not _ignored(p.relative_to(root))]
        if len(entries) != 1 or not entries[0].is_dir():
            return root
        inner = [p for p in entries[0].iterdir() if not _ignored(p.relative_to(entries[0]))]
        if not any(p.is_dir() or (p.suffix == ".ipynb" and p.stem not in names) for p in inner):
            return root
        root = entries[0]


def _match(filename: str, names: list[str]) -> tuple[str | None, int]:
    """(the notebook a file name stands for, its resubmission number): `name.ipynb`, `name-1.ipynb`.

    A notebook whose own name ends in `-<digits>` (`lab-1`) matches as itself first.
    """
    if not filename.endswith(".ipynb"):
        return None, 0
    stem = filename[:-len(".ipynb")]
    if stem in names:
        return stem, 0
    m = RESUBMISSION.match(stem)
    if m.group("n") is not None and m.group("stem") in names:
        return m.group("stem"), int(m.group("n"))
    return None, 0


def parse_flat(filename: str, names: list[str]) -> tuple[str, str | None, tuple[int, int]]:
    """(student id, notebook or None, rank) of a notebook file at the top of a download.

    Canvas names files `<sid>_[LATE_]<user id>_<submission id>_<file>`; other LMS exports
    `<sid>_<notebook>.ipynb` (or with `-` or a space). A student's file of the highest rank is
    graded: rank = (resubmission number of `<notebook>-<n>.ipynb`, Canvas's submission id).
    """
    m = CANVAS.match(filename)
    if m:
        sid, file, order = m.group("sid"), m.group("file"), int(m.group("order"))
    else:
        sid, file, order = _split_flat(filename, names)
    name, n = _match(file, names)
    return sid, name, (n, order)


def _split_flat(filename: str, names: list[str]) -> tuple[str, str, int]:
    """(student id, submitted file name, 0) of `<sid><sep><notebook>[-n].ipynb`."""
    stem = filename[:-len(".ipynb")] if filename.endswith(".ipynb") else filename
    base = RESUBMISSION.match(stem).group("stem")
    for name in sorted(names, key=len, reverse=True):
        for head in (stem, base):
            for sep in ("_", "-", " "):
                if head.endswith(sep + name) and len(head) > len(name) + 1:
                    cut = len(head) - len(name)
                    return head[:cut - 1], filename[cut:], 0
    return stem, filename, 0


def collect(root: Path, names: list[str]) -> list[Submission]:
    """Every student in a submissions folder (already extracted), with their notebooks.

    Args:
        root: the folder (see the module docstring for layouts).
        names: the assignment's notebook names (without .ipynb).
    """
    root = _unwrap(root, names)
    students: dict[str, Submission] = {}
    flat_rank: dict[tuple[str, str], tuple[int, int]] = {}
    for entry in sorted(root.iterdir()):
        if _ignored(entry.relative_to(root)):
            continue
        if entry.is_dir():
            sub = students.setdefault(_safe_id(entry.name), Submission(_safe_id(entry.name)))
            found = sorted((p for p in entry.rglob("*.ipynb")
                            if not _ignored(p.relative_to(entry))),
                           key=lambda p: (len(p.relative_to(entry).parts), str(p)))
            for path in found:
                if path.stem in names and path.stem not in sub.files:
                    sub.files[path.stem] = path
                else:
                    sub.others.append(path)
            sub.lms = lms_file(entry.name)  # a folder named like Canvas's file prefix
        elif entry.suffix == ".ipynb":
            sid, name, rank = parse_flat(entry.name, names)
            sub = students.setdefault(_safe_id(sid), Submission(_safe_id(sid)))
            if name is None:
                sub.others.append(entry)
            elif rank >= flat_rank.get((sub.student_id, name), (-1, -1)):
                flat_rank[(sub.student_id, name)] = rank
                sub.files[name] = entry
    for sub in students.values():  # the ids of the graded file (late if any graded one is)
        found = [f for f in map(lms_file, (p.name for p in sub.files.values())) if f]
        found = found or ([sub.lms] if sub.lms else [])
        if found:
            last = max(found, key=lambda f: int(f.submission_id))
            sub.lms = LMSFile(last.user_id, last.submission_id, any(f.late for f in found))
    return [students[k] for k in sorted(students)]


def load_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, Status | None, str]:
    """(notebook, None, "") for a readable notebook, else (None, status, why)."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_MB << 20:
            return None, Status.INVALID_NOTEBOOK, f"{path.name} is larger than {MAX_NOTEBOOK_MB} MB"
        data = path.read_bytes()
    except OSError as err:
        return None, Status.INVALID_NOTEBOOK, f"cannot read {path.name}: {err}"
    if not data.strip():
        return None, Status.EMPTY_FILE, f"{path.name} is empty"
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, Status.INVALID_NOTEBOOK, f"{path.name} is not a notebook (invalid JSON: {err})"
    try:
        cells = raw.get("cells", raw.get("worksheets")) if isinstance(raw, dict) else None
        if not isinstance(cells, list):
            raise ValueError("no cells")
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        for cell in nb.cells:
            if cell.get("cell_type") not in ("code", "markdown", "raw") or "source" not in cell:
                raise ValueError("a malformed cell")
    except Exception as err:
        return None, Status.INVALID_NOTEBOOK, (
            f"{path.name} is JSON but not a Jupyter notebook ({err})")
    return nb, None, ""
