"""Round trip through the grader: every submission variant of tests/submissions, graded by
`eep596gan.grading.grade` in a temporary folder, gets exactly the autograded points it deserves.

The solution gets full marks, the untouched release 0, each planted mistake loses the points of the
test cells that target it (and keeps the others), and correct answers in other styles (no_grad
instead of detach, BCE with logits, printing and warning, ...) get full marks. Cell by cell: the
table at the top of each student's feedback (test, score, result) shows that a planted mistake
fails exactly the test cells its `expected` names, no more (a near-miss such as
log(sigmoid(x) + 1e-8) loses the extreme-logit test only).
"""

from __future__ import annotations

import re

import nbformat
import pytest
from submissions import (
    VARIANTS,
    expected_failures,
    expected_score,
    make_submission,
    points_by_test,
)

from eep596gan.grading import grade

ONE_GROUP_PER_TEST = True  # minutes per assignment: scheduled first (tests/conftest.py)


@pytest.mark.parametrize("assignment", sorted(VARIANTS))
def test_every_submission_gets_the_points_it_deserves(assignment, tmp_path):
    submissions = tmp_path / "submissions"
    for variant in VARIANTS[assignment]:
        folder = submissions / variant
        folder.mkdir(parents=True)
        nbformat.write(make_submission(assignment, variant), folder / f"{assignment}.ipynb")

    # one kernel at a time: the other xdist worker has the second core, and two more kernels
    # holding torch would lift the test run's peak memory by ~0.9 GiB
    rows = grade(assignment, submissions, tmp_path / "out", jobs=1)

    by_student = {row["student_id"]: row for row in rows}
    assert sorted(by_student) == sorted(VARIANTS[assignment])
    top = sum(points_by_test(assignment).values())
    got = {v: (float(r["code_score"]), float(r["max_code_score"])) for v, r in by_student.items()}
    want = {v: (expected_score(assignment, v), top) for v in VARIANTS[assignment]}
    wrong = {v: f"got {got[v]}, expected {want[v]} ({by_student[v]['status']})"
             for v in want if got[v] != want[v]}
    assert not wrong, wrong
    assert all(row["assignment"] == assignment for row in rows)

    # cell by cell, for the planted mistakes: the feedback's table of (test, score / points)
    wrong = {}
    for variant, (_, expected) in VARIANTS[assignment].items():
        if not isinstance(expected, frozenset):
            continue
        html = (tmp_path / "out" / "feedback" / variant / f"{assignment}.html").read_text()
        scores = {gid: (float(got), float(top)) for gid, got, top in TABLE_ROW.findall(html)}
        assert set(scores) == set(points_by_test(assignment)), f"{variant}: feedback table {scores}"
        failed = {gid for gid, (got, top) in scores.items() if got < top}
        if failed != expected_failures(assignment, variant):
            wrong[variant] = (f"failed {sorted(failed)}, expected "
                              f"{sorted(expected_failures(assignment, variant))}")
    assert not wrong, wrong


TABLE_ROW = re.compile(r"<td><code>(\w+)</code></td>\s*<td>([0-9.]+) / ([0-9.]+)</td>")
