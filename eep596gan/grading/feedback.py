"""Feedback HTML for students: what they wrote, the visible cells and the grader's verdicts.

A hidden test's source reaches the kernel with its cell, and from then on any code of the
student's can read it (linecache, the calling frame, its code object) and carry it out in any
encoding: printed, displayed as an image, in an exception's name or message, in a value the
test's own assertion message formats, in a thread's name a guard message quotes, or stashed and
printed by a later cell. Recognising what such output hides cannot work, so nothing tries to.
The rule this page follows:

- every cell's source is shown as the student saw it: their own cells, the read-only cells, and
  each test cell without its hidden regions;
- outputs (and execution counts) are shown only for cells that ran before the first test cell
  with hidden tests: nothing hidden had reached the kernel then (the guard requests before it
  carry the names the cells before it use; of the hidden tests, only which packages they import
  reaches the bootstrap, never their source). They are still scrubbed of hidden lines, and
  traceback frames of test cells are dropped. From that cell on nothing the kernel
  produced is shown, and one note on the page says why;
- each test's verdict is in the grader's own fixed words, chosen by outcome and, for a voided
  test, by finding. A finding names something only from the grader's vocabularies (the graded
  functions, the library's reference implementations, the objects the guard watches, and
  attribute names that the student's own code or a visible cell spells), sorted, at most
  MAX_NAMED distinct named findings per page; anything else gets its finding's generic text.
  What a submission can still steer is its outcomes and which fixed texts appear (a few bits
  per test) and a handful of such names per page: no hidden line fits in that.

The file is longer than 300 lines because the wording must sit with the page it protects: it
recognises every text the guard and the runner write, and keeps nothing else.
"""

from __future__ import annotations

import builtins
import html
import keyword
import re
from functools import cache

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from ._kernel_guard import IPY_LISTS, IPY_OBJECTS, IPY_OWN
from .guard import MISSING, SURFACE_CLASSES, SURFACE_MODULES
from .runner import NotebookResult, TestResult
from .source import SourceNotebook, names_of
from .verdict import VOIDED, Outcome

__all__ = ["Scrubber", "feedback_notebook", "render_html", "problem_html", "verdict_text",
           "LATER_OUTPUTS", "MAX_NAMED"]

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_REF = re.compile(r"Cell In\s*\[(\d+)\]")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{7,}")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DUNDER = re.compile(r"__[a-z][a-z0-9_]*__")
HIDDEN = "[hidden]"
LATER_OUTPUTS = (
    "**Outputs are shown for the cells that ran before the first hidden test, not from here "
    "on.** Code that runs during or after a test cell with hidden tests can read those tests, "
    "so what it printed, displayed or raised stays with the grader; each test's result is given "
    "in the grader's own words.")
MAX_NAMED = 8  # distinct findings per page that name something (see the module docstring)

COMMON = frozenset(dir(builtins)) | frozenset(keyword.kwlist)


def _distinctive(word: str) -> bool:
    """An identifier worth hiding on its own: a made-up name, not a word, builtin or dunder."""
    return (word not in COMMON and not word.startswith("__")
            and ("_" in word or "-" in word or any(ch.isdigit() for ch in word)))


class Scrubber:
    """Removes text that only hidden tests contain (used on outputs from before any hidden test)."""

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


# ------------------------------------------------------------------- the grader's own words
# Texts the runner writes (runner.py; the outcome is typed, these are matched exactly).
DIED = "the kernel died while running this test"
RESTARTED = "the test ran longer than the time limit and the kernel had to be restarted"
NOT_RUN = "not run: the kernel died or timed out before this test"
STOPPED = re.compile(r"the test ran longer than [0-9.e+]+ s and was stopped")  # judge_test's
# guard.py's texts without slots, shown as they are.
FIXED = frozenset([MISSING, "the grader's integrity report was malformed",
                   "a torch function mode is active", "a torch dispatch mode is active",
                   "a kernel was registered over one of torch's comparison or math operators",
                   "the notebook's namespace was replaced", "__builtins__ was replaced"]
                  + [f"a hook installed with {w} is active" for w in (
                      "sys.settrace", "sys.setprofile", "threading.settrace",
                      "threading.setprofile")])
