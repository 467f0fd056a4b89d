"""Turn the solution notebooks into what students and the grader get: ``python -m autograder.assign``.

For each exercise ``<name>`` (``solutions/<name>.ipynb``, written in otter-assign format) it runs
``otter assign`` into a temporary folder and copies out

* the student notebook to ``exercises/<name>.ipynb`` (solutions and hidden tests removed, public
  tests kept in its metadata for ``grader.check``), with ``metadata["dlcourse"]`` naming the
  exercise and with deterministic cell ids;
* every test file, public and hidden, to ``autograder/<name>/tests/q*.py``;
* the questions in order, with points and kind (``auto``/``manual``), to
  ``autograder/<name>/questions.json``;
* otter's Gradescope-style autograder zip to ``_build/autograder/<name>-autograder.zip``
  (a build product, not committed).

Everything but the zip is committed and must never be edited by hand;
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
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parent.parent
EXERCISES = ("gradient_descent", "genz_approximation")


def question_configs(solution_path):
    """The ``# BEGIN QUESTION`` configurations of a solution notebook, in order."""
    nb = nbformat.read(solution_path, as_version=4)
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
        questions.append({
            "name": name,
            "points": config.get("points", 1),
            "kind": "manual" if manual else "auto",
        })
    return {
        "exercise": exercise,
        "questions": questions,
        "total_points": sum(q["points"] for q in questions),
        "autograded_points": sum(q["points"] for q in questions if q["kind"] == "auto"),
    }


def student_notebook(path, exercise):
    """otter's student notebook with our metadata and deterministic cell ids."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata["dlcourse"] = {"exercise": exercise}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{exercise}-{i:02d}"
    nbformat.validate(nb)
    return nb


def run_otter_assign(solution_path, out_dir, run_tests):
    """``otter assign`` in a subprocess (it changes directory and starts kernels)."""
    cmd = [sys.executable, "-m", "otter", "assign"]
    if not run_tests:
        cmd.append("--no-run-tests")
    cmd += [str(solution_path), str(out_dir)]
    env = dict(os.environ, DLCOURSE_GRADING="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"otter assign failed for {solution_path}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def assign(exercise, root=REPO, run_tests=True, solutions_dir=REPO / "solutions"):
    """Generate every output of one exercise under ``root``; return the paths written."""
    root = Path(root)
    solution = Path(solutions_dir) / f"{exercise}.ipynb"
    with tempfile.TemporaryDirectory(prefix=f"assign-{exercise}-") as tmp:
        out = Path(tmp) / "out"
        run_otter_assign(solution, out, run_tests)

        zips = sorted((out / "autograder").glob(f"{exercise}-autograder_*.zip"))
        if len(zips) != 1:
            raise RuntimeError(f"expected one autograder zip from otter assign, found {zips}")

        tests_dir = root / "autograder" / exercise / "tests"
        if tests_dir.exists():
            shutil.rmtree(tests_dir)
        tests_dir.mkdir(parents=True)
        test_files = {}
        with zipfile.ZipFile(zips[0]) as zf:
            for member in sorted(zf.namelist()):
                if member.startswith("tests/") and member.endswith(".py"):
                    name = Path(member).stem
                    (tests_dir / f"{name}.py").write_bytes(zf.read(member))
                    test_files[name] = tests_dir / f"{name}.py"

        spec = questions_spec(exercise, solution, test_files)
        spec_path = root / "autograder" / exercise / "questions.json"
        spec_path.write_text(json.dumps(spec, indent=2) + "\n")

        nb = student_notebook(out / "student" / f"{exercise}.ipynb", exercise)
        nb_path = root / "exercises" / f"{exercise}.ipynb"
        nb_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, nb_path)

        zip_path = root / "_build" / "autograder" / f"{exercise}-autograder.zip"
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(zips[0], zip_path)

    return {"notebook": nb_path, "tests": sorted(test_files.values()), "questions": spec_path,
            "zip": zip_path}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.assign",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("exercises", nargs="*", default=list(EXERCISES),
                        help=f"exercises to generate (default: {' '.join(EXERCISES)})")
    parser.add_argument("--root", default=str(REPO),
                        help="write exercises/, autograder/ and _build/ under this folder")
    parser.add_argument("--no-run-tests", action="store_true",
                        help="do not let otter check that the solutions pass their tests")
    args = parser.parse_args(argv)
    for exercise in args.exercises:
        if exercise not in EXERCISES:
            parser.error(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
        written = assign(exercise, root=args.root, run_tests=not args.no_run_tests)
        print(f"{exercise}: {written['notebook']}, {len(written['tests'])} test files, "
              f"{written['questions']}, {written['zip']}")


if __name__ == "__main__":
    main()
