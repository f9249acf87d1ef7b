"""The autograded assignments, one module per assignment: `<name>.py` builds solutions/<name>/.

Adding an assignment is adding one module here (its name is the assignment's name). It defines
    CELLS: the notebook's cell specs, made with the helpers in _cells.py, in order;
    REFERENCE_IMPLEMENTATIONS (optional): "module:QualName" of library code the graded
        functions may not call, beyond library functions named like them (the build script
        writes it to the notebook's metadata, where the grader reads it).
Modules whose names start with "_" are not assignments.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

__all__ = ["Assignment", "discover", "ASSIGNMENTS"]


@dataclass(frozen=True)
class Assignment:
    """One assignment's cells and the reference implementations its students may not call."""

    name: str
    cells: list[dict]
    reference: tuple[str, ...] = ()


def discover() -> dict[str, Assignment]:
    """Every assignment module of this package, by name (sorted)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[info.name] = Assignment(info.name, list(module.CELLS),
                                      tuple(getattr(module, "REFERENCE_IMPLEMENTATIONS", ())))
    return found


ASSIGNMENTS = discover()
