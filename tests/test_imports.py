"""The import graph of `eep596gan` follows the layer table in CONTRIBUTING.md and has no cycle.

Every `import` and `from ... import` statement is read from the source with `ast`, those inside
functions included (a lazy import is still a dependency). A module may import a module of a
lower layer, or one of its own package (models.autoregressive -> models.vae); never a higher
layer, a module beside it in the same layer, or anything that closes a cycle.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "eep596gan"

# Lowest first. Each row may import only the rows above it (and its own package's modules).
LAYERS: list[tuple[str, ...]] = [
    ("eep596gan", "eep596gan.paths", "eep596gan.device"),
    ("eep596gan.data",),
    ("eep596gan.models",),
    ("eep596gan.losses",),
    ("eep596gan.train",),
    ("eep596gan.classifier", "eep596gan.divergences", "eep596gan.measure"),
    ("eep596gan.metrics",),
    ("eep596gan.viz", "eep596gan.recipes"),
    ("eep596gan.widgets",),
    ("eep596gan.grading",),
    ("eep596gan.cli",),
]
# Modules that import nothing from the package at all: the losses are pure functions of tensors.
LEAVES = ("eep596gan.losses", "eep596gan.paths")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The package's modules that `path` (module `name`) imports, resolved to known modules."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            stem = ".".join(base + (node.module.split(".") if node.module else []))
            # `from . import viz` names a module; `from .data import load_images` a name in one
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # a name inside a module: its module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    mods = modules(root)
    known = set(mods)
    return {name: imports(path, name, known) for name, path in mods.items()}


def layer_of(name: str) -> tuple[int, str]:
    """(row, entry) of the layer-table entry that `name` is or lies inside (longest match)."""
    best = None
    for row, entries in enumerate(LAYERS):
        for entry in entries:
            inside = name == entry or (entry != "eep596gan" and name.startswith(entry + "."))
            if inside and (best is None or len(entry) > len(best[1])):
                best = (row, entry)
    if best is None:
        raise KeyError(f"{name} is in no row of LAYERS: add it to the layer table "
                       "(tests/test_imports.py and CONTRIBUTING.md)")
    return best


def violations(g: dict[str, set[str]]) -> list[str]:
    """Every import that goes up or sideways in the layer table, or out of a leaf."""
    out = []
    for name, targets in sorted(g.items()):
        row, entry = layer_of(name)
        for target in sorted(targets):
            t_row, t_entry = layer_of(target)
            if entry in LEAVES:
                out.append(f"{name} imports {target}: {entry} imports nothing from the package")
            elif t_entry == entry and entry != "eep596gan":
                continue  # inside one package (models, train, grading): cycles are checked apart
            elif t_row >= row:
                out.append(f"{name} (layer {row}) imports {target} (layer {t_row})")
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle, once, as a path that starts and ends at the same module."""
    found, state = [], {}
    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(g):
        if node not in state:
            visit(node, [])
    return found


def test_the_package_imports_only_down_the_layer_table():
    assert violations(graph(PACKAGE)) == []


def test_the_package_has_no_import_cycle_grading_included():
    g = graph(PACKAGE)
    assert any(name.startswith("eep596gan.grading.") for name in g)  # grading is read too
    assert cycles(g) == []


def test_every_module_has_a_row_in_contributing_md():
    text = (PACKAGE.parent / "CONTRIBUTING.md").read_text()
    for row, entries in enumerate(LAYERS):
        for entry in entries:
            if entry == "eep596gan":
                continue
            shown = entry.replace("eep596gan.", "").replace(".", "/")
            assert re.search(rf"^\| {row} \| `{shown}", text, re.M), (
                f"CONTRIBUTING.md's layer table lacks `{shown}` in layer {row}")


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A copy of the package to plant modules in."""
    root = tmp_path / "eep596gan"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    return root


def test_a_planted_upward_import_is_caught(planted: Path):
    (planted / "models" / "planted.py").write_text(
        "def helper():\n    from ..train import GANTrainer  # a lazy import counts too\n"
        "    return GANTrainer\n")
    found = violations(graph(planted))
    assert found == ["eep596gan.models.planted (layer 2) imports eep596gan.train (layer 4)"]


def test_a_planted_sideways_import_and_a_leaf_import_are_caught(planted: Path):
    (planted / "measure.py").write_text((planted / "measure.py").read_text()
                                        + "\nfrom . import divergences\n")
    (planted / "losses.py").write_text((planted / "losses.py").read_text()
                                       + "\nfrom .models import VAE\n")
    found = violations(graph(planted))
    assert found == [
        "eep596gan.losses imports eep596gan.models: eep596gan.losses imports nothing from "
        "the package",
        "eep596gan.measure (layer 5) imports eep596gan.divergences (layer 5)",
    ]


def test_a_planted_cycle_inside_grading_is_caught(planted: Path):
    (planted / "grading" / "ping.py").write_text("from .pong import PONG\nPING = 1\n")
    (planted / "grading" / "pong.py").write_text("def f():\n    from . import ping\nPONG = 2\n")
    assert violations(graph(planted)) == []  # inside one package: only the cycle check sees it
    loop = ["eep596gan.grading.ping", "eep596gan.grading.pong", "eep596gan.grading.ping"]
    assert loop in cycles(graph(planted))


def test_a_module_missing_from_the_table_is_named(planted: Path):
    (planted.parent / "eep596gan" / "newthing.py").write_text("X = 1\n")
    with pytest.raises(KeyError, match="eep596gan.newthing is in no row of LAYERS"):
        violations(graph(planted))
