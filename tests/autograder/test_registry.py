"""One exercise registry: every generated exercise is registered and every registered one
has its solution, student notebook and tests."""

import json
from pathlib import Path

from autograder import assign, exercises

REPO = Path(__file__).resolve().parents[2]


def test_registry_matches_the_generated_files():
    generated = {p.parent.name for p in (REPO / "autograder").glob("*/questions.json")}
    assert generated == set(exercises.EXERCISES)
    for name, info in exercises.EXERCISES.items():
        assert (REPO / "solutions" / f"{name}.ipynb").exists()
        assert (REPO / "exercises" / info.notebook).exists()
        spec = json.loads((REPO / "autograder" / name / "questions.json").read_text())
        auto = sum(q["points"] for q in spec["questions"] if q["kind"] == "auto")
        assert auto == info.points, name


def test_assign_uses_the_registry():
    assert list(assign.EXERCISES) == list(exercises.EXERCISES)


def test_known_exercises_load_with_their_points():
    for name in exercises.known_exercises():
        loaded = exercises.load_exercise(name)
        auto = sum(q.points for q in loaded.questions if q.kind == "auto")
        assert auto == exercises.EXERCISES[name].points
        assert all(q.tests is not None for q in loaded.questions if q.kind == "auto")


def test_unknown_or_odd_names_are_not_exercises():
    for name in ("nope", "../solutions", "", None):
        try:
            exercises.load_exercise(name)
        except KeyError:
            continue
        raise AssertionError(f"{name!r} loaded")
