"""The sandbox's mount table: what the student's process can and cannot see."""

from autograder import sandbox


def mounts(cmd):
    """(option, source, target) for each bind in a bwrap command line, in order."""
    out = []
    for i, arg in enumerate(cmd):
        if arg in ("--bind", "--ro-bind", "--ro-bind-try"):
            out.append((arg, cmd[i + 1], cmd[i + 2]))
        elif arg == "--tmpfs":
            out.append((arg, None, cmd[i + 1]))
    return out


def test_environment_under_tmp_stays_visible(monkeypatch):
    # A CI clone may live under /tmp: its venv must be mounted after the student's /tmp.
    monkeypatch.setattr(sandbox, "python_roots", lambda: ["/tmp/ci-clone/.venv"])
    cmd = sandbox.bwrap_command(sandbox.Limits(), {}, ["python"])
    targets = [target for _, _, target in mounts(cmd)]
    assert targets.index("/tmp") < targets.index("/tmp/ci-clone/.venv")


def test_only_environment_and_working_directory_are_mounted(monkeypatch):
    monkeypatch.setattr(sandbox, "python_roots", lambda: ["/work/course/.venv"])
    cmd = sandbox.bwrap_command(sandbox.Limits(), {}, ["python"])
    sources = {source for _, source, _ in mounts(cmd) if source}
    assert "/work/course/.venv" in sources
    assert not any(s == "/work/course" or s.startswith("/work/course/autograder") for s in sources)
    assert ("--ro-bind", "/work/course/.venv", "/work/course/.venv") in mounts(cmd)
    assert "--unshare-net" in cmd


# --------------------------------------------------------------------------- choosing a mode

import fcntl  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402

import psutil  # noqa: E402
import pytest  # noqa: E402

from autograder import cgroup, seccomp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bwrap_mode_or_skip():
    try:
        mode = sandbox.choose_mode()
    except sandbox.SandboxUnavailable as exc:
        pytest.skip(f"no sandbox here: {str(exc)[:150]}")
    if mode != "bwrap":
        pytest.skip(f"needs bwrap (this machine gives {mode})")
    return mode


