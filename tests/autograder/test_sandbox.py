"""How the grader names the end of a student's process (``StudentProcess._death_reason``),
from its exit status, the sandbox mode and what it printed last."""

import signal
import types

import pytest

from autograder import sandbox


def ended(returncode, mode="bwrap", cell=None, stderr=b""):
    """A StudentProcess whose harness ended with ``returncode`` while ``cell`` (the index of
    the last cell the harness reported, or None) was running."""
    student = sandbox.StudentProcess(sandbox.Limits(), uid_slot=None, mode=mode)
    student._proc = types.SimpleNamespace(returncode=returncode)
    student._current_cell = cell
    student.output["stderr"] += stderr
    return student._death_reason("while running the notebook's cells")


@pytest.mark.parametrize(
    "returncode, mode, expected",
    [
        (-signal.SIGKILL, "setuid", ("crashed", "the process was killed by SIGKILL")),
        (128 + signal.SIGKILL, "bwrap", ("crashed", "the process was killed by SIGKILL")),
        (128 + signal.SIGSEGV, "bwrap", ("crashed", "the process was killed by SIGSEGV")),
        (-signal.SIGXCPU, "setuid", ("timeout", "CPU time limit reached")),
        (128 + signal.SIGXCPU, "bwrap", ("timeout", "CPU time limit reached")),
        (1, "bwrap", ("crashed", "the process exited (code 1)")),
    ],
)
def test_exit_status_becomes_a_status_and_reason(returncode, mode, expected):
    status, reason = ended(returncode, mode)
    assert (status, reason.split(" while")[0]) == expected
    assert reason.endswith("while running the notebook's cells")


def test_the_reason_names_the_cell_that_was_running():
    # the harness had reported code cell index 2 (the third) done: the fourth was running
    assert ended(-signal.SIGKILL, "setuid", cell=2) == (
        "crashed",
        "the process was killed by SIGKILL in cell 4",
    )


def test_a_memory_error_on_stderr_is_out_of_memory():
    assert ended(1, stderr=b"Traceback ...\nMemoryError\n") == (
        "memory",
        "out of memory while running the notebook's cells",
    )
    assert ended(134, "setuid", stderr=b"terminate called: std::bad_alloc")[0] == "memory"
