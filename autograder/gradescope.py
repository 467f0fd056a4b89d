"""Gradescope: build the upload zip of each exercise, and grade inside Gradescope's container.

``python -m autograder.gradescope build`` (``make gradescope``) writes
``_build/gradescope/<exercise>.zip`` for every exercise. A zip is self-contained:

* ``setup.sh`` (from ``gradescope_files/``): bubblewrap from apt, a standalone Python of the
  version the pins need (through uv, pinned) and a venv under ``/opt/dlcourse`` holding
  ``requirements.txt``;
* ``requirements.txt``: the grader's whole dependency closure, every package pinned to the
  version this kit's ``.venv`` runs (numpy, otter-grader, ... and, for an exercise that uses
  Keras, keras with jax and tensorflow-cpu);
* ``run_autograder``: runs ``python -m autograder.gradescope run <exercise>``;
* the ``autograder`` package (the grader, no authoring code) with this exercise's generated
  tests and ``questions.json``, and the ``dlcourse`` package the hidden tests import.

On Gradescope, ``run`` grades ``/autograder/submission`` through the same hardened path as
``make grade``: the notebook runs in the sandbox, the tests run in the grader's process.
Where bubblewrap cannot create namespaces the sandbox falls back to setuid mode, and
``/autograder`` is made unreadable to the student's uid first.

What students see (``results_json``): Gradescope's documented rule is that students do not
see their total score while some tests are hidden. So the points of a question whose checks
include hidden ones sit on one entry per question, shown after grades are published, with
the all-or-nothing arithmetic spelled out; before that a student sees the outcome of each
public check (worth 0 points on its own) and nothing that depends on a hidden check: no
total, no hidden outcome, no run time, and the public checks ran before any hidden one, so
their messages cannot carry a hidden test's inputs. Student-controlled text is stripped of
control characters and capped.
"""

import argparse
import json
import math
import os
import re
import sys
import traceback
import zipfile

from . import exercises, sandbox, scoring, submissions
from . import result as results
from . import run as engine

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TEMPLATES = os.path.join(HERE, "gradescope_files")
DEFAULT_OUT = os.path.join(REPO, "_build", "gradescope")

PREFIX = "/opt/dlcourse"
"""Where setup.sh installs Python and the venv (outside /autograder: see setup.sh)."""
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
UV_VERSION = "0.13.8"

GRADER_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "otter-grader",
    "psutil",
    "nbformat",
    "tqdm",
)
"""What grading any exercise imports: the grader, the tests and a numpy/matplotlib notebook."""
KERAS_PACKAGES = ("keras", "jax", "jaxlib", "tensorflow-cpu", "h5py")
"""Added for exercises that use Keras: JAX runs keras-only notebooks, TF those importing it."""
NOT_SHIPPED = ("assign.py",)
"""Authoring code (otter assign) that grading never imports."""

MESSAGE_CAP = 1500
OUTPUT_CAP = 6000


# --------------------------------------------------------------------------- the zip


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(path=None):
    """``{canonical name: version}`` for the ``name==version`` lines of requirements.txt."""
    pins = {}
    with open(path or os.path.join(REPO, "requirements.txt")) as f:
        for line in f:
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)", line)
            if match:
                pins[_canonical(match.group(1))] = match.group(3)
    return pins


def locked_requirements(exercise):
    """The grader's dependency closure for ``exercise``, pinned to the installed versions.

    Walks the installed distributions' metadata (``importlib.metadata``), evaluating
    each requirement's environment marker for this interpreter, which setup.sh reproduces
    (same Python minor version, Linux x86-64). The top-level packages must match
    requirements.txt, so a stale ``.venv`` fails the build instead of shipping other pins.
    """
    from importlib import metadata

    from packaging.requirements import Requirement

    info = exercises.EXERCISES.get(exercise)
    wanted = GRADER_PACKAGES + (KERAS_PACKAGES if info and info.uses_keras else ())
    pins = pinned_requirements()
    locked = {}
    todo = [(name, None) for name in wanted]
    while todo:
        name, extras = todo.pop()
        key = _canonical(name)
        if key in locked and not extras:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(
                f"{name} is required by the grader but not installed in {sys.prefix}; run make venv"
            ) from None
        locked[key] = (dist.metadata["Name"], dist.version)
        for line in dist.requires or ():
            req = Requirement(line)
            envs = [{"extra": extra} for extra in (extras or [""])]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, sorted(req.extras) or None))
    for name in wanted:
        key = _canonical(name)
        if key in pins and pins[key] != locked[key][1]:
            raise RuntimeError(
                f"{name} {locked[key][1]} is installed but requirements.txt pins "
                f"{pins[key]}; run make venv"
            )
    lines = [
        f"{real}=={version}"
        for real, version in sorted(locked.values(), key=lambda r: r[0].lower())
    ]
    return "\n".join(lines) + "\n"


