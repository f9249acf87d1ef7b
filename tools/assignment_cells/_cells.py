"""Cell helpers for the assignment modules: markdown, read-only, answer, test and written cells.

Each helper returns a cell spec (a dict) that tools/build_assignment_notebooks.py turns into an
nbgrader cell.
"""

from __future__ import annotations

import textwrap


def _src(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def markdown(cell_id: str, text: str) -> dict:
    """A plain markdown cell."""
    return {"cell_type": "markdown", "id": cell_id, "source": _src(text)}


def locked(cell_id: str, text: str) -> dict:
    """A read-only code cell that nbgrader restores before grading (setup, helpers, plots)."""
    meta = {"grade": False, "solution": False, "locked": True, "grade_id": cell_id,
            "schema_version": 3}
    return {"cell_type": "code", "id": cell_id, "source": _src(text), "nbgrader": meta}


def answer(grade_id: str, text: str) -> dict:
    """A code cell the student fills in: the solution sits between the solution markers."""
    meta = {"grade": False, "solution": True, "locked": False, "grade_id": grade_id,
            "schema_version": 3}
    return {"cell_type": "code", "id": grade_id, "source": _src(text), "nbgrader": meta}


def test(grade_id: str, points: int, text: str) -> dict:
    """An autograded test cell: passes (full points) when it runs without an error."""
    meta = {"grade": True, "solution": False, "locked": True, "points": points,
            "grade_id": grade_id, "schema_version": 3}
    return {"cell_type": "code", "id": grade_id, "source": _src(text), "nbgrader": meta}


RUBRIC_HEADING = "**Rubric ({points} points).**"
MODEL_ANSWER_HEADING = "**Model answer.**"


def written(grade_id: str, points: int, model_answer: str,
            rubric: list[tuple[str, int, str]]) -> dict:
    """A manually graded markdown answer: in the instructor source, a model answer and a rubric.

    `rubric` is one (sub-question, points, what earns them) per sub-question, its points summing
    to `points`. The release replaces the whole cell with "YOUR ANSWER HERE" (nbgrader's
    ClearSolutions), so neither the model answer nor the rubric reaches students.
    """
    total = sum(p for _, p, _ in rubric)
    if total != points or not rubric:
        raise ValueError(f"{grade_id}: the rubric gives {total} points, the cell is worth {points}")
    items = [f"- **({part}) {p} point{'s' if p != 1 else ''}.** {' '.join(_src(text).split())}"
             for part, p, text in rubric]
    source = "\n\n".join([MODEL_ANSWER_HEADING, _src(model_answer),
                           RUBRIC_HEADING.format(points=points), "\n".join(items)])
    meta = {"grade": True, "solution": True, "locked": False, "points": points,
            "grade_id": grade_id, "schema_version": 3}
    return {"cell_type": "markdown", "id": grade_id, "source": source, "nbgrader": meta}


def hidden(visible: str, *blocks: str) -> str:
    """Test source: a visible part, then hidden code (dedented blocks) between the markers."""
    body = "\n\n".join(_src(b) for b in blocks)
    return _src(visible) + "\n### BEGIN HIDDEN TESTS\n" + body + "\n### END HIDDEN TESTS"


def isolated(module: str, reference: str, targets: str, yours: str) -> str:
    """Hidden-test source of `_isolated()`, the guard every hidden block of an assignment runs in.

    Inside it the answer's warnings and output are captured, and the library's reference
    versions (`targets`, an expression over `lib` = `module`) raise, so an answer that delegates
    to them fails.
    """
    return f'''
@contextlib.contextmanager
def _isolated():
    """Capture the answer's warnings and output; make {module}'s {reference}
    raise."""
    def _delegated(*args, **kwargs):
        raise AssertionError("this answer calls {module}: write {yours} yourself")

    saved = {{}}
    try:
        import {module} as lib
        targets = {targets}
    except Exception:  # not importable here: nothing to delegate to
        targets = []
    for fn in targets:
        try:
            saved[fn] = fn.__code__
            fn.__code__ = _delegated.__code__
        except Exception:  # not a plain function (the grader may have wrapped it): leave it alone
            saved.pop(fn, None)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \\
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for fn, code in saved.items():
            fn.__code__ = code
'''


COLAB_INSTALL = '''
# Colab only: install the course library (does nothing elsewhere).
import sys

if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", 'install -q "eep596gan @ git+https://github.com/uw-eep596/eep596gan"')
'''


def colab_install(cell_id: str = "colab-install") -> dict:
    """The first code cell: installs the course library, but only inside Google Colab.

    The same pattern as the lectures' first code cell; read-only, so the grader restores it (and
    outside Colab it does nothing).
    """
    return locked(cell_id, COLAB_INSTALL)


def before_you_submit(assignment: str, check: str, cell_id: str = "end") -> dict:
    """The last cell: run everything again, download the notebook (Colab, JupyterLab), its name.

    `check` says what a clean run shows (e.g. "every visible test should pass").
    The accepted names are those of eep596gan/grading/submissions.py: `<assignment>.ipynb`
    (an LMS may prefix the student's id; `-2` marks a resubmission).
    """
    name = f"{assignment}.ipynb"
    return markdown(cell_id, f"""
        ## Before you submit

        1. **Run it all once more.** Restart the kernel and run every cell (JupyterLab:
           *Kernel → Restart Kernel and Run All Cells…*; Colab: *Runtime → Restart session and run
           all*): {check}.
        2. **Download the notebook.**
           * In **Colab**: *File → Download → Download .ipynb*. (Opened from its badge, the
             notebook is not saved anywhere until you download it or choose *File → Save a copy
             in Drive*; that copy is named `Copy of {name}`: rename the file you download.)
           * In **JupyterLab**: save it (*File → Save Notebook*, Ctrl+S / Cmd+S), then *File →
             Download*, or right-click `{name}` in the file browser and choose *Download*.
        3. **Name it `{name}`**, exactly, and submit that file. The grader looks for this name
           (your LMS may put your id in front of it, and `{assignment}-2.ipynb` counts as a
           resubmission); a file named otherwise, such as `Copy of {name}` or
           `{assignment} (1).ipynb`, is not graded.
        """)


VISIBLE_SETUP = '''

_visible = {}  # part -> [passed, ...] of its visible checks (not graded), for the table at the end


def visible_check(part, what, expected, compute, ok):
    """One visible check (not graded): run compute(), judge ok(result), print PASS/FAIL.

    Never raises: a function that is not written yet, an error or a wrong value is a FAIL line.
    Warnings and printed output of your code are captured.
    """
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \\
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            got = compute()
            passed = bool(ok(got))
    except NotImplementedError:
        got, passed = "not implemented yet", False
    except Exception as error:  # noqa: BLE001 (a visible check reports, it does not stop)
        got, passed = f"{type(error).__name__}: {error}", False
    _visible.setdefault(part, []).append(passed)
    print(f"{'PASS' if passed else 'FAIL'}  {what}\\n      expected {expected}; got {got}")
'''


SETUP_DEVICE = '''
device = get_device()
# graded or tested: several small kernels share a few cores, one thread each is fastest
if quick_mode():
    torch.set_num_threads(1)
print(f"device: {device}; quick mode: {quick_mode()}")
'''


def setup(imports: str, cell_id: str = "setup") -> dict:
    """The read-only setup cell: `imports` (which must bring in torch, get_device and
    quick_mode), the device, one thread per kernel in quick mode, and the visible checks'
    helper (VISIBLE_SETUP)."""
    return locked(cell_id, _src(imports) + "\n" + SETUP_DEVICE + VISIBLE_SETUP)


QUIETLY = '''
def quietly(fn, *args, **kwargs):
    """Call fn(*args, **kwargs) with its warnings and printed output captured."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \\
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)
'''


def test_helpers(extra: str = "", cell_id: str = "test-helpers") -> dict:
    """The read-only cell of helpers the test cells use: `quietly`, then `extra` (dedented)."""
    return locked(cell_id, QUIETLY + ("\n\n" + _src(extra) if extra.strip() else ""))


def visible(cell_id: str, part: str, text: str) -> dict:
    """A read-only cell of visible checks (not graded) of one part, right after its answer cell.

    Its checks call `visible_check(part, ...)` (defined by VISIBLE_SETUP in the setup cell);
    the results go to `_visible[part]`, which the table of `visible_summary` reads.
    """
    header = ("# Visible checks (not graded): the basic contract of your answer. The test cells\n"
              "# below and the hidden tests decide the grade.\n"
              f"PART = {part!r}\n")
    spec = locked(cell_id, header + _src(text))
    spec["part"] = part
    return spec


def visible_summary(cells: list[dict], cell_id: str = "visible-summary") -> dict:
    """The table of the visible checks: each part, its checks passed, the points graded after it.

    A test cell's points count for the part of the last visible-check cell before it (computed
    here, at build time, from the cells' nbgrader metadata).
    """
    points: dict[str, int] = {}
    part = None
    for spec in cells:
        if not isinstance(spec, dict):  # (a placeholder: the summary cell itself)
            continue
        if "part" in spec:
            part = spec["part"]
            points.setdefault(part, 0)
        meta = spec.get("nbgrader", {})
        if spec["cell_type"] == "code" and meta.get("grade") and not meta.get("solution"):
            assert part is not None, f"test cell {meta['grade_id']} comes before any visible check"
            points[part] += meta["points"]
    return locked(cell_id, SUMMARY.replace("POINTS_BY_PART", repr(points)))


SUMMARY = """
# The visible checks of every part (not graded), and the points the graded test cells (mostly
# hidden tests) decide for it.
POINTS = POINTS_BY_PART
print(f"{'part':<28}  {'visible checks passed':>21}  {'points hidden tests decide':>26}")
for part, points in POINTS.items():
    results = _visible.get(part, [])
    print(f"{part:<28}  {f'{sum(results)}/{len(results)}':>21}  {points:>26}")
passed = sum(sum(r) for r in _visible.values())
total = sum(len(r) for r in _visible.values())
print(f"{'total':<28}  {f'{passed}/{total}':>21}  {sum(POINTS.values()):>26}")
"""
