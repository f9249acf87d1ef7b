"""Worker processes that grade students in parallel (`python -m eep596gan.grading.worker`).

Plain subprocesses talking JSON lines over pipes, rather than multiprocessing: they never
re-import the caller's `__main__` (a script, a notebook, stdin), and a worker that dies takes
only its current student with it. Protocol: the first line is the job; then one line per
student in, one result line out.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from .kernel import KernelOptions
from .runner import RunOptions
from .student import Job, grade_student
from .submissions import Submission

__all__ = ["WorkerPool", "job_to_json", "job_from_json", "sub_to_json", "sub_from_json"]


def job_to_json(job: Job) -> str:
    return json.dumps(asdict(job))


def job_from_json(text: str) -> Job:
    raw = json.loads(text)
    opts = raw["options"]
    kernel = opts["kernel"]
    kernel = KernelOptions(**{**kernel, "hide": tuple(kernel["hide"]),
                              "keep_tmp": tuple(kernel["keep_tmp"]),
                              "env": tuple(tuple(e) for e in kernel["env"])})
    return Job(raw["course"], raw["assignment"], raw["out"],
               RunOptions(**{**opts, "kernel": kernel}))


def sub_to_json(sub: Submission) -> str:
    return json.dumps({"student_id": sub.student_id,
                       "files": {k: str(v) for k, v in sub.files.items()},
                       "others": [str(p) for p in sub.others]})


def sub_from_json(text: str) -> Submission:
    raw = json.loads(text)
    return Submission(raw["student_id"], {k: Path(v) for k, v in raw["files"].items()},
                      [Path(p) for p in raw["others"]])


class WorkerPool:
    """`jobs` worker processes; `map` yields (submission, row or None) as students finish."""

    def __init__(self, job, jobs: int):
        self.job_line = job_to_json(job) + "\n"
        self.jobs = jobs

    def _spawn(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "eep596gan.grading.worker"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                bufsize=1, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        proc.stdin.write(self.job_line)
        proc.stdin.flush()
        return proc

    def map(self, subs: list) -> Iterator[tuple[object, dict | None]]:
        queue = list(reversed(subs))
        sel = selectors.DefaultSelector()
        busy: dict[int, tuple[subprocess.Popen, object]] = {}

        def feed(proc):
            if not queue:
                proc.stdin.close()
                proc.wait()
                return
            sub = queue.pop()
            proc.stdin.write(sub_to_json(sub) + "\n")
            proc.stdin.flush()
            busy[proc.pid] = (proc, sub)
            sel.register(proc.stdout, selectors.EVENT_READ, proc)

        for _ in range(min(self.jobs, len(subs))):
            feed(self._spawn())
        try:
            while busy:
                for key, _ in sel.select():
                    proc = key.data
                    line = proc.stdout.readline()
                    sel.unregister(proc.stdout)
                    _, sub = busy.pop(proc.pid)
                    if line:
                        yield sub, json.loads(line)
                        feed(proc)
                    else:  # the worker died with this student: report it, start another
                        proc.wait()
                        yield sub, None
                        if queue:
                            feed(self._spawn())
        finally:
            for proc, _ in busy.values():
                proc.kill()


def main() -> int:
    protocol, sys.stdout = sys.stdout, sys.stderr  # anything else printed goes to stderr
    job = job_from_json(sys.stdin.readline())
    for line in sys.stdin:
        if line.strip():
            start = time.time()
            row = grade_student(job, sub_from_json(line))
            row["_timing"] = [os.getpid(), start, time.time()]
            protocol.write(json.dumps(row) + "\n")
            protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