def _template(name, exercise):
    with open(os.path.join(TEMPLATES, name)) as f:
        text = f.read()
    for key, value in (
        ("@EXERCISE@", exercise),
        ("@PREFIX@", PREFIX),
        ("@PYTHON_VERSION@", PYTHON_VERSION),
        ("@UV_VERSION@", UV_VERSION),
    ):
        text = text.replace(key, value)
    return text


def zip_members(exercise):
    """``(name in the zip, path on disk)`` for the package files the zip ships."""
    members = []
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".py") and name not in NOT_SHIPPED:
            members.append((f"autograder/{name}", os.path.join(HERE, name)))
    folder = exercises.exercise_dir(exercise)
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                full = os.path.join(root, name)
                members.append((f"autograder/{exercise}/{os.path.relpath(full, folder)}", full))
    shared = os.path.join(REPO, "dlcourse")
    for name in sorted(os.listdir(shared)):
        if name.endswith(".py"):
            members.append((f"dlcourse/{name}", os.path.join(shared, name)))
    return members


def build(exercise, out_dir=None):
    """Write ``<out_dir>/<exercise>.zip`` for Gradescope; returns its path."""
    exercises.load_exercise(exercise)  # fails on a typo or broken tests
    out_dir = out_dir or DEFAULT_OUT
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{exercise}.zip")
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "setup.sh", _template("setup.sh", exercise), 0o755)
        _add(archive, "run_autograder", _template("run_autograder", exercise), 0o755)
        _add(archive, "requirements.txt", locked_requirements(exercise))
        for name, full in zip_members(exercise):
            with open(full, "rb") as f:
                _add(archive, name, f.read())
    os.replace(tmp, path)
    return path


def _add(archive, name, data, mode=0o644):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible zips
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


# --------------------------------------------------------------------------- results.json


_CONTROL = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f"
    r"\u202a-\u202e\u2066-\u2069]"
)


def clean(text, cap=MESSAGE_CAP):
    """Student-influenced text made safe to show: no escapes or control characters, capped."""
    text = _CONTROL.sub("", str(text)).replace("\r", "")
    if len(text) > cap:
        text = text[:cap].rstrip() + f"\n... ({len(text) - cap} more characters cut)"
    return text


def _points(value):
    return f"{value:g}"


def _round(value):
    return round(float(value), 4)


