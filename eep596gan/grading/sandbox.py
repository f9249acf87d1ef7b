"""Where student code runs: a kernel in its own namespaces, root file system and cgroup.

Linux only, and it needs root (or CAP_SYS_ADMIN) for `unshare` and `mount`. The kernel runs in
new mount, network, PID, IPC and UTS namespaces (`_sandbox_launch.py` sets them up) on a root
file system built from an allow-list: the system folders, the Python environment, the eep596gan
package folder (not the checkout around it), the data and cache folders, all read-only. The
course, its solutions and hidden tests, the gradebook, the submissions, the grades, any other
checkout of the course and every home folder are simply absent. It can write only to a
size-capped tmpfs /tmp and /dev/shm (its socket folder is made read-only once it listens); /dev
holds only null, zero, full, random, urandom, tty (and GPU nodes); /proc shows its own
processes, with /proc/sys read-only; /sys is read-only. It has no network, no capabilities,
its own System V IPC and host name, and cannot see or signal the grader's processes. A
cgroup per kernel (v1 or v2, where this machine lets root make one) caps its processes and
threads, its CPU share and its memory (cgroups.py); RLIMIT_CPU, RLIMIT_AS and RLIMIT_FSIZE
apply anyway.
It talks to the grader over unix sockets (jupyter's ipc transport): TCP on loopback does not
cross network namespaces.

Where this is unavailable, kernels run unsandboxed with a loud warning; a deployment must then
add its own isolation (a container per kernel, an unprivileged user, no network).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from functools import cache
from pathlib import Path

__all__ = ["sandbox_available", "sandbox_command", "hidden_paths", "package_repo", "PACKAGE",
           "SANDBOX_WARNING", "seal", "host_namespaces", "kept_paths", "sweep_kernel_folders"]

LAUNCHER = Path(__file__).with_name("_sandbox_launch.py")
PACKAGE = Path(__file__).resolve().parent.parent  # the eep596gan package's folder
UNSHARE = ("unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--mount-proc",
           "--kill-child", "--propagation", "private", "--")
TOOLS = ("unshare", "mount", "setpriv", "nsenter")
SANDBOX_WARNING = (
    "WARNING: eep596gan grade is running student code WITHOUT a sandbox ({why}). Student code "
    "can read the solutions, hidden tests and other students' work, write files and use the "
    "network. Grade as root on Linux (unshare + mount), or run each grading job in an isolated "
    "container without network access.")


@cache
def sandbox_available() -> tuple[bool, str]:
    """(whether kernels can be sandboxed here, why not)."""
    if os.environ.get("EEP596GAN_NO_SANDBOX"):
        return False, "EEP596GAN_NO_SANDBOX is set"
    if not sys.platform.startswith("linux"):
        return False, f"sandboxing needs Linux namespaces; this is {sys.platform}"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return False, f"{', '.join(missing)} not found"
    probe = ("mount -t tmpfs -o size=16k tmpfs /mnt && "
             "setpriv --bounding-set=-all --inh-caps=-all --no-new-privs -- true")
    try:
        done = subprocess.run([*UNSHARE, "sh", "-c", probe], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"unshare failed: {err}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        return False, f"unshare/mount refused ({why}); run as root"
    return _dry_run()


def _dry_run() -> tuple[bool, str]:
    """Build a whole sandbox once (new root, /dev, /proc, /sys) and run Python in it."""
    with tempfile.TemporaryDirectory(prefix="eep596gan-probe-",
                                     dir="/tmp" if os.path.isdir("/tmp") else None) as tmp:
        (Path(tmp) / "k").mkdir()
        config = {"root": f"{tmp}/root", "sockets": f"{tmp}/k", "tmp_mb": 1, "shm_mb": 1,
                  "hide": [], "keep": kept_paths((), {}), "support": None, "cgroups": [],
                  "argv": [sys.executable, "-I", "-S", "-c", "pass"],
                  "env": {"PATH": "/usr/bin:/bin"}, "rlimits": {}}
        try:
            done = subprocess.run(sandbox_command(Path(tmp) / "sandbox.json", config),
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            return False, f"the sandbox launcher failed: {err}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        return False, f"the sandbox launcher failed ({why})"
    return True, ""


def warn_unsandboxed() -> str:
    """The warning for unsandboxed grading, with the reason."""
    return SANDBOX_WARNING.format(why=sandbox_available()[1])


def host_namespaces() -> dict[str, str]:
    """The grader's own namespaces: the launcher refuses to run in any of them."""
    return {n: os.readlink(f"/proc/self/ns/{n}") for n in ("mnt", "net", "ipc", "uts")}


