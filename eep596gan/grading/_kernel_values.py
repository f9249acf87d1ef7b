"""Kernel-side judgement of graded functions' results (sent with _kernel_guard.py as one text).

A result is judged by exact type: plain numbers, strings, tensors, arrays, lists, tuples and
dicts (and the library's named tuples and collections' dicts); a subclass of any value type is
refused whatever module or file it claims, and so is any other object whose class is written in
the notebook or is not the one its module and name point to. `_code_print` is the print of a
code object by which `_kernel_wrap.py` recognises a copy of a reference implementation; the
grader imports it to compute the references' prints (references.code_prints).
"""

# ruff: noqa: F821  (SYS and _kernel_surface.py's helpers are in the same namespace at run time)

T = type


class GradedValueError(BaseException):
    """A graded function returned an object of a class written in the notebook (it could lie)."""


def _value_types():
    """(exact types a graded function may return, value types no other subclass of may be)."""
    ok = {int, float, bool, complex, str, bytes, T(None), T(...), slice, range,
          list, dict, tuple, set, frozenset}
    bases = [int, float, complex, str, bytes, list, dict, tuple, set, frozenset]
    collections = SYS.modules.get("collections")
    if collections is not None:
        for name in ("OrderedDict", "defaultdict", "Counter", "deque"):
            ok.add(collections.__dict__[name])
    torch = SYS.modules.get("torch")
    if torch is not None:
        ok |= {torch.Tensor, torch.nn.Parameter, torch.dtype, torch.device, torch.Size}
        bases.append(torch.Tensor)
        types = SYS.modules.get("torch.return_types")
        for value in list((_dict_of(types) or {}).values()):
            if T(value) is T and issubclass(value, tuple):
                ok.add(value)  # torch.max(x, dim) and friends: named tuples of tensors
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


def _reachable(t):
    """Whether the class is the one its module and qualified name point to (not a look-alike)."""
    module, qual = t.__dict__.get("__module__"), t.__qualname__
    obj = SYS.modules.get(module) if T(module) is str else None
    for part in qual.split(".") if T(qual) is str else ["<>"]:
        d = None if obj is None else _dict_of(obj)
        obj = None if d is None else d.get(part)
    return obj is t


def _type_name(t):
    name = t.__qualname__ if T(t.__qualname__) is str else "?"
    return name[:40] + ("..." if len(name) > 40 else "")


def _check_value(v, ok, bases, where, seen, budget, depth=0, modules=None):
    """Refuse objects whose type could lie in a comparison: judged by type, not by its label.

    `modules` is (torch.nn.Module, instrument) or None: a network (whatever class wrote it) is
    accepted as it is, once `instrument(network)` has wrapped the notebook's methods of its
    classes (a graded class, or a factory returning one; the tests judge what they return).
    """
    budget[0] -= 1
    if budget[0] < 0 or depth > 12:
        return
    t = T(v)
    if t in ok:
        if t.__name__ == "ndarray" and v.dtype.kind == "O":
            raise GradedValueError(where + " returned a numpy array of Python objects")
    elif t not in seen:
        if issubclass(t, bases):
            raise GradedValueError(
                where + " returned a subclass of a value type (" + _type_name(t) + "), which "
                "could answer comparisons with anything: return plain numbers, tensors, "
                "arrays, lists or dicts")
        if modules is not None and issubclass(t, modules[0]):
            modules[1](v)
            return
        if not (_library_class(t) and _reachable(t)):
            raise GradedValueError(
                where + " returned an object of a class written in the notebook ("
                + _type_name(t) + "): return plain numbers, tensors, lists or dicts")
        seen.add(t)
    if t is list or t is tuple or t is set or t is frozenset or (t in ok and issubclass(
            t, tuple)):
        for item in v:
            _check_value(item, ok, bases, where, seen, budget, depth + 1, modules)
    elif t in ok and issubclass(t, dict):
        for k, item in list(v.items()):
            _check_value(k, ok, bases, where, seen, budget, depth + 1, modules)
            _check_value(item, ok, bases, where, seen, budget, depth + 1, modules)
    elif t in ok and t.__name__ == "deque":
        for item in list(v):
            _check_value(item, ok, bases, where, seen, budget, depth + 1, modules)


def _code_print(code):
    """What a copy of this code keeps whatever its file, function name and line numbers.

    Its bytecode, the global and attribute names it uses, its argument counts and constants
    (nested code by its own print; a function's docstring left out). The grader computes the
    prints of the reference implementations from their source files (references.code_prints).
    """
    consts = []
    first = 1 if code.co_flags & 2 else 0  # CO_NEWLOCALS: co_consts[0] is the docstring or None
    for c in code.co_consts[first:]:
        tc = T(c)
        if tc.__name__ == "code":
            consts.append(_code_print(c))
        elif tc is frozenset:
            consts.append(("frozenset",) + tuple(sorted([repr(x) for x in c])))
        else:
            consts.append(repr(c))
    return (code.co_code, code.co_names, tuple(consts), code.co_argcount,
            code.co_kwonlyargcount)
