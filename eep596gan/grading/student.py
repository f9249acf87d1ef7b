"""Grade one student: each of the assignment's notebooks checked, run, scored, its feedback written.

Used by `grade()` in the grader's process and by the worker processes (worker.py), which both
import it; it imports neither of them.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .assemble import grade_ids
from .course import Course
from .feedback import feedback_notebook, problem_html, render_html
from .gradebook import write_autograded
from .runner import RunOptions, run_notebook
from .source import SourceNotebook
from .submissions import Submission, load_notebook
from .verdict import Status, join_statuses

__all__ = ["Job", "grade_student", "check_solutions", "sources", "check_file"]


@dataclass(frozen=True)
class Job:
    """What a worker process needs to grade students (picklable, and JSON for worker.py)."""

    course: str
    assignment: str
    out: str
    options: RunOptions


_CACHE: dict = {}


def sources(job: Job) -> tuple[list[SourceNotebook], set[str]]:
    """The assignment's source notebooks and the grade_ids of the course's other assignments."""
    key = (job.course, job.assignment)
    if key not in _CACHE:
        course = Course(Path(job.course))
        found = course.source_notebooks(job.assignment)
        others = set()
        for name in course.assignments():
            if name != job.assignment:
                try:
                    others |= {gid for s in course.source_notebooks(name) for gid in s.by_id}
                except (FileNotFoundError, ValueError):
                    continue
        _CACHE[key] = (found, others)
    return _CACHE[key]


def check_file(sub: Submission, source: SourceNotebook, others: set[str], assignment: str
               ) -> tuple[nbformat.NotebookNode | None, Status | None, str]:
    """(the student's notebook, None, "") when it can be graded, else (None, status, why)."""
    path = sub.files.get(source.name)
    if path is None:
        if sub.others:
            found = ", ".join(p.name for p in sub.others)
            return None, Status.WRONG_FILE_NAME, f"expected {source.name}.ipynb, found {found}"
        return None, Status.MISSING_NOTEBOOK, f"no {source.name}.ipynb"
    nb, status, detail = load_notebook(path)
    if nb is None:
        return None, status, detail
    ids = set(grade_ids(nb))
    if ids and not ids & set(source.by_id) and ids & others:
        return None, Status.WRONG_ASSIGNMENT, (
            f"{path.name} is a notebook of another assignment, not {assignment}")
    return nb, None, ""


def grade_student(job: Job, sub: Submission) -> dict:
    """Grade one student's notebooks; never raises (a grader error becomes the row's status).

    Returns the student's row of grades.csv (scores as floats; `max_code_score` the source's).
    """
    found, others = sources(job)
    folder = Path(job.out) / "feedback" / sub.student_id
    folder.mkdir(parents=True, exist_ok=True)
    score, statuses = 0.0, []
    for source in found:
        page = folder / f"{source.name}.html"
        nb, status, detail = check_file(sub, source, others, job.assignment)
        if status is None:
            try:
                result = run_notebook(source, nb, job.options)
                write_autograded(Path(job.out), job.assignment, sub.student_id, source, result)
                page.write_text(render_html(feedback_notebook(sub.student_id, job.assignment,
                                                              source, result)))
            except Exception as err:  # a grader bug must not stop the batch
                print(f"eep596gan grade: {sub.student_id}: {err}\n{traceback.format_exc()}",
                      file=sys.stderr)
                status, detail = Status.GRADER_ERROR, f"the grader failed: {err}"
            else:
                score += result.score
                lost = any(p.matched for p in result.cells)
                statuses.append(Status.MATCHED if lost and result.status is Status.GRADED
                                else result.status)
                continue
        statuses.append(status)
        page.write_text(problem_html(sub.student_id, job.assignment, source.name, status.value,
                                     detail, source.max_score))
    return {"student_id": sub.student_id, "assignment": job.assignment, "code_score": score,
            "max_code_score": float(sum(s.max_score for s in found)),
            "status": join_statuses(statuses)}


def check_solutions(job: Job) -> None:
    """Grade the source notebooks themselves: they must score full marks, untouched.

    A grader that flags the solution (a torch upgrade that patches itself lazily, a broken
    test) would give every student 0; better to stop before the batch.
    """
    for source in sources(job)[0]:
        result = run_notebook(source, source.nb, job.options)
        if result.score != source.max_score or result.status is not Status.GRADED:
            failed = "; ".join(f"{t.grade_id}: {t.message or t.outcome.value}"
                               for t in result.tests if t.score < t.points)
            raise RuntimeError(
                f"the solution notebook {source.path} scores {result.score:g} / "
                f"{source.max_score:g} (status {result.status.value}) when graded, so students "
                f"could not score full marks. Failed: {failed or result.notes}")
