"""Red team: submissions that try to cheat or to break the grader, graded by the real
grading command (``python -m autograder.grade``) against the fixture exercise ``toy``.

Each attack comes with *wrong* answers, or with right ones only if the attack worked, so
any point it earns is a point the attack stole. All are graded in one run (module
fixture); each test then checks its row: no points, a status, a report, and the grader
went on. Limits are small so the suite stays short; the fork bombs are bounded by
RLIMIT_NPROC (asserted first) and by the PID namespace.
"""

import os

import psutil
import pytest

from autograder import sandbox
from tests.fixtures.grading import grading_env, read_sheet, run_grader
from tests.fixtures.notebooks import FIXTURE_EXERCISES, SOLUTION, write_notebook

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_FILE = os.path.join(FIXTURE_EXERCISES, "toy", "tests", "q1.py")
OUTSIDE = (
    "/usr/evil_dlcourse",
    os.path.join(ROOT, "evil_dlcourse"),
    "/etc/evil_dlcourse",
    "/root/evil_dlcourse",
    "/home/evil_dlcourse",
)
"""Places outside the sandbox an attack tries to write (the checkout among them)."""
HEADER = SOLUTION[:2]
WRONG = [
    "def add_scaled(x, y, a):\n    return np.zeros(3)",
    "def apply_twice(f, x):\n    return x",
    "def make_affine(a, b):\n    return lambda x: x",
    "def noisy(rng, n):\n    return np.zeros(n)",
]
RIGHT = "\n".join(SOLUTION[2:3] + SOLUTION[4:7])


MARK_NAME = "dlredteam"
MARK = f"import ctypes\nctypes.CDLL(None).prctl(15, {MARK_NAME.encode()!r}, 0, 0, 0)"
"""A first cell naming the process (PR_SET_NAME; inherited by its forks) so that any
process an attack leaves behind can be found."""


def right_if(condition):
    """A cell that defines the right answers only when ``condition`` (code) is true."""
    body = "\n".join("    " + line for line in RIGHT.splitlines())
    return f"if {condition}:\n{body}"


