"""Chapter kernels forked from a worker that has already imported the deep-learning stack.

Importing Keras with TensorFlow costs about 6 CPU seconds, and every chapter pays it again
in its fresh kernel: 16 chapters, about 100 CPU seconds of a cold build on two cores. A
build worker instead imports the modules every chapter imports once (`preload`), and each
chapter's kernel is a fork of it. The kernel is still a new process per chapter, with the
chapter's own working folder, environment, `sys.path` and arguments, started by the real
`IPKernelApp` and driven by nbclient through jupyter-cache's executor as before; only the
import of those modules has already happened.

Written here because no maintained package does it: jupyter_client's provisioners all
start a new interpreter (`LocalProvisioner` runs `Popen`), and neither nbclient nor
jupyter-cache can start a kernel from a warm process. This module only replaces that
`Popen` with a fork; the rest of the provisioner (signals, shutdown, clean-up) is
jupyter_client's. The fork is only taken when it is safe:

* on Linux, where `fork` of a process that has imported these libraries is well defined
  (macOS frameworks forbid it);
* when the process that forks has a single thread, so no lock can be copied while held
  (the worker checks this after `preload`, and each chapter's driver process again when
  the kernel is launched);
* when the command is this interpreter's `-m ipykernel_launcher`, the book's kernel.

Otherwise the kernel is launched the usual way. Each chapter's driver (nbclient, its
event loop and ZeroMQ sockets) is itself a fork of the worker, so the worker stays free
of threads and sockets from one chapter to the next.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import importlib
import importlib.util
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import traceback
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

KERNEL_MODULE = "ipykernel_launcher"
T = TypeVar("T")

_state: dict[str, Any] = {"preloaded": (), "sys_path": None}


def thread_count() -> int:
    """Threads of this process, as the kernel sees them (not only Python's)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1  # unknown: never fork


def can_fork() -> bool:
    return sys.platform == "linux" and thread_count() == 1


def fresh_sys_path() -> list[str]:
    """`sys.path` of a new interpreter with this environment, without its script entry."""
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
"""What `IPKernelApp.init_gui_pylab` puts in MPLBACKEND when it is unset."""


def kernel_environment() -> None:
    """Set in this process the variables an ipykernel kernel sets in its own environment
    before it runs any code, so that modules imported here see what they would see when
    a chapter imports them. (Keras imports matplotlib.pyplot, which fixes its backend
    from MPLBACKEND on import: without it, figures would not be shown inline.)"""
    from ipykernel.zmqshell import ZMQInteractiveShell

    ZMQInteractiveShell.init_environment(None)  # TERM, CLICOLOR, FORCE_COLOR, PAGER, ...
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)


def preload(modules: Iterable[str]) -> bool:
    """Import `modules` (and ipykernel) in this process; True if its kernels can be forks.

    Call it before anything starts a thread. Returns False, and forks nothing later, when
    the imports left this process with more than one thread or the platform is not Linux.
    """
    if sys.platform != "linux":
        return False
    _state["sys_path"] = fresh_sys_path()
    kernel_environment()
    names = ("ipykernel.kernelapp", "ipykernel.ipkernel", *modules)
    for name in names:
        importlib.import_module(name)  # an ImportError leaves preloaded() empty: cold kernels
    if not can_fork():
        _state["preloaded"] = ()
        return False
    _state["preloaded"] = tuple(names)
    return True


def preloaded() -> tuple[str, ...]:
    """The modules `preload` imported, or () when kernels are launched the usual way."""
    return _state["preloaded"]


# ------------------------------------------------------------------ the chapter's driver


