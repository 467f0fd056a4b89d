"""Shared pieces of the grader's unit tests (imported by the test modules)."""


class FakeStudent:
    """Serves the notebook's names from this process and records the order of calls."""

    def __init__(self, **functions):
        self.functions = functions
        self.names = {name: {"kind": "callable"} for name in functions}
        self.calls = []

    def proxy(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args))
            return self.functions[name](*args, **kwargs)

        return call

    def get(self, name):
        raise KeyError(name)


ALL_OR_NOTHING = """\
from otter.test_files import test_case

OK_FORMAT = False
name = "q1"
points = 3
all_or_nothing = True

@test_case(points=None, hidden=False)
def test_visible(double):
    assert double(2) == 4, "double(2) should be 4"

@test_case(points=None, hidden=True)
def test_hidden(double):
    secret_input = 21
    assert double(secret_input) == 42, "double is wrong on another input"
"""

PARTIAL = """\
from otter.test_files import test_case

OK_FORMAT = False
name = "q2"
points = 2

@test_case(points=1, hidden=True)
def test_hidden_first_in_file(square):
    assert square(3) == 9, "square(3) should be 9"

@test_case(points=1, hidden=False)
def test_visible_second_in_file(square):
    assert square(2) == 4, "square(2) should be 4"
"""

QUESTIONS = [
    {"name": "q1", "points": 3, "kind": "auto"},
    {"name": "q2", "points": 2, "kind": "auto"},
    {"name": "q3", "points": 1, "kind": "manual"},
]
