"""The student's process: bubblewrap command, resource limits, unprivileged user.

What the student's process sees (``bwrap`` mode, the default where it works):

* a fresh mount namespace holding only ``/usr`` (and the ``/bin``, ``/lib*`` links), the
  Python installation and virtual environment (read-only), the harness and channel
  modules (read-only, they hold no tests), a few ``/etc`` files the dynamic linker wants,
  ``/proc``, a minimal ``/dev`` and its own empty working directory ``/home/student``
  (also mounted as ``/tmp``) -- no checkout, no tests, no solutions, no grader state;
* no network, its own PID/IPC/UTS namespaces, a new session (no terminal injection);
* an unprivileged uid/gid (a free one from :data:`UID_BASE` on, one per concurrent
  worker, held with a lock file) when grading runs as root: bwrap starts as root so it
  can mount the Python installation under ``/root``, and the harness drops to the uid
  before it touches student code;
* limits set before ``exec`` and inherited: ``RLIMIT_NPROC`` (processes + threads of the
  uid: fork bombs), ``RLIMIT_DATA`` (the memory cap: it counts private writable memory,
  unlike ``RLIMIT_AS``, which kills TensorFlow's start-up because TF reserves gigabytes of
  address space), ``RLIMIT_FSIZE``, ``RLIMIT_NOFILE``, ``RLIMIT_CORE`` = 0 and a CPU-time
  backstop; plus, from the grader, a wall-clock deadline per submission and per call, a
  resident-memory watchdog over the whole process tree (psutil) and caps on stdout/stderr.

Fallback ``setuid`` mode (bwrap cannot create namespaces, e.g. in some containers): the
same limits and uid drop without namespaces; the caller must make the tests unreadable to
that uid (the Gradescope runner chmods ``/autograder`` to 0700). ``plain`` mode (not root
and no bwrap) isolates nothing and is only for trying the grader on a laptop.
"""
import dataclasses
import fcntl
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psutil

from . import channel

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX_HOME = "/home/student"
SANDBOX_GRADER = "/opt/dlgrader"
UID_BASE = 61000
UID_SLOTS = 64
LOCK_DIR = "/tmp/dlcourse-grader-uids"


@dataclasses.dataclass
class Limits:
    """Resource limits for one submission (seconds, MiB, counts)."""

    timeout: float = 300.0          # whole submission: cells + tests
    call_timeout: float = 60.0      # one call of a student function (callbacks included)
    memory_mb: int = 2048           # RLIMIT_DATA per process
    rss_slack_mb: int = 768         # watchdog kills the tree at memory_mb + slack resident
    nproc: int = 256                # RLIMIT_NPROC for the sandbox uid (threads count)
    file_mb: int = 64               # RLIMIT_FSIZE
    nofile: int = 1024
    output_kept: int = 64 << 10     # bytes of stdout/stderr kept for the report
    output_max: int = 32 << 20      # more than this in total kills the submission
    threads: int = 1                # BLAS / TF thread pools inside the sandbox


class StudentGone(Exception):
    """The student's process is no longer usable (it timed out, crashed, ...)."""


# --------------------------------------------------------------------------- mode, uid


_MODE = None


def detect_mode():
    """``bwrap``, ``setuid`` or ``plain`` (see module doc); probed once per process."""
    global _MODE
    if _MODE is None:
        forced = os.environ.get("DLCOURSE_SANDBOX")
        if forced in ("bwrap", "setuid", "plain"):
            _MODE = forced
        elif shutil.which("bwrap") and _bwrap_works():
            _MODE = "bwrap"
        else:
            _MODE = "setuid" if os.getuid() == 0 else "plain"
    return _MODE


