"""Grade sheet: atomic writes, one row per file, resuming by content hash."""

import csv
import io
import os

import pytest

from autograder import exercises, run, sandbox, sheet
from tests.fixtures.notebooks import FIXTURE_EXERCISES, SOLUTION, write_notebook


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "g.csv"
    sheet.atomic_write(str(path), "old\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        sheet.atomic_write(str(path), "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"]  # no temp file left


def test_render_csv_columns_and_blanks():
    text = sheet.render_csv(
        [
            {"file": "b", "q1": 1.0, "total": 1.0, "status": "ok"},
            {"file": "a", "status": "invalid", "reason": "empty\nfile"},
        ],
        ["q1", "q2"],
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "file",
        "exercise",
        "q1",
        "q2",
        "total",
        "status",
        "backend",
        "reason",
        "report",
    ]
    assert rows[1] == ["a", "", "", "", "", "invalid", "", "empty file", ""]
    assert rows[2] == ["b", "", "1", "", "1", "ok", "", "", ""]


def test_state_survives_garbage(tmp_path):
    out = tmp_path / "g.csv"
    (tmp_path / "g.state.json").write_text("{broken")
    assert sheet.load_state(str(out))["entries"] == {}


@pytest.mark.slow
def test_resume_skips_unchanged_and_regrades_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCOURSE_EXERCISES_DIR", FIXTURE_EXERCISES)
    exercises.load_exercise.cache_clear()
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "a.ipynb", SOLUTION)
    write_notebook(folder / "b.ipynb", SOLUTION[:4])
    out = str(tmp_path / "grades.csv")
    limits = sandbox.Limits(timeout=60)
    mode = run.choose_mode()
    results = run.grade_folder(
        str(folder), out, "toy", jobs=2, limits=limits, progress=False, mode=mode
    )
    assert [r.total for r in results] == [5, 2]
    calls = []
    real = run.grade_many
    monkeypatch.setattr(
        run, "grade_many", lambda f, names, *a: calls.append(list(names)) or real(f, names, *a)
    )
    run.grade_folder(str(folder), out, "toy", jobs=2, limits=limits, progress=False, mode=mode)
    assert calls[-1] == []  # nothing regraded
    write_notebook(folder / "b.ipynb", SOLUTION)  # b changed
    (folder / "c.ipynb").write_text("")  # c is new
    results = run.grade_folder(
        str(folder), out, "toy", jobs=2, limits=limits, progress=False, mode=mode
    )
    assert sorted(calls[-1]) == ["b.ipynb", "c.ipynb"]
    assert [(r.file, r.total, r.status) for r in results] == [
        ("a.ipynb", 5, "ok"),
        ("b.ipynb", 5, "ok"),
        ("c.ipynb", 0.0, "invalid"),
    ]
    text = open(out).read()
    assert text.count("\n") == 4 and "pending" not in text
    exercises.load_exercise.cache_clear()
