"""Gradescope autograder: build the upload zip, and grade inside Gradescope's container.

``python -m autograder.gradescope <exercise>`` writes
``_build/autograder/<exercise>-gradescope.zip`` holding ``setup.sh`` (installs bubblewrap
and the Python requirements), ``run_autograder`` and this package with the exercise's
tests. On Gradescope, ``run_autograder`` calls ``python3 -m autograder.gradescope run
<exercise>``, which grades ``/autograder/submission`` through the same hardened path as
``autograder.grade`` (sandbox, unprivileged uid, limits) and writes
``/autograder/results/results.json``. Where bubblewrap cannot create namespaces (some
container set-ups), the sandbox falls back to ``setuid`` mode: the student's process
still runs as an unprivileged uid with the same limits, and ``/autograder`` is made
unreadable to it (mode 0700) before grading; the results' output says which mode ran.
"""
import argparse
import json
import os
import re
import sys
import zipfile

from . import grade, sandbox, submissions

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PACKAGE_FILES = ("__init__.py", "channel.py", "harness.py", "sandbox.py", "grade.py",
                 "sheet.py", "submissions.py", "gradescope.py")
REQUIREMENTS = ("numpy", "scipy", "pandas", "matplotlib", "otter-grader", "psutil", "tqdm",
                "nbformat", "tensorflow-cpu", "keras", "h5py")
KERAS_FREE = ("numpy", "scipy", "pandas", "matplotlib", "otter-grader", "psutil", "tqdm",
              "nbformat")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends bubblewrap python3 python3-pip
python3 -m pip install --no-cache-dir -r /autograder/source/requirements.txt
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission (as root).
set -uo pipefail
cd /autograder/source
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=3 KERAS_BACKEND=tensorflow
python3 -m autograder.gradescope run {exercise} \\
    --submission /autograder/submission --results /autograder/results/results.json
"""


def requirements_for(exercise):
    """Pinned lines of the repository's requirements.txt that the grader needs."""
    wanted = KERAS_FREE if exercise == "gradient_descent" else REQUIREMENTS
    lines = []
    with open(os.path.join(REPO, "requirements.txt")) as f:
        for line in f:
            name = re.split(r"[=<>\[ ]", line.strip(), maxsplit=1)[0].lower()
            if name in wanted:
                lines.append(line.strip())
    return "\n".join(lines) + "\n"


def build(exercise, out_dir=None):
    """Write the Gradescope zip for ``exercise``; returns its path."""
    grade.load_exercise(exercise)  # fails on a typo or broken tests
    folder = grade.exercise_dir(exercise)
    out_dir = out_dir or os.path.join(REPO, "_build", "autograder")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{exercise}-gradescope.zip")
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "setup.sh", SETUP_SH, 0o755)
        _add(archive, "run_autograder", RUN_AUTOGRADER.format(exercise=exercise), 0o755)
        _add(archive, "requirements.txt", requirements_for(exercise))
        for name in PACKAGE_FILES:
            archive.write(os.path.join(HERE, name), f"autograder/{name}")
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if name.endswith((".py", ".json")) and "__pycache__" not in root:
                    full = os.path.join(root, name)
                    rel = os.path.relpath(full, grade.exercises_root())
                    archive.write(full, f"autograder/{rel}")
    os.replace(tmp, path)
    return path


def _add(archive, name, text, mode=0o644):
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def lock_down(paths=("/autograder",)):
    """Make the autograder's folders unreadable to the sandbox uid (fallback mode)."""
    for path in paths:
        if os.path.isdir(path) and os.getuid() == 0:
            os.chmod(path, 0o700)


def pick_submission(folder, exercise):
    """The one notebook/zip in Gradescope's submission folder."""
    names = submissions.list_submissions(folder)
    if not names:
        raise submissions.InvalidSubmission("no .ipynb or .zip file was submitted")
    if len(names) > 1:
        matching = []
        for name in names:
            try:
                submissions.load(os.path.join(folder, name), exercise)
                matching.append(name)
            except submissions.InvalidSubmission:
                pass
        names = matching or names
    return os.path.join(folder, names[0])


def results_json(result, exercise):
    """Gradescope's results.json dict for one grading result."""
    tests = []
    for test in result.get("tests", []):
        hidden = test["hidden"]
        output = test["message"] if not hidden or test["passed"] else "hidden test failed"
        tests.append({"name": test["test"], "score": test["points"] if test["passed"] else 0,
                      "max_score": test["points"], "output": output,
                      "visibility": "after_published" if hidden else "visible"})
    status = result["status"]
    lines = [f"Exercise {exercise}: status {status}."]
    if result.get("reason"):
        lines.append(result["reason"])
    lines += [f"Cell {e['cell']}: {e['error']}" for e in result.get("cell_errors", [])]
    lines.append(f"(sandbox mode: {result.get('mode')})")
    return {"score": result.get("total", 0), "tests": tests, "output": "\n".join(lines),
            "visibility": "visible", "stdout_visibility": "hidden"}


def run(exercise, submission_dir, results_path, limits=None):
    mode = sandbox.detect_mode()
    if mode != "bwrap":
        lock_down()
    try:
        path = pick_submission(submission_dir, exercise)
        result = grade.grade_file(path, exercise, limits or sandbox.Limits())
    except submissions.InvalidSubmission as exc:
        result = {"status": exc.status, "reason": exc.reason, "total": 0, "tests": [],
                  "mode": mode}
    os.makedirs(os.path.dirname(results_path), exist_ok=True)
    with open(results_path, "w") as f:
        json.dump(results_json(result, exercise), f, indent=1)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope")
    parser.add_argument("words", nargs="+", help="<exercise> to build, or: run <exercise>")
    parser.add_argument("--submission", default="/autograder/submission")
    parser.add_argument("--results", default="/autograder/results/results.json")
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args(argv)
    if args.words[0] == "run" and len(args.words) == 2:
        result = run(args.words[1], args.submission, args.results)
        print(f"{result['status']}: {result.get('total', 0)} point(s)")
        return 0
    if len(args.words) != 1:
        parser.error("usage: <exercise> | run <exercise>")
    print(build(args.words[0], args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
