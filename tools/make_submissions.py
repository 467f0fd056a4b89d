"""Write the submission corpus the grading tests use: ``python tools/make_submissions.py``.

Run ``python -m autograder.assign`` first (``make exercises`` runs both): it writes the solved
notebook ``_build/exercises/<exercise>.solved.ipynb`` in the student notebook's form. For each
exercise, ``tests/submissions/<exercise>/`` then gets

* ``solution.ipynb``: that solved notebook, as a student would submit it;
* ``student_unmodified.ipynb``: the student notebook exactly as handed out;
* ``correct_<what>.ipynb``: another correct implementation (another way of drawing the random
  order, another draw order, loops, float32, another network), which must score full marks;
* ``mistake_<what>.ipynb``: one classic mistake, which must lose exactly the questions it breaks.

Each variant is the solution with a few text substitutions in its code, each of which must match
exactly once. ``tests/test_exercises.py`` grades the folders through the real grading command and
holds the table of which questions each file must lose; it also runs this script into a temporary
folder and compares, so the committed corpus cannot go stale.

    python tools/make_submissions.py                       # from this checkout's _build/ into tests/submissions
    python tools/make_submissions.py --root R --out DIR    # from the assign output under R, into DIR
"""

import argparse
import copy
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent

GD_PERM = "        perm = rng.permutation(m)\n"

