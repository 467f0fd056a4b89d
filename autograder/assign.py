"""Turn the solution notebooks into what students and the grader get: ``python -m autograder.assign``.

For each exercise ``<name>`` (``solutions/<name>.ipynb``, written in otter-assign format) it runs
``otter assign`` into a temporary folder and writes

* the student notebook ``exercises/<name>.ipynb`` (solutions and hidden tests removed), made to
  work anywhere: on Jupyter under any file name, on Colab and on Binder. Its first cell installs
  the pinned packages on Colab (``exercises/requirements.txt``); its second cell defines
  ``check("q1")`` and ``check.all()`` with the public tests inside it (``dlcourse/checks.py``), so
  the checks need no tests folder, no otter and no course package; every ``grader.check`` cell
  becomes ``check(...)``; the last cell runs all public checks and the notebook says to upload the
  ``.ipynb`` itself (there is no export step). ``metadata["dlcourse"]`` names the exercise and
  cell ids are deterministic;
* every test file, public and hidden, to ``autograder/<name>/tests/q*.py``;
* the questions in order, with points and kind (``auto``/``manual``), to
  ``autograder/<name>/questions.json``;
* the solved notebook in exactly the student notebook's form, to
  ``_build/exercises/<name>.solved.ipynb`` (a build product: ``tools/make_submissions.py`` makes
  the test corpus from it).

otter's own autograder zip is not kept: it runs the tests inside the student's kernel, so it must
never be uploaded anywhere (``python -m autograder.gradescope`` builds the Gradescope zip).

Everything under ``exercises/`` and ``autograder/`` is committed and must never be edited by hand;
``tests/test_assign.py`` checks that a fresh run reproduces the committed files.

    python -m autograder.assign                      # both exercises, otter runs the tests too
    python -m autograder.assign gradient_descent     # one exercise
    python -m autograder.assign --no-run-tests       # skip otter's check of the solutions
    python -m autograder.assign --root /tmp/x        # write under another folder (for tests)

``otter assign`` checks that the solution notebook passes all of its tests unless
``--no-run-tests`` is given; that check executes the whole solution notebook with
``DLCOURSE_GRADING=1`` (so heavy study cells skip themselves) and needs no Docker.
"""

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import yaml

from .exercises import EXERCISES  # the one registry: name -> ExerciseInfo

REPO = Path(__file__).resolve().parent.parent
CHECKS_SOURCE = REPO / "dlcourse" / "checks.py"
STUDENT_REQUIREMENTS = REPO / "exercises" / "requirements.txt"
NOTEBOOK_PACKAGES = ("numpy", "matplotlib")
"""What every notebook imports; ``keras`` and a backend are added for Keras exercises."""
KERAS_PACKAGES = ("keras", "jax")
CHECK_CELL = re.compile(r'^\s*grader\.check\("(q\d+)"\)\s*$')


def question_configs(solution_path):
    """The ``# BEGIN QUESTION`` configurations of a solution notebook, in order."""
    nb = read_otter_notebook(solution_path)
    questions = []
    for cell in nb.cells:
        lines = cell.source.strip().splitlines()
        if cell.cell_type == "raw" and lines and lines[0].strip().upper() == "# BEGIN QUESTION":
            config = yaml.safe_load("\n".join(lines[1:])) or {}
            questions.append(config)
    return questions


def questions_spec(exercise, solution_path, test_files):
    """The content of ``questions.json``: name, points and kind of every question, in order."""
    questions = []
    for config in question_configs(solution_path):
        name = config["name"]
        manual = bool(config.get("manual", False))
        if not manual and name not in test_files:
            raise ValueError(f"{exercise}: autograded question {name} has no tests")
        questions.append(
            {
                "name": name,
                "points": config.get("points", 1),
                "kind": "manual" if manual else "auto",
            }
        )
    return {
        "exercise": exercise,
        "questions": questions,
        "total_points": sum(q["points"] for q in questions),
        "autograded_points": sum(q["points"] for q in questions if q["kind"] == "auto"),
    }


