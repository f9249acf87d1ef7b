"""Unit tests of the grader's pure parts: no kernel, no nbgrader run, milliseconds each.

LMS file names, the guard's report parsing and findings, typed verdicts and status precedence,
partial scoring, output capping, feedback scrubbing, reference resolution, the worker protocol.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import minicourse as mc
from nbformat.v4 import new_code_cell, new_notebook

from eep596gan.grading import api, references
from eep596gan.grading.assemble import assemble, grade_ids
from eep596gan.grading.course import Course, generate_release
from eep596gan.grading.feedback import HIDDEN, Scrubber, _scrub_output
from eep596gan.grading.guard import (
    MISSING,
    GuardReport,
    bootstrap_params,
    findings,
    parse_hooks,
    parse_report,
    stage0,
    unhook,
)
from eep596gan.grading.kernel import KernelOptions
from eep596gan.grading.outputs import MAX_FRAME, MAX_FRAMES, MAX_OUTPUTS, Execution, Outputs
from eep596gan.grading.runner import (
    NotebookResult,
    RunOptions,
    finish,
    partial_score,
)
from eep596gan.grading.runner import TestResult as Result
from eep596gan.grading.sandbox import PACKAGE, hidden_paths
from eep596gan.grading.source import SourceNotebook
from eep596gan.grading.student import Job, check_file
from eep596gan.grading.submissions import Submission, collect, load_notebook, parse_flat
from eep596gan.grading.verdict import (
    Finding,
    FindingKind,
    Outcome,
    Status,
    Verdict,
    join_statuses,
    judge_test,
    notebook_status,
)
from eep596gan.grading.worker import job_from_json, job_to_json, sub_from_json, sub_to_json

T, R = FindingKind.TAMPERED, FindingKind.USES_REFERENCE


def _source(name: str = "mini") -> SourceNotebook:
    return SourceNotebook.parse(mc.source_notebooks()[name], Path(f"{name}.ipynb"), name)


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)  # the content says which file was picked


def _picked(subs: list[Submission]) -> dict[str, dict[str, str]]:
    return {s.student_id: {k: p.read_text() for k, p in s.files.items()} for s in subs}


# ------------------------------------------------------------------- LMS file names
@pytest.mark.parametrize("filename, expected", [
    ("doejane_12345_678_mini.ipynb", ("doejane", "mini", (0, 678))),
    ("roefrank_LATE_23456_789_mini.ipynb", ("roefrank", "mini", (0, 789))),
    ("roefrank_LATE_23456_790_mini-1.ipynb", ("roefrank", "mini", (1, 790))),
    ("smith_1_2_mini-10.ipynb", ("smith", "mini", (10, 2))),
    ("doe_12_34_mini_final.ipynb", ("doe", None, (0, 34))),  # Canvas, but another file name
    ("jane_doe_mini.ipynb", ("jane_doe", "mini", (0, 0))),  # flat: <sid>_<notebook>
    ("jane-doe-mini-2.ipynb", ("jane-doe", "mini", (2, 0))),
    ("jane doe mini.ipynb", ("jane doe", "mini", (0, 0))),
    ("doe_mini_torch.ipynb", ("doe", "mini_torch", (0, 0))),  # the longer notebook name first
    ("doe_lab-1.ipynb", ("doe", "lab-1", (0, 0))),  # a notebook named like a resubmission
    ("doe_lab-1-3.ipynb", ("doe", "lab-1", (3, 0))),
    ("doe_notes.ipynb", ("doe_notes", None, (0, 0))),
])
def test_flat_and_canvas_file_names(filename, expected):
    assert parse_flat(filename, ["mini", "mini_torch", "lab-1"]) == expected


def test_the_highest_resubmission_wins_numerically_not_by_name(tmp_path):
    # "-10" sorts before "-9" as text, and its Canvas submission id is the smaller one
    _touch(tmp_path, "smith_1_5_mini-9.ipynb", "smith_1_4_mini-10.ipynb", "smith_1_3_mini.ipynb",
           "doe_LATE_7_8_mini.ipynb", "doe_7_9_mini-1.ipynb")
    subs = collect(tmp_path, ["mini"])
    assert _picked(subs) == {"doe": {"mini": "doe_7_9_mini-1.ipynb"},
                             "smith": {"mini": "smith_1_4_mini-10.ipynb"}}
    assert [s.others for s in subs] == [[], []]


def test_same_resubmission_number_the_later_canvas_submission_wins(tmp_path):
    _touch(tmp_path, "doe_1_999_mini.ipynb", "doe_1_1000_mini.ipynb")  # 1000 sorts first as text
    assert _picked(collect(tmp_path, ["mini"])) == {"doe": {"mini": "doe_1_1000_mini.ipynb"}}


def test_a_wrapper_folder_of_flat_files_is_unwrapped_and_junk_ignored(tmp_path):
    _touch(tmp_path, "export/doe_1_2_mini.ipynb", "export/roe_3_4_mini_v2.ipynb",
           "export/__MACOSX/._doe_1_2_mini.ipynb", "export/.DS_Store")
    subs = collect(tmp_path, ["mini"])
    assert [s.student_id for s in subs] == ["doe", "roe"]
    assert _picked(subs) == {"doe": {"mini": "export/doe_1_2_mini.ipynb"}, "roe": {}}
    assert [p.name for p in subs[1].others] == ["roe_3_4_mini_v2.ipynb"]


def test_student_folders_odd_names_nested_notebooks_and_empty_folders(tmp_path):
    _touch(tmp_path, "subs/jane doe!/mini.ipynb", "subs/.hidden/mini.ipynb",
           "subs/roe/mini/mini.ipynb", "subs/roe/deeper/still/mini.ipynb",
           "subs/roe/scratch.ipynb", "subs/roe/.ipynb_checkpoints/mini-checkpoint.ipynb")
    (tmp_path / "subs" / "nobody").mkdir()
    subs = collect(tmp_path, ["mini"])  # "subs" is a wrapper: it holds only folders
    assert [s.student_id for s in subs] == ["_.hidden", "jane_doe_", "nobody", "roe"]
    picked = _picked(subs)
    assert picked["roe"] == {"mini": "subs/roe/mini/mini.ipynb"}  # the shallowest one
    assert picked["nobody"] == {} and subs[2].others == []
    assert sorted(p.name for p in subs[3].others) == ["mini.ipynb", "scratch.ipynb"]


def test_a_lone_student_folder_is_not_a_wrapper(tmp_path):
    _touch(tmp_path, "doe/mini.ipynb")
    assert _picked(collect(tmp_path, ["mini"])) == {"doe": {"mini": "doe/mini.ipynb"}}


def test_a_student_with_a_folder_and_a_flat_file_is_one_row(tmp_path):
    _touch(tmp_path, "doe/mini.ipynb", "doe_mini.ipynb", "roe_2_3_mini.ipynb",
           "roe_2_4_mini.ipynb")
    subs = collect(tmp_path, ["mini"])
    assert _picked(subs) == {"doe": {"mini": "doe_mini.ipynb"},
                             "roe": {"mini": "roe_2_4_mini.ipynb"}}


@pytest.mark.parametrize("data, status", [
    (b"", Status.EMPTY_FILE), (b"  \n\t\n", Status.EMPTY_FILE),
    (b'{"cells": [', Status.INVALID_NOTEBOOK), (b"\xff\xfe\x00", Status.INVALID_NOTEBOOK),
    (b'{"hello": "world"}', Status.INVALID_NOTEBOOK), (b"[1, 2]", Status.INVALID_NOTEBOOK),
    (b'{"cells": [{"cell_type": "heading", "source": "x"}], "metadata": {}, "nbformat": 4, '
     b'"nbformat_minor": 5}', Status.INVALID_NOTEBOOK),
])
def test_broken_files_get_a_status(tmp_path, data, status):
    path = tmp_path / "mini.ipynb"
    path.write_bytes(data)
    nb, got, detail = load_notebook(path)
    assert (nb, got) == (None, status) and detail.startswith("mini.ipynb ")


def test_an_empty_notebook_and_one_with_a_bom_load(tmp_path):
    path = tmp_path / "mini.ipynb"
    path.write_bytes(b"\xef\xbb\xbf" + nbformat.writes(new_notebook()).encode())
    nb, status, detail = load_notebook(path)
    assert (len(nb.cells), status, detail) == (0, None, "")


# ---------------------------------------------------------- which file a notebook is
def test_check_file_names_the_problem(tmp_path):
    source = _source("mini")
    others = {"answer_d_loss", "test_d_loss", "setup"}  # mini_torch's grade_ids
    _touch(tmp_path, "mini_final.ipynb")
    assert check_file(Submission("a", {}, [tmp_path / "mini_final.ipynb"]), source, others,
                      "mini") == (None, Status.WRONG_FILE_NAME,
                                  "expected mini.ipynb, found mini_final.ipynb")
    assert check_file(Submission("a"), source, others, "mini") == (
        None, Status.MISSING_NOTEBOOK, "no mini.ipynb")
    path = tmp_path / "mini.ipynb"
    nbformat.write(mc.student_notebook("mini_torch"), path)
    assert check_file(Submission("a", {"mini": path}), source, others, "mini") == (
        None, Status.WRONG_ASSIGNMENT, "mini.ipynb is a notebook of another assignment, not mini")
    nbformat.write(new_notebook(), path)  # empty: graded (and scores what the source's tests give)
    nb, status, detail = check_file(Submission("a", {"mini": path}), source, others, "mini")
    assert (len(nb.cells), status, detail) == (0, None, "")


# ------------------------------------------------------------------ guard reports
NONCE = "EEP596GAN-GUARD-0123456789abcdef"


def test_parse_report_takes_only_the_line_with_the_nonce():
    forged = "EEP596GAN-GUARD-ffffffffffffffff {'hashes': {}}"
    out = f"noise\n{forged}\n{NONCE} {{'hashes': {{'mod:math': 7}}, 'mode': 'pre'}}\n"
    report = parse_report(out, NONCE)
    assert (dict(report), report.missing) == ({"hashes": {"mod:math": 7}, "mode": "pre"}, False)
    for bad in ("", forged, f"{NONCE} [1, 2]", f"{NONCE} {{'a': __import__('os')}}",
                f"{NONCE}{{'a': 1}}"):
        assert parse_report(bad, NONCE).missing, bad


def test_parse_hooks_and_unhook():
    assert parse_hooks(f"x\n{NONCE} 1 0\n", NONCE) == (True, False)
    assert parse_hooks(f"{NONCE} 0 1", NONCE) == (False, True)
    assert parse_hooks(f"{NONCE} 1", NONCE) is None and parse_hooks("", NONCE) is None
    assert NONCE in unhook(NONCE) and "NONCE" not in unhook(NONCE)


def test_stage0_packs_the_kernel_source_and_parameters():
    params = bootstrap_params({"numpy"})
    code = stage0(params)
    assert "SRC, PARAMS" not in code and "NAMES" not in code and "__eep596gan_guard__(" in code
    assert "mod:numpy.testing" in params["surface"] and "mod:torch" not in params["surface"]
    assert "cls:torch:Tensor" in bootstrap_params({"torch"})["surface"]
    assert params["mode"] == "bootstrap" and params["nonce"].startswith("EEP596GAN-GUARD-")


def _boot() -> dict:
    return {"hashes": {"mod:numpy": 1, "cls:torch:Tensor": 2, "shell": 3},
            "name_hashes": {"mod:numpy": {"allclose": 10, "isclose": 11},
                            "cls:torch:Tensor": {"__eq__": 20}, "shell": {"run_cell": 30}},
            "state": {"trace": False, "dispatch": 5, "user_ns": 9, "torch_function_modes": 0},
            "ns": {"__builtins__": (1, 2)}}


def _clean(**extra) -> GuardReport:
    report = {"hashes": {"mod:numpy": 1, "cls:torch:Tensor": 2, "shell": 3}, "detail": {},
              "overrides": {}, "state": {"trace": False, "dispatch": 5, "user_ns": 9,
                                         "torch_function_modes": 0, "threads": []},
              "ns": {"__builtins__": (1, 2)}, "violations": []}
    report.update(extra)
    return GuardReport(report)


def test_an_untouched_surface_has_no_findings():
    assert findings(_boot(), _clean()) == []
    assert findings(_boot(), _clean(hashes={}, skipped=True)) == []  # pre right after a post


def test_changed_surface_objects_are_tampering_named_exactly():
    report = _clean(hashes={"mod:numpy": 99, "cls:torch:Tensor": 98, "shell": 3},
                    detail={"mod:numpy": {"allclose": 10, "isclose": 12},
                            "cls:torch:Tensor": {"__eq__": 21}},
                    overrides={"shell": ["showtraceback"]})
    assert findings(_boot(), report) == [
        Finding(T, "numpy.isclose was replaced or modified"),
        Finding(T, "torch.Tensor.__eq__ was replaced or modified"),
        Finding(T, "the IPython shell.showtraceback was added, shadowing the original")]


def test_interpreter_state_and_namespace_changes_are_tampering():
    state = {"trace": True, "dispatch": 6, "user_ns": 8, "torch_function_modes": 1,
             "threads": ["t.T(a)", "t.T(b)", "t.T(c)", "t.T(d)"]}
    report = _clean(state=state, ns={"__builtins__": (3,), "loss": (4,)})
    assert [f.text for f in findings(_boot(), report, {"loss": (5,)})] == [
        "a hook installed with sys.settrace is active", "a torch function mode is active",
        "a kernel was registered over one of torch's comparison or math operators",
        "a background thread started by the notebook is still running",  # names not shown
        "the notebook's namespace was replaced", "__builtins__ was replaced",
        "loss (defined in a read-only cell) could not be restored"]
    assert {f.kind for f in findings(_boot(), report)} == {T}


def test_violations_carry_their_kind_and_a_missing_report_is_tampering():
    report = _clean(violations=[["reference", "train_gan", "eep596gan.train.gan.d_step"],
                                ["patched", "mse", "numpy.allclose"],
                                ["profiler", "mse", "setprofile"], ["new-kind", "mse", "x"],
                                ["reference", "only two"], "garbage"])
    assert findings(_boot(), report) == [
        Finding(R, "train_gan calls eep596gan.train.gan.d_step, the library's reference "
                   "implementation of what this assignment asks you to write"),
        Finding(T, "mse changed numpy.allclose while it ran"),
        Finding(T, "mse changed the interpreter's profiler or tracer (setprofile)"),
        Finding(T, "mse changed the interpreter's profiler or tracer (x)"),
        Finding(T, "the grader's integrity report was malformed"),
        Finding(T, "the grader's integrity report was malformed")]
    assert findings(_boot(), GuardReport(missing=True)) == [Finding(T, MISSING)]


def test_the_kind_decides_not_the_words():
    """A thread (or exception) named like a reference finding is still only tampering."""
    report = _clean(state={**_clean()["state"], "threads": ["reference implementation"]})
    found = findings(_boot(), report)
    assert [f.kind for f in found] == [T]
    verdict = judge_test(found, status="ok", interrupted=False, score=2.0, points=2.0, timeout=5)
    assert verdict.outcome is Outcome.TAMPERED
    failed = judge_test([], status="error", interrupted=False, score=2.0, points=2.0, timeout=5,
                        ename="scored 0", evalue="reference implementation")
    assert failed == Verdict(Outcome.FAILED, 0.0, "scored 0: reference implementation")
    assert notebook_status([failed.outcome], died=False, timed_out=False) is Status.GRADED


# ---------------------------------------------------------------- verdicts and status
def test_judge_test_outcomes_scores_and_messages():
    judge = {"status": "ok", "interrupted": False, "score": 2.0, "points": 2.0, "timeout": 6}
    assert judge_test([], **judge) == Verdict(Outcome.PASSED, 2.0, "")
    assert judge_test([], **{**judge, "score": 0.5}) == Verdict(Outcome.PARTIAL, 0.5, "")
    assert judge_test([], **{**judge, "status": "error", "interrupted": True}) == Verdict(
        Outcome.TIMEOUT, 0.0, "the test ran longer than 6 s and was stopped")
    assert judge_test([], **{**judge, "status": "error", "ename": "AssertionError"}) == Verdict(
        Outcome.FAILED, 0.0, "AssertionError")
    assert judge_test([], **{**judge, "status": "error", "ename": "ValueError",
                             "evalue": "bad"}) == Verdict(Outcome.FAILED, 0.0, "ValueError: bad")
    both = [Finding(T, "a"), Finding(R, "b"), Finding(T, "a")]
    assert judge_test(both, **judge) == Verdict(Outcome.USES_REFERENCE, 0.0, "scored 0: a; b")
    assert judge_test([Finding(T, "a")], **{**judge, "status": "error"}) == Verdict(
        Outcome.TAMPERED, 0.0, "scored 0: a")


@pytest.mark.parametrize("outcomes, died, timed_out, status", [
    ([], False, False, Status.GRADED),
    ([Outcome.PASSED, Outcome.FAILED, Outcome.PARTIAL, Outcome.NOT_RUN], False, False,
     Status.GRADED),
    ([Outcome.TAMPERED, Outcome.PASSED], False, False, Status.TAMPERED),
    ([Outcome.TAMPERED, Outcome.USES_REFERENCE], False, False, Status.USES_REFERENCE),
    ([Outcome.USES_REFERENCE], False, True, Status.TIMEOUT),
    ([Outcome.TIMEOUT], False, True, Status.TIMEOUT),
    ([Outcome.USES_REFERENCE, Outcome.TIMEOUT], True, True, Status.KERNEL_DIED),
    ([Outcome.PASSED], True, False, Status.KERNEL_DIED),
])
def test_status_precedence(outcomes, died, timed_out, status):
    assert notebook_status(outcomes, died=died, timed_out=timed_out) is status


def test_statuses_over_several_notebooks_are_joined_once_in_order():
    S = Status
    assert join_statuses([]) == "graded"
    assert join_statuses([S.GRADED, S.GRADED]) == "graded"
    assert join_statuses([S.GRADED, S.TIMEOUT]) == "timeout"
    assert join_statuses([S.TAMPERED, S.GRADED, S.EMPTY_FILE, S.TAMPERED]) == "tampered+empty-file"
    assert [s.value for s in S] == [
        "graded", "timeout", "kernel-died", "tampered", "uses-reference", "empty-file",
        "invalid-notebook", "wrong-assignment", "wrong-file-name", "missing-notebook",
        "grader-error", "matched-without-metadata"]
    assert join_statuses([S.GRADED, S.MATCHED]) == "matched-without-metadata"


# ------------------------------------------------------------------- partial scoring
def _result(value: str) -> Execution:
    return Execution(outputs=[{"output_type": "stream", "name": "stdout", "text": "9\n"},
                              {"output_type": "execute_result", "data": {"text/plain": value}}])


@pytest.mark.parametrize("source, ex, score", [
    ("check()\n0.5", _result("0.5"), 0.5),
    ("check()\n7", _result("7"), 2.0),  # clipped to the cell's points
    ("-1", _result("-1"), 0.0),
    ("x", _result("'a string'"), 2.0),  # not a number: full points (the cell passed)
    ("assert True", _result("0.5"), 2.0),  # ends in a statement
    ("x =", _result("0.5"), 2.0),  # does not parse
    ("", _result("0.5"), 2.0),
    ("check()", Execution(), 2.0),  # no result shown
])
def test_partial_credit_from_the_last_expression(source, ex, score):
    assert partial_score(source, ex, 2.0) == score


def test_finish_sums_scores_and_explains_tests_that_did_not_run():
    result = NotebookResult("mini", 6.0, tests=[
        Result("a", 2, 2.0, Outcome.PASSED), Result("b", 3, 1.5, Outcome.PARTIAL),
        Result("c", 1, 0.0, Outcome.NOT_RUN), Result("d", 0.5, 0.0, Outcome.NOT_RUN, "kept")])
    finish(result, died=False, timed_out=False)
    assert (result.score, result.status) == (3.5, Status.GRADED)
    assert [t.message for t in result.tests] == [
        "", "", "not run: the kernel died or timed out before this test", "kept"]
    assert finish(NotebookResult("x", 0.0), died=True, timed_out=False).status is (
        Status.KERNEL_DIED)


def test_max_score_is_the_sum_of_the_source_test_points():
    assert (_source("mini").max_score, _source("mini_torch").max_score) == (5.0, 3.0)
    nb = mc.source_notebooks()["mini"]
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")
                or c.cell_type == "markdown"]
    assert SourceNotebook.parse(nb, Path("mini.ipynb"), "mini").max_score == 0.0


def test_the_source_decides_what_runs_not_the_student():
    source = _source("mini")
    student = mc.student_notebook("mini", {"answer_mse": "def mse(x, y):\n    return 0.0"})
    test_cell = mc.cell(student, "test_mse")
    test_cell.source, test_cell.metadata["nbgrader"]["points"] = "assert True", 100
    student.cells.append(new_code_cell("extra = 1"))
    plan = assemble(source, student)
    by_role = {p.spec.grade_id: p.cell.source for p in plan if p.spec is not None}
    assert by_role["test_mse"] == mc.cell(source.nb, "test_mse").source
    assert by_role["answer_mse"] == "def mse(x, y):\n    return 0.0"
    assert [p.role for p in plan][-1] == "plain" and plan[-1].cell.source == "extra = 1"
    assert grade_ids(student)[:3] == ["intro", "imports", "answer_mse"]


# --------------------------------------------------------------------- output capping
def test_streams_are_capped_once_each_with_one_note():
    out = Outputs(max_text=10, max_data=100)
    out.add("stream", {"name": "stdout", "text": "x" * 25})
    out.add("stream", {"name": "stdout", "text": "more"})
    out.add("stream", {"name": "stderr", "text": "e" * 4})
    note = "\n[output truncated by the grader after 10 characters]\n"
    assert out.outputs == [{"output_type": "stream", "name": "stdout", "text": "x" * 10 + note},
                           {"output_type": "stream", "name": "stderr", "text": "eeee"}]
    assert (out.truncated, "".join(out.stdout)) == (19, "x" * 10 + note)


def test_a_stream_exactly_at_the_cap_still_gets_its_note():
    out = Outputs(max_text=10, max_data=100)
    out.add("stream", {"name": "stdout", "text": "a" * 6})
    out.add("stream", {"name": "stdout", "text": "b" * 4})  # merged: exactly 10
    out.add("stream", {"name": "stdout", "text": "c" * 3})
    assert out.outputs[0]["text"] == (
        "a" * 6 + "b" * 4 + "\n[output truncated by the grader after 10 characters]\n")
    assert (len(out.outputs), out.truncated) == (1, 3)


def test_rich_outputs_errors_and_clear_output_are_capped():
    out = Outputs(max_text=5, max_data=10)
    out.add("display_data", {"data": {"text/plain": "123456"}})
    out.add("display_data", {"data": {"text/plain": "1234567"}})  # 13 > 10: dropped
    out.add("execute_result", {"data": {"text/plain": "1234"}, "execution_count": 3})
    out.add("error", {"ename": "E", "evalue": "v" * 9,
                      "traceback": ["f" * (MAX_FRAME + 5)] * (MAX_FRAMES + 5)})
    assert [o["output_type"] for o in out.outputs] == ["display_data", "execute_result", "error"]
    assert out.outputs[1]["execution_count"] == 3 and out.truncated == 7
    error = out.outputs[2]
    assert (error["evalue"], len(error["traceback"]), {len(t) for t in error["traceback"]}) == (
        "vvvvv", MAX_FRAMES, {MAX_FRAME})
    out.add("clear_output", {})
    assert [o["output_type"] for o in out.outputs] == ["error"]


def test_at_most_max_outputs_are_kept():
    out = Outputs(max_text=100, max_data=10**9)
    for i in range(MAX_OUTPUTS + 7):
        out.add("display_data", {"data": {"text/plain": str(i)}})
    assert len(out.outputs) == MAX_OUTPUTS and out.outputs[-1]["data"]["text/plain"] == str(
        MAX_OUTPUTS - 1)


# ------------------------------------------------------------------- feedback scrubbing
def test_scrubber_hides_hidden_test_lines_and_names_but_not_visible_ones():
    scrub = Scrubber(_source("mini"))
    hidden = "assert np.allclose(mse(np.ones(5), np.zeros(5)), 1.0)"
    text = f"ok\n{hidden}\n# {mc.HIDDEN_MARKER}\nassert math.isclose(mse([0, 0], [3, 4]), 12.5)"
    assert scrub(text) == (f"ok\n{HIDDEN}\n# {HIDDEN}\n"
                           "assert math.isclose(mse([0, 0], [3, 4]), 12.5)")
    assert scrub("\x1b[31mred\x1b[0m") == "red"


def test_tracebacks_lose_frames_of_test_cells_and_of_the_guard():
    error = {"output_type": "error", "ename": "AssertionError", "evalue": "",
             "traceback": ["Cell In[4], line 2\n  secret", "Cell In[3], line 1\n  mine",
                           'File "<eep596gan-guard>", line 1']}
    out = _scrub_output(error, Scrubber(_source("mini")), {4})
    assert out["traceback"] == ["Cell In[3], line 1\n  mine"]
    assert _scrub_output({**error, "traceback": error["traceback"][:1]}, Scrubber(_source()),
                         {4})["traceback"] == ["AssertionError: "]


# ------------------------------------------------------------- reference implementations
def _package(root: Path, train_is_package: bool = True) -> Path:
    pkg = root / "eep596gan"
    files = {"__init__.py": "", "losses.py": "def discriminator_loss(a, b):\n    return 0\n"}
    if train_is_package:
        files["train/__init__.py"] = "from .gan import GANTrainer, d_step as d_step\n"
        files["train/gan.py"] = ("from ..losses import discriminator_loss\n\n\n"
                                 "def d_step():\n    pass\n\n\nclass GANTrainer:\n"
                                 "    def fit(self):\n        pass\n")
    else:
        files["train.py"] = "def d_step():\n    pass\n"
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    return pkg


def test_references_resolve_through_re_exports(tmp_path, monkeypatch):
    pkg = _package(tmp_path)
    monkeypatch.setattr(references, "PACKAGE", pkg)
    gan, losses = str((pkg / "train" / "gan.py").resolve()), str((pkg / "losses.py").resolve())
    assert references.resolve("eep596gan.train.gan:d_step") == (
        gan, "d_step", "eep596gan.train.gan.d_step")
    assert references.resolve("eep596gan.train:d_step") == (gan, "d_step", "eep596gan.train.d_step")
    assert references.resolve("eep596gan.train:GANTrainer.fit") == (
        gan, "GANTrainer.fit", "eep596gan.train.GANTrainer.fit")
    assert references.resolve("eep596gan.train.gan:discriminator_loss") == (
        losses, "discriminator_loss", "eep596gan.train.gan.discriminator_loss")
    assert references.resolve("eep596gan.nothing:x") is None
    assert references.resolve("eep596gan.train") is None  # no name
    assert references.same_named({"d_step", "other"}) == [
        (gan, "d_step", "eep596gan.train.gan.d_step")]


def test_a_declared_reference_in_a_missing_module_does_not_resolve(tmp_path, monkeypatch):
    monkeypatch.setattr(references, "PACKAGE", _package(tmp_path, train_is_package=False))
    assert references.resolve("eep596gan.train.gan:d_step") is None
    assert references.resolve("eep596gan.train:d_step")[1:] == ("d_step", "eep596gan.train.d_step")


def test_reference_implementations_come_from_the_notebook_metadata():
    nb = mc.source_notebooks()["mini_torch"]
    nb.metadata["eep596gan"] = {"reference": ["eep596gan.losses:generator_loss_minimax",
                                              "eep596gan.nothing:here"]}
    source = SourceNotebook.parse(nb, Path("mini_torch.ipynb"), "mini_torch")
    losses = str((PACKAGE / "losses.py").resolve())
    assert source.reference_implementations() == [
        (losses, "discriminator_loss", "eep596gan.losses.discriminator_loss"),
        (losses, "generator_loss_minimax", "eep596gan.losses.generator_loss_minimax")]


ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif((PACKAGE / "train.py").is_file(),
                    reason="eep596gan.train is still a module (eep596gan/train/gan.py pending)")
def test_gan_training_declares_references_that_exist():
    source = Course(ROOT).source_notebooks("gan_training")[0]
    assert source.declared_references == ["eep596gan.train.gan:GANTrainer",
                                          "eep596gan.train.gan:d_step",
                                          "eep596gan.train.gan:g_step"]
    for spec in source.declared_references:
        assert references.resolve(spec) is not None, spec
        assert references.resolve(spec.replace(".gan:", ":"))[:2] == references.resolve(spec)[:2]


# ----------------------------------------------------------------- course and worker
def test_assignments_are_the_source_folders(tmp_path):
    root = mc.build_course(tmp_path)
    for extra in (".ipynb_checkpoints", "_drafts"):
        (root / "solutions" / extra).mkdir()
    (root / "solutions" / "notes.txt").write_text("")
    course = Course(root)
    assert course.assignments() == ["mini", "mini_module", "mini_torch"]
    with pytest.raises(FileNotFoundError, match="no assignment 'nope'"):
        generate_release("nope", course)


def test_kept_paths_include_the_data_and_cache_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("EEP596GAN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("EEP596GAN_CACHE", str(tmp_path / "cache"))
    course = Course(mc.build_course(tmp_path / "course"))
    kept = api._kept(course)
    assert kept[-3:] == [course.root / "assignments", tmp_path / "data", tmp_path / "cache"]
    monkeypatch.delenv("EEP596GAN_DATA")
    monkeypatch.delenv("EEP596GAN_CACHE")
    assert api._kept(course)[-2:] == [course.root / "assignments",
                                     Path.home() / ".cache" / "eep596gan"]  # data = cache


def test_hidden_paths_hide_all_but_the_way_to_what_is_kept(tmp_path):
    for name in ("solutions/a", "assignments/a", "out"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "gradebook.db").write_text("")
    hidden = hidden_paths([tmp_path], [tmp_path / "assignments" / "a"], [tmp_path / "out"])
    assert hidden == [str(tmp_path / "gradebook.db"), str(tmp_path / "out"),
                      str(tmp_path / "solutions")]


def test_scores_are_written_like_nbgrader_writes_them():
    assert [api._fmt(x) for x in (5.0, 2.5, 0.0, 1 / 3)] == ["5", "2.5", "0", "0.333333"]


def test_the_worker_protocol_round_trips():
    kernel = KernelOptions(hide=("/a", "/b"), keep_tmp=("/tmp/x",), support="/s",
                           env=(("EEP596GAN_DATA", "/d"),))
    job = Job("/course", "mini", "/out", RunOptions(timeout=6, kernel=kernel, max_restarts=1))
    line = job_to_json(job)
    assert "\n" not in line and job_from_json(line) == job
    sub = Submission("doe", {"mini": Path("/s/doe/mini.ipynb")}, [Path("/s/doe/x.ipynb")])
    assert sub_from_json(sub_to_json(sub)) == sub
    assert json.loads(sub_to_json(sub))["files"] == {"mini": "/s/doe/mini.ipynb"}


# ------------------------------------------------------------ round two (issue 17)
def test_code_prints_match_a_copy_compiled_anywhere_but_not_a_look_alike():
    """The print of the reference, computed from its file, matches the same source compiled
    under another file and function name, alone or in its module, and not an independent
    answer that computes the same expression."""
    import inspect
    import textwrap

    import eep596gan.losses as L
    from eep596gan.grading._kernel_values import _code_print

    forbidden = references.reference_implementations([], {"discriminator_loss"})
    prints = {p for p, label in references.code_prints(forbidden)}
    assert prints and {label for _, label in references.code_prints(forbidden)} == {
        "eep596gan.losses.discriminator_loss"}
    alone = textwrap.dedent(inspect.getsource(L.discriminator_loss)).replace(
        "def discriminator_loss", "def renamed", 1)
    whole = Path(L.__file__).read_text()
    for text, name in ((alone, "renamed"), (whole, "discriminator_loss")):
        ns = dict(vars(L))
        exec(compile(text, "elsewhere.py", "exec"), ns)
        assert _code_print(ns[name].__code__) in prints, name
    ns = dict(vars(L))
    exec(compile('def d(r, f):\n    """Mine."""\n    return 0.5 * F.softplus(-r).mean() + '
                 '0.5 * F.softplus(f).mean()\n', "mine.py", "exec"), ns)
    assert _code_print(ns["d"].__code__) not in prints
    assert _code_print(L.generator_loss_minimax.__code__) not in prints


def test_guard_requests_are_ordered_user_expressions_without_global_names():
    import ast

    from eep596gan.grading.guard import requests

    req = requests("a()", "b()")
    assert list(req) == ["eep596gan0", "eep596gan1"] and list(req.values()) == ["a()", "b()"]
    expr = stage0(bootstrap_params(set()))
    tree = ast.parse(expr, mode="eval")  # an expression: user expressions are eval'd
    free = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - {
        a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args} - {"c"}
    assert free == set(), free  # nothing the notebook could shadow


def test_ipython_changes_in_a_post_report_void_the_test():
    found = findings(_boot(), _clean(ipython=["post_run_cell callbacks"]))
    assert [f.kind for f in found] == [FindingKind.TAMPERED]
    assert "IPython's post_run_cell callbacks changed while the test ran" in found[0].text
    assert findings(_boot(), _clean(ipython=[], ipython_reset=["ast_transformers"])) == []
