"""The course folder (nbgrader_config.py, source and release folders) and its releases.

`Course` finds an assignment's source notebooks (parsed in source.py); `generate_release` is
the one function that writes the student version of an assignment (nbgrader's
generate_assignment): `python -m eep596gan.grading generate` and tools/generate_assignments.py
call it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .source import BEGIN_HIDDEN, END_HIDDEN, SourceNotebook

__all__ = ["Course", "find_course", "generate_release", "CONFIG_FILE"]

CONFIG_FILE = "nbgrader_config.py"


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
        """The assignments: the folders of the source directory (hidden and `_` ones excepted)."""
        if not self.source_dir.is_dir():
            return []
        return sorted(p.name for p in self.source_dir.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_")))

    def source_notebooks(self, assignment: str) -> list[SourceNotebook]:
        folder = self.source_dir / assignment
        paths = sorted(folder.glob("*.ipynb"))
        if not paths:
            known = ", ".join(self.assignments()) or "none"
            raise FileNotFoundError(f"no assignment {assignment!r}: {folder} holds no notebook "
                                    f"(assignments in {self.source_dir}: {known})")
        delimiters = self.config.get("ClearHiddenTests", {})
        begin = delimiters.get("begin_test_delimeter", BEGIN_HIDDEN)
        end = delimiters.get("end_test_delimeter", END_HIDDEN)
        return [SourceNotebook.read(p, assignment, begin, end) for p in paths]


def generate_release(assignment: str, course: Course, *, force: bool = False,
                     release_dir: str | os.PathLike | None = None,
                     db_url: str | None = None) -> Path:
    """Write the student version of an assignment into the release folder (nbgrader).

    nbgrader records the assignment in a gradebook; it goes to a temporary file, created here
    (see `_new_gradebook`), so nothing is spawned and the process's environment is not changed.

    Args:
        force: regenerate an existing release; its folder is removed first, so a notebook
            removed from the source leaves the release too.
        release_dir: where the release goes instead of the course's (tests compare a fresh one).
        db_url: a gradebook to record the assignment in (formgrader's, see gradebook.py)
            instead of a temporary one.
    Returns:
        The assignment's release folder.
    """
    if not (course.source_dir / assignment).is_dir():
        raise FileNotFoundError(f"no assignment {assignment!r} in {course.source_dir}")
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    out = Path(release_dir).resolve() if release_dir is not None else course.release_dir
    if force and (out / assignment).is_dir():
        shutil.rmtree(out / assignment)
    with tempfile.TemporaryDirectory(prefix="eep596gan-generate-") as tmp:
        cfg = Config()
        cfg.merge(course.config)
        cfg.CourseDirectory.root = str(course.root)
        if release_dir is not None:
            cfg.CourseDirectory.release_directory = str(out)
        cfg.CourseDirectory.db_url = db_url or _new_gradebook(Path(tmp) / "gradebook.db")
        cfg.GenerateAssignment.force = force
        api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
        result = api.generate_assignment(assignment, force=force)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result['log']}\n"
                           f"{result['error']}")
    return out / assignment


def _new_gradebook(path: Path) -> str:
    """An empty nbgrader gradebook at `path`, stamped with the schema's alembic revision.

    nbgrader's Gradebook stamps a database that has no tables by running `alembic heads` as a
    subprocess found on PATH (nbgrader.api.get_alembic_version), which would need the venv's
    bin on PATH. A database that already has its tables is not stamped again, so the tables
    and the stamp (read in-process from nbgrader's alembic scripts) are written here.
    Returns the database URL.
    """
    from alembic.script import ScriptDirectory
    from nbgrader import dbutil
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{path}"
    engine = create_engine(url, future=True)
    try:
        Base.metadata.create_all(bind=engine)
        head = ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head()
        with engine.begin() as db:
            db.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            db.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
    finally:
        engine.dispose()
    return url
