"""Feedback pages carry no hidden test in any encoding (feedback.py's rule), and grades stay fair.

One `grade()` call on 2 workers grades an innocent right and an innocent wrong submission next
to right answers that read the hidden tests at call time and try every channel to the page
(tests/grading_fixtures/leak_variants.py). Each row holds the score its honest answers deserve;
every page is decoded every way the attacks encode (hex, base64, zlib, rot13, reversed, one
character per line, lists of byte values, big integers, PNG pixels) and holds no hidden line,
no hidden marker and no name only the hidden tests use. A control runs one submission of each
channel family without the page: what the kernel produced does decode to the hidden tests.
"""

from __future__ import annotations

import base64
import codecs
import csv
import html
import json
import re
import struct
import time
import zlib
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import leak_variants as L
from grading_fixtures import minicourse as mc
from grading_fixtures.decoders import decodings

from eep596gan.grading import grade, runner
from eep596gan.grading.assemble import Planned
from eep596gan.grading.course import find_course
from eep596gan.grading.feedback import LATER_OUTPUTS, MAX_NAMED, verdict_text
from eep596gan.grading.runner import NotebookResult, RunOptions, run_notebook
from eep596gan.grading.source import SourceNotebook
from eep596gan.grading.verdict import VOIDED, Outcome

TIMEOUT = 20  # seconds per cell (the drawn PNG imports matplotlib in a fresh sandbox)
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _leaks(text: str, targets: list[str]) -> set[str]:
    """The targets found in `text` in any of its decodings."""
    return {t for decoded in decodings(text) for t in targets if t in decoded}


# ------------------------------------------------------------------------------ the batch
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("leaks")
    course = L.build_course(base / "course")
    variants = L.innocent_variants() + L.leak_variants()
    for v in variants:
        mc.write_submission(base / "submissions", v.student_id, v.content, v.name)
    start = time.perf_counter()
    grade("mini", base / "submissions", base / "out", course=course, jobs=2, timeout=TIMEOUT,
          progress=False)
    print(f"\n{len(variants)} submissions graded in {time.perf_counter() - start:.1f} s")
    with open(base / "out" / "grades.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return {v.student_id: v for v in variants}, rows, base / "out", course


def _page(out: Path, student: str) -> str:
    return (out / "feedback" / student / "mini.html").read_text()


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.split("<body", 1)[-1]))


def _targets(course: Path, variants, innocent_page: str) -> list[str]:
    """The hidden marker, every hidden line, and each name only the hidden tests use."""
    source = find_course(course).source_notebooks("mini")[0]
    lines = sorted({x.strip() for x in source.hidden_lines if len(x.strip()) >= 12})
    written = "\n".join(c.source for v in variants.values() for c in v.content.cells)
    known = set(IDENT.findall(innocent_page + written))
    names = {w for x in lines for w in IDENT.findall(x) if len(w) >= 5 and w not in known}
    assert {"arange", "linspace", "isinstance"} <= names  # what a leak would show
    return [mc.HIDDEN_MARKER, *lines, *sorted(names)]


def test_every_submission_gets_exactly_what_its_honest_answers_deserve(graded):
    variants, rows, _, _ = graded
    got = {n: (float(r["code_score"]), r["status"]) for n, r in rows.items()}
    want = {n: (v.score, v.status) for n, v in variants.items()}
    assert got == want, {n: (got.get(n), want[n]) for n in want if got.get(n) != want[n]}
    assert all(float(r["max_code_score"]) == L.MAX_SCORE for r in rows.values())


def test_no_page_carries_a_hidden_test_in_any_encoding(graded):
    variants, _, out, course = graded
    targets = _targets(course, variants, _text(_page(out, "innocent-right")))
    blank = _page(out, "innocent-wrong")
    found = {}
    for name in variants:
        page = _page(out, name)
        leaked = _leaks(_text(page), targets) | _leaks(page.split("<body", 1)[-1], targets)
        if leaked:
            found[name] = sorted(leaked)
        # no picture of any text: only the template's own images (its stylesheet's icons)
        assert page.count("<img") == blank.count("<img") and page.count(
            "data:image/") == blank.count("data:image/"), name
    assert not found, found


def test_pages_show_what_the_student_wrote_and_outputs_until_the_first_hidden_test(graded):
    variants, _, out, _ = graded
    right = _text(_page(out, "innocent-right"))
    assert "EARLY-OUTPUT" in right and "LATE-OUTPUT" not in right  # printed before / after
    note = "Outputs are shown for the cells that ran before the first hidden test"
    assert note in LATER_OUTPUTS and right.count(note) == 1
    assert right.index("EARLY-OUTPUT") < right.index(note) < right.index("LATE")
    for line in (L.TEST_EARLY, L.TEST_VISIBLE, L.FINAL, "assert math.isclose(mse([0, 0], [3, 4])"):
        assert line.split("\n")[-1] in right  # visible cells and tests, as students saw them
    assert right.count("(hidden tests ran here)") == 2
    wrong = _text(_page(out, "innocent-wrong"))
    assert "AssertionError" in wrong  # test_early ran before any hidden test: its traceback
    assert "Test test_mse: 0 / 2 points — failed. an assertion did not hold" in wrong
    hostile = _text(_page(out, "leak-print-hex"))
    assert "def mse(x, y):" in hostile and "_enc(text" in hostile  # the student's own code


