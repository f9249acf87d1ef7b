"""Kernel-side half of the grading guard (sent as source text; never imported by the kernel).

`guard.stage0()` runs this file inside the student's kernel in a fresh namespace whose builtins
were re-derived from C-level anchors, so names the student shadowed or patched do not reach it.
Injected globals: `P` (parameters from the grader), `SYS` (the real `sys`), `USER_NS`.

Modes (`P["mode"]`):
- bootstrap: before any student code; imports the checking surface and reports, for every
  surface object (modules, classes, the shell), its names and one identity hash per name (ids
  of the object, its code, defaults, closure). The grader keeps the report; the kernel keeps
  only strong references, so ids cannot be reused.
- pre: before a test cell; reports surface hashes (the grader compares them with bootstrap's
  in its own process), restores names the test reads, wraps the graded functions.
- post: after a test cell; the same checks, undoes `pre`, records names the cell defined.
- track: after a read-only cell; records the names it defined.

The report is one line `<nonce> <repr(dict)>` on stdout, parsed with `ast.literal_eval`.
"""

# ruff: noqa: F821  (P, SYS, USER_NS are injected; _kernel_wrap.py's names join these at run time)

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
        mod.streams = (SYS.stdout, SYS.stderr)
        mod.threads = set()
        mod.names = {}
        mod.builtins_ns = USER_NS.get("__builtins__")
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
    for mod, name in (("tqdm._monitor", "TMonitor"), ("zmq.utils.garbage", "GarbageCollectorThread")):
        m = SYS.modules.get(mod)
        if m is not None and m.__dict__.get(name) is cls:
            return True
    return False


def _ns_ids(names):
    return {n: (tuple(_ids(USER_NS[n])) if n in USER_NS else None) for n in names}


# ------------------------------------------------------------------------------ the modes
def _warm_up():
    """Trigger torch's lazy self-patching now, so it is part of the record and not a change.

    The first optimizer step imports torch._dynamo, which rewraps torch.manual_seed, and each
    optimizer class wraps its own `step` the first time one is built.
    """
    torch = SYS.modules.get("torch")
    if torch is None:
        return
    p = torch.nn.Parameter(torch.zeros(1))
    p.grad = torch.zeros(1)
    for opt in (torch.optim.SGD([p], lr=0.1), torch.optim.Adam([p], lr=0.1)):
        opt.step()
        opt.zero_grad()


def bootstrap():
    st = _stash()
    for name in P["imports"]:
        try:
            __import__(name)
        except BaseException:  # an optional module that is not installed: nothing to check
            pass
    _warm_up()
    import threading

    st.threads = {id(t) for t in threading.enumerate()}
    keys = list(P["surface"])
    for key in P["deep"]:  # the classes defined in a deep module are surface objects too
        mod = _resolve(key)
        for name, value in list((_dict_of(mod) or {}).items()):
            if T(value) is T and value.__module__ == key[4:]:
                keys.append("cls:" + key[4:] + ":" + name)
    names, hashes, name_hashes = {}, {}, {}
    for key in keys:
        obj = _resolve(key)
        if obj is None:
            continue
        entries = _entries(key, obj)
        st.refs += [obj] + [v for _, v in entries]
        names[key] = tuple(n for n, _ in entries)
        hashes[key], hs = _object_hash(key, obj, names[key])
        name_hashes[key] = dict(zip(names[key], hs))
    st.names = names
    return {"names_hash": {k: hash(v) for k, v in names.items()}, "hashes": hashes,
            "name_hashes": name_hashes, "state": _state_report(), "ns": _ns_ids(["__builtins__"])}


def pre():
    st = _stash()
    ns = USER_NS
    # Right after a post check, with no cell run in between, the surface is known to be intact.
    report = _surface_report() if P["scan"] else {"skipped": True}
    saved = {}
    if ns.get("__builtins__") is not st.builtins_ns:
        saved["__builtins__"] = ns.get("__builtins__", st)
        ns["__builtins__"] = st.builtins_ns
    for name in P["pop"]:
        if name in ns:
            saved[name] = ns.pop(name)
    for name in P["restore"]:
        obj = st.tracked.get(name, st)
        if obj is not st and ns.get(name, st) is not obj:
            saved[name] = ns.get(name, st)
            ns[name] = obj
    del st.violations[:]
    wrapped = {}
    forbidden = [tuple(f) for f in P["forbidden"]]
    check = _make_check() if P["wrap"] else None  # after the surface check: same names
    for name in P["wrap"]:
        fn = ns.get(name, st)
        if fn is st or not callable(fn) or getattr(fn, "__eep596gan_wrapper__", False):
            continue
        ns[name] = _make_wrapper(fn, name, forbidden, st.violations, check)
        wrapped[name] = fn
    st.saved, st.wrapped = saved, wrapped
    report.update(state=_state_report(), ns=_ns_ids(P["restore"] + ["__builtins__"]),
                  wrapped=sorted(wrapped))
    return report


def post():
    st = _stash()
    ns = USER_NS
    report = _surface_report()
    violations = [list(v) for v in st.violations]
    del st.violations[:]
    for name, fn in st.wrapped.items():
        if getattr(ns.get(name), "__eep596gan_wrapper__", False):
            ns[name] = fn
    for name, value in st.saved.items():
        if value is st:
            ns.pop(name, None)
        else:
            ns[name] = value
    st.saved, st.wrapped = {}, {}
    report.update(track())
    report.update(state=_state_report(), violations=violations)
    return report


def track():
    st = _stash()
    for name in P["track"]:
        if name in USER_NS:
            st.tracked[name] = USER_NS[name]
    return {"tracked": _ns_ids(P["track"])}


def main():
    st = _stash()
    SYS.stdout, SYS.stderr = st.streams  # the real streams, so that the report reaches the grader
    mode = P["mode"]
    report = {"bootstrap": bootstrap, "pre": pre, "post": post, "track": track}[mode]()
    report["mode"] = mode
    print(P["nonce"] + " " + repr(report), file=SYS.stdout, flush=True)