def results_json(result, exercise_name, limits=None):
    """Gradescope's results.json (a dict) for one ``SubmissionResult``."""
    names = exercises.check_names(exercise_name)
    tests = []
    public = [t for q in result.questions for t in q.tests if not t.hidden]
    hidden = [t for q in result.questions for t in q.tests if t.hidden]
    graded = bool(public or hidden)
    for number, question in enumerate(result.questions or _ungraded(exercise_name), 1):
        if question.kind == "manual":
            continue
        tests += _question_entries(
            number, question, names.get(question.name, {}), graded, result.reason
        )
    intro = _intro(result, exercise_name, public, hidden)
    tests.insert(
        0,
        {
            "name": "Submission: notebook found and run",
            "number": "0",
            "score": 0.0,
            "max_score": 0.0,
            "status": "passed" if graded else "failed",
            "output": intro,
            "visibility": "visible",
        },
    )
    tests.append(
        {
            "name": "Grading details (status, sandbox, limits)",
            "number": "99",
            "score": 0.0,
            "max_score": 0.0,
            "output": _details(result, limits),
            "visibility": "after_published",
        }
    )
    return {
        "score": _round(result.total),
        "output": clean(intro, OUTPUT_CAP),
        "visibility": "after_published",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _ungraded(exercise_name):
    """The exercise's questions at 0 points, for a submission rejected before grading."""
    try:
        exercise = exercises.load_exercise(exercise_name)
    except KeyError:
        return ()
    return tuple(
        results.QuestionResult(q.name, q.kind, q.points, None if q.kind == "manual" else 0.0)
        for q in exercise.questions
    )


def _question_entries(number, question, names, graded, reason):
    outcomes = list(question.tests)
    max_points = float(question.max_points or 0)
    points = float(question.points or 0)
    if not graded:
        return [
            {
                "name": f"{question.name}: {_points(max_points)} point(s)",
                "number": f"{number}",
                "score": 0.0,
                "max_score": max_points,
                "status": "failed",
                "visibility": "visible",
                "output": clean(f"not graded: {reason}"),
            }
        ]
    failed = sum(1 for t in outcomes if not t.passed)
    any_hidden = any(t.hidden for t in outcomes)
    rule = (
        f"{question.name} is all-or-nothing: its {_points(max_points)} point(s) need "
        f"{'both' if len(outcomes) == 2 else f'all {len(outcomes)}'} of its checks to pass"
    )
    if question.all_or_nothing and any_hidden:
        entries = []
        for index, outcome in enumerate(outcomes, 1):
            entry = _check_entry(number, index, question, outcome, names, 0.0, 0.0)
            if not outcome.hidden:
                tail = (
                    f"This check failed, so {question.name} gets 0 of "
                    f"{_points(max_points)} point(s) ({rule})."
                    if not outcome.passed
                    else f"{rule}, {sum(t.hidden for t in outcomes)} of them hidden; "
                    f"{question.name}'s points are shown when grades are published."
                )
                entry["output"] += "\n\n" + tail
            entries.append(entry)
        explanation = (
            f"all-or-nothing: {failed} of {len(outcomes)} checks failed -> "
            f"{_points(points)} of {_points(max_points)}"
            if failed
            else f"all {len(outcomes)} checks passed -> {_points(points)} of {_points(max_points)}"
        )
        entries.append(
            {
                "name": f"{question.name}: points ({len(outcomes)} checks, all-or-nothing)",
                "number": f"{number}.{len(outcomes) + 1}",
                "score": _round(points),
                "max_score": max_points,
                "status": "passed" if math.isclose(points, max_points) else "failed",
                "output": explanation,
                "visibility": "after_published",
            }
        )
        return entries
    # Every check carries its share; all-or-nothing (without hidden checks) zeroes them all.
    weights = [float(t.points or 0) for t in outcomes]
    total_weight = sum(weights) or len(outcomes) or 1
    shares = [max_points * (w if sum(weights) else 1) / total_weight for w in weights]
    earned = [
        s if t.passed and not (question.all_or_nothing and failed) else 0.0
        for s, t in zip(shares, outcomes)
    ]
    if earned and sum(earned):  # rounding: the entries add up to exactly the question's points
        last = max(i for i, e in enumerate(earned) if e)
        earned[last] += points - sum(earned)
    entries = []
    for index, (outcome, share, score) in enumerate(zip(outcomes, shares, earned), 1):
        entry = _check_entry(number, index, question, outcome, names, score, share)
        if question.all_or_nothing and failed and outcome.passed:
            entry["output"] += (
                f"\n\nall-or-nothing: {failed} of {len(outcomes)} checks "
                f"failed -> {_points(points)} of {_points(max_points)}"
            )
        elif question.all_or_nothing and not outcome.passed:
            entry["output"] += f"\n\n({rule}.)"
        entries.append(entry)
    return entries


def _check_entry(number, index, question, outcome, names, score, max_score):
    kind = "hidden" if outcome.hidden else "public"
    description = names.get(outcome.name) or outcome.name
    return {
        "name": f"{question.name} {kind} check: {description}",
        "number": f"{number}.{index}",
        "score": _round(score),
        "max_score": _round(max_score),
        "status": "passed" if outcome.passed else "failed",
        "output": "passed" if outcome.passed else clean(outcome.message),
        "visibility": "after_published" if outcome.hidden else "visible",
    }


def _intro(result, exercise_name, public, hidden):
    """What a student sees before publication: nothing that depends on a hidden check."""
    info = exercises.EXERCISES.get(exercise_name)
    lines = [f"{info.title if info else exercise_name} ({exercise_name})"]
    if not (public or hidden):
        lines.append(f"Not graded ({result.status}): {clean(result.reason)}")
        return "\n".join(lines)
    passed = sum(t.passed for t in public)
    lines.append(f"Public checks: {passed} of {len(public)} passed.")
    if hidden:
        lines.append(
            f"Hidden checks: {len(hidden)}. Their results, each question's points "
            "and your total are shown when grades are published."
        )
    for error in result.cell_errors[:10]:
        lines.append(clean(f"Cell {error.cell}: {error.error}", 400))
    if len(result.cell_errors) > 10:
        lines.append(f"... and {len(result.cell_errors) - 10} more cell errors")
    manual = [q for q in result.questions if q.kind == "manual"]
    if manual:
        lines.append(
            "Graded by hand: "
            + ", ".join(f"{q.name} ({_points(q.max_points)} point(s))" for q in manual)
            + "."
        )
    return "\n".join(lines)


def _details(result, limits):
    lines = [
        f"status: {result.status}",
        f"reason: {clean(result.reason or '-')}",
        f"score: {_points(result.total)} of {_points(result.max_total)} autograded point(s)",
        f"sandbox: {result.isolation or '?'}",
        f"Keras backend: {result.backend or '-'}",
        f"seconds: {result.seconds:g}",
    ]
    if limits is not None:
        lines.append(
            f"limits: {limits.timeout:g} s per notebook, {limits.call_timeout:g} s per "
            f"call, {limits.memory_mb} MiB memory, {limits.threads} thread(s)"
        )
    for question in result.questions:
        if question.kind == "manual":
            lines.append(f"{question.name}: graded by hand")
        elif question.explanation:
            lines.append(f"{question.name}: {clean(question.explanation)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- grading


def lock_down(paths=("/autograder",)):
    """Make the autograder's folders unreadable to the sandbox uid (setuid mode)."""
    for path in paths:
        if os.path.isdir(path) and os.getuid() == 0:
            os.chmod(path, 0o700)


def pick_submission(folder, exercise):
    """The one notebook/zip in Gradescope's submission folder (the one for this exercise)."""
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


def choose_mode():
    """bwrap where it works; otherwise (Gradescope runs as root) setuid mode, with
    ``/autograder`` made unreadable to the sandbox uid first. Raises SandboxUnavailable."""
    try:
        mode = engine.choose_mode()
    except engine.SandboxUnavailable:
        if os.getuid() != 0:
            raise
        os.environ["DLCOURSE_SANDBOX"] = "setuid"
        mode = engine.choose_mode()
    if mode != "bwrap":
        lock_down()
    return mode


def run(exercise, submission_dir, results_path, limits=None):
    """Grade the submission and write results.json; returns the ``SubmissionResult``."""
    limits = limits or sandbox.Limits()
    mode = ""
    try:
        path = pick_submission(submission_dir, exercise)  # reads files, runs nothing
        mode = choose_mode()
        engine.preflight(mode, limits)  # the sandbox user can run Python, not read the tests
        outcome = scoring.grade_file(path, exercise, limits, mode=mode)
    except submissions.InvalidSubmission as exc:
        outcome = results.SubmissionResult(
            file="", exercise=exercise, status=exc.status, reason=exc.reason, isolation=mode
        )
    except Exception as exc:  # noqa: BLE001 - the student must still get a results.json
        traceback.print_exc()
        outcome = results.SubmissionResult(
            file="",
            exercise=exercise,
            status="error",
            isolation=mode,
            reason=f"the autograder could not grade ({type(exc).__name__}: {str(exc)[:400]}); "
            "please tell your instructor",
        )
    data = results_json(outcome, exercise, limits)
    os.makedirs(os.path.dirname(os.path.abspath(results_path)), exist_ok=True)
    tmp = results_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, results_path)
    return outcome


def check(exercise):
    """setup.sh's last step: the exercise loads and every package grading imports is there."""
    import importlib

    loaded = exercises.load_exercise(exercise)
    modules = ["numpy", "scipy", "pandas", "matplotlib", "otter", "psutil", "nbformat"]
    info = exercises.EXERCISES.get(exercise)
    if info and info.uses_keras:
        modules += ["keras", "jax", "tensorflow"]
    for module in modules:
        importlib.import_module(module)
    print(f"{exercise}: {len(loaded.questions)} questions; imports ok")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autograder.gradescope", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="write _build/gradescope/<exercise>.zip")
    build_cmd.add_argument("exercises", nargs="*", help="default: every exercise")
    build_cmd.add_argument("--out-dir", default=DEFAULT_OUT)
    run_cmd = sub.add_parser("run", help="grade on Gradescope (run_autograder calls this)")
    run_cmd.add_argument("exercise")
    run_cmd.add_argument("--submission", default="/autograder/submission")
    run_cmd.add_argument("--results", default="/autograder/results/results.json")
    check_cmd = sub.add_parser("check", help="setup.sh's smoke test of the installed grader")
    check_cmd.add_argument("exercise")
    args = parser.parse_args(argv)
    if args.command == "run":
        outcome = run(args.exercise, args.submission, args.results)
        print(f"{outcome.status}: {outcome.total:g} point(s)")
        return 0
    if args.command == "check":
        return check(args.exercise)
    names = args.exercises or [n for n in exercises.EXERCISES if n in exercises.known_exercises()]
    for name in names:
        if name not in exercises.EXERCISES:
            parser.error(f"unknown exercise {name!r} (known: {', '.join(exercises.EXERCISES)})")
        print(build(name, args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
