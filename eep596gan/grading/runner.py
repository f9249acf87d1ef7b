"""Grade one notebook: run the assembled cells in one kernel, guard every test, score it.

A test cell scores its points when its execute reply is "ok", it did not time out, and the
guard found the checking surface untouched before and after it (see guard.py). Output on
stderr does not matter (nbgrader would score such a cell 0). A cell that times out is
interrupted; a kernel that ignores the interrupt, or dies, is restarted and the cells that ran
before are replayed without the culprit, so later tests still run. Each test's verdict and the
notebook's status are typed values (verdict.py), decided from the guard's findings' kinds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import nbformat

from .assemble import Planned, assemble
from .guard import (
    GuardReport,
    bootstrap_params,
    findings,
    new_nonce,
    parse_hooks,
    parse_report,
    requests,
    stage0,
    unhook,
)
from .kernel import Kernel, KernelOptions, KernelStartError
from .outputs import Execution
from .references import code_prints
from .source import BUILTIN_NAMES, SourceNotebook
from .verdict import Outcome, Status, judge_test, notebook_status

__all__ = ["RunOptions", "TestResult", "NotebookResult", "run_notebook", "partial_score", "finish"]

BOOT_TIMEOUT = 120.0  # seconds; the bootstrap imports torch
GUARD_TIMEOUT = 30.0  # seconds for a guard request (they take about 0.1 s)


@dataclass(frozen=True)
class RunOptions:
    """How one notebook is run."""

    timeout: float = 120.0  # seconds per cell
    kernel: KernelOptions = KernelOptions()
    max_restarts: int = 2  # kernel restarts (death or an ignored interrupt) per notebook
    guard: bool = True  # False only to show, in tests, what the guard prevents


@dataclass
class TestResult:
    """The outcome of one autograded test cell."""

    grade_id: str
    points: float
    score: float = 0.0
    outcome: Outcome = Outcome.NOT_RUN
    message: str = ""


@dataclass
class NotebookResult:
    """The outcome of one notebook."""

    name: str
    max_score: float
    score: float = 0.0
    status: Status = Status.GRADED
    tests: list[TestResult] = field(default_factory=list)
    cells: list[Planned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def partial_score(source: str, ex: Execution, points: float) -> float:
    """nbgrader's partial credit: a test cell that ends in an expression evaluating to a number.

    The number (clipped to [0, points]) is the score; any other cell scores its points.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return points
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return points
    for out in ex.outputs:
        if out["output_type"] == "execute_result":
            try:
                value = float(str(out["data"].get("text/plain", "")).strip())
            except ValueError:
                return points
            return min(max(value, 0.0), points)
    return points


