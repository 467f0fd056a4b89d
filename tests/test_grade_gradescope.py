"""Gradescope: the zip's contents and setup, and results.json from a grading result.

The end-to-end runs of every exercise's zip in a simulated container are in
tests/test_gradescope_simulated.py.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from autograder import exercises, gradescope, sandbox
from autograder.result import CellError, QuestionResult, SubmissionResult
from autograder.result import TestOutcome as Outcome  # not collected by pytest
from tests.fixtures.containers import base_namespace
from tests.fixtures.notebooks import FIXTURE_EXERCISES, SOLUTION, write_notebook

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "tests" / "fixtures" / "gradescope_results.schema.json").read_text())
needs_bwrap_root = pytest.mark.skipif(
    not shutil.which("bwrap") or os.getuid() != 0,
    reason="runs the script in a bubblewrap namespace as root, as Gradescope does",
)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setenv("DLCOURSE_EXERCISES_DIR", FIXTURE_EXERCISES)
    exercises.load_exercise.cache_clear()
    yield
    exercises.load_exercise.cache_clear()


# --------------------------------------------------------------------------- the zip


def test_zip_contents(tmp_path, toy):
    path = gradescope.build("toy", str(tmp_path))
    assert path == str(tmp_path / "toy.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        modes = {n: archive.getinfo(n).external_attr >> 16 for n in names}
        (tmp_path / "x").mkdir()
        archive.extractall(tmp_path / "x")
    assert {
        "setup.sh",
        "run_autograder",
        "requirements.txt",
        "autograder/harness.py",
        "autograder/scoring.py",
        "autograder/gradescope.py",
        "autograder/toy/tests/q1.py",
        "autograder/toy/questions.json",
        "dlcourse/genz.py",
    } <= names
    assert "autograder/assign.py" not in names  # authoring code stays out
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    for script in ("setup.sh", "run_autograder"):
        check = subprocess.run(["bash", "-n", str(tmp_path / "x" / script)], capture_output=True)
        assert check.returncode == 0, check.stderr
    # reproducible: the same sources give the same bytes
    again = gradescope.build("toy", str(tmp_path / "again"))
    assert Path(again).read_bytes() == Path(path).read_bytes()


def lock_of(exercise, tmp_path):
    with zipfile.ZipFile(gradescope.build(exercise, str(tmp_path))) as archive:
        lines = archive.read("requirements.txt").decode().split()
    return {Requirement(line).name.lower().replace("_", "-"): Requirement(line) for line in lines}


@pytest.mark.parametrize("exercise", list(exercises.EXERCISES))
def test_requirements_are_pinned_like_the_kit(tmp_path, exercise):
    lock = lock_of(exercise, tmp_path)
    pins = gradescope.pinned_requirements()
    for name, req in lock.items():
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", req
        version = next(iter(req.specifier)).version
        if name in pins:  # every package the kit pins is installed at the kit's pin
            assert version == pins[name], (name, version, pins[name])
    for name in gradescope.GRADER_PACKAGES:
        assert name in lock
    uses_keras = exercises.EXERCISES[exercise].uses_keras
    for name in gradescope.KERAS_PACKAGES:
        assert (name in lock) == uses_keras, name
    # the lock is closed: everything a locked package requires here is locked too
    for name in lock:
        for line in metadata.distribution(name).requires or ():
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                assert req.name.lower().replace("_", "-") in lock, (name, req)


# --------------------------------------------------------------------------- setup.sh

STUB = """#!/bin/bash
echo "$(basename "$0") $*" >> /log/calls
"""
PYTHON_STUB = (
    STUB
    + """if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; fi
if [ "$1 $2 $3" = "-m pip install" ]; then cp /stubs/uv "$(dirname "$0")/uv"; fi
"""
)
UV_STUB = (
    STUB
    + """if [ "$1" = venv ]; then mkdir -p "$4/bin"; cp /stubs/python3 "$4/bin/python"; fi