def _bwrap_works():
    cmd = ["bwrap", *_namespace_flags(), *_base_binds(), "--", "/bin/true"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def python_readable_by_others():
    """Whether an unprivileged uid can run this Python (setuid mode needs it: the
    sandbox uid must traverse every folder above the installation)."""
    for root in python_roots():
        path = root
        while path not in ("/", ""):
            if not os.stat(path).st_mode & 0o005:
                return False
            path = os.path.dirname(path)
    return True


class UidSlot:
    """An unprivileged uid nobody else is using, reserved with a lock file."""

    def __init__(self):
        self.uid = self.gid = None
        self._fd = None
        if os.getuid() != 0:
            return
        os.makedirs(LOCK_DIR, mode=0o700, exist_ok=True)
        for uid in range(UID_BASE, UID_BASE + UID_SLOTS):
            fd = os.open(os.path.join(LOCK_DIR, str(uid)), os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid = self.gid = uid
            self._fd = fd
            return
        raise RuntimeError("no free sandbox uid")

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# --------------------------------------------------------------------------- command


def _namespace_flags():
    flags = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.getuid() != 0:
        flags.append("--unshare-user")
    return flags


def _base_binds():
    """``/usr``, the host's ``/bin``/``/lib*`` (links or dirs), linker files, proc, dev."""
    binds = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            binds += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            binds += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                 "/etc/localtime", "/etc/alternatives", "/etc/fonts"):
        binds += ["--ro-bind-try", path, path]
    return binds + ["--proc", "/proc", "--dev", "/dev"]


def python_roots():
    """Folders holding the Python installation and environment (outside ``/usr``)."""
    roots = []
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    for path in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                 os.path.dirname(exe_dir)):
        real = os.path.realpath(path)
        if real == "/usr" or real.startswith("/usr/"):
            continue
        for candidate in {path, real}:
            if candidate not in roots:
                roots.append(candidate)
    return roots


def _dirs_for(path, made):
    """``--dir`` ops (mode 0755) for the ancestors of ``path`` not made yet."""
    ops = []
    parts = path.strip("/").split("/")[:-1]
    for i in range(len(parts)):
        ancestor = "/" + "/".join(parts[: i + 1])
        if ancestor not in made and not ancestor.startswith("/usr"):
            made.add(ancestor)
            ops += ["--perms", "0755", "--dir", ancestor]
    return ops


def bwrap_command(workdir, env, python_args):
    """The full bubblewrap command line for one student process."""
    cmd = ["bwrap", *_namespace_flags(), *_base_binds()]
    # The student's folders first: the Python environment may itself live under /tmp or
    # /home (a CI clone, say), and a later mount on /tmp would hide it.
    cmd += ["--perms", "0755", "--dir", "/home"]
    cmd += ["--bind", workdir, SANDBOX_HOME, "--bind", os.path.join(workdir, ".tmp"), "/tmp"]
    made = {"/home", "/tmp"}
    for root in python_roots():
        cmd += _dirs_for(root, made) + ["--ro-bind", root, root]
    cmd += ["--perms", "0755", "--dir", SANDBOX_GRADER]
    for name in ("harness.py", "channel.py"):
        cmd += ["--ro-bind", os.path.join(HERE, name), f"{SANDBOX_GRADER}/{name}"]
    cmd += ["--chdir", SANDBOX_HOME, "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *python_args]


def sandbox_env(limits, home):
    threads = str(limits.threads)
    venv_bin = os.path.join(sys.prefix, "bin")
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp" if home == SANDBOX_HOME else os.path.join(home, ".tmp"),
        "LANG": "C.UTF-8",
        "DLCOURSE_GRADING": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(home, ".tmp", "matplotlib"),
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    }


def _set_limits(limits, nproc):
    """Runs in the child between fork and exec (modules already imported)."""
    def apply():
        mem = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.nofile, limits.nofile))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cpu = int(limits.timeout * 4) + 10
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    return apply


# --------------------------------------------------------------------------- process


class _Peer(channel.Peer):
    def __init__(self, pipe, owner):
        super().__init__(pipe)
        self.owner = owner

    def deadline(self):
        return self.owner.call_deadline()

    def call(self, target, args, kwargs, deadline=None):
        return self.owner.guarded(super().call, target, args, kwargs, deadline)

    def get(self, name, deadline=None):
        return self.owner.guarded(super().get, name, deadline)