class _Session:
    """One notebook's run: the kernel, the guard's records, the cells that ran."""

    def __init__(self, source: SourceNotebook, options: RunOptions, forbidden: list):
        self.source, self.options, self.forbidden = source, options, forbidden
        self.kernel: Kernel | None = None
        self.boot: GuardReport | None = None
        self.boot_params = bootstrap_params(source.packages)
        self.tracked: dict[str, tuple] = {}
        self.ran: list[Planned] = []  # cells that completed, for a replay
        self.checked = False  # a guard checked the surface and nothing ran since
        self.restarts = 0
        self.prints = code_prints(forbidden)
        self.graded = source.graded_names
        self.protected = source.protected_names
        self.defined = source.all_defined

    # -------------------------------------------------------------------- kernel and guard
    def start(self) -> None:
        self.kernel = Kernel(self.options.kernel)
        self.kernel.start()
        self.tracked = {}
        self.checked = False
        if not self.options.guard:
            return
        params = dict(self.boot_params, nonce=new_nonce())
        ex = self.kernel.execute("", user_expressions=requests(stage0(params)),
                                 timeout=BOOT_TIMEOUT, silent=True, max_text=50_000_000)
        self.boot = parse_report(ex.stdout, params["nonce"])
        if self.boot.missing:
            raise KernelStartError(f"the grader's bootstrap failed in the kernel: {ex.ename} "
                                   f"{ex.evalue} {ex.user_expressions} {self.kernel.log_tail()}")

    def stop(self) -> None:
        if self.kernel is not None:
            self.kernel.close()
            self.kernel = None

    def guard(self, mode: str, **params) -> tuple[GuardReport, Execution]:
        if not self.options.guard:
            return GuardReport(), Execution()
        full = dict(self.boot_params, mode=mode, nonce=new_nonce(),
                    names_hash=self.boot["names_hash"], expect=self.boot["hashes"],
                    forbidden=[list(f) for f in self.forbidden])
        full.update(params)
        nonce = new_nonce()
        # One request: the hooks are removed first (under a student's trace function the guard
        # would run a hundredfold slower), then the guard runs (guard.LAUNCH).
        ex = self.kernel.execute("", user_expressions=requests(unhook(nonce), stage0(full)),
                                 timeout=GUARD_TIMEOUT, silent=True, max_text=5_000_000)
        if ex.status in ("died", "timeout"):
            return GuardReport(missing=True), ex
        hooks = parse_hooks(ex.stdout, nonce)
        report = parse_report(ex.stdout, full["nonce"])
        if hooks is None:
            report.missing = True
        elif not report.missing:
            state = report.setdefault("state", {})
            state["trace"] = state.get("trace") or hooks[0]
            state["profile"] = state.get("profile") or hooks[1]
        self.tracked.update({k: v for k, v in report.get("tracked", {}).items() if v is not None})
        return report, ex

    def restart(self, skip: Planned) -> bool:
        """A fresh kernel with the cells that ran replayed (except `skip`); False when it cannot."""
        if self.restarts >= self.options.max_restarts:
            return False
        self.restarts += 1
        self.stop()
        try:
            self.start()
        except KernelStartError:
            return False
        for p in list(self.ran):
            if p is skip:
                continue
            ex = self.kernel.execute(p.cell.source, timeout=self.options.timeout)
            if ex.status in ("died", "timeout"):
                return False
            if p.role == "locked" and p.spec is not None:
                self.guard("track", track=sorted(p.spec.defines))
        return True

    # -------------------------------------------------------------------------- cells
    def run_cell(self, p: Planned) -> Execution:
        self.checked = False
        ex = self.kernel.execute(p.cell.source, timeout=self.options.timeout)
        _record(p, ex, self.options.timeout)
        if ex.status not in ("died", "timeout"):
            self.ran.append(p)
            if p.role == "locked" and p.spec is not None and p.spec.defines:
                self.guard("track", track=sorted(p.spec.defines))
        return ex

    def run_test(self, p: Planned, result: TestResult) -> Execution:
        spec = p.spec
        reads = spec.reads
        restore = sorted(n for n in reads & self.protected if n in self.tracked)
        pop = sorted(n for n in reads & BUILTIN_NAMES if n not in self.defined)
        # Names the test reads and does not bind itself: the notebook's (helpers, modules, the
        # graded functions) and builtins. A graded call must not rebind them.
        watch = sorted(reads - spec.defines)
        pre, pre_ex = self.guard("pre", restore=restore, pop=pop, watch=watch, prints=self.prints,
                                 wrap=sorted(reads & self.graded), scan=not self.checked,
                                 instructor=sorted(self.protected))
        if pre_ex.status in ("died", "timeout"):
            return pre_ex
        expected = {n: self.tracked[n] for n in restore}
        self.checked = False
        ex = self.kernel.execute(p.cell.source, timeout=self.options.timeout)
        _record(p, ex, self.options.timeout)
        if ex.status in ("died", "timeout"):
            return ex
        post, post_ex = self.guard("post", track=sorted(spec.defines))
        if post_ex.status in ("died", "timeout"):
            return post_ex
        self.checked = not post.missing
        self.ran.append(p)
        found = []
        if self.options.guard:
            found = findings(self.boot, pre, expected) + findings(self.boot, post)
        verdict = judge_test(found, status=ex.status, interrupted=ex.interrupted,
                             score=partial_score(spec.cell.source, ex, spec.points),
                             points=spec.points, timeout=self.options.timeout,
                             ename=ex.ename, evalue=ex.evalue)
        result.outcome, result.score, result.message = (verdict.outcome, verdict.score,
                                                        verdict.message)
        return ex


