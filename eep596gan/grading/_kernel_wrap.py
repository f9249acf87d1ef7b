"""Kernel-side wrappers of the graded functions (sent with _kernel_guard.py as one source text).

While a test runs, each function the student wrote and the test calls is wrapped:
- a profile hook records calls into the library's reference implementation of it, matched by
  file and qualified name (aliases, `FunctionType` copies and reloaded modules) and by the
  code's print (`_code_print`: bytecode, names and constants, whatever the file name, function
  name or line numbers), so the library's source compiled under another name is caught too;
- after it returns, a cheap identity check of the whole checking surface, of IPython's
  extension points and of the notebook's names that the test reads (`watch`) catches changes
  made during the call, even ones the student undoes later in the test;
- its result is judged by exact type: plain numbers, strings, tensors, arrays, lists, tuples
  and dicts; a subclass of any of them is refused whatever module or file it claims (a tensor
  subclass with `__torch_function__` or a float whose `__eq__` always agrees can lie), and so
  is any other object whose class is not the one its module and name point to;
- the types of its arguments (and of their parameters, for modules) must not change.

A graded *class* (an `nn.Module` the student writes) is not replaced: its methods are, and so
are those of every class in its MRO that the notebook or the library wrote, while the test runs
(`_instrument`), so `isinstance`, subclassing and `super()` keep working. A network a graded
call returns or is given (a factory's result, `self` after `__init__`) is accepted whatever its
class, once its module tree's classes are instrumented the same way.
"""

# ruff: noqa: F821  (SYS, P and _kernel_guard.py's helpers are in the same namespace at run time)

T = type
FUNC = T(lambda: 0)


class ReferenceImplementationUsed(BaseException):
    """A graded function called the library's reference implementation of itself."""


def _label(key):
    kind, _, rest = key.partition(":")
    return rest.replace(":", ".") if kind in ("mod", "cls") else "the IPython " + kind


def _make_check(ipython):
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
    stacks = None
    if torch is not None:
        c = torch._C

        def stacks():
            """The torch function and dispatch modes on their stacks, by identity."""
            return (tuple(id(c._get_function_stack_at(i))
                          for i in range(c._len_torch_function_stack())),
                    tuple(id(c._get_dispatch_stack_at(i))
                          for i in range(c._len_torch_dispatch_stack())))
    gettrace = SYS.gettrace
    missing = snap
    changes = _ipy_changes

    def check(modes_before=((), ())):
        """What changed (None: nothing); modes the test itself pushed before the call stay."""
        for d, n, v, what in snap:
            if d.get(n, missing) is not v:
                return what
        for f, code, what in codes:
            if f.__code__ is not code:
                return what
        for d, size, what in lens:
            if len(d) != size:
                return what
        if stacks is not None and stacks() != modes_before:
            return "a torch function or dispatch mode"
        if gettrace() is not None:
            return "sys.settrace"
        changed = changes(ipython, False)
        if changed:
            return "IPython's " + changed[0]
        return None

    check.stacks = stacks if stacks is not None else (lambda: ((), ()))
    return check


def _own_code(klass, library=True):
    """Whether a class is the notebook's (or, with `library`, eep596gan's): its methods get
    wrapped."""
    module = klass.__dict__.get("__module__")
    if T(module) is str and (module == "__main__"
                             or (library and module.split(".")[0] == "eep596gan")):
        return True
    for value in list((_dict_of(klass) or {}).values()):
        f = getattr(value, "__func__", value)
        code = getattr(f, "__code__", None)
        if T(code).__name__ == "code" and _student_code(code):
            return True
    return False


def _instrument(cls, registry, make, library=True):
    """Wrap (with `make(fn, label)`) the methods of every class of cls's MRO that is its own.

    A graded class's MRO includes eep596gan's classes (`library`: an alias or a subclass of a
    reference implementation then calls it inside a wrapper); a network's does not.
    `registry` is {"classes": set, "methods": [(class, name, original), ...]}: `_uninstrument`
    puts the originals back after the test.
    """
    for klass in T.__getattribute__(cls, "__mro__"):
        if klass in registry["classes"] or not _own_code(klass, library):
            continue
        registry["classes"].add(klass)
        for attr, value in list((_dict_of(klass) or {}).items()):
            kind = T(value)
            f = value.__func__ if kind is staticmethod or kind is classmethod else value
            if T(f) is not FUNC or getattr(f, "__eep596gan_wrapper__", False):
                continue
            new = make(f, _type_name(klass) + "." + attr)
            T.__setattr__(klass, attr, new if f is value else kind(new))
            registry["methods"].append((klass, attr, value))


