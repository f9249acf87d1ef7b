"""Kernel-side fingerprints of the checking surface (sent with _kernel_guard.py as one text).

Identity hashes of the surface objects (modules, classes, the IPython shell and kernel) and of
the interpreter state that changes what code does without changing any attribute (trace and
profile hooks, torch function and dispatch modes, dispatcher tables, background threads).
`_kernel_guard.py` reports them; the grader compares them with the bootstrap's (guard.py).

This file and `_kernel_wrap.py` are the only code in the package that touches torch internals
(`torch._C`'s mode-stack lengths and dispatcher table): there is no public API for them, and a
submission can push a mode or re-register a kernel to change what every tensor operation does.
They only read them. A torch release that renames them shows up before anyone is graded: the
solution notebook must score full marks first (grading.student.check_solutions).
"""

# ruff: noqa: F821  (P, SYS, USER_NS are injected into the namespace this runs in)

T = type
FUNC = T(lambda: 0)
STASH_KEY = "__eep596gan_guard_stash__"
SKIP = frozenset((
    "_", "__", "___", "__warningregistry__", "__doc__", "__loader__", "__spec__", "__file__",
    "__cached__", "__path__", "__package__", "__name__", "__builtins__", "__all__",
    "__annotations__", "__dict__", "__weakref__", "__module__", "__qualname__", "_abc_impl",
))
SYS_VOLATILE = frozenset((
    "displayhook", "excepthook", "breakpointhook", "unraisablehook", "stdout", "stderr", "stdin",
))


def _stash():
    """Per-kernel state: strong references and bookkeeping; nothing here decides a grade."""
    mod = SYS.modules.get(STASH_KEY)
    if mod is None:
        mod = T(SYS)(STASH_KEY)
        mod.refs, mod.tracked, mod.saved, mod.wrapped, mod.violations = [], {}, {}, {}, []
        mod.instrumented = {"classes": set(), "methods": []}  # graded classes' wrapped methods
        mod.streams = (SYS.stdout, SYS.stderr)
        mod.threads = set()
        mod.names = {}
        mod.builtins_ns = USER_NS.get("__builtins__")
        mod.ipython = None  # IPython's extension points as bootstrap found them
        SYS.modules[STASH_KEY] = mod
    return mod


def _ids(v, deep=False, depth=0):
    """Identity fingerprint: ids of the object and of what defines its behaviour."""
    t = T(v)
    out = [id(v), id(t)]
    if depth > 2:
        return out
    if t is FUNC:
        out += [id(v.__code__), id(v.__defaults__), id(v.__kwdefaults__), id(v.__globals__)]
        for cell in v.__closure__ or ():
            try:
                out += _ids(cell.cell_contents, deep, depth + 1)
            except ValueError:  # an empty cell
                out.append(0)
    elif t is classmethod or t is staticmethod:
        out += _ids(v.__func__, deep, depth + 1)
    elif t is property:
        for f in (v.fget, v.fset, v.fdel):
            out += _ids(f, deep, depth + 1)
    elif t is tuple and len(v) < 64:
        for item in v:
            out += _ids(item, deep, depth + 1)
    elif t is dict and deep and len(v) < 256:
        for k, item in list(v.items()):
            out += _ids(k, deep, depth + 1) + _ids(item, deep, depth + 1)
    elif t.__name__ == "partial" and t.__module__ == "functools":
        out += _ids(v.func, deep, depth + 1) + [id(v.args), id(v.keywords)]
    return out


def _h(v, deep=False):
    return hash(tuple(_ids(v, deep)))


def _dict_of(obj):
    try:
        d = obj.__dict__
    except Exception:
        return None
    return d if T(d) is dict or T(d).__name__ == "mappingproxy" else None


def _shell():
    mod = SYS.modules.get("IPython.core.interactiveshell")
    cls = None if mod is None else mod.__dict__.get("InteractiveShell")
    return None if cls is None else cls._instance


def _resolve(key):
    """A surface key: 'mod:NAME', 'cls:MODULE:QUALNAME', 'shell' or 'kernel'."""
    kind, _, rest = key.partition(":")
    if kind == "mod":
        return SYS.modules.get(rest)
    if kind == "cls":
        modname, _, qual = rest.partition(":")
        obj = SYS.modules.get(modname)
        for part in qual.split("."):
            d = None if obj is None else _dict_of(obj)
            obj = None if d is None else d.get(part)
        return obj if T(obj) is not FUNC else None
    shell = _shell()
    if kind == "shell" or shell is None:
        return shell
    return shell.__dict__.get("kernel") or getattr(shell, "kernel", None)


