"""Scoring one submission's tests: order, otter's all-or-nothing rule, messages, backend."""

import pytest
from grader_helpers import ALL_OR_NOTHING, PARTIAL, QUESTIONS, FakeStudent

from autograder import scoring


def score(exercise, student):
    missing = set()
    outcomes = scoring.run_tests(exercise, student, missing)
    return {q.name: scoring.score_question(q, outcomes) for q in exercise.questions}, missing


def test_visible_tests_run_before_any_hidden_test(make_exercise):
    exercise = make_exercise({"q1.py": ALL_OR_NOTHING, "q2.py": PARTIAL}, QUESTIONS)
    student = FakeStudent(double=lambda v: 2 * v, square=lambda v: v * v)
    score(exercise, student)
    # visible: double(2), square(2); then hidden: double(21), square(3)
    assert student.calls == [
        ("double", (2,)),
        ("square", (2,)),
        ("double", (21,)),
        ("square", (3,)),
    ]


def test_all_or_nothing_says_why_the_question_scores_zero(make_exercise):
    exercise = make_exercise({"q1.py": ALL_OR_NOTHING, "q2.py": PARTIAL}, QUESTIONS)
    wrong_on_hidden = FakeStudent(double=lambda v: 4 if v == 2 else 0, square=lambda v: v * v)
    results, _ = score(exercise, wrong_on_hidden)
    q1 = results["q1"]
    assert q1.points == 0 and q1.all_or_nothing
    assert q1.explanation == "all-or-nothing: 1 of 2 checks failed -> 0 of 3"
    assert [t.passed for t in q1.tests] == [True, False]
    assert (
        results["q2"].points == 2 and results["q2"].explanation == "all 2 checks passed -> 2 of 2"
    )
    assert results["q3"].points is None and results["q3"].kind == "manual"


def test_partial_credit_question(make_exercise):
    exercise = make_exercise({"q1.py": ALL_OR_NOTHING, "q2.py": PARTIAL}, QUESTIONS)
    results, _ = score(
        exercise, FakeStudent(double=lambda v: 2 * v, square=lambda v: 9 if v == 3 else 0)
    )
    assert results["q1"].points == 3
    assert results["q2"].points == 1
    assert results["q2"].explanation == "1 of 2 checks failed -> 1 of 2"
    assert [t.hidden for t in results["q2"].tests] == [False, True]  # visible listed first


def test_hidden_failure_shows_no_test_source(make_exercise):
    exercise = make_exercise({"q1.py": ALL_OR_NOTHING, "q2.py": PARTIAL}, QUESTIONS)
    results, _ = score(exercise, FakeStudent(double=lambda v: 0, square=lambda v: v * v))
    visible, hidden = results["q1"].tests
    assert visible.message.startswith("line ") and "double(2) == 4" in visible.message
    assert "secret_input" not in hidden.message and "line" not in hidden.message
    assert hidden.message == "AssertionError: double is wrong on another input"


def test_missing_function_fails_its_tests_and_is_named(make_exercise):
    exercise = make_exercise({"q1.py": ALL_OR_NOTHING, "q2.py": PARTIAL}, QUESTIONS)
    results, missing = score(exercise, FakeStudent(double=lambda v: 2 * v))
    assert missing == {"square"}
    assert results["q2"].points == 0
    assert "square is not defined in the notebook" in results["q2"].tests[0].message


@pytest.mark.parametrize(
    "cells, backend",
    [
        (["import numpy as np"], ""),
        (["import keras\nfrom keras import ops"], "jax"),
        (["from keras.layers import Dense"], "jax"),
        (["import keras", "import tensorflow as tf"], "tensorflow"),
        (["import keras", "x = __import__('tensorflow')"], "tensorflow"),
        (["import keras\nimport torch"], "tensorflow"),
        (["%matplotlib inline\nimport keras"], "jax"),
        (["import keras", "def broken(:\n    import tensorflow"], "tensorflow"),
    ],
)
def test_backend_choice(cells, backend):
    assert scoring.choose_backend(cells) == backend


def test_decoding_errors_in_the_channel_count_as_the_students():
    """A RecursionError raised while the channel decodes a message is the notebook's doing
    (status crashed, final); the same error anywhere else is a grader error (regraded)."""
    from autograder import channel

    namespace = {}
    exec(
        compile(
            "def decode():\n    raise RecursionError('nested too deeply')", channel.__file__, "exec"
        ),
        namespace,
    )
    try:
        namespace["decode"]()
    except RecursionError as exc:
        assert scoring._caused_by_student(exc)
    try:
        raise RecursionError("grader bug")
    except RecursionError as exc:
        assert not scoring._caused_by_student(exc)


@pytest.mark.parametrize(
    "cells, backend, hidden",
    [
        (["import numpy as np"], "", []),
        (["import keras"], "jax", ["tensorflow", "sklearn", "pandas"]),
        (["import keras"], "tensorflow", ["sklearn", "pandas"]),
        (["import keras", "import pandas as pd"], "jax", ["tensorflow", "sklearn"]),
        (["import keras", "from sklearn.metrics import r2_score"], "jax", ["tensorflow", "pandas"]),
        (["import keras", "m = __import__('pandas')"], "jax", ["tensorflow", "sklearn"]),
    ],
)
def test_packages_keras_would_import_on_its_own_stay_out_unless_named(cells, backend, hidden):
    """TensorFlow (only on JAX), scikit-learn and pandas cannot be imported by a notebook
    that never names them; a notebook that names one has it."""
    assert scoring.unavailable_modules(cells, backend) == hidden


def test_the_backend_and_the_hidden_packages_agree_on_tensorflow():
    """A notebook that names TensorFlow runs on TensorFlow and keeps it importable."""
    for cells in (["import keras", "import tensorflow as tf"], ["import keras\n# tensorflow"]):
        backend = scoring.choose_backend(cells)
        assert backend == "tensorflow"
        assert "tensorflow" not in scoring.unavailable_modules(cells, backend)


def test_sandbox_reasons_number_cells_as_jupyter_shows_them():
    """Code cell 4 is the 7th cell when three markdown cells come before it."""
    positions = [1, 3, 5, 7]
    assert (
        scoring.jupyter_cell_reason("the process was killed by SIGKILL in cell 4", positions)
        == "the process was killed by SIGKILL in cell 7 (code cell 4)"
    )
    assert scoring.jupyter_cell_reason("CPU time limit reached in cell 1", positions) == (
        "CPU time limit reached in cell 1"
    )
    assert scoring.jupyter_cell_reason("printed more than 4 MiB", positions) == (
        "printed more than 4 MiB"
    )