class StudentProcess:
    """One sandboxed harness running one notebook; call its functions through proxies.

    ``status`` stays ``None`` while all is well and becomes ``timeout``, ``memory``,
    ``crashed`` or ``output-limit`` (with ``reason``) when a limit ends the process.
    """

    def __init__(self, limits, uid_slot, mode=None):
        self.limits = limits
        self.slot = uid_slot
        self.mode = mode or detect_mode()
        self.status = None
        self.reason = ""
        self.cell_errors = []
        self.names = {}
        self.output = {"stdout": bytearray(), "stderr": bytearray()}
        self.output_total = 0
        self._lock = threading.Lock()
        self._proc = None
        self._threads = []
        self._started = None
        self._current_cell = None

    # -- start / stop
    def start(self, cells, seed=42):
        """Start the harness, send it the cells and wait until they have run.

        Returns True when the notebook ran to the end (cell errors included) and the
        harness serves calls; False when a limit or crash ended it (see ``status``).
        """
        self._started = time.monotonic()
        self.deadline = self._started + self.limits.timeout
        self.workdir = self._make_workdir()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        cmd, cwd, env, nproc = self._command(to_child_r, from_child_w)
        try:
            self._proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(to_child_r, from_child_w),
                preexec_fn=_set_limits(self.limits, nproc), start_new_session=True)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.pipe = channel.Pipe(from_child_r, to_child_w)
        self.peer = _Peer(self.pipe, self)
        for name in ("stdout", "stderr"):
            self._spawn(self._drain, name, getattr(self._proc, name))
        self._spawn(self._watch_memory)
        try:
            self.pipe.send({"kind": "setup", "cells": list(cells), "seed": seed}, self.deadline)
            return self._wait_cells(len(cells))
        except (channel.ChannelError, ValueError) as exc:
            self._gone(exc, "while running the notebook's cells")
            return False

    def _make_workdir(self):
        workdir = tempfile.mkdtemp(prefix="dlgrade-")
        os.makedirs(os.path.join(workdir, ".tmp"))
        if self.slot.uid is not None:
            for path in (workdir, os.path.join(workdir, ".tmp")):
                os.chown(path, self.slot.uid, self.slot.gid)
        return workdir

    def _command(self, in_fd, out_fd):
        uid_args = [] if self.slot.uid is None else ["--uid", str(self.slot.uid),
                                                      "--gid", str(self.slot.gid)]
        nproc = self.limits.nproc
        if self.slot.uid is None:  # not root: the limit counts this user's processes too
            nproc += _count_user_processes(os.getuid())
        if self.mode == "bwrap":
            args = [sys.executable, "-s", "-B", f"{SANDBOX_GRADER}/harness.py",
                    "--in-fd", str(in_fd), "--out-fd", str(out_fd), *uid_args]
            env = sandbox_env(self.limits, SANDBOX_HOME)
            return bwrap_command(self.workdir, env, args), None, {"PATH": "/usr/bin:/bin"}, nproc
        grader_dir = os.path.join(self.workdir, ".grader")
        os.makedirs(grader_dir)
        for name in ("harness.py", "channel.py"):
            shutil.copy(os.path.join(HERE, name), grader_dir)
        args = [sys.executable, "-s", "-B", os.path.join(grader_dir, "harness.py"),
                "--in-fd", str(in_fd), "--out-fd", str(out_fd), *uid_args]
        return args, self.workdir, sandbox_env(self.limits, self.workdir), nproc

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self):
        """End the process (politely first when it is healthy) and remove its workdir."""
        if self._proc is not None:
            if self.status is None:
                try:
                    os.close(self.pipe.write_fd)
                    self._proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._kill()
            for fd in (self.pipe.read_fd, self.pipe.write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            for thread in self._threads:
                thread.join(timeout=5)
        if getattr(self, "workdir", None):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _kill(self):
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.slot.uid is not None:  # setuid mode has no PID namespace to end everything
            _kill_uid(self.slot.uid)

    # -- cells
    def _wait_cells(self, count):
        self._current_cell = -1
        while True:
            message = self.pipe.recv(self.deadline)
            kind = message.get("kind")
            if kind == "cell":
                index = message.get("index")
                self._current_cell = index
                if message.get("error"):
                    self.cell_errors.append({"cell": _as_int(index) + 1,
                                             "error": str(message["error"])[:1000]})
            elif kind == "ready":
                names = message.get("names")
                self.names = names if isinstance(names, dict) else {}
                self._current_cell = None
                if any("MemoryError" in e["error"] for e in self.cell_errors):
                    self._set_status("memory", "a cell ran out of memory (MemoryError)")
                return True
            else:
                raise channel.ChannelError(f"unexpected message {kind!r} while running cells")

    # -- calls
    def call_deadline(self):
        return min(time.monotonic() + self.limits.call_timeout, self.deadline)

    def guarded(self, fn, *args):
        """Run a channel operation; turn the end of the process into StudentGone."""
        if self.status not in (None, "memory") or self._proc.poll() is not None:
            raise StudentGone(f"the notebook's process is no longer running ({self.status})")
        try:
            return fn(*args)
        except (channel.ChannelClosed, channel.ChannelTimeout) as exc:
            self._gone(exc, "while a test called the notebook's functions")
            raise StudentGone(self.reason) from None

    def proxy(self, name):
        return channel.RemoteFunction(self.peer, {"name": name}, name, self.call_deadline)

    def get(self, name):
        return self.peer.get(name, self.call_deadline())

    # -- limits
    def _gone(self, exc, when):
        """Record why the process stopped being usable, and make sure it is dead."""
        if isinstance(exc, channel.ChannelTimeout):
            whole = time.monotonic() >= self.deadline - 0.05
            limit = self.limits.timeout if whole else self.limits.call_timeout
            what = "the submission" if whole else "one call"
            self._set_status("timeout", f"{what} ran longer than {limit:g} s {when}")
        elif isinstance(exc, channel.ChannelClosed):
            try:  # let it finish dying so that its exit status tells why
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        if isinstance(exc, channel.ChannelError) and not isinstance(
                exc, (channel.ChannelClosed, channel.ChannelTimeout)):
            self._set_status("crashed", f"broke the grading protocol {when}: {exc}")
        self._set_status(*self._death_reason(when))

    def _death_reason(self, when):
        code = self._proc.returncode
        where = when
        if self._current_cell is not None:
            where = f"in cell {_as_int(self._current_cell) + 2}"
        if code is not None and self.mode == "bwrap" and code > 128:
            code = 128 - code  # bwrap exits with 128 + N when its child died of signal N
        if code is not None and code < 0:
            sig = -code
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
            if sig == signal.SIGXCPU:
                return "timeout", f"CPU time limit reached {where}"
            return "crashed", f"the process was killed by {name} {where}"
        text = bytes(self.output["stderr"][-400:]).decode("utf-8", "replace")
        if "MemoryError" in text or "bad_alloc" in text:
            return "memory", f"out of memory {where}"
        return "crashed", f"the process exited (code {code}) {where}"

    def _set_status(self, status, reason):
        with self._lock:
            if self.status is None:
                self.status, self.reason = status, reason

    def _drain(self, name, stream):
        kept = self.output[name]
        while True:
            chunk = stream.read1(1 << 16) if hasattr(stream, "read1") else stream.read(1 << 16)
            if not chunk:
                break
            with self._lock:
                room = self.limits.output_kept - len(kept)
                if room > 0:
                    kept += chunk[:room]
                self.output_total += len(chunk)
                over = self.output_total > self.limits.output_max
            if over and self.status is None:
                self._set_status("output-limit",
                                 f"printed more than {self.limits.output_max >> 20} MiB")
                self._kill_async()
                break

    def _kill_async(self):
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _watch_memory(self):
        limit = (self.limits.memory_mb + self.limits.rss_slack_mb) << 20
        try:
            root = psutil.Process(self._proc.pid)
        except psutil.Error:
            return
        while self._proc.poll() is None:
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                return
            if total > limit:
                self._set_status("memory", f"used more than {limit >> 20} MiB of memory")
                self._kill_async()
                return
            time.sleep(0.25)

    def output_text(self, name):
        data = bytes(self.output[name])
        text = data.decode("utf-8", "replace")
        if self.output_total > self.limits.output_kept:
            text += f"\n[... output truncated: {self.output_total} bytes in total]"
        return text


def _as_int(value):
    return value if type(value) is int else 0


def _count_user_processes(uid):
    count = 0
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info.get("uids")
        if uids and uids.real == uid:
            count += 1 + max(0, proc.num_threads() - 1) if proc.is_running() else 0
    return count


def _kill_uid(uid):
    """SIGKILL every process left running as ``uid`` (the sandbox uid owns nothing else)."""
    if uid == 0 or uid < UID_BASE:
        return
    for _ in range(3):
        found = False
        for proc in psutil.process_iter(["uids"]):
            uids = proc.info.get("uids")
            if uids and uid in (uids.real, uids.effective):
                found = True
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        if not found:
            return
        time.sleep(0.05)


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
