"""The written answers, graded in nbgrader's formgrader: a gradebook the grader fills, read back.

`eep596gan grade` leaves, under `OUT/formgrader/`, a course folder formgrader opens as it is:
`nbgrader_config.py`, `gradebook.db` (the assignment, its notebooks and grade cells, recorded by
nbgrader's own generate_assignment; one submission per graded student, each test cell's
auto_score as eep596gan decided it) and `autograded/<student>/<assignment>/<notebook>.ipynb`
(the notebook as it ran, with the source's cells and metadata). A TA starts formgrader there
(`cd OUT/formgrader && jupyter lab`, then *Nbgrader → Manual Grading*) and enters points and
comments for the written cells; their model answers and rubrics are in the source notebook,
which formgrader shows to TAs only. `finalize()` reads the manual scores and comments back.

A regrade (`--only`) updates the auto scores of the students it grades and keeps every manual
score and comment already entered.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from .course import Course, _new_gradebook, generate_release
from .runner import NotebookResult
from .source import SourceNotebook

__all__ = ["FOLDER", "write_autograded", "record", "manual_scores"]

FOLDER = "formgrader"
CONFIG = '''c = get_config()  # noqa: F821
# Written by eep596gan grade: formgrader's view of one grading run (see gradebook.py).
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {source!r}
c.CourseDirectory.db_url = {db!r}
'''


def _scores_path(out: Path, student_id: str, notebook: str) -> Path:
    return out / FOLDER / "scores" / student_id / f"{notebook}.json"


def write_autograded(out: Path, assignment: str, student_id: str, source: SourceNotebook,
                     result: NotebookResult) -> None:
    """The notebook as it ran and its test scores, where `record` and formgrader read them."""
    folder = out / FOLDER / "autograded" / student_id / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(metadata=dict(source.nb.metadata))
    for p in result.cells:
        nb.cells.append(nbformat.from_dict(dict(p.cell)))
        if p.role == "manual":  # the model answer and rubric, for the TA (this copy only)
            nb.cells.append(nbformat.v4.new_markdown_cell(
                "**For the TA (from the source; students never see this):**\n\n"
                + p.spec.cell.source))
    nbformat.write(nb, folder / f"{source.name}.ipynb")
    path = _scores_path(out, student_id, source.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({t.grade_id: t.score for t in result.tests}))


def _gradebook(course: Course, assignment: str, out: Path):
    from nbgrader.api import Gradebook

    root = out / FOLDER
    db = root / "gradebook.db"
    url = f"sqlite:///{db}"
    if not db.exists():
        root.mkdir(parents=True, exist_ok=True)
        _new_gradebook(db)
        (root / "nbgrader_config.py").write_text(CONFIG.format(
            root=str(root), source=str(course.source_dir), db=url))
    gb = Gradebook(url)
    try:
        gb.find_assignment(assignment)
    except Exception:  # noqa: BLE001 (nbgrader's MissingEntry): record it with nbgrader's own app
        import tempfile

        with tempfile.TemporaryDirectory(prefix="eep596gan-formgrader-") as tmp:
            generate_release(assignment, course, force=True, release_dir=tmp, db_url=url)
    return gb


def record(course: Course, assignment: str, out: Path, students: list[str]) -> None:
    """Put the auto scores of `students` (written by `write_autograded`) into the gradebook."""
    import warnings

    from sqlalchemy.exc import SAWarning

    quiet = warnings.catch_warnings()
    quiet.__enter__()
    warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission autoflushes
    gb = _gradebook(course, assignment, out)
    try:
        notebooks = [nb.name for nb in gb.find_assignment(assignment).notebooks]
        for student in students:
            scores = {}
            for name in notebooks:
                path = _scores_path(out, student, name)
                if path.is_file():
                    scores[name] = json.loads(path.read_text())
            if not scores:
                continue
            gb.update_or_create_student(student)
            try:
                gb.find_submission(assignment, student)
            except Exception:  # noqa: BLE001 (MissingEntry): a first grading of this student
                gb.add_submission(assignment, student)
            for name, by_id in scores.items():
                notebook = gb.find_notebook(name, assignment)
                written = {c.name for c in notebook.solution_cells}
                for cell in notebook.grade_cells:
                    grade = gb.find_grade(cell.name, name, assignment, student)
                    if cell.name in written:  # a written answer: the TA grades it
                        grade.needs_manual_grade = grade.manual_score is None
                    elif cell.name in by_id:  # a test: eep596gan's score, not nbgrader's
                        grade.auto_score = float(by_id[cell.name])
                        grade.needs_manual_grade = False
            gb.db.commit()
    finally:
        gb.close()
        quiet.__exit__(None, None, None)


def manual_scores(course: Course, assignment: str, out: Path, student: str
                  ) -> tuple[float | None, float, list[tuple[str, str]]]:
    """(the TA's points for the written cells, or None while one is ungraded; their maximum;
    [(cell, comment), ...] of the TA's comments) for one student."""
    gb = _gradebook(course, assignment, out)
    try:
        total, top, ungraded, comments = 0.0, 0.0, False, []
        graded = True
        try:
            gb.find_submission(assignment, student)
        except Exception:  # noqa: BLE001 (MissingEntry): not graded by eep596gan
            graded = False
        for nb in gb.find_assignment(assignment).notebooks:
            written = {c.name for c in nb.solution_cells}
            for cell in nb.grade_cells:
                if cell.name not in written:
                    continue
                top += float(cell.max_score)
                if not graded:
                    ungraded = True
                    continue
                grade = gb.find_grade(cell.name, nb.name, assignment, student)
                score = grade.manual_score
                if score is None:
                    ungraded = True
                else:
                    total += float(score)
            if graded:
                for cell in nb.solution_cells:
                    comment = gb.find_comment(cell.name, nb.name, assignment, student)
                    if comment.manual_comment:
                        comments.append((cell.name, comment.manual_comment))
        return (None if ungraded else total), top, comments
    finally:
        gb.close()



TA_BEGIN, TA_END = "<!-- eep596gan: the TA's grading -->", "<!-- eep596gan: end -->"


def _ta_section(written: float | None, top: float, comments: list[tuple[str, str]]) -> str:
    import html

    score = "not graded yet" if written is None else f"{written:g} / {top:g} points"
    items = "".join(f"<li><code>{html.escape(cell)}</code>: {html.escape(text)}</li>"
                    for cell, text in comments)
    return (f'{TA_BEGIN}<section id="ta-grading"><h2>Written answers</h2><p>{score}</p>'
            + (f"<ul>{items}</ul>" if items else "") + f"</section>{TA_END}")


def add_ta_section(page: Path, section: str) -> None:
    """Put the TA's section into a feedback page (replacing an earlier one), before </body>."""
    text = page.read_text()
    if TA_BEGIN in text:
        text = text[:text.index(TA_BEGIN)] + text[text.index(TA_END) + len(TA_END):]
    at = text.rfind("</body>")
    page.write_text(text[:at] + section + text[at:] if at >= 0 else text + section)


def finalize(course: Course, assignment: str, out: Path, rows: list[dict],
             late_penalty: float) -> list[dict]:
    """rows (grades.csv's) with the TA's written scores, totals and statuses; the feedback pages
    get the TA's points and comments. No kernel runs."""
    from .lms import MISSING, totals

    for row in rows:
        if row["status"] == MISSING:
            continue
        written, top, comments = manual_scores(course, assignment, out, row["student_id"])
        row["written_score"] = "" if written is None else written
        row["max_written_score"] = top
        statuses = [s for s in row["status"].split("+") if s != "written-ungraded"]
        if written is None and top > 0:
            statuses.append("written-ungraded")
        row["status"] = "+".join(statuses)
        totals(row, late_penalty)
        for page in (out / "feedback" / row["student_id"]).glob("*.html"):
            add_ta_section(page, _ta_section(written, top, comments))
    return rows
