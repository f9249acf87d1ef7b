"""Feedback HTML for students: their notebook as it ran, each test's score, nothing hidden.

Hidden tests run inside test cells, so they could leak three ways: the cell's source, a
traceback (IPython prints the failing line and its neighbours), and output the student's code
produced after reading the test's source at run time. The feedback shows each test cell as
students saw it (hidden regions removed), drops traceback frames that belong to test cells, and
scrubs every remaining text for lines and long identifiers that occur only in hidden regions.
"""

from __future__ import annotations

import builtins
import html
import keyword
import re
from functools import cache

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from .runner import NotebookResult
from .source import SourceNotebook

__all__ = ["Scrubber", "feedback_notebook", "render_html", "problem_html"]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_REF = re.compile(r"Cell In\s*\[(\d+)\]")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{7,}")
HIDDEN = "[hidden]"


COMMON = frozenset(dir(builtins)) | frozenset(keyword.kwlist)


def _distinctive(word: str) -> bool:
    """An identifier worth hiding on its own: a made-up name, not a word, builtin or dunder."""
    return (word not in COMMON and not word.startswith("__")
            and ("_" in word or "-" in word or any(ch.isdigit() for ch in word)))


class Scrubber:
    """Removes text that only hidden tests contain."""

    def __init__(self, source: SourceNotebook, also_visible: str = ""):
        visible = "\n".join(
            c.visible_source if c.role == "test" else c.cell.source for c in source.cells)
        visible += "\n" + also_visible  # the student's own code holds nothing they cannot see
        lines = {line.strip() for line in source.hidden_lines}
        self.lines = sorted((x for x in lines if len(x) >= 8 and x not in visible), key=len,
                            reverse=True)
        words = set()
        for line in lines:
            words |= {w for w in WORD.findall(line) if w not in visible and _distinctive(w)}
        ordered = sorted(words, key=len, reverse=True)
        self.words = re.compile("|".join(map(re.escape, ordered))) if words else None

    def __call__(self, text: str) -> str:
        text = ANSI.sub("", text)
        for line in self.lines:
            if line in text:
                text = text.replace(line, HIDDEN)
        return self.words.sub(HIDDEN, text) if self.words else text


def _scrub_output(out: dict, scrub: Scrubber, test_counts: set[int]) -> dict | None:
    out = dict(out)
    kind = out.get("output_type")
    if kind == "stream":
        out["text"] = scrub(out.get("text", ""))
    elif kind == "error":
        frames = []
        for entry in out.get("traceback", []):
            clean = ANSI.sub("", entry)
            refs = {int(n) for n in CELL_REF.findall(clean)}
            if refs & test_counts or "<eep596gan-guard>" in clean:
                continue
            frames.append(scrub(clean))
        ename, evalue = out.get("ename", "Error"), scrub(out.get("evalue", ""))
        out["traceback"] = frames or [f"{ename}: {evalue}"]
        out["evalue"] = scrub(out.get("evalue", ""))
    elif kind in ("display_data", "execute_result"):
        data = dict(out.get("data", {}))
        for mime, value in data.items():
            if mime.startswith("text/") or mime.endswith("json"):
                data[mime] = scrub(value if isinstance(value, str) else "".join(value))
        out["data"] = data
    return out


def _summary(student_id: str, assignment: str, result: NotebookResult) -> str:
    rows = "\n".join(
        f"| `{t.grade_id}` | {t.score:g} / {t.points:g} | {t.outcome.value} |"
        for t in result.tests)
    notes = "".join(f"\n\n> {n}" for n in result.notes)
    return (f"# Feedback: {assignment} / {result.name}.ipynb\n\nStudent: `{student_id}`  \n"
            f"**Autograded score: {result.score:g} / {result.max_score:g}** (status: "
            f"{result.status.value}). Written answers are graded by hand.{notes}\n\n"
            f"| test | score | result |\n|---|---|---|\n{rows}")


def feedback_notebook(student_id: str, assignment: str, source: SourceNotebook,
                      result: NotebookResult) -> nbformat.NotebookNode:
    """The student's executed notebook, annotated with test results and scrubbed of hidden tests."""
    own = "\n".join(p.cell.source for p in result.cells
                    if p.role in ("plain", "solution", "manual"))
    scrub = Scrubber(source, own)
    tests = {t.grade_id: t for t in result.tests}
    test_counts = {p.cell.get("execution_count") for p in result.cells
                   if p.role == "test" and p.cell.get("execution_count") is not None}
    cells = [new_markdown_cell(_summary(student_id, assignment, result))]
    for p in result.cells:
        cell = nbformat.from_dict(dict(p.cell))
        if p.role == "test":
            cell.source = p.spec.visible_source.rstrip() + (
                "\n# (hidden tests ran here)" if p.spec.has_hidden else "")
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(o) for o in
                            (_scrub_output(o, scrub, test_counts) for o in cell.get("outputs", []))]
        cells.append(cell)
        if p.role == "test":
            t = tests[p.spec.grade_id]
            text = (f"**Test `{t.grade_id}`: {t.score:g} / {t.points:g} points — "
                    f"{t.outcome.value}.**")
            if t.message:
                text += " " + scrub(t.message)
            cells.append(new_markdown_cell(text))
    return new_notebook(cells=cells,
                        metadata={"kernelspec": source.nb.metadata.get("kernelspec", {})})


@cache
def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = False
    return exporter


def render_html(nb: nbformat.NotebookNode) -> str:
    body, _ = _exporter().from_notebook_node(nb)
    return body


def problem_html(student_id: str, assignment: str, notebook: str, status: str, detail: str,
                 max_score: float) -> str:
    """A short page for a submission that could not be graded."""
    esc = html.escape
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {esc(assignment)}"
            f"</title></head><body><h1>Feedback: {esc(assignment)} / {esc(notebook)}.ipynb</h1>"
            f"<p>Student: <code>{esc(student_id)}</code></p><p><b>Autograded score: 0 / "
            f"{max_score:g}</b> (status: {esc(status)}).</p><p>{esc(detail)}</p></body></html>")
