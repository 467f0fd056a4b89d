"""Grade one submission: run its notebook in the sandbox, then the exercise's tests here.

Where things run:

* this process reads the submission, loads the exercise's otter test files and runs every
  test function;
* the student's notebook runs in a sandboxed harness (``sandbox.py``/``harness.py``); each
  name a test function asks for (``def test_x(gradient_descent, np)``) is bound to a proxy
  that calls the student's function over the channel (``channel.py``), while ``np`` and
  friends are the grader's own modules. Test code and reference values never leave this
  process; only plain data comes back from the student's.

All public (visible) test cases of every question run before any hidden one, so the
student's process has seen no hidden input when the visible messages are produced.
Points come from otter's own ``TestFile`` scoring (``score``, ``possible``,
``all_or_nothing``), fed with the outcomes of the cases run here.
"""

import ast
import copy
import importlib.util
import inspect
import math
import os
import re
import sys
import time
import traceback

from . import exercises, sandbox, submissions
from .result import NOT_ISOLATED, CellError, QuestionResult, SubmissionResult, TestOutcome

SEED = 42
SAFE_MODULES = ("numpy", "math", "random")
"""Modules a test may receive when the notebook imported them under another name."""
GRADER_ERROR = "grader:"
"""Every reason of a grader-side failure (status ``error``) starts with this."""
_TF_WORDS = re.compile(r"\b(tensorflow|torch)\b")


# --------------------------------------------------------------------------- backend


