"""Grader-side half of the guard: the code sent into the kernel and the verdict on its reports.

A student's code shares the kernel with the tests, so it can patch anything there: checking
functions, operators, builtins, even the names the tests read. The guard therefore keeps the
truth outside the kernel. Before any student code runs, a bootstrap records one identity hash
per name of the "checking surface" (builtins, math, numpy and torch, their testing modules,
torch.Tensor and friends, IPython's execution machinery). Around every test cell the kernel
reports the same hashes again and the grader compares them here, in its own process; a test
whose surface changed scores 0. The kernel-side code (`_kernel_*.py`) runs from a stub
that re-derives builtins from C-level anchors, so shadowed or patched names do not reach it.

The guard's requests are user expressions of an empty, silent execute request (see LAUNCH):
IPython's input and AST transformers and its run-cell events never see or rewrite them. Before
each test the guard puts IPython's extension points (transformers, event callbacks, custom
exception handlers, the compiler) back as bootstrap found them, and after it reports any that
changed; after every graded call it also checks the notebook's names the test reads, so a
graded function cannot rebind `np`, a test helper or `abs` under the test.

What an in-process check cannot stop (documented for TAs): code written against this file
that finds the guard's own objects (its namespace through the frames of a graded call, the
wrappers' closures, the stash in `sys.modules`, anything through `gc`) and edits them to
forge a report, or that rewrites the kernel's message loop so that guard requests never run
(the report is then missing and the test scores 0); code that runs outside any graded call
during a test (a `__del__` or weakref callback of an object freed then) and undoes what it did
before the post check; and a copy of a reference implementation that was edited rather than
compiled as it is (`references.code_prints` matches bytecode, names and constants).

The file is longer than 300 lines because the kernel stub (STAGE0, LAUNCH, UNHOOK) and the
code that parses and judges what it prints must change together.
"""

from __future__ import annotations

import ast
import base64
import secrets
import zlib
from functools import cache
from pathlib import Path

from .verdict import VIOLATION_KINDS, Finding, FindingKind

__all__ = ["GuardReport", "stage0", "requests", "unhook", "bootstrap_params", "new_nonce",
           "parse_report", "parse_hooks", "findings"]

KERNEL_SOURCES = tuple(Path(__file__).with_name(f"_kernel_{part}.py")
                       for part in ("surface", "guard", "values", "wrap"))  # one text

# Modules whose attributes are fingerprinted when their package is in use.
SURFACE_MODULES = (
    "builtins", "sys", "math", "cmath", "operator", "functools", "itertools", "contextlib",
    "warnings", "io", "threading", "numbers", "unittest.case",
    "numpy", "numpy.testing", "numpy.testing._private.utils", "numpy._core.numeric",
    "numpy.core.numeric", "numpy.linalg",
    "torch", "torch._C", "torch._C._nn", "torch._C._linalg", "torch.nn", "torch.nn.functional",
    "torch.testing", "torch.testing._comparison", "torch.autograd", "torch.autograd.grad_mode",
    "torch.optim", "torch.optim.optimizer", "torch.overrides", "torch.functional",
    "torch._tensor", "torch.library",
    "IPython.core.interactiveshell", "ipykernel.ipkernel", "ipykernel.kernelbase",
    "ipykernel.zmqshell", "ipykernel.iostream",
)
# Classes whose dicts are fingerprinted (module, qualname); a new entry that shadows an
# inherited method is reported too.
SURFACE_CLASSES = (
    ("torch", "Tensor"), ("torch.nn", "Parameter"), ("torch.nn", "Module"),
    ("torch.nn", "Linear"), ("torch.nn", "Sequential"), ("torch.optim", "Optimizer"),
    ("torch.optim", "SGD"), ("torch.optim", "Adam"), ("torch.autograd", "Function"),
    ("contextlib", "redirect_stdout"), ("contextlib", "redirect_stderr"),
    ("contextlib", "_RedirectStream"), ("contextlib", "_GeneratorContextManager"),
    ("warnings", "catch_warnings"), ("threading", "Thread"), ("io", "StringIO"),
    ("IPython.core.interactiveshell", "InteractiveShell"),
    ("IPython.core.interactiveshell", "ExecutionResult"),
    ("IPython.core.interactiveshell", "ExecutionInfo"),
    ("ipykernel.zmqshell", "ZMQInteractiveShell"), ("ipykernel.ipkernel", "IPythonKernel"),
    ("ipykernel.kernelbase", "Kernel"), ("ipykernel.iostream", "OutStream"),
    ("IPython.core.displayhook", "DisplayHook"), ("ipykernel.displayhook", "ZMQShellDisplayHook"),
    ("IPython.core.compilerop", "CachingCompiler"), ("ipykernel.compiler", "XCachingCompiler"),
    ("IPython.core.builtin_trap", "BuiltinTrap"), ("IPython.core.display_trap", "DisplayTrap"),
)
# Modules whose module-level dicts (tolerance tables) and classes are fingerprinted too.
DEEP_MODULES = ("torch.testing._comparison", "numpy.testing._private.utils")
# aten ops whose dispatcher tables must not change (a Python kernel registered over them).
DISPATCH_OPS = (
    "allclose", "isclose", "eq", "ne", "equal", "sub", "abs", "le", "lt", "ge", "gt", "all",
    "any", "max", "min", "_local_scalar_dense", "softplus", "log_sigmoid", "mean", "sum",
    "isfinite", "sigmoid", "mul", "add", "div", "exp", "log", "log1p", "where", "clamp",
)
ALWAYS = ("builtins", "sys", "math", "cmath", "operator", "functools", "itertools", "contextlib",
          "warnings", "io", "threading", "numbers", "unittest", "IPython", "ipykernel")

