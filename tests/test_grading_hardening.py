"""`eep596gan grade` against broken, noisy and cheating submissions (issue 6).

Every submission goes through `grade()` on a tiny course (tests/grading_fixtures): one batch
of 100 `mini` students (numpy only, fast kernels) that holds every hardening case plus cheap
fillers, and a batch of `mini_torch` students for torch-specific cheating and delegation to
the library. Each test reads the rows and feedback of the students it is about; the expected
score of each student is what its code deserves (see variants.py).
"""

from __future__ import annotations

import csv
import html
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from grading_fixtures import minicourse as mc
from grading_fixtures import round_two as R2
from grading_fixtures import variants as V
from grading_fixtures.decoders import decodings

from eep596gan.grading import grade
from eep596gan.grading.course import find_course
from eep596gan.grading.runner import RunOptions, run_notebook
from eep596gan.grading.sandbox import package_repo, sandbox_available

TIMEOUT = 6  # seconds per cell in the batches
SANDBOX, WHY_NOT = sandbox_available()


class _Listener:
    """A TCP server on the grader's loopback that records whether anything connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connected = False
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.connected = True
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = mc.build_course(tmp_path_factory.mktemp("course"))
    (root / "gradebook.db").write_text("GRADEBOOK-SECRET-4711")
    return root


def _write(folder: Path, variants: list[V.Variant]) -> None:
    for v in variants:
        if v.content is None:
            (folder / v.student_id).mkdir(parents=True)
        else:
            mc.write_submission(folder, v.student_id, v.content, v.name)


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as f:
        return {r["student_id"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def batch(course, tmp_path_factory):
    """100 `mini` submissions graded in one call on 2 workers: (variants, rows, out, seconds)."""
    base = tmp_path_factory.mktemp("batch")
    subs, out = base / "submissions", base / "out"
    listener = _Listener()
    other = V.Variant("other-student", V.nb(), 5, "graded")
    repo = package_repo() or Path("/nonexistent")
    paths = {"solutions": str(course / "solutions" / "mini" / "mini.ipynb"),
             "gradebook": str(course / "gradebook.db"),
             "other_student": str(subs / "other-student" / "mini.ipynb"),
             "grades": str(out), "repo_solutions": str(repo / "solutions"),
             "repo_tests": str(repo / "tests"), "repo_git": str(repo / ".git"),
             "repo_tools": str(repo / "tools")}
    probe = V.sandbox_probe(paths, listener.port, str(repo / "eep596gan" / "written.txt"),
                            os.getpid())
    variants = V.mini_variants(mc.student_notebook("mini_torch")) + [other, probe]
    variants += R2.mini_variants()
    variants += [V.filler(i) for i in range(100 - len(variants))]
    _write(subs, variants)
    start = time.perf_counter()
    rows = grade("mini", subs, out, course=course, jobs=2, timeout=TIMEOUT, progress=False)
    seconds = time.perf_counter() - start
    listener.close()
    print(f"\n100 mini submissions graded in {seconds:.1f} s with jobs=2")
    return {v.student_id: v for v in variants}, rows, out, seconds, listener, paths


@pytest.fixture(scope="module")
def torch_batch(course, tmp_path_factory):
    base = tmp_path_factory.mktemp("torch_batch")
    variants = V.torch_variants() + R2.torch_variants()
    _write(base / "submissions", variants)
    grade("mini_torch", base / "submissions", base / "out", course=course, jobs=2, timeout=30,
          progress=False)
    return {v.student_id: v for v in variants}, _rows(base / "out"), base / "out"


def _feedback(out: Path, student: str, notebook: str = "mini") -> str:
    """The text of a feedback page (tags removed, entities decoded)."""
    return _text((out / "feedback" / student / f"{notebook}.html").read_text())


def _text(page: str) -> str:
    body = page.split("<body", 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def _check(variants, rows, names):
    """Each student's row holds the score and status its submission deserves."""
    for name in names:
        v, row = variants[name], rows[name]
        assert (float(row["code_score"]), row["status"]) == (v.score, v.status), (name, row)