# exercise -> file stem -> [(text in the solution's code, replacement), ...]
VARIANTS = {
    "gradient_descent": {
        # ---- correct: other ways of drawing a uniformly random order, loops, float32
        "correct_choice_order": [
            (GD_PERM, "        perm = rng.choice(m, size=m, replace=False)\n")
        ],
        "correct_argsort_order": [(GD_PERM, "        perm = np.argsort(rng.random(m))\n")],
        "correct_shuffle_order": [
            (GD_PERM, "        perm = np.arange(m)\n        rng.shuffle(perm)\n")
        ],
        "correct_shuffled_rows": [
            (
                GD_PERM + "        for start in range(0, m, batch_size):\n"
                "            rows = perm[start:start + batch_size]\n"
                "            theta = theta - lr * linreg_grad(theta, X[rows], y[rows])\n",
                "        order = rng.permuted(np.arange(m))\n"
                "        X_epoch, y_epoch = X[order], y[order]\n"
                "        for start in range(0, m, batch_size):\n"
                "            stop = min(start + batch_size, m)\n"
                "            theta = theta - lr * linreg_grad(theta, X_epoch[start:stop], y_epoch[start:stop])\n",
            )
        ],
        "correct_loops": [
            (
                "    residual = X @ theta - y\n    return float(residual @ residual) / (2 * len(y))",
                "    total = 0.0\n    for i in range(len(y)):\n        r = sum(X[i, j] * theta[j] for j in range(len(theta))) - y[i]\n"
                "        total += r * r\n    return total / (2 * len(y))",
            ),
            (
                "    residual = X @ theta - y\n    return X.T @ residual / len(y)",
                "    grad = [0.0] * len(theta)\n    for i in range(len(y)):\n"
                "        r = sum(X[i, j] * theta[j] for j in range(len(theta))) - y[i]\n"
                "        for j in range(len(theta)):\n            grad[j] += X[i, j] * r / len(y)\n"
                "    return np.array(grad)",
            ),
        ],
        "correct_while_loop": [
            (
                "    for _ in range(max_iter):\n"
                "        x_new = x - lr * np.asarray(grad(x), dtype=float)\n"
                "        iterates.append(x_new)\n"
                "        if np.linalg.norm(x_new - x) <= tol:\n"
                "            break\n"
                "        x = x_new\n",
                "    step = np.inf\n"
                "    while len(iterates) <= max_iter and step > tol:\n"
                "        x_new = x - lr * np.asarray(grad(x), dtype=float)\n"
                "        step = np.linalg.norm(x_new - x)\n"
                "        iterates.append(x_new)\n"
                "        x = x_new\n",
            )
        ],
        "correct_float32": [
            (
                "    theta = np.array(theta0, dtype=float)\n    costs = np.empty(n_iters)\n",
                "    X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.float32)\n"
                "    theta = np.array(theta0, dtype=np.float32)\n    costs = np.empty(n_iters, dtype=np.float32)\n",
            ),
            (
                "    theta = np.array(theta0, dtype=float)\n    costs = np.empty(n_epochs)\n",
                "    X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.float32)\n"
                "    theta = np.array(theta0, dtype=np.float32)\n    costs = np.empty(n_epochs, dtype=np.float32)\n",
            ),
        ],
        # ---- mistakes
        "mistake_sign_error": [
            (
                "x_new = x - lr * np.asarray(grad(x), dtype=float)",
                "x_new = x + lr * np.asarray(grad(x), dtype=float)",
            )
        ],
        "mistake_last_iterate_dropped": [
            (
                "        iterates.append(x_new)\n        if np.linalg.norm(x_new - x) <= tol:\n            break\n",
                "        if np.linalg.norm(x_new - x) <= tol:\n            break\n        iterates.append(x_new)\n",
            )
        ],
        "mistake_stop_rule_off_by_one": [
            ("    for _ in range(max_iter):\n", "    for _ in range(max_iter - 1):\n")
        ],
        "mistake_strict_tolerance": [
            ("if np.linalg.norm(x_new - x) <= tol:", "if np.linalg.norm(x_new - x) < tol:")
        ],
        "mistake_step_max_norm": [
            ("if np.linalg.norm(x_new - x) <= tol:", "if np.max(np.abs(x_new - x)) <= tol:")
        ],
        "mistake_flattened_path": [
            ("    return np.array(iterates)\n", "    return np.array(iterates).ravel()\n")
        ],
        "mistake_missing_1_over_m": [("return X.T @ residual / len(y)", "return X.T @ residual")],
        "mistake_cost_without_half": [
            (
                "return float(residual @ residual) / (2 * len(y))",
                "return float(residual @ residual) / len(y)",
            )
        ],
        "mistake_cost_before_update": [
            (
                "        theta = theta - lr * linreg_grad(theta, X, y)\n        costs[k] = linreg_cost(theta, X, y)\n",
                "        costs[k] = linreg_cost(theta, X, y)\n        theta = theta - lr * linreg_grad(theta, X, y)\n",
            )
        ],
        "mistake_empty_costs": [
            (
                "        costs[k] = linreg_cost(theta, X, y)\n    return theta, costs\n",
                "        costs[k] = linreg_cost(theta, X, y)\n    return theta, costs[:0]\n",
            )
        ],
        "mistake_no_reshuffle": [
            (
                "    for epoch in range(n_epochs):\n" + GD_PERM,
                "    perm = rng.permutation(m)\n    for epoch in range(n_epochs):\n",
            )
        ],
        "mistake_rows_in_order": [(GD_PERM, "        perm = np.arange(m)\n")],
        "mistake_global_random_state": [(GD_PERM, "        perm = np.random.permutation(m)\n")],
        "mistake_ignores_given_rng": [
            ("    m = len(y)\n", "    m = len(y)\n    rng = np.random.default_rng(0)\n")
        ],
        "mistake_last_partial_batch_dropped": [
            (
                "for start in range(0, m, batch_size):",
                "for start in range(0, m - batch_size + 1, batch_size):",
            )
        ],
        "mistake_sum_over_batch": [
            (
                "theta = theta - lr * linreg_grad(theta, X[rows], y[rows])",
                "theta = theta - lr * len(rows) * linreg_grad(theta, X[rows], y[rows])",
            )
        ],
        "mistake_costs_column": [
            (
                "        costs[epoch] = linreg_cost(theta, X, y)\n    return theta, costs\n",
                "        costs[epoch] = linreg_cost(theta, X, y)\n    return theta, costs.reshape(-1, 1)\n",
            )
        ],
    },
    "genz_approximation": {
        # ---- correct: other draw orders and methods, float32, loops, another network
        "correct_predict_called_twice": [
            (
                "    diff = np.asarray(predict(x), dtype=float).reshape(-1) - np.asarray(f(x), dtype=float).reshape(-1)\n"
                "    err = np.abs(diff)\n    return float(err.mean()), float(err.max())\n",
                "    truth = np.asarray(f(x), dtype=float).reshape(-1)\n"
                "    mean_error = np.mean(np.abs(np.asarray(predict(x), dtype=float).reshape(-1) - truth))\n"
                "    max_error = np.max(np.abs(np.asarray(predict(x), dtype=float).reshape(-1) - truth))\n"
                "    return float(mean_error), float(max_error)\n",
            )
        ],
        "correct_w_drawn_first": [
            (
                "    c = rng.uniform(size=d)\n    w = rng.uniform(size=d)\n",
                "    w = rng.uniform(size=d)\n    c = rng.uniform(size=d)\n",
            )
        ],
        "correct_one_draw": [
            (
                "    c = rng.uniform(size=d)\n    w = rng.uniform(size=d)\n",
                "    c, w = rng.random((2, d))\n",
            )
        ],
        "correct_float32": [
            (
                "    x = np.asarray(x, dtype=float)\n    c = np.asarray(c, dtype=float)\n    w = np.asarray(w, dtype=float)\n",
                "    x = np.asarray(x, dtype=np.float32)\n    c = np.asarray(c, dtype=np.float32)\n    w = np.asarray(w, dtype=np.float32)\n",
            )
        ],
        "correct_loop_over_points": [
            (
                "    diff = np.asarray(predict(x), dtype=float).reshape(-1) - np.asarray(f(x), dtype=float).reshape(-1)\n"
                "    err = np.abs(diff)\n",
                "    pred, true = np.ravel(predict(x)), np.ravel(f(x))\n"
                "    err = np.array([abs(float(pred[k]) - float(true[k])) for k in range(n_test)])\n",
            )
        ],
        "correct_relu_three_layers_minibatches": [
            (
                '        keras.layers.Dense(64, activation="tanh"),\n        keras.layers.Dense(64, activation="tanh"),\n',
                '        keras.layers.Dense(64, activation="relu"),\n        keras.layers.Dense(64, activation="relu"),\n'
                '        keras.layers.Dense(64, activation="relu"),\n',
            ),
            (
                "    n_steps = 400\n    for _ in range(n_steps):  # one full-batch Adam step each\n        model.train_on_batch(x, target)\n",
                "    model.fit(x, target, batch_size=64, epochs=60, verbose=0)\n",
            ),
        ],
        # ---- mistakes
        "mistake_product_peak_without_reciprocal": [
            (
                "return 1.0 / np.prod(c**-2.0 + (x - w) ** 2, axis=1)",
                "return np.prod(c**-2.0 + (x - w) ** 2, axis=1)",
            )
        ],
        "mistake_corner_peak_exponent": [
            ("return (1.0 + x @ c) ** (-(d + 1.0))", "return (1.0 + x @ c) ** (-d)")
        ],
        "mistake_discontinuous_cut_on_all_coordinates": [
            ("inside = np.all(x[:, :k] <= w[:k], axis=1)", "inside = np.all(x <= w, axis=1)")
        ],
        "mistake_gaussian_column": [
            (
                "return np.exp(-np.sum(c**2 * (x - w) ** 2, axis=1))",
                "return np.exp(-np.sum(c**2 * (x - w) ** 2, axis=1, keepdims=True))",
            )
        ],
        "mistake_unnormalised_params": [("return c * (b / c.sum()), w / w.sum()", "return c, w")],
        "mistake_c_sums_to_one": [
            ("return c * (b / c.sum()), w / w.sum()", "return c / c.sum(), w / w.sum()")
        ],
        "mistake_w_equals_c": [("    w = rng.uniform(size=d)\n", "    w = c.copy()\n")],
        "mistake_signed_errors": [("err = np.abs(diff)", "err = diff")],
        "mistake_rmse": [
            (
                "return float(err.mean()), float(err.max())",
                "return float(np.sqrt(np.mean(err**2))), float(err.max())",
            )
        ],
        "mistake_points_not_from_rng": [
            ("x = rng.uniform(size=(n_test, d))", "x = np.random.uniform(size=(n_test, d))")
        ],
        "mistake_underfit_network": [("n_steps = 400", "n_steps = 3")],
        "mistake_predict_column": [
            (
                "return keras.ops.convert_to_numpy(out).reshape(-1) * y_std + y_mean",
                "return keras.ops.convert_to_numpy(out) * y_std + y_mean",
            )
        ],
    },
    "euler_equation": {
        # ---- correct: a loop over the quadrature nodes (and the states), float32
        "correct_loop_over_nodes": [
            (
                "    z_next = np.exp(rho * np.log(z)[:, None] + sigma * EPS_NODES)  # (n, 5): one column per node\n"
                "    k_next = k_next[:, None] * np.ones_like(z_next)\n"
                "    share_next = np.asarray(policy(k_next, z_next), dtype=float)\n"
                "    c_next = (1.0 - share_next) * z_next * k_next**alpha\n"
                "    gross_return = alpha * z_next * k_next ** (alpha - 1.0)\n"
                "    expected = np.sum(EPS_WEIGHTS * gross_return / c_next, axis=1)\n",
                "    expected = np.zeros_like(c)\n"
                "    for node, weight in zip(EPS_NODES, EPS_WEIGHTS):\n"
                "        z_next = np.exp(rho * np.log(z) + sigma * node)\n"
                "        c_next = (1.0 - np.asarray(policy(k_next, z_next), dtype=float)) * z_next * k_next**alpha\n"
                "        expected += weight * alpha * z_next * k_next ** (alpha - 1.0) / c_next\n",
            ),
            (
                "    return np.sum(weights * np.asarray(g(z_next), dtype=float), axis=1)\n",
                "    return np.array([sum(weights[j] * float(g(z_next[i, j])) for j in range(n_nodes))\n"
                "                     for i in range(len(log_z))])\n",
            ),
        ],
        "correct_float32": [
            (
                "    k = np.asarray(k, dtype=float)\n    z = np.asarray(z, dtype=float)\n",
                "    k = np.asarray(k, dtype=np.float32)\n    z = np.asarray(z, dtype=np.float32)\n",
            ),
            (
                "    share = np.asarray(policy(k, z), dtype=float)\n",
                "    share = np.asarray(policy(k, z), dtype=np.float32)\n",
            ),
            (
                "    log_z = np.log(np.asarray(z, dtype=float))\n",
                "    log_z = np.log(np.asarray(z, dtype=np.float32))\n",
            ),
        ],
        # ---- mistakes
        "mistake_consumption_timing": [
            (
                "expected = np.sum(EPS_WEIGHTS * gross_return / c_next, axis=1)",
                "expected = np.sum(EPS_WEIGHTS * gross_return / c[:, None], axis=1)",
            )
        ],
        "mistake_missing_beta": [
            ("return 1.0 - 1.0 / (beta * c * expected)", "return 1.0 - 1.0 / (c * expected)")
        ],
        "mistake_unweighted_expectation": [
            (
                "return np.sum(weights * np.asarray(g(z_next), dtype=float), axis=1)",
                "return np.mean(np.asarray(g(z_next), dtype=float), axis=1)",
            )
        ],
        "mistake_weights_not_normalised": [
            (
                "eps, weights = np.sqrt(2.0) * x, w / np.sqrt(np.pi)",
                "eps, weights = np.sqrt(2.0) * x, w",
            )
        ],
        "mistake_undertrained_policy": [("n_steps = 600", "n_steps = 20")],
    },
}