@pytest.fixture
def no_bwrap(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no bwrap on PATH
    monkeypatch.delenv("DLCOURSE_SANDBOX", raising=False)
    sandbox._probe_cache.clear()
    yield
    sandbox._probe_cache.clear()


def test_without_bwrap_and_an_unreadable_python_the_grader_refuses(no_bwrap, monkeypatch):
    monkeypatch.setattr(sandbox, "python_readable_by_others", lambda: False)
    with pytest.raises(sandbox.SandboxUnavailable) as caught:
        sandbox.choose_mode()
    message = str(caught.value)
    assert "apt-get install bubblewrap" in message
    assert "readable by other users" in message or "needs root" in message
    assert "--allow-unisolated" in message


def test_plain_mode_only_with_the_opt_out(no_bwrap, monkeypatch):
    monkeypatch.setattr(sandbox, "setuid_problems", lambda: ["it is a test"])
    with pytest.raises(sandbox.SandboxUnavailable):
        sandbox.choose_mode()
    assert sandbox.choose_mode(allow_unisolated=True) == "plain"
    assert not sandbox.isolated_concurrency("plain")


def test_forced_modes_are_still_checked(no_bwrap, monkeypatch):
    monkeypatch.setenv("DLCOURSE_SANDBOX", "bwrap")
    with pytest.raises(sandbox.SandboxUnavailable, match="not installed"):
        sandbox.choose_mode()


@pytest.mark.skipif(os.getuid() != 0, reason="setuid mode needs root")
def test_preflight_names_the_real_cause_when_the_sandbox_user_cannot_import_python():
    if sandbox.python_readable_by_others():
        pytest.skip("this Python is readable by other users: setuid mode works here")
    with pytest.raises(sandbox.SandboxUnavailable) as caught:
        sandbox.preflight("setuid")
    message = str(caught.value)
    # Python under a 0700 home: it cannot import the standard library; Python under /tmp
    # (a checkout there): setuid mode's private /tmp hides it, so Python cannot start.
    assert (
        "cannot import Python's standard library" in message or "could not start Python" in message
    ), message
    assert "apt-get install bubblewrap" in message


def test_preflight_passes_in_bwrap_and_checks_the_tests_are_hidden(tmp_path):
    mode = _bwrap_mode_or_skip()
    test_file = os.path.join(ROOT, "autograder", "gradient_descent", "tests", "q1.py")
    sandbox.preflight(mode, secret_paths=[test_file])


# --------------------------------------------------------------------------- one sandbox


def run_cells(cells, limits=None, **kwargs):
    slot = sandbox.UidSlot()
    student = sandbox.StudentProcess(limits or sandbox.Limits(timeout=60), slot, **kwargs)
    try:
        values = {}
        if student.start(cells):
            for name, info in student.names.items():
                if info.get("kind") == "data":
                    try:
                        values[name] = student.get(name)
                    except Exception:  # noqa: BLE001 - unsendable (a file, ...): skip it
                        pass
    finally:
        student.close()
        slot.release()
    return student, values


def test_env_reaches_the_sandbox_and_library_caches_stay_inside():
    _bwrap_mode_or_skip()
    student, values = run_cells(
        [
            "import os\nbackend = os.environ['KERAS_BACKEND']\n"
            "cache = os.environ['XDG_CACHE_HOME']\nmpl = os.environ['MPLCONFIGDIR']",
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "plt.plot([1, 2])\nplt.savefig('figure.png')",
        ],
        env={"KERAS_BACKEND": "jax"},
    )
    assert student.status is None and not student.cell_errors, student.cell_errors
    assert values["backend"] == "jax"
    assert values["cache"].startswith(sandbox.SANDBOX_HOME)
    assert values["mpl"].startswith(sandbox.SANDBOX_HOME)
    assert student.output_text("stderr") == ""  # no Fontconfig / matplotlib warnings


def test_working_folders_are_small_private_tmpfs():
    _bwrap_mode_or_skip()
    limits = sandbox.Limits(timeout=60, workdir_mb=16, tmp_mb=8)
    student, values = run_cells(
        [
            textwrap.dedent("""\
        import os
        full = {}
        for folder in (os.getcwd(), '/tmp', '/dev/shm'):
            written = 0
            try:
                with open(os.path.join(folder, 'fill'), 'wb') as f:
                    while written < 64 << 20:
                        f.write(b'0' * (1 << 20))
                        f.flush()
                        written += 1 << 20
            except OSError as exc:
                full[folder] = (written >> 20, exc.errno)
        tmp_entries = os.listdir('/tmp')
        """)
        ],
        limits,
    )
    assert student.status is None, student.reason
    import errno

    assert values["full"][sandbox.SANDBOX_HOME][1] == errno.ENOSPC
    assert values["full"][sandbox.SANDBOX_HOME][0] <= 16
    assert values["full"]["/tmp"][0] <= 8 and values["full"]["/dev/shm"][0] <= 8
    # nothing of the host's /tmp, except where this Python itself lives under /tmp (a checkout
    # there): the sandbox mounts it read-only at its own path
    own = {r.split("/")[2] for r in sandbox.python_roots() if r.startswith("/tmp/")}
    assert sorted(set(values["tmp_entries"]) - own) == ["fill"]


def test_seccomp_blocks_new_namespaces_and_mounts():
    _bwrap_mode_or_skip()
    if seccomp.unavailable_reason():
        pytest.skip(seccomp.unavailable_reason())
    student, values = run_cells(
        [
            textwrap.dedent("""\
        import ctypes, errno, threading, subprocess
        libc = ctypes.CDLL(None, use_errno=True)
        unshare = libc.unshare(0x10000000), ctypes.get_errno()
        mount = libc.mount(b'tmpfs', b'/tmp', b'tmpfs', 0, None), ctypes.get_errno()
        box = []
        thread = threading.Thread(target=lambda: box.append(1))
        thread.start(); thread.join()
        child = subprocess.run(['true']).returncode
        """)
        ]
    )
    assert student.status is None and not student.cell_errors, student.cell_errors
    import errno

    assert tuple(values["unshare"]) == (-1, errno.EPERM)
    assert tuple(values["mount"]) == (-1, errno.EPERM)
    assert values["box"] == [1] and values["child"] == 0  # threads and processes still work


MEMFD_CELL = textwrap.dedent("""\
    import os, time
    held = []
    for _ in range(20):
        fd = os.memfd_create('hold')
        for _ in range(40):
            os.write(fd, b'x' * (1 << 20))
        held.append(fd)
    time.sleep(3)
    """)


def test_memfd_memory_is_counted_by_the_cgroup():
    _bwrap_mode_or_skip()
    if os.getuid() != 0 or not cgroup.available():
        pytest.skip("needs root and cgroups")
    limits = sandbox.Limits(timeout=60, memory_mb=384)
    student, _ = run_cells([MEMFD_CELL], limits)
    assert student.status == "memory", (student.status, student.reason)
    assert "384 MiB" in student.reason


def test_without_cgroups_the_watchdog_counts_memfd_files(monkeypatch):
    _bwrap_mode_or_skip()
    monkeypatch.setenv("DLCOURSE_CGROUPS", "0")
    assert not sandbox.isolated_concurrency("bwrap")
    limits = sandbox.Limits(timeout=60, memory_mb=256, rss_slack_mb=128)
    student, _ = run_cells([MEMFD_CELL], limits)
    assert student.cgroup is None
    assert student.status == "memory", (student.status, student.reason)


# --------------------------------------------------------------------------- a killed grader


DRIVER = textwrap.dedent("""\
    import sys
    sys.path.insert(0, {root!r})
    from autograder import sandbox
    slot = sandbox.UidSlot()
    print(slot.uid, flush=True)
    student = sandbox.StudentProcess(sandbox.Limits(timeout=120), slot)
    student.start(["import ctypes, time\\n"
                   "ctypes.CDLL(None).prctl(15, b'dlorphan', 0, 0, 0)\\n"
                   "time.sleep(100)"])
    """)


def test_a_killed_grader_leaves_no_sandbox_no_lock_and_no_cgroup(tmp_path):
    _bwrap_mode_or_skip()
    if os.getuid() != 0:
        pytest.skip("uid slots and cgroups need root")
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER.format(root=ROOT)], stdout=subprocess.PIPE, text=True
    )
    uid = int(driver.stdout.readline())
    end = time.monotonic() + 60
    while not [p for p in psutil.process_iter(["name"]) if p.info["name"] == "dlorphan"]:
        assert time.monotonic() < end, "the sandbox never started"
        time.sleep(0.2)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    end = time.monotonic() + 10
    while [p for p in psutil.process_iter(["name"]) if p.info["name"] == "dlorphan"]:
        assert time.monotonic() < end, "the student's process outlived the grader"
        time.sleep(0.2)
    # the uid's lock died with its holder
    fd = os.open(os.path.join(sandbox.LOCK_DIR, str(uid)), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)

    # its cgroup is swept as stale
    def stale():
        return [
            name
            for parent in cgroup._parent_dirs().values()
            for name in os.listdir(parent)
            if name.startswith(f"{cgroup.PREFIX}{driver.pid}-")
        ]

    if cgroup.available():
        assert stale()
        sandbox.sweep_stale()
        assert not stale()


