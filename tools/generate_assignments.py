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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("gan_losses", "gan_training")


def generate(assignments=ASSIGNMENTS, *, root: str | os.PathLike = ROOT,
             out: str | os.PathLike | None = None) -> Path:
    """Run generate_assignment for `assignments` from root/solutions into `out` (default root/assignments).

    Returns the release folder. Raises RuntimeError with nbgrader's log when generation fails.
    """
    from eep596gan.grading.course import Course, generate_release

    root = Path(root).resolve()
    out = Path(out).resolve() if out is not None else root / "assignments"
    course = Course(root)
    for assignment in assignments:
        if not (course.source_dir / assignment).is_dir():
            raise FileNotFoundError(f"no solutions/{assignment} under {root}")
        target = out / assignment
        if target.exists():
            shutil.rmtree(target)  # a notebook removed from solutions/ must leave the release too
        generate_release(assignment, course, force=True, release_dir=out)
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
