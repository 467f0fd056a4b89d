"""The generated exercise files are up to date, leak nothing and work without the repository.

``python -m autograder.assign`` writes ``exercises/<name>.ipynb``, ``autograder/<name>/tests/*.py``
and ``autograder/<name>/questions.json`` from ``solutions/<name>.ipynb``. The session fixture
``assigned`` (``conftest.py``) regenerates everything once into a temporary folder; these tests
compare it with the committed files, so a solution notebook edited without regenerating (or a
generated file edited by hand) fails here.
"""

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder import assign
from autograder.exercises import EXERCISES

REPO = Path(__file__).resolve().parent.parent


def normalised_notebook(path):
    """A notebook as plain data, without what may change between otter runs (cell ids)."""
    nb = nbformat.read(path, as_version=4)
    data = json.loads(nbformat.writes(nb))
    for cell in data["cells"]:
        cell.pop("id", None)
    return data


def case_flags(path):
    """``(function name, hidden)`` of every ``@test_case`` in an otter test file, in order."""
    tree = ast.parse(Path(path).read_text())
    flags = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "test_case":
                    hidden = next(
                        (k.value.value for k in deco.keywords if k.arg == "hidden"), False
                    )
                    flags.append((node.name, bool(hidden)))
    return flags


def student_notebook(exercise):
    return nbformat.read(REPO / "exercises" / f"{exercise}.ipynb", as_version=4)


def checks_cell(nb):
    cells = [c for c in nb.cells if c.cell_type == "code" and "PUBLIC_CHECKS = " in c.source]
    assert len(cells) == 1, "exactly one cell defines the public checks"
    return cells[0]


def embedded_checks(nb):
    """The ``PUBLIC_CHECKS`` dict of a student notebook, read from its source, not executed."""
    tree = ast.parse(checks_cell(nb).source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PUBLIC_CHECKS":
            return ast.literal_eval(node.value)
    raise AssertionError("no PUBLIC_CHECKS assignment")


def pins(path):
    """package name -> exact version of a requirements file (extras dropped)."""
    found = {}
    for line in Path(path).read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(3)
    return found


@pytest.mark.parametrize("exercise", EXERCISES)
def test_student_notebook_is_up_to_date(assigned, exercise):
    committed = REPO / "exercises" / f"{exercise}.ipynb"
    assert committed.exists(), "run: python -m autograder.assign"
    assert normalised_notebook(assigned / "exercises" / f"{exercise}.ipynb") == normalised_notebook(
        committed
    ), (
        f"exercises/{exercise}.ipynb is stale or was edited by hand; run: python -m autograder.assign"
    )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_test_files_are_up_to_date(assigned, exercise):
    fresh_dir = assigned / "autograder" / exercise / "tests"
    committed_dir = REPO / "autograder" / exercise / "tests"
    fresh = {p.name: p.read_text() for p in fresh_dir.glob("*.py")}
    committed = {p.name: p.read_text() for p in committed_dir.glob("*.py")}
    assert fresh.keys() == committed.keys(), (
        f"test files differ: {sorted(fresh)} vs {sorted(committed)}"
    )
    for name in fresh:
        assert fresh[name] == committed[name], (
            f"autograder/{exercise}/tests/{name} is stale or was edited by hand; "
            "run: python -m autograder.assign"
        )
    fresh_spec = json.loads((assigned / "autograder" / exercise / "questions.json").read_text())
    committed_spec = json.loads((REPO / "autograder" / exercise / "questions.json").read_text())
    assert fresh_spec == committed_spec


def test_no_in_kernel_autograder_zip(assigned):
    """otter's own zip runs tests inside the student's kernel; assign must not leave it anywhere."""
    assert not list(assigned.rglob("*.zip")), sorted(assigned.rglob("*.zip"))
    assert not (REPO / "_build" / "autograder").exists() or not list(
        (REPO / "_build" / "autograder").glob("*-autograder.zip")
    ), (
        "remove _build/autograder/*-autograder.zip: an old otter zip an instructor could upload by mistake"
    )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_student_notebook_leaks_nothing(exercise):
    nb = student_notebook(exercise)
    assert nb.metadata["dlcourse"] == {"exercise": exercise}
    text = nbformat.writes(nb)
    for marker in (
        "BEGIN SOLUTION",
        "END SOLUTION",
        "# SOLUTION",
        "HIDDEN",
        "hidden=True",
        "dlcourse.",
        "**Answer.**",
    ):
        assert marker not in text, f"{marker!r} must not appear in the student notebook"
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    hidden = {
        name
        for path in (REPO / "autograder" / exercise / "tests").glob("*.py")
        for name, is_hidden in case_flags(path)
        if is_hidden
    }
    public = {
        name
        for path in (REPO / "autograder" / exercise / "tests").glob("*.py")
        for name, is_hidden in case_flags(path)
        if not is_hidden
    }
    embedded = {
        re.match(r"def (\w+)", source).group(1)
        for sources in embedded_checks(nb).values()
        for source in sources
    }
    assert embedded == public, "the notebook embeds exactly the public tests"
    assert not any(f"def {name}(" in text for name in hidden - public), "a hidden test leaked"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_embedded_checks_are_the_graders_public_tests(exercise):
    """The checks a student runs are, source for source, the public tests the grader runs."""
    nb = student_notebook(exercise)
    for question, sources in embedded_checks(nb).items():
        text = (REPO / "autograder" / exercise / "tests" / f"{question}.py").read_text()
        assert sources == assign.public_tests(text), question
        assert sources, f"{question} has no public check"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_notebook_works_anywhere(exercise):
    """No file name, no otter, no tests folder: checks are built in and every question has one."""
    nb = student_notebook(exercise)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for needle in ("import otter", "otter.Notebook(", "grader.check(", "grader.export(", ".ipynb"):
        assert needle not in text, needle
    questions = [
        q["name"]
        for q in json.loads((REPO / "autograder" / exercise / "questions.json").read_text())[
            "questions"
        ]
        if q["kind"] == "auto"
    ]
    checks = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("check(")]
    assert checks == [f'check("{q}")' for q in questions]
    assert nb.cells[-1].source == "check.all()"
    # the install cell comes first among the code cells, and only acts on Colab
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "import google.colab" in first_code.source and "%pip install" in first_code.source