# Stage 0: no global name lookups, so nothing the student bound in the notebook is used.
# Builtins are taken from importlib's frozen module and each is checked against the C-level
# object it must be (a builtin function of the real builtins module, or a static type).
STAGE0 = r'''
def __eep596gan_guard__(src, params):
    T = (0).__class__.__class__
    BF = T([].append)
    imp = None
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "BuiltinImporter" and c.__module__ == "_frozen_importlib":
            imp = c
            break
    g = imp.__dict__["find_spec"].__func__.__globals__
    sysm = g["sys"]
    ok = T(sysm.exc_info) is BF and sysm.exc_info.__self__ is sysm and sysm.__name__ == "sys"
    b = g["__builtins__"]
    if T(b) is not T({}):
        b = b.__dict__
    vb = {}
    for name in NAMES:
        x = b[name]
        if T(x) is BF:
            ok = (ok and x.__name__ == name and T(x.__self__) is T(sysm)
                  and x.__self__.__name__ == "builtins")
        else:
            ok = (ok and T(x) is T and x.__name__ == name and x.__module__ == "builtins"
                  and not (x.__flags__ & 512))
        vb[name] = x
    for f in (sysm._getframe, sysm.gettrace, sysm.settrace, sysm.getprofile, sysm.setprofile):
        ok = ok and T(f) is BF and f.__self__ is sysm
    if not ok:
        raise SystemExit("eep596gan grading guard: the interpreter's sys was replaced")
    hooks = (sysm.gettrace() is not None, sysm.getprofile() is not None)
    sysm.settrace(None)  # a student's trace function would slow the guard down a hundredfold
    sysm.setprofile(None)
    if not ok:
        raise SystemExit("eep596gan grading guard: the interpreter's builtins were replaced")
    zl, ba = vb["__import__"]("zlib"), vb["__import__"]("binascii")
    for f, fname, mname in ((zl.decompress, "decompress", "zlib"),
                            (ba.a2b_base64, "a2b_base64", "binascii")):
        ok = ok and T(f) is BF and f.__name__ == fname and f.__self__.__name__ == mname
    if not ok:
        raise SystemExit("eep596gan grading guard: zlib or binascii was replaced")
    src = zl.decompress(ba.a2b_base64(src)).decode()
    params = vb["eval"](zl.decompress(ba.a2b_base64(params)).decode(), {"__builtins__": {}})
    params["hooks"] = hooks
    ns = {"__builtins__": vb, "__name__": "eep596gan_guard", "P": params, "SYS": sysm,
          "USER_NS": USER}
    vb["exec"](vb["compile"](src, "<eep596gan-guard>", "exec"), ns)
    ns["main"]()
__eep596gan_guard__(SRC, PARAMS)
'''
# The guard's request is a user expression of an empty, silent execute request (see
# `requests`): IPython evaluates user expressions with plain `eval`, so neither its input and
# AST transformers nor its pre/post_run_cell events see or rewrite the guard's code, and an
# empty cell runs none of them. The expression reads no global name: it takes builtins from
# importlib's frozen module, checks that `exec` is the C builtin of that very module, and runs
# STAGE0 in a fresh namespace that holds the notebook's namespace as USER.
LAUNCH = (
    '(lambda B, E: E(STUB, {"__builtins__": B, "USER": (lambda: 0).__globals__}) if ('
    'E.__class__ is [].append.__class__ and E.__name__ == "exec" and E.__self__.__dict__ is B)'
    ' else None)(*(lambda B: (B, B["exec"]))([c for c in ().__class__.__base__.__subclasses__()'
    ' if c.__name__ == "BuiltinImporter"][0].__dict__["find_spec"].__func__.__globals__['
    '"__builtins__"]))')
