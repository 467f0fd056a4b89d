"""Fixtures for the grader's unit tests: a small exercise written on the fly (these tests
exercise the grader's own logic, not the sandbox, which ``tests/test_grade_*.py`` cover end
to end)."""

import json
import textwrap

import pytest

from autograder import exercises


@pytest.fixture
def make_exercise(tmp_path, monkeypatch):
    """``make_exercise({"q1.py": source, ...}, questions)`` -> loaded Exercise ``demo``."""

    def make(test_files, questions):
        folder = tmp_path / "exercises" / "demo" / "tests"
        folder.mkdir(parents=True)
        for name, source in test_files.items():
            (folder / name).write_text(textwrap.dedent(source))
        (folder.parent / "questions.json").write_text(json.dumps(questions))
        monkeypatch.setenv("DLCOURSE_EXERCISES_DIR", str(tmp_path / "exercises"))
        exercises.load_exercise.cache_clear()
        return exercises.load_exercise("demo")

    yield make
    exercises.load_exercise.cache_clear()
