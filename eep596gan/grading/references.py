"""Library code a graded function may not call, found on disk without importing it.

Two sources: the assignment's source notebook declares its reference implementations in its
metadata, `{"eep596gan": {"reference": ["eep596gan.train.gan:GANTrainer", ...]}}` (the build
script sets it from `REFERENCE_IMPLEMENTATIONS` in tools/assignment_cells/<assignment>.py), and
every top-level eep596gan function or class named like a graded function is one too.

The guard recognises a call by the file and qualified name of the code that runs (see
_kernel_wrap.py), so aliases, copies and re-exports of one object are all the same to it, and
by the code's print (`code_prints`), so the same source compiled under another file or function
name is too. A declared name that its module only re-exports (`from .gan import d_step` in a
package's `__init__.py`) is followed here to the module that defines it, so
`eep596gan.train:d_step` and `eep596gan.train.gan:d_step` resolve to the same code.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from functools import cache
from pathlib import Path
from types import CodeType

from .sandbox import PACKAGE

__all__ = ["module_file", "resolve", "same_named", "reference_implementations", "code_prints"]

MAX_HOPS = 4  # re-exports followed from a declared module to the defining one


def module_file(module: str) -> Path | None:
    """The source file of a module; eep596gan's own are found on disk, nothing is imported."""
    parts = module.split(".")
    if parts[0] == PACKAGE.name:
        base = PACKAGE.joinpath(*parts[1:])
        candidates = [base / "__init__.py"] + ([base.with_suffix(".py")] if parts[1:] else [])
        found = [p for p in candidates if p.is_file()]
        return Path(os.path.realpath(found[0])) if found else None  # a package wins, as in Python
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(os.path.realpath(spec.origin)) if spec and spec.origin else None


def _tree(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def _defines(tree: ast.Module, name: str) -> bool:
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               and n.name == name for n in tree.body)


def _imported_from(tree: ast.Module, name: str, module: str, path: Path) -> tuple[str, str] | None:
    """(module, original name) when `module` binds `name` by a top-level `from X import`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        for alias in node.names:
            if (alias.asname or alias.name) != name or alias.name == "*":
                continue
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            return (source, alias.name) if source else None
    return None


def resolve(spec: str) -> tuple[str, str, str] | None:
    """(file, qualname, label) of a declared "module:QualName"; None when the module is missing.

    A name the module imports from another module is followed there (at most MAX_HOPS times).
    """
    module, _, qual = spec.partition(":")
    label = f"{module}.{qual}"
    for _ in range(MAX_HOPS + 1):
        path = module_file(module)
        if path is None or not qual:
            return None
        tree = _tree(path)
        top, _, rest = qual.partition(".")
        moved = None if tree is None or _defines(tree, top) else _imported_from(
            tree, top, module, path)
        if moved is None:
            return str(path), qual, label
        module, qual = moved[0], moved[1] + (f".{rest}" if rest else "")
    return None


def same_named(names: set[str]) -> list[tuple[str, str, str]]:
    """eep596gan's top-level functions and classes named like a graded function (by AST)."""
    if not names:
        return []
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = _tree(path)
        if tree is None:
            continue
        module = ".".join((PACKAGE.name, *path.relative_to(PACKAGE).with_suffix("").parts))
        module = module.removesuffix(".__init__")
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
                out.append((os.path.realpath(path), node.name, f"{module}.{node.name}"))
    return out


def reference_implementations(declared: list[str], graded: set[str]) -> list[tuple[str, str, str]]:
    """(file, qualname, label) of everything the graded functions may not call, sorted."""
    found = [r for r in map(resolve, declared) if r is not None]
    return sorted(set(found + same_named(graded)))


def code_prints(forbidden) -> tuple[tuple[tuple, str], ...]:
    """(print, label) of every code object of each reference implementation (its methods and
    nested functions too), compiled here from its source file as the kernel would compile a copy.

    The print (`_kernel_values._code_print`, the same function the kernel runs) leaves out file,
    name, line numbers and docstring, so a verbatim copy matches wherever it was compiled. Each
    definition is compiled twice: in its module, and on its own (Python compiles `F.softplus(x)`
    differently when it can see that `F` was imported in the same source).
    """
    return _code_prints(tuple(map(tuple, forbidden)))


@cache  # once per grading process: every student's kernel gets the same prints
def _code_prints(forbidden: tuple[tuple[str, str, str], ...]) -> tuple[tuple[tuple, str], ...]:
    from ._kernel_values import _code_print

    out = []
    for path, qual, label in forbidden:
        try:
            text = Path(path).read_text()
            tree = ast.parse(text)
            units = [compile(text, path, "exec", dont_inherit=True)]
            units += [compile(ast.Module([node], []), path, "exec", dont_inherit=True)
                      for node in tree.body
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and node.name == qual.partition(".")[0]]
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            continue
        stack = list(units)
        while stack:
            code = stack.pop()
            stack += [c for c in code.co_consts if isinstance(c, CodeType)]
            if code.co_qualname == qual or code.co_qualname.startswith(qual + "."):
                out.append((_code_print(code), label))
    return tuple(sorted(set(out), key=repr))
