"""The student's process: bubblewrap command, resource limits, unprivileged user.

What the student's process sees (``bwrap`` mode, the default where it works):

* a fresh mount namespace holding only ``/usr`` (and the ``/bin``, ``/lib*`` links), the
  Python installation and virtual environment (read-only), the harness and channel
  modules (read-only, they hold no tests), a few ``/etc`` files the dynamic linker wants,
  ``/proc``, a minimal ``/dev`` and its own empty, size-limited tmpfs working directory
  ``/home/student`` plus private size-limited ``/tmp`` and ``/dev/shm`` -- no checkout,
  no tests, no solutions, no grader state, and nothing it writes reaches the disk;
* no network, its own PID/IPC/UTS/cgroup namespaces, a new session (no terminal
  injection), and, without root, no further user namespaces (``--disable-userns``);
* an unprivileged uid/gid (a free one from :data:`UID_BASE` on, one per concurrent
  worker, held with a lock file and swept of leftover processes before each use) when
  grading runs as root: bwrap starts as root so it can mount the Python installation
  under ``/root``, and the harness drops to the uid before it touches student code;
* a control group of its own where the machine allows it (``cgroup.py``): memory
  counted by the kernel (page cache, tmpfs and ``memfd`` included), pids, a CPU share
  and quota, so an over-limit or CPU-hungry submission hurts only itself;
* limits set before ``exec`` and inherited: ``RLIMIT_NPROC`` (processes + threads of the
  uid: fork bombs), ``RLIMIT_DATA`` (private writable memory; ``RLIMIT_AS`` would kill
  TensorFlow's start-up, which reserves gigabytes of address space), ``RLIMIT_FSIZE``,
  ``RLIMIT_NOFILE``, ``RLIMIT_CORE`` = 0, a CPU-time backstop and a parent-death signal;
  plus, from the grader, a wall-clock deadline per submission and per call, a memory
  watchdog over the process tree (RSS, shared memory and memfd files) and output caps.

Fallback modes never start silently (:func:`choose_mode`): ``setuid`` (root without
bubblewrap) runs only where the kernel gives it a mount and network namespace (private
``/tmp``, ``/var/tmp``, ``/dev/shm``, the tests hidden under an empty tmpfs, no network)
and the Python installation is readable by the sandbox uid; :func:`preflight` proves it.
``plain`` isolates nothing and needs an explicit opt-out.
"""

import ctypes
import ctypes.util
import dataclasses
import fcntl
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psutil

from . import cgroup, channel, seccomp

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX_HOME = "/home/student"
SANDBOX_GRADER = "/opt/dlgrader"
UID_BASE = 61000
UID_SLOTS = 64
LOCK_DIR = "/run/dlcourse-grader-uids" if os.path.isdir("/run") else "/tmp/dlcourse-grader-uids"
"""uid locks: under /run, which (unlike /tmp) a service's PrivateTmp does not split."""
WORK_PREFIX = "dlgrade-"
ROOT_WORK_DIR = "/var/lib/dlcourse-grader"


@dataclasses.dataclass
class Limits:
    """Resource limits for one submission (seconds, MiB, counts)."""

    timeout: float = 300.0  # whole submission: cells + tests
    call_timeout: float = 60.0  # one call of a student function (callbacks included)
    memory_mb: int = 2048  # RLIMIT_DATA per process; the cgroup's memory limit
    rss_slack_mb: int = 768  # watchdog kills the tree at memory_mb + slack resident
    nproc: int = 256  # RLIMIT_NPROC for the sandbox uid (threads count)
    file_mb: int = 64  # RLIMIT_FSIZE
    nofile: int = 1024
    output_kept: int = 64 << 10  # bytes of stdout/stderr kept for the report
    output_max: int = 32 << 20  # more than this in total kills the submission
    threads: int = 1  # BLAS / TF thread pools inside the sandbox
    cpus: float = 1.0  # CPU quota of the submission's cgroup
    workdir_mb: int = 256  # size of the tmpfs working directory
    tmp_mb: int = 128  # size of each private /tmp, /var/tmp, /dev/shm