def _covered(key, name, value):
    """Whether a name of a surface object is part of the fingerprint."""
    if T(name) is not str or name in SKIP:
        return False
    if key == "mod:sys":
        return name not in SYS_VOLATILE and callable(value)
    if key == "mod:builtins":
        # ipykernel rebinds input() for every request, IPython adds display() and friends
        return not name.startswith("__IPYTHON") and name not in ("display", "get_ipython",
                                                               "exit", "quit", "input")
    if key in ("shell", "kernel"):
        return T(value) is FUNC or T(value).__name__ in ("method", "builtin_function_or_method")
    if key.startswith("cls:"):
        return callable(value) or hasattr(T(value), "__get__")
    return callable(value) or T(value) is tuple or (T(value) is dict and key in P["deep"])


def _entries(key, obj):
    d = _dict_of(obj)
    return [] if d is None else [(n, v) for n, v in list(d.items()) if _covered(key, n, v)]


def _overrides(key, obj, known):
    """Names added to a class (or the shell) since bootstrap that shadow an inherited one."""
    d = _dict_of(obj)
    if d is None:
        return []
    mro = T(obj).__mro__ if key in ("shell", "kernel") else obj.__mro__[1:]
    found = []
    for name, value in list(d.items()):
        if name in known or not _covered(key, name, value):
            continue
        for base in mro:
            bd = _dict_of(base)
            if bd is not None and name in bd:
                found.append(name)
                break
    return found


def _object_hash(key, obj, names):
    d = _dict_of(obj) or {}
    deep = key in P["deep"]
    hs = [(_h(d[n], deep) if n in d else 0) for n in names]
    return hash((id(obj), tuple(hs))), hs


def _names():
    """The surface names recorded at bootstrap, each list checked against its hash.

    They stay in the kernel (sending them costs more than the check itself); a list the
    student edited no longer matches the hash the grader got at bootstrap, so it is skipped
    and its object reported as changed.
    """
    out = {}
    for key, names in _stash().names.items():
        if T(names) is tuple and hash(names) == P["names_hash"].get(key):
            out[key] = names
    return out


def _surface_report():
    """Per-object hashes; per-name hashes where an object differs from bootstrap."""
    hashes, detail, overrides = {}, {}, {}
    for key, names in _names().items():
        obj = _resolve(key)
        if obj is None:
            hashes[key] = None
            continue
        h, hs = _object_hash(key, obj, names)
        hashes[key] = h
        if P["expect"].get(key) != h:
            detail[key] = dict(zip(names, hs))
        if key.startswith("cls:") or key in ("shell", "kernel"):
            extra = _overrides(key, obj, set(names))
            if extra:
                overrides[key] = sorted(extra)
    return {"hashes": hashes, "detail": detail, "overrides": overrides}


def _state_report():
    """Interpreter state that changes what code does without changing any attribute."""
    import threading

    st = {"user_ns": id(USER_NS) if T(USER_NS) is dict else -1,
          "trace": P["hooks"][0], "profile": P["hooks"][1],
          "thread_trace": threading._trace_hook is not None,
          "thread_profile": threading._profile_hook is not None}
    torch = SYS.modules.get("torch")
    if torch is not None:
        c = torch._C
        st["torch_function_modes"] = c._len_torch_function_stack()
        st["torch_dispatch_modes"] = c._len_torch_dispatch_stack()
        st["dispatch"] = hash(tuple(c._dispatch_dump_table("aten::" + op) for op in P["ops"]))
    extra = []
    known = _stash().threads
    for t in threading.enumerate():
        cls = T(t)
        if id(t) in known or not t.is_alive():
            continue
        if _library_thread(cls):
            continue
        extra.append(cls.__module__ + "." + cls.__name__ + "(" + str(t.name) + ")")
    st["threads"] = sorted(extra)
    return st


def _library_thread(cls):
    """Threads libraries start on their own: tqdm's monitor, pyzmq's garbage collector."""
    for mod, name in (("tqdm._monitor", "TMonitor"),
                      ("zmq.utils.garbage", "GarbageCollectorThread")):
        m = SYS.modules.get(mod)
        if m is not None and m.__dict__.get(name) is cls:
            return True
    return False


def _ns_ids(names):
    return {n: (tuple(_ids(USER_NS[n])) if n in USER_NS else None) for n in names}
