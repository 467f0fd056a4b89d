"""The exercises: one registry, and loading an exercise's questions and otter test files.

``EXERCISES`` is the only list of exercises in the kit: ``assign.py`` generates these,
``grade.py`` grades them, ``gradescope.py`` packages them and the tests iterate over them.
Adding an exercise means adding it here and writing ``solutions/<name>.ipynb``.

An exercise's generated files live in ``autograder/<name>/``: ``tests/*.py`` (otter test
files written by ``otter assign``) and ``questions.json`` (the questions, their points and
whether each is autograded or manual).
"""

import dataclasses
import functools
import hashlib
import inspect
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass(frozen=True)
class ExerciseInfo:
    """What the kit knows about an exercise before loading its generated tests."""

    name: str
    title: str
    notebook: str  # the student notebook's file name under exercises/
    points: float  # autograded points (manual questions excluded)
    uses_keras: bool  # whether grading needs Keras (Gradescope's requirements)


EXERCISES = {
    info.name: info
    for info in (
        ExerciseInfo(
            "gradient_descent",
            "Gradient descent from scratch",
            "gradient_descent.ipynb",
            10,
            uses_keras=False,
        ),
        ExerciseInfo(
            "genz_approximation",
            "Approximating the Genz functions with a neural network",
            "genz_approximation.ipynb",
            10,
            uses_keras=True,
        ),
        ExerciseInfo(
            "euler_equation",
            "The Euler equation: a network that solves a growth model",
            "euler_equation.ipynb",
            10,
            uses_keras=True,
        ),
    )
}
"""name -> ExerciseInfo, in teaching order."""


@dataclasses.dataclass
class Question:
    name: str
    points: float
    kind: str = "auto"  # "auto" or "manual"
    tests: object = None  # otter ExceptionTestFile for auto questions

    @property
    def all_or_nothing(self):
        return bool(getattr(self.tests, "all_or_nothing", False))


@dataclasses.dataclass
class Exercise:
    name: str
    questions: list
    fingerprint: str

    @property
    def question_names(self):
        return [q.name for q in self.questions]


def exercises_root():
    """Folder holding ``<exercise>/tests``: this package, or ``$DLCOURSE_EXERCISES_DIR``."""
    return os.environ.get("DLCOURSE_EXERCISES_DIR") or HERE


def exercise_dir(name):
    return os.path.join(exercises_root(), name)


def known_exercises():
    """Registered exercises whose tests have been generated (``make exercises``).

    With ``$DLCOURSE_EXERCISES_DIR`` set (tests that author their own exercise), any folder
    there holding a ``tests`` folder counts too.
    """
    root = exercises_root()
    names = [n for n in EXERCISES if os.path.isdir(os.path.join(root, n, "tests"))]
    if root != HERE and os.path.isdir(root):
        names += sorted(
            d
            for d in os.listdir(root)
            if d not in names
            and not d.startswith("_")
            and os.path.isdir(os.path.join(root, d, "tests"))
        )
    return names


@functools.cache
def load_exercise(name):
    """The exercise's questions (from ``questions.json``) with their otter test files.

    Raises ``KeyError`` for a name that is not an exercise.
    """
    from otter.test_files import ExceptionTestFile  # the grader's side only

    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise KeyError(name)
    folder = exercise_dir(name)
    tests_dir = os.path.join(folder, "tests")
    if not os.path.isdir(tests_dir):
        raise KeyError(name)
    digest = hashlib.sha256()
    tests = {}
    for file_name in sorted(os.listdir(tests_dir)):
        if not file_name.endswith(".py") or file_name.startswith("_"):
            continue
        path = os.path.join(tests_dir, file_name)
        with open(path, "rb") as f:
            digest.update(file_name.encode() + b"\0" + f.read())
        test_file = ExceptionTestFile.from_file(path)
        tests[test_file.name] = test_file
    questions = []
    spec_path = os.path.join(folder, "questions.json")
    if os.path.exists(spec_path):
        with open(spec_path, "rb") as f:
            raw = f.read()
        digest.update(raw)
        questions = parse_questions(json.loads(raw))
    listed = {q.name for q in questions}
    for test_name in sorted(tests):
        if test_name not in listed:
            questions.append(Question(test_name, tests[test_name].possible))
    for question in questions:
        if question.kind == "auto":
            question.tests = tests.get(question.name)
    return Exercise(name, questions, digest.hexdigest())


def parse_questions(data):
    """Questions from ``[{"name", "points", "kind"}, ...]`` (or ``{"questions": [...]}``
    or ``{"q1": {"points", "kind"}, ...}``)."""
    if isinstance(data, dict) and isinstance(data.get("questions"), (list, dict)):
        data = data["questions"]
    if isinstance(data, dict):
        data = [
            dict(spec, name=name) if isinstance(spec, dict) else {"name": name, "points": spec}
            for name, spec in data.items()
        ]
    questions = []
    for item in data:
        kind = str(item.get("kind", "auto"))
        questions.append(
            Question(
                str(item["name"]),
                float(item.get("points", 0) or 0),
                "manual" if kind == "manual" else "auto",
            )
        )
    return questions


def check_names(exercise_name):
    """``{question: [name of each check, in run order]}`` from the test functions.

    A check is named by its test function's docstring (first line) or, without one, by the
    function's name (``test_vector_start`` -> ``vector start``); otter's own names
    (``q1 - 1``) say nothing about what is checked.
    """
    try:
        exercise = load_exercise(exercise_name)
    except KeyError:
        return {}
    names = {}
    for question in exercise.questions:
        cases = question.tests.test_cases if question.tests is not None else []
        ordered = [c for c in cases if not c.hidden] + [c for c in cases if c.hidden]
        names[question.name] = {c.name: _describe(c) for c in ordered}
    return names


def _describe(case):
    func = getattr(case.body, "test_func", case.body)
    doc = inspect.getdoc(func)
    if doc:
        return doc.strip().splitlines()[0].rstrip(".")
    name = getattr(func, "__name__", case.name)
    return name.removeprefix("test_").replace("_", " ")
