"""Where student code runs: a kernel in its own mount, network and PID namespaces.

Linux only, and it needs root (or CAP_SYS_ADMIN) for `unshare` and `mount`. Inside, the kernel
sees a private /tmp, cannot read the source notebooks, hidden tests, gradebook, other students'
submissions or the grades, cannot write anywhere but its own /tmp, has no network and no
capabilities, and cannot see the grader's processes. It talks to the grader over unix sockets
(jupyter's ipc transport): TCP on loopback does not cross network namespaces.

Where this is unavailable, kernels run unsandboxed with a loud warning; a deployment must then
add its own isolation (a container per kernel, an unprivileged user, no network).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

__all__ = ["sandbox_available", "sandbox_command", "hidden_paths", "package_repo", "PACKAGE",
           "SANDBOX_WARNING"]

LAUNCHER = Path(__file__).with_name("_sandbox_launch.py")
PACKAGE = Path(__file__).resolve().parent.parent  # the eep596gan package's folder
UNSHARE = ("unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--kill-child",
           "--propagation", "private", "--")
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
    missing = [t for t in ("unshare", "mount", "setpriv") if shutil.which(t) is None]
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
    return True, ""


def warn_unsandboxed() -> str:
    """The warning for unsandboxed grading, with the reason."""
    return SANDBOX_WARNING.format(why=sandbox_available()[1])


def sandbox_command(config_path: Path) -> list[str]:
    """The command that starts a kernel in the sandbox described by config_path."""
    return [*UNSHARE, sys.executable, "-I", "-S", str(LAUNCHER), str(config_path)]


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
