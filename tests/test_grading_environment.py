"""The grader leaves the process's environment as it found it (issue 11).

nbgrader's gradebook used to need the venv's bin on PATH (it spawns `alembic`), and the grader
put it there for the whole process. Here PATH lacks the venv's bin, and `os.environ` must be
identical after `generate_release` and after `grade` (with worker processes).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from grading_fixtures import minicourse as mc
from grading_fixtures import variants as V

from eep596gan.grading import find_course, generate_release, grade


def test_generate_release_and_grade_leave_the_environment_unchanged(tmp_path, monkeypatch):
    root = mc.build_course(tmp_path / "course")
    venv_bin = Path(sys.executable).parent.resolve()
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and Path(p).resolve() != venv_bin]
    monkeypatch.setenv("PATH", os.pathsep.join(path) or os.defpath)
    before = dict(os.environ)

    release = generate_release("mini", find_course(root))
    assert dict(os.environ) == before
    assert release == root / "assignments" / "mini" and (release / "mini.ipynb").is_file()
    assert not (root / "gradebook.db").exists()

    subs = tmp_path / "submissions"
    mc.write_submission(subs, "right", V.nb())
    mc.write_submission(subs, "wrong", V.nb(mse=V.MSE_WRONG))
    rows = grade("mini", subs, tmp_path / "out", course=root, jobs=2, timeout=30,
                 progress=False)
    assert dict(os.environ) == before
    assert [(r["student_id"], r["code_score"], r["max_code_score"], r["status"]) for r in rows] == [
        ("right", 5.0, 5.0, "graded"), ("wrong", 3.0, 5.0, "graded")]