@pytest.mark.parametrize("exercise", EXERCISES)
def test_only_the_set_up_and_check_cells_are_locked(exercise):
    nb = student_notebook(exercise)
    for cell in nb.cells:
        locked = cell.metadata.get("editable") is False
        fixed = cell.cell_type == "code" and (
            cell.source.startswith("check")
            or "PUBLIC_CHECKS" in cell.source
            or "import google.colab" in cell.source
        )
        assert locked == fixed, cell.source[:80]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_colab_pins_are_the_student_requirements(exercise):
    nb = student_notebook(exercise)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    line = next(line for line in first_code.source.splitlines() if "%pip install" in line)
    wanted = pins(REPO / "exercises" / "requirements.txt")
    packages = re.findall(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line)
    assert packages and all(wanted[name.lower()] == version for name, version in packages), line
    assert {name for name, _ in packages} >= {"numpy", "matplotlib"}
    if EXERCISES[exercise].uses_keras:
        assert {name for name, _ in packages} >= {"keras", "jax"}


def test_student_requirements_match_the_kit():
    """Students get the versions the kit is tested and graded with, and a Jupyter front end."""
    students, kit = pins(REPO / "exercises" / "requirements.txt"), pins(REPO / "requirements.txt")
    assert {"jupyterlab", "ipykernel", "numpy", "matplotlib", "keras", "jax"} <= set(students)
    for name, version in students.items():
        if name in kit:
            assert kit[name] == version, (
                f"{name}: {version} for students, {kit[name]} in requirements.txt"
            )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_tests_need_only_numpy(exercise):
    """Every test, public or hidden, is self-contained: the grader (and a Gradescope zip) needs no
    course package, and students run the public ones without it."""
    for path in sorted((REPO / "autograder" / exercise / "tests").glob("*.py")):
        tree = ast.parse(path.read_text())
        flags = dict(case_flags(path))
        assert flags, f"{path.name} has no test cases"
        assert not all(flags.values()), f"{path.name}: every question needs a public test"
        assert any(flags.values()), f"{path.name}: every question needs a hidden test"
        names = list(flags)
        assert [n for n in names if not flags[n]] + [n for n in names if flags[n]] == names, (
            f"{path.name}: hidden tests run after the public ones"
        )
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name in ("itertools",) for a in node.names), ast.unparse(node)
            elif isinstance(node, ast.ImportFrom):
                assert node.module == "otter.test_files", ast.unparse(node)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_questions_json_matches_the_test_files(exercise):
    spec = json.loads((REPO / "autograder" / exercise / "questions.json").read_text())
    assert spec["exercise"] == exercise
    names = [q["name"] for q in spec["questions"]]
    assert names == [f"q{i}" for i in range(1, len(names) + 1)], (
        "questions must be q1, q2, ... in order"
    )
    tests = {p.stem for p in (REPO / "autograder" / exercise / "tests").glob("*.py")}
    auto = [q for q in spec["questions"] if q["kind"] == "auto"]
    assert {q["name"] for q in auto} == tests
    assert any(q["kind"] == "manual" for q in spec["questions"]), (
        "each exercise has a written question"
    )
    for q in auto:
        source = (REPO / "autograder" / exercise / "tests" / f"{q['name']}.py").read_text()
        assert f"points = {q['points']}\n" in source
        assert "all_or_nothing = True" in source, "a question scores all of its points or none"
    assert spec["total_points"] == sum(q["points"] for q in spec["questions"])
    assert spec["autograded_points"] == sum(q["points"] for q in auto)
    assert spec["autograded_points"] == EXERCISES[exercise].points


@pytest.mark.parametrize("exercise", EXERCISES)
def test_notebook_states_the_points_and_the_rules(exercise):
    """The points the student reads are the points the grader gives; the limits are stated."""
    spec = json.loads((REPO / "autograder" / exercise / "questions.json").read_text())
    text = "\n".join(
        c.source for c in student_notebook(exercise).cells if c.cell_type == "markdown"
    )
    for i, q in enumerate(spec["questions"], start=1):
        unit = "point" if q["points"] == 1 else "points"
        assert f"## Question {i}:" in text and f"({q['points']} {unit}" in text, q
    flat = " ".join(text.split())
    for fact in ("60 s", "300 s", "2 GiB", "one CPU thread", "All or nothing", "`.ipynb` file"):
        assert fact in flat, f"the notebook must tell students: {fact}"
    if EXERCISES[exercise].uses_keras:
        assert "JAX" in flat and "TensorFlow" in flat, "the grading backend is stated"
