"""Run a command and report the peak memory of its whole process tree (summed PSS and RSS).

    python benchmarks/peak_rss.py make test

`/usr/bin/time -v` reports the largest single process; pytest-xdist workers and notebook kernels
are many processes, so this polls /proc (Linux) every 0.2 s and sums over the descendants. PSS
(proportional set size) counts a page shared by n processes as 1/n in each: the memory the run
really takes. RSS counts it n times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def _memory_kib(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process: Pss splits shared pages (torch's libraries) between their
    users.
    """
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def tree_memory_kib(root: int) -> tuple[int, int, list[tuple[int, int]]]:
    """Summed (Rss, Pss) of `root` and all its descendants, and (Pss, pid) of each."""
    tree, rss, pss, todo, each = _children(), 0, 0, [root], []
    while todo:
        pid = todo.pop()
        r, p = _memory_kib(pid)
        rss, pss = rss + r, pss + p
        each.append((p, pid))
        todo.extend(tree.get(pid, []))
    return rss, pss, each


def _cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                .decode(errors="replace").strip())
    except OSError:
        return "?"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv)
    peak_rss = peak_pss = 0
    at_peak: list[tuple[int, str]] = []  # (Pss KiB, command line) of the largest processes then
    peak_at = 0.0
    while proc.poll() is None:
        rss, pss, each = tree_memory_kib(proc.pid)
        peak_rss = max(peak_rss, rss)
        if pss > peak_pss:
            peak_pss = pss
            at_peak = [(p, _cmdline(pid)) for p, pid in sorted(each, reverse=True)[:8]
                       if p > 50 * 1024]
            peak_at = time.perf_counter() - t0
        time.sleep(0.2)
    minutes = (time.perf_counter() - t0) / 60
    print(f"`{' '.join(argv)}`: peak summed PSS {peak_pss / 1024**2:.2f} GiB "
          "(summed RSS, which counts shared libraries once per process, "
          f"{peak_rss / 1024**2:.2f} GiB); {minutes:.1f} min; "
          f"exit {proc.returncode}", file=sys.stderr)
    if at_peak:
        print(f"at the peak ({peak_at / 60:.1f} min in), the largest processes (PSS):",
              file=sys.stderr)
        for p, cmd in at_peak:
            print(f"  {p / 1024:7.0f} MiB  {cmd[:110]}", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if os.name == "posix" else 2)
