"""One IPython kernel per graded notebook: start (sandboxed), execute with limits, stop.

The grader talks to the kernel itself (no nbclient) so that it controls what nbgrader does not:
a per-cell timeout that interrupts and, when the kernel ignores the interrupt, restarts it;
a kernel that dies; output that is capped as it arrives (a million printed lines stay small);
and the verdict of a cell, read from the execute reply rather than from stderr.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import zmq
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from .cgroups import KernelCgroup
from .outputs import MAX_FRAME, MAX_FRAMES, Execution, Outputs
from .sandbox import kept_paths, sandbox_available, sandbox_command, seal

__all__ = ["Kernel", "KernelStartError", "Execution", "KernelOptions"]

MAX_MESSAGE = 64 << 20  # bytes; larger messages from the kernel are dropped by zmq
PASS_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the grader dies, so no kernel outlives it (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL


class KernelStartError(RuntimeError):
    """The kernel did not start (or did not answer) in time."""


@dataclass(frozen=True)
class KernelOptions:
    """How kernels are started."""

    sandbox: bool = True  # run in the namespace sandbox (falls back when unavailable)
    hide: tuple[str, ...] = ()  # paths the kernel must not read
    keep_tmp: tuple[str, ...] = ()  # more paths it may read (besides the venv and package)
    support: str | None = None  # folder copied into the kernel's working folder
    memory_mb: int = 8192  # address-space limit (RLIMIT_AS); gan_training peaks near 4.5 GB
    file_mb: int = 256  # largest file the kernel may write
    tmp_mb: int = 512  # size of its private /tmp
    shm_mb: int = 64  # size of its private /dev/shm
    pids: int = 256  # processes and threads at once (a cgroup, where root can make one)
    cpus: float = 1.0  # cores of CPU time it may use at once (cgroup); <= 0: no cap
    cpu_seconds: int = 3600  # CPU time of any one of its processes (RLIMIT_CPU)
    start_timeout: float = 60.0  # seconds to wait for the kernel to answer
    env: tuple[tuple[str, str], ...] = ()  # extra environment variables


class Kernel:
    """A python kernel in its own process (and sandbox), driven over zmq ipc sockets."""

    def __init__(self, options: KernelOptions):
        self.options = options
        self.sandboxed = options.sandbox and sandbox_available()[0]
        self.proc: subprocess.Popen | None = None
        self.client: BlockingKernelClient | None = None
        self.kdir: Path | None = None
        self._cgroup: KernelCgroup | None = None
        self.context = zmq.Context()
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)

    # ------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        tmp = "/tmp" if os.path.isdir("/tmp") else None
        self.kdir = Path(tempfile.mkdtemp(prefix="eep596gan-k", dir=tmp))
        os.chmod(self.kdir, 0o700)
        sockets = self.kdir / "k"  # all the sandboxed kernel sees of the host's disk
        sockets.mkdir(mode=0o700)
        conn = sockets / "kernel.json"
        write_connection_file(str(conn), transport="ipc", ip=str(sockets / "s"),
                              key=secrets.token_hex(32).encode())
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn),
                "--HistoryManager.hist_file=:memory:", "--IPKernelApp.quiet=False"]
        log = open(self.kdir / "kernel.log", "wb")  # noqa: SIM115 (closed in stop)
        self._log = log
        if self.sandboxed:
            opts, env = self.options, self._env("/tmp")
            self._cgroup = KernelCgroup(opts.pids, opts.cpus, opts.memory_mb)
            config = {"root": str(self.kdir / "root"), "sockets": str(sockets),
                      "tmp_mb": opts.tmp_mb, "shm_mb": opts.shm_mb, "hide": list(opts.hide),
                      "keep": kept_paths(opts.keep_tmp, env), "support": opts.support,
                      "cgroups": [str(f) for f in self._cgroup.folders],
                      "argv": argv, "env": env, "rlimits": self._rlimits()}
            cmd = sandbox_command(self.kdir / "sandbox.json", config)
            env, cwd = {"PATH": os.environ.get("PATH", "")}, None
        else:
            work = self.kdir / "work"
            work.mkdir()
            if self.options.support and os.path.isdir(self.options.support):
                shutil.copytree(self.options.support, work, dirs_exist_ok=True)
            cmd, env, cwd = argv, self._env(str(self.kdir)), str(work)
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     close_fds=True, preexec_fn=_die_with_parent)
        self.client = BlockingKernelClient(connection_file=str(conn), context=self.context)
        self.client.load_connection_file()
        self.client.start_channels()
        self._wait_ready()
        if self.sandboxed:  # listening: from now on its socket folder is read-only
            try:
                seal(self.proc.pid, str(sockets))
            except (OSError, RuntimeError, subprocess.SubprocessError) as err:
                raise KernelStartError(str(err)) from None

    def _env(self, tmp: str) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        env.update({k: v for k, v in os.environ.items() if k.startswith("EEP596GAN_")})
        env.update({
            "PATH": bin_dir + os.pathsep + "/usr/local/bin:/usr/bin:/bin", "HOME": f"{tmp}/home",
            "TMPDIR": tmp, "IPYTHONDIR": f"{tmp}/ipython", "JUPYTER_RUNTIME_DIR": f"{tmp}/jupyter",
            "JUPYTER_DATA_DIR": f"{tmp}/jupyter", "MPLCONFIGDIR": f"{tmp}/mpl",
            "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde", "EEP596GAN_QUICK": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "EEP596GAN_DEVICE": "cpu",
        })
        env.update(dict(self.options.env))
        if not self.sandboxed:
            for sub in ("home", "ipython", "jupyter", "mpl"):
                os.makedirs(os.path.join(tmp, sub), exist_ok=True)
        return env

    def _rlimits(self) -> dict[str, int]:
        mb = 1 << 20
        return {"AS": self.options.memory_mb * mb, "FSIZE": self.options.file_mb * mb, "CORE": 0,
                "CPU": self.options.cpu_seconds}

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.options.start_timeout
        sent = set()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise KernelStartError(f"the kernel exited at start: {self.log_tail()}")
            sent.add(self.client.kernel_info())
            try:
                reply = self.client.get_shell_msg(timeout=1.0)
            except Exception:  # queue.Empty: not listening yet
                continue
            if reply["parent_header"].get("msg_id") in sent:
                while True:  # drain the iopub status messages of the kernel_info request
                    try:
                        self.client.get_iopub_msg(timeout=0.2)
                    except Exception:
                        return
        raise KernelStartError(f"the kernel did not answer in {self.options.start_timeout} s: "
                               f"{self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return (self.kdir / "kernel.log").read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.stop_channels()
            self.client = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, 9)
                except OSError:
                    self.proc.kill()
            self.proc.wait()
            self.proc = None
        if self._cgroup is not None:  # kills what is left of the kernel's processes
            self._cgroup.remove()
            self._cgroup = None
        if getattr(self, "_log", None):
            self._log.close()
        if self.kdir is not None:
            shutil.rmtree(self.kdir, ignore_errors=True)
            self.kdir = None

    def close(self) -> None:
        self.stop()
        self.context.term()

    def interrupt(self) -> None:
        msg = self.client.session.msg("interrupt_request", {})
        self.client.control_channel.send(msg)

    # ------------------------------------------------------------------------ execution
    def execute(self, code: str, *, timeout: float, silent: bool = False,
                max_text: int = 100_000, max_data: int = 2_000_000,
                grace: float = 5.0, user_expressions: dict[str, str] | None = None) -> Execution:
        """Run code; past `timeout` interrupt it, and past `grace` more give up (status timeout).

        `user_expressions` are evaluated by the kernel after the code, with plain `eval`.
        """
        kc = self.client
        msg_id = kc.execute(code, silent=silent, store_history=not silent, allow_stdin=False,
                            stop_on_error=False, user_expressions=user_expressions or {})
        out = Outputs(max_text, max_data)
        result = Execution()
        poller = zmq.Poller()
        poller.register(kc.shell_channel.socket, zmq.POLLIN)
        poller.register(kc.iopub_channel.socket, zmq.POLLIN)
        deadline = time.monotonic() + timeout
        reply, idle, idle_deadline = None, False, None
        while not (reply is not None and idle):
            now = time.monotonic()
            if reply is None and now > deadline:
                if result.interrupted:
                    result.status = "timeout"
                    break
                result.interrupted = True
                self.interrupt()
                deadline = now + grace
            if reply is not None and now > idle_deadline:
                break  # the idle message was lost: the reply is what matters
            if not self.alive():
                self._drain(poller, msg_id, out, 0.3)
                result.status = "died"
                break
            events = dict(poller.poll(200))
            if kc.iopub_channel.socket in events:
                idle = self._drain_iopub(msg_id, out) or idle
            if kc.shell_channel.socket in events:
                while kc.shell_channel.msg_ready():
                    msg = kc.shell_channel.get_msg(timeout=0)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply = msg["content"]
                        idle_deadline = time.monotonic() + 2.0
        result.outputs, result.truncated = out.outputs, out.truncated
        result.stdout = "".join(out.stdout)
        if reply is not None:
            result.status = reply.get("status", "error")
            result.execution_count = reply.get("execution_count")
            ue = reply.get("user_expressions")
            result.user_expressions = ue if isinstance(ue, dict) else {}
            if result.status != "ok":
                result.ename = str(reply.get("ename", ""))
                result.evalue = str(reply.get("evalue", ""))[:max_text]
                frames = reply.get("traceback", [])[:MAX_FRAMES]
                result.traceback = [str(t)[:MAX_FRAME] for t in frames]
                if result.status == "aborted":
                    result.status = "error"
        if result.interrupted and result.status in ("ok", "error"):
            result.status = "error"
            result.ename = result.ename or "TimeoutError"
        return result

    def _drain_iopub(self, msg_id: str, out: Outputs) -> bool:
        idle = False
        kc = self.client
        while kc.iopub_channel.msg_ready():
            msg = kc.iopub_channel.get_msg(timeout=0)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                idle = True
            else:
                out.add(kind, msg["content"])
        return idle

    def _drain(self, poller, msg_id, out, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not dict(poller.poll(50)):
                break
            self._drain_iopub(msg_id, out)
