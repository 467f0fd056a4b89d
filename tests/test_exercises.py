"""The two autograded exercises grade as intended, through the real grading command.

``tests/submissions/<exercise>/`` holds the solution, the unmodified student notebook and one
notebook per classic mistake (written by ``tests/make_submissions.py``). The slow tests grade each
folder with ``python -m autograder.grade <folder> --out <csv>`` and check the sheet:

* the solution scores every autograded point;
* the unmodified student notebook scores zero on every autograded question;
* each planted mistake loses exactly the points of the questions it breaks (``MISTAKES``);
* the sheet has one row per submission.
"""
import csv
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent

_spec = importlib.util.spec_from_file_location("make_submissions", REPO / "tests" / "make_submissions.py")
make_submissions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_submissions)
MISTAKES = make_submissions.MISTAKES
EXERCISES = tuple(MISTAKES)


def questions(exercise):
    return json.loads((REPO / "autograder" / exercise / "questions.json").read_text())["questions"]


def expected_scores(exercise, file_name):
    """Question -> points a submission should get on the autograded questions."""
    auto = {q["name"]: q["points"] for q in questions(exercise) if q["kind"] == "auto"}
    if file_name == "solution.ipynb":
        return auto
    if file_name == "student_unmodified.ipynb":
        return {name: 0 for name in auto}
    broken = MISTAKES[exercise][file_name[len("mistake_"):-len(".ipynb")]][2]
    return {name: 0 if name in broken else points for name, points in auto.items()}


def submission_files(exercise):
    return sorted(p.name for p in (REPO / "tests" / "submissions" / exercise).glob("*.ipynb"))


def test_every_mistake_breaks_something():
    for exercise, mistakes in MISTAKES.items():
        auto = {q["name"] for q in questions(exercise) if q["kind"] == "auto"}
        for name, (old, new, broken) in mistakes.items():
            assert broken and broken <= auto, (exercise, name)
            assert old != new
    # the mistakes the exercises promise to catch
    assert {"missing_1_over_m", "sign_error", "no_reshuffle", "last_partial_batch_dropped",
            "cost_before_update"} <= set(MISTAKES["gradient_descent"])
    assert {"product_peak_without_reciprocal", "unnormalised_params"} <= set(MISTAKES["genz_approximation"])


@pytest.mark.parametrize("exercise", EXERCISES)
def test_submissions_are_up_to_date(tmp_path, exercise):
    """The committed planted submissions are what make_submissions.py makes now."""
    fresh = make_submissions.submissions(exercise, tmp_path)
    assert sorted(fresh) == submission_files(exercise), "run: python tests/make_submissions.py"
    for file_name, nb in fresh.items():
        committed = nbformat.read(REPO / "tests" / "submissions" / exercise / file_name, as_version=4)
        assert nbformat.writes(nb) == nbformat.writes(committed), (
            f"tests/submissions/{exercise}/{file_name} is stale; run: python tests/make_submissions.py")


@pytest.mark.parametrize("exercise", EXERCISES)
def test_submissions_name_their_exercise(exercise):
    for file_name in submission_files(exercise):
        nb = nbformat.read(REPO / "tests" / "submissions" / exercise / file_name, as_version=4)
        assert nb.metadata["dlcourse"] == {"exercise": exercise}, file_name


@pytest.fixture(scope="module")
def grade_sheets(tmp_path_factory):
    """Grade each exercise's folder once with the real grading command; exercise -> rows, seconds."""
    sheets = {}
    for exercise in EXERCISES:
        out = tmp_path_factory.mktemp(exercise) / "grades.csv"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "autograder.grade", str(REPO / "tests" / "submissions" / exercise),
             "--out", str(out), "--no-progress"],
            cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
        seconds = time.perf_counter() - start
        assert proc.returncode == 0, f"grading {exercise} failed:\n{proc.stdout}\n{proc.stderr}"
        with open(out, newline="") as f:
            rows = {row["file"]: row for row in csv.DictReader(f)}
        sheets[exercise] = rows, seconds
    return sheets


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_grade_sheet_has_a_row_per_submission(grade_sheets, exercise):
    rows, seconds = grade_sheets[exercise]
    assert sorted(rows) == submission_files(exercise)
    for file_name, row in rows.items():
        assert row["status"] == "ok", (file_name, row)
    print(f"{exercise}: {len(rows)} submissions graded in {seconds:.0f} s")


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_scores(grade_sheets, exercise):
    rows, _ = grade_sheets[exercise]
    problems = []
    for file_name, row in sorted(rows.items()):
        want = expected_scores(exercise, file_name)
        got = {name: float(row[name]) for name in want}
        if got != {name: float(points) for name, points in want.items()}:
            problems.append(f"{file_name}: expected {want}, got {got} ({row.get('reason', '')})")
        elif float(row["total"]) != sum(want.values()):
            problems.append(f"{file_name}: total {row['total']}, expected {sum(want.values())}")
    assert not problems, "\n".join(problems)
