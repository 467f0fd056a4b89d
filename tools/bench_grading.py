"""Benchmark the grader (not a unit test): ``.venv/bin/python tools/bench_grading.py``.

Measures, for one solution notebook of an exercise:

1. ``nbclient``: start a kernel and execute the notebook (the plain baseline), ``--reps`` times;
2. ``grade``: grade the same notebook through the hardened path (sandbox + tests), one
   submission at a time, ``--reps`` times; the overhead is (2) / (1) - 1 (target < 20 %);
3. ``folder``: wall time to grade ``--count`` copies (default 220) with ``--jobs`` workers
   (default: all cores); with fewer copies the 220-submission time is extrapolated.

Writes ``_build/bench/grading-<exercise>.json``. Default notebook: the exercise's solution
notebook when one is found, else the grader's fixture exercise.
"""
import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from autograder import grade, sandbox  # noqa: E402


def find_notebook(exercise):
    for pattern in (f"solutions/{exercise}*.ipynb", f"solutions/**/{exercise}*.ipynb",
                    f"autograder/{exercise}/**/*solution*.ipynb", f"exercises/{exercise}*.ipynb"):
        hits = sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True))
        if hits:
            return hits[0]
    return None


def fixture_notebook(folder):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from fixtures.notebooks import FIXTURE_EXERCISES, SOLUTION, write_notebook

    os.environ["DLCOURSE_EXERCISES_DIR"] = FIXTURE_EXERCISES
    return write_notebook(os.path.join(folder, "toy.ipynb"), SOLUTION)


def time_nbclient(path, reps):
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(reps):
        nb = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as cwd:
            start = time.perf_counter()
            NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": cwd}}).execute()
            times.append(time.perf_counter() - start)
    return times


def time_grade(path, exercise, reps, limits):
    times, results = [], []
    for _ in range(reps):
        start = time.perf_counter()
        result = grade.grade_file(path, exercise, limits)
        times.append(time.perf_counter() - start)
        results.append((result["status"], result["total"]))
    return times, results


def time_folder(path, exercise, count, jobs, limits):
    with tempfile.TemporaryDirectory() as tmp:
        subs = os.path.join(tmp, "subs")
        os.makedirs(subs)
        suffix = os.path.splitext(path)[1]
        for i in range(count):
            shutil.copy(path, os.path.join(subs, f"student{i:03d}{suffix}"))
        start = time.perf_counter()
        rows = grade.grade_folder(subs, os.path.join(tmp, "grades.csv"), exercise, jobs, limits,
                                  progress=True)
        wall = time.perf_counter() - start
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return wall, statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exercise", default="gradient_descent")
    parser.add_argument("--notebook")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--count", type=int, default=220)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tmp = tempfile.mkdtemp()
    exercise, path = args.exercise, args.notebook or find_notebook(args.exercise)
    if path is None or exercise not in grade.known_exercises():
        print(f"no solution notebook / tests for {exercise}: using the fixture exercise 'toy'")
        exercise, path = "toy", fixture_notebook(tmp)
    limits = sandbox.Limits()
    nb_times = time_nbclient(path, args.reps)
    grade_times, results = time_grade(path, exercise, args.reps, limits)
    wall, statuses = time_folder(path, exercise, args.count, args.jobs, limits)
    base, graded = statistics.median(nb_times), statistics.median(grade_times)
    report = {
        "exercise": exercise, "notebook": os.path.relpath(path, ROOT) if path.startswith(ROOT) else path,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "sandbox": sandbox.detect_mode()},
        "nbclient_seconds": nb_times, "grade_seconds": grade_times, "grade_results": results,
        "median_nbclient_s": round(base, 3), "median_grade_s": round(graded, 3),
        "overhead_vs_nbclient": round(graded / base - 1, 3),
        "folder": {"count": args.count, "jobs": args.jobs, "wall_s": round(wall, 1),
                   "statuses": statuses,
                   "extrapolated_220_s": round(wall * 220 / args.count, 1)},
    }
    out_dir = os.path.join(ROOT, "_build", "bench")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, f"grading-{exercise}.json")
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k: report[k] for k in ("median_nbclient_s", "median_grade_s",
                                             "overhead_vs_nbclient", "folder")}, indent=1))
    print("->", out)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
