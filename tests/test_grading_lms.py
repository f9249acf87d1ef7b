"""What a TA hands the LMS (issue 14): Canvas's ids and late marker kept from the file names, a
late penalty, the file Canvas's gradebook import reads, and regrading some students only.

One Canvas-style zip graded on the mini course: an on-time, a late and a resubmitted student, a
submission no roster row matches, and a roster student who submitted nothing.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import minicourse as mc

from eep596gan.grading import grade
from eep596gan.grading.submissions import LMSFile, collect, lms_file

ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,mini (4242),Other quiz (99)
    Points Possible,,,,,5,10
"Doe, Jane",101,s101,jdoe,EEP 596 A,,7
"Roe, Frank",102,s102,froe,EEP 596 A,,8
"Smith, Ann",103,s103,asmith,EEP 596 A,,9
"Nobody, Ned",104,s104,nned,EEP 596 A,,0
"""
FULL = mc.student_notebook("mini")
ZERO = mc.student_notebook("mini", release=True)
FILES = {  # Canvas's bulk-download names: <slug>_[LATE_]<user id>_<submission id>_<file>
    "doejane_101_5001_mini.ipynb": FULL,
    "roefrank_LATE_102_5002_mini.ipynb": FULL,
    "smithann_103_5003_mini.ipynb": ZERO,  # her first try ...
    "smithann_LATE_103_5010_mini-1.ipynb": FULL,  # ... and her late resubmission, graded
    "strayone_999_5004_mini.ipynb": FULL,  # a Canvas user the roster does not list
}


def test_canvas_names_give_the_ids_and_the_late_marker(tmp_path):
    assert lms_file("roefrank_LATE_102_5002_mini.ipynb") == LMSFile("102", "5002", True)
    assert lms_file("doejane_101_5001_mini.ipynb") == LMSFile("101", "5001", False)
    assert lms_file("jane_doe_mini.ipynb") is None  # not Canvas's: no ids
    for name in FILES:
        (tmp_path / name).write_text("{}")
    subs = {s.student_id: s for s in collect(tmp_path, ["mini"])}
    assert subs["smithann"].files["mini"].name == "smithann_LATE_103_5010_mini-1.ipynb"
    assert subs["smithann"].lms == LMSFile("103", "5010", True)
    assert subs["doejane"].lms == LMSFile("101", "5001", False)


def test_a_student_folder_named_like_canvas_files_gives_the_ids(tmp_path):
    for name in ("doejane_LATE_101_5001/mini.ipynb", "alice/mini.ipynb", "bob_2/mini.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text("{}")
    subs = {s.student_id: s.lms for s in collect(tmp_path, ["mini"])}
    assert subs == {"doejane_LATE_101_5001": LMSFile("101", "5001", True), "alice": None,
                    "bob_2": None}


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("lms")
    course = mc.build_course(base / "course")
    with zipfile.ZipFile(base / "submissions.zip", "w") as zf:
        for name, nb in FILES.items():
            zf.writestr(f"submissions/{name}", nbformat.writes(nb))
    (base / "roster.csv").write_text(ROSTER)
    grade("mini", base / "submissions.zip", base / "out", course=course, jobs=2, timeout=30,
          progress=False, late_penalty=0.1, roster=base / "roster.csv")
    return base, course


def test_grades_keep_the_lms_ids_the_late_marker_and_the_penalty(graded):
    base, _ = graded
    rows = _rows(base / "out")
    got = {sid: (r["lms_user_id"], r["lms_submission_id"], r["late"], r["raw_total"],
                 r["penalty"], r["total"], r["max_total"], r["status"]) for sid, r in rows.items()}
    assert got == {
        # max_total: 5 autograded + 1 written point (blank until a TA grades it)
        "doejane": ("101", "5001", "no", "5", "0", "5", "6", "graded"),
        "roefrank": ("102", "5002", "yes", "5", "0.5", "4.5", "6", "graded"),
        "smithann": ("103", "5010", "yes", "5", "0.5", "4.5", "6", "graded"),
        "strayone": ("999", "5004", "no", "5", "0", "5", "6", "graded"),
        "canvas-104": ("104", "", "no", "0", "0", "0", "6", "missing"),
    }


def test_canvas_import_file_has_the_rosters_columns_and_the_assignments(graded):
    base, _ = graded
    assert _read(base / "out" / "canvas_import.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "mini (4242)"],
        ["    Points Possible", "", "", "", "", "6"],
        ["Doe, Jane", "101", "s101", "jdoe", "EEP 596 A", "5"],
        ["Roe, Frank", "102", "s102", "froe", "EEP 596 A", "4.5"],
        ["Smith, Ann", "103", "s103", "asmith", "EEP 596 A", "4.5"],
        ["Nobody, Ned", "104", "s104", "nned", "EEP 596 A", "0"],
    ]
    unmatched = _read(base / "out" / "unmatched.csv")
    assert [r[0] for r in unmatched[1:]] == ["strayone"]


def test_only_regrades_one_student_and_keeps_every_other_row(graded):
    base, course = graded
    out = base / "out"
    before = _rows(out)
    pages = {sid: (out / "feedback" / sid / "mini.html").stat().st_mtime_ns
             for sid in ("doejane", "roefrank")}
    folder = base / "resubmitted"
    folder.mkdir()
    for name, nb in FILES.items():  # the same files, but Doe's notebook replaced by a stub
        nbformat.write(ZERO if name.startswith("doejane") else nb, folder / name)
    grade("mini", folder, out, course=course, jobs=1, timeout=30, progress=False,
          late_penalty=0.1, roster=base / "roster.csv", only=["doejane"])
    after = _rows(out)
    assert after["doejane"]["code_score"] == "0" and after["doejane"]["total"] == "0"
    assert {k: v for k, v in after.items() if k != "doejane"} == {
        k: v for k, v in before.items() if k != "doejane"}
    assert (out / "feedback" / "roefrank" / "mini.html").stat().st_mtime_ns == pages["roefrank"]
    assert (out / "feedback" / "doejane" / "mini.html").stat().st_mtime_ns != pages["doejane"]
    assert _read(out / "canvas_import.csv")[2] == ["Doe, Jane", "101", "s101", "jdoe",
                                                   "EEP 596 A", "0"]


def test_bad_lms_options_say_what_to_do(graded, tmp_path):
    base, course = graded
    with pytest.raises(ValueError, match="no submissions of nosuch"):
        grade("mini", base / "submissions.zip", base / "out", course=course, jobs=1,
              progress=False, only=["nosuch"], preflight=False)
    with pytest.raises(FileNotFoundError, match="grade the whole batch first"):
        grade("mini", base / "submissions.zip", tmp_path / "fresh", course=course, jobs=1,
              progress=False, only=["doejane"], preflight=False)
    (tmp_path / "bad.csv").write_text("name,score\nJane,5\n")
    with pytest.raises(ValueError, match="no 'ID' column"):
        grade("mini", base / "submissions.zip", tmp_path / "out2", course=course, jobs=1,
              progress=False, roster=tmp_path / "bad.csv", preflight=False)
    with pytest.raises(ValueError, match="between 0 and 1"):
        grade("mini", base / "submissions.zip", tmp_path / "out3", course=course, jobs=1,
              progress=False, late_penalty=10, preflight=False)