class StudentGone(Exception):
    """The student's process is no longer usable (it timed out, crashed, ...)."""


class SandboxUnavailable(Exception):
    """The sandbox cannot isolate student code here; the message says why and what to do."""


# --------------------------------------------------------------------------- mode


INSTALL_BWRAP = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; "
    "Fedora: `dnf install bubblewrap`)"
)
OPT_OUT = (
    "to try the grader on a laptop without any isolation, pass the grader's "
    "--allow-unisolated flag (never for real students: every row is marked "
    "NOT ISOLATED)"
)

_MODE = None
_probe_cache = {}


def choose_mode(allow_unisolated=False):
    """``bwrap`` or ``setuid`` where that mode isolates student code, else ``plain`` when
    ``allow_unisolated``, else :class:`SandboxUnavailable` saying what is missing.

    ``$DLCOURSE_SANDBOX`` may force a mode; a forced mode is still checked.
    """
    forced = os.environ.get("DLCOURSE_SANDBOX") or None
    problems = []
    if forced in (None, "bwrap"):
        problem = bwrap_problem()
        if problem is None:
            return _remember("bwrap")
        problems.append(problem)
    if forced in (None, "setuid"):
        found = setuid_problems()
        if not found:
            return _remember("setuid")
        problems.append("the fallback (setuid mode) is not safe here: " + "; ".join(found))
    if forced == "plain" and not allow_unisolated:
        problems.append("DLCOURSE_SANDBOX=plain asks for no isolation at all")
    if forced not in (None, "bwrap", "setuid", "plain"):
        problems.append(f"unknown DLCOURSE_SANDBOX={forced!r} (bwrap, setuid or plain)")
    if allow_unisolated:
        return _remember("plain")
    raise SandboxUnavailable(
        "The grader cannot isolate student code on this machine, so it grades nothing. "
        + " ".join(p[0].upper() + p[1:] + "." for p in problems)
        + f" To fix it: {INSTALL_BWRAP}; or, as root without bubblewrap, use a Python "
        "installation that other users can read (e.g. under /opt or /usr/local, not a "
        f"0700 home). Or, {OPT_OUT}."
    )


def _remember(mode):
    global _MODE
    _MODE = mode
    return mode


def detect_mode():
    """The mode :func:`choose_mode` last chose (choosing now, without opt-out, if none)."""
    return _MODE or choose_mode()


def bwrap_problem():
    """None when bubblewrap is installed and can build the sandbox, else what is wrong."""
    path = shutil.which("bwrap")
    if not path:
        return "bubblewrap (bwrap) is not installed or not on PATH"
    key = ("bwrap", path, os.getuid())
    if key not in _probe_cache:
        cmd = [path, *_namespace_flags(), *_base_binds(), "--", "/bin/true"]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=30)
            error = done.stderr.decode("utf-8", "replace").strip()[-300:]
            _probe_cache[key] = (
                None
                if done.returncode == 0
                else (
                    f"bubblewrap cannot create its namespaces here ({error or done.returncode}); "
                    "in a container, allow user namespaces or run it with CAP_SYS_ADMIN"
                )
            )
        except (OSError, subprocess.SubprocessError) as exc:
            _probe_cache[key] = f"bubblewrap failed to start ({exc})"
    return _probe_cache[key]


def bwrap_flags():
    """Optional flags the installed bubblewrap supports (from ``bwrap --help``)."""
    path = shutil.which("bwrap")
    key = ("help", path)
    if key not in _probe_cache:
        try:
            text = subprocess.run(
                [path, "--help"], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError, TypeError):
            text = ""
        _probe_cache[key] = {
            flag for flag in ("--disable-userns", "--size", "--perms") if flag in text
        }
    return _probe_cache[key]


