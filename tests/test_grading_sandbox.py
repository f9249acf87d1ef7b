"""The sandbox keeps the grading machine as it was (issue 13, the host).

Hostile `mini` submissions (tests/grading_fixtures/host_probes.py) are graded through `grade()`
next to an innocent correct and an innocent wrong one, twice: once beside a student who only
sleeps (the quiet baseline), once beside a CPU hog with 48 children. The hostile ones must get
no more than their honest answers deserve, the innocent ones exactly their own grades both
times, the innocent student's grading must not slow down much beside the hog, and the host
must be left as it was: no file in /dev or /dev/shm, no System V segment, no host name change,
no process, cgroup or kernel folder left behind, no other checkout of the course seen.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from grading_fixtures import host_probes as H
from grading_fixtures import minicourse as mc
from grading_fixtures import variants as V

from eep596gan.grading import grade
from eep596gan.grading.cgroups import CGROUP_PREFIX, KernelCgroup, cgroup_parents
from eep596gan.grading.sandbox import LAUNCHER, PACKAGE, host_namespaces, sandbox_available
from eep596gan.paths import data_dir

SANDBOX, WHY_NOT = sandbox_available()
needs_sandbox = pytest.mark.skipif(not SANDBOX, reason=f"no namespace sandbox here: {WHY_NOT}")
TOKEN = "tok" + secrets.token_hex(6)
SHM_KEY = 0x5E000000 + secrets.randbelow(1 << 20)
HOG_SECONDS = 8.0
TIMEOUT = 30
SLOWDOWN_BOUND = 2.0  # innocent grading beside the hog / beside a sleeper (measured ~1.1-1.3)


def _host_state() -> dict[str, object]:
    def names(folder):
        try:
            return set(os.listdir(folder))
        except OSError:
            return set()

    with open("/proc/sysvipc/shm") as f:
        shm_keys = {int(line.split()[0]) for line in list(f)[1:] if line.split()}
    return {"dev": names("/dev"), "dev_shm": names("/dev/shm"), "shm_keys": shm_keys,
            "hostname": socket.gethostname(),
            "kdirs": {n for n in names("/tmp") if n.startswith("eep596gan-k")}}


def _marked_processes() -> list[str]:
    """Command lines on the host that carry TOKEN (a hog, a survivor)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if TOKEN in cmdline and "pytest" not in cmdline:
            found.append(f"{pid}: {cmdline[:120]}")
    return found


def _our_kernel_folders(names: set[str], base: str) -> list[str]:
    """Kernel folders in /tmp still there after a moment that graded this test's students
    (other graders on this machine may be running kernels of their own)."""
    deadline = time.monotonic() + 5
    while names and time.monotonic() < deadline:
        names = {n for n in names if (Path("/tmp") / n).exists()}
        time.sleep(0.2)
    ours = []
    for name in names:
        try:
            config = (Path("/tmp") / name / "sandbox.json").read_text()
        except OSError:
            config = ""
        if base in config:
            ours.append(name)
    return ours


def _our_cgroups(worker_pids: set[str]) -> list[str]:
    return [str(p) for parent in cgroup_parents().values() for p in parent.iterdir()
            if p.name.startswith(CGROUP_PREFIX) and p.name.split("-")[1] in worker_pids]


@pytest.fixture(scope="module")
def decoys(tmp_path_factory):
    """Other checkouts of the course (a solutions notebook each) where a machine might keep one."""
    made, paths = [], {}
    for label, base in [("decoy_home", Path.home()), ("decoy_var_tmp", Path("/var/tmp")),
                        ("decoy_tmp", Path("/tmp"))]:
        folder = base / f"eep596gan-decoy-{TOKEN}"
        try:
            mc.build_course(folder)
        except OSError:
            continue
        made.append(folder)
        paths[label] = str(folder / "solutions" / "mini" / "mini.ipynb")
    course = mc.build_course(tmp_path_factory.mktemp("course"))
    paths["course_solutions"] = str(course / "solutions" / "mini" / "mini.ipynb")
    yield course, paths
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


def _grade(course, base: Path, variants: list[V.Variant]):
    subs, out = base / "submissions", base / "out"
    for v in variants:
        mc.write_submission(subs, v.student_id, v.content, v.name)
    start = time.perf_counter()
    rows = grade("mini", subs, out, course=course, jobs=2, timeout=TIMEOUT, progress=False)
    seconds = time.perf_counter() - start
    with open(out / "timings.csv", newline="") as f:
        timings = {r["student_id"]: r for r in csv.DictReader(f)}
    return {r["student_id"]: r for r in rows}, timings, out, seconds


