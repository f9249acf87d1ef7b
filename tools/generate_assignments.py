"""Generate the student notebooks in assignments/ from the instructor notebooks in solutions/.

    .venv/bin/python tools/generate_assignments.py              # every assignment, into assignments/
    .venv/bin/python tools/generate_assignments.py gan_losses   # one

This runs nbgrader's generate_assignment (solutions and hidden tests removed, checksums added)
with the repository's nbgrader_config.py. Its gradebook goes to a temporary file, so nothing but
assignments/ changes. Tests call `generate(root=..., out=...)` to compare a fresh run with the
committed release.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("gan_losses", "gan_training")


def generate(assignments=ASSIGNMENTS, *, root: str | os.PathLike = ROOT,
             out: str | os.PathLike | None = None) -> Path:
    """Run generate_assignment for `assignments` from root/solutions into `out` (default root/assignments).

    Returns the release folder. Raises RuntimeError with nbgrader's log when generation fails.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
    out = Path(out).resolve() if out is not None else root / "assignments"
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs alembic from the venv's bin
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="eep596gan-generate-") as tmp:
        config = Config()
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config())
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.release_directory = os.path.relpath(out, root) if out.is_relative_to(root) else str(out)
        config.CourseDirectory.db_url = f"sqlite:///{Path(tmp) / 'gradebook.db'}"
        config.GenerateAssignment.force = True
        api = NbGraderAPI(CourseDirectory(config=config), config=config)
        for assignment in assignments:
            if not (root / "solutions" / assignment).is_dir():
                raise FileNotFoundError(f"no solutions/{assignment} under {root}")
            target = out / assignment
            if target.exists():
                shutil.rmtree(target)  # a notebook removed from solutions/ must leave the release too
            result = api.generate_assignment(assignment, force=True)
            if not result["success"]:
                raise RuntimeError(f"generate_assignment {assignment} failed:\n{result['log']}\n{result['error']}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS), help="default: all")
    args = parser.parse_args(argv)
    out = generate(args.assignments)
    print(f"generated {', '.join(args.assignments)} into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
