"""Kernel-side half of the grading guard (sent as source text; never imported by the kernel).

`guard.stage0()` runs this file (after `_kernel_surface.py`, before `_kernel_wrap.py`, as one
text) inside the student's kernel in a fresh namespace whose builtins were re-derived from
C-level anchors, so names the student shadowed or patched do not reach it.
Injected globals: `P` (parameters from the grader), `SYS` (the real `sys`), `USER_NS`.

Modes (`P["mode"]`):
- bootstrap: before any student code; imports the checking surface and reports, for every
  surface object (modules, classes, the shell), its names and one identity hash per name (ids
  of the object, its code, defaults, closure). The grader keeps the report; the kernel keeps
  only strong references, so ids cannot be reused.
- pre: before a test cell; puts IPython's extension points (input and AST transformers, event
  callbacks, custom exception handlers, the compiler) back as bootstrap found them, reports
  surface hashes (the grader compares them with bootstrap's in its own process), restores
  names the test reads, wraps the graded functions.
- post: after a test cell; the same checks, reports extension points that changed while the
  test ran, undoes `pre`, records names the cell defined.
- track: after a read-only cell; records the names it defined.

The report is one line `<nonce> <repr(dict)>` on stdout, parsed with `ast.literal_eval`.
"""

# ruff: noqa: F821  (P, SYS, USER_NS are injected; _kernel_surface.py's and _kernel_wrap.py's
#                    names join these at run time)


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


# IPython's extension points: code registered there runs around every cell, so it can rewrite a
# test (transformers), change its verdict (post_run_cell, custom exception handlers) or rebind
# names after the guard looked (pre_run_cell). Lists by (label, attribute path from the shell).
IPY_LISTS = (
    ("ast_transformers", ("ast_transformers",)),
    ("input_transformers_post", ("input_transformers_post",)),
    ("input transformers (cleanup)", ("input_transformer_manager", "cleanup_transforms")),
    ("input transformers (line)", ("input_transformer_manager", "line_transforms")),
    ("input transformers (token)", ("input_transformer_manager", "token_transformers")),
)
IPY_OBJECTS = ("input_transformer_manager", "events", "compile", "custom_exceptions",
               "displayhook", "display_trap", "builtin_trap")
IPY_OWN = ("CustomTB",)  # methods set_custom_exc binds on the instance


def _ipy_snapshot():
    """Bootstrap's extension points: the objects, and each list with its items."""
    shell, st = _shell(), _stash()
    if shell is None:
        return None
    snap = {"objs": {n: getattr(shell, n, st) for n in IPY_OBJECTS},
            "own": {n: shell.__dict__.get(n, st) for n in IPY_OWN}, "lists": [], "events": None}
    for label, path in IPY_LISTS:
        owner = shell
        for attr in path[:-1]:
            owner = getattr(owner, attr, None)
        lst = getattr(owner, path[-1], None)
        if T(lst) is list:
            snap["lists"].append((label, owner, path[-1], lst, tuple(lst)))
    events = snap["objs"]["events"]
    cb = getattr(events, "callbacks", None)
    if T(cb) is dict:
        snap["events"] = (events, cb, {k: (v, tuple(v)) for k, v in cb.items() if T(v) is list})
    return snap


def _same(items, saved):
    if len(items) != len(saved):
        return False
    for a, b in zip(items, saved):  # noqa: SIM110 (`all` is not among the guard's builtins)
        if a is not b:
            return False
    return True


def _ipy_changes(snap, reset):
    """Extension points that differ from `snap` (labels); with `reset`, put them back."""
    shell, st = _shell(), _stash()
    if snap is None or shell is None:
        return []
    changed = []
    for name, obj in snap["objs"].items():
        if getattr(shell, name, st) is not obj:
            changed.append(name)
            if reset and obj is not st:
                setattr(shell, name, obj)
    d = shell.__dict__
    for name, obj in snap["own"].items():
        if d.get(name, st) is not obj:
            changed.append(name)
            if reset:
                if obj is st:
                    d.pop(name, None)
                else:
                    d[name] = obj
    for label, owner, attr, lst, items in snap["lists"]:
        if getattr(owner, attr, None) is not lst or not _same(lst, items):
            changed.append(label)
            if reset:
                setattr(owner, attr, lst)
                lst[:] = items
    if snap["events"] is not None:
        events, cb, saved = snap["events"]
        if getattr(events, "callbacks", None) is not cb:
            changed.append("event callbacks")
            if reset:
                events.callbacks = cb
        for name in list(cb):
            if name not in saved:
                changed.append(name + " callbacks")
                if reset:
                    cb.pop(name)
        for name, (lst, items) in saved.items():
            if cb.get(name) is not lst or not _same(lst, items):
                changed.append(name + " callbacks")
                if reset:
                    cb[name] = lst
                    lst[:] = items
    return changed


def bootstrap():
    st = _stash()
    for name in P["imports"]:
        try:  # noqa: SIM105 (contextlib is student-patchable surface: the guard never calls it)
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
    st.ipython = _ipy_snapshot()
    return {"names_hash": {k: hash(v) for k, v in names.items()}, "hashes": hashes,
            "name_hashes": name_hashes, "state": _state_report(), "ns": _ns_ids(["__builtins__"])}


def pre():
    st = _stash()
    ns = USER_NS
    reset = _ipy_changes(st.ipython, reset=True)  # before the report: the test runs without them
    # Right after a post check, with no cell run in between, the surface is known to be intact.
    report = _surface_report() if P["scan"] else {"skipped": True}
    report["ipython_reset"] = reset
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
    check = _make_check(st.ipython) if P["wrap"] else None  # after the surface check
    prints = {tuple(fp): what for fp, what in P["prints"]}
    registry = st.instrumented
    shared = ([0], None)

    def make(fn, label):
        return _make_wrapper(fn, label, forbidden, st.violations, check, prints, P["watch"],
                             shared)

    torch = SYS.modules.get("torch")
    if torch is not None:
        module_class = torch.nn.Module

        instructor = frozenset(P["instructor"])

        def networks(net):
            """Instrument the student's classes of a network and its submodules (at most 10000).

            Classes the read-only and test cells define (the tests' own helpers, while they are
            the notebook's binding of that name) are the instructor's: they stay as written.
            """
            def visit(klass):
                name = klass.__name__
                if not (name in instructor and ns.get(name) is klass):
                    _instrument(klass, registry, make, library=False)

            try:
                count = 0
                for m in module_class.modules(net):
                    count += 1  # noqa: SIM113 (no enumerate among the guard's builtins)
                    if count > 10_000:
                        break
                    visit(T(m))
            except Exception:  # noqa: BLE001 (a half-built module: its class at least)
                visit(T(net))

        shared = (shared[0], networks)
    for name in P["wrap"]:
        fn = ns.get(name, st)
        if fn is st or not callable(fn) or getattr(fn, "__eep596gan_wrapper__", False):
            continue
        if issubclass(T(fn), T):  # a graded class: its methods are wrapped, the name stays
            _instrument(fn, registry, make)
            continue
        ns[name] = make(fn, name)
        wrapped[name] = fn
    st.saved, st.wrapped = saved, wrapped
    report.update(state=_state_report(), ns=_ns_ids(P["restore"] + ["__builtins__"]),
                  wrapped=sorted(wrapped))
    return report


def post():
    st = _stash()
    ns = USER_NS
    report = _surface_report()
    report["ipython"] = _ipy_changes(st.ipython, reset=True)
    violations = [list(v) for v in st.violations]
    del st.violations[:]
    _uninstrument(st.instrumented)
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