ATTACKS = {
    # score rewriting
    "patch_otter": HEADER
    + WRONG
    + [
        "import sys\nsys.modules.pop('otter', None)\n"
        "import otter.test_files.abstract_test as at, otter.test_files.exception_test as et\n"
        "at.TestFile.score = property(lambda self: 100)\n"
        "at.TestFile.grade = property(lambda self: 1.0)\n"
        "at.TestFile.passed_all = property(lambda self: True)\n"
        "et.ExceptionTestFile.run = lambda self, env: None\n"
        "import otter.check.notebook as cn\n"
        "cn.Notebook.check = lambda *a, **k: None",
    ],
    "fake_results": HEADER
    + WRONG
    + [
        "import json, os\n"
        "for path in ['results.json', '/autograder/results/results.json',\n"
        "             os.environ.get('OUT_CSV', '/tmp/grades.csv'), '/tmp/grades.csv']:\n"
        "    try:\n"
        "        with open(path, 'w') as f: f.write('file,q1,q2,q3,total,status\\nfake_results.ipynb,2,3,1,6,ok\\n')\n"
        "    except OSError as e:\n"
        "        print('blocked', path, e)",
    ],
    "patch_tests_gc": HEADER
    + WRONG
    + [
        "import gc\nhits = 0\n"
        "for obj in gc.get_objects():\n"
        "    if type(obj).__name__ in ('test_case', 'ExceptionTestFile', 'TestCaseResult'):\n"
        "        hits += 1\n"
        "print('grader objects found:', hits)",
        right_if("hits > 0"),
    ],
    # reading hidden tests / solutions
    "read_tests": HEADER
    + WRONG
    + [
        f"import glob, os\nstolen = None\n"
        f"for path in [{TESTS_FILE!r}, {os.path.join(ROOT, 'autograder')!r},\n"
        f"             {os.path.join(ROOT, 'solutions')!r}]:\n"
        "    try:\n"
        "        stolen = open(path).read() if os.path.isfile(path) else os.listdir(path)\n"
        "    except OSError as e:\n"
        "        print('blocked', path, type(e).__name__)\n"
        f"found = [p for top in {(ROOT, '/work', '/root', '/home', '/tmp', '/opt', '/autograder')!r}\n"
        "         for pattern in ('q1.py', 'questions.json', '*.csv')\n"
        "         for p in glob.glob(f'{top}/**/{pattern}', recursive=True)]\n"
        "print('found', found)",
        right_if("stolen or found"),
    ],
    "import_grader": HEADER
    + WRONG
    + [
        "ok = False\n"
        "for mod in ('autograder.grade', 'autograder.sandbox', 'dlcourse', 'tests.fixtures.notebooks'):\n"
        "    try:\n"
        "        __import__(mod); ok = True; print('imported', mod)\n"
        "    except ImportError as e:\n"
        "        print('blocked', mod)",
        "import channel\n"
        "channel.Codec.decode = lambda self, data: 'patched'\n"
        "channel.remote_exception = lambda *a: None",
        right_if("ok"),
    ],
    # killing the process
    "os_exit_cell": HEADER + ["import os\nos._exit(0)"] + [RIGHT],
    "sys_exit_cell": HEADER + ["import sys\nsys.exit(0)"] + WRONG,
    "os_exit_in_call": HEADER
    + [
        "import os\ndef add_scaled(x, y, a):\n    os._exit(0)",
        "def apply_twice(f, x):\n    return f(f(x))",
    ],
    "segfault": HEADER + ["import ctypes\nctypes.string_at(0)"] + [RIGHT],
    # limits
    "infinite_loop_cell": HEADER + ["while True:\n    pass"] + [RIGHT],
    "infinite_loop_call": HEADER
    + WRONG
    + ["def add_scaled(x, y, a):\n    while True:\n        pass"],
    "memory_bomb": HEADER
    + WRONG
    + ["blocks = []\nwhile True:\n    blocks.append(bytearray(50 << 20))"],
    "memory_bomb_numpy": HEADER + WRONG + ["big = np.ones(10**10)"],
    "fork_bomb": HEADER
    + WRONG
    + [
        "import os, time\n"
        "try:\n"
        "    while True:\n"
        "        os.fork()\n"
        "except OSError:\n"
        "    time.sleep(1000)"
    ],
    "print_megabytes": HEADER + WRONG + ["for i in range(60):\n    print('x' * (1 << 20))"],
    # escaping the sandbox
    "write_outside": HEADER
    + WRONG
    + [
        "import os\nwrote = []\n"
        f"for path in {[*OUTSIDE, '/proc/evil']!r}:\n"
        "    try:\n"
        "        open(path, 'w').write('x'); wrote.append(path)\n"
        "    except OSError as e:\n"
        "        print('blocked', path, type(e).__name__)\n"
        "print('uid', os.getuid(), 'wrote', wrote)",
        right_if("wrote or os.getuid() == 0"),
    ],
    "network": HEADER
    + WRONG
    + [
        "import socket\nreached = False\n"
        "for host in [('1.1.1.1', 53), ('8.8.8.8', 443), ('127.0.0.1', 22)]:\n"
        "    try:\n"
        "        socket.create_connection(host, timeout=2).close(); reached = True\n"
        "    except OSError as e:\n"
        "        print('blocked', host, e)",
        right_if("reached"),
    ],
    "monkeypatch_numpy": HEADER
    + WRONG
    + [
        "import random\nnp.random.seed(0); random.seed(0)\n"
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True",
    ],
    "break_harness": HEADER
    + WRONG
    + [
        "import builtins, json\nbuiltins.isinstance = lambda *a: True\n"
        'json.dumps = lambda *a, **k: \'{"kind": "ready", "names": {}}\''
    ],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade every attack in one run of the real command; returns (rows, out path)."""
    folder = tmp_path_factory.mktemp("redteam")
    out = tmp_path_factory.mktemp("redteam_out") / "grades.csv"
    for name, cells in ATTACKS.items():
        write_notebook(folder / f"{name}.ipynb", [MARK] + cells)
    write_notebook(folder / "zz_control.ipynb", SOLUTION)
    env = grading_env(fixture_exercises=True, OUT_CSV=str(out))
    extra = [
        "--jobs",
        "2",
        "--timeout",
        "25",
        "--call-timeout",
        "5",
        "--memory-mb",
        "768",
    ]
    proc = run_grader(folder, out, *extra, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return read_sheet(out), out


def report(out, name, kind="reports"):
    """A report of ``name``: the student's (``reports``) or the instructor's with the
    notebook's output (``instructor_reports``); named by the file plus a hash."""
    folder = str(out).replace(".csv", f"_{kind}")
    (path,) = [
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if f == f"{name}.ipynb.txt" or f.startswith(f"{name}.ipynb-")
    ]
    with open(path) as f:
        return f.read()


def test_nproc_limit_is_in_place():
    """Guard for the fork bombs: the limits function really caps processes."""
    assert sandbox.Limits().nproc <= 512
    assert "RLIMIT_NPROC" in open(sandbox.__file__).read()


def test_every_attack_has_a_row_and_control_gets_full_marks(graded):
    rows, _ = graded
    assert set(rows) == {f"{n}.ipynb" for n in ATTACKS} | {"zz_control.ipynb"}
    assert rows["zz_control.ipynb"]["total"] == "5"
    assert rows["zz_control.ipynb"]["status"] == "ok"


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_gains_nothing(graded, name):
    rows, out = graded
    row = rows[f"{name}.ipynb"]
    assert row["total"] == "0", (row, report(out, name))
    assert row["status"] in ("ok", "timeout", "memory", "crashed", "output-limit"), row
    assert "q1:" in report(out, name) or row["status"] != "ok"


EXPECTED_STATUS = {
    "os_exit_cell": "crashed",
    "segfault": "crashed",
    "os_exit_in_call": "crashed",
    "infinite_loop_cell": "timeout",
    "infinite_loop_call": "timeout",
    "memory_bomb": "memory",
    "memory_bomb_numpy": "memory",
    "print_megabytes": "output-limit",
    # killed by the resident-memory watchdog (256 processes) or by the wall clock
    "fork_bomb": ("memory", "timeout"),
    "sys_exit_cell": "ok",
    "monkeypatch_numpy": "ok",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_limit_gives_clear_status(graded, name):
    rows, out = graded
    row = rows[f"{name}.ipynb"]
    expected = EXPECTED_STATUS[name]
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert row["status"] in expected, (row, report(out, name))
    if row["status"] != "ok":
        assert row["reason"], row


def test_nothing_written_outside(graded):
    for path in OUTSIDE:
        assert not os.path.exists(path), path


def test_fake_results_did_not_touch_the_sheet(graded):
    rows, out = graded
    assert rows["fake_results.ipynb"]["total"] == "0"
    assert "blocked" in report(out, "fake_results", "instructor_reports")


def test_no_sandbox_processes_left(graded):
    # Every attack's process is named by MARK (other graders may run on this machine).
    assert not [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == MARK_NAME]


def test_read_tests_saw_nothing(graded):
    _, out = graded
    text = report(out, "read_tests", "instructor_reports")
    assert "found []" in text
    assert "SECRET_REFERENCE" not in text


def test_fork_bomb_is_capped(graded):
    rows, out = graded
    reason = rows["fork_bomb.ipynb"]["reason"]
    assert "ran longer than" in reason or "memory" in reason