def _uninstrument(registry):
    for klass, attr, value in registry["methods"][::-1]:
        T.__setattr__(klass, attr, value)
    registry["classes"].clear()
    del registry["methods"][:]


def _make_wrapper(fn, label, forbidden, violations, check, prints, watch, shared=None):
    """fn, profiled while it runs (calls into `forbidden` code are recorded), its result checked.

    A recorded call is a violation `(kind, label, what)`: kind "reference" (a call into the
    reference implementation, by file and name or by `prints`, the code prints of the reference
    implementations), "profiler" (the profiler or tracer was changed) or "patched" (the surface,
    one of the `watch` names of the notebook or an argument's type changed during the call).
    The grader reads the kind, never the text (verdict.py).
    """
    import threading

    ns = USER_NS
    torch = SYS.modules.get("torch")
    module_class = None if torch is None else torch.nn.Module
    parameter_class = None if torch is None else torch.nn.Parameter
    # lazy modules' placeholders, which become Parameters at the first forward
    lazy = () if torch is None else tuple(
        getattr(torch.nn.parameter, n) for n in ("UninitializedParameter", "UninitializedBuffer")
        if hasattr(torch.nn.parameter, n))
    seen_codes = {}  # id(code) -> (code, label of the reference it copies, or ""): kept alive

    setprofile, getprofile, tsetprofile = SYS.setprofile, SYS.getprofile, threading.setprofile
    blocked = (SYS.setprofile, SYS.settrace)
    blocked_code = (threading.setprofile.__code__, threading.settrace.__code__)
    files = {path for path, _, _ in forbidden}
    ok, bases = _value_types()
    # shared by every wrapper of one test: (depth of graded calls, instrument a network's classes)
    depth, networks = shared if shared is not None else ([0], None)
    modules = None if networks is None or module_class is None else (module_class, networks)
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
            elif prints:
                hit = seen_codes.get(id(code))
                if hit is None:
                    hit = seen_codes[id(code)] = (code, prints.get(_code_print(code), ""))
                if hit[1]:
                    violations.append(("reference", label, hit[1]))
        elif event == "c_call" and frame.f_code not in mine:
            for b in blocked:
                if arg is b:
                    violations.append(("profiler", label, b.__name__))

    def arguments(args, kwargs):
        """(object, type) of each argument and, for modules, of each of their parameters."""
        typed = []
        for a in list(args) + list(kwargs.values()):
            typed.append((a, T(a)))
            if module_class is not None and issubclass(T(a), module_class):
                typed += [(p, T(p)) for p in _parameters(a)]
        return typed

    def _parameters(module):
        """A module's parameters ([] while its __init__ has not set them up yet)."""
        try:
            return list(module_class.parameters(module))
        except Exception:  # noqa: BLE001 (a half-built module: before nn.Module.__init__)
            return []

    def changed_arguments(typed, args, kwargs):
        for obj, t in typed:
            if T(obj) is not t and not (t in lazy and T(obj) is parameter_class):
                return "the type of an argument"
        for a in list(args) + list(kwargs.values()):
            if module_class is not None and issubclass(T(a), module_class):
                for p in _parameters(a):
                    if T(p) is not parameter_class and T(p) not in lazy:
                        return "a module's parameters into objects of another class"
                if modules is not None:
                    networks(a)  # e.g. self after __init__: its submodules' classes too
        return None

    def graded(*args, **kwargs):
        outer = depth[0] == 0
        if outer:
            names = [(n, ns.get(n, seen_codes)) for n in watch]
            typed = arguments(args, kwargs)
            modes = check.stacks()  # a test may run the graded call inside its own mode
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
            changed = check(modes)
            for n, v in names:
                if changed is None and ns.get(n, seen_codes) is not v:
                    changed = "the notebook's name " + n + " (which the test reads)"
            if changed is None:
                changed = changed_arguments(typed, args, kwargs)
            if changed is not None:
                violations.append(("patched", label, changed))
                raise ReferenceImplementationUsed(
                    label + " changed " + changed + " while it ran: a test cannot trust its checks")
            _check_value(result, ok, bases, label, set(), [100_000], 0, modules)
        return result

    mine.append(graded.__code__)
    graded.__wrapped__ = fn
    graded.__name__ = getattr(fn, "__name__", label)
    graded.__doc__ = getattr(fn, "__doc__", None)
    graded.__eep596gan_wrapper__ = True
    return graded
