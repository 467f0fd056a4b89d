"""Bad input: every broken submission gets its own row and a readable reason."""

import csv
import io
import json
import os
import shutil
import zipfile

import pytest

from autograder import sandbox, submissions
from autograder.submissions import InvalidSubmission
from tests.fixtures.grading import grading_env, read_sheet, run_grader
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
    write_notebook(
        folder / "renamed.ipynb", [c.replace("def add_scaled", "def addScaled") for c in SOLUTION]
    )
    make_zip(folder / "zip_extra.zip", {"toy.ipynb": GOOD, "data.csv": "1,2", "notes.pdf": "x"})
    make_zip(folder / "zip_missing.zip", {"README.txt": "forgot"})
    make_zip(folder / "zip_two.zip", {"a.ipynb": GOOD, "b.ipynb": GOOD})
    (folder / "not_a_zip.zip").write_bytes(b"PK\x03\x04garbage")
    huge = notebook(SOLUTION)
    huge["cells"][0]["source"] = "x" * (submissions.MAX_NOTEBOOK_BYTES + 10)
    (folder / "huge.ipynb").write_text(json.dumps(huge))
    write_notebook(folder / "good.ipynb", SOLUTION)
    return {
        "invalid_json.ipynb": "invalid",
        "not_utf8.ipynb": "invalid",
        "empty.ipynb": "invalid",
        "blank.ipynb": "invalid",
        "not_notebook.ipynb": "invalid",
        "other_exercise.ipynb": "wrong-exercise",
        "missing_question.ipynb": "ok",
        "renamed.ipynb": "ok",
        "zip_extra.zip": "ok",
        "zip_missing.zip": "invalid",
        "zip_two.zip": "invalid",
        "not_a_zip.zip": "invalid",
        "huge.ipynb": "invalid",
        "good.ipynb": "ok",
    }


