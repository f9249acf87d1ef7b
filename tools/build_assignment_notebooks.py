"""Build the nbgrader source notebooks in solutions/ from the modules in tools/assignment_cells/.

Every module there is one assignment (tools/assignment_cells/<name>.py -> solutions/<name>/
<name>.ipynb). The notebooks are generated so that they can be reviewed as Python and rebuilt
byte for byte:

    .venv/bin/python tools/build_assignment_notebooks.py          # writes solutions/*/*.ipynb
    .venv/bin/python tools/build_assignment_notebooks.py --check  # exits 1 if they are stale

Then regenerate the student versions with tools/generate_assignments.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))

from assignment_cells import ASSIGNMENTS  # noqa: E402

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def build(cells: list[dict], reference: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    """A notebook (nbformat 4.5, no outputs) from cell specs made by assignment_cells._cells.

    `reference` ("module:QualName" of library code the graded functions may not call) goes to
    the notebook's metadata, `{"eep596gan": {"reference": [...]}}`, where the grader reads it.
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    if reference:
        nb.metadata["eep596gan"] = {"reference": list(reference)}
    for spec in cells:
        code = spec["cell_type"] == "code"
        make = nbformat.v4.new_code_cell if code else nbformat.v4.new_markdown_cell
        cell = make(source=spec["source"], id=spec["id"])
        if spec.get("nbgrader"):
            cell.metadata["nbgrader"] = spec["nbgrader"]
        if spec["cell_type"] == "code" and spec.get("nbgrader", {}).get("locked"):
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def notebook_path(assignment: str) -> Path:
    """solutions/<assignment>/<assignment>.ipynb"""
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check the notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for assignment in ASSIGNMENTS.values():
        path = notebook_path(assignment.name)
        text = nbformat.writes(build(assignment.cells, assignment.reference)) + "\n"
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print("stale: " + ", ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
