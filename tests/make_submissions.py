"""Write the planted submissions the grading tests use: ``python tests/make_submissions.py``.

For each exercise, ``tests/submissions/<exercise>/`` gets

* ``solution.ipynb``: the solution, as a student would submit it (the notebook otter assign makes
  for the autograder, carrying the student notebook's metadata, so no hidden tests);
* ``student_unmodified.ipynb``: the student notebook exactly as handed out;
* ``mistake_<what>.ipynb``: the solution with exactly one classic mistake planted by a single text
  substitution in its code.

``MISTAKES`` also says which questions each mistake must cost; ``tests/test_exercises.py`` grades
the folder and checks those scores. Run this script again whenever a solution notebook changes
(after ``python -m autograder.assign``); ``tests/test_exercises.py`` fails while the folder is stale.
"""
import copy
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "submissions"

# exercise -> mistake name -> (text in the solution's code, replacement, questions it breaks)
MISTAKES = {
    "gradient_descent": {
        "sign_error": (
            "x_new = x - lr * np.asarray(grad(x), dtype=float)",
            "x_new = x + lr * np.asarray(grad(x), dtype=float)",
            {"q1"},
        ),
        "last_iterate_dropped": (
            "        iterates.append(x_new)\n"
            "        if np.linalg.norm(x_new - x) <= tol:\n"
            "            break\n",
            "        if np.linalg.norm(x_new - x) <= tol:\n"
            "            break\n"
            "        iterates.append(x_new)\n",
            {"q1"},
        ),
        # linreg_grad/linreg_cost feed batch_gd and minibatch_sgd, so q3 and q4 fail too.
        "missing_1_over_m": (
            "return X.T @ residual / len(y)",
            "return X.T @ residual",
            {"q2", "q3", "q4"},
        ),
        "cost_without_half": (
            "return float(residual @ residual) / (2 * len(y))",
            "return float(residual @ residual) / len(y)",
            {"q2", "q3", "q4"},
        ),
        "cost_before_update": (
            "        theta = theta - lr * linreg_grad(theta, X, y)\n"
            "        costs[k] = linreg_cost(theta, X, y)\n",
            "        costs[k] = linreg_cost(theta, X, y)\n"
            "        theta = theta - lr * linreg_grad(theta, X, y)\n",
            {"q3"},
        ),
        "no_reshuffle": (
            "    for epoch in range(n_epochs):\n"
            "        perm = rng.permutation(m)\n",
            "    perm = rng.permutation(m)\n"
            "    for epoch in range(n_epochs):\n",
            {"q4"},
        ),
        "last_partial_batch_dropped": (
            "for start in range(0, m, batch_size):",
            "for start in range(0, m - batch_size + 1, batch_size):",
            {"q4"},
        ),
    },
    "genz_approximation": {
        "product_peak_without_reciprocal": (
            "return 1.0 / np.prod(c**-2.0 + (x - w) ** 2, axis=1)",
            "return np.prod(c**-2.0 + (x - w) ** 2, axis=1)",
            {"q1"},
        ),
        "corner_peak_exponent": (
            "return (1.0 + x @ c) ** (-(d + 1.0))",
            "return (1.0 + x @ c) ** (-d)",
            {"q1"},
        ),
        "unnormalised_params": (
            "return c * (b / c.sum()), w / w.sum()",
            "return c, w",
            {"q2"},
        ),
        "params_drawn_in_wrong_order": (
            "    c = rng.uniform(size=d)\n"
            "    w = rng.uniform(size=d)\n",
            "    w = rng.uniform(size=d)\n"
            "    c = rng.uniform(size=d)\n",
            {"q2"},
        ),
        "signed_errors": (
            "err = np.abs(diff)",
            "err = diff",
            {"q3"},
        ),
        "underfit_network": (
            "n_steps = 400",
            "n_steps = 3",
            {"q4"},
        ),
    },
}


def solution_as_submission(exercise, tmp):
    """The autograder notebook from otter assign, with the student notebook's metadata."""
    out = Path(tmp) / exercise
    subprocess.run(
        [sys.executable, "-m", "otter", "assign", "--no-run-tests",
         str(REPO / "solutions" / f"{exercise}.ipynb"), str(out)],
        cwd=REPO, check=True, capture_output=True)
    nb = nbformat.read(out / "autograder" / f"{exercise}.ipynb", as_version=4)
    student = nbformat.read(REPO / "exercises" / f"{exercise}.ipynb", as_version=4)
    nb.metadata = copy.deepcopy(student.metadata)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{exercise}-{i:02d}"
    return nb


def plant(nb, old, new):
    """A copy of ``nb`` with ``old`` replaced by ``new`` in the one code cell that holds it."""
    hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and old in c.source]
    if len(hits) != 1 or nb.cells[hits[0]].source.count(old) != 1:
        raise ValueError(f"expected {old!r} exactly once in the solution's code, found {len(hits)} cells")
    planted = copy.deepcopy(nb)
    cell = planted.cells[hits[0]]
    cell.source = cell.source.replace(old, new)
    return planted


def submissions(exercise, tmp):
    """File name -> notebook for every planted submission of one exercise."""
    solution = solution_as_submission(exercise, tmp)
    out = {
        "solution.ipynb": solution,
        "student_unmodified.ipynb": nbformat.read(REPO / "exercises" / f"{exercise}.ipynb", as_version=4),
    }
    for name, (old, new, _) in MISTAKES[exercise].items():
        out[f"mistake_{name}.ipynb"] = plant(solution, old, new)
    return out


def write(root=OUT):
    """Write all planted submissions under ``root/<exercise>/``; return the paths."""
    root = Path(root)
    paths = []
    with tempfile.TemporaryDirectory(prefix="submissions-") as tmp:
        for exercise in MISTAKES:
            folder = root / exercise
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("*.ipynb"):
                old.unlink()
            for file_name, nb in submissions(exercise, tmp).items():
                nbformat.write(nb, folder / file_name)
                paths.append(folder / file_name)
    return paths


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
