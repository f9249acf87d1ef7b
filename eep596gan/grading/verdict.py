"""Typed verdicts: what the guard found around a test, what each test scored, a notebook's status.

Nothing here reads message text: the guard reports each finding with its kind, a test's outcome
is decided from those kinds and the kernel's execute reply, and a notebook's status from its
tests' outcomes. Messages are for feedback only. Pure functions, no kernel, no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FindingKind", "Finding", "Outcome", "Status", "Verdict", "judge_test",
           "notebook_status", "join_statuses", "VIOLATION_KINDS"]


class FindingKind(enum.Enum):
    """Why a guard finding voids a test."""

    TAMPERED = "tampered"  # the checking surface changed, or the guard could not check it
    USES_REFERENCE = "uses-reference"  # a graded function called the library's version of itself


# The structured `kind` of a violation the kernel-side wrapper records (_kernel_wrap.py).
VIOLATION_KINDS = {
    "reference": FindingKind.USES_REFERENCE,
    "patched": FindingKind.TAMPERED,
    "profiler": FindingKind.TAMPERED,
}


@dataclass(frozen=True)
class Finding:
    """One thing the guard found wrong around a test: its kind decides, its text explains."""

    kind: FindingKind
    text: str


class Outcome(enum.Enum):
    """The outcome of one autograded test cell (its value is what feedback shows)."""

    PASSED = "passed"
    PARTIAL = "partial"
    FAILED = "failed"
    TIMEOUT = "timeout"
    NOT_RUN = "not run"
    TAMPERED = "tampered"
    USES_REFERENCE = "uses-reference"


class Status(enum.Enum):
    """A notebook's status in grades.csv (the value is the exact string written there)."""

    GRADED = "graded"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel-died"
    TAMPERED = "tampered"
    USES_REFERENCE = "uses-reference"
    EMPTY_FILE = "empty-file"
    INVALID_NOTEBOOK = "invalid-notebook"
    WRONG_ASSIGNMENT = "wrong-assignment"
    WRONG_FILE_NAME = "wrong-file-name"
    MISSING_NOTEBOOK = "missing-notebook"
    GRADER_ERROR = "grader-error"
    # graded in full, but answer cells had lost their nbgrader metadata: matched by content or
    # position (assemble.py); a TA may want to look at the notebook
    MATCHED = "matched-without-metadata"


@dataclass(frozen=True)
class Verdict:
    """The verdict on one test cell."""

    outcome: Outcome
    score: float = 0.0
    message: str = ""


VOIDED = "scored 0: "  # the prefix of a voided test's message (feedback text only)


def judge_test(findings: Iterable[Finding], *, status: str, interrupted: bool, score: float,
               points: float, timeout: float, ename: str = "", evalue: str = "") -> Verdict:
    """The verdict on a test cell that ran to its end.

    Args:
        findings: what the guard found before and after the cell (any voids the test).
        status: the execute reply's status ("ok" or "error").
        interrupted: the cell was interrupted by the time limit.
        score: the cell's score when it passed (nbgrader's partial credit, see runner).
        points: the cell's points.
        timeout: the per-cell limit, in seconds (for the message).
        ename, evalue: the error of a failed cell.
    """
    found = list(dict.fromkeys(findings))
    if found:
        kinds = {f.kind for f in found}
        outcome = (Outcome.USES_REFERENCE if FindingKind.USES_REFERENCE in kinds
                   else Outcome.TAMPERED)
        return Verdict(outcome, 0.0, VOIDED + "; ".join(f.text for f in found))
    if status == "ok" and not interrupted:
        return Verdict(Outcome.PASSED if score >= points else Outcome.PARTIAL, score)
    if interrupted:
        return Verdict(Outcome.TIMEOUT, 0.0,
                       f"the test ran longer than {timeout:g} s and was stopped")
    return Verdict(Outcome.FAILED, 0.0, f"{ename}: {evalue}".strip(": "))


def notebook_status(outcomes: Iterable[Outcome], *, died: bool, timed_out: bool) -> Status:
    """A notebook's status: a dead kernel, then a timeout, then delegation, then tampering."""
    seen = set(outcomes)
    if died:
        return Status.KERNEL_DIED
    if timed_out:
        return Status.TIMEOUT
    if Outcome.USES_REFERENCE in seen:
        return Status.USES_REFERENCE
    if Outcome.TAMPERED in seen:
        return Status.TAMPERED
    return Status.GRADED


def join_statuses(statuses: Iterable[Status]) -> str:
    """A student's status over several notebooks: the distinct non-graded ones, "+"-joined."""
    unique = dict.fromkeys(s for s in statuses if s is not Status.GRADED)
    return "+".join(s.value for s in unique) or Status.GRADED.value
