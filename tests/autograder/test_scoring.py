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