# ---------------------------------------------------------------------------- the batch
@pytest.mark.slow
def test_batch_of_100_mixed_submissions_gets_100_rows_each_deserved(batch):
    variants, rows, out, seconds, _, _ = batch
    assert len(rows) == 100 and len(_rows(out)) == 100
    with open(out / "grades.csv", newline="") as f:
        assert next(csv.reader(f)) == ["student_id", "assignment", "lms_user_id",
                                       "lms_submission_id", "code_score", "max_code_score",
                                       "written_score", "max_written_score", "late", "penalty",
                                       "raw_total", "total", "max_total", "status"]
    assert all(r["max_code_score"] == 5.0 and r["assignment"] == "mini" for r in rows)
    assert all(r["max_code_score"] == "5" for r in _rows(out).values())
    _check(variants, _rows(out), variants)
    assert all((out / "feedback" / r["student_id"] / "mini.html").is_file() for r in rows)


def test_batch_uses_two_workers_at_once(batch):
    _, _, out, _, _, _ = batch
    with open(out / "timings.csv", newline="") as f:
        spans = [(r["worker"], float(r["start"]), float(r["start"]) + float(r["seconds"]))
                 for r in csv.DictReader(f)]
    assert len({w for w, _, _ in spans}) == 2
    overlap = sum(1 for w1, s1, e1 in spans for w2, s2, e2 in spans
                  if w1 < w2 and s1 < e2 and s2 < e1)
    assert overlap >= 20  # the two workers grade side by side, not one after the other


# -------------------------------------------------------------- 1-3: tests come from the source
def test_tags_that_nbclient_honours_do_not_skip_tests(batch):
    variants, rows, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows}, ["tag-skip", "tag-skip-right"])


def test_edited_blanked_deleted_retyped_or_stripped_tests_run_as_written(batch):
    variants, rows, *_ = batch
    names = ["test-edited", "test-blanked", "test-deleted", "test-retyped", "test-no-metadata",
             "test-duplicated", "reordered", "answer-no-metadata"]
    _check(variants, {r["student_id"]: r for r in rows}, names)


def test_raised_points_and_unlocked_cells_change_nothing(batch):
    variants, rows, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows},
           ["points-raised", "test-unlocked", "locked-edited"])


# ------------------------------------------------------------------ 4: patched checks
MINI_ATTACKS = ["patch-numpy", "patch-builtins", "patch-reporting", "patch-settrace",
                "patch-thread", "patch-during-call", "patch-execution-result", "shadow-names",
                "legit-shadows"]


def test_patched_checking_functions_cannot_make_a_test_pass(batch):
    variants, rows, out, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows}, MINI_ATTACKS)
    expected = {"patch-numpy": "numpy.allclose", "patch-builtins": "builtins.AssertionError",
                "patch-reporting": "showtraceback", "patch-settrace": "sys.settrace",
                "patch-thread": "background thread", "patch-during-call": "mse changed",
                "patch-execution-result": "ExecutionResult.success"}
    for name, what in expected.items():
        assert what in _feedback(out, name), name


def test_patched_torch_checks_cannot_make_a_test_pass(torch_batch):
    variants, rows, out = torch_batch
    names = ["t-solution", "t-patch-module", "t-patch-tensor", "t-function-mode",
             "t-patch-at-call", "t-lying-subclass", "t-kernel-override"]
    _check(variants, rows, names)
    expected = {"t-patch-module": "torch.testing.assert_close",
                "t-patch-tensor": "torch.Tensor.__eq__",
                "t-function-mode": "torch function mode", "t-patch-at-call": "torch.allclose",
                "t-lying-subclass": "subclass", "t-kernel-override": "kernel was registered"}
    for name, what in expected.items():
        assert what in _feedback(out, name, "mini_torch"), name


def test_the_attacks_are_real_without_the_guard(course):
    """Control: graded without the guard, these submissions would score more than they deserve."""
    by_name = {v.student_id: v for v in V.mini_variants(None) + V.torch_variants()
               + R2.mini_variants() + R2.torch_variants()}
    c = find_course(course)
    for name in ["patch-numpy", "patch-during-call", "patch-execution-result", "t-patch-module",
                 "t-delegate-call", "r2-post-run-cell", "r2-rebind-at-call", "r2-lying-array",
                 "r2-t-compiled-function"]:
        v = by_name[name]
        source = c.source_notebooks(v.name.removesuffix(".ipynb"))[0]
        unguarded = run_notebook(source, v.content, RunOptions(timeout=30, guard=False))
        assert unguarded.score > v.score, name


# ----------------------------------------------------------- 5: delegating to the library
def test_delegating_to_the_library_scores_zero_on_those_tests_with_feedback(torch_batch):
    variants, rows, out = torch_batch
    names = ["t-delegate-alias", "t-delegate-call", "t-delegate-copy", "t-delegate-reload"]
    _check(variants, rows, names)  # 0 for test_d_loss; test_scaled (allowed library use) counts
    for name in names:
        page = _feedback(out, name, "mini_torch")
        assert ("calls eep596gan.losses.discriminator_loss, the library's reference "
                "implementation") in page