def setuid_problems():
    """What keeps setuid mode from being safe here (empty when it is)."""
    if os.getuid() != 0:
        return ["it needs root"]
    problems = []
    if not python_readable_by_others():
        roots = ", ".join(python_roots())
        problems.append(
            f"the sandbox user cannot read this Python installation ({roots}): "
            "a folder above it is not readable by other users"
        )
    if not _namespaces_work():
        problems.append(
            "the kernel refuses a mount and network namespace (needed for a "
            "private /tmp, hidden tests and no network)"
        )
    return problems


def _namespaces_work():
    if "unshare" not in _probe_cache:
        pid = os.fork()
        if pid == 0:  # child: try exactly what setuid mode will do, then vanish
            try:
                _enter_namespaces(64)
                os._exit(0)
            except BaseException:  # noqa: BLE001 - any failure means "no"
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        _probe_cache["unshare"] = os.waitstatus_to_exitcode(status) == 0
    return _probe_cache["unshare"]


def cgroups_enabled():
    """Whether submissions get a cgroup where one can be made (``DLCOURSE_CGROUPS=0``
    turns them off, to exercise the watchdog-only fallback)."""
    return os.environ.get("DLCOURSE_CGROUPS", "1") != "0"


def isolated_concurrency(mode):
    """Whether submissions may be graded side by side in ``mode``.

    Needs a uid per concurrent submission (root) and kernel-counted memory (a cgroup);
    otherwise one submission's fork storm or ``memfd`` memory could hurt its neighbour,
    and the orchestrator must grade one at a time.
    """
    return (
        mode in ("bwrap", "setuid")
        and os.getuid() == 0
        and cgroups_enabled()
        and cgroup.available()
    )


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


# --------------------------------------------------------------------------- preflight


PREFLIGHT_CELL = """import sys, os, socket
import numpy
preflight_numpy = numpy.__version__
preflight_uid = os.getuid()
def preflight_can_read(path):
    try:
        with open(path, 'rb') as f:
            f.read(1)
        return True
    except OSError:
        return False
def preflight_sees(path):
    return os.path.exists(path)
def preflight_can_connect(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
        return True
    except OSError:
        return False
"""


def preflight(mode, limits=None, env=None, secret_paths=()):
    """Start a real sandbox as the sandbox user, import numpy and the harness in it and
    check the isolation; raise :class:`SandboxUnavailable` with the real cause.

    ``secret_paths`` (e.g. a test file) must be unreadable from inside. Also removes
    what killed graders left behind (:func:`sweep_stale`).
    """
    sweep_stale()
    limits = dataclasses.replace(limits or Limits(), timeout=120, call_timeout=60)
    slot = UidSlot()
    student = StudentProcess(limits, slot, mode=mode, env=env)
    try:
        ran = student.start([PREFLIGHT_CELL])
        if not ran or student.cell_errors:
            raise SandboxUnavailable(_preflight_failure(mode, student))
        problems = []
        if os.getuid() == 0 and mode != "plain" and student.get("preflight_uid") == 0:
            problems.append("the student's code runs as root")
        if mode != "plain":
            for path in secret_paths:
                if student.peer.call(
                    {"name": "preflight_can_read"}, [path], {}, student.call_deadline()
                ):
                    problems.append(f"the sandbox user can read the tests ({path})")
            with tempfile.NamedTemporaryFile(dir="/tmp", prefix="dlgrade-preflight-") as mark:
                if student.peer.call(
                    {"name": "preflight_sees"}, [mark.name], {}, student.call_deadline()
                ):
                    problems.append("the sandbox shares the host's /tmp")
            with socket.create_server(("127.0.0.1", 0)) as listener:  # on the host
                port = listener.getsockname()[1]
                if student.peer.call(
                    {"name": "preflight_can_connect"}, [port], {}, student.call_deadline()
                ):
                    problems.append("the sandbox reaches the host's network")
        if problems:
            raise SandboxUnavailable(
                f"The {mode} sandbox is not isolated: "
                + "; ".join(problems)
                + f". {INSTALL_BWRAP}."
            )
    except OSError as exc:  # the sandbox could not even start Python
        hint = ""
        if mode == "setuid" and any(r.startswith("/tmp/") for r in python_roots()):
            hint = (
                " In setuid mode the sandbox gets a private /tmp, so a Python environment "
                "under /tmp is not visible to it."
            )
        raise SandboxUnavailable(
            f"The {mode} sandbox could not start Python ({exc}).{hint} {INSTALL_BWRAP}, or use "
            "a Python installation outside /tmp that other users can read."
        ) from None
    except (StudentGone, channel.ChannelError) as exc:
        raise SandboxUnavailable(
            f"The {mode} sandbox stopped during the pre-flight check "
            f"({exc}); {_preflight_failure(mode, student)}"
        ) from None
    finally:
        student.close()
        slot.release()


