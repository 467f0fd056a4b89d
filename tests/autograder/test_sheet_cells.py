"""The grade sheet treats file names and reasons as data: one row per file, no formulas."""

import csv
import io
import os

import pytest

from autograder import sheet
from autograder.result import QuestionResult, SubmissionResult

NON_UTF8 = os.fsdecode(b"caf\xe9.ipynb")  # what os.listdir gives for Latin-1 bytes


def result(name, **kw):
    return SubmissionResult(
        file=name,
        exercise="demo",
        status="ok",
        total=1.0,
        questions=(QuestionResult("q1", "auto", 1, 1.0),),
        **kw,
    )


def read(rows):
    text = sheet.render_csv(rows, ["q1"])
    text.encode("utf-8")  # valid UTF-8 whatever the names were
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    "name, shown",
    [
        ("plain.ipynb", "plain.ipynb"),
        ("evil\rq1,10.ipynb", "evil\\rq1,10.ipynb"),
        ("two\nlines.ipynb", "two\\nlines.ipynb"),
        ("=HYPERLINK(1).ipynb", "'=HYPERLINK(1).ipynb"),
        ("+1.ipynb", "'+1.ipynb"),
        ("-1.ipynb", "'-1.ipynb"),
        ("@cmd.ipynb", "'@cmd.ipynb"),
        ("\tx.ipynb", "\\tx.ipynb"),
        (NON_UTF8, "caf\\xe9.ipynb"),
    ],
)
def test_names_are_one_escaped_cell(name, shown):
    rows = read([sheet.result_row(result(name)), sheet.result_row(result("zz.ipynb"))])
    assert len(rows) == 2
    assert rows[0]["file"] == shown
    assert rows[0]["q1"] == "1" and rows[0]["status"] == "ok"


def test_student_text_in_reasons_cannot_start_a_formula_or_a_row():
    rows = read([sheet.result_row(result("a.ipynb", reason="=cmd|'/c calc'!A1\r\nq1,10"))])
    assert len(rows) == 1 and rows[0]["reason"].startswith("'=") and "\r" not in rows[0]["reason"]


def test_columns_include_exercise_and_backend():
    rows = read([sheet.result_row(result("a.ipynb", backend="jax"))])
    assert list(rows[0]) == [
        "file",
        "exercise",
        "q1",
        "total",
        "status",
        "backend",
        "reason",
        "report",
    ]
    assert rows[0]["exercise"] == "demo" and rows[0]["backend"] == "jax"


def test_report_names_never_collide_and_are_short(tmp_path):
    names = [
        "alice smith.ipynb",
        "alice_smith.ipynb",
        "a" * 250 + ".ipynb",
        NON_UTF8,
        "evil\r.ipynb",
        "../../etc/passwd",
        "",
        ".ipynb",
        "\u00e9l\u00e8ve.ipynb",
    ]
    reports = [sheet.report_name(n) for n in names]
    assert len(set(reports)) == len(names)
    for report in reports:
        assert len(report.encode()) < 100 and "/" not in report and not report.startswith(".")
        (tmp_path / report).write_text("x")  # a valid file name here
    assert sheet.report_name("alice smith.ipynb") == sheet.report_name("alice smith.ipynb")


def test_atomic_write_of_non_utf8_text(tmp_path):
    path = tmp_path / "r.txt"
    sheet.atomic_write(str(path), f"file: {NON_UTF8}\n")
    assert path.read_bytes() == b"file: caf\\udce9.ipynb\n"
