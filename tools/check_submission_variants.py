"""Run every submission variant of tests/submissions through nbgrader's executor, check its score.

    EEP596GAN_QUICK=1 .venv/bin/python tools/check_submission_variants.py [NAME ...] [--jobs 2]

The assignments default to every one with a module in tests/submissions/.

For instructors editing the tests: each planted mistake must fail exactly its target test cells and
every correct style must get full marks. (CI checks the same through `eep596gan grade`, in
tests/test_grading_roundtrip.py.) Exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from submissions import VARIANTS, expected_failures, make_submission, score_notebook  # noqa: E402


def check(assignment: str, variant: str) -> tuple[str, str, float, set[str], set[str]]:
    """(assignment, variant, seconds, unexpected failures, unexpected passes)."""
    start = time.perf_counter()
    scores = score_notebook(make_submission(assignment, variant), assignment)
    failed = {grade_id for grade_id, (score, top) in scores.items() if score < top}
    expected = expected_failures(assignment, variant)
    return assignment, variant, time.perf_counter() - start, failed - expected, expected - failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="variant names")
    args = parser.parse_args(argv)
    jobs = [(a, v) for a in args.assignments for v in VARIANTS[a]
            if not args.only or v in args.only]
    bad = 0
    with ProcessPoolExecutor(args.jobs) as pool:
        results = pool.map(check, *zip(*jobs, strict=True))
        for assignment, variant, seconds, extra, missing in results:
            ok = not extra and not missing
            bad += not ok
            note = "" if ok else (f"  unexpected failures {sorted(extra)}, "
                                  f"unexpected passes {sorted(missing)}")
            print(f"{'ok ' if ok else 'BAD'} {assignment}/{variant}: {seconds:.1f} s{note}",
                  flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