BUILTIN_NAMES = (
    "__build_class__", "__import__", "hash", "id", "len", "callable", "hasattr", "getattr",
    "print", "repr", "sorted", "zip", "list", "dict", "tuple", "set", "frozenset", "str", "int",
    "float", "bool", "complex", "bytes", "type", "slice", "range", "classmethod", "staticmethod",
    "property", "issubclass", "isinstance", "BaseException", "Exception", "ValueError",
    "TypeError", "KeyError", "AttributeError", "SystemExit", "object", "iter", "next", "exec",
    "compile", "eval", "setattr",
)


@cache
def _kernel_source() -> str:
    return "\n\n".join(p.read_text() for p in KERNEL_SOURCES)


def stage0(params: dict) -> str:
    """The expression of one guard request: LAUNCH running the stub, the kernel-side source and
    its parameters.

    Both travel compressed, as single string literals: a dict literal of thousands of names
    would cost the kernel's compiler half a second.
    """
    stub = (STAGE0.replace("NAMES", repr(BUILTIN_NAMES))
            .replace("SRC, PARAMS", f"{_pack(_kernel_source())!r}, {_pack(repr(params))!r}"))
    return LAUNCH.replace("STUB", repr(stub))


def requests(*expressions: str) -> dict[str, str]:
    """The user expressions of one guard request, evaluated in this order (see LAUNCH)."""
    return {f"eep596gan{i}": e for i, e in enumerate(expressions)}


# Evaluated first in every guard request: under a student's sys.settrace hook the guard's Python
# code would run a hundredfold slower. This expression reads no global name, records whether
# hooks were set and removes them.
UNHOOK = ('(lambda s: (s.stdout.write("NONCE %d %d\\n" % (s.gettrace() is not None, '
          's.getprofile() is not None)), s.stdout.flush(), s.settrace(None), s.setprofile(None)))('
          '[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "BuiltinImporter"]'
          '[0].__dict__["find_spec"].__func__.__globals__["sys"])')


def unhook(nonce: str) -> str:
    """The code that removes trace and profile hooks, reporting them as `nonce trace profile`."""
    return UNHOOK.replace("NONCE", nonce)


def parse_hooks(stdout: str, nonce: str) -> tuple[bool, bool] | None:
    """(trace hook was set, profile hook was set) from unhook's output; None when it did not run."""
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == nonce:
            return parts[1] == "1", parts[2] == "1"
    return None


def _pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode(), 6)).decode()


def new_nonce() -> str:
    return "EEP596GAN-GUARD-" + secrets.token_hex(8)


def bootstrap_params(imported_packages: set[str]) -> dict:
    """Parameters of the bootstrap request, for a notebook that imports these top-level packages."""
    use = set(ALWAYS) | set(imported_packages)
    imports = [m for m in SURFACE_MODULES if m.split(".")[0] in use]
    if "matplotlib" in use:  # pyplot registers an IPython post_execute callback on import:
        imports.append("matplotlib.pyplot")  # part of the record, not a change in a test
    surface = [f"mod:{m}" for m in imports]
    surface += [f"cls:{m}:{q}" for m, q in SURFACE_CLASSES if m.split(".")[0] in use]
    surface += ["shell", "kernel"]
    return {"mode": "bootstrap", "nonce": new_nonce(), "imports": imports, "surface": surface,
            "deep": [f"mod:{m}" for m in DEEP_MODULES], "ops": list(DISPATCH_OPS),
            "names_hash": {}, "expect": {}, "scan": True, "pop": [], "restore": [], "wrap": [],
            "forbidden": [], "prints": [], "watch": [], "track": [], "instructor": []}


