"""Reading an exercise's questions (questions.json) in each of its accepted shapes."""

import pytest

from autograder.exercises import parse_questions


@pytest.mark.parametrize(
    "data",
    [
        [
            {"name": "q1", "points": 3},
            {"name": "q2", "points": 2, "kind": "auto"},
            {"name": "q3", "points": 1, "kind": "manual"},
        ],
        {
            "questions": [
                {"name": "q1", "points": 3},
                {"name": "q2", "points": 2},
                {"name": "q3", "points": 1, "kind": "manual"},
            ]
        },
        {"q1": 3, "q2": {"points": 2}, "q3": {"points": 1, "kind": "manual"}},
    ],
)
def test_questions_in_every_accepted_shape(data):
    questions = parse_questions(data)
    assert [(q.name, q.points, q.kind) for q in questions] == [
        ("q1", 3.0, "auto"),
        ("q2", 2.0, "auto"),
        ("q3", 1.0, "manual"),
    ]


def test_missing_points_count_zero_and_unknown_kinds_are_auto():
    (question,) = parse_questions([{"name": "q9", "kind": "essay"}])
    assert (question.points, question.kind) == (0.0, "auto")


def test_a_question_without_a_name_is_an_error():
    with pytest.raises(KeyError):
        parse_questions([{"points": 1}])