THREAD = "a background thread started by the notebook is still running"
SURFACE = "part of the checking surface (what the tests rely on) was replaced or modified"
REFERENCE = ("a graded function calls the library's reference implementation of what this "
             "assignment asks you to write")
REF_TAIL = ", the library's reference implementation of what this assignment asks you to write"
PATCHED = "a graded function changed the checking surface while it ran"
PROFILER = "a graded function changed the interpreter's profiler or tracer"
RESTORE = "a name defined in a read-only cell could not be restored"
VALUE = ("a graded function returned an object of a class written in the notebook or a "
         "subclass of a value type: return plain numbers, tensors, arrays, lists or dicts")
VALUE_KINDS = {  # what _kernel_wrap's GradedValueError says, after "<function> returned "
    "a numpy array of Python objects": "",
    "a subclass of a value type": ", which could answer comparisons with anything: return plain "
                                  "numbers, tensors, arrays, lists or dicts",
    "an object": " of a class written in the notebook: return plain numbers, tensors, lists or "
                 "dicts"}
RAISED = "your code raised an exception"
IPYTHON = "IPython's extension points changed while the test ran"
IPY_TAIL = " changed while the test ran (code registered there runs around the tests)"
IPY_LABELS = frozenset([*IPY_OBJECTS, *IPY_OWN, *(label for label, _ in IPY_LISTS),
                        "event callbacks"] + [f"{e} callbacks" for e in (
                            "pre_execute", "pre_run_cell", "post_execute", "post_run_cell",
                            "shell_initialized")])
# What the guard labels the objects it watches (guard._label), longest first.
LABELS = sorted({*SURFACE_MODULES, *(f"{m}.{q}" for m, q in SURFACE_CLASSES),
                 "the IPython shell", "the IPython kernel"}, key=len, reverse=True)
CHECK_WHATS = frozenset(["a torch function or dispatch mode", "sys.settrace",
                         "the type of an argument",
                         "a module's parameters into objects of another class"])
WATCHED = re.compile(r"the notebook's name (\w+) \(which the test reads\)")
PROFILER_WHATS = frozenset(["setprofile", "settrace", "threading.setprofile",
                            "threading.settrace"])
WHO = r"(\w+(?:\.\w+)?)"  # a graded function, or a graded class's method (Class.name)
RULES = (  # (pattern of a guard text, method of _Wording that renders its slots)
    (re.compile(WHO + r" changed the interpreter's profiler or tracer \(([\w.]+)\)"), "_profiler"),
    (re.compile(WHO + r" calls ([\w.]+)" + re.escape(REF_TAIL)), "_reference"),
    (re.compile(WHO + r" changed (.+) while it ran"), "_patched"),
    (re.compile(r"(.+) was replaced or modified"), "_replaced"),
    (re.compile(r"(.+) was added, shadowing the original"), "_added"),
    (re.compile(r"IPython's (.+)" + re.escape(IPY_TAIL)), "_ipython"),
    (re.compile(r"(\w+) \(defined in a read-only cell\) could not be restored"), "_restore"),
)