def plant(nb, substitutions):
    """A copy of ``nb`` with each ``(old, new)`` applied where ``old`` occurs exactly once."""
    planted = copy.deepcopy(nb)
    for old, new in substitutions:
        hits = [c for c in planted.cells if c.cell_type == "code" and old in c.source]
        if len(hits) != 1 or hits[0].source.count(old) != 1:
            raise ValueError(
                f"expected {old!r} exactly once in the solution's code, "
                f"found it in {len(hits)} cells"
            )
        hits[0].source = hits[0].source.replace(old, new)
    return planted


def submissions(exercise, root=REPO):
    """File name -> notebook for every submission of one exercise's corpus."""
    root = Path(root)
    solved = root / "_build" / "exercises" / f"{exercise}.solved.ipynb"
    if not solved.exists():
        raise SystemExit(f"{solved} is missing: run python -m autograder.assign first")
    solution = nbformat.read(solved, as_version=4)
    out = {
        "solution.ipynb": solution,
        "student_unmodified.ipynb": nbformat.read(
            root / "exercises" / f"{exercise}.ipynb", as_version=4
        ),
    }
    for stem, substitutions in VARIANTS[exercise].items():
        out[f"{stem}.ipynb"] = plant(solution, substitutions)
    return out


def write(out_dir, root=REPO):
    """Write every exercise's corpus under ``out_dir/<exercise>/``; return the paths."""
    paths = []
    for exercise in VARIANTS:
        folder = Path(out_dir) / exercise
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.ipynb"):
            old.unlink()
        for file_name, nb in submissions(exercise, root).items():
            nbformat.write(nb, folder / file_name)
            paths.append(folder / file_name)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root",
        default=str(REPO),
        help="folder holding exercises/ and _build/exercises/ (assign's --root)",
    )
    parser.add_argument(
        "--out",
        default=str(REPO / "tests" / "submissions"),
        help="write <exercise>/*.ipynb under this folder",
    )
    args = parser.parse_args(argv)
    for path in write(args.out, args.root):
        print(path)


if __name__ == "__main__":
    sys.exit(main())