class GuardReport(dict):
    """A parsed guard report (a dict); `missing` when the kernel sent none."""

    def __init__(self, *args, missing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.missing = missing


def parse_report(stdout: str, nonce: str) -> GuardReport:
    """The report line with this nonce in a guard request's stdout."""
    for line in stdout.splitlines():
        if line.startswith(nonce + " "):
            try:
                value = ast.literal_eval(line[len(nonce) + 1:])
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                break
            if isinstance(value, dict):
                return GuardReport(value)
    return GuardReport(missing=True)


def _label(key: str) -> str:
    kind, _, rest = key.partition(":")
    return rest.replace(":", ".", 1) if kind == "cls" else rest or f"the IPython {kind}"


def findings(boot: dict, report: GuardReport, tracked: dict | None = None) -> list[Finding]:
    """What a guard report shows wrong with the checking surface (empty when nothing changed).

    Every finding is TAMPERED except a recorded call into a reference implementation; the kind
    comes from the report's structured `violations` entries, never from message text.

    Args:
        boot: the bootstrap report of this kernel.
        report: a pre or post report.
        tracked: name -> ids recorded after the read-only cell that defined it; the names
            the test reads must hold exactly those objects (`pre` restored them).
    """
    if report.missing:
        return [Finding(FindingKind.TAMPERED, MISSING)]
    changes = _surface_changes(boot, report, tracked)
    return ([Finding(FindingKind.TAMPERED, text) for text in changes]
            + [_violation(v) for v in report.get("violations", [])])


VIOLATION_TEXT = {
    "reference": "{who} calls {what}, the library's reference implementation of what this "
                 "assignment asks you to write",
    "patched": "{who} changed {what} while it ran",
}
MISSING = ("the grader's integrity check could not run in the kernel (its output was redirected "
           "or the kernel's execution was changed)")


def _violation(entry) -> Finding:
    """A finding from one `violations` entry of a post report: (kind, function, what)."""
    if not (isinstance(entry, (list, tuple)) and len(entry) == 3
            and all(isinstance(x, str) for x in entry)):
        return Finding(FindingKind.TAMPERED, "the grader's integrity report was malformed")
    kind, who, what = entry
    text = VIOLATION_TEXT.get(kind, "{who} changed the interpreter's profiler or tracer ({what})")
    return Finding(VIOLATION_KINDS.get(kind, FindingKind.TAMPERED), text.format(who=who, what=what))


def _surface_changes(boot: dict, report: GuardReport, tracked: dict | None) -> list[str]:
    """Descriptions of every change of the checking surface between bootstrap and a report."""
    found = []
    hashes = report.get("hashes", {})
    for key, expected in ({} if report.get("skipped") else boot["hashes"]).items():
        if hashes.get(key) == expected:
            continue
        detail = report.get("detail", {}).get(key)
        changed = [n for n, h in (detail or {}).items() if boot["name_hashes"][key].get(n) != h]
        what = ", ".join(f"{_label(key)}.{n}" for n in changed[:5]) or _label(key)
        found.append(f"{what} was replaced or modified")
    for key, names in report.get("overrides", {}).items():
        found.append(", ".join(f"{_label(key)}.{n}" for n in names[:5]) + " was added, shadowing "
                     "the original")
    state, base = report.get("state", {}), boot["state"]
    for flag, what in (("trace", "sys.settrace"), ("profile", "sys.setprofile"),
                       ("thread_trace", "threading.settrace"),
                       ("thread_profile", "threading.setprofile")):
        if state.get(flag) and not base.get(flag):
            found.append(f"a hook installed with {what} is active")
    for key, what in (("torch_function_modes", "a torch function mode"),
                      ("torch_dispatch_modes", "a torch dispatch mode")):
        if state.get(key, 0) != base.get(key, 0):
            found.append(f"{what} is active")
    if state.get("dispatch") != base.get("dispatch"):
        found.append("a kernel was registered over one of torch's comparison or math operators")
    if state.get("threads"):  # their names are the student's text: not shown
        found.append("a background thread started by the notebook is still running")
    changed = report.get("ipython") or []
    if changed:
        found.append("IPython's " + ", ".join(sorted(set(map(str, changed)))[:5])
                     + " changed while the test ran (code registered there runs around the "
                       "tests)")
    if state.get("user_ns") != base.get("user_ns"):
        found.append("the notebook's namespace was replaced")
    ns = report.get("ns", {})
    if "__builtins__" in ns and ns["__builtins__"] != boot["ns"]["__builtins__"]:
        found.append("__builtins__ was replaced")
    for name, ids in (tracked or {}).items():
        if name in ns and ns[name] != ids:
            found.append(f"{name} (defined in a read-only cell) could not be restored")
    return found