def test_stale_working_folders_of_dead_graders_are_removed():
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = os.path.join(sandbox.work_root(), f"{sandbox.WORK_PREFIX}{dead.pid}-test")
    live = os.path.join(sandbox.work_root(), f"{sandbox.WORK_PREFIX}{os.getpid()}-test")
    for path in (stale, live):
        os.makedirs(os.path.join(path, "home"), exist_ok=True)
    try:
        sandbox.sweep_stale()
        assert not os.path.exists(stale) and os.path.exists(live)
    finally:
        import shutil

        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def test_a_forked_child_takes_its_own_uid_slot():
    if os.getuid() != 0:
        pytest.skip("uid slots need root")
    parent = sandbox.UidSlot()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child inherits the parent's slot, lock and all
        try:
            parent.ensure_owned()
            os.write(write_fd, str(parent.uid).encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    child_uid = int(os.read(read_fd, 100))
    os.close(read_fd)
    os.close(write_fd)
    assert child_uid != parent.uid
    parent.release()


@pytest.mark.skipif(os.getuid() != 0, reason="setuid mode needs root")
def test_setuid_mode_mounts_hide_the_tests_tmp_proc_and_network(tmp_path):
    """The namespaces and mounts of setuid mode, tried in a forked child that then drops
    to the sandbox uid (no Python start needed, so it runs where Python is unreadable)."""
    if not sandbox._namespaces_work():
        pytest.skip("the kernel refuses the namespaces setuid mode needs")
    import pathlib
    import shutil

    slot = sandbox.UidSlot()
    base = pathlib.Path(sandbox.work_root()) / f"{sandbox.WORK_PREFIX}{os.getpid()}-mounts"
    secret = base / "exercises" / "tests" / "q1.py"  # world-readable, outside /tmp
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("SECRET = 1\n")
    for path in (base, secret.parent.parent, secret.parent):
        os.chmod(path, 0o755)
    workdir = str(base / "home")
    os.makedirs(workdir, exist_ok=True)
    listener = __import__("socket").create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        import json
        import socket

        found = {}
        try:
            sandbox._setuid_mounts(
                sandbox.Limits(), workdir, slot.uid, [str(secret.parent)], seccomp._build()
            )()
            os.setgroups([])
            os.setresgid(slot.uid, slot.uid, slot.uid)
            os.setresuid(slot.uid, slot.uid, slot.uid)
            try:
                found["secret"] = open(secret).read()
            except OSError:
                found["secret"] = None
            found["tmp"] = os.listdir("/tmp")
            found["pids"] = sorted(int(n) for n in os.listdir("/proc") if n.isdigit())
            try:
                probe = socket.socket()
                probe.settimeout(2)
                probe.connect((b"127.0.0.1", port))  # no idna codec: stdlib unreadable here
                found["network"] = True
            except OSError:
                found["network"] = False
            found["cwd_writable"] = os.access(os.getcwd(), os.W_OK)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            found["error"] = repr(exc)
        os.write(write_fd, json.dumps(found).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    import json

    found = json.loads(os.read(read_fd, 1 << 16))
    os.close(read_fd)
    os.close(write_fd)
    listener.close()
    slot.release()
    shutil.rmtree(base)
    assert "error" not in found, found
    assert found["secret"] is None and found["tmp"] == [] and found["network"] is False
    assert found["cwd_writable"]
    if sandbox._own_proc_instances():
        assert found["pids"] == [pid]  # only itself: the grader's command line is hidden