class _Wording:
    """The verdict of each test of one page, in the grader's words (see the module docstring)."""

    def __init__(self, source: SourceNotebook, result: NotebookResult):
        self.source = source
        self.graded = source.graded_names
        own = [p.cell.source for p in result.cells if p.role in ("plain", "solution", "manual")]
        shown = [c.visible_source if c.role == "test" else c.cell.source for c in source.cells]
        self.words = set(IDENT.findall("\n".join(own + shown)))
        self.named: set[str] = set()
        self._refs: set[str] | None = None
        self._names: tuple[set[str], set[str]] | None = None

    def verdict(self, t: TestResult) -> str:
        o, message = t.outcome, t.message
        if o in (Outcome.PASSED, Outcome.PARTIAL):
            return ""  # the outcome says it all
        if o is Outcome.NOT_RUN:
            return NOT_RUN
        if o is Outcome.TIMEOUT:
            return message if message == RESTARTED or STOPPED.fullmatch(message) else "timed out"
        if o is Outcome.FAILED:
            ename = message.partition(":")[0]  # only picks one of the fixed texts
            if message == DIED:
                return DIED
            if ename == "AssertionError":
                return "an assertion did not hold"
            return self._value(message) if ename == "GradedValueError" else RAISED
        found = set()
        for piece in message.removeprefix(VOIDED).split("; "):
            found.add(self._finding(piece))
        ordered = sorted(found, key=lambda f: (f[0] or "", f[1]))  # not set order: hash seeds
        texts = sorted({self._name(text, generic) for text, generic in ordered})
        return VOIDED + "; ".join(texts or [SURFACE if o is Outcome.TAMPERED else REFERENCE])

    def _name(self, text: str | None, generic: str) -> str:
        """A named text while the page's budget of names lasts, else the generic one."""
        if text is None or (text not in self.named and len(self.named) >= MAX_NAMED):
            return generic
        self.named.add(text)
        return text

    def _finding(self, piece: str) -> tuple[str | None, str]:
        if piece in FIXED:
            return piece, piece
        if piece.startswith(THREAD):
            return THREAD, THREAD  # thread names are the notebook's: never shown
        for pattern, method in RULES:
            m = pattern.fullmatch(piece)
            if m:
                return getattr(self, method)(*m.groups())
        return None, SURFACE

    def _surface(self, item: str) -> str | None:
        """A watched object's label, with its attribute when what the student wrote spells it."""
        for label in LABELS:
            if item == label:
                return label
            if item.startswith(label + "."):
                parts = item[len(label) + 1:].split(".")
                if len(parts) <= 2 and all(p in self.words for p in parts):
                    return item
                return f"an attribute of {label}"
        return None

    def _items(self, items: str, verb: str, generic: str) -> tuple[str | None, str]:
        named = [self._surface(i) for i in items.split(", ")]
        if not named or None in named:
            return None, generic
        return ", ".join(sorted(set(named))) + verb, generic

    def _replaced(self, items):
        return self._items(items, " was replaced or modified", SURFACE)

    def _added(self, items):
        return self._items(items, " was added, shadowing the original", SURFACE)

    def _ipython(self, labels):
        items = labels.split(", ")
        ok = all(i in IPY_LABELS for i in items)
        return ("IPython's " + ", ".join(sorted(set(items))) + IPY_TAIL if ok else None), IPYTHON

    def _reference(self, who, what):
        if self._refs is None:
            self._refs = {label for _, _, label in self.source.reference_implementations()}
        ok = self._who(who) and what in self._refs
        return (f"{who} calls {what}{REF_TAIL}" if ok else None), REFERENCE

    def _patched(self, who, what):
        if what.endswith(" (a new attribute)"):
            shown = what if what.removesuffix(" (a new attribute)") in LABELS else None
        elif what.startswith("IPython's "):
            shown = what if what.removeprefix("IPython's ") in IPY_LABELS else None
        elif WATCHED.fullmatch(what):  # a name only a hidden test reads is not named
            shown = (what if WATCHED.fullmatch(what).group(1) in self._visible()[1]
                     else "the notebook's names the test reads")
        else:
            shown = what if what in CHECK_WHATS else self._surface(what)
        ok = self._who(who) and shown is not None
        return (f"{who} changed {shown} while it ran" if ok else None), PATCHED

    def _profiler(self, who, what):
        ok = self._who(who) and what in PROFILER_WHATS
        return (f"{who} changed the interpreter's profiler or tracer ({what})" if ok
                else None), PROFILER

    def _who(self, who: str) -> bool:
        """A graded function, or a method `Class.name` of a graded class or of a class the
        student's or the shown cells spell (a graded class's methods are wrapped one by one)."""
        if who in self.graded:
            return True
        klass, dot, method = who.partition(".")
        return bool(dot) and (klass in self.graded or klass in self.words) and (
            method in self.words or DUNDER.fullmatch(method) is not None)

    def _visible(self) -> tuple[set[str], set[str]]:
        """(names the read-only cells and the visible tests bind, names the visible tests read)."""
        if self._names is None:
            binds, reads = set(), set()
            for c in self.source.cells:
                if c.role == "locked":
                    binds |= c.defines
                elif c.role == "test":
                    b, r, _ = names_of(c.visible_source)
                    binds, reads = binds | b, reads | r
            self._names = binds, reads
        return self._names

    def _restore(self, name):
        ok = name in self._visible()[0]
        return (f"{name} (defined in a read-only cell) could not be restored" if ok
                else None), RESTORE

    def _value(self, message: str) -> str:
        m = re.match(r"GradedValueError: ([\w.]+) returned (" + "|".join(VALUE_KINDS) + ")",
                     message)
        if m is None or not self._who(m.group(1)):
            return VALUE
        who, kind = m.groups()
        return self._name(f"{who} returned {kind}{VALUE_KINDS[kind]}", VALUE)