def public_tests(test_file_text):
    """Sources of the public (``hidden=False``) test functions of an otter test file, in order."""
    sources = []
    for node in ast.parse(test_file_text).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "test_case":
                hidden = next((k.value.value for k in deco.keywords if k.arg == "hidden"), False)
                if not hidden:
                    node.decorator_list = []
                    sources.append(ast.unparse(node))
    return sources


def pinned(packages, requirements=STUDENT_REQUIREMENTS):
    """The lines of the student requirements that pin ``packages`` (extras kept), in order."""
    pins = {}
    for line in Path(requirements).read_text().splitlines():
        line = line.split("#")[0].strip()
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==\S+$", line)
        if match:
            pins[match.group(1).lower()] = line
    missing = [p for p in packages if p not in pins]
    if missing:
        raise ValueError(f"{requirements} pins no version of {', '.join(missing)}")
    return [pins[p] for p in packages]


def install_cell_source(exercise):
    packages = NOTEBOOK_PACKAGES + (KERAS_PACKAGES if EXERCISES[exercise].uses_keras else ())
    return (
        "# Run this cell first. On Google Colab it installs the pinned packages this notebook needs\n"
        "# (if Colab then asks to restart the session, do so and run all cells again). Elsewhere it does\n"
        "# nothing: install exercises/requirements.txt instead, as the exercise page says.\n"
        "try:\n"
        "    import google.colab  # noqa: F401  (exists only on Colab)\n"
        "    ON_COLAB = True\n"
        "except ImportError:\n"
        "    ON_COLAB = False\n"
        "if ON_COLAB:\n"
        f"    %pip install -q {' '.join(pinned(packages))}\n"
    )


def checks_cell_source(tests):
    """The cell that defines ``check``: the helper of ``dlcourse/checks.py`` and the public tests."""
    helper = CHECKS_SOURCE.read_text().rstrip("\n")
    return (
        '# The public checks: run this cell once, then check("q1") etc. after each question,\n'
        "# and check.all() at the end. (Nothing to edit here.)\n"
        f"{helper}\n\n\n"
        f"PUBLIC_CHECKS = {json.dumps(tests, indent=4)}\n"
        "check = PublicChecks(PUBLIC_CHECKS, globals())\n"
    )


FINAL_MARKDOWN = """## Before you submit

Run the whole notebook (*Run All*; on Colab *Runtime → Run all*) and look at the summary the cell
below prints. Then save the notebook and upload the **`.ipynb` file** itself on the course's
submission page; any file name works. On Colab: *File → Download → Download .ipynb*, then upload
that file. There is nothing to export, and the autograder runs the notebook again itself."""