# ------------------------------------------------- round two (issue 17): hooks, names, liars
R2_INNOCENT = ["r2-innocent-right", "r2-innocent-wrong"]


def test_ipython_extension_points_cannot_rewrite_a_test_or_its_verdict(batch):
    """Transformers, event callbacks and exception handlers registered by student code are put
    back as bootstrap found them before each test; one registered during a test voids it."""
    variants, rows, out, *_ = batch
    names = [v.student_id for v in R2.ipython_variants()]
    _check(variants, {r["student_id"]: r for r in rows}, names + R2_INNOCENT)
    assert "mse changed IPython's post_run_cell callbacks while it ran" in _feedback(
        out, "r2-post-run-cell-at-call")


def test_a_graded_call_cannot_rebind_the_names_the_test_reads(batch):
    variants, rows, out, *_ = batch
    names = [v.student_id for v in R2.name_variants()]
    _check(variants, {r["student_id"]: r for r in rows}, names + R2_INNOCENT)
    assert "mse changed the notebook's name" in _feedback(out, "r2-rebind-at-call")
    assert "clip01 changed the notebook's name" in _feedback(out, "r2-rebind-caller-globals")


def test_returned_values_are_judged_by_their_type_not_their_label(batch, torch_batch):
    variants, rows, out, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows}, ["r2-lying-array"] + R2_INNOCENT)
    assert "a subclass of a value type" in _feedback(out, "r2-lying-array")
    variants, rows, out = torch_batch
    _check(variants, rows, ["r2-t-lying-library-label", "r2-t-right", "r2-t-wrong"])
    assert "a subclass of a value type" in _feedback(out, "r2-t-lying-library-label", "mini_torch")


def test_the_reference_compiled_under_another_name_is_still_the_reference(torch_batch):
    """Recognised by its code's print; a right answer written like it is not a copy."""
    variants, rows, out = torch_batch
    names = ["r2-t-compiled-copy", "r2-t-compiled-function", "r2-t-like-reference",
             "r2-t-right", "r2-t-wrong"]
    _check(variants, rows, names)
    for name in names[:2]:
        assert ("calls eep596gan.losses.discriminator_loss, the library's reference "
                "implementation") in _feedback(out, name, "mini_torch")


def test_feedback_carries_no_hidden_test_in_any_encoding(batch):
    """Right answers that print, display, raise, name a thread after or stash and later print
    the hidden tests they read at call time: their honest scores, and nothing of the hidden
    tests on any page, decoded every way the attacks encoded it."""
    variants, rows, out, *_ = batch
    names = [v.student_id for v in R2.leak_variants()]
    _check(variants, {r["student_id"]: r for r in rows}, names + R2_INNOCENT)
    hidden = [V.HIDDEN_MARKER, "mse hidden tests", "np.testing.assert_allclose(mse(np.arange"]
    for name in names + ["leak-hidden"]:
        page = (out / "feedback" / name / "mini.html").read_text()
        for decoded in decodings(_text(page)) + decodings(page):
            for line in hidden:
                assert line not in decoded, (name, line)


def test_the_decoder_finds_a_line_in_every_encoding_the_leaks_use():
    """Control for the test above: each encoding the leak variants print is decoded back."""
    import base64
    import codecs
    import zlib

    line = "# " + V.HIDDEN_MARKER + ": mse hidden tests"
    raw = line.encode()
    for encoded in (raw.hex(), base64.b64encode(raw).decode(),
                    base64.b64encode(zlib.compress(raw)).decode(), codecs.encode(line, "rot13"),
                    line[::-1], "\n".join(line), str(list(raw))):
        page = f"<pre>some output\n{encoded}\nmore</pre>"
        assert any(V.HIDDEN_MARKER in d for d in decodings(page)), encoded
    assert not any(V.HIDDEN_MARKER in d for d in decodings("<pre>deadbeef00 plain text</pre>"))