"""
)


@needs_bwrap_root
def test_setup_installs_a_python_that_satisfies_the_pins(tmp_path):
    """setup.sh run with apt-get, python3 and uv replaced by recording stubs, in a
    namespace with an empty /opt and the zip at /autograder/source."""
    source = tmp_path / "source"
    with zipfile.ZipFile(gradescope.build("genz_approximation", str(tmp_path))) as archive:
        archive.extractall(source)
    stubs, log = tmp_path / "stubs", tmp_path / "log"
    stubs.mkdir()
    log.mkdir()
    for name, text in (("apt-get", STUB), ("python3", PYTHON_STUB), ("uv", UV_STUB)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    cmd = base_namespace() + [
        "--tmpfs",
        "/opt",
        "--ro-bind",
        str(source),
        "/autograder/source",
        "--ro-bind",
        str(stubs),
        "/stubs",
        "--bind",
        str(log),
        "/log",
    ]
    cmd += ["--setenv", "PATH", "/stubs:/usr/bin:/bin", "--", "bash", "/autograder/source/setup.sh"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = (log / "calls").read_text().splitlines()
    installs = [c for c in calls if c.startswith("apt-get install")]
    assert installs and "bubblewrap" in installs[0].split()
    python_install = next(c for c in calls if c.startswith("uv python install"))
    version = python_install.split()[-1].strip('"')
    requires = SpecifierSet(
        next(
            line.split("=", 1)[1].strip().strip('"')
            for line in (REPO / "pyproject.toml").read_text().splitlines()
            if line.startswith("requires-python")
        )
    )
    assert version in requires and version == f"{sys.version_info[0]}.{sys.version_info[1]}"
    prefix = gradescope.PREFIX
    assert f"uv venv --python {version} {prefix}/venv" in calls
    assert (
        f"uv pip install --python {prefix}/venv/bin/python -r /autograder/source/requirements.txt"
    ) in calls
    assert calls[-1] == "python -m autograder.gradescope check genz_approximation"
    assert not any(
        "pip install" in c and "requirements" in c and not c.startswith("uv") for c in calls
    ), "nothing is pip-installed into the system Python"


@needs_bwrap_root
def test_run_autograder_reports_a_broken_grader(tmp_path):
    """When the grader's Python cannot start, the student still gets a results.json."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(gradescope.build("gradient_descent", str(tmp_path))) as archive:
        archive.extractall(root / "source")
    (root / "results").mkdir()
    cmd = base_namespace(etc=False) + ["--bind", str(root), "/autograder"]
    cmd += [
        "--setenv",
        "DLCOURSE_GRADER_PYTHON",
        "/bin/false",
        "--",
        "bash",
        "/autograder/source/run_autograder",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == 0 and "tell your instructor" in data["output"]


# --------------------------------------------------------------------------- results.json


def outcome(name, passed, hidden=False, message=None, points=1.0):
    return Outcome(name, "q", passed, message or ("passed" if passed else "wrong"), hidden, points)


def submission(*questions, **kwargs):
    total = sum(q.points or 0 for q in questions)
    return SubmissionResult(
        file="s.ipynb",
        exercise="toy",
        status="ok",
        questions=questions,
        total=total,
        max_total=sum(q.max_points for q in questions if q.kind == "auto"),
        isolation="bwrap",
        **kwargs,
    )


def aon(name, max_points, tests):
    passed = all(t.passed for t in tests)
    return QuestionResult(
        name, "auto", max_points, max_points if passed else 0.0, True, tuple(tests)
    )


def validated(result):
    data = gradescope.results_json(result, "toy")
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    return data


def visible(data):
    return [t for t in data["tests"] if t["visibility"] == "visible"]


def test_all_or_nothing_with_hidden_checks_is_no_oracle():
    good = validated(
        submission(aon("q1", 3, [outcome("q1 - 1", True), outcome("q1 - 2", True, hidden=True)]))
    )
    hidden_fails = validated(
        submission(aon("q1", 3, [outcome("q1 - 1", True), outcome("q1 - 2", False, hidden=True)]))
    )
    assert good["score"] == 3 and hidden_fails["score"] == 0
    assert visible(good) == visible(hidden_fails)  # nothing to learn before publication
    assert good["output"] == hidden_fails["output"]
    assert all(t["score"] == 0 for t in visible(hidden_fails))
    points = next(t for t in hidden_fails["tests"] if t["name"].startswith("q1: points"))
    assert points["visibility"] == "after_published" and points["max_score"] == 3
    assert points["output"] == "all-or-nothing: 1 of 2 checks failed -> 0 of 3"


def test_failed_public_check_says_what_it_costs():
    data = validated(
        submission(
            aon(
                "q1",
                3,
                [
                    outcome("q1 - 1", False, message="shape (3,)"),
                    outcome("q1 - 2", True, hidden=True),
                ],
            )
        )
    )
    public = next(t for t in visible(data) if "public check" in t["name"])
    assert public["status"] == "failed" and public["output"].startswith("shape (3,)")
    assert "q1 gets 0 of 3 point(s)" in public["output"]


def test_all_or_nothing_without_hidden_checks_shown_on_the_checks():
    data = validated(submission(aon("q1", 3, [outcome("q1 - 1", True), outcome("q1 - 2", False)])))
    checks = [t for t in data["tests"] if "check" in t["name"]]
    assert [t["score"] for t in checks] == [0, 0] and [t["max_score"] for t in checks] == [1.5, 1.5]
    assert "all-or-nothing: 1 of 2 checks failed -> 0 of 3" in checks[0]["output"]
    assert all(t["visibility"] == "visible" for t in checks)


def test_partial_credit_shares_add_up(toy):
    question = QuestionResult(
        "q2",
        "auto",
        3,
        2.0,
        False,
        (
            outcome("q2 - 1", True),
            outcome("q2 - 2", True, hidden=True),
            outcome("q2 - 3", False, hidden=True),
        ),
    )
    data = validated(submission(question))
    assert data["score"] == 2
    names = [t["name"] for t in data["tests"] if "check" in t["name"]]
    assert names == [
        "q2 public check: callback",
        "q2 hidden check: returned callable",
        "q2 hidden check: generator",
    ]  # from the test functions, not "q2 - 1"


def test_student_text_is_cleaned_and_capped():
    noisy = "\x1b[31mred\x1b[0m\u202eevil\r" + "x" * 5000
    data = validated(
        submission(
            aon("q1", 1, [outcome("q1 - 1", False, message=noisy)]),
            cell_errors=(CellError(3, 2, noisy),),
        )
    )
    text = json.dumps(data, ensure_ascii=False)
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    assert "redevil" in text
    assert all(len(t["output"]) < 2 * gradescope.MESSAGE_CAP for t in data["tests"])


def test_manual_questions_are_not_autograded():
    manual = QuestionResult("q3", "manual", 1, None)
    data = validated(submission(aon("q1", 1, [outcome("q1 - 1", True)]), manual))
    assert not any(t["name"].startswith("q3") for t in data["tests"])
    assert "Graded by hand: q3 (1 point(s))" in data["output"]


# --------------------------------------------------------------------------- run()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bwrap", "setuid"])
def test_run_writes_results(tmp_path, monkeypatch, toy, mode):
    if os.getuid() != 0 or (mode == "setuid" and not sandbox.python_readable_by_others()):
        pytest.skip("needs root (and, for setuid, a Python others can read)")
    if mode == "bwrap" and not shutil.which("bwrap"):
        pytest.skip("needs bubblewrap")
    monkeypatch.setenv("DLCOURSE_SANDBOX", mode)
    monkeypatch.setattr(gradescope, "lock_down", lambda: None)  # not this machine's /autograder
    folder = tmp_path / "submission"
    folder.mkdir()
    write_notebook(folder / "toy.ipynb", SOLUTION[:4])  # q1 only
    results = tmp_path / "results" / "results.json"
    gradescope.run("toy", str(folder), str(results), sandbox.Limits(timeout=60))
    data = json.loads(results.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == 2
    details = next(t for t in data["tests"] if t["name"].startswith("Grading details"))
    assert f"sandbox: {mode}" in details["output"]
    hidden = [t for t in data["tests"] if "hidden check" in t["name"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)


def test_empty_submission_folder(tmp_path, toy, monkeypatch):
    monkeypatch.setattr(gradescope, "lock_down", lambda: None)
    (tmp_path / "sub").mkdir()
    results = tmp_path / "results.json"
    gradescope.run("toy", str(tmp_path / "sub"), str(results))
    data = json.loads(results.read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == 0 and "no .ipynb" in data["output"]