def _preflight_failure(mode, student):
    stderr = student.output_text("stderr").strip()
    last = stderr.splitlines()[-1][:300] if stderr else ""
    cause = student.reason or "; ".join(e["error"] for e in student.cell_errors)
    text = (
        f"The grader's pre-flight check failed: in {mode} mode the sandbox user could "
        f"not start Python and import numpy and the harness ({cause}"
        + (f"; Python said: {last}" if last else "")
        + "). "
    )
    missing = re.findall(r"No module named '([\w.]+)'", stderr)
    stdlib = any(name.split(".")[0] in sys.stdlib_module_names for name in missing)
    if stdlib or any(
        sign in stderr
        for sign in ("encodings", "platform independent libraries", "Permission denied")
    ):
        text += (
            "The sandbox user cannot import Python's standard library: the Python "
            f"installation ({', '.join(python_roots())}) is not readable by other "
            "users. "
        )
    return text + f"To fix it: {INSTALL_BWRAP}; or use a Python readable by other users."


# --------------------------------------------------------------------------- uid, stale


class UidSlot:
    """An unprivileged uid nobody else is using, reserved with a lock file.

    The lock is an ``flock``: the kernel drops it when the holder dies, so a killed
    grader never keeps a slot. Processes a dead holder left running as the uid are swept
    (:meth:`sweep`) before the uid runs anything new.
    """

    def __init__(self):
        self.uid = self.gid = None
        self._fd = None
        self._pid = os.getpid()
        if os.getuid() != 0:
            return
        self._acquire()

    def ensure_owned(self):
        """Take a slot of this process's own after a fork: a forked child shares its
        parent's lock (one open file), so two children would otherwise share the uid."""
        if self._pid == os.getpid() or os.getuid() != 0:
            return
        if self._fd is not None:
            os.close(self._fd)  # our copy only; the parent keeps its lock
        self._fd = None
        self._pid = os.getpid()
        self._acquire()

    def _acquire(self):
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
            self.sweep()
            return
        raise RuntimeError("no free sandbox uid")

    def sweep(self, timeout=10.0):
        """Kill every process running as the uid until none is left (True when empty)."""
        return self.uid is None or _kill_uid(self.uid, timeout)

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def work_root():
    """Where host-side working folders go (setuid and plain modes only). As root, a
    folder outside /tmp, /var/tmp and /dev/shm: setuid mode hides those behind private
    tmpfs mounts, and the working folder must stay visible."""
    if os.getuid() == 0:
        os.makedirs(ROOT_WORK_DIR, mode=0o755, exist_ok=True)
        return ROOT_WORK_DIR
    return tempfile.gettempdir()


