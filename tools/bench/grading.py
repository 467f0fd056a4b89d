"""Benchmark the grader (not a unit test): ``make bench-grading`` (``python -m tools.bench.grading``).

Two parts, written together to ``_build/bench/grading.json`` and printed as a table:

1. **gradient descent** (the solution notebook): ``nbclient`` executing it plainly
   (``--reps`` times) against grading it through the hardened path one at a time (the
   overhead), and ``--count`` copies (default 220) graded end to end with ``--jobs`` workers.
2. **Genz**: a realistic correct submission whose ``fit_network`` is written differently
   from the solution (a Keras MLP 2x64 tanh trained with ``model.fit`` for 1500 full-batch
   epochs). Measured: one plain call of that ``fit_network`` on the data of the hidden
   accuracy test, in a fresh process per installed backend (TensorFlow, JAX) with the
   sandbox's one-thread settings; grading one such submission (the ratio to the fastest
   plain fit is the figure of merit, target <= 3); and ``--genz-sample`` copies graded
   with ``--jobs`` workers, from which 220 are extrapolated (labelled as such) unless
   ``--genz-count`` asks for the full number.

Either part can be skipped with ``--skip gd`` / ``--skip genz``.
"""

import argparse
import collections
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from autograder import run as engine
from autograder import sandbox, scoring

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CLASS_SIZE = 220

GENZ_FIT_NETWORK = '''\
def fit_network(x, y, seed=0):
    """Fit a 2x64 tanh network with model.fit; return predict(x_new) -> shape (m,)."""
    keras.utils.set_random_seed(seed)
    inputs = np.asarray(x, dtype="float32")
    targets = np.asarray(y, dtype="float32").ravel()
    centre, spread = targets.mean(), targets.std() + 1e-8
    layers = [keras.Input(shape=(inputs.shape[1],))]
    layers += [keras.layers.Dense(64, activation="tanh") for _ in range(2)]
    net = keras.Sequential(layers + [keras.layers.Dense(1)])
    net.compile(optimizer=keras.optimizers.Adam(0.005), loss="mean_squared_error")
    net.fit(inputs, (targets - centre) / spread, epochs=1500, batch_size=len(inputs),
            verbose=0, shuffle=False)

    def predict(x_new):
        scaled = net.predict(np.asarray(x_new, dtype="float32"), verbose=0, batch_size=4096)
        return scaled.ravel() * spread + centre

    return predict
'''


# --------------------------------------------------------------------------- notebooks


def solution_submission(exercise):
    path = os.path.join(ROOT, "tests", "submissions", exercise, "solution.ipynb")
    return path if os.path.exists(path) else None


def genz_submission(folder):
    """The Genz solution submission with its fit_network replaced by GENZ_FIT_NETWORK."""
    import nbformat

    source = solution_submission("genz_approximation")
    nb = nbformat.read(source, as_version=4)
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "def fit_network" in cell.source:
            cell.source = GENZ_FIT_NETWORK
            replaced += 1
    if replaced != 1:
        raise SystemExit(f"{source}: expected one fit_network cell, found {replaced}")
    path = os.path.join(folder, "genz_model_fit.ipynb")
    nbformat.write(nb, path)
    return path


PLAIN_FIT = """
import os, sys, time
import numpy as np
import keras
from dlcourse.genz import genz, genz_params
exec(sys.argv[1])
rng = np.random.default_rng(2024)
c, w = genz_params('gaussian', 2, rng)
x = rng.uniform(size=(500, 2))
start, cpu = time.perf_counter(), time.process_time()
predict = fit_network(x, genz('gaussian', x, c, w), seed=0)
predict(rng.uniform(size=(2000, 2)))
print(time.perf_counter() - start, time.process_time() - cpu)
"""


