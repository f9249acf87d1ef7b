"""What grades.csv says beyond the autograder's score, and the file an LMS imports.

- Each row keeps the LMS's ids of the graded file (`lms_user_id`, `lms_submission_id`: Canvas
  names a bulk download's files `<slug>_[LATE_]<user id>_<submission id>_<file>`) and whether
  it was late (Canvas's `LATE_` marker).
- `--late-penalty 0.1` takes 10% off a late row's total: `raw_total` is kept beside `total`,
  and `penalty` says how much was taken.
- `--roster gradebook.csv` (Canvas's gradebook export) gives `canvas_import.csv`: the roster's
  first columns as exported (Student, ID, SIS User ID, SIS Login ID, Section), its "Points
  Possible" row, and one column for the assignment, matched on Canvas's user id ("ID"). A roster
  student with no submission gets 0 there and a `missing` row in grades.csv; a graded
  submission no roster row matches is listed in `unmatched.csv` and stays in grades.csv.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from .submissions import Submission

__all__ = ["COLUMNS", "IDENTITY", "add_lms_columns", "read_roster", "missing_rows",
           "write_canvas_import", "previous_rows", "select", "with_roster", "check_penalty",
           "totals", "write_grades"]

COLUMNS = ("student_id", "assignment", "lms_user_id", "lms_submission_id", "code_score",
           "max_code_score", "written_score", "max_written_score", "late", "penalty", "raw_total",
           "total", "max_total", "status")
# Canvas's gradebook export starts with these (Integration ID only on some instances).
IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section")
MISSING = "missing"


def _fmt(x: float) -> str:
    return f"{x:g}"


def check_penalty(late_penalty: float) -> None:
    if not 0 <= late_penalty <= 1:
        raise ValueError(f"--late-penalty is a fraction of the total between 0 and 1 "
                         f"(0.1 = 10% off), got {late_penalty}")


def add_lms_columns(rows: list[dict], students: list[Submission], late_penalty: float,
                    max_written: float = 0.0) -> None:
    """Fill each row's LMS ids, `late`, `penalty`, `raw_total`, `total` and `max_total`; the
    written score stays blank until `eep596gan grade --finalize` reads the TA's points."""
    check_penalty(late_penalty)
    by_id = {s.student_id: s for s in students}
    for row in rows:
        lms = getattr(by_id.get(row["student_id"]), "lms", None)
        row.setdefault("lms_user_id", lms.user_id if lms else "")
        row.setdefault("lms_submission_id", lms.submission_id if lms else "")
        late = row.get("late", "yes" if lms and lms.late else "no")
        row.setdefault("written_score", "")
        row.setdefault("max_written_score", max_written)
        row["late"] = late
        totals(row, late_penalty)


def totals(row: dict, late_penalty: float) -> None:
    """raw_total = code + written score (what is graded so far), the late penalty, total."""
    written = row.get("written_score", "")
    raw = float(row["code_score"]) + (float(written) if written != "" else 0.0)
    penalty = round(late_penalty * raw, 6) if row.get("late") == "yes" else 0.0
    row.update(raw_total=raw, penalty=penalty, total=raw - penalty,
               max_total=float(row["max_code_score"]) + float(row.get("max_written_score") or 0))