def _record(p: Planned, ex: Execution, timeout: float) -> None:
    """Put an execution's outputs into the cell that ran (for feedback)."""
    outputs = list(ex.outputs)
    if ex.status == "timeout" or ex.interrupted:
        outputs.append({"output_type": "error", "ename": "CellTimeoutError",
                        "evalue": f"the cell ran longer than {timeout:g} s and was stopped",
                        "traceback": [f"CellTimeoutError: the cell ran longer than {timeout:g} s"]})
    elif ex.status == "died":
        outputs.append({"output_type": "error", "ename": "DeadKernelError",
                        "evalue": "the kernel died while running this cell",
                        "traceback": ["DeadKernelError: the kernel died while running this cell "
                                      "(os._exit, a crash, or out of memory)"]})
    p.cell.outputs = [nbformat.from_dict(o) for o in outputs]
    p.cell.execution_count = ex.execution_count


def run_notebook(source: SourceNotebook, student: nbformat.NotebookNode, options: RunOptions,
                 forbidden: list | None = None) -> NotebookResult:
    """Run and score one student notebook against its source.

    Args:
        source: the assignment's source notebook (tests, points, read-only cells).
        student: the student's notebook, already parsed.
        options: timeouts and the kernel's sandbox.
        forbidden: (file, qualname, label) of reference code the graded functions may not call.
    Returns:
        The scores of every test cell, the executed cells and the notebook's status.
    """
    result = NotebookResult(source.name, source.max_score)
    result.tests = [TestResult(s.grade_id, s.points) for s in source.tests]
    by_id = {t.grade_id: t for t in result.tests}
    plan = assemble(source, student)
    result.cells = plan
    session = _Session(source, options, forbidden or source.reference_implementations())
    died = timed_out = False
    try:
        session.start()
        for p in plan:
            if p.cell.cell_type != "code" or not p.cell.source.strip():
                continue
            if p.role == "test":
                ex = session.run_test(p, by_id[p.spec.grade_id])
            else:
                ex = session.run_cell(p)
            timed_out |= ex.interrupted or ex.status == "timeout"
            if ex.status in ("died", "timeout"):
                died |= ex.status == "died"
                if p.role == "test":
                    t = by_id[p.spec.grade_id]
                    t.outcome = Outcome.TIMEOUT if ex.status == "timeout" else Outcome.FAILED
                    t.message = ("the test ran longer than the time limit and the kernel had to be "
                                 "restarted" if ex.status == "timeout" else "the kernel died while "
                                 "running this test")
                if not session.restart(skip=p):
                    result.notes.append("the kernel could not be restarted: the remaining cells "
                                        "did not run")
                    break
    except KernelStartError as err:
        result.notes.append(str(err))
        died = True
    finally:
        session.stop()
    return finish(result, died=died, timed_out=timed_out)


def finish(result: NotebookResult, *, died: bool, timed_out: bool) -> NotebookResult:
    """What follows from the tests' verdicts: the notebook's score and status (in place)."""
    for t in result.tests:
        if t.outcome is Outcome.NOT_RUN and not t.message:
            t.message = "not run: the kernel died or timed out before this test"
    result.score = float(sum(t.score for t in result.tests))
    result.status = notebook_status((t.outcome for t in result.tests), died=died,
                                    timed_out=timed_out)
    return result
