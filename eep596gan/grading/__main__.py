"""`python -m eep596gan.grading ASSIGNMENT --submissions DIR --out DIR` (as `eep596gan grade`),
or `python -m eep596gan.grading generate [ASSIGNMENT ...] [--all]` to regenerate releases."""

from __future__ import annotations

import argparse
import sys

from .api import add_arguments, run
from .course import find_course, generate_release


def generate(argv: list[str]) -> int:
    """Regenerate the student versions (release folder) from the source notebooks."""
    parser = argparse.ArgumentParser(prog="python -m eep596gan.grading generate",
                                     description=generate.__doc__)
    parser.add_argument("assignments", nargs="*", help="assignment names")
    parser.add_argument("--all", action="store_true", help="every assignment of the course")
    parser.add_argument("--course", help="course folder (default: found from the cwd upwards)")
    args = parser.parse_args(argv)
    course = find_course(args.course)
    names = course.assignments() if args.all else args.assignments
    if not names:
        parser.error("name an assignment or pass --all")
    for name in names:
        print(f"generated {generate_release(name, course, force=True)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["generate"]:
        return generate(argv[1:])
    if argv[:1] == ["grade"]:
        argv = argv[1:]
    parser = argparse.ArgumentParser(prog="python -m eep596gan.grading",
                                     description="Autograde student submissions.")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except (ValueError, FileNotFoundError) as err:
        print(f"eep596gan grade: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
