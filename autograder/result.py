"""The typed result of grading one submission, read by the sheet, the reports and Gradescope.

``SubmissionResult`` holds what may be shown to the student (scores, test names and
messages, cell errors); ``InstructorDetails`` holds what may not (the process's stdout and
stderr, grader tracebacks). ``to_state`` / ``from_state`` round-trip the student-facing
part through the resume state file (JSON).
"""

import dataclasses

STATUSES = (
    "ok",
    "crashed",
    "timeout",
    "memory",
    "output-limit",
    "invalid",
    "wrong-exercise",
    "error",
    "pending",
)
"""``error`` is the grader's own failure (reason starts with ``grader:``): never final."""

NOT_ISOLATED = "NOT ISOLATED"


@dataclasses.dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest test class
    name: str
    description: str  # the question a test case belongs to, as the report shows it
    passed: bool
    message: str  # "passed", or what failed; never test source for hidden tests
    hidden: bool
    points: float = 0.0


@dataclasses.dataclass(frozen=True)
class QuestionResult:
    name: str
    kind: str  # "auto" or "manual"
    max_points: float
    points: float | None  # None for manual questions (graded by hand)
    all_or_nothing: bool = False
    tests: tuple = ()  # TestOutcome, visible ones first
    explanation: str = ""  # e.g. "all-or-nothing: 1 of 2 checks failed -> 0 of 3"


@dataclasses.dataclass(frozen=True)
class CellError:
    cell: int  # as Jupyter numbers it: position among all cells, from 1
    code_cell: int  # position among code cells, from 1
    error: str


@dataclasses.dataclass
class InstructorDetails:
    """Shown only in the instructor's report."""

    stdout: str = ""
    stderr: str = ""
    tracebacks: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SubmissionResult:
    file: str  # the real file name (surrogate-escaped if not UTF-8)
    exercise: str | None = None
    status: str = "error"
    reason: str = ""
    questions: tuple = ()  # QuestionResult, in the exercise's order
    total: float = 0.0
    max_total: float = 0.0
    backend: str = ""  # Keras backend the notebook ran on ("" if none)
    isolation: str = ""  # sandbox mode; contains NOT ISOLATED when plain
    sha256: str = ""
    seconds: float = 0.0
    cell_errors: tuple = ()  # CellError
    notes: list = dataclasses.field(default_factory=list)  # fit for the student
    instructor: InstructorDetails = dataclasses.field(default_factory=InstructorDetails)

    @property
    def final(self):
        """Whether this grade may be cached: a grader failure or pending row never is."""
        return self.status not in ("error", "pending")

    @property
    def scores(self):
        """``{question: points or None}`` in order."""
        return {q.name: q.points for q in self.questions}

    def tests(self):
        return [t for q in self.questions for t in q.tests]

    def to_state(self):
        """JSON-able dict of everything but the instructor details."""
        data = dataclasses.asdict(self)
        data.pop("instructor")
        return data

    @classmethod
    def from_state(cls, data):
        data = dict(data)
        questions = []
        for q in data.get("questions") or ():
            q = dict(q)
            q["tests"] = tuple(TestOutcome(**t) for t in q.get("tests") or ())
            questions.append(QuestionResult(**q))
        data["questions"] = tuple(questions)
        data["cell_errors"] = tuple(CellError(**e) for e in data.get("cell_errors") or ())
        data.pop("instructor", None)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def pending(file, exercise=None):
    return SubmissionResult(file=file, exercise=exercise, status="pending")
