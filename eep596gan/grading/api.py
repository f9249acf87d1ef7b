"""`grade()`: a TA's whole batch, from a folder (or zip) of submissions to grades.csv and feedback.

Each student is graded by student.py, here or in worker processes (worker.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ..paths import cache_dir, data_dir
from .course import Course, find_course, generate_release
from .gradebook import finalize, record
from .kernel import KernelOptions
from .lms import (
    COLUMNS,
    add_lms_columns,
    check_penalty,
    previous_rows,
    read_roster,
    select,
    with_roster,
    write_grades,
)
from .references import resolve
from .runner import RunOptions
from .sandbox import PACKAGE, hidden_paths, package_repo, sandbox_available, warn_unsandboxed
from .source import SourceNotebook
from .student import Job, check_solutions, grade_student
from .submissions import Submission, collect, extract_zip
from .verdict import Status

__all__ = ["grade", "finalize_grades", "add_arguments", "run", "COLUMNS"]

DEFAULT_TIMEOUT = 120


def _fmt(x: float) -> str:
    """A score as grades.csv writes it: 5.0 -> "5", 2.5 -> "2.5"."""
    return f"{x:g}"


def _kept(course: Course) -> list[Path]:
    """What a sandboxed kernel needs to see: the Python environment, the package, the release,
    the data and cache folders (eep596gan.paths)."""
    keep = [Path(sys.prefix), Path(sys.base_prefix), PACKAGE, course.release_dir]
    return list(dict.fromkeys(keep + [data_dir(), cache_dir()]))


def _warn_unresolved(sources: list[SourceNotebook]) -> None:
    """Say so when a notebook declares a reference implementation that does not exist."""
    for source in sources:
        for spec in source.declared_references:
            if resolve(spec) is None:
                print(f"eep596gan grade: warning: {source.path.name} declares the reference "
                      f"implementation {spec}, which was not found: calls to it go undetected",
                      file=sys.stderr)


def _hidden(course: Course, extra: list[Path]) -> tuple[str, ...]:
    """What a sandboxed kernel must not see: the course but the release, inputs and outputs."""
    roots = [course.root, Path.home()] + ([package_repo()] if package_repo() else [])
    return tuple(hidden_paths(list(dict.fromkeys(roots)), _kept(course), extra))


def _kept_under_tmp(course: Course) -> tuple[str, ...]:
    """Kept paths inside /tmp (a clone or venv there): the sandbox's private /tmp binds them."""
    tmp = Path("/tmp").resolve()
    paths = {p.resolve() for p in _kept(course) if p.exists()}
    return tuple(sorted(str(p) for p in paths if p.is_relative_to(tmp)))


