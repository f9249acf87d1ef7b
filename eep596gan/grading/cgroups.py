"""One kernel's cgroup: a cap on its processes and threads, its CPU time and its memory.

The sandbox (sandbox.py) runs each kernel in a PID namespace, but that alone caps nothing: a
kernel that forks 48 CPU-burning children (each in a session of its own, so that the
scheduler's autogroups count them apart) starves the other worker's student, and RLIMIT_NPROC
does not apply to root. Where root can make cgroups (v1: one folder per controller under the
grader's own cgroup; v2: under the top of the unified hierarchy), each kernel gets one:
`pids.max`, a CFS quota of `cpus` cores and a memory limit for all its processes together. The
sandbox launcher joins it before anything runs; `remove` kills what is left and deletes it.
Where cgroups are unavailable (a container without a writable cgroup file system), folders is
empty and only the rlimits apply.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
import signal
import sys
import time
from functools import cache
from pathlib import Path

__all__ = ["KernelCgroup", "cgroup_parents", "CGROUP_PREFIX"]

CGROUP_PREFIX = "eep596gan-"  # a kernel's cgroup: eep596gan-<grader pid>-<n>-<random>
_COUNTER = itertools.count()
CONTROLLERS = ("pids", "cpu", "memory")
CPU_PERIOD = 100_000  # microseconds


def _mounts() -> list[tuple[str, str, str, list[str]]]:
    """(root in its hierarchy, mount point, fs type, super options) of each mount."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            out.append((fields[3], point, tail[0], tail[2].split(",") if len(tail) > 2 else []))
    return out


def _inside(mount_point: str, mount_root: str, own: str) -> Path:
    """The folder of cgroup `own` in a hierarchy mounted at mount_point from mount_root."""
    rel = os.path.relpath(own, mount_root) if own.startswith(mount_root) else "."
    return Path(mount_point) / ("" if rel == "." else rel)


@cache
def cgroup_parents() -> dict[str, Path]:
    """Where a kernel's cgroups are made, by controller ("pids", "cpu", "memory"; v1) or
    {"v2": folder} on a unified hierarchy; {} where root cannot make them (a container)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return {}
    try:
        mounts = _mounts()
        own = {}
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, names, path = line.rstrip("\n").split(":", 2)
                for name in names.split(",") if names else ["v2"]:
                    own[name] = path
    except OSError:
        return {}
    out = {}
    for c in CONTROLLERS:  # v1: the grader's own cgroup in each controller's hierarchy
        for root, point, fstype, opts in mounts:
            folder = _inside(point, root, own.get(c, "/"))
            if fstype == "cgroup" and c in opts and os.access(folder, os.W_OK):
                out.setdefault(c, folder)
    if out:
        return out
    for root, point, fstype, _ in mounts:  # v2: the top of the hierarchy (children with
        if fstype != "cgroup2" or root != "/":  # controllers need a parent without processes)
            continue
        control = Path(point) / "cgroup.subtree_control"
        for c in CONTROLLERS:  # enabled for children of the top, where it is not yet
            with contextlib.suppress(OSError):
                if c not in control.read_text().split():
                    control.write_text(f"+{c}")
        with contextlib.suppress(OSError):
            if {"pids", "cpu"} <= set(control.read_text().split()):
                return {"v2": Path(point)}
    return {}


def _limits(kind: str, pids: int, cpus: float, memory_mb: int) -> dict[str, str]:
    quota = max(1000, int(cpus * CPU_PERIOD)) if cpus > 0 else -1  # -1: no cap
    return {"pids": {"pids.max": str(pids)},
            "cpu": {"cpu.cfs_period_us": str(CPU_PERIOD), "cpu.cfs_quota_us": str(quota)},
            "memory": {"memory.limit_in_bytes": str(memory_mb << 20)},
            "v2": {"pids.max": str(pids), "cpu.max": f"{quota if quota > 0 else 'max'} "
                   f"{CPU_PERIOD}",
                   "memory.max": str(memory_mb << 20)}}[kind]


def _empty(folder: Path, seconds: float) -> None:
    """Kill what runs in a cgroup, then remove it (its processes take a moment to exit)."""
    deadline = time.monotonic() + seconds
    while folder.is_dir():
        try:
            folder.rmdir()
            return
        except OSError:
            pass
        try:
            pids = (folder / "cgroup.procs").read_text().split()
        except OSError:
            pids = []
        for pid in pids:
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        if time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _sweep(parent: Path) -> None:
    """Remove empty cgroups left by graders that died (their pid is gone). One with processes
    is left alone: its grader may live in another PID namespace."""
    try:
        names = [p for p in parent.iterdir() if p.name.startswith(CGROUP_PREFIX)]
    except OSError:
        return
    for folder in names:
        owner = folder.name[len(CGROUP_PREFIX):].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            with contextlib.suppress(OSError):
                folder.rmdir()  # refused while processes remain


class KernelCgroup:
    """One kernel's cgroup: at most `pids` processes and threads, `cpus` cores of CPU time,
    `memory_mb` of memory for all its processes together. `folders` (empty where cgroups are
    unavailable) are joined by the sandbox launcher; `remove` kills what is left, deletes them."""

    def __init__(self, pids: int, cpus: float, memory_mb: int):
        self.folders: list[Path] = []
        name = f"{CGROUP_PREFIX}{os.getpid()}-{next(_COUNTER)}-{secrets.token_hex(4)}"
        for kind, parent in cgroup_parents().items():
            _sweep(parent)
            folder = parent / name
            try:
                folder.mkdir()
            except OSError:
                continue
            try:
                for file, value in _limits(kind, pids, cpus, memory_mb).items():
                    if kind != "v2" or (folder / file).exists():
                        (folder / file).write_text(value)
            except OSError:
                _empty(folder, 1.0)
                continue
            self.folders.append(folder)

    def remove(self) -> None:
        for folder in self.folders:
            _empty(folder, 5.0)
        self.folders = []
