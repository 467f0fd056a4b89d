"""Plain-text reports of one SubmissionResult: one for the student, one for the instructor.

The student report can be forwarded as it is: per question the points and why
(``all-or-nothing: 1 of 2 checks failed -> 0 of 3``), each test by name and message (a
hidden test's source never appears), cell errors numbered as Jupyter shows cells, and
nothing from the grader's machine (no paths, no library warnings, no process output).
The instructor report adds the process's stdout/stderr and grader tracebacks.
"""

import re

from .exercises import check_names
from .result import SubmissionResult
from .sheet import display_name

# Control characters (ESC, OSC, BEL, NUL, ...) except tab; student text may carry any of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def student_text(text: str) -> list[str]:
    """Lines of student-controlled text, control characters shown as escapes.

    Every line is indented by the caller, so a message cannot forge a report line such as
    ``[PASS] q3`` or ``total: 10 of 10`` at the left margin.
    """
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line) for line in text.split("\n")]


def _header(result: SubmissionResult):
    lines = [
        f"file:     {display_name(result.file)}",
        f"exercise: {result.exercise or '?'}",
        f"status:   {result.status}" + (f" ({result.reason})" if result.reason else ""),
        f"total:    {result.total:g} of {result.max_total:g} autograded points",
    ]
    if result.backend:
        lines.append(f"backend:  Keras on {result.backend}")
    return lines


def student_report(result: SubmissionResult):
    lines = _header(result) + [""]
    names = check_names(result.exercise) if result.exercise else {}
    for question in result.questions:
        if question.kind == "manual":
            lines.append(f"{question.name}: graded by hand (up to {question.max_points:g})")
            continue
        lines.append(
            f"{question.name}: {question.points:g} of {question.max_points:g}"
            f"  ({question.explanation})"
        )
        for test in question.tests:
            mark = "PASS" if test.passed else "FAIL"
            hidden = " (hidden)" if test.hidden else ""
            label = names.get(question.name, {}).get(test.name) or test.name
            lines.append(f"  [{mark}] {label}{hidden}")
            if not test.passed:
                lines += ["      | " + line for line in student_text(test.message)]
    if result.cell_errors:
        lines.append(
            "\nCell errors (cells numbered as Jupyter shows them, markdown cells "
            "included; the notebook went on after each):"
        )
        for e in result.cell_errors:
            error = student_text(e.error)
            lines.append(f"  cell {e.cell}: {error[0]}")
            lines += ["      | " + line for line in error[1:]]
    if result.notes:
        lines += ["\nNotes:"] + ["  " + n for n in result.notes]
    return "\n".join(lines) + "\n"


def instructor_report(result: SubmissionResult):
    """The student report plus what only the instructor should see."""
    details = result.instructor
    lines = [
        "INSTRUCTOR REPORT: not for students (it holds process output and grader tracebacks)",
        f"sandbox:  {result.isolation}",
        f"seconds:  {result.seconds:g}",
        f"sha256:   {result.sha256}",
        "",
        student_report(result),
    ]
    lines += [f"cell {e.cell} is code cell {e.code_cell}" for e in result.cell_errors]
    for note in details.notes:
        lines.append(f"note: {note}")
    for trace in details.tracebacks:
        lines += ["\n--- grader traceback ---", trace]
    for name in ("stdout", "stderr"):
        text = getattr(details, name)
        if text:
            lines.append(f"\n--- {name} of the notebook's process (capped) ---")
            lines += ["| " + line for line in student_text(text[-20000:])]
    return "\n".join(lines) + "\n"