def _feedback(out: Path, student: str) -> str:
    page = (out / "feedback" / student / "mini.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page.split("<body", 1)[-1]))


INNOCENT = [V.Variant("c-innocent-right", V.nb(), 5, "graded"),
            V.Variant("d-innocent-wrong", V.nb(mse=V.MSE_WRONG), 3, "graded")]
DELAY = 2.5  # seconds: the innocent students start once the hog (student a) burns


@pytest.fixture(scope="module")
def graded(decoys, tmp_path_factory):
    course, decoy_paths = decoys
    before = _host_state()
    quiet = _grade(course, tmp_path_factory.mktemp("quiet"),
                   [H.sleeper("a-sleeper", HOG_SECONDS), H.sleeper("b-delay", DELAY), *INNOCENT])
    hostile = [H.hog("a-hog", TOKEN, HOG_SECONDS), H.sleeper("b-delay", DELAY), *INNOCENT,
               H.host_probe("e-host-probe", TOKEN, SHM_KEY, decoy_paths),
               H.filler("f-filler", TOKEN)]
    loud = _grade(course, tmp_path_factory.mktemp("loud"), hostile)
    after = _host_state()
    return {"quiet": quiet, "loud": loud, "variants": {v.student_id: v for v in hostile},
            "before": before, "after": after, "decoys": decoy_paths,
            "base": str(tmp_path_factory.getbasetemp()), "course": course}


@needs_sandbox
def test_innocent_students_get_exactly_their_grades_and_hostile_ones_no_more(graded):
    for name in ("quiet", "loud"):
        rows = graded[name][0]
        for v in INNOCENT:
            assert (rows[v.student_id]["code_score"], rows[v.student_id]["status"]) == (
                v.score, v.status), (name, rows[v.student_id])
    rows, _, out, seconds = graded["loud"]
    for name, v in graded["variants"].items():
        assert rows[name]["code_score"] <= v.score, (name, rows[name])
        print(f"{name}: {rows[name]['code_score']:g}/{v.score:g} {rows[name]['status']}")
    print(f"quiet batch {graded['quiet'][3]:.1f} s, hostile batch {seconds:.1f} s")


@needs_sandbox
def test_a_cpu_hog_on_the_other_worker_barely_slows_an_innocent_student(graded):
    (_, quiet, *_), (_, loud, out, _) = graded["quiet"], graded["loud"]
    hog = H.probes(_feedback(out, "a-hog"))
    assert int(hog["hogs"]) == 48  # they all burned, beside the innocent students
    hog_end = float(loud["a-hog"]["start"]) + float(loud["a-hog"]["seconds"])
    for v in INNOCENT:  # graded by the other worker while the hog burned
        row = loud[v.student_id]
        assert row["worker"] != loud["a-hog"]["worker"]
        assert float(row["start"]) > DELAY and float(row["start"]) + float(row["seconds"]) < hog_end
    base = sum(float(quiet[v.student_id]["seconds"]) for v in INNOCENT)
    busy = sum(float(loud[v.student_id]["seconds"]) for v in INNOCENT)
    print(f"innocent students: {base:.2f} s beside a sleeper, {busy:.2f} s beside 48 CPU hogs "
          f"({busy / base:.2f}x); the hog's process flood stopped at {hog['flood']} "
          f"({hog.get('flood_error', 'no error')})")
    assert busy < SLOWDOWN_BOUND * base + 1.0
    if cgroup_parents():
        assert int(hog["flood"]) < 300 and hog.get("flood_error")  # the pids cgroup


@needs_sandbox
def test_dev_ipc_proc_sys_and_host_name_are_the_sandboxs_own(graded):
    rows, _, out, _ = graded["loud"]
    p = H.probes(_feedback(out, "e-host-probe"))
    assert p, "the probe cell did not report"
    assert p["hostname"] != graded["before"]["hostname"]
    assert p["sethostname"].startswith("blocked")
    for label in ("dev_write", "dev_chmod", "dev_unlink", "proc_sys_write", "sys_write"):
        assert p[label].startswith("blocked"), (label, p[label])
    assert p["sysrq_open"].startswith("blocked")
    assert p["proc_sys_access_w"] == "False"
    assert set(p["dev"].split(",")) <= {"fd", "full", "null", "random", "shm", "stderr", "stdin",
                                        "stdout", "tty", "urandom", "zero"} | {
        n for n in p["dev"].split(",") if n.startswith("nvidia")}
    assert p["shm"].startswith("DONE")  # made in the sandbox's own IPC namespace...
    assert SHM_KEY not in graded["after"]["shm_keys"]  # ...which the host never sees
    assert p["dev_shm_write"].startswith("DONE")
    before, after = graded["before"], graded["after"]
    assert not [n for n in after["dev"] | after["dev_shm"] if TOKEN in n]
    assert after["hostname"] == before["hostname"]


@needs_sandbox
def test_no_other_checkout_of_the_course_is_visible(graded):
    p = H.probes(_feedback(graded["loud"][2], "e-host-probe"))
    for label in graded["decoys"]:
        assert p[label] == "blocked:FileNotFoundError", (label, p[label])
    release = str(graded["course"] / "assignments") + "/"  # what students are given anyway
    outside = [n for n in p["notebooks_outside"].split(",") if n and not n.startswith(release)]
    assert not outside, outside
    kept = [sys.prefix, os.path.realpath(sys.base_prefix), str(PACKAGE), str(data_dir())]
    tops = {Path(os.path.realpath(k)).parts[1] for k in kept}
    system = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "sys",
              "tmp", "usr"}
    assert set(p["top"].split(",")) <= system | tops, p["top"]
    print(f"top of the sandbox's file system: {p['top']}; {p['notebooks_seen']} notebooks seen, "
          "all inside the Python environment or the release")


