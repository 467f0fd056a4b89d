"""Red team, round two: one hostile submission must not harm anyone else.

Each attack is graded by the real grading command (``python -m autograder.grade``), two
submissions at a time, beside an honest submission (the reference solution of
``gradient_descent``) in the same run. The figure of merit: the honest neighbour keeps
full marks, the attacker gets the status its attack deserves, the grader's own memory
stays bounded and the run exits 0. Attack notebooks are written into ``tmp_path``.

Needs root and a working bubblewrap (the grader's default sandbox, with cgroups);
elsewhere the module is skipped with the reason.
"""

import io
import json
import os
import shutil
import struct
import subprocess
import time
import zipfile

import psutil
import pytest

from autograder import cgroup, sandbox
from tests.fixtures.grading import grade_command, read_sheet

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HONEST = os.path.join(ROOT, "tests", "submissions", "gradient_descent", "solution.ipynb")
FULL_MARKS = 10.0


def _skip_reason():
    if os.getuid() != 0:
        return "needs root (one sandbox uid and cgroup per submission)"
    try:
        mode = sandbox.choose_mode()
    except sandbox.SandboxUnavailable as exc:
        return f"no sandbox here: {str(exc)[:200]}"
    if mode != "bwrap":
        return f"needs the bwrap sandbox (this machine gives {mode})"
    if not cgroup.available():
        return "needs cgroups (memory, pids, cpu) for per-submission limits"
    return None


SKIP = _skip_reason()
if SKIP:
    pytest.skip(SKIP, allow_module_level=True)


def honest_notebook():
    with open(HONEST, encoding="utf-8") as f:
        return json.load(f)


def code_cells(nb):
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def attack_notebook(path, attack_code, replace=None):
    """The honest notebook with ``attack_code`` as a new cell after the imports, and
    ``replace`` ({function name: new source}) swapped in for those definitions."""
    nb = honest_notebook()
    cells = nb["cells"]
    imports = next(
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and "import numpy as np" in source(c)
    )
    for name, new in (replace or {}).items():
        for cell in code_cells(nb):
            if source(cell).startswith(f"def {name}("):
                cell["source"] = new
    if attack_code:
        cells.insert(
            imports + 1,
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": attack_code,
            },
        )
    with open(path, "w", encoding="utf-8") as f:
        json.dump(nb, f)
    return path


def grader_rss(root):
    """Resident memory of the grader's own processes (the sandboxes excluded)."""
    total = 0
    stack = [root]
    while stack:
        proc = stack.pop()
        try:
            if proc.name() == "bwrap":
                continue  # a sandbox: its memory is the student's, bounded by its cgroup
            total += proc.memory_info().rss
            stack += proc.children()
        except psutil.Error:
            continue
    return total


def grade(folder, out, *extra, timeout=300):
    """Run the grading command; ``(exit code, rows by file, peak grader RSS, stderr)``."""
    cmd = grade_command(folder, out, "--jobs", "2", *extra)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    watched = psutil.Process(proc.pid)
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        peak = max(peak, grader_rss(watched))
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    stdout, stderr = proc.communicate()
    rows = read_sheet(out) if os.path.exists(out) else {}
    return proc.returncode, rows, peak, stdout + stderr


def total(row):
    return float(row["total"] or 0)


def assert_honest(rows, name="honest.ipynb"):
    row = rows[name]
    assert row["status"] == "ok" and total(row) == FULL_MARKS, row


