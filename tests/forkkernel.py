"""Notebook kernels forked from a process that has already imported the scientific libraries (tests only).

Every notebook of a run still gets a kernel of its own, a new process with an empty namespace,
started from the same command line, environment and working directory as jupyter_client would
start it (``helpers.pipeline`` runs one kernel per notebook, in order). What differs is how the
process begins: instead of a new interpreter that imports numpy, pandas, scipy.stats, matplotlib and
ipykernel (about 2 s of CPU per notebook, half of a run), a *zygote* that imported them once,
and never runs a notebook, forks. A notebook that forgets an import still fails (the names are not
in its namespace), and no state passes from one notebook to the next (the zygote never runs one).
Only the third-party libraries are preloaded, never ``helpers`` (which reads the run's environment).

The zygote forks only when nothing it read at import time would differ: the kernel command is
``<this python> -m ipykernel_launcher ...`` and the variables in :data:`IMPORT_TIME_VARIABLES` are
the same; otherwise its child ``exec``s the command as given (a new interpreter, as without it).

Use: ``install()`` in a process that calls ``helpers.pipeline`` (``tests/conftest.py``), or
``python tests/forkkernel.py --cohort ... --out ...``, which is ``python -m helpers.pipeline`` with
these kernels (``tests/test_degenerate.py``). Production runs (`make report`) never use it.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time

from jupyter_client import AsyncKernelManager

# Not ipykernel: its options take their defaults from the environment when it is imported (JPY_PARENT_PID).
PRELOAD = ("numpy", "pandas", "scipy.stats", "matplotlib", "matplotlib.pyplot")
# Read by the preloaded libraries or the interpreter when they are imported.
IMPORT_TIME_VARIABLES = ("PYTHONPATH", "PYTHONHASHSEED", "PYTHONWARNINGS", "MPLBACKEND", "MPLCONFIGDIR",
                         "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

ZYGOTE = r'''
import json, os, runpy, signal, sys, traceback
requests, replies = (int(fd) for fd in sys.argv[1:3])
names, variables = json.loads(sys.argv[3]), json.loads(sys.argv[4])
for name in names:
    # matplotlib picks its backend when imported; a kernel without MPLBACKEND sets it later (inline)
    if name.startswith("matplotlib") and not os.environ.get("MPLBACKEND"):
        continue
    __import__(name)
def reap(signum, frame):  # wait for ended kernels (their CPU time then counts in `time make test`)
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
signal.signal(signal.SIGCHLD, reap)
mine = {v: os.environ.get(v) for v in variables}
rfile, wfile = os.fdopen(requests, "r"), os.fdopen(replies, "w")
for line in rfile:
    req = json.loads(line)
    argv, env, cwd = req["argv"], req["env"], req["cwd"]
    pid = os.fork()
    if pid:
        wfile.write(json.dumps({"pid": pid}) + "\n")
        wfile.flush()
        continue
    code = 1
    try:
        rfile.close(); wfile.close()
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY); os.dup2(null, 0); os.close(null)
        os.chdir(cwd)
        same = (len(argv) > 2 and os.path.realpath(argv[0]) == os.path.realpath(sys.executable)
                and argv[1:3] == ["-m", "ipykernel_launcher"]
                and all(env.get(v) == mine[v] for v in variables))
        if not same:
            os.execvpe(argv[0], argv, env)
        os.environ.clear(); os.environ.update(env)
        sys.argv = ["ipykernel_launcher", *argv[3:]]
        sys.path[0] = os.getcwd()  # as `python -m` sets it (ipykernel_launcher removes it)
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(code)
'''


class _Zygote:
    """The forking process, started on first use and ended when this process exits (its pipe closes)."""

    def __init__(self) -> None:
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, str(req_r), str(rep_w), json.dumps(PRELOAD),
             json.dumps(IMPORT_TIME_VARIABLES)], pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL)
        os.close(req_r)
        os.close(rep_w)
        self._requests, self._replies = os.fdopen(self._req_w, "w"), os.fdopen(self._rep_r, "r")
        self._lock = threading.Lock()
        atexit.register(self.close)

    def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        with self._lock:
            self._requests.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
            self._requests.flush()
            reply = self._replies.readline()
        if not reply:
            raise RuntimeError(f"the kernel zygote exited (status {self.process.poll()})")
        return json.loads(reply)["pid"]

    def close(self) -> None:
        for f in (self._requests, self._replies):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


_zygote: _Zygote | None = None
_zygote_lock = threading.Lock()


def _get_zygote() -> _Zygote:
    global _zygote
    with _zygote_lock:
        if _zygote is None or _zygote.process.poll() is not None:
            _zygote = _Zygote()
        return _zygote


class _ForkedKernel:
    """What jupyter_client's local provisioner needs of a ``Popen``, for a process that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = 0  # reaped by the zygote: its exit status is not ours to read
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkingKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, launching the kernel command through the zygote."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        provisioner = self.provisioner
        env = dict(kw.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it (no banner, a poller)
        process = _ForkedKernel(_get_zygote().fork(list(kernel_cmd), env, str(kw.get("cwd") or os.getcwd())))
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, process.pid
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)


def install() -> None:
    """Make ``helpers.pipeline`` start its kernels with :class:`ForkingKernelManager` in this process."""
    from helpers import pipeline

    pipeline.KERNEL_MANAGER_CLASS = ForkingKernelManager


if __name__ == "__main__":
    install()
    from helpers.pipeline import main

    sys.exit(main())
