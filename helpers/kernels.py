"""The notebooks' kernels: each a new process, forked from one that has already done the imports.

A run executes eight notebooks, each in a kernel of its own (a new process
with an empty namespace, so no state passes from one notebook to the next).
Started as papermill starts it by default — a new interpreter that imports
numpy, pandas, scipy, matplotlib, IPython and the project's helpers — a
kernel spends about 2 s of CPU on imports before its first cell, a third of
the default run. Here the kernel process is instead forked from a *zygote*: a
process started once per run (:func:`forked_kernels`), in parallel with the
validation of the inputs, that imports those modules and then only ever
forks. Each fork runs ``ipykernel_launcher`` with the command line,
environment and working directory that jupyter_client gave it, so a
notebook sees what it would see in a new interpreter, except that its imports
are already in ``sys.modules``:

* a notebook that forgets an import still fails (the names are not in its
  namespace);
* nothing a notebook does reaches the next one (the zygote never runs a
  notebook's code);
* the zygote forks only when nothing it read at import time would differ: the
  kernel command is ``<this python> -m ipykernel_launcher ...`` and the
  variables of :data:`IMPORT_TIME_VARIABLES` are the same; otherwise the
  child ``exec``\\ s the command as given, a new interpreter;
* the project's modules read the run's environment (``helpers.paths``) when
  called, never when imported, so preloading them is safe; a module that
  fails to import is left out (the notebook then imports it and shows the
  error in its cell).

``ipykernel`` itself is not preloaded: its options take their defaults from
the environment when it is imported (``JPY_PARENT_PID``).

Where ``os.fork`` is not safe (any system but Linux; macOS's system
libraries do not survive a fork) or with ``HCC_KERNELS=fresh`` (or
``python -m helpers.pipeline --kernels fresh``) every kernel is a new
interpreter, papermill's default. Both give byte-identical results
(``tests/test_pipeline.py::test_two_runs_write_byte_identical_results``).
"""
from __future__ import annotations

import ast
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from jupyter_client import AsyncKernelManager

#: How the pipeline starts its kernels unless told (``--kernels``): ``fork`` (Linux) or ``fresh``.
KERNELS_ENV = "HCC_KERNELS"
KERNEL_MODES = ("fork", "fresh")
#: The third-party modules every notebook imports, directly or through the helpers.
LIBRARIES = ("numpy", "pandas", "scipy.stats", "matplotlib", "matplotlib.pyplot", "IPython", "IPython.display",
             "zmq", "tornado", "jupyter_client")
#: Read by the preloaded modules or the interpreter when they are imported.
IMPORT_TIME_VARIABLES = ("PYTHONPATH", "PYTHONHASHSEED", "PYTHONWARNINGS", "MPLBACKEND", "MPLCONFIGDIR",
                         "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "IPYTHONDIR")

ZYGOTE = r'''
import json, os, runpy, signal, sys, traceback
requests, replies = (int(fd) for fd in sys.argv[1:3])
names, variables = json.loads(sys.argv[3]), json.loads(sys.argv[4])
sys.path.insert(0, os.getcwd())  # the project, as the kernels will have it (`python -m` puts the cwd first)
for name in names:
    # matplotlib picks its backend when imported; a kernel without MPLBACKEND sets it later (inline)
    if not os.environ.get("MPLBACKEND") and (name.startswith("matplotlib") or name.startswith("helpers")):
        continue
    try:
        __import__(name)
    except Exception:
        pass  # the notebook imports it itself and shows the error in its cell
sys.path.pop(0)
def reap(signum, frame):  # wait for ended kernels (their CPU time then counts in the run's)
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
signal.signal(signal.SIGCHLD, reap)
mine = {v: os.environ.get(v) for v in variables}
rfile, wfile = os.fdopen(requests, "r"), os.fdopen(replies, "w")
wfile.write(json.dumps({"ready": os.getpid()}) + "\n")
wfile.flush()
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


def default_mode() -> str:
    """``$HCC_KERNELS`` if set (``fork`` or ``fresh``), else ``fork`` on Linux and ``fresh`` elsewhere."""
    mode = os.environ.get(KERNELS_ENV, "").strip().lower()
    if mode:
        if mode not in KERNEL_MODES:
            raise ValueError(f"{KERNELS_ENV}={mode!r}: use one of {', '.join(KERNEL_MODES)}")
        return mode
    return "fork" if sys.platform.startswith("linux") else "fresh"


def notebook_imports(sources: Iterable[str | os.PathLike]) -> tuple[str, ...]:
    """The ``helpers`` modules the notebooks ``sources`` import (``import``/``from ... import`` lines), sorted.

    A source that does not parse as Python contributes nothing (its notebook then fails on its own).
    """
    found: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse(Path(source).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found.update(n for n in names if n == "helpers" or n.startswith("helpers."))
    return tuple(sorted(found))


class Zygote:
    """The forking process: imports ``preload`` in ``cwd``, then forks a kernel per request until closed."""

    def __init__(self, preload: Iterable[str], cwd: str | os.PathLike | None = None) -> None:
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE, str(req_r), str(rep_w), json.dumps(list(preload)),
             json.dumps(IMPORT_TIME_VARIABLES)], pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL,
            cwd=None if cwd is None else str(cwd))
        os.close(req_r)
        os.close(rep_w)
        self._requests, self._replies = os.fdopen(self._req_w, "w"), os.fdopen(self._rep_r, "r")
        self._lock = threading.Lock()
        self._ready = False

    def fork(self, argv: list[str], env: dict[str, str], cwd: str) -> int:
        """Start ``argv`` (a kernel command) as a child of the zygote; return its pid."""
        with self._lock:
            if not self._ready:  # the imports are done when the zygote says so
                self._ready = bool(self._replies.readline())
            self._requests.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
            self._requests.flush()
            reply = self._replies.readline()
        if not reply:
            raise RuntimeError(f"the kernel zygote exited (status {self.process.poll()})")
        return json.loads(reply)["pid"]

    def close(self) -> None:
        """End the zygote (its request pipe closes; kernels already started are not affected)."""
        for f in (self._requests, self._replies):
            with contextlib.suppress(OSError):
                f.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_current: Zygote | None = None
_current_lock = threading.Lock()


@contextlib.contextmanager
def forked_kernels(preload: Iterable[str] = LIBRARIES, cwd: str | os.PathLike | None = None) -> Iterator[Zygote]:
    """While inside, :class:`ForkingKernelManager` forks its kernels from a zygote that imported ``preload``.

    The zygote starts at once and does its imports in parallel with whatever
    the caller does next; it ends when the block is left.
    """
    global _current
    zygote = Zygote(preload, cwd)
    with _current_lock:
        previous, _current = _current, zygote
    try:
        yield zygote
    finally:
        with _current_lock:
            _current = previous
        zygote.close()


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
    """jupyter_client's kernel manager, launching the kernel command through the zygote of :func:`forked_kernels`."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        zygote = _current
        if zygote is None:
            raise RuntimeError("ForkingKernelManager needs a zygote: launch kernels inside `with forked_kernels():`")
        provisioner = self.provisioner
        env = dict(kw.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher sets it (no banner, a poller)
        process = _ForkedKernel(zygote.fork(list(kernel_cmd), env, str(kw.get("cwd") or os.getcwd())))
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, process.pid
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)
