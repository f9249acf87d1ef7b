"""`grade()`: a TA's whole batch, from a folder (or zip) of submissions to grades.csv and feedback."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .course import Course, SourceNotebook, find_course, generate_release
from .kernel import KernelOptions
from .runner import RunOptions
from .sandbox import hidden_paths, package_repo, sandbox_available, warn_unsandboxed
from .submissions import Submission, collect, extract_zip

__all__ = ["grade", "add_arguments", "run", "COLUMNS"]

COLUMNS = ("student_id", "assignment", "code_score", "max_code_score", "status")
DEFAULT_TIMEOUT = 120


@dataclass(frozen=True)
class _Job:
    """What a worker process needs to grade students (picklable)."""

    course: str
    assignment: str
    out: str
    options: RunOptions


_CACHE: dict = {}


def _sources(job: _Job) -> tuple[list[SourceNotebook], set[str]]:
    """The assignment's source notebooks and the grade_ids of the course's other assignments."""
    key = (job.course, job.assignment)
    if key not in _CACHE:
        course = Course(Path(job.course))
        sources = course.source_notebooks(job.assignment)
        others = set()
        for name in course.assignments():
            if name != job.assignment:
                try:
                    others |= {gid for s in course.source_notebooks(name) for gid in s.by_id}
                except (FileNotFoundError, ValueError):
                    continue
        _CACHE[key] = (sources, others)
    return _CACHE[key]


def _fmt(x: float) -> str:
    return f"{x:g}"


def _grade_student(job: _Job, sub: Submission) -> dict:
    """Grade one student's notebooks; never raises (a grader error becomes the row's status)."""
    from .assemble import grade_ids
    from .feedback import feedback_notebook, problem_html, render_html
    from .runner import run_notebook
    from .submissions import load_notebook

    sources, others = _sources(job)
    folder = Path(job.out) / "feedback" / sub.student_id
    folder.mkdir(parents=True, exist_ok=True)
    score, statuses = 0.0, []
    for source in sources:
        page = folder / f"{source.name}.html"
        status, detail = "", ""
        nb = None
        path = sub.files.get(source.name)
        if path is None:
            names = ", ".join(p.name for p in sub.others)
            status, detail = (("wrong-file-name", f"expected {source.name}.ipynb, found {names}")
                              if sub.others else ("missing-notebook", f"no {source.name}.ipynb"))
        else:
            nb, status, detail = load_notebook(path)
            if nb is not None:
                ids = set(grade_ids(nb))
                if ids and not ids & set(source.by_id) and ids & others:
                    status, detail = "wrong-assignment", (
                        f"{path.name} is a notebook of another assignment, not {job.assignment}")
        if status:
            statuses.append(status)
            page.write_text(problem_html(sub.student_id, job.assignment, source.name, status,
                                         detail, source.max_score))
            continue
        try:
            result = run_notebook(source, nb, job.options)
            page.write_text(render_html(feedback_notebook(sub.student_id, job.assignment, source,
                                                          result)))
        except Exception as err:  # a grader bug must not stop the batch
            statuses.append("grader-error")
            print(f"eep596gan grade: {sub.student_id}: {err}\n{traceback.format_exc()}",
                  file=sys.stderr)
            page.write_text(problem_html(sub.student_id, job.assignment, source.name,
                                         "grader-error", f"the grader failed: {err}",
                                         source.max_score))
            continue
        score += result.score
        statuses.append(result.status)
    unique = list(dict.fromkeys(s for s in statuses if s != "graded"))
    return {"student_id": sub.student_id, "assignment": job.assignment, "code_score": score,
            "max_code_score": float(sum(s.max_score for s in sources)),
            "status": "+".join(unique) or "graded"}


def _preflight(job: _Job) -> None:
    """Grade the source notebooks themselves: they must score full marks, untouched.

    A grader that flags the solution (a torch upgrade that patches itself lazily, a broken
    test) would give every student 0; better to stop before the batch.
    """
    from .runner import run_notebook

    for source in _sources(job)[0]:
        result = run_notebook(source, source.nb, job.options)
        if result.score != source.max_score or result.status != "graded":
            failed = "; ".join(f"{t.grade_id}: {t.message or t.outcome}" for t in result.tests
                               if t.score < t.points)
            raise RuntimeError(
                f"the solution notebook {source.path} scores {result.score:g} / "
                f"{source.max_score:g} (status {result.status}) when graded, so students "
                f"could not score full marks. Failed: {failed or result.notes}")


def _kept(course: Course) -> list[Path]:
    """What a sandboxed kernel needs to see: the Python environment, the package, the release, data."""
    import eep596gan

    package = Path(eep596gan.__file__).resolve().parent
    keep = [Path(sys.prefix), Path(sys.base_prefix), package, course.release_dir]
    data = os.environ.get("EEP596GAN_DATA")
    return keep + ([Path(data)] if data else [Path.home() / ".cache" / "eep596gan"])


def _hidden(course: Course, extra: list[Path]) -> tuple[str, ...]:
    """What a sandboxed kernel must not see: the course except the release, inputs and outputs."""
    roots = [course.root, Path.home()] + ([package_repo()] if package_repo() else [])
    return tuple(hidden_paths(list(dict.fromkeys(roots)), _kept(course), extra))


def _kept_under_tmp(course: Course) -> tuple[str, ...]:
    """Kept paths inside /tmp (a clone or venv there): the sandbox's private /tmp binds them back."""
    tmp = Path("/tmp").resolve()
    paths = {p.resolve() for p in _kept(course) if p.exists()}
    return tuple(sorted(str(p) for p in paths if p.is_relative_to(tmp)))