def folder_with_honest(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(HONEST, folder / "honest.ipynb")
    return folder


# --------------------------------------------------------------------------- attacks


MEMFD_HOLD = """\
import os
held = []
chunk = b"x" * (1 << 20)
for _ in range(50):                       # 50 memfds of 50 MiB: under RLIMIT_FSIZE each
    fd = os.memfd_create("hold")
    for _ in range(50):
        os.write(fd, chunk)
    held.append(fd)
print("held", len(held) * 50, "MiB outside the heap")
"""

FORK_STORM = """\
import ctypes, os, time
for _ in range(200):
    if os.fork() == 0:
        os.setsid()                       # defeat per-session scheduler fairness
        ctypes.CDLL(None).prctl(15, b"dlstorm", 0, 0, 0)   # PR_SET_NAME: findable
        end = time.monotonic() + 40
        while time.monotonic() < end:
            pass
        os._exit(0)
"""

DISK_FILL = """\
import os
filled = {}
for folder in (os.path.expanduser("~"), "/tmp", "/dev/shm"):
    filled[folder] = 0
    try:
        for i in range(100):
            with open(os.path.join(folder, f"fill{i}"), "wb") as f:
                for _ in range(60):
                    f.write(b"\\0" * (1 << 20))
                    filled[folder] += 1
    except OSError as exc:
        print(folder, "full after", filled[folder], "MiB:", type(exc).__name__)
"""

DEEP_JSON = """\
import os, sys
fd = int(sys.argv[sys.argv.index("--out-fd") + 1])
os.write(fd, b'{"kind": "cell", "index": ' + b"[" * 100000 + b"]" * 100000 + b"}\\n")
"""

AMPLIFYING_GD = '''\
def gradient_descent(grad, x0, lr, tol=1e-4, max_iter=10_000):
    """Calls the grader's callback with cheap arguments that are costly to compute on."""
    global refused
    refused = 0
    for cheap in (np.zeros((2**25, 0)), np.ones(44 << 20, dtype=bool),
                  np.zeros((1 << 21, 1))):
        try:
            grad(cheap)
        except Exception:
            refused += 1
    x = np.asarray(x0, dtype=float)
    iterates = [x]
    for _ in range(max_iter):
        x_new = x - lr * np.asarray(grad(x), dtype=float)
        iterates.append(x_new)
        if np.linalg.norm(x_new - x) <= tol:
            break
        x = x_new
    return np.array(iterates)
'''


def zip_bomb(path):
    """Five 60 MiB members of zeros plus the notebook: ~1 MiB on disk, 300 MiB declared."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for i in range(5):
            with archive.open(f"data{i}.bin", "w") as member:
                for _ in range(60):
                    member.write(bytes(1 << 20))
        archive.write(HONEST, "bomb.ipynb")


def overlapping_zip(path, members=300):
    """~21 KB: one compressed notebook-like member listed ``members`` times."""
    payload = b'{"cells": [], "pad": "' + b" " * (16 << 20) + b'"}'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("n000.ipynb", payload)
    base = buffer.getvalue()
    at = base.rfind(b"PK\x05\x06")
    *_, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", base, at)
    entry = base[cd_offset : cd_offset + cd_size]
    entries = b"".join(entry[:46] + f"n{i:03d}.ipynb".encode() + entry[56:] for i in range(members))
    eocd = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, members, members, len(entries), cd_offset, 0
    )
    path.write_bytes(base[:cd_offset] + entries + eocd)


# --------------------------------------------------------------------------- tests


def test_memfd_hold_is_the_attackers_memory_problem(tmp_path):
    folder = folder_with_honest(tmp_path)
    attack_notebook(folder / "memfd.ipynb", MEMFD_HOLD)
    code, rows, _, log = grade(folder, tmp_path / "out.csv", "--timeout", "120")
    assert code == 0, log
    assert rows["memfd.ipynb"]["status"] == "memory", rows["memfd.ipynb"]
    assert total(rows["memfd.ipynb"]) == 0
    assert_honest(rows)


def test_fork_storm_does_not_starve_the_neighbour(tmp_path):
    folder = folder_with_honest(tmp_path)
    attack_notebook(folder / "forkstorm.ipynb", FORK_STORM)
    started = time.monotonic()
    code, rows, _, log = grade(folder, tmp_path / "out.csv", "--timeout", "60")
    assert code == 0, log
    assert_honest(rows)
    assert time.monotonic() - started < 200
    # the busy processes would run 40 s: none may outlive the run
    assert not [p for p in psutil.process_iter(["name"]) if p.info["name"] == "dlstorm"]


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """One run: callback amplification, disk fill, deep JSON, zip bomb, overlapping zip,
    and the honest submission."""
    tmp_path = tmp_path_factory.mktemp("redteam")
    folder = folder_with_honest(tmp_path)
    attack_notebook(folder / "amplify.ipynb", None, {"gradient_descent": AMPLIFYING_GD})
    attack_notebook(folder / "diskfill.ipynb", DISK_FILL)
    attack_notebook(folder / "deepjson.ipynb", DEEP_JSON)
    zip_bomb(folder / "zipbomb.zip")
    overlapping_zip(folder / "overlap.zip")
    started = time.monotonic()
    code, rows, peak, log = grade(folder, tmp_path / "out.csv", "--timeout", "120")
    return {
        "code": code,
        "rows": rows,
        "peak": peak,
        "log": log,
        "out": tmp_path / "out.csv",
        "seconds": time.monotonic() - started,
    }


def test_mixed_run_exits_0_and_the_honest_keeps_full_marks(mixed_run):
    assert mixed_run["code"] == 0, mixed_run["log"]
    assert len(mixed_run["rows"]) == 6
    assert_honest(mixed_run["rows"])


def test_callback_amplification_does_not_blow_up_the_grader(mixed_run):
    row = mixed_run["rows"]["amplify.ipynb"]
    assert row["status"] == "ok"  # the callbacks refused; it went on honestly
    assert mixed_run["peak"] < 1536 << 20, f"grader peaked at {mixed_run['peak'] >> 20} MiB"


def test_disk_fill_is_the_attackers_own_problem(mixed_run):
    row = mixed_run["rows"]["diskfill.ipynb"]
    assert row["status"] in ("ok", "memory"), row
    assert shutil.disk_usage(mixed_run["out"].parent).free > 1 << 30


def test_deep_json_is_a_protocol_break_not_a_grader_error(mixed_run):
    row = mixed_run["rows"]["deepjson.ipynb"]
    assert row["status"] == "crashed" and "protocol" in row["reason"], row
    assert total(row) == 0


@pytest.mark.parametrize("name", ["zipbomb.zip", "overlap.zip"])
def test_hostile_zips_are_invalid_with_a_short_reason(mixed_run, name):
    row = mixed_run["rows"][name]
    assert row["status"] == "invalid" and total(row) == 0, row
    assert 0 < len(row["reason"]) <= 200