@pytest.mark.parametrize(
    "name, words",
    [
        ("invalid_json.ipynb", "not valid JSON"),
        ("not_utf8.ipynb", "not UTF-8"),
        ("empty.ipynb", "empty"),
        ("blank.ipynb", "empty"),
        ("not_notebook.ipynb", "not a Jupyter"),
        ("zip_missing.zip", "no notebook"),
        ("zip_two.zip", "2 notebooks"),
        ("not_a_zip.zip", "not a readable zip"),
        ("huge.ipynb", "MiB"),
    ],
)
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
    proc = run_grader(
        folder, out, "--exercise", "toy", "--jobs", "2", env=grading_env(True), timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_sheet(out)
    assert {f: r["status"] for f, r in rows.items()} == expected
    assert all(
        rows[f]["reason"]
        for f, s in expected.items()
        if s != "ok" or f != "good.ipynb" and f != "zip_extra.zip"
    )
    assert rows["good.ipynb"]["total"] == "5" and rows["zip_extra.zip"]["total"] == "5"
    assert (
        rows["missing_question.ipynb"]["q1"] == "2" and rows["missing_question.ipynb"]["q2"] == "0"
    )
    assert "apply_twice" in rows["missing_question.ipynb"]["reason"]
    assert rows["renamed.ipynb"]["q1"] == "0" and "add_scaled" in rows["renamed.ipynb"]["reason"]
    assert list(rows["good.ipynb"]) == [
        "file",
        "exercise",
        "q1",
        "q2",
        "q3",
        "total",
        "status",
        "backend",
        "reason",
        "report",
    ]
    assert rows["other_exercise.ipynb"]["total"] == "0"
    assert {r["exercise"] for r in rows.values()} == {"toy"}
    assert rows["good.ipynb"]["q3"] == ""
    reports = os.listdir(tmp_path / "grades_reports")
    assert len(reports) == len(expected)
    assert sorted(os.listdir(tmp_path / "grades_instructor_reports")) == sorted(reports)
    assert sorted(reports) == sorted(r["report"] for r in rows.values())


# --------------------------------------------------------------------------- the command line


def grade_cli(folder, out, *args, env=None, timeout=600):
    """The grading command on the fixture exercise ``toy``; ``env`` adds variables."""
    return run_grader(
        folder,
        out,
        "--exercise",
        "toy",
        *args,
        env=grading_env(fixture_exercises=True, **(env or {})),
        timeout=timeout,
    )


def path_without_bwrap(tmp_path):
    """A PATH holding the usual tools but no bwrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("true", "sh", "env", "ls", "cat", "id"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bin_dir / tool)
    return str(bin_dir)


def nothing_written(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir()) == ["bin", "subs"]


@pytest.mark.parametrize("sandbox_mode", ["bwrap", "plain"])
def test_refuses_to_grade_when_no_sandbox_isolates(tmp_path, sandbox_mode):
    """bwrap forced but absent from PATH, or plain mode without the opt-out flag: exit 2,
    no sheet, no state, no reports, and the message says what to install."""
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "good.ipynb", SOLUTION)
    proc = grade_cli(
        folder,
        tmp_path / "grades.csv",
        env={"PATH": path_without_bwrap(tmp_path), "DLCOURSE_SANDBOX": sandbox_mode},
    )
    assert proc.returncode == 2, proc.stderr
    assert "refusing to grade" in proc.stderr and "apt-get install bubblewrap" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert nothing_written(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(
    os.getuid() == 0 and not sandbox.python_readable_by_others(),
    reason="as root the unisolated process still drops to the sandbox uid, "
    "which cannot read this Python",
)
def test_unsafe_no_isolation_marks_every_row(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "good.ipynb", SOLUTION)
    (folder / "empty.ipynb").write_text("")
    out = tmp_path / "grades.csv"
    proc = grade_cli(folder, out, "--unsafe-no-isolation", env={"DLCOURSE_SANDBOX": "plain"})
    assert proc.returncode == 0, proc.stderr
    assert "NOT ISOLATED" in proc.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["total"] for r in rows] == ["0", "5"]
    assert all(r["reason"].startswith("NOT ISOLATED") for r in rows)


def test_second_run_on_the_same_sheet_is_refused(tmp_path):
    from autograder import run

    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "good.ipynb", SOLUTION)
    out = tmp_path / "grades.csv"
    with run.SheetLock(str(out)):  # another run holds the sheet
        proc = grade_cli(folder, out)
    assert proc.returncode == 3, proc.stderr
    assert "another grading run" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


HOSTILE_NAMES = [
    b"a" * 244 + b".ipynb",  # 250 bytes: longer than a report's temp name allows
    b"caf\xe9.ipynb",  # not UTF-8
    b"x\rforged,10,10,,20,ok,,,.ipynb",  # a bare CR: a second row for naive readers
    b"=cmd()|calc.ipynb",  # a formula in a spreadsheet
    b"alice smith.ipynb",
    b"alice_smith.ipynb",  # slug alike
]


@pytest.mark.slow
def test_file_names_are_data(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in HOSTILE_NAMES:
        write_notebook(os.path.join(bytes(folder), name), SOLUTION)
    out = tmp_path / "grades.csv"
    proc = grade_cli(folder, out, "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    text = out.read_bytes().decode("utf-8")  # valid UTF-8
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(HOSTILE_NAMES) and text.count("\r") == 0
    assert all((r["status"], r["total"]) == ("ok", "5") for r in rows), rows
    shown = {r["file"] for r in rows}
    assert {
        "caf\\xe9.ipynb",
        "x\\rforged,10,10,,20,ok,,,.ipynb",
        "'=cmd()|calc.ipynb",
        "alice smith.ipynb",
        "alice_smith.ipynb",
    } <= shown
    import pandas

    assert len(pandas.read_csv(out)) == len(HOSTILE_NAMES)
    for folder_name in ("grades_reports", "grades_instructor_reports"):
        reports = os.listdir(tmp_path / folder_name)
        assert len(reports) == len(HOSTILE_NAMES)
    assert sorted(reports) == sorted(r["report"] for r in rows)


@pytest.mark.slow
def test_student_report_can_be_forwarded(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    cells = [c.replace("a * x + b", "a * x - b") for c in SOLUTION]  # hidden q2 test fails
    cells.insert(3, "1 / 0")  # a cell error
    write_notebook(folder / "bob.ipynb", cells)
    out = tmp_path / "grades.csv"
    proc = grade_cli(folder, out)
    assert proc.returncode == 0, proc.stderr
    row = next(csv.DictReader(io.StringIO(out.read_text())))
    student = (tmp_path / "grades_reports" / row["report"]).read_text()
    instructor = (tmp_path / "grades_instructor_reports" / row["report"]).read_text()
    assert "q2: 2 of 3  (1 of 3 checks failed -> 2 of 3)" in student
    assert "[FAIL] returned callable (hidden)" in student  # checks named by what they check
    assert "np.arange(3.0)" not in student  # no hidden test source
    # code cell 4 is the notebook's cell 5: the fixture starts with a markdown cell
    assert "cell 5: ZeroDivisionError" in student
    for leak in (ROOT, FIXTURE_EXERCISES, "/tmp", "site-packages", "Traceback"):
        assert leak not in student
    assert instructor.startswith("INSTRUCTOR REPORT") and "cell 5 is code cell 4" in instructor