def sweep_stale():
    """Remove working folders and cgroups of graders that are no longer running."""
    removed = cgroup.sweep_stale() if os.getuid() == 0 else 0
    root = work_root()
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        owner = name[len(WORK_PREFIX) :].split("-")[0]
        if name.startswith(WORK_PREFIX) and owner.isdigit() and not psutil.pid_exists(int(owner)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed += 1
    return removed


def die_with_parent():
    """Ask the kernel to SIGKILL this process when its parent dies (``PR_SET_PDEATHSIG``).

    For the grader's worker processes and, between fork and exec, the sandbox: a killed
    grader then leaves nothing grading. (The signal follows the *thread* that forked.)
    """
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# --------------------------------------------------------------------------- command


PR_SET_PDEATHSIG = 1
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 0x4000, 0x40000
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if sys.platform.startswith("linux")
    else None
)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount_tmpfs(target, size_bytes, options="mode=1777", flags=MS_NOSUID | MS_NODEV):
    data = f"size={size_bytes},{options}".encode()
    _check(_LIBC.mount(b"tmpfs", target.encode(), b"tmpfs", flags, data), f"mount {target}")


def _enter_namespaces(tmp_bytes):
    """setuid mode, in the child: private mounts, no network, private /tmp and friends."""
    _check(_LIBC.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _check(_LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    for path in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(path):
            _mount_tmpfs(path, tmp_bytes)


def _own_proc_instances():
    """Linux 5.8+: each /proc mount has its own options, so ``hidepid`` on the
    sandbox's mount leaves the host's /proc alone (older kernels share one)."""
    release = os.uname().release.split("-")[0].split(".")
    try:
        return (int(release[0]), int(release[1])) >= (5, 8)
    except (ValueError, IndexError):
        return False


def _namespace_flags():
    flags = [
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
    ]
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
    binds += ["--perms", "0755", "--dir", "/etc"]  # bwrap would make it 0700
    for path in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/localtime",
        "/etc/alternatives",
        "/etc/fonts",
    ):
        binds += ["--ro-bind-try", path, path]
    return binds + ["--proc", "/proc", "--dev", "/dev"]


def python_roots():
    """Folders holding the Python installation and environment (outside ``/usr``)."""
    roots = []
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    for path in (
        sys.prefix,
        sys.exec_prefix,
        sys.base_prefix,
        sys.base_exec_prefix,
        os.path.dirname(exe_dir),
    ):
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


def _exercises_root():
    """The folder holding every exercise's tests (covered up in setuid mode)."""
    from . import exercises  # noqa: PLC0415 - the orchestration side; imported late

    return exercises.exercises_root()


def _tmpfs(target, size_mb, perms):
    """A size-limited tmpfs where bwrap supports ``--size`` (0.8+), else an unlimited one."""
    flags = bwrap_flags()
    ops = ["--perms", perms] if "--perms" in flags else []
    if "--size" in flags:
        ops += ["--size", str(size_mb << 20)]
    return ops + ["--tmpfs", target]


def bwrap_command(limits, env, python_args, seccomp_fd=None):
    """The full bubblewrap command line for one student process."""
    cmd = ["bwrap", *_namespace_flags()]
    if os.getuid() != 0 and "--disable-userns" in bwrap_flags():
        cmd.append("--disable-userns")
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    cmd += _base_binds()
    cmd += _tmpfs("/dev/shm", limits.tmp_mb, "1777")
    # The student's folders first: the Python environment may itself live under /tmp or
    # /home (a CI clone, say), and a later mount on /tmp would hide it. The harness
    # gives /home/student to the sandbox uid before it drops to it.
    cmd += ["--perms", "0755", "--dir", "/home"]
    cmd += _tmpfs(SANDBOX_HOME, limits.workdir_mb, "0700")
    cmd += _tmpfs("/tmp", limits.tmp_mb, "1777")
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


def sandbox_env(limits, home, tmp=None):
    """The student's whole environment. Library caches and config go inside the
    working directory, so matplotlib, Fontconfig and joblib find a writable place and
    print no warnings; joblib/loky are told the CPU count instead of probing for it."""
    threads = str(limits.threads)
    venv_bin = os.path.join(sys.prefix, "bin")
    tmp = tmp or ("/tmp" if home == SANDBOX_HOME else os.path.join(home, ".tmp"))
    cache = os.path.join(home, ".cache")
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "DLCOURSE_GRADING": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": os.path.join(cache, "matplotlib"),
        "XDG_CACHE_HOME": cache,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "JOBLIB_MULTIPROCESSING": "0",
        "JOBLIB_TEMP_FOLDER": tmp,
        "LOKY_MAX_CPU_COUNT": threads,
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "KERAS_HOME": os.path.join(home, ".keras"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    }


def _child_setup(limits, nproc, procs_files, setuid_mounts):
    """Runs in the child between fork and exec (modules already imported)."""

    def apply():
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        for path in procs_files:  # join the submission's cgroup before anything runs
            with open(path, "w") as f:
                f.write(str(os.getpid()))
        if setuid_mounts is not None:
            setuid_mounts()
        mem = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.nofile, limits.nofile))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cpu = int(limits.timeout * 4) + 10
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))

    return apply