# ------------------------------------------------------------------------- 6: the sandbox
@pytest.mark.skipif(not SANDBOX, reason=f"no namespace sandbox here: {WHY_NOT}")
def test_student_code_cannot_read_secrets_write_connect_or_signal(batch):
    variants, rows, out, _, listener, paths = batch
    _check(variants, {r["student_id"]: r for r in rows}, ["sandbox-probe"])
    line = re.search(r"PROBES (\{.*?\})", _feedback(out, "sandbox-probe")).group(1)
    probes = dict(re.findall(r"'(\w+)': '([^']*)'", line))
    for label in paths:  # missing, an empty folder over it, or /dev/null over a file
        assert probes[label].startswith("blocked") or probes[label] in ("listed:", "READ:"), (
            label, probes[label])
    assert probes["loopback"].startswith("blocked") and not listener.connected
    assert probes["internet"].startswith("blocked")
    assert probes["write"].startswith("blocked")
    assert probes["grader_pid"].startswith("blocked")
    assert int(probes["processes"]) < 10
    for page in (out / "feedback").rglob("*.html"):
        text = page.read_text()
        assert "GRADEBOOK-SECRET-4711" not in text


# --------------------------------------------------------------- 7-8: loops and dead kernels
def test_infinite_loops_are_stopped_and_later_tests_still_run(batch):
    variants, rows, out, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows}, ["loop", "loop-ignores-interrupt"])
    assert f"ran longer than {TIMEOUT} s" in _feedback(out, "loop")


def test_a_dead_kernel_still_yields_a_row_out_of_the_real_maximum(batch):
    variants, rows, out, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows},
           ["os-exit", "segfault", "abort", "exit-at-definition", "memory-hog"])
    assert "the kernel died" in _feedback(out, "os-exit")


# --------------------------------------------------------------------- 9: broken files
def test_broken_files_get_a_row_with_zero_and_the_reason(batch):
    variants, rows, out, *_ = batch
    names = ["empty-file", "blank-file", "invalid-json", "not-utf8", "json-not-notebook",
             "wrong-assignment", "wrong-file-name", "missing-notebook"]
    _check(variants, {r["student_id"]: r for r in rows}, names)
    assert "mini_final.ipynb" in _feedback(out, "wrong-file-name")


# ------------------------------------------------------------------------- 10: noise
def test_a_noisy_right_answer_gets_full_marks_and_small_feedback(batch):
    variants, rows, out, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows}, ["noisy", "solution"])
    noisy, plain = (out / "feedback" / n / "mini.html" for n in ("noisy", "solution"))
    assert noisy.stat().st_size < plain.stat().st_size + 400_000  # a million lines, capped
    assert "output truncated by the grader" in noisy.read_text()


# ------------------------------------------------------------------ 11: hidden tests stay hidden
def test_feedback_never_shows_hidden_tests(batch):
    variants, rows, out, *_ = batch
    _check(variants, {r["student_id"]: r for r in rows}, ["leak-hidden"])
    pages = list((out / "feedback").rglob("*.html"))
    assert len(pages) == 100
    for page in pages:
        assert V.HIDDEN_MARKER not in page.read_text(), page
    leak = _feedback(out, "leak-hidden")
    assert "np.allclose(mse(np.ones(5), np.zeros(5)), 1.0)" not in leak  # the failing hidden line
    assert "assert math.isclose(mse([0, 0], [3, 4]), 12.5)" in leak  # visible tests stay
    assert "mse hidden tests" not in leak and "computing" not in leak
    assert "Outputs are shown for the cells that ran before the first hidden test" in leak


# ------------------------------------------------------------- zip downloads and the CLI
def test_cli_grades_an_lms_zip(course, tmp_path):
    zpath = tmp_path / "download.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("submissions/doejane_12345_678_mini.ipynb", _nb_text(V.nb()))
        z.writestr("submissions/roefrank_LATE_23456_789_mini.ipynb",
                   _nb_text(V.nb(mse=V.MSE_WRONG)))
        z.writestr("submissions/roefrank_LATE_23456_790_mini-1.ipynb", _nb_text(V.nb()))
        z.writestr("submissions/smithann_34567_890_mini.ipynb", "")
        z.writestr("submissions/__MACOSX/._junk", "x")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "eep596gan.grading", "mini", "--submissions",
                           str(zpath), "--out", str(out), "--course", str(course),
                           "--no-progress"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert str(out / "grades.csv") in done.stdout
    rows = _rows(out)
    assert {k: (r["code_score"], r["status"]) for k, r in rows.items()} == {
        "doejane": ("5", "graded"), "roefrank": ("5", "graded"), "smithann": ("0", "empty-file")}


def _nb_text(nb) -> str:
    import nbformat

    return nbformat.writes(nb)


def test_max_score_comes_from_the_source_not_the_submission(course):
    source = find_course(course).source_notebooks("mini")[0]
    assert source.max_score == 5.0  # 2 + 3; the written answer (1 point) is graded by hand
