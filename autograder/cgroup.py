"""One control group per submission: memory (page cache and shmem included), pids, CPU.

The kernel then counts what a submission uses -- ``memfd`` pages, tmpfs files, every
process it forks -- instead of the grader reconstructing it from RSS, and when the
submission goes over its memory limit the kernel's OOM killer picks a process *inside*
the group, never an honest neighbour.

Supports cgroup v2 (``/sys/fs/cgroup/cgroup.controllers`` exists) and v1 with the
``memory``, ``pids`` and ``cpu`` controllers mounted under ``/sys/fs/cgroup/<name>``.
Groups are made below the grader's own group (so a container's limits still bound them)
and named ``dlgrade-<grader pid>-<n>`` so that :func:`sweep_stale` can remove those a
killed grader left behind. Writing to cgroupfs needs root (or a delegated subtree);
:func:`available` says whether it works here.
"""

import itertools
import os
import signal
import time

ROOT = "/sys/fs/cgroup"
PREFIX = "dlgrade-"
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
_counter = itertools.count()


class CgroupError(Exception):
    """The group could not be made or configured."""


def version():
    """2, 1 or None (no usable hierarchy)."""
    if os.path.exists(os.path.join(ROOT, "cgroup.controllers")):
        return 2
    if all(os.path.isdir(os.path.join(ROOT, c)) for c in V1_CONTROLLERS):
        return 1
    return None


def _own_path(controller):
    """This process's group in ``controller`` ('' for v2), from /proc/self/cgroup."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            if (controller == "" and names == "") or controller in names.split(","):
                return path
    return "/"


def _parent_dirs():
    """``{controller: directory}`` under which submission groups are made."""
    ver = version()
    if ver == 2:
        # Controllers can be enabled for children only where the grader's group has no
        # processes of its own ("no internal processes"): a systemd unit or container
        # that delegates a subtree; elsewhere configuring fails and available() says so.
        return {"": os.path.join(ROOT, _own_path("").lstrip("/"))}
    dirs = {}
    for controller in V1_CONTROLLERS:
        mount = os.path.join(ROOT, controller)
        own = os.path.join(mount, _own_path(controller).lstrip("/"))
        dirs[controller] = own if os.path.isdir(own) else mount
    return dirs


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def _read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def _stat_field(text, key):
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key:
            return int(parts[1])
    return 0


class Cgroup:
    """A fresh group with limits; ``join_path`` files take a pid; ``remove()`` on every path."""

    def __init__(self, memory_bytes, pids, cpus=1.0, cpu_weight=100):
        self.version = version()
        if self.version is None:
            raise CgroupError("no cgroup hierarchy with memory, pids and cpu controllers")
        name = f"{PREFIX}{os.getpid()}-{next(_counter)}"
        self.dirs = {}
        try:
            for controller, parent in _parent_dirs().items():
                path = os.path.join(parent, name)
                os.mkdir(path)
                self.dirs[controller] = path
            self._configure(memory_bytes, pids, cpus, cpu_weight)
        except OSError as exc:
            self.remove()
            raise CgroupError(f"cannot set up a cgroup: {exc}") from None

    def _configure(self, memory_bytes, pids, cpus, cpu_weight):
        quota = max(1000, int(cpus * CPU_PERIOD_US))
        if self.version == 2:
            path = self.dirs[""]
            parent = os.path.dirname(path)
            wanted = {"memory", "pids", "cpu"}
            enabled = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
            for controller in wanted - enabled:
                _write(os.path.join(parent, "cgroup.subtree_control"), f"+{controller}")
            _write(os.path.join(path, "memory.max"), memory_bytes)
            if os.path.exists(os.path.join(path, "memory.swap.max")):
                _write(os.path.join(path, "memory.swap.max"), 0)
            _write(os.path.join(path, "pids.max"), pids)
            _write(os.path.join(path, "cpu.weight"), cpu_weight)
            _write(os.path.join(path, "cpu.max"), f"{quota} {CPU_PERIOD_US}")
            return
        mem = self.dirs["memory"]
        _write(os.path.join(mem, "memory.limit_in_bytes"), memory_bytes)
        memsw = os.path.join(mem, "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):  # no swapping out of the limit either
            _write(memsw, memory_bytes)
        _write(os.path.join(self.dirs["pids"], "pids.max"), pids)
        cpu = self.dirs["cpu"]
        _write(os.path.join(cpu, "cpu.shares"), 1024 * cpu_weight // 100)
        _write(os.path.join(cpu, "cpu.cfs_period_us"), CPU_PERIOD_US)
        _write(os.path.join(cpu, "cpu.cfs_quota_us"), quota)

    @property
    def procs_files(self):
        """The ``cgroup.procs`` files a new process writes its pid into (in the child)."""
        return [os.path.join(path, "cgroup.procs") for path in self.dirs.values()]

    def pids(self):
        found = set()
        for path in self.procs_files:
            for line in _read(path).split():
                if line.isdigit():
                    found.add(int(line))
        return found

    def oom_killed(self):
        """Whether the kernel's OOM killer killed a process of this group."""
        if self.version == 2:
            return _stat_field(_read(os.path.join(self.dirs[""], "memory.events")), "oom_kill") > 0
        mem = self.dirs.get("memory")
        if not mem:
            return False
        control = _read(os.path.join(mem, "memory.oom_control"))
        if "oom_kill " in control:
            return _stat_field(control, "oom_kill") > 0
        return int(_read(os.path.join(mem, "memory.failcnt"), "0") or 0) > 0

    def memory_peak(self):
        """Highest memory charged to the group, in bytes (0 when unknown)."""
        if self.version == 2:
            text = _read(os.path.join(self.dirs[""], "memory.peak"), "0").strip()
        else:
            text = _read(
                os.path.join(self.dirs["memory"], "memory.max_usage_in_bytes"), "0"
            ).strip()
        return int(text) if text.isdigit() else 0

    def kill_all(self, timeout=10.0):
        """SIGKILL every process in the group until it is empty (re-forkers included)."""
        if self.version == 2 and os.path.exists(os.path.join(self.dirs[""], "cgroup.kill")):
            try:
                _write(os.path.join(self.dirs[""], "cgroup.kill"), 1)
            except OSError:
                pass
        end = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids or time.monotonic() > end:
                return not pids
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self):
        """Kill what is left and remove the group's directories (retrying while busy)."""
        if self.dirs:
            self.kill_all()
        for controller, path in list(self.dirs.items()):
            for _ in range(100):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            self.dirs.pop(controller, None)


def available():
    """Whether a submission group can be made, limited and removed here (probed each call)."""
    try:
        group = Cgroup(64 << 20, 16)
    except (CgroupError, OSError):
        return False
    group.remove()
    return True


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale():
    """Remove the groups of graders that are no longer running; returns how many."""
    if version() is None:
        return 0
    removed = 0
    try:
        parents = _parent_dirs()
    except OSError:
        return 0
    for controller, parent in parents.items():
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            owner = name[len(PREFIX) :].split("-")[0]
            if not name.startswith(PREFIX) or not owner.isdigit() or _pid_alive(int(owner)):
                continue
            stale = Cgroup.__new__(Cgroup)
            stale.version = version()
            stale.dirs = {controller: os.path.join(parent, name)}
            stale.remove()
            removed += 1
    return removed