def read_roster(path: str | Path) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """(header, "Points Possible" and other non-student rows, student rows) of a Canvas export.

    Raises ValueError, saying what is wrong, for a file that is not a gradebook export.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no roster at {path}: pass Canvas's gradebook export "
                                "(Grades > Export > Export Entire Gradebook, a .csv)")
    with open(path, newline="", encoding="utf-8-sig") as f:
        table = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    if not table or "ID" not in [c.strip() for c in table[0]]:
        raise ValueError(f"{path} has no 'ID' column: pass Canvas's gradebook export, whose "
                         "first columns are Student, ID, SIS User ID, SIS Login ID, Section")
    header = [c.strip() for c in table[0]]
    col = header.index("ID")
    students, others = [], []
    for row in table[1:]:
        row = row + [""] * (len(header) - len(row))
        (students if row[col].strip().isdigit() else others).append(row)
    return header, others, students


def missing_rows(header: list[str], students: list[list[str]], rows: list[dict],
                 assignment: str, max_code_score: float) -> list[dict]:
    """A `missing` row (score 0) for each roster student that no graded file belongs to."""
    col = header.index("ID")
    have = {r.get("lms_user_id") for r in rows}
    out = []
    for student in students:
        uid = student[col].strip()
        if uid not in have:
            out.append({"student_id": f"canvas-{uid}", "assignment": assignment,
                        "lms_user_id": uid, "lms_submission_id": "", "code_score": 0.0,
                        "max_code_score": max_code_score, "late": "no", "status": MISSING})
    return out


def write_canvas_import(path: Path, header: list[str], others: list[list[str]],
                        students: list[list[str]], rows: list[dict], assignment: str
                        ) -> list[dict]:
    """Write Canvas's import file; returns the graded rows no roster student matched."""
    keep = [i for i, name in enumerate(header) if name in IDENTITY]
    # an assignment Canvas already has is its column "<name> (<canvas id>)": fill that one
    column = next((h for h in header if h == assignment or h.startswith(f"{assignment} (")),
                  assignment)
    col = header.index("ID")
    total = {r["lms_user_id"]: r["total"] for r in rows if r.get("lms_user_id")}
    top = max((float(r["max_total"]) for r in rows), default=0.0)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([header[i] for i in keep] + [column])
        for row in others:  # "Points Possible" (and any other non-student row Canvas wrote)
            points = row[0].strip() == "Points Possible"
            writer.writerow([row[i] for i in keep] + [_fmt(top) if points else ""])
        for row in students:
            writer.writerow([row[i] for i in keep] + [_fmt(float(total.get(row[col].strip(),
                                                                          0.0)))])
    roster = {row[col].strip() for row in students}
    return [r for r in rows if r.get("status") != MISSING and r.get("lms_user_id") not in roster]


def previous_rows(out: Path, assignment: str) -> list[dict]:
    """The rows of the grades.csv a regrade (`only`) merges into."""
    path = out / "grades.csv"
    if not path.is_file():
        raise FileNotFoundError(f"--only regrades into an earlier run's {path}, which does not "
                                "exist: grade the whole batch first")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if any(r.get("assignment") != assignment for r in rows):
        raise ValueError(f"{path} holds grades of another assignment, not {assignment}")
    return rows


def select(students: list[Submission], only: list[str] | None) -> list[Submission]:
    if not only:
        return students
    known = {s.student_id for s in students}
    unknown = sorted(set(only) - known)
    if unknown:
        raise ValueError(f"--only: no submissions of {', '.join(unknown)}; the students are "
                         f"{', '.join(sorted(known)) or 'none'}")
    return [s for s in students if s.student_id in set(only)]


def with_roster(rows: list[dict], roster: tuple, out: Path, assignment: str, top: float,
                 late_penalty: float, max_written: float = 0.0) -> list[dict]:
    """rows plus a `missing` row per roster student without one (`roster`: `read_roster`'s
    result); canvas_import.csv and unmatched.csv written."""
    header, others, students = roster
    missing = missing_rows(header, students, rows, assignment, top)
    add_lms_columns(missing, [], late_penalty, max_written)
    rows = sorted(rows + missing, key=lambda r: r["student_id"])
    unmatched = write_canvas_import(out / "canvas_import.csv", header, others, students, rows,
                                    assignment)
    with open(out / "unmatched.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(unmatched)
    if unmatched:
        print(f"eep596gan grade: {len(unmatched)} submission(s) match no roster student (no "
              f"Canvas user id, or one the roster lacks): {out / 'unmatched.csv'}",
              file=sys.stderr)
    return rows


def write_grades(out: Path, rows: list[dict], timings: list | None) -> None:
    """OUT/grades.csv (COLUMNS) and, for a grading run, OUT/timings.csv."""
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: _fmt(v) if isinstance(v, float) else v for k, v in r.items()}
                         for r in rows)
    if timings is None:
        return
    with open(out / "timings.csv", "w", newline="") as f:  # which worker graded whom, and when
        writer = csv.writer(f)
        writer.writerow(("student_id", "worker", "start", "seconds"))
        t0 = min((t[2] for t in timings if t[2]), default=0.0)
        for sid, pid, begin, end in timings:
            writer.writerow((sid, pid, f"{begin - t0:.2f}", f"{end - begin:.2f}"))
