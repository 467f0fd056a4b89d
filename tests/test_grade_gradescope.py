"""Gradescope: the zip's contents, and results.json from the same hardened path."""
import json
import os
import zipfile

import pytest

from autograder import grade, gradescope, sandbox
from tests.fixtures.notebooks import FIXTURE_EXERCISES, SOLUTION, write_notebook


@pytest.fixture(autouse=True)
def fixture_exercises(monkeypatch):
    monkeypatch.setenv("DLCOURSE_EXERCISES_DIR", FIXTURE_EXERCISES)
    grade.load_exercise.cache_clear()
    yield
    grade.load_exercise.cache_clear()


def test_zip_contents(tmp_path):
    path = gradescope.build("toy", str(tmp_path))
    assert path.endswith("toy-gradescope.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
        mode = archive.getinfo("run_autograder").external_attr >> 16
    assert {"setup.sh", "run_autograder", "requirements.txt", "autograder/harness.py",
            "autograder/grade.py", "autograder/toy/tests/q1.py",
            "autograder/toy/questions.json"} <= names
    assert "bubblewrap" in setup and "pip install" in setup
    assert "autograder.gradescope run toy" in run and mode & 0o111


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["bwrap", "setuid"])
def test_run_writes_results(tmp_path, monkeypatch, mode):
    if mode == "setuid" and (os.getuid() != 0 or not sandbox.python_readable_by_others()):
        pytest.skip("setuid fallback needs root and a Python installation others can read")
    monkeypatch.setattr(sandbox, "_MODE", mode)
    monkeypatch.setattr(gradescope, "lock_down", lambda: None)  # not on this machine's /autograder
    submission = tmp_path / "submission"
    submission.mkdir()
    write_notebook(submission / "toy.ipynb", SOLUTION[:4])       # q1 only
    results = tmp_path / "results" / "results.json"
    gradescope.run("toy", str(submission), str(results), sandbox.Limits(timeout=60))
    data = json.loads(results.read_text())
    assert data["score"] == 2
    assert f"sandbox mode: {mode}" in data["output"]
    hidden = [t for t in data["tests"] if t["visibility"] == "after_published"]
    assert hidden and all(t["output"] in ("passed", "hidden test failed") for t in hidden)


def test_empty_submission_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    results = tmp_path / "results.json"
    gradescope.run("toy", str(tmp_path / "sub"), str(results))
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "no .ipynb" in data["output"]