def imported_modules(cells):
    """Top-level names of the modules the cells import (``import a.b`` -> ``a``)."""
    names = set()
    for source in cells:
        try:
            tree = ast.parse(_without_magics(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            names.update(re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", source, re.M))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _without_magics(source):
    return "\n".join(
        "pass" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n")
    )


def choose_backend(cells):
    """The Keras backend to run a notebook on: ``"jax"`` for code that uses only
    ``keras``/``keras.ops`` (several times faster on small networks), ``"tensorflow"`` when
    the notebook names TensorFlow or PyTorch anywhere (it may call them directly), ``""``
    when it does not use Keras."""
    modules = imported_modules(cells)
    if "keras" not in modules:
        return ""
    if modules & {"tensorflow", "torch"} or any(_TF_WORDS.search(c) for c in cells):
        return "tensorflow"
    if importlib.util.find_spec("jax") is None:
        return "tensorflow"
    return "jax"


# Packages Keras imports on its own when they are installed, without the notebook asking:
# TensorFlow (`keras.utils.set_random_seed` imports it to seed tf.data, even on JAX: about
# 3 s and 0.5 GiB per submission), scikit-learn (`keras.wrappers`, 1 s) and pandas
# (`keras`'s array adapters, 0.3 s). The student notebooks' own environment
# (exercises/requirements.txt) has none of them.
KERAS_OPTIONAL_IMPORTS = ("tensorflow", "sklearn", "pandas")


def unavailable_modules(cells, backend):
    """Top-level modules the student's process cannot import: those of
    KERAS_OPTIONAL_IMPORTS that the notebook's code never names (an import names it too),
    TensorFlow only when it runs on JAX. Keras then skips them, as it does where they are
    not installed; a notebook that names one gets it."""
    if not backend:
        return []
    text = "\n".join(cells)
    return [
        name
        for name in KERAS_OPTIONAL_IMPORTS
        if (name != "tensorflow" or backend == "jax") and not re.search(rf"\b{name}\b", text)
    ]


def isolation_label(mode):
    return f"{mode} ({NOT_ISOLATED})" if mode == "plain" else mode


# --------------------------------------------------------------------------- one file


def grade_file(path, expected_exercise, limits, mode=None, display_name=None):
    """Grade one submission file; always returns a SubmissionResult (never raises)."""
    started = time.monotonic()
    mode = mode or sandbox.detect_mode()
    result = SubmissionResult(
        file=display_name or os.path.basename(path),
        exercise=expected_exercise,
        isolation=isolation_label(mode),
    )
    try:
        _grade_into(result, path, expected_exercise, limits, mode)
    except submissions.InvalidSubmission as exc:
        result.status, result.reason = exc.status, str(exc.reason)[:500]
    except Exception as exc:  # noqa: BLE001 - a grader bug must still give a row
        result.instructor.tracebacks.append(traceback.format_exc())
        if _caused_by_student(exc):
            result.status = "crashed"
            result.reason = f"the notebook broke the grading protocol ({type(exc).__name__})"
        else:
            result.status = "error"
            result.reason = f"{GRADER_ERROR} {type(exc).__name__}: {str(exc)[:300]}"
    if mode == "plain":
        result.reason = f"{NOT_ISOLATED}; {result.reason}" if result.reason else NOT_ISOLATED
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _caused_by_student(exc):
    """A failure raised while decoding what the student's process sent (a message nested
    too deeply, malformed data) is the notebook's doing, not a grader bug."""
    if not isinstance(exc, (RecursionError, ValueError, TypeError, MemoryError)):
        return False
    channel_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "channel.py")
    return any(
        os.path.abspath(f.filename) == channel_file for f in traceback.extract_tb(exc.__traceback__)
    )


def _grade_into(result, path, expected_exercise, limits, mode):
    exercise_name, cells, notes = submissions.load(path, expected_exercise)
    result.notes += notes
    result.exercise = exercise_name
    try:
        exercise = exercises.load_exercise(exercise_name)
    except KeyError:
        raise submissions.InvalidSubmission(
            f"unknown exercise {exercise_name!r} in the notebook's metadata",
            status="wrong-exercise",
        ) from None
    result.max_total = sum(q.points for q in exercise.questions if q.kind == "auto")
    result.backend = choose_backend(cells)
    student = _student_process(limits, mode, result.backend)
    outcomes, missing = {}, set()
    positions = None  # read from the notebook only when a message names a cell
    try:
        ran = student.start(
            cells, seed=SEED, unavailable=unavailable_modules(cells, result.backend)
        )
        if student.cell_errors:
            positions = _cell_positions(path, expected_exercise)
            result.cell_errors = _cell_errors(student.cell_errors, positions)
        if ran:
            outcomes = run_tests(exercise, student, missing)
        else:
            outcomes = _not_run(exercise, f"not run: {student.reason}")
    finally:
        student.close()
        result.instructor.stdout = student.output_text("stdout")
        result.instructor.stderr = student.output_text("stderr")
    result.questions = tuple(score_question(q, outcomes) for q in exercise.questions)
    if missing:
        result.notes.append("not defined in the notebook: " + ", ".join(sorted(missing)))
    result.status = student.status or "ok"
    if student.reason:
        if positions is None:
            positions = _cell_positions(path, expected_exercise)
        result.reason = jupyter_cell_reason(student.reason, positions)
    else:
        result.reason = _summary(result, missing)
    result.total = round(sum(q.points or 0 for q in result.questions), 4)


_SLOT = None


def _student_process(limits, mode, backend):
    """A StudentProcess on the chosen Keras backend (``env=`` where the sandbox takes it;
    otherwise through this process's environment, which ``sandbox_env`` reads: each
    submission is graded in its own forked process, so that touches no other)."""
    global _SLOT
    if _SLOT is None:
        _SLOT = sandbox.UidSlot()
    env = {"KERAS_BACKEND": backend} if backend else {}
    if "env" in inspect.signature(sandbox.StudentProcess).parameters:
        return sandbox.StudentProcess(limits, _SLOT, mode=mode, env=env)
    os.environ.update(env)
    return sandbox.StudentProcess(limits, _SLOT, mode=mode)


def _cell_positions(path, expected_exercise):
    """Where each code cell is as Jupyter shows cells: ``positions[k - 1]`` is the position
    (markdown cells too, from 1) of code cell ``k``, the harness's numbering."""
    try:
        data, _ = submissions.read_notebook_bytes(path, expected_exercise)
        notebook = submissions.parse_notebook(data)
    except Exception:  # noqa: BLE001 - numbering is a nicety; code-cell numbers remain
        return []
    return [
        i + 1
        for i, cell in enumerate(notebook["cells"])
        if isinstance(cell, dict) and cell.get("cell_type") == "code"
    ]


def _cell_errors(errors, positions):
    """Cell errors numbered as Jupyter shows cells (``positions`` from _cell_positions)."""
    out = []
    for error in errors:
        code_cell = int(error.get("cell") or 0)
        cell = positions[code_cell - 1] if 0 < code_cell <= len(positions) else code_cell
        out.append(CellError(cell=cell, code_cell=code_cell, error=str(error.get("error"))))
    return tuple(out)


_IN_CELL = re.compile(r"\bin cell (\d+)\b")


def jupyter_cell_reason(reason, positions):
    """A sandbox reason such as "killed by SIGKILL in cell 4" (code cells counted) with the
    cell numbered as Jupyter shows it: "in cell 7 (code cell 4)"."""

    def renumber(match):
        code_cell = int(match.group(1))
        if 0 < code_cell <= len(positions) and positions[code_cell - 1] != code_cell:
            return f"in cell {positions[code_cell - 1]} (code cell {code_cell})"
        return match.group(0)

    return _IN_CELL.sub(renumber, reason)


# --------------------------------------------------------------------------- tests


def _cases(question):
    return question.tests.test_cases if question.tests is not None else []


def _not_run(exercise, message):
    return {
        (q.name, c.name): (False, message)
        for q in exercise.questions
        if q.kind == "auto"
        for c in _cases(q)
    }


def run_tests(exercise, student, missing):
    """``{(question, case name): (passed, message)}``: visible cases of every question
    first, then hidden ones."""
    outcomes = {}
    for hidden in (False, True):
        for question in exercise.questions:
            if question.kind != "auto":
                continue
            for case in _cases(question):
                if bool(case.hidden) == hidden:
                    outcomes[(question.name, case.name)] = run_case(
                        case, question.tests, student, missing
                    )
    return outcomes


def run_case(case, test_file, student, missing):
    """``(passed, message)`` for one otter test case."""
    func = case.body.test_func
    try:
        kwargs = test_arguments(func, student, missing)
        func(**kwargs)
    except sandbox.StudentGone as exc:
        return False, f"not run: {exc}"
    except Exception as exc:  # noqa: BLE001 - any exception is a failed test
        return False, describe_failure(exc, test_file.path, show_source=not case.hidden)
    return True, "passed"


def score_question(question, outcomes):
    """A QuestionResult, scored by otter's TestFile from the outcomes of its cases."""
    if question.kind == "manual":
        return QuestionResult(
            question.name, "manual", question.points, None, explanation="graded by hand"
        )
    if question.tests is None:
        return QuestionResult(
            question.name,
            "auto",
            question.points,
            0.0,
            explanation="no tests for this question: 0 points",
        )
    from otter.test_files.abstract_test import TestCaseResult

    test_file = copy.copy(question.tests)  # the loaded file is shared by every submission
    test_file.test_case_results = []
    tests = []
    for case in _cases(question):
        passed, message = outcomes.get((question.name, case.name), (False, "not run"))
        test_file.test_case_results.append(TestCaseResult(case, message, passed))
        tests.append(
            TestOutcome(
                case.name,
                question.name,
                passed,
                message,
                bool(case.hidden),
                float(case.points or 0),
            )
        )
    possible = test_file.possible
    earned = float(test_file.score) if test_file.test_case_results else 0.0
    if possible and question.points and not math.isclose(possible, question.points):
        earned *= question.points / possible
    earned = round(earned, 4)
    failed = sum(1 for t in tests if not t.passed)
    aon = bool(test_file.all_or_nothing)
    if not tests:
        explanation = f"no checks -> {earned:g} of {question.points:g}"
    elif failed == 0:
        explanation = f"all {len(tests)} checks passed -> {earned:g} of {question.points:g}"
    else:
        explanation = (
            f"{'all-or-nothing: ' if aon else ''}{failed} of {len(tests)} checks "
            f"failed -> {earned:g} of {question.points:g}"
        )
    tests.sort(key=lambda t: t.hidden)
    return QuestionResult(
        question.name, "auto", question.points, earned, aon, tuple(tests), explanation
    )


def test_arguments(func, student, missing):
    """Values for a test function's parameters: proxies, fetched data or our modules."""
    import numpy

    ours = {"np": numpy, "numpy": numpy, "math": math}
    kwargs = {}
    for name in inspect.signature(func).parameters:
        if name in ours:
            kwargs[name] = ours[name]
        elif name == "env":
            kwargs[name] = {n: _student_value(student, n) for n in student.names}
        elif name in student.names:
            kwargs[name] = _student_value(student, name)
        else:
            kwargs[name] = Missing(name)
            missing.add(name)
    return kwargs


class Missing:
    """Stands for a name the notebook does not define: falsy, and calling it says so."""

    def __init__(self, name):
        self.name = name

    def __bool__(self):
        return False

    def __call__(self, *args, **kwargs):
        raise NameError(f"{self.name} is not defined in the notebook")

    def __getattr__(self, attr):
        raise NameError(f"{self.name} is not defined in the notebook")

    def __repr__(self):
        return f"<{self.name}: not defined in the notebook>"


def _student_value(student, name):
    info = student.names.get(name) or {}
    kind = info.get("kind")
    if kind == "callable":
        return student.proxy(name)
    if kind == "module":
        module = info.get("module")
        return sys.modules.get(module) if module in SAFE_MODULES else None
    try:
        return student.get(name)
    except sandbox.StudentGone:
        raise
    except Exception:  # noqa: BLE001 - unsendable data: the test sees None
        return None


def describe_failure(exc, test_path, show_source=True):
    """``Type: message`` for a failed test, after ``line N: <test source line>`` for a
    visible test (its source is in the student's notebook anyway), never for a hidden one."""
    where = ""
    if show_source:
        for frame in traceback.extract_tb(exc.__traceback__):
            if os.path.abspath(frame.filename) == os.path.abspath(test_path):
                where = f"line {frame.lineno}: {(frame.line or '').strip()}\n"
    try:
        message = str(exc).strip() or "(no message)"
    except Exception:  # noqa: BLE001 - a hostile exception's __str__
        message = "(unprintable message)"
    kind = getattr(type(exc), "remote_type", None)
    label = (
        f"the notebook's function raised {message}" if kind else f"{type(exc).__name__}: {message}"
    )
    return (where + label)[:2000]


def _summary(result, missing):
    parts = []
    if missing:
        parts.append("not defined: " + ", ".join(sorted(missing)))
    if result.cell_errors:
        parts.append(f"{len(result.cell_errors)} cell error(s)")
    failed = sum(1 for t in result.tests() if not t.passed)
    if failed:
        parts.append(f"{failed} test(s) failed")
    return "; ".join(parts)