def test_verdicts_are_the_graders_own_words(graded):
    _, _, out, _ = graded
    expect = {
        "leak-raise-message": "failed. your code raised an exception",
        "leak-raise-class-name": "failed. your code raised an exception",
        "leak-assert-numbers": "failed. an assertion did not hold",
        "leak-class-qualname": "mse returned a subclass of a value type, which could answer",
        "leak-thread-name": "a background thread started by the notebook is still running",
        "leak-forged-findings": "a graded function calls the library's reference implementation",
        "leak-attribute-names": ("an attribute of IPython.core.interactiveshell.InteractiveShell"
                                 " was added, shadowing the original"),
    }
    for name, text in expect.items():
        assert text in _text(_page(out, name)), name
    assert "mse changed an attribute of numpy while it ran" in _text(
        _page(out, "leak-forged-findings"))


def test_control_what_the_kernel_produced_does_decode_to_the_hidden_tests(graded):
    """Without the page's rule the attacks would work: their raw outputs and messages leak."""
    variants, _, _, course = graded
    source = find_course(course).source_notebooks("mini")[0]
    for name in L.control_names():
        result = run_notebook(source, variants[name].content, RunOptions(timeout=TIMEOUT))
        raw = [o.get(k, "") for p in result.cells for o in p.cell.get("outputs", [])
               for k in ("text", "ename", "evalue", "data")]
        raw += [t.message for t in result.tests]
        raw += [p.cell.get("execution_count") for p in result.cells]
        text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in raw)
        assert _leaks(text, [mc.HIDDEN_MARKER]), name


def test_the_decoders_find_each_encoding():
    text = f"BEGIN HIDDEN TESTS\n# {mc.HIDDEN_MARKER}: mse hidden tests\nassert x"
    raw = text.encode()
    png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + bytes(17)
           + struct.pack(">I", len(zlib.compress(b"\0" + raw))) + b"IDAT"
           + zlib.compress(b"\0" + raw) + bytes(4))
    encoded = [raw.hex(), "E" + raw.hex(), base64.b64encode(raw).decode(),
               base64.b64encode(zlib.compress(raw)).decode(), codecs.encode(text, "rot13"),
               text[::-1], "\n".join(text), str(list(raw)), str(int.from_bytes(raw[21:45], "big")),
               f"<pre>{base64.b64encode(png).decode()}</pre>", f"ACTUAL: {[float(b) for b in raw]}"]
    for e in encoded:
        assert _leaks(f"noise {e} noise", [mc.HIDDEN_MARKER]), e


# ------------------------------------------------------------------ the wording, by unit
def _wording(*tests, own: str = "") -> dict[str, str]:
    source = SourceNotebook.parse(mc.source_notebooks()["mini"], Path("mini.ipynb"), "mini")
    result = NotebookResult("mini", 5.0, tests=[runner.TestResult(f"t{i}", 1.0, 0.0, o, m)
                                                for i, (o, m) in enumerate(tests)])
    result.cells = [Planned(nbformat.v4.new_code_cell(own), "solution")]
    return verdict_text(source, result)


def test_verdicts_name_only_what_the_grader_knows_in_a_fixed_order():
    forged = ["math.isclose was replaced or modified", "numpy.h4142 was replaced or modified",
              "the IPython shell.hdeadbeef was added, shadowing the original",
              "a background thread started by the notebook is still running: T(h414243)",
              "h41 calls eep596gan.h42, the library's reference implementation of what this "
              "assignment asks you to write", "mse changed numpy.h43 while it ran",
              "mse changed the notebook's name isinstance (which the test reads) while it ran",
              "IPython's h44 callbacks changed while the test ran (code registered there runs "
              "around the tests)", "something else entirely: 4142"]
    words = _wording((Outcome.TAMPERED, VOIDED + "; ".join(forged)),
                     (Outcome.TAMPERED, VOIDED + "; ".join(reversed(forged))))
    assert words["t0"] == words["t1"]  # the order a kernel reports in carries nothing
    for token in ("4142", "deadbeef", "h41", "h42", "h43", "h44", "isinstance"):
        assert token not in words["t0"], token
    for text in ("math.isclose was replaced or modified",  # a visible test spells isclose
                 "an attribute of numpy was replaced or modified",
                 "an attribute of the IPython shell was added, shadowing the original",
                 "a background thread started by the notebook is still running",
                 "a graded function calls the library's reference implementation",
                 "mse changed an attribute of numpy while it ran",
                 "mse changed the notebook's names the test reads while it ran",
                 "IPython's extension points changed while the test ran"):
        assert text in words["t0"], text


def test_failures_and_timeouts_get_fixed_texts():
    words = _wording((Outcome.FAILED, "E4142: 4344"), (Outcome.FAILED, "AssertionError: got [7]"),
                     (Outcome.FAILED, "GradedValueError: mse returned an object of a class "
                                      "written in the notebook (Qdead): return plain numbers"),
                     (Outcome.TIMEOUT, "the test ran longer than 6 s and was stopped"),
                     (Outcome.TIMEOUT, "4142"), (Outcome.FAILED, "the kernel died while running "
                                                                 "this test"),
                     (Outcome.PASSED, "4142"))
    assert list(words.values()) == [
        "your code raised an exception", "an assertion did not hold",
        "mse returned an object of a class written in the notebook: return plain numbers, "
        "tensors, lists or dicts", "the test ran longer than 6 s and was stopped", "timed out",
        "the kernel died while running this test", ""]


def test_a_page_names_at_most_a_handful_of_things():
    names = [f"attr{i:02d}" for i in range(3 * MAX_NAMED)]  # all spelled by the student's code
    tests = [(Outcome.TAMPERED, VOIDED + f"numpy.{n} was replaced or modified") for n in names]
    words = _wording(*tests, own=" ".join(names))
    named = {w for w in words.values() if "attr" in w}
    assert len(named) == MAX_NAMED
    assert sum("an attribute of numpy" in w or "checking surface" in w
               for w in words.values()) == len(names) - MAX_NAMED
