"""Set up a grading sandbox, then exec the kernel (run as `python -I -S _sandbox_launch.py CONFIG`).

Runs as root inside fresh mount, network, PID, IPC and UTS namespaces (`unshare`), before any
student code. Standard library only. The kernel gets a new root file system built from an
allow-list: whatever is not on it (other checkouts of the course, solutions anywhere, home
folders, the grader's files) does not exist for student code. Steps:
1. join the kernel's cgroups (process count, CPU, memory), set the sandbox's host name;
2. a small tmpfs becomes the new root: read-only binds of /usr, /bin, /sbin, /lib*, a few files
   of /etc and the kept paths (the Python environment, the eep596gan package, data, cache);
3. a size-capped tmpfs /tmp with the kernel's socket folder bound from the host (the grader
   makes that bind read-only once the kernel listens) and /tmp/work holding the support files;
4. a private /dev (null, zero, full, random, urandom, tty, GPU nodes, a capped /dev/shm), a
   fresh /proc with /proc/sys, /proc/sysrq-trigger and the like read-only or masked, a fresh
   read-only /sys;
5. what the hide list names, where it exists in the new root, is covered; the new root is
   made read-only and becomes / (pivot_root; the old root is detached);
6. resource limits, then exec the kernel through setpriv with no capabilities and
   no_new_privs: it cannot undo the mounts, and sees no process of the host.
"""

import ctypes
import glob
import json
import os
import platform
import resource
import shutil
import socket
import stat
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE = 32, 4096, 8192
SAFE = MS_NOSUID | MS_NODEV
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
HOSTNAME = "eep596gan-sandbox"
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("passwd", "group", "hosts", "nsswitch.conf", "host.conf", "gai.conf", "protocols",
       "services", "networks", "mime.types", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
       "localtime", "timezone", "os-release", "debian_version", "alternatives", "ssl", "pki",
       "ca-certificates", "ca-certificates.conf", "crypto-policies", "fonts", "mtab",
       "locale.alias", "locale.conf", "matplotlibrc", "python3*")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
PROC_RO = ("sys", "sysrq-trigger", "irq", "bus", "fs")
PROC_MASKED = ("kcore", "keys", "key-users", "timer_list", "sched_debug", "latency_stats",
               "acpi", "scsi", "asound", "kmsg", "config.gz")
SYS_MASKED = ("firmware", "kernel/security", "kernel/debug", "fs/cgroup")
WORK_DIRS = ("work", "home", "ipython", "jupyter", "mpl")
NAMESPACES = ("mnt", "net", "ipc", "uts")  # checked against the grader's before any change

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _b(s):
    return None if s is None else os.fsencode(s)


def mount(source, target, fstype=None, flags=0, data=None):
    if libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"eep596gan sandbox: mount {source} on {target}: {os.strerror(err)}")


def tmpfs(target, options, flags=SAFE):
    os.makedirs(target, exist_ok=True)
    mount("tmpfs", target, "tmpfs", flags, options)


def read_only(target, flags=SAFE):
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)


def place(target, like_dir):
    """An empty folder or file at target (parents made): something to mount on."""
    if like_dir:
        os.makedirs(target, exist_ok=True)
    elif not os.path.lexists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()


def bind(source, target, flags=SAFE, writable=False):
    """source (a folder, file or device node) at target, read-only unless `writable`."""
    place(target, os.path.isdir(source))
    mount(source, target, None, MS_BIND)
    if not writable:
        read_only(target, flags)


def copy_entry(path, root, flags=SAFE):
    """A host path at the same place in root: a symlink stays a symlink, the rest is bound."""
    target = root + path
    if os.path.islink(path):
        if not os.path.lexists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(os.readlink(path), target)
    elif os.path.exists(path):
        bind(path, target, flags)


def under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def kept(paths):
    """Real paths to bind, none inside another, never / or /tmp (other kernels' sockets); one
    under /usr is bound again: it may be a mount of its own, which the bind of /usr leaves out."""
    out = []
    for path in sorted({os.path.realpath(p) for p in paths if os.path.exists(p)}):
        if not under("/tmp", [path]) and not under(path, ["/proc", "/sys", "/dev", *out]):
            out.append(path)
    return out


def build_dev(root, shm_mb):
    dev = root + "/dev"
    tmpfs(dev, "size=256k,mode=0755", MS_NOSUID | MS_NOEXEC)
    nodes = [f"/dev/{n}" for n in DEVICES] + sorted(glob.glob("/dev/nvidia*"))
    for node in nodes:
        if os.path.isdir(node) and not os.path.islink(node):
            bind(node, root + node, MS_NOSUID | MS_NOEXEC)
        elif os.path.exists(node) and stat.S_ISCHR(os.stat(node).st_mode):
            bind(node, root + node, MS_NOSUID | MS_NOEXEC)  # ro: no chmod/unlink of host nodes
    for name, to in DEV_LINKS.items():
        os.symlink(to, f"{dev}/{name}")
    tmpfs(f"{dev}/shm", f"size={shm_mb}m,mode=1777")
    mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)