def _setuid_mounts(limits, workdir, uid, hidden, rules=None):
    """setuid mode: namespaces, private tmp dirs, a size-limited tmpfs working folder
    owned by the sandbox uid, an empty read-only tmpfs over every hidden folder, and
    the seccomp filter (last: it forbids mounting)."""

    def apply():
        _enter_namespaces(limits.tmp_mb << 20)
        _mount_tmpfs(workdir, limits.workdir_mb << 20, f"mode=0700,uid={uid},gid={uid}")
        for path in hidden:
            if os.path.isdir(path):  # gone already when it lived under a private /tmp
                _mount_tmpfs(path, 4096, "mode=0000", MS_NOSUID | MS_NODEV | MS_RDONLY)
        if _own_proc_instances():  # other users' processes (the grader's cmdline) vanish
            _check(
                _LIBC.mount(
                    b"proc",
                    b"/proc",
                    b"proc",
                    MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    b"hidepid=invisible",
                ),
                "mount /proc",
            )
        os.chdir(workdir)  # the old cwd is the folder under the new mount
        if rules is not None:
            rules.load()

    return apply


# --------------------------------------------------------------------------- process


class _Peer(channel.Peer):
    """The grader's end: calls it serves are the tests' callbacks, called by student
    code with arguments the student chose, so they get small caps and a memory budget."""

    max_call_elements = channel.MAX_CALLBACK_ELEMENTS
    call_memory_budget = channel.CALLBACK_MEMORY_BUDGET

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
    ``env`` is merged into the sandbox's environment (e.g. ``KERAS_BACKEND``); ``hide``
    lists host folders (the submissions, the sheet) that setuid mode covers up besides
    the exercises' tests.
    """

    def __init__(self, limits, uid_slot, mode=None, env=None, hide=()):
        self.limits = limits
        self.slot = uid_slot
        self.mode = mode or detect_mode()
        self.extra_env = dict(env or {})
        self.hide = list(hide)
        self.status = None
        self.reason = ""
        self.cell_errors = []
        self.names = {}
        self.output = {"stdout": bytearray(), "stderr": bytearray()}
        self.output_total = 0
        self.cgroup = None
        self.workdir = None
        self.memory_peak = 0
        self._lock = threading.Lock()
        self._proc = None
        self._threads = []
        self._started = None
        self._current_cell = None

    # -- start / stop
    def start(self, cells, seed=42, unavailable=()):
        """Start the harness, send it the cells and wait until they have run; the modules
        named in ``unavailable`` cannot be imported by the student's code.

        Returns True when the notebook ran to the end (cell errors included) and the
        harness serves calls; False when a limit or crash ended it (see ``status``).
        """
        self._started = time.monotonic()
        self.deadline = self._started + self.limits.timeout
        self.slot.ensure_owned()
        if not self.slot.sweep():
            raise RuntimeError(f"processes of sandbox uid {self.slot.uid} cannot be killed")
        if os.getuid() == 0 and self.mode != "plain" and cgroups_enabled():
            try:
                self.cgroup = cgroup.Cgroup(
                    self.limits.memory_mb << 20, self.limits.nproc, self.limits.cpus
                )
            except cgroup.CgroupError:
                self.cgroup = None  # the RSS/shmem watchdog is the only memory guard
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        self._seccomp_fd = seccomp.bpf_fd() if self.mode == "bwrap" else None
        passed = [to_child_r, from_child_w]
        if self._seccomp_fd is not None:
            passed.append(self._seccomp_fd)
        try:
            cmd, cwd, env, nproc, mounts = self._command(to_child_r, from_child_w)
            procs = self.cgroup.procs_files if self.cgroup else []
            self._proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=passed,
                preexec_fn=_child_setup(self.limits, nproc, procs, mounts),
                start_new_session=True,
            )
        except BaseException:
            for fd in (to_child_w, from_child_r):
                os.close(fd)
            self._cleanup()
            raise
        finally:
            for fd in passed:
                os.close(fd)
        self.pipe = channel.Pipe(from_child_r, to_child_w)
        self.peer = _Peer(self.pipe, self)
        for name in ("stdout", "stderr"):
            self._spawn(self._drain, name, getattr(self._proc, name))
        self._spawn(self._watch_memory)
        try:
            setup = {
                "kind": "setup",
                "cells": list(cells),
                "seed": seed,
                "unavailable": list(unavailable),
            }
            self.pipe.send(setup, self.deadline)
            return self._wait_cells(len(cells))
        except (channel.ChannelError, ValueError) as exc:
            self._gone(exc, "while running the notebook's cells")
            return False

    def _make_workdir(self):
        """Host folders for setuid/plain mode: the working folder and the harness copy."""
        workdir = tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=work_root())
        os.chmod(workdir, 0o755)
        home = os.path.join(workdir, "home")
        grader_dir = os.path.join(workdir, "grader")
        os.makedirs(os.path.join(home, ".tmp"))
        os.makedirs(grader_dir)
        for name in ("harness.py", "channel.py"):
            shutil.copy(os.path.join(HERE, name), grader_dir)
            os.chmod(os.path.join(grader_dir, name), 0o644)
        if self.slot.uid is not None:
            for path in (home, os.path.join(home, ".tmp")):
                os.chown(path, self.slot.uid, self.slot.gid)
        self.workdir = workdir
        return home, grader_dir

    def _command(self, in_fd, out_fd):
        uid_args = (
            []
            if self.slot.uid is None
            else ["--uid", str(self.slot.uid), "--gid", str(self.slot.gid)]
        )
        nproc = self.limits.nproc
        if self.slot.uid is None:  # not root: the limit counts this user's processes too
            nproc += _count_user_processes(os.getuid())
        if self.mode == "bwrap":
            args = [
                sys.executable,
                "-s",
                "-B",
                f"{SANDBOX_GRADER}/harness.py",
                "--in-fd",
                str(in_fd),
                "--out-fd",
                str(out_fd),
                *uid_args,
            ]
            env = {**sandbox_env(self.limits, SANDBOX_HOME), **self.extra_env}
            cmd = bwrap_command(self.limits, env, args, self._seccomp_fd)
            return cmd, None, {"PATH": "/usr/bin:/bin"}, nproc, None
        home, grader_dir = self._make_workdir()
        args = [
            sys.executable,
            "-s",
            "-B",
            os.path.join(grader_dir, "harness.py"),
            "--in-fd",
            str(in_fd),
            "--out-fd",
            str(out_fd),
            *uid_args,
        ]
        mounts = None
        tmp = None
        if self.mode == "setuid":
            hidden = [_exercises_root(), *self.hide]
            try:
                rules = seccomp._build()  # built here: the child only loads it
            except (ImportError, OSError, RuntimeError):
                rules = None
            mounts = _setuid_mounts(self.limits, home, self.slot.uid, hidden, rules)
            tmp = "/tmp"
        env = {**sandbox_env(self.limits, home, tmp), **self.extra_env}
        return args, home, env, nproc, mounts

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self):
        """End the process (politely first when it is healthy); remove its cgroup and
        working folder. Safe to call more than once."""
        if self._proc is not None:
            if self.status is None:
                try:
                    os.close(self.pipe.write_fd)
                    self._proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._kill()
            self._note_oom()
            for fd in (self.pipe.read_fd, self.pipe.write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            for thread in self._threads:
                thread.join(timeout=5)
        self._cleanup()

    def _cleanup(self):
        if self.cgroup is not None:
            self.memory_peak = self.cgroup.memory_peak()
            self.cgroup.remove()
            self.cgroup = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

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
        if self.cgroup is not None:
            self.cgroup.kill_all()
        self.slot.sweep()  # setuid mode has no PID namespace to end everything

    def _note_oom(self):
        if self.cgroup is not None and self.cgroup.oom_killed():
            self._set_status(
                "memory",
                f"went over its memory limit of {self.limits.memory_mb} "
                "MiB (the kernel ended a process of the notebook)",
            )

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
                    self.cell_errors.append(
                        {"cell": _as_int(index) + 1, "error": str(message["error"])[:1000]}
                    )
            elif kind == "ready":
                names = message.get("names")
                self.names = names if isinstance(names, dict) else {}
                self._current_cell = None
                self._note_oom()
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
        self._note_oom()
        if isinstance(exc, channel.ChannelError) and not isinstance(
            exc, (channel.ChannelClosed, channel.ChannelTimeout)
        ):
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
                self._set_status(
                    "output-limit", f"printed more than {self.limits.output_max >> 20} MiB"
                )
                self._kill_async()
                break

    def _kill_async(self):
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.cgroup is not None:
            for pid in self.cgroup.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def _watch_memory(self):
        """Kill the tree when its memory passes the limit plus slack.

        Only without a cgroup (whose kernel-counted limit is exact, where summed RSS
        counts a forked process's shared pages once per process). Besides RSS it counts
        ``memfd`` files held open but never mapped (their blocks, each file once); mapped
        shared memory is already in RSS.
        """
        if self.cgroup is not None:
            return  # the kernel counts exactly; summed RSS counts shared pages per process
        limit = (self.limits.memory_mb + self.limits.rss_slack_mb) << 20
        try:
            root = psutil.Process(self._proc.pid)
        except psutil.Error:
            return
        while self._proc.poll() is None:
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            total = tree_memory(procs)
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


def tree_memory(procs):
    """Resident memory of ``procs`` plus unmapped memfd files open in them (bytes)."""
    total = 0
    files = {}
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
        fd_dir = f"/proc/{proc.pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            path = os.path.join(fd_dir, fd)
            try:
                if not os.readlink(path).startswith("/memfd:"):
                    continue
                info = os.stat(path)
            except OSError:
                continue
            files[(info.st_dev, info.st_ino)] = info.st_blocks * 512
    # A mapped memfd is already in RSS (as RssShmem); counting it twice only errs safe.
    return total + sum(files.values())


def _as_int(value):
    return value if type(value) is int else 0


def _count_user_processes(uid):
    count = 0
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info.get("uids")
        if uids and uids.real == uid:
            count += 1 + max(0, proc.num_threads() - 1) if proc.is_running() else 0
    return count


def _kill_uid(uid, timeout=10.0):
    """SIGKILL every process running as ``uid`` until there is none (a process that
    re-forks every few ms loses: each round kills the parents found). True when empty."""
    if uid == 0 or uid < UID_BASE:
        return True
    end = time.monotonic() + timeout
    while True:
        found = False
        for proc in psutil.process_iter(["uids", "status"]):
            uids = proc.info.get("uids")
            if proc.info.get("status") == psutil.STATUS_ZOMBIE:
                continue  # already dead; its parent (or init) reaps it
            if uids and uid in (uids.real, uids.effective, uids.saved):
                found = True
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        if not found:
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