def sandbox_command(config_path: Path, config: dict) -> list[str]:
    """Write the sandbox's config (`_sandbox_launch.py` reads it; with the grader's namespaces,
    which the launcher refuses to run in) to config_path, in the kernel's folder, after removing
    those that killed graders left next to it; the command that starts the kernel."""
    sweep_kernel_folders(str(config_path.parent.parent))
    grader = {"pid": os.getpid(), "pid_ns": os.readlink("/proc/self/ns/pid")}
    config_path.write_text(json.dumps({**config, "host_ns": host_namespaces(), "grader": grader}))
    return [*UNSHARE, sys.executable, "-I", "-S", str(LAUNCHER), str(config_path)]


def sweep_kernel_folders(tmp: str | None) -> None:
    """Remove kernel folders (`eep596gan-k*` in tmp) left by a grader that was killed: its
    sandbox.json names a grader pid, in this PID namespace, that no longer runs."""
    own_ns = os.readlink("/proc/self/ns/pid") if os.path.exists("/proc/self/ns/pid") else None
    for folder in Path(tmp or tempfile.gettempdir()).glob("eep596gan-k*"):
        try:
            grader = json.loads((folder / "sandbox.json").read_text()).get("grader", {})
        except (OSError, ValueError, AttributeError):
            continue
        if (own_ns and grader.get("pid_ns") == own_ns and isinstance(grader.get("pid"), int)
                and not Path(f"/proc/{grader['pid']}").exists()):
            shutil.rmtree(folder, ignore_errors=True)


def kept_paths(extra, env: dict[str, str]) -> list[str]:
    """What a sandboxed kernel sees besides the system folders (all read-only): the Python
    environment, the eep596gan package folder (not the checkout around it), the data and cache
    folders the kernel's environment names, and `extra`."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, str(PACKAGE),
             os.path.dirname(os.path.realpath(sys.executable)), *extra}
    paths.update(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib"))
    paths.update(env[k] for k in ("EEP596GAN_DATA", "EEP596GAN_CACHE") if env.get(k))
    return sorted(p for p in paths if p and os.path.exists(p))


def _keep(path: Path) -> set[Path]:
    """A path and its parents: folders that must stay visible."""
    path = path.resolve()
    return {path, *path.parents}


def hidden_paths(roots: list[Path], keep: list[Path], extra: list[Path]) -> list[str]:
    """Top-level entries of each root that are not on the way to a path in `keep`, plus `extra`.

    Args:
        roots: the course folder and the repository that holds the eep596gan package.
        keep: paths the kernel needs (the virtual environment, the package, the release).
        extra: folders to hide wherever they are (submissions, output, ...).
    """
    visible = set().union(*(_keep(p) for p in keep)) if keep else set()
    out = []
    for root in roots:
        if not root.is_dir():
            continue
        for entry in sorted(root.iterdir()):
            resolved = entry.resolve()
            if resolved in visible or any(resolved in _keep(k) for k in keep):
                continue
            if any(k.resolve().is_relative_to(resolved) for k in keep):
                continue
            out.append(str(resolved))
    for path in extra:
        resolved = str(Path(path).resolve())
        if resolved not in out:
            out.append(resolved)
    return out


def package_repo() -> Path | None:
    """The folder holding the eep596gan package, when it is a source checkout (editable install)."""
    repo = PACKAGE.parent
    return None if "site-packages" in repo.parts or "dist-packages" in repo.parts else repo


# ------------------------------------------------------------------------ sealing
def seal(pid: int, folder: str) -> None:
    """Make the kernel's socket folder read-only in its sandbox (process `pid` is in its mount
    namespace) once the kernel listens: student code then cannot write to the host's disk."""
    cmd = [shutil.which("nsenter") or "nsenter", "--target", str(pid), "--mount", "--",
           shutil.which("mount") or "mount", "-o", "remount,bind,ro,nosuid,nodev,noexec", folder]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    if done.returncode != 0:
        raise RuntimeError(f"cannot seal the kernel's socket folder: {done.stderr.strip()}")
