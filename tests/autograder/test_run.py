"""Orchestration: the sheet's lock, worker deaths, what is cached, failed writes.

``scoring.grade_file`` is replaced by small stand-ins (inherited by the forked workers), so
these tests exercise the orchestration itself in seconds.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from autograder import run, scoring, sheet
from autograder.result import SubmissionResult


def fake_grader(behaviour):
    """A grade_file stand-in: ``behaviour(name)`` may kill the worker or return a status."""

    def grade_file(path, exercise, limits, mode=None, display_name=None):
        status = behaviour(display_name) or "ok"
        return SubmissionResult(
            file=display_name,
            exercise=exercise,
            status=status,
            reason="grader: boom" if status == "error" else "",
            total=1.0 if status == "ok" else 0.0,
        )

    return grade_file


def submissions(tmp_path, *names):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in names:
        (folder / name).write_text("{}")
    return folder


def test_second_run_on_the_same_sheet_is_refused(tmp_path):
    out = str(tmp_path / "g.csv")
    with run.SheetLock(out):
        with pytest.raises(run.SheetLocked) as info:
            with run.SheetLock(out):
                pass
        assert str(os.getpid()) in str(info.value) and "g.csv.lock" in str(info.value)
    with run.SheetLock(out):  # released after the first run
        pass


def test_a_dying_worker_is_blamed_on_its_own_submission(tmp_path, monkeypatch):
    marker = tmp_path / "flaky-died-once"

    def behaviour(name):
        if name == "killer.ipynb":
            os.kill(os.getpid(), signal.SIGKILL)
        if name == "flaky.ipynb" and not marker.exists():
            marker.write_text("x")  # dies once beside others, then grades fine alone
            os._exit(3)
        time.sleep(0.3)

    monkeypatch.setattr(scoring, "grade_file", fake_grader(behaviour))
    folder = submissions(tmp_path, "a.ipynb", "killer.ipynb", "flaky.ipynb", "b.ipynb")
    results = run.grade_folder(
        str(folder), str(tmp_path / "g.csv"), jobs=2, progress=False, mode="bwrap"
    )
    by_name = {r.file: r for r in results}
    assert by_name["killer.ipynb"].status == "memory"
    assert "graded alone" in by_name["killer.ipynb"].reason
    assert {n: by_name[n].status for n in ("a.ipynb", "b.ipynb", "flaky.ipynb")} == {
        "a.ipynb": "ok",
        "b.ipynb": "ok",
        "flaky.ipynb": "ok",
    }


def test_grader_errors_are_regraded_and_final_grades_are_not(tmp_path, monkeypatch):
    folder = submissions(tmp_path, "a.ipynb", "b.ipynb")
    out = str(tmp_path / "g.csv")
    log = tmp_path / "graded.log"  # the workers are forked: they report through a file

    def behaviour(name):
        first_time = name not in (log.read_text().split() if log.exists() else [])
        with open(log, "a") as f:
            f.write(name + "\n")
        return "error" if name == "b.ipynb" and first_time else None

    monkeypatch.setattr(scoring, "grade_file", fake_grader(behaviour))
    results = run.grade_folder(str(folder), out, jobs=1, progress=False, mode="bwrap")
    assert [r.status for r in results] == ["ok", "error"]
    state = json.loads(open(sheet.state_path(out)).read())
    assert state["entries"]["b.ipynb"]["result"]["reason"].startswith("grader:")
    log.write_text("a.ipynb\nb.ipynb\n")
    results = run.grade_folder(str(folder), out, jobs=1, progress=False, mode="bwrap")
    assert [r.status for r in results] == ["ok", "ok"]
    assert log.read_text().split() == ["a.ipynb", "b.ipynb", "b.ipynb"]  # only b regraded


def test_a_failed_report_write_does_not_stop_the_run(tmp_path, monkeypatch):
    folder = submissions(tmp_path, "a.ipynb", "full.ipynb", "c.ipynb")
    out = str(tmp_path / "g.csv")
    monkeypatch.setattr(scoring, "grade_file", fake_grader(lambda name: None))
    real = sheet.write_report

    def write_report(csv_path, file_name, text, instructor=False):
        if file_name == "full.ipynb":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(csv_path, file_name, text, instructor)

    monkeypatch.setattr(sheet, "write_report", write_report)
    results = run.grade_folder(str(folder), out, jobs=1, progress=False, mode="bwrap")
    by_name = {r.file: r for r in results}
    assert by_name["full.ipynb"].reason == "report not written: No space left on device"
    assert by_name["c.ipynb"].status == "ok"
    entries = json.loads(open(sheet.state_path(out)).read())["entries"]
    assert entries["full.ipynb"]["reports_written"] is False
    assert not sheet.is_current(entries["full.ipynb"], "x", "y")


def test_a_full_disk_for_the_sheet_is_a_clear_error(tmp_path, monkeypatch):
    folder = submissions(tmp_path, "a.ipynb")
    monkeypatch.setattr(scoring, "grade_file", fake_grader(lambda name: None))

    def full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sheet, "atomic_write", full)
    with pytest.raises(run.WriteFailed, match="No space left on device"):
        run.grade_folder(str(folder), str(tmp_path / "g.csv"), jobs=1, progress=False, mode="bwrap")


def test_workers_die_with_the_grader(tmp_path):
    """kill -9 of the grader leaves no worker grading on."""
    folder = submissions(tmp_path, "a.ipynb", "b.ipynb")
    pids = tmp_path / "pids"
    pids.mkdir()
    script = textwrap.dedent(f"""
        import os, time
        from autograder import run, scoring
        def grade_file(path, exercise, limits, mode=None, display_name=None):
            open(os.path.join({str(pids)!r}, str(os.getpid())), "w").close()
            time.sleep(120)
        scoring.grade_file = grade_file
        run.grade_folder({str(folder)!r}, {str(tmp_path / "g.csv")!r}, jobs=2,
                         progress=False, mode="bwrap")
    """)
    grader = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    deadline = time.monotonic() + 60
    while len(os.listdir(pids)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [int(p) for p in os.listdir(pids)]
    assert len(workers) == 2
    grader.kill()
    grader.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