def grade(assignment: str, submissions: str | os.PathLike, out: str | os.PathLike, *,
          course: str | os.PathLike | None = None, jobs: int = 2,
          timeout: int = DEFAULT_TIMEOUT, progress: bool = True,
          sandbox: bool = True, preflight: bool = True) -> list[dict]:
    """Autograde every student's submission of an assignment.

    Submissions (a folder, or a .zip of one as an LMS exports it, optionally under one
    wrapper folder): `<student_id>/<notebook>.ipynb`, one folder per student, searched
    recursively; or notebooks at the top named `<student_id>_<notebook>.ipynb` or as in
    Canvas's bulk download, `<student_id>_[LATE_]<n>_<n>_<notebook>.ipynb` (a resubmission
    `<notebook>-2.ipynb` beats `-1`).

    Scores come from the assignment's source notebook in the course (its test cells and their
    points), never from the student's file. Before the batch, the source notebook itself is
    graded and must score full marks (else RuntimeError). Each student's code runs in its own kernel,
    sandboxed where the machine allows it (see sandbox.py), `jobs` at a time.

    Args:
        assignment: the assignment's folder name under the course's source directory.
        submissions: the folder or .zip of submissions.
        out: output folder: `grades.csv` and `feedback/<student_id>/<notebook>.html`.
        course: the course folder (with nbgrader_config.py); default: found from the cwd up.
        jobs: students graded in parallel (one kernel each).
        timeout: seconds a cell may run before it is interrupted.
        progress: show a progress bar.
        sandbox: run kernels in the namespace sandbox when the machine supports it.
        preflight: first grade the source notebook itself and stop unless it scores full marks.
    Returns:
        One dict per student with the keys of grades.csv (`COLUMNS`); scores are floats.
        status: graded | timeout (a cell was stopped) | kernel-died | tampered (checking
        functions were patched: those tests score 0) | uses-reference (a graded function called
        the library's version of itself) | empty-file | invalid-notebook | wrong-assignment |
        wrong-file-name | missing-notebook | grader-error; "+"-joined for several notebooks.
    """
    course_obj = find_course(course)
    sources = course_obj.source_notebooks(assignment)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    if not (course_obj.release_dir / assignment).is_dir():
        generate_release(assignment, course_obj)
    out = Path(out).resolve()
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
        students = collect(root, [s.name for s in sources])
        use_sandbox = sandbox and sandbox_available()[0]
        if not use_sandbox:
            print(warn_unsandboxed(), file=sys.stderr)
        kernel = KernelOptions(sandbox=use_sandbox, hide=_hidden(course_obj, [sub_path, root, out, tmp]),
                               keep_tmp=_kept_under_tmp(course_obj),
                               support=_support(course_obj, assignment, tmp))
        job = _Job(str(course_obj.root), assignment, str(out), RunOptions(timeout=timeout, kernel=kernel))
        if preflight:
            _preflight(job)
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
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({**r, "code_score": _fmt(r["code_score"]),
                          "max_code_score": _fmt(r["max_code_score"])} for r in rows)
    with open(out / "timings.csv", "w", newline="") as f:  # which worker graded whom, and when
        writer = csv.writer(f)
        writer.writerow(("student_id", "worker", "start", "seconds"))
        t0 = min((t[2] for t in timings if t[2]), default=0.0)
        for sid, pid, begin, end in timings:
            writer.writerow((sid, pid, f"{begin - t0:.2f}", f"{end - begin:.2f}"))
    _summary(rows, csv_path, seconds, jobs, use_sandbox)
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


def _run_all(job: _Job, students: list[Submission], jobs: int, progress: bool) -> list[dict]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(students), desc=f"grading {job.assignment}", unit="student",
               disable=not progress, file=sys.stderr)
    rows = []
    if jobs <= 1 or len(students) <= 1:
        for sub in students:
            start = time.time()
            row = _grade_student(job, sub)
            row["_timing"] = [os.getpid(), start, time.time()]
            rows.append(row)
            bar.update()
    else:
        from .worker import WorkerPool

        for sub, row in WorkerPool(job, jobs).map(students):
            if row is None:  # the worker process itself died
                print(f"eep596gan grade: the worker grading {sub.student_id} died", file=sys.stderr)
                row = {"student_id": sub.student_id, "assignment": job.assignment,
                       "code_score": 0.0, "max_code_score": None, "status": "grader-error"}
            rows.append(row)
            bar.update()
    bar.close()
    return rows


def _summary(rows: list[dict], csv_path: Path, seconds: float, jobs: int, sandboxed: bool) -> None:
    counts = Counter(r["status"] for r in rows)
    scores = [float(r["code_score"]) for r in rows]
    top = _fmt(rows[0]["max_code_score"]) if rows else "?"
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
    parser.add_argument("assignment", help="assignment name (a folder of the course's source directory)")
    parser.add_argument("--submissions", required=True,
                        help="folder of <student_id>/<notebook>.ipynb, or an LMS .zip")
    parser.add_argument("--out", required=True, help="output folder for grades.csv and feedback/")
    parser.add_argument("--course", help="course folder with nbgrader_config.py (default: found "
                        "from the current folder upwards)")
    parser.add_argument("--jobs", type=int, default=2, help="students graded in parallel (default 2)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                        help=f"seconds per cell before it is interrupted (default {DEFAULT_TIMEOUT})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    """Run `eep596gan grade` from parsed arguments; returns the exit status."""
    grade(args.assignment, args.submissions, args.out, course=args.course, jobs=args.jobs,
          timeout=args.timeout, progress=not getattr(args, "no_progress", False))
    return 0
