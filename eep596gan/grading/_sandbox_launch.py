"""Set up a grading sandbox, then exec the kernel (run as `python -I -S _sandbox_launch.py CONFIG`).

Runs as root inside fresh mount, network and PID namespaces (`unshare -m -n -p -f`), before any
student code. Standard library only. Steps:
1. a private tmpfs becomes /tmp, holding only this kernel's folder (connection file, sockets)
   and, read-only, what the kernel needs from the old /tmp (a venv or checkout living there);
2. folders and files the kernel must not read are covered (empty tmpfs, /dev/null);
3. every other mount is remounted read-only, so student code cannot change shared files;
4. resource limits (memory, file size, no core dumps);
5. exec the kernel through `setpriv` with no capabilities and no_new_privs: it cannot undo the
   mounts, and the new PID namespace keeps it from seeing or signalling the grader.
"""

import ctypes
import json
import os
import resource
import shutil
import subprocess
import sys

KEEP_WRITABLE = ("/proc", "/dev", "/tmp")
PR_SET_PDEATHSIG = 1


def mount(*args):
    subprocess.run(["mount", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def mount_points():
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            points.append(mp)
    return points


def under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def main(config_path):
    with open(config_path) as f:
        cfg = json.load(f)
    kdir = cfg["kdir"]
    # 1. /tmp: a private tmpfs with this kernel's folder bound back at the same path.
    staging = os.path.join(kdir, ".tmp")
    mount("-t", "tmpfs", "-o", f"size={cfg['tmp_mb']}m,mode=1777", "tmpfs", staging)
    inner = os.path.join(staging, os.path.relpath(kdir, "/tmp"))
    os.makedirs(inner)
    mount("--bind", kdir, inner)
    # What the kernel needs from the old /tmp (a clone or venv living there): read-only binds.
    for path in cfg.get("keep_tmp", []):
        if under(kdir, [path]) or not os.path.isdir(path):
            continue
        target = os.path.join(staging, os.path.relpath(path, "/tmp"))
        os.makedirs(target, exist_ok=True)
        mount("--bind", path, target)
        mount("-o", "remount,bind,ro", target)
    mount("--move", staging, "/tmp")
    for name in ("work", "home", "ipython", "jupyter", "mpl"):
        os.makedirs(os.path.join("/tmp", name), exist_ok=True)
    support = cfg.get("support")
    if support and os.path.isdir(support):
        shutil.copytree(support, "/tmp/work", dirs_exist_ok=True)
    # 2. Hide what student code must not read.
    for path in cfg["hide"]:
        if under(path, ["/tmp"]) or not os.path.lexists(path) or os.path.islink(path):
            continue
        if os.path.isdir(path):
            mount("-t", "tmpfs", "-o", "ro,size=16k,mode=0555", "tmpfs", path)
        else:
            mount("--bind", "/dev/null", path)
    if os.path.isdir("/dev/shm"):
        mount("-t", "tmpfs", "-o", "size=64m,mode=1777", "tmpfs", "/dev/shm")
    # 3. Everything else read-only.
    for mp in mount_points():
        if under(mp, KEEP_WRITABLE) or under(mp, cfg["hide"]):
            continue
        try:
            mount("-o", "remount,bind,ro", mp)
        except subprocess.CalledProcessError as err:
            if mp == "/":
                raise SystemExit(
                    f"eep596gan sandbox: cannot make / read-only: {err.stderr}") from None
    # 4. Limits.
    for name, value in cfg["rlimits"].items():
        limit = getattr(resource, "RLIMIT_" + name)
        resource.setrlimit(limit, (value, value))
    # 5. The kernel, without capabilities, killed when `unshare` (its parent) dies.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    os.chdir("/tmp/work")
    argv = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--",
            *cfg["argv"]]
    os.execvpe(argv[0], argv, cfg["env"])


if __name__ == "__main__":
    main(sys.argv[1])