def in_fork(work: Callable[[], T]) -> T:
    """`work()` run in a forked child of this process; its result (or exception) returned.

    The child takes nbclient's event loop, ZeroMQ context and sockets with it when it
    exits, so this process stays single-threaded for the next fork. A child that dies
    without a result raises RuntimeError naming its exit status.
    """
    with tempfile.TemporaryDirectory(prefix="warm-kernel-") as folder:
        result_file = Path(folder) / "result.pickle"

        def send_result() -> int:
            try:
                outcome: tuple[bool, Any] = (True, work())
            except BaseException as err:  # handed to the parent, raised there
                outcome = (False, err)
            try:
                payload = pickle.dumps(outcome)
            except Exception:  # an exception that cannot be pickled: send its text
                payload = pickle.dumps((False, RuntimeError(traceback.format_exc())))
            result_file.write_bytes(payload)
            return 0

        pid = _fork(send_result)
        _, status = os.waitpid(pid, 0)
        if not result_file.exists():
            raise RuntimeError(
                f"the chapter's driver process ended without a result ({describe(status)})"
            )
        ok, value = pickle.loads(result_file.read_bytes())
    if not ok:
        raise value
    return value


def _fork(child: Callable[[], int]) -> int:
    """Fork; the child runs `child()` and exits with its code (1 if it raised), never
    returning into the caller's stack. Returns the child's pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child()
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


# ------------------------------------------------------------------ the kernel


class ForkedProcess:
    """The part of `subprocess.Popen` that jupyter_client's `LocalProvisioner` uses, for a
    child made by `os.fork` (Popen cannot adopt a process it did not start)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        # LocalProvisioner waits only once poll() has seen the exit: no timeout needed
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def is_book_kernel(cmd: list[str]) -> bool:
    """True for this interpreter's `-m ipykernel_launcher` (what forking replaces)."""
    return (
        len(cmd) >= 3
        and Path(cmd[0]).resolve() == Path(sys.executable).resolve()
        and cmd[1:3] == ["-m", KERNEL_MODULE]
    )


def _die_with_parent() -> None:
    # A launched kernel watches JPY_PARENT_PID; the kernel's death signal is the same
    # promise for a fork, kept by Linux even if the parent dies between two polls.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _run_kernel(cmd: list[str], env: dict[str, str], cwd: str | None) -> int:
    """In the forked child: become what `python -m ipykernel_launcher ...` would be."""
    os.setsid()  # its own session and process group, as jupyter_client's launcher does
    _die_with_parent()
    # The driver's event loop was running when it forked: its signal wake-up descriptor
    # and handlers would report the kernel's signals to the driver's loop.
    signal.set_wakeup_fd(-1)
    atexit._clear()  # the parent's exit handlers are not the kernel's
    for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the launcher gives a kernel a stdin it never reads
    os.close(devnull)
    if cwd:
        os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    launcher = importlib.util.find_spec(KERNEL_MODULE)
    sys.argv = [launcher.origin if launcher else KERNEL_MODULE, *cmd[3:]]
    sys.path[:] = _state["sys_path"]  # the launcher removes the script folder; IPython adds ""
    asyncio.set_event_loop(asyncio.new_event_loop())  # not the driver's loop
    from ipykernel.kernelapp import IPKernelApp

    try:
        # ipykernel read JPY_PARENT_PID when the worker imported it, before it was set.
        IPKernelApp.launch_instance(argv=cmd[3:], parent_handle=int(env["JPY_PARENT_PID"]))
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
    atexit._run_exitfuncs()
    return code


def fork_kernel(cmd: list[str], env: dict[str, str], cwd: str | None) -> ForkedProcess:
    env = dict(env, JPY_PARENT_PID=str(os.getpid()))
    return ForkedProcess(_fork(lambda: _run_kernel(cmd, env, cwd)))


class ForkingProvisioner(LocalProvisioner):
    """`LocalProvisioner` whose kernel is a fork of this process when that is safe."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if not (preloaded() and can_fork() and is_book_kernel(cmd)):
            return await super().launch_kernel(cmd, **kwargs)
        cwd = kwargs.get("cwd")
        self.process = fork_kernel(cmd, kwargs.get("env") or dict(os.environ), cwd)
        self.pid = self.pgid = self.process.pid  # setsid: the kernel leads its own group
        self.cwd = cwd or Path.cwd()
        return self.connection_info


class ForkingKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, with `ForkingProvisioner` for its kernels."""

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkingProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)