def grade(assignment: str, submissions: str | os.PathLike, out: str | os.PathLike, *,
          course: str | os.PathLike | None = None, jobs: int = 2,
          timeout: int = DEFAULT_TIMEOUT, progress: bool = True,
          sandbox: bool = True, preflight: bool = True, late_penalty: float = 0.0,
          roster: str | os.PathLike | None = None, only: list[str] | None = None) -> list[dict]:
    """Autograde every student's submission of an assignment.

    Submissions (a folder, or a .zip of one as an LMS exports it, optionally under one
    wrapper folder): `<student_id>/<notebook>.ipynb`, one folder per student, searched
    recursively; or notebooks at the top named `<student_id>_<notebook>.ipynb` or as in
    Canvas's bulk download, `<student_id>_[LATE_]<n>_<n>_<notebook>.ipynb` (a resubmission
    `<notebook>-2.ipynb` beats `-1`).

    Scores come from the assignment's source notebook in the course (its test cells and their
    points), never from the student's file. Before the batch, the source notebook itself is
    graded and must score full marks (else RuntimeError). Each student's code runs in its own
    kernel, sandboxed where the machine allows it (see sandbox.py), `jobs` at a time. The
    process's environment is left as it was (nothing is spawned from PATH).

    Args:
        assignment: the assignment's folder name under the course's source directory.
        submissions: the folder or .zip of submissions.
        out: output folder: `grades.csv`, `feedback/<student_id>/<notebook>.html` and
            `formgrader/` (a gradebook for the written answers, see gradebook.py).
        course: the course folder (with nbgrader_config.py); default: found from the cwd up.
        jobs: students graded in parallel (one kernel each).
        timeout: seconds a cell may run before it is interrupted.
        progress: show a progress bar.
        sandbox: run kernels in the namespace sandbox when the machine supports it.
        preflight: first grade the source notebook itself and stop unless it scores full marks.
        late_penalty: fraction of the total taken off a late submission (Canvas's LATE_).
        roster: Canvas's gradebook export: also write `canvas_import.csv` (see lms.py).
        only: grade these students again and merge their rows into the existing grades.csv
            (everyone else's rows and feedback are kept).
    Returns:
        One dict per student with the keys of grades.csv (`COLUMNS`); scores are floats.
        status: graded | timeout (a cell was stopped) | kernel-died | tampered (checking
        functions were patched: those tests score 0) | uses-reference (a graded function called
        the library's version of itself) | empty-file | invalid-notebook | wrong-assignment |
        wrong-file-name | missing-notebook | grader-error | matched-without-metadata (answers found
        by content: their nbgrader metadata was lost); "+"-joined for several notebooks;
        missing (a roster student with no submission).
    """
    check_penalty(late_penalty)  # bad options fail now, not after the batch
    table = read_roster(roster) if roster is not None else None
    course_obj = find_course(course)
    sources = course_obj.source_notebooks(assignment)
    _warn_unresolved(sources)
    if not (course_obj.release_dir / assignment).is_dir():
        generate_release(assignment, course_obj)
    out = Path(out).resolve()
    previous = previous_rows(out, assignment) if only else []
    out.mkdir(parents=True, exist_ok=True)
    sub_path = Path(submissions).resolve()
    if not sub_path.exists():
        raise FileNotFoundError(f"no submissions at {sub_path}: pass a folder or a .zip")
    tmp = Path(tempfile.mkdtemp(prefix="eep596gan-grade-"))
    try:
        root = sub_path
        if sub_path.is_file():
            if sub_path.suffix.lower() != ".zip":
                raise ValueError(f"{sub_path} is a file but not a .zip: pass a folder or a .zip")
            root = extract_zip(sub_path, tmp / "submissions")
        students = select(collect(root, [s.name for s in sources]), only)
        use_sandbox = sandbox and sandbox_available()[0]
        if not use_sandbox:
            print(warn_unsandboxed(), file=sys.stderr)
        kernel = KernelOptions(sandbox=use_sandbox,
                               hide=_hidden(course_obj, [sub_path, root, out, tmp]),
                               keep_tmp=_kept_under_tmp(course_obj),
                               support=_support(course_obj, assignment, tmp),
                               env=(("EEP596GAN_DATA", str(data_dir())),))
        job = Job(str(course_obj.root), assignment, str(out),
                  RunOptions(timeout=timeout, kernel=kernel))
        if preflight:
            check_solutions(job)
        start = time.perf_counter()
        rows = _run_all(job, students, jobs, progress)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows.sort(key=lambda r: r["student_id"])
    top = float(sum(s.max_score for s in sources))
    for r in rows:
        r["max_code_score"] = top  # the source's maximum, also for rows the grader failed on
    timings = [(r["student_id"], *r.pop("_timing", ("", 0.0, 0.0))) for r in rows]
    written = float(sum(c.points for s in sources for c in s.cells if c.role == "manual"))
    add_lms_columns(rows, students, late_penalty, written)
    regraded = {r["student_id"] for r in rows}
    record(course_obj, assignment, out, sorted(regraded))  # for formgrader (gradebook.py)
    if any(r.get("written_score") or "written-ungraded" in r.get("status", "")
           for r in previous):  # a regrade after --finalize: the TA's points stay in the row
        rows = finalize(course_obj, assignment, out, rows, late_penalty)
    rows = sorted([r for r in previous if r["student_id"] not in regraded] + rows,
                  key=lambda r: r["student_id"])
    if table is not None:
        rows = with_roster(rows, table, out, assignment, top, late_penalty, written)
    write_grades(out, rows, timings)
    _summary(rows, out / "grades.csv", seconds, jobs, use_sandbox)
    return rows


def finalize_grades(assignment: str, out: str | os.PathLike, *,
                    course: str | os.PathLike | None = None, late_penalty: float = 0.0,
                    roster: str | os.PathLike | None = None) -> list[dict]:
    """grades.csv again, with the written scores TAs entered in formgrader (no kernel runs)."""
    check_penalty(late_penalty)
    table = read_roster(roster) if roster is not None else None
    course_obj, out = find_course(course), Path(out).resolve()
    rows = finalize(course_obj, assignment, out, previous_rows(out, assignment), late_penalty)
    if table is not None:
        top = max((float(r["max_code_score"]) for r in rows), default=0.0)
        rows = with_roster(rows, table, out, assignment, top, late_penalty)
    write_grades(out, rows, None)
    ungraded = sum("written-ungraded" in r["status"] for r in rows)
    print(f"grades: {out / 'grades.csv'} ({len(rows)} rows; written answers still ungraded "
          f"for {ungraded})")
    return rows


