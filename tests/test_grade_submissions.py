"""Bad input: every broken submission gets its own row and a readable reason."""
import csv
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from autograder import submissions
from autograder.submissions import InvalidSubmission
from tests.fixtures.notebooks import FIXTURE_EXERCISES, SOLUTION, notebook, write_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


GOOD = json.dumps(notebook(SOLUTION))


def bad_inputs(folder):
    """``{file name: expected status}`` written into ``folder``."""
    (folder / "invalid_json.ipynb").write_text('{"cells": [')
    (folder / "not_utf8.ipynb").write_bytes(b'{"cells": ["\xff\xfe"]}')
    (folder / "empty.ipynb").write_bytes(b"")
    (folder / "blank.ipynb").write_text("   \n")
    (folder / "not_notebook.ipynb").write_text('{"hello": 1}')
    write_notebook(folder / "other_exercise.ipynb", SOLUTION, exercise="genz_approximation")
    write_notebook(folder / "missing_question.ipynb", SOLUTION[:4])
    write_notebook(folder / "renamed.ipynb",
                   [c.replace("def add_scaled", "def addScaled") for c in SOLUTION])
    make_zip(folder / "zip_extra.zip", {"toy.ipynb": GOOD, "data.csv": "1,2", "notes.pdf": "x"})
    make_zip(folder / "zip_missing.zip", {"README.txt": "forgot"})
    make_zip(folder / "zip_two.zip", {"a.ipynb": GOOD, "b.ipynb": GOOD})
    (folder / "not_a_zip.zip").write_bytes(b"PK\x03\x04garbage")
    huge = notebook(SOLUTION)
    huge["cells"][0]["source"] = "x" * (submissions.MAX_NOTEBOOK_BYTES + 10)
    (folder / "huge.ipynb").write_text(json.dumps(huge))
    write_notebook(folder / "good.ipynb", SOLUTION)
    return {
        "invalid_json.ipynb": "invalid", "not_utf8.ipynb": "invalid", "empty.ipynb": "invalid",
        "blank.ipynb": "invalid", "not_notebook.ipynb": "invalid",
        "other_exercise.ipynb": "wrong-exercise", "missing_question.ipynb": "ok",
        "renamed.ipynb": "ok", "zip_extra.zip": "ok", "zip_missing.zip": "invalid",
        "zip_two.zip": "invalid", "not_a_zip.zip": "invalid", "huge.ipynb": "invalid",
        "good.ipynb": "ok",
    }


@pytest.mark.parametrize("name, words", [
    ("invalid_json.ipynb", "not valid JSON"), ("not_utf8.ipynb", "not UTF-8"),
    ("empty.ipynb", "empty"), ("blank.ipynb", "empty"), ("not_notebook.ipynb", "not a Jupyter"),
    ("zip_missing.zip", "no notebook"), ("zip_two.zip", "2 notebooks"),
    ("not_a_zip.zip", "not a readable zip"), ("huge.ipynb", "MiB"),
])
def test_invalid_inputs_say_why(tmp_path, name, words):
    bad_inputs(tmp_path)
    with pytest.raises(InvalidSubmission) as info:
        submissions.load(str(tmp_path / name), "toy")
    assert words in info.value.reason and info.value.status == "invalid"


def test_wrong_exercise(tmp_path):
    bad_inputs(tmp_path)
    with pytest.raises(InvalidSubmission) as info:
        submissions.load(str(tmp_path / "other_exercise.ipynb"), "toy")
    assert info.value.status == "wrong-exercise" and "genz_approximation" in info.value.reason


def test_zip_with_extra_files_is_graded_with_a_note(tmp_path):
    bad_inputs(tmp_path)
    exercise, cells, notes = submissions.load(str(tmp_path / "zip_extra.zip"), None)
    assert exercise == "toy" and cells == SOLUTION
    assert "data.csv" in notes[0]


def test_metadata_names_the_exercise(tmp_path):
    write_notebook(tmp_path / "anon.ipynb", SOLUTION, exercise=None)
    with pytest.raises(InvalidSubmission):
        submissions.load(str(tmp_path / "anon.ipynb"), None)
    assert submissions.load(str(tmp_path / "anon.ipynb"), "toy")[0] == "toy"


def test_list_submissions_only_notebooks_and_zips(tmp_path):
    for name in ("a.ipynb", "b.ZIP", "c.txt", ".hidden.ipynb"):
        (tmp_path / name).write_text("x")
    assert submissions.list_submissions(str(tmp_path)) == ["a.ipynb", "b.ZIP"]


@pytest.mark.slow
def test_bad_inputs_through_the_grading_command(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    expected = bad_inputs(folder)
    out = tmp_path / "grades.csv"
    env = dict(os.environ, DLCOURSE_EXERCISES_DIR=FIXTURE_EXERCISES)
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(folder), "--out",
                           str(out), "--exercise", "toy", "--jobs", "2", "--no-progress"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = {r["file"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert {f: r["status"] for f, r in rows.items()} == expected
    assert all(rows[f]["reason"] for f, s in expected.items() if s != "ok" or f != "good.ipynb"
               and f != "zip_extra.zip")
    assert rows["good.ipynb"]["total"] == "5" and rows["zip_extra.zip"]["total"] == "5"
    assert rows["missing_question.ipynb"]["q1"] == "2" and rows["missing_question.ipynb"]["q2"] == "0"
    assert "apply_twice" in rows["missing_question.ipynb"]["reason"]
    assert rows["renamed.ipynb"]["q1"] == "0" and "add_scaled" in rows["renamed.ipynb"]["reason"]
    assert list(rows["good.ipynb"]) == ["file", "q1", "q2", "q3", "total", "status", "reason"]
    assert rows["good.ipynb"]["q3"] == ""
    reports = os.listdir(tmp_path / "grades_reports")
    assert len(reports) == len(expected)
