"""The autograded assignments: assignments/ is a fresh generate_assignment of solutions/, leaks no
solution and no hidden test, and nbgrader's Validator passes the solutions and fails every test
cell of the release stubs (`nbgrader validate` exits 0 either way, so the Validator class is used).

The assignments are the folders of solutions/ (`Course.assignments()`); each has a cells module in
tools/assignment_cells/ and a variants module in tests/submissions/."""

from __future__ import annotations

import importlib.util
import re
import shutil

import nbformat
import pytest
from submissions import (
    ROOT,
    VARIANTS,
    expected_failures,
    make_submission,
    points_by_test,
    release_path,
    source_path,
)

from eep596gan.grading.course import Course

ASSIGNMENTS = tuple(Course(ROOT).assignments())
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def _tool(name: str):
    """Import tools/<name>.py (the tools folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _read(path):
    return nbformat.read(path, as_version=4)


def test_every_assignment_has_cells_and_submission_variants():
    cells = _tool("build_assignment_notebooks").ASSIGNMENTS
    assert len(ASSIGNMENTS) >= 2
    assert sorted(cells) == list(ASSIGNMENTS), "one tools/assignment_cells/<name>.py per assignment"
    assert sorted(VARIANTS) == list(ASSIGNMENTS), "one tests/submissions/<name>.py per assignment"


def test_solutions_are_what_the_build_script_writes():
    assert _tool("build_assignment_notebooks").main(["--check"]) == 0, (
        "solutions/ is stale: run .venv/bin/python tools/build_assignment_notebooks.py")


def test_release_is_a_fresh_generate_assignment_of_the_solutions(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    _tool("generate_assignments").generate(ASSIGNMENTS, root=tmp_path)
    assert not (tmp_path / "gradebook.db").exists(), (
        "generate_assignment left a gradebook in the course")
    for assignment in ASSIGNMENTS:
        fresh_dir = tmp_path / "assignments" / assignment
        committed_dir = ROOT / "assignments" / assignment
        assert (sorted(p.name for p in fresh_dir.iterdir())
                == sorted(p.name for p in committed_dir.iterdir()))
        fresh, committed = _read(fresh_dir / f"{assignment}.ipynb"), _read(release_path(assignment))
        assert fresh.metadata == committed.metadata
        assert len(fresh.cells) == len(committed.cells), (
            f"{assignment}: regenerate with tools/generate_assignments.py")
        for new, old in zip(fresh.cells, committed.cells, strict=True):
            where = (f"{assignment}, cell {old.get('id')}: regenerate with "
                     "tools/generate_assignments.py")
            assert ((new.cell_type, new.source, new.metadata)
                    == (old.cell_type, old.source, old.metadata)), where
            assert not old.get("outputs"), f"{assignment}, cell {old.get('id')} has stored outputs"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_and_no_hidden_test(assignment):
    source, release = _read(source_path(assignment)), _read(release_path(assignment))
    public, secret = set(), set()
    for cell in source.cells:
        text = cell.source
        if cell.cell_type == "markdown" and _nbgrader(cell).get("solution"):
            secret.update(text.splitlines())  # a model answer to a written question
            continue
        for _, region in REGION.findall(text):
            secret.update(region.splitlines())
        public.update(REGION.sub("", text).splitlines())
    # lines that also occur outside the solution and hidden regions (blank lines, imports) are
    # public
    secret = {line.strip() for line in secret} - {line.strip() for line in public} - {""}
    assert len(secret) > 100, "the source notebook should hold solutions and hidden tests"
    for cell in release.cells:
        for marker in MARKERS:
            assert marker not in cell.source, (
                f"{assignment}, cell {cell.get('id')}: {marker!r} left in the release")
        leaked = secret & {line.strip() for line in cell.source.splitlines()}
        assert not leaked, (f"{assignment}, cell {cell.get('id')} shows solution or hidden-test "
                            f"code: {sorted(leaked)[:3]}")
        if cell.cell_type == "markdown" and _nbgrader(cell).get("solution"):
            assert cell.source == "YOUR ANSWER HERE"
    answers = [c for c in release.cells if _nbgrader(c).get("solution") and c.cell_type == "code"]
    assert answers and all("raise NotImplementedError()" in c.source for c in answers)


RUBRIC_ITEM = re.compile(r"^- \*\*\((\w)\) (\d+) points?\.\*\* \S", re.M)
ASKED = re.compile(r"\*\*\((\w)\) (\d+) points?\.\*\*")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_written_answer_has_a_model_answer_and_a_rubric_by_sub_question(assignment):
    """In the instructor source only: the question states each sub-question's points, and the
    answer cell holds a model answer and a rubric giving the same points to the same parts."""
    cells = _read(source_path(assignment)).cells
    written = [i for i, c in enumerate(cells)
               if c.cell_type == "markdown" and _nbgrader(c).get("solution")]
    assert written, f"{assignment} has no written question"
    for i in written:
        cell, points = cells[i], _nbgrader(cells[i])["points"]
        where = f"{assignment}/{_nbgrader(cell)['grade_id']}"
        model, _, rubric = cell.source.partition(f"**Rubric ({points} points).**")
        assert model.startswith("**Model answer.**") and len(model) > 300 and rubric, (
            f"{where}: a model answer, then a rubric headed with the cell's {points} points")
        items = [(part, int(p)) for part, p in RUBRIC_ITEM.findall(rubric)]
        assert items and sum(p for _, p in items) == points, f"{where}: rubric items {items}"
        asked = [(part, int(p)) for part, p in ASKED.findall(cells[i - 1].source)]
        assert asked == items, (
            f"{where}: the question asks for {asked}, the rubric grades {items}")
        for part, _ in items:
            assert f"({part})" in model, f"{where}: the model answer has no part ({part})"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_model_answer_and_no_rubric(assignment):
    text = "\n".join(c.source for c in _read(release_path(assignment)).cells)
    for heading in ("Model answer", "Rubric ("):
        assert heading not in text, f"{assignment}: {heading!r} in the release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_is_locked_and_worth_points(assignment):
    release = _read(release_path(assignment))
    tests = [c for c in release.cells if _nbgrader(c).get("grade") and c.cell_type == "code"]
    assert [_nbgrader(c)["grade_id"] for c in tests] == list(points_by_test(assignment))
    for cell in tests:
        meta = _nbgrader(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] > 0 and meta["checksum"]


def _validate(path, monkeypatch) -> dict:
    from nbgrader.validator import Validator

    monkeypatch.setenv("MPLBACKEND", "Agg")
    return Validator().validate(str(path))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validator_passes_the_solution(assignment, monkeypatch):
    results = _validate(source_path(assignment), monkeypatch)
    failed = [r["source"].splitlines()[0] + "\n" + r["raw_error"][-800:]
              for r in results.get("failed", [])]
    assert not failed and set(results) <= {"failed"}, failed or results


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validator_fails_every_test_of_the_release(assignment, monkeypatch):
    results = _validate(release_path(assignment), monkeypatch)
    assert "changed" not in results and "type_changed" not in results, results
    failed = {r["source"] for r in results.get("failed", [])}
    release = _read(release_path(assignment))
    tests = {c.source.strip() for c in release.cells
             if _nbgrader(c).get("grade") and c.cell_type == "code"}
    assert len(tests) == len(points_by_test(assignment))
    assert tests <= failed, f"test cells that pass on the stubs: {sorted(tests - failed)}"
    assert failed - tests <= {"YOUR ANSWER HERE"}, (
        "besides the tests, only unanswered written questions fail")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_submission_variants_are_python_and_name_real_test_cells(assignment):
    """The grading round trip runs these; here only that each compiles and says what it expects."""
    kinds = {"full marks": 0, "zero": 0, "planted": 0}
    for variant, (_, expected) in VARIANTS[assignment].items():
        nb = make_submission(assignment, variant)
        for cell in nb.cells:
            if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
                where = f"{assignment}/{variant}/{_nbgrader(cell)['grade_id']}"
                compile(cell.source, where, "exec")
        failing = expected_failures(assignment, variant)  # raises on an unknown grade_id
        kinds[expected if isinstance(expected, str) else "planted"] += 1
        if not isinstance(expected, str):
            assert failing and failing != set(points_by_test(assignment)), f"{variant}: say 'zero'"
    assert kinds["planted"] >= 10 and kinds["full marks"] >= 5 and kinds["zero"] >= 1, kinds


VISIBLE_ROW = re.compile(r"^(?P<part>\S.*?)\s{2,}(?P<passed>\d+)/(?P<total>\d+)\s+(?P<points>\d+)$")


def _visible_checks(path, monkeypatch, allow_errors: bool):
    """Run a notebook (quick mode) top to bottom; its PASS/FAIL lines and its table's rows."""
    from nbclient import NotebookClient

    monkeypatch.setenv("EEP596GAN_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = _read(path)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                lines += output["text"].splitlines()
            if cell.get("id", "").startswith("check_") and output.get("name") == "stderr":
                raise AssertionError(f"{path.name}, cell {cell.id} wrote to stderr")
    checks = [line for line in lines if line.startswith(("PASS  ", "FAIL  "))]
    rows = {m["part"]: (int(m["passed"]), int(m["total"]), int(m["points"]))
            for m in map(VISIBLE_ROW.match, lines) if m}
    return checks, rows


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_visible_checks_fail_on_the_stubs_and_pass_on_the_solution(assignment, monkeypatch):
    points = sum(points_by_test(assignment).values())
    for path, passing in ((release_path(assignment), False), (source_path(assignment), True)):
        # the release's test cells raise on the stubs; its visible checks report and go on
        checks, rows = _visible_checks(path, monkeypatch, allow_errors=not passing)
        assert "total" in rows and len(rows) >= 2, f"{path.name}: no table of visible checks"
        total = rows.pop("total")
        assert total[1] == len(checks) >= 4 * len(rows), (path.name, checks)
        assert sum(r[1] for r in rows.values()) == total[1] and total[2] == points
        assert sum(r[2] for r in rows.values()) == points
        if passing:
            assert all(line.startswith("PASS") for line in checks), checks
            assert all(r[0] == r[1] > 0 for r in rows.values()), rows
        else:
            assert all(line.startswith("FAIL") for line in checks), checks
            assert all(r[0] == 0 < r[1] for r in rows.values()), rows


def _answer_definitions(source: str) -> dict[str, str]:
    """name -> a print of each function or class a cell defines, at any depth: its AST with
    every identifier and argument name replaced by its order of first use, docstrings left out
    (so a renamed copy has the same print)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        body = [s for s in node.body if not (isinstance(s, ast.Expr)
                                             and isinstance(s.value, ast.Constant)
                                             and isinstance(s.value.value, str))]
        if not body:
            continue
        names: dict[str, str] = {}
        renamed = ast.parse(ast.unparse(ast.Module(body, [])))
        for sub in ast.walk(renamed):
            for field in ("id", "arg"):  # variables and arguments; attributes (.exp) stay
                value = getattr(sub, field, None)
                if isinstance(value, str):
                    setattr(sub, field, names.setdefault(value, f"v{len(names)}"))
        out[node.name] = ast.dump(renamed)
    return out


def test_lectures_hold_no_copy_ready_answer():
    """No lecture defines a function or class named like a graded answer, or one whose body is a
    graded answer's (up to renaming): the lectures call the library, the assignments ask for it."""
    graded: dict[str, str] = {}
    for assignment in ASSIGNMENTS:
        for cell in _read(source_path(assignment)).cells:
            if cell.cell_type == "code" and _nbgrader(cell).get("solution"):
                answer = "\n".join(line for line in cell.source.splitlines()
                                   if "### BEGIN SOLUTION" not in line
                                   and "### END SOLUTION" not in line)
                graded |= {f"{assignment}.{n}": p for n, p in _answer_definitions(answer).items()
                           if not n.startswith("_")}
    assert len(graded) >= 12, sorted(graded)
    names = {key.split(".", 1)[1] for key in graded}
    # a one-liner such as `return self.net(x)` is everyone's: only longer bodies count as copies
    prints = {p: key for key, p in graded.items() if len(p) > 300}
    found = []
    for path in sorted((ROOT / "lectures").glob("*.ipynb")):
        for i, cell in enumerate(_read(path).cells):
            if cell.cell_type != "code":
                continue
            for name, p in _answer_definitions(cell.source).items():
                if name in names or p in prints:
                    found.append(f"{path.name} cell {i}: {name} ({prints.get(p, name)})")
    assert not found, found


def test_a_renamed_copy_has_the_print_of_its_original():
    """The check above can fail: a copy with other names and a docstring prints the same, a changed
    body does not."""
    original = "def f(a, b):\n    c = a.exp() + b\n    return c.sum(dim=1)\n"
    renamed = 'def g(x, y):\n    """Doc."""\n    z = x.exp() + y\n    return z.sum(dim=1)\n'
    changed = "def f(a, b):\n    c = a.exp() - b\n    return c.sum(dim=1)\n"
    assert _answer_definitions(original)["f"] == _answer_definitions(renamed)["g"]
    assert _answer_definitions(original)["f"] != _answer_definitions(changed)["f"]


README_ROW = re.compile(r"^\| \[`(\w+)\.ipynb`\]\(assignments/\1/\1\.ipynb\) \| [\d-]+ \| "
                        r"(.+?) \| "
                        r"(\d+) autograded \+ (\d+) written \| \[!\[Open in Colab\]"
                        r"\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                        r"\(https://colab\.research\.google\.com/github/uw-eep596/eep596gan/blob/"
                        r"main/assignments/\1/\1\.ipynb\) \|$", re.M)


def test_readme_lists_every_assignment_with_its_points():
    """The README's assignment table: one row per assignment (in the lectures' order), with what it
    grades, its autograded and written points as the source notebook has them, and a Colab badge
    of its release."""
    rows = README_ROW.findall((ROOT / "README.md").read_text())
    assert sorted(name for name, *_ in rows) == sorted(ASSIGNMENTS), rows
    for name, what, auto, manual in rows:
        graded = [_nbgrader(c) for c in _read(source_path(name)).cells if _nbgrader(c).get("grade")]
        assert int(auto) == sum(m["points"] for m in graded if not m.get("solution")), name
        assert int(manual) == sum(m["points"] for m in graded if m.get("solution")), name
        assert len(what) > 20, f"{name}: say what it grades"