def _support(course: Course, assignment: str, tmp: Path) -> str | None:
    """The assignment's non-notebook files (nbgrader copies them next to the notebook)."""
    src = course.source_dir / assignment
    files = [p for p in src.rglob("*") if p.is_file() and p.suffix != ".ipynb"
             and ".ipynb_checkpoints" not in p.parts]
    if not files:
        return None
    dest = tmp / "support"
    for p in files:
        target = dest / p.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)
    return str(dest)


def _run_all(job: Job, students: list[Submission], jobs: int, progress: bool) -> list[dict]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(students), desc=f"grading {job.assignment}", unit="student",
               disable=not progress, file=sys.stderr)
    rows = []
    if jobs <= 1 or len(students) <= 1:
        for sub in students:
            start = time.time()
            row = grade_student(job, sub)
            row["_timing"] = [os.getpid(), start, time.time()]
            rows.append(row)
            bar.update()
    else:
        from .worker import WorkerPool

        for sub, row in WorkerPool(job, jobs).map(students):
            if row is None:  # the worker process itself died
                print(f"eep596gan grade: the worker grading {sub.student_id} died",
                      file=sys.stderr)
                row = {"student_id": sub.student_id, "assignment": job.assignment,
                       "code_score": 0.0, "max_code_score": None,
                       "status": Status.GRADER_ERROR.value}
            rows.append(row)
            bar.update()
    bar.close()
    return rows


def _summary(rows: list[dict], csv_path: Path, seconds: float, jobs: int, sandboxed: bool) -> None:
    counts = Counter(r["status"] for r in rows)
    scores = [float(r["code_score"]) for r in rows]
    top = _fmt(float(rows[0]["max_code_score"])) if rows else "?"
    print(f"\n{'status':<24}{'students':>9}")
    for status, n in counts.most_common():
        print(f"{status:<24}{n:>9}")
    if scores:
        print(f"\nscores out of {top}: min {min(scores):g}, median {statistics.median(scores):g}, "
              f"max {max(scores):g}, mean {statistics.fmean(scores):.2f}")
    per = seconds / max(len(rows), 1)
    print(f"{len(rows)} students in {seconds:.1f} s ({per:.1f} s each, {jobs} jobs"
          f"{'' if sandboxed else ', NOT sandboxed'})")
    print(f"grades: {csv_path}\nfeedback: {csv_path.parent / 'feedback'}")


# ------------------------------------------------------------------------------------ CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `eep596gan grade`."""
    parser.add_argument("assignment",
                        help="assignment name (a folder of the course's source directory)")
    parser.add_argument("--submissions",
                        help="folder of <student_id>/<notebook>.ipynb, or an LMS .zip")
    parser.add_argument("--out", required=True, help="output folder for grades.csv and feedback/")
    parser.add_argument("--course", help="course folder with nbgrader_config.py (default: found "
                        "from the current folder upwards)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="students graded in parallel (default 2)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"seconds per cell before it is interrupted (default "
                        f"{DEFAULT_TIMEOUT})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--late-penalty", type=float, default=0.0, metavar="FRACTION",
                        help="take this fraction of the total off late submissions (Canvas's "
                        "LATE_ marker), e.g. 0.1 = 10%% off; default 0")
    parser.add_argument("--roster", help="Canvas's gradebook export (.csv): also write "
                        "canvas_import.csv for Canvas's gradebook import")
    parser.add_argument("--finalize", action="store_true",
                        help="no grading: read the written answers' points and comments entered "
                        "in formgrader (OUT/formgrader) into grades.csv and the feedback pages")
    parser.add_argument("--only", nargs="+", metavar="STUDENT",
                        help="grade these students again and merge them into --out's grades.csv")


def run(args: argparse.Namespace) -> int:
    """Run `eep596gan grade` from parsed arguments; returns the exit status."""
    if getattr(args, "finalize", False):
        finalize_grades(args.assignment, args.out, course=args.course,
                        late_penalty=args.late_penalty, roster=args.roster)
        return 0
    if not args.submissions:
        raise ValueError("--submissions is required (a folder or an LMS .zip), except with "
                         "--finalize")
    grade(args.assignment, args.submissions, args.out, course=args.course, jobs=args.jobs,
          timeout=args.timeout, progress=not getattr(args, "no_progress", False),
          late_penalty=args.late_penalty, roster=args.roster, only=args.only)
    return 0
