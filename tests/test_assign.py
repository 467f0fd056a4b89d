"""The generated exercise files are up to date and leak nothing.

``python -m autograder.assign`` writes ``exercises/<name>.ipynb``, ``autograder/<name>/tests/*.py``
and ``autograder/<name>/questions.json`` from ``solutions/<name>.ipynb``. These tests regenerate
everything into a temporary folder and compare with the committed files, so a solution notebook
edited without regenerating (or a generated file edited by hand) fails here.
"""
import ast
import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import assign

REPO = Path(__file__).resolve().parent.parent
EXERCISES = assign.EXERCISES


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
                    hidden = next((k.value.value for k in deco.keywords if k.arg == "hidden"), False)
                    flags.append((node.name, bool(hidden)))
    return flags


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    root = tmp_path_factory.mktemp("assign")
    written = {ex: assign.assign(ex, root=root, run_tests=False) for ex in EXERCISES}
    return root, written


@pytest.mark.parametrize("exercise", EXERCISES)
def test_student_notebook_is_up_to_date(regenerated, exercise):
    root, _ = regenerated
    committed = REPO / "exercises" / f"{exercise}.ipynb"
    assert committed.exists(), "run: python -m autograder.assign"
    assert normalised_notebook(root / "exercises" / f"{exercise}.ipynb") == normalised_notebook(committed), (
        f"exercises/{exercise}.ipynb is stale or was edited by hand; run: python -m autograder.assign")


@pytest.mark.parametrize("exercise", EXERCISES)
def test_test_files_are_up_to_date(regenerated, exercise):
    root, _ = regenerated
    fresh_dir = root / "autograder" / exercise / "tests"
    committed_dir = REPO / "autograder" / exercise / "tests"
    fresh = {p.name: p.read_text() for p in fresh_dir.glob("*.py")}
    committed = {p.name: p.read_text() for p in committed_dir.glob("*.py")}
    assert fresh.keys() == committed.keys(), f"test files differ: {sorted(fresh)} vs {sorted(committed)}"
    for name in fresh:
        assert fresh[name] == committed[name], (
            f"autograder/{exercise}/tests/{name} is stale or was edited by hand; "
            "run: python -m autograder.assign")
    fresh_spec = json.loads((root / "autograder" / exercise / "questions.json").read_text())
    committed_spec = json.loads((REPO / "autograder" / exercise / "questions.json").read_text())
    assert fresh_spec == committed_spec


@pytest.mark.parametrize("exercise", EXERCISES)
def test_autograder_zip_holds_the_same_tests(regenerated, exercise):
    root, written = regenerated
    zip_path = written[exercise]["zip"]
    assert zip_path == root / "_build" / "autograder" / f"{exercise}-autograder.zip"
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("otter_config.json"))
        for path in (REPO / "autograder" / exercise / "tests").glob("*.py"):
            assert zf.read(f"tests/{path.name}").decode() == path.read_text()
    assert {"run_autograder", "otter_config.json"} <= names
    assert config["assignment_name"] == exercise
    assert config["seed"] == 42 and config["seed_variable"] == "SEED", "grading must be seeded"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_student_notebook_leaks_nothing(exercise):
    nb = nbformat.read(REPO / "exercises" / f"{exercise}.ipynb", as_version=4)
    assert nb.metadata["dlcourse"] == {"exercise": exercise}
    assert nb.metadata["otter"]["assignment_name"] == exercise
    text = nbformat.writes(nb)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "# SOLUTION", "HIDDEN", "hidden=True",
                   "dlcourse.genz", "**Answer.**"):
        assert marker not in text, f"{marker!r} must not appear in the student notebook"
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    # the public tests travel in the metadata for grader.check; the hidden ones must not
    for name, source in nb.metadata["otter"]["tests"].items():
        assert "hidden=False" in source and "hidden=True" not in source, name


@pytest.mark.parametrize("exercise", EXERCISES)
def test_public_tests_need_no_course_package(exercise):
    """Students run the public tests without ``dlcourse``; hidden tests may use it."""
    for path in sorted((REPO / "autograder" / exercise / "tests").glob("*.py")):
        tree = ast.parse(path.read_text())
        flags = dict(case_flags(path))
        assert flags, f"{path.name} has no test cases"
        assert not all(flags.values()), f"{path.name}: every question needs a public test"
        assert any(flags.values()), f"{path.name}: every question needs a hidden test"
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not flags.get(node.name, True):
                assert "dlcourse" not in ast.unparse(node), f"{path.name}: public {node.name} imports dlcourse"


@pytest.mark.parametrize("exercise", EXERCISES)
def test_questions_json_matches_the_test_files(exercise):
    spec = json.loads((REPO / "autograder" / exercise / "questions.json").read_text())
    assert spec["exercise"] == exercise
    names = [q["name"] for q in spec["questions"]]
    assert names == [f"q{i}" for i in range(1, len(names) + 1)], "questions must be q1, q2, ... in order"
    tests = {p.stem for p in (REPO / "autograder" / exercise / "tests").glob("*.py")}
    auto = [q for q in spec["questions"] if q["kind"] == "auto"]
    assert {q["name"] for q in auto} == tests
    assert any(q["kind"] == "manual" for q in spec["questions"]), "each exercise has a written question"
    for q in auto:
        source = (REPO / "autograder" / exercise / "tests" / f"{q['name']}.py").read_text()
        assert f"points = {q['points']}\n" in source
        assert "all_or_nothing = True" in source, "a question scores all of its points or none"
    assert spec["total_points"] == sum(q["points"] for q in spec["questions"])
    assert spec["autograded_points"] == sum(q["points"] for q in auto)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_notebook_states_the_points(exercise):
    """The points the student reads in the notebook are the points the grader gives."""
    spec = json.loads((REPO / "autograder" / exercise / "questions.json").read_text())
    nb = nbformat.read(REPO / "exercises" / f"{exercise}.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for i, q in enumerate(spec["questions"], start=1):
        unit = "point" if q["points"] == 1 else "points"
        assert f"## Question {i}:" in text and f"({q['points']} {unit}" in text, q