def verdict_text(source: SourceNotebook, result: NotebookResult) -> dict[str, str]:
    """grade_id -> what feedback says after each test's outcome (the grader's words; "" when
    the outcome is all there is to say: passed, partial credit)."""
    wording = _Wording(source, result)
    return {t.grade_id: wording.verdict(t) for t in result.tests}


# ------------------------------------------------------------------------------ the page
def _summary(student_id: str, assignment: str, result: NotebookResult, scrub: Scrubber) -> str:
    rows = "\n".join(
        f"| `{t.grade_id}` | {t.score:g} / {t.points:g} | {t.outcome.value} |"
        for t in result.tests)
    notes = "".join(f"\n\n> {scrub(n)}" for n in result.notes)  # the grader's own notes
    return (f"# Feedback: {assignment} / {result.name}.ipynb\n\nStudent: `{student_id}`  \n"
            f"**Autograded score: {result.score:g} / {result.max_score:g}** (status: "
            f"{result.status.value}). Written answers are graded by hand.{notes}\n\n"
            f"| test | score | result |\n|---|---|---|\n{rows}")


def feedback_notebook(student_id: str, assignment: str, source: SourceNotebook,
                      result: NotebookResult) -> nbformat.NotebookNode:
    """The student's notebook as graded: sources, outputs from before any hidden test, verdicts."""
    own = "\n".join(p.cell.source for p in result.cells
                    if p.role in ("plain", "solution", "manual"))
    scrub = Scrubber(source, own)
    tests = {t.grade_id: t for t in result.tests}
    verdicts = verdict_text(source, result)
    first_hidden = next((i for i, p in enumerate(result.cells)
                         if p.role == "test" and p.spec.has_hidden), len(result.cells))
    test_counts = {p.cell.get("execution_count") for p in result.cells[:first_hidden]
                   if p.role == "test" and p.cell.get("execution_count") is not None}
    cells = [new_markdown_cell(_summary(student_id, assignment, result, scrub))]
    for i, p in enumerate(result.cells):
        if i == first_hidden:
            cells.append(new_markdown_cell(LATER_OUTPUTS))
        cell = nbformat.from_dict(dict(p.cell))
        if p.role == "test":
            cell.source = p.spec.visible_source.rstrip() + (
                "\n# (hidden tests ran here)" if p.spec.has_hidden else "")
        if cell.cell_type == "code":
            if i < first_hidden:
                cell.outputs = [nbformat.from_dict(_scrub_output(o, scrub, test_counts))
                                for o in cell.get("outputs", [])]
            else:
                cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        if p.role == "test":
            t = tests[p.spec.grade_id]
            cells.append(new_markdown_cell(
                f"**Test `{t.grade_id}`: {t.score:g} / {t.points:g} points — "
                f"{t.outcome.value}.** {verdicts[t.grade_id]}".rstrip()))
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
