"""Reports: the student's can be forwarded; the instructor's holds the rest."""

from autograder import report
from autograder.result import (
    CellError,
    InstructorDetails,
    QuestionResult,
    SubmissionResult,
    TestOutcome,
)


def graded():
    q1 = QuestionResult(
        "q1",
        "auto",
        3,
        0.0,
        True,
        (
            TestOutcome("q1 - 1", "q1", True, "passed", False, 0),
            TestOutcome("q1 - 2", "q1", False, "AssertionError: wrong on another input", True, 0),
        ),
        "all-or-nothing: 1 of 2 checks failed -> 0 of 3",
    )
    q2 = QuestionResult("q2", "manual", 2, None, explanation="graded by hand")
    return SubmissionResult(
        file="alice.ipynb",
        exercise="demo",
        status="ok",
        reason="1 test(s) failed",
        questions=(q1, q2),
        total=0,
        max_total=3,
        backend="jax",
        isolation="bwrap",
        cell_errors=(CellError(cell=5, code_cell=3, error="ZeroDivisionError: division by zero"),),
        instructor=InstructorDetails(
            stdout="hello",
            stderr="Fontconfig error: /root/.cache not writable\n"
            '  File "/work/main/autograder/tests/q1.py", line 9',
            tracebacks=['Traceback (most recent call last):\n  File "/work/main/x.py"'],
        ),
    )


def test_student_report_explains_all_or_nothing_and_names_the_backend():
    text = report.student_report(graded())
    assert "q1: 0 of 3  (all-or-nothing: 1 of 2 checks failed -> 0 of 3)" in text
    assert "[FAIL] q1 - 2 (hidden)" in text and "wrong on another input" in text
    assert "q2: graded by hand (up to 2)" in text
    assert "Keras on jax" in text
    assert "cell 5: ZeroDivisionError" in text and "markdown cells included" in text


def test_student_report_has_no_paths_warnings_or_process_output():
    text = report.student_report(graded())
    for leak in ("/work", "/root", "Fontconfig", "Traceback", "hello", "q1.py"):
        assert leak not in text


def test_instructor_report_is_labelled_and_complete():
    text = report.instructor_report(graded())
    assert text.startswith("INSTRUCTOR REPORT: not for students")
    assert "Fontconfig" in text and "Traceback" in text and "hello" in text
    assert "cell 5 is code cell 3" in text


def test_student_text_cannot_forge_report_lines_or_send_escapes():
    from autograder.report import student_text

    lines = student_text("boom\n[PASS] q3 - 1\rtotal: 10 of 10\x1b[2J\x07\x00")
    assert lines == ["boom", "[PASS] q3 - 1", "total: 10 of 10\\x1b[2J\\x07\\x00"]
    assert all("\x1b" not in line and "\x00" not in line for line in lines)
