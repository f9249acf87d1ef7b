"""Written answers graded in nbgrader's formgrader (issue 14): the grader leaves a gradebook and
autograded notebooks under OUT/formgrader with its own scores; a TA's points and comments (entered
through nbgrader's gradebook API, as formgrader's save does) come back with `--finalize`.

Not yet here: driving formgrader's page in a browser (the issue's Playwright test).
"""

from __future__ import annotations

import csv

import pytest
from grading_fixtures import minicourse as mc

from eep596gan.grading import grade
from eep596gan.grading.api import finalize_grades


def _rows(out):
    with open(out / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


def _gradebook(out):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{out / 'formgrader' / 'gradebook.db'}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("formgrader")
    course = mc.build_course(base / "course")
    mc.write_submission(base / "subs", "ann", mc.student_notebook("mini"))
    mc.write_submission(base / "subs", "bob", mc.student_notebook("mini", {
        "answer_mse": "def mse(x, y):\n    return 0.0\n"}))
    grade("mini", base / "subs", base / "out", course=course, jobs=2, timeout=30, progress=False)
    return base, course


def test_formgrader_sees_the_graders_scores_and_a_written_cell_to_grade(graded):
    base, _ = graded
    root = base / "out" / "formgrader"
    assert (root / "nbgrader_config.py").is_file()
    autograded = root / "autograded" / "ann" / "mini" / "mini.ipynb"
    text = autograded.read_text()
    assert "For the TA" in text and "YOUR ANSWER" in text  # the rubric beside the answer
    gb = _gradebook(base / "out")
    try:
        got = {s: {g.name: (g.auto_score, g.needs_manual_grade)
                   for g in gb.find_submission_notebook("mini", "mini", s).grades}
               for s in ("ann", "bob")}
    finally:
        gb.close()
    assert got == {"ann": {"test_mse": (2.0, False), "test_clip01": (3.0, False),
                           "written": (None, True)},
                   "bob": {"test_mse": (0.0, False), "test_clip01": (3.0, False),
                           "written": (None, True)}}
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
    subs = {s["student"]: s for s in api.get_submissions("mini")}  # formgrader's own listing
    assert sorted(subs) == ["ann", "bob"] and subs["ann"]["needs_manual_grade"]


def test_finalize_reads_the_tas_points_and_comment_into_grades_and_feedback(graded):
    base, course = graded
    out = base / "out"
    rows = finalize_grades("mini", out, course=course)
    assert {r["student_id"]: (r["written_score"], r["status"]) for r in rows} == {
        "ann": ("", "graded+written-ungraded"), "bob": ("", "graded+written-ungraded")}
    gb = _gradebook(out)
    try:  # what formgrader's save does when a TA types points and a comment
        gb.find_grade("written", "mini", "mini", "ann").manual_score = 1.0
        gb.find_comment("written", "mini", "mini", "ann").manual_comment = "Clear <and> right."
        gb.db.commit()
    finally:
        gb.close()
    finalize_grades("mini", out, course=course, late_penalty=0.1)
    rows = _rows(out)
    assert [rows["ann"][k] for k in ("code_score", "written_score", "max_written_score",
                                     "raw_total", "total", "max_total", "status")] == [
        "5", "1", "1", "6", "6", "6", "graded"]
    assert rows["bob"]["written_score"] == "" and rows["bob"]["total"] == "3"
    page = (out / "feedback" / "ann" / "mini.html").read_text()
    assert "Clear &lt;and&gt; right." in page and "1 / 1 points" in page
    assert mc.HIDDEN_MARKER not in page
    assert page.count("eep596gan: the TA's grading") == 1  # finalized twice, one section

    # a regrade of ann keeps the TA's points (one test: xdist may run tests on either worker,
    # each with its own copy of the module's fixture, in file order)
    grade("mini", base / "subs", out, course=course, jobs=1, timeout=30, progress=False,
          only=["ann"], preflight=False)
    gb = _gradebook(out)
    try:
        assert gb.find_grade("written", "mini", "mini", "ann").manual_score == 1.0
        assert gb.find_grade("test_mse", "mini", "mini", "ann").auto_score == 2.0
    finally:
        gb.close()
    rows = _rows(out)  # after a finalize, a regrade keeps the written score in the row too
    assert (rows["ann"]["written_score"], rows["ann"]["total"], rows["ann"]["status"]) == (
        "1", "6", "graded")
    assert "Clear &lt;and&gt; right." in (out / "feedback" / "ann" / "mini.html").read_text()


def _chromium() -> str:
    """Debian's chromium, installed with apt-get when it is missing (skip only where it can't)."""
    import os
    import shutil
    import subprocess

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip("no chromium here, and no apt-get as root to install Debian's chromium")
    for command in (["apt-get", "install", "-y", "-q", "chromium"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode == 0 and shutil.which("chromium"):
            return shutil.which("chromium")
    pytest.skip(f"Debian's chromium could not be installed: {done.stderr[-500:]}")


def _playwright():
    import subprocess
    import sys

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "playwright"],
                              capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"the playwright client could not be installed: {done.stderr[-500:]}")
        from playwright.sync_api import sync_playwright
    return sync_playwright


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_ta_grades_a_written_answer_in_formgrader_in_a_browser(graded):
    """Headless Chromium on formgrader's page: points and a comment typed into the written cell
    reach grades.csv and the feedback page through --finalize."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    base, course = graded
    out = base / "out"
    chromium, sync_playwright = _chromium(), _playwright()
    gb = _gradebook(out)
    try:
        submission = gb.find_submission_notebook("mini", "mini", "bob").id
    finally:
        gb.close()
    port, token = _free_port(), "eep596gan-test-token"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={out / 'formgrader'}"],
        cwd=out / "formgrader", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(base / "runtime")})
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"{url}/login")  # the token as a TA types it: formgrader's calls need
            page.fill("input[name=password]", token)  # the login cookie, not ?token= alone
            page.press("input[name=password]", "Enter")
            page.wait_for_load_state("networkidle")
            page.goto(f"{url}/formgrader/submissions/{submission}/")
            page.wait_for_selector("input.score#written", timeout=30_000)
            page.fill("input.score#written", "1")
            page.press("input.score#written", "Tab")
            page.fill("textarea#written-comment", "Right, and well argued.")
            page.press("textarea#written-comment", "Tab")
            page.click("body")
            for _ in range(60):  # formgrader saves in the background
                gb = _gradebook(out)
                try:
                    saved = (gb.find_grade("written", "mini", "mini", "bob").manual_score,
                             gb.find_comment("written", "mini", "mini", "bob").manual_comment)
                finally:
                    gb.close()
                if saved == (1.0, "Right, and well argued."):
                    break
                time.sleep(0.5)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert saved == (1.0, "Right, and well argued.")
    finalize_grades("mini", out, course=course)
    row = _rows(out)["bob"]
    assert (row["written_score"], row["total"], row["max_total"], row["status"]) == (
        "1", "4", "6", "graded")
    page = (out / "feedback" / "bob" / "mini.html").read_text()
    assert "Right, and well argued." in page and mc.HIDDEN_MARKER not in page