@needs_sandbox
def test_writes_are_capped_and_nothing_reaches_the_hosts_disk(graded):
    p = H.probes(_feedback(graded["loud"][2], "f-filler"))
    wrote = {k: int(v.split(":")[0]) for k, v in p.items()}
    print("bytes written: " + ", ".join(f"{k} {v >> 20} MiB" for k, v in wrote.items()))
    for label in ("sockets", "var_tmp", "root", "package"):
        assert wrote[label] == 0, (label, p[label])
    assert wrote["cwd"] + wrote["tmp"] + wrote["home"] <= 512 << 20  # the capped /tmp
    assert wrote["dev_shm"] <= 64 << 20
    assert wrote["log_fd"] <= 256 << 20  # the kernel's log, on the host's disk: RLIMIT_FSIZE
    assert sum(wrote.values()) < 900 << 20


@needs_sandbox
def test_nothing_is_left_on_the_host(graded):
    before, after = graded["before"], graded["after"]
    assert not _our_kernel_folders(after["kdirs"] - before["kdirs"], graded["base"])
    assert not [n for n in after["dev"] | after["dev_shm"] if TOKEN in n]
    assert not _marked_processes()
    workers = {r["worker"] for name in ("quiet", "loud") for r in graded[name][1].values()}
    assert not _our_cgroups(workers)
    for decoy in graded["decoys"].values():  # the decoys are still there, untouched
        assert Path(decoy).is_file()


# ------------------------------------------------------------------- the pieces, in milliseconds
def test_the_launcher_refuses_to_run_in_the_graders_own_namespaces(tmp_path):
    """Were it started without `unshare` (or by an older sandbox.py), it would mount over the
    host's folders and rename the host: it stops before changing anything."""
    config = tmp_path / "sandbox.json"
    config.write_text(json.dumps({"host_ns": host_namespaces(), "root": str(tmp_path / "root")}))
    done = subprocess.run([sys.executable, "-I", "-S", str(LAUNCHER), str(config)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "not in fresh namespaces" in done.stderr
    assert not (tmp_path / "root").exists()


def test_kept_paths_never_expose_the_root_or_tmp_and_nest_once():
    from eep596gan.grading._sandbox_launch import kept

    paths = ["/", "/tmp", "/usr", "/usr/lib", sys.prefix, sys.prefix + "/lib", "/nonexistent"]
    out = kept(paths)
    assert "/" not in out and "/tmp" not in out and "/nonexistent" not in out
    assert "/usr" in out and "/usr/lib" not in out and os.path.realpath(sys.prefix) in out


@pytest.mark.skipif(not cgroup_parents(), reason="root cannot make cgroups here")
def test_a_kernel_cgroup_caps_processes_and_cpu_and_is_removed():
    group = KernelCgroup(pids=17, cpus=0.5, memory_mb=1024)
    folders = list(group.folders)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        assert folders
        for folder in folders:
            if (folder / "pids.max").exists():
                assert (folder / "pids.max").read_text().strip() == "17"
            if (folder / "cpu.cfs_quota_us").exists():
                assert (folder / "cpu.cfs_quota_us").read_text().strip() == "50000"
            if (folder / "cpu.max").exists():
                assert (folder / "cpu.max").read_text().split()[0] == "50000"
        (folders[0] / "cgroup.procs").write_text(str(sleeper.pid))
    finally:
        group.remove()
    try:
        assert sleeper.wait(timeout=10) == -9  # what was left in it was killed
    finally:
        sleeper.kill()
    assert not any(f.exists() for f in folders)