def student_form(nb, exercise, tests):
    """otter's notebook (student or autograder version) turned into what students get."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith(
            ("import otter", "# Initialize Otter")
        ):
            continue
        match = CHECK_CELL.match(cell.source) if cell.cell_type == "code" else None
        if match:
            cell.source = f'check("{match.group(1)}")'
            cell.outputs = []
            cell.metadata = nbformat.from_dict({"deletable": False, "editable": False})
        else:
            # everything else is the student's to edit, the Q5 cells included
            for key in ("deletable", "editable"):
                cell.metadata.pop(key, None)
        cells.append(cell)
    head = [
        nbformat.v4.new_code_cell(install_cell_source(exercise)),
        nbformat.v4.new_code_cell(checks_cell_source(tests)),
    ]
    for cell in head:
        cell.metadata = nbformat.from_dict(
            {"deletable": False, "editable": False, "jupyter": {"source_hidden": True}}
        )
    # the title stays on top, the set-up cells follow it
    first, rest = cells[:1], cells[1:]
    tail = [nbformat.v4.new_markdown_cell(FINAL_MARKDOWN), nbformat.v4.new_code_cell("check.all()")]
    tail[1].metadata = nbformat.from_dict({"deletable": False, "editable": False})
    nb.cells = first + head + rest + tail
    nb.metadata.pop("otter", None)
    nb.metadata["dlcourse"] = {"exercise": exercise}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{exercise}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def read_otter_notebook(path):
    """A notebook otter wrote (its cells may lack ids; ours get deterministic ones later)."""
    data = json.loads(Path(path).read_text())
    for i, cell in enumerate(data["cells"]):
        cell["id"] = f"cell-{i}"  # otter keeps some ids and drops others
    return nbformat.reads(json.dumps(data), as_version=4)


def run_otter_assign(solution_path, out_dir, run_tests):
    """``otter assign`` in a subprocess (it changes directory and starts kernels)."""
    cmd = [sys.executable, "-m", "otter", "assign"]
    if not run_tests:
        cmd.append("--no-run-tests")
    cmd += [str(solution_path), str(out_dir)]
    env = dict(os.environ, DLCOURSE_GRADING="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"otter assign failed for {solution_path}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def assign(exercise, root=REPO, run_tests=True, solutions_dir=REPO / "solutions"):
    """Generate every output of one exercise under ``root``; return the paths written."""
    root = Path(root)
    solution = Path(solutions_dir) / f"{exercise}.ipynb"
    with tempfile.TemporaryDirectory(prefix=f"assign-{exercise}-") as tmp:
        out = Path(tmp) / "out"
        run_otter_assign(solution, out, run_tests)

        # the test files come out of otter's zip; the zip itself is not kept (see above)
        zips = sorted((out / "autograder").glob(f"{exercise}-autograder_*.zip"))
        if len(zips) != 1:
            raise RuntimeError(f"expected one autograder zip from otter assign, found {zips}")
        tests_dir = root / "autograder" / exercise / "tests"
        tests_dir.mkdir(parents=True, exist_ok=True)
        for old in tests_dir.glob("*.py"):
            old.unlink()
        test_files, public = {}, {}
        with zipfile.ZipFile(zips[0]) as zf:
            for member in sorted(zf.namelist()):
                if member.startswith("tests/") and member.endswith(".py"):
                    name = Path(member).stem
                    text = zf.read(member).decode()
                    (tests_dir / f"{name}.py").write_text(text)
                    test_files[name] = tests_dir / f"{name}.py"
                    public[name] = public_tests(text)
        public = {name: public[name] for name in sorted(public, key=lambda q: int(q[1:]))}

        spec = questions_spec(exercise, solution, test_files)
        spec_path = root / "autograder" / exercise / "questions.json"
        spec_path.write_text(json.dumps(spec, indent=2) + "\n")

        nb = student_form(
            read_otter_notebook(out / "student" / f"{exercise}.ipynb"), exercise, public
        )
        nb_path = root / "exercises" / f"{exercise}.ipynb"
        nb_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, nb_path)

        solved = student_form(
            read_otter_notebook(out / "autograder" / f"{exercise}.ipynb"), exercise, public
        )
        solved_path = root / "_build" / "exercises" / f"{exercise}.solved.ipynb"
        solved_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(solved, solved_path)

    return {
        "notebook": nb_path,
        "tests": sorted(test_files.values()),
        "questions": spec_path,
        "solved": solved_path,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autograder.assign", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "exercises",
        nargs="*",
        default=list(EXERCISES),
        help=f"exercises to generate (default: {' '.join(EXERCISES)})",
    )
    parser.add_argument(
        "--root",
        default=str(REPO),
        help="write exercises/, autograder/ and _build/ under this folder",
    )
    parser.add_argument(
        "--no-run-tests",
        action="store_true",
        help="do not let otter check that the solutions pass their tests",
    )
    args = parser.parse_args(argv)
    for exercise in args.exercises:
        if exercise not in EXERCISES:
            parser.error(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
        written = assign(exercise, root=args.root, run_tests=not args.no_run_tests)
        print(
            f"{exercise}: {written['notebook']}, {len(written['tests'])} test files, "
            f"{written['questions']}, {written['solved']}"
        )


if __name__ == "__main__":
    main()