def time_plain_fit(backend):
    """``(wall, cpu)`` seconds of one fit_network call in a fresh process on ``backend``
    (one thread, as in the sandbox); None when the backend is not installed."""
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="3",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        TF_NUM_INTRAOP_THREADS="1",
        TF_NUM_INTEROP_THREADS="1",
        XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    )
    proc = subprocess.run(
        [sys.executable, "-c", PLAIN_FIT, GENZ_FIT_NETWORK],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        print(f"plain fit on {backend} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    wall, cpu = proc.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


# --------------------------------------------------------------------------- timings


def time_nbclient(path, reps):
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(reps):
        nb = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as cwd:
            start = time.perf_counter()
            NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": cwd}},
            ).execute()
            times.append(time.perf_counter() - start)
    return times


def time_grade(path, exercise, reps, limits, mode):
    times, results = [], []
    for _ in range(reps):
        start = time.perf_counter()
        result = scoring.grade_file(path, exercise, limits, mode=mode)
        times.append(time.perf_counter() - start)
        results.append(
            {
                "status": result.status,
                "total": result.total,
                "backend": result.backend,
                "reason": result.reason,
            }
        )
    return times, results


def time_folder(path, exercise, count, jobs, limits, mode):
    with tempfile.TemporaryDirectory() as tmp:
        subs = os.path.join(tmp, "subs")
        os.makedirs(subs)
        suffix = os.path.splitext(path)[1]
        for i in range(count):
            shutil.copy(path, os.path.join(subs, f"student{i:03d}{suffix}"))
        start = time.perf_counter()
        results = engine.grade_folder(
            subs, os.path.join(tmp, "grades.csv"), exercise, jobs, limits, progress=True, mode=mode
        )
        wall = time.perf_counter() - start
    problems = collections.Counter(
        f"{r.status}: {r.reason[:120]}" for r in results if r.status != "ok"
    )
    return wall, dict(engine.status_counts(results)), sorted({r.total for r in results}), problems


def folder_figures(wall, count, jobs, statuses, totals, problems):
    """Wall time of a graded folder and of 220 submissions: measured, or extrapolated
    linearly from ``count`` (the label says which)."""
    return {
        "count": count,
        "jobs": jobs,
        "wall_s": round(wall, 1),
        "statuses": statuses,
        "totals": totals,
        "not_ok": dict(problems),
        f"{CLASS_SIZE}_s": round(wall * CLASS_SIZE / count, 1),
        f"{CLASS_SIZE}_is": "measured"
        if count >= CLASS_SIZE
        else f"extrapolated linearly from {count} graded",
    }


# --------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--count", type=int, default=CLASS_SIZE, help="gradient-descent copies graded end to end"
    )
    parser.add_argument(
        "--genz-count",
        type=int,
        default=8,
        help="Genz copies graded end to end (220 extrapolated from them)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--skip", action="append", default=[], choices=("gd", "genz"))
    parser.add_argument(
        "--plain-backends",
        default="tensorflow,jax",
        help="backends to time the plain Genz fit on (default: both)",
    )
    parser.add_argument("--unsafe-no-isolation", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    limits = sandbox.Limits()
    try:
        mode = engine.choose_mode(args.unsafe_no_isolation)
        engine.preflight(mode, limits)
    except engine.SandboxUnavailable as exc:
        raise SystemExit(f"refusing to benchmark: {exc}") from None
    report = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "sandbox": mode,
            "load_average_at_start": os.getloadavg(),
        }
    }
    tmp = tempfile.mkdtemp()
    try:
        if "gd" not in args.skip:
            report["gradient_descent"] = bench_gradient_descent(args, limits, mode)
        if "genz" not in args.skip:
            report["genz_approximation"] = bench_genz(args, limits, mode, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    out_dir = os.path.join(ROOT, "_build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "grading.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(table(report))
    print("->", out)


def bench_gradient_descent(args, limits, mode):
    path = solution_submission("gradient_descent")
    nb_times = time_nbclient(path, args.reps)
    grade_times, results = time_grade(path, "gradient_descent", args.reps, limits, mode)
    folder = time_folder(path, "gradient_descent", args.count, args.jobs, limits, mode)
    base, graded = statistics.median(nb_times), statistics.median(grade_times)
    return {
        "notebook": os.path.relpath(path, ROOT),
        "nbclient_s": nb_times,
        "grade_s": grade_times,
        "grade_results": results,
        "median_nbclient_s": round(base, 2),
        "median_grade_s": round(graded, 2),
        "overhead_vs_nbclient": round(graded / base - 1, 3),
        "folder": folder_figures(*folder[:1], args.count, args.jobs, *folder[1:]),
    }


def bench_genz(args, limits, mode, tmp):
    path = genz_submission(tmp)
    plain = {b: time_plain_fit(b) for b in args.plain_backends.split(",")}
    timed = {b: t for b, t in plain.items() if t is not None}
    fastest = min(timed, key=lambda b: timed[b][0])
    grade_times, results = time_grade(path, "genz_approximation", 1, limits, mode)
    folder = time_folder(path, "genz_approximation", args.genz_count, args.jobs, limits, mode)
    return {
        "submission": "the solution with fit_network = Keras MLP 2x64 tanh, model.fit "
        "1500 full-batch epochs",
        "fit_network": GENZ_FIT_NETWORK,
        "plain_fit_s": {b: t and t[0] for b, t in plain.items()},
        "plain_fit_cpu_s": {b: t and t[1] for b, t in plain.items()},
        "fastest_backend": fastest,
        "grade_s": grade_times,
        "grade_results": results,
        "ratio_grade_to_fastest_plain_fit": round(grade_times[0] / timed[fastest][0], 2),
        "folder": folder_figures(*folder[:1], args.genz_count, args.jobs, *folder[1:]),
    }


def table(report):
    machine = report["machine"]
    lines = [
        f"sandbox {machine['sandbox']}, {machine['cores']} cores, load average "
        f"{machine['load_average_at_start'][0]:.1f} at start, "
        f"{machine['load_average_at_end'][0]:.1f} at the end"
    ]
    gd = report.get("gradient_descent")
    if gd:
        lines.append(
            f"gradient descent: plain nbclient {gd['median_nbclient_s']} s, graded "
            f"{gd['median_grade_s']} s ({gd['overhead_vs_nbclient']:+.0%})"
        )
        lines.append(_folder_line(gd["folder"]))
    genz = report.get("genz_approximation")
    if genz:
        plain = ", ".join(
            f"{b} {t:.1f} s" if t else f"{b} n/a" for b, t in genz["plain_fit_s"].items()
        )
        lines.append(f"genz (model.fit, 1500 epochs): one plain fit: {plain}")
        lines.append(
            f"  graded in {genz['grade_s'][0]:.1f} s on {genz['grade_results'][0]['backend']}"
            f" = {genz['ratio_grade_to_fastest_plain_fit']}x the fastest plain fit "
            "(target <= 3)"
        )
        lines.append(_folder_line(genz["folder"]))
    return "\n".join(lines)


def _folder_line(f):
    n = CLASS_SIZE
    return (
        f"  {f['count']} graded on {f['jobs']} jobs in {f['wall_s']} s ({f['statuses']}) -> "
        f"{n}: {f[f'{n}_s'] / 60:.1f} min ({f[f'{n}_is']})"
    )


if __name__ == "__main__":
    main()
