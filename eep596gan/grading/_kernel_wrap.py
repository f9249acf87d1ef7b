"""Kernel-side wrappers of the graded functions (sent with _kernel_guard.py as one source text).

While a test runs, each function the student wrote and the test calls is wrapped:
- a profile hook records calls into the library's reference implementation of it (matched by
  file and qualified name, so aliases, copies of its code and reloaded modules are caught);
- after it returns, a cheap identity check of the whole checking surface catches patches made
  during the call, even ones the student undoes later in the test;
- its result may not contain objects of classes written in the notebook (a tensor subclass
  with `__torch_function__`, a float whose `__eq__` always agrees).
"""

# ruff: noqa: F821  (SYS, P and _kernel_guard.py's helpers are in the same namespace at run time)

T = type
FUNC = T(lambda: 0)


class ReferenceImplementationUsed(BaseException):
    """A graded function called the library's reference implementation of itself."""


class GradedValueError(BaseException):
    """A graded function returned an object of a class written in the notebook (it could lie)."""


def _value_types():
    """(exact types a graded function may return, value types no subclass of may be returned)."""
    ok = {int, float, bool, complex, str, bytes, T(None), T(...), slice, range}
    bases = [int, float, complex, str, bytes, list, dict, tuple, set, frozenset]
    torch = SYS.modules.get("torch")
    if torch is not None:
        ok |= {torch.Tensor, torch.nn.Parameter, torch.dtype, torch.device, torch.Size}
        bases.append(torch.Tensor)
    np = SYS.modules.get("numpy")
    if np is not None:
        ok.add(np.ndarray)
        for name in ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                     "bool_", "complex128", "complex64", "longdouble"):
            if name in np.__dict__:
                ok.add(np.__dict__[name])
        bases += [np.ndarray, np.generic]
    return ok, tuple(bases)


def _student_code(code):
    return "/ipykernel_" in code.co_filename  # the files IPython compiles notebook cells into


def _library_class(t):
    """A class whose behaviour comes from installed code, not from the notebook."""
    for klass in t.__mro__:
        if klass.__module__ == "__main__":
            return False
        for value in list((_dict_of(klass) or {}).values()):
            for f in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
                code = getattr(f, "__code__", None)
                if T(code).__name__ == "code" and _student_code(code):
                    return False
    return True


def _check_value(v, ok, bases, where, seen, budget, depth=0):
    """Refuse objects whose type could lie in a comparison: classes written in the notebook."""
    budget[0] -= 1
    if budget[0] < 0 or depth > 12:
        return
    t = T(v)
    if t in ok:
        if t.__name__ == "ndarray" and v.dtype.kind == "O":
            raise GradedValueError(where + " returned a numpy array of Python objects")
        return
    if t not in seen:
        if not _library_class(t):
            kind = "a subclass of a value type" if issubclass(t, bases) else "an object"
            raise GradedValueError(
                where + " returned " + kind + " of a class written in the notebook ("
                + t.__qualname__ + "): return plain numbers, tensors, lists or dicts")
        seen.add(t)
    if isinstance(v, (list, tuple, set, frozenset)):
        for item in v:
            _check_value(item, ok, bases, where, seen, budget, depth + 1)
    elif isinstance(v, dict):
        for k, item in list(v.items()):
            _check_value(k, ok, bases, where, seen, budget, depth + 1)
            _check_value(item, ok, bases, where, seen, budget, depth + 1)


def _label(key):
    kind, _, rest = key.partition(":")
    return rest.replace(":", ".") if kind in ("mod", "cls") else "the IPython " + kind


def _make_check():
    """A cheap check that nothing on the surface was rebound: run after every graded call.

    The test reads checking functions after the student's function returns; a patch made
    during the call and undone later in the test is still in place at this moment.
    """
    snap, lens, codes = [], [], []
    for key, names in _names().items():
        obj = _resolve(key)
        d = None if obj is None else _dict_of(obj)
        if d is None:
            continue
        for n in names:
            if n in d:
                v = d[n]
                snap.append((d, n, v, _label(key) + "." + n))
                if T(v) is FUNC:
                    codes.append((v, v.__code__, _label(key) + "." + n))
        if key.startswith("cls:") or key in ("shell", "kernel"):
            lens.append((d, len(d), _label(key) + " (a new attribute)"))
    torch = SYS.modules.get("torch")
    modes = None
    if torch is not None:
        c = torch._C
        modes = (c._len_torch_function_stack, c._len_torch_dispatch_stack)
    gettrace = SYS.gettrace
    missing = snap

    def check():
        for d, n, v, what in snap:
            if d.get(n, missing) is not v:
                return what
        for f, code, what in codes:
            if f.__code__ is not code:
                return what
        for d, size, what in lens:
            if len(d) != size:
                return what
        if modes is not None and (modes[0]() or modes[1]()):
            return "a torch function or dispatch mode"
        if gettrace() is not None:
            return "sys.settrace"
        return None

    return check


def _make_wrapper(fn, label, forbidden, violations, check):
    """fn, profiled while it runs (calls into `forbidden` code are recorded), its result checked.

    A recorded call is a violation `(kind, label, what)`: kind "reference" (a call into the
    reference implementation), "profiler" (the profiler or tracer was changed) or "patched" (the
    surface changed during the call). The grader reads the kind, never the text (verdict.py).
    """
    import threading

    setprofile, getprofile, tsetprofile = SYS.setprofile, SYS.getprofile, threading.setprofile
    blocked = (SYS.setprofile, SYS.settrace)
    blocked_code = (threading.setprofile.__code__, threading.settrace.__code__)
    files = {path for path, _, _ in forbidden}
    ok, bases = _value_types()
    depth = [0]
    mine = []  # the wrapper's own code: its setprofile calls are not the student's

    def hook(frame, event, arg):
        if event == "call":
            code = frame.f_code
            if code.co_filename in files:
                qual = code.co_qualname
                for path, prefix, what in forbidden:
                    if path == code.co_filename and (qual == prefix
                                                     or qual.startswith(prefix + ".")):
                        violations.append(("reference", label, what))
            elif (code in blocked_code and frame.f_back is not None
                  and frame.f_back.f_code not in mine):
                violations.append(("profiler", label, "threading." + code.co_name))
        elif event == "c_call" and frame.f_code not in mine:
            for b in blocked:
                if arg is b:
                    violations.append(("profiler", label, b.__name__))

    def graded(*args, **kwargs):
        outer = depth[0] == 0
        if outer:
            prev, prev_t = getprofile(), threading._profile_hook
            setprofile(hook)
            tsetprofile(hook)
        depth[0] += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            depth[0] -= 1
            if outer:
                setprofile(prev)
                tsetprofile(prev_t)
            for kind, who, what in violations:
                if kind == "reference":
                    raise ReferenceImplementationUsed(
                        who + " calls " + what + ", the library's reference implementation of "
                        "what this assignment asks you to write: a test that uses it scores 0")
                if kind == "profiler":
                    raise ReferenceImplementationUsed(
                        who + " changed the interpreter's profiler or tracer (" + what + ")")
        if outer:
            changed = check()
            if changed is not None:
                violations.append(("patched", label, changed))
                raise ReferenceImplementationUsed(
                    label + " changed " + changed + " while it ran: a test cannot trust its checks")
            _check_value(result, ok, bases, label, set(), [100_000])
        return result

    mine.append(graded.__code__)
    graded.__wrapped__ = fn
    graded.__name__ = getattr(fn, "__name__", label)
    graded.__doc__ = getattr(fn, "__doc__", None)
    graded.__eep596gan_wrapper__ = True
    return graded