def build_proc_sys(root):
    proc = root + "/proc"
    os.makedirs(proc)
    mount("proc", proc, "proc", SAFE | MS_NOEXEC)  # this PID namespace's processes only
    for name in PROC_RO:
        path = f"{proc}/{name}"
        if os.path.exists(path):
            mount(path, path, None, MS_BIND)
            read_only(path, SAFE | MS_NOEXEC)
    cover([f"{proc}/{name}" for name in PROC_MASKED], root)
    sysfs = root + "/sys"
    os.makedirs(sysfs)
    try:
        mount("sysfs", sysfs, "sysfs", MS_RDONLY | SAFE | MS_NOEXEC)
    except OSError:  # no fresh sysfs allowed here: the host's, read-only
        bind("/sys", sysfs, SAFE | MS_NOEXEC)
    cover([f"{sysfs}/{name}" for name in SYS_MASKED], root)


def cover(paths, root):
    """An empty read-only folder over each folder, /dev/null over each file."""
    for path in paths:
        if not os.path.lexists(path) or os.path.islink(path):
            continue
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_RDONLY | SAFE | MS_NOEXEC, "size=4k,mode=0555")
        else:
            mount(root + "/dev/null", path, None, MS_BIND)
            read_only(path, MS_NOSUID | MS_NOEXEC)


def enter(root):
    """Make root the file system's root and detach the old one."""
    os.chdir(root)
    number = PIVOT_ROOT.get(platform.machine())
    if number is not None and libc.syscall(ctypes.c_long(number), b".", b".") == 0:
        if libc.umount2(b".", MNT_DETACH) != 0:
            raise SystemExit("eep596gan sandbox: cannot detach the old root")
    else:  # e.g. the old root is not a mount point: move over it, then chroot (no way back
        mount(root, "/", None, MS_MOVE)  # without CAP_SYS_CHROOT, which the kernel lacks)
        os.chroot(".")
    os.chdir("/")


def main(config_path):
    with open(config_path) as f:
        cfg = json.load(f)
    host = cfg.get("host_ns", {})
    same = [n for n in NAMESPACES if os.readlink(f"/proc/self/ns/{n}") == host.get(n)]
    if len(host) < len(NAMESPACES) or same:  # never mount or rename on the host itself
        raise SystemExit(f"eep596gan sandbox: not in fresh namespaces ({', '.join(same)}): "
                         "run through sandbox.sandbox_command")
    # 1. cgroups (joined before anything runs) and a host name of our own.
    for folder in cfg.get("cgroups", []):
        with open(os.path.join(folder, "cgroup.procs"), "w") as f:
            f.write("0")
    socket.sethostname(HOSTNAME)
    # 2. The new root: system folders, a few files of /etc, the kept paths; all read-only.
    root = cfg["root"]
    tmpfs(root, "size=1m,mode=0755")
    tmpfs(root + "/tmp", f"size={cfg['tmp_mb']}m,mode=1777")
    for path in SYSTEM:
        copy_entry(path, root)
    for pattern in ETC:
        for path in sorted(glob.glob(os.path.join("/etc", pattern))):
            copy_entry(path, root)
    keep = kept(cfg["keep"])
    for path in keep:
        bind(path, root + path)
    for path in cfg["keep"]:  # a kept path reached through a symlink: the link too
        link = root + os.path.abspath(path)
        if os.path.exists(path) and not os.path.lexists(link):
            try:
                os.makedirs(os.path.dirname(link), exist_ok=True)
                os.symlink(os.path.realpath(path), link)
            except OSError:
                pass
    # 3. The socket folder (writable until the grader seals it), the working folders.
    sockets = cfg["sockets"]
    bind(sockets, root + sockets, writable=True)
    for name in WORK_DIRS:
        os.makedirs(f"{root}/tmp/{name}", exist_ok=True)
    support = cfg.get("support")
    if support and os.path.isdir(support):
        shutil.copytree(support, root + "/tmp/work", dirs_exist_ok=True)
    # 4. /dev, /proc, /sys.
    build_dev(root, cfg["shm_mb"])
    build_proc_sys(root)
    # 5. Hide what is listed (a second layer: the allow-list already leaves most of it out),
    #    except folders on the way to what the kernel needs.
    needed = [*keep, sockets, "/tmp", "/dev", "/proc", "/sys", *SYSTEM]
    hidden = [p for p in cfg["hide"] if not any(under(n, [p]) for n in needed)]
    cover([root + p for p in hidden], root)
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | SAFE)
    enter(root)
    # 6. Limits; the kernel without capabilities, killed when `unshare` (its parent) dies.
    for name, value in cfg["rlimits"].items():
        limit = getattr(resource, "RLIMIT_" + name)
        resource.setrlimit(limit, (value, value))
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    os.chdir("/tmp/work")
    argv = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--",
            *cfg["argv"]]
    os.execvpe(argv[0], argv, cfg["env"])


if __name__ == "__main__":
    main(sys.argv[1])
