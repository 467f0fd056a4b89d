"""Grade a folder of submissions: ``python -m autograder.grade SUBMISSIONS --out grades.csv``.

Where things run:

* this process (and its worker processes) read the submission, load the exercise's
  otter test files (``autograder/<exercise>/tests/*.py``) and run every test function;
* the student's notebook runs in a sandboxed harness (``sandbox.py``/``harness.py``);
  each name a test function asks for (``def test_x(gradient_descent, np)``) is bound to a
  proxy that calls the student's function over the channel (``channel.py``), while ``np``
  and friends are the grader's own modules. Test code and reference values never leave
  this process; only plain data comes back from the student's.

Output: the CSV (``file``, one column per question, ``total``, ``status``, ``reason``), a
state file for resuming (``grades.state.json``) and one report per submission
(``grades_reports/<file>.txt``); see ``sheet.py``.
"""
import argparse
import concurrent.futures
import dataclasses
import functools
import hashlib
import inspect
import json
import math
import os
import sys
import time
import traceback

from . import sandbox, sheet, submissions

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 42
GRADER_MODULES = ("np", "numpy", "math")
"""Test parameters always bound to the grader's own modules, whatever the notebook did."""
SAFE_MODULES = ("numpy", "math", "random")
"""Modules a test may receive when the notebook imported them under another name."""


# --------------------------------------------------------------------------- exercises


@dataclasses.dataclass
class Question:
    name: str
    points: float
    kind: str = "auto"          # "auto" or "manual"
    tests: object = None        # otter ExceptionTestFile for auto questions


@dataclasses.dataclass
class Exercise:
    name: str
    questions: list
    fingerprint: str

    @property
    def question_names(self):
        return [q.name for q in self.questions]


def exercises_root():
    """Folder holding ``<exercise>/tests``: this package, or ``$DLCOURSE_EXERCISES_DIR``."""
    return os.environ.get("DLCOURSE_EXERCISES_DIR") or HERE


def exercise_dir(name):
    return os.path.join(exercises_root(), name)


def known_exercises():
    """Exercise folders that hold a ``tests`` folder."""
    root = exercises_root()
    return sorted(d for d in os.listdir(root)
                  if os.path.isdir(os.path.join(root, d, "tests")) and not d.startswith("_"))


@functools.lru_cache(maxsize=None)
def load_exercise(name):
    """The exercise's questions (from ``questions.json``) with their otter test files."""
    from otter.test_files import ExceptionTestFile  # the grader's side only

    folder = exercise_dir(name)
    tests_dir = os.path.join(folder, "tests")
    if not name or not name.replace("_", "").isalnum() or not os.path.isdir(tests_dir):
        raise KeyError(name)
    digest = hashlib.sha256()
    tests = {}
    for file_name in sorted(os.listdir(tests_dir)):
        if not file_name.endswith(".py") or file_name.startswith("_"):
            continue
        path = os.path.join(tests_dir, file_name)
        with open(path, "rb") as f:
            digest.update(file_name.encode() + b"\0" + f.read())
        test_file = ExceptionTestFile.from_file(path)
        tests[test_file.name] = test_file
    questions = []
    spec_path = os.path.join(folder, "questions.json")
    if os.path.exists(spec_path):
        with open(spec_path, "rb") as f:
            raw = f.read()
        digest.update(raw)
        questions = _parse_questions(json.loads(raw))
    listed = {q.name for q in questions}
    for test_name in sorted(tests):
        if test_name not in listed:
            questions.append(Question(test_name, tests[test_name].possible))
    for question in questions:
        if question.kind == "auto":
            question.tests = tests.get(question.name)
    return Exercise(name, questions, digest.hexdigest())


def _parse_questions(data):
    """Questions from ``[{"name", "points", "kind"}, ...]`` (or ``{"questions": [...]}``
    or ``{"q1": {"points", "kind"}, ...}``)."""
    if isinstance(data, dict) and isinstance(data.get("questions"), (list, dict)):
        data = data["questions"]
    if isinstance(data, dict):
        data = [dict(spec, name=name) if isinstance(spec, dict) else {"name": name, "points": spec}
                for name, spec in data.items()]
    questions = []
    for item in data:
        kind = str(item.get("kind", "auto"))
        questions.append(Question(str(item["name"]), float(item.get("points", 0) or 0),
                                  "manual" if kind == "manual" else "auto"))
    return questions


def grader_fingerprint(limits, exercise=None):
    """Changes whenever anything that can change a grade changes (tests, code, limits)."""
    digest = hashlib.sha256()
    for name in ("harness.py", "channel.py", "grade.py", "sandbox.py", "submissions.py"):
        with open(os.path.join(HERE, name), "rb") as f:
            digest.update(f.read())
    for name in known_exercises():
        digest.update(load_exercise(name).fingerprint.encode())
    digest.update(json.dumps([dataclasses.asdict(limits), exercise, SEED]).encode())
    return digest.hexdigest()[:20]


# --------------------------------------------------------------------------- one submission


_SLOT = None


def _worker_init():
    global _SLOT
    _SLOT = sandbox.UidSlot()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def grade_file(path, expected_exercise, limits):
    """Grade one submission file; always returns a result dict (never raises)."""
    started = time.monotonic()
    result = {"file": os.path.basename(path), "exercise": expected_exercise, "status": "error",
              "reason": "", "scores": {}, "total": 0.0, "tests": [], "cell_errors": [],
              "notes": [], "stdout": "", "stderr": "", "mode": sandbox.detect_mode()}
    try:
        _grade_into(result, path, expected_exercise, limits)
    except submissions.InvalidSubmission as exc:
        result.update(status=exc.status, reason=exc.reason)
    except Exception as exc:  # noqa: BLE001 - a grader bug must still give a row
        result.update(status="error", reason=f"grader error: {type(exc).__name__}: {exc}")
        result["notes"].append(traceback.format_exc())
    result["seconds"] = round(time.monotonic() - started, 2)
    return result


def _grade_into(result, path, expected_exercise, limits):
    exercise_name, cells, notes = submissions.load(path, expected_exercise)
    result["notes"] += notes
    result["exercise"] = exercise_name
    try:
        exercise = load_exercise(exercise_name)
    except KeyError:
        raise submissions.InvalidSubmission(
            f"unknown exercise {exercise_name!r} in the notebook's metadata",
            status="wrong-exercise") from None
    result["questions"] = exercise.question_names
    global _SLOT
    if _SLOT is None:
        _worker_init()
    student = sandbox.StudentProcess(limits, _SLOT)
    try:
        ran = student.start(cells, seed=SEED)
        result["cell_errors"] = student.cell_errors
        if ran:
            run_tests(exercise, student, result)
        else:
            _fail_all(exercise, result, f"not run: {student.reason}")
    finally:
        student.close()
        result["stdout"] = student.output_text("stdout")
        result["stderr"] = student.output_text("stderr")
    result["status"] = student.status or "ok"
    result["reason"] = student.reason or _summary(result)
    result["total"] = round(sum(v for v in result["scores"].values() if v is not None), 4)


def _fail_all(exercise, result, message):
    for question in exercise.questions:
        result["scores"][question.name] = None if question.kind == "manual" else 0.0
        for case in _cases(question):
            result["tests"].append(_test_row(question, case, False, message))


def _cases(question):
    return question.tests.test_cases if question.tests is not None else []


def _test_row(question, case, passed, message):
    return {"question": question.name, "test": case.name, "points": case.points or 0,
            "hidden": bool(case.hidden), "passed": passed, "message": message}


def run_tests(exercise, student, result):
    """Run every auto question's test cases in this process against proxies."""
    missing = set()
    for question in exercise.questions:
        if question.kind == "manual":
            result["scores"][question.name] = None
            continue
        if question.tests is None:
            result["scores"][question.name] = 0.0
            result["notes"].append(f"{question.name}: no test file; 0 points")
            continue
        earned = possible = 0.0
        passed_all = True
        for case in _cases(question):
            passed, message = run_case(case, question.tests, student, missing)
            result["tests"].append(_test_row(question, case, passed, message))
            possible += case.points or 0
            earned += (case.points or 0) if passed else 0
            passed_all &= passed
        if getattr(question.tests, "all_or_nothing", False) and not passed_all:
            earned = 0.0
        if possible and question.points and not math.isclose(possible, question.points):
            earned *= question.points / possible
        result["scores"][question.name] = round(earned, 4)
    if missing:
        result["notes"].append("not defined in the notebook: " + ", ".join(sorted(missing)))
        result["missing"] = sorted(missing)


def run_case(case, test_file, student, missing):
    """``(passed, message)`` for one otter test case."""
    func = case.body.test_func
    try:
        kwargs = test_arguments(func, student, missing)
        func(**kwargs)
    except sandbox.StudentGone as exc:
        return False, f"not run: {exc}"
    except Exception as exc:  # noqa: BLE001 - any exception is a failed test
        return False, describe_failure(exc, test_file.path)
    return True, "passed"


def test_arguments(func, student, missing):
    """Values for a test function's parameters: proxies, fetched data or our modules."""
    import numpy

    ours = {"np": numpy, "numpy": numpy, "math": math}
    kwargs = {}
    for name in inspect.signature(func).parameters:
        if name in ours:
            kwargs[name] = ours[name]
        elif name == "env":
            kwargs[name] = {n: _student_value(student, n) for n in student.names}
        elif name in student.names:
            kwargs[name] = _student_value(student, name)
        else:
            kwargs[name] = Missing(name)
            missing.add(name)
    return kwargs


class Missing:
    """Stands for a name the notebook does not define: falsy, and calling it says so."""

    def __init__(self, name):
        self.name = name

    def __bool__(self):
        return False

    def __call__(self, *args, **kwargs):
        raise NameError(f"{self.name} is not defined in the notebook")

    def __getattr__(self, attr):
        raise NameError(f"{self.name} is not defined in the notebook")

    def __repr__(self):
        return f"<{self.name}: not defined in the notebook>"


def _student_value(student, name):
    info = student.names.get(name) or {}
    kind = info.get("kind")
    if kind == "callable":
        return student.proxy(name)
    if kind == "module":
        module = info.get("module")
        return sys.modules.get(module) if module in SAFE_MODULES else None
    try:
        return student.get(name)
    except sandbox.StudentGone:
        raise
    except Exception:  # noqa: BLE001 - unsendable data: the test sees None
        return None


def describe_failure(exc, test_path):
    """``line N: <test source line>`` + ``Type: message`` for a failed test."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == os.path.abspath(test_path):
            where = f"line {frame.lineno}: {(frame.line or '').strip()}\n"
    message = str(exc).strip() or "(no message)"
    kind = getattr(type(exc), "remote_type", None)
    label = f"the notebook's function raised {message}" if kind else \
        f"{type(exc).__name__}: {message}"
    return (where + label)[:2000]


def _summary(result):
    parts = []
    if result.get("missing"):
        parts.append("not defined: " + ", ".join(result["missing"]))
    if result["cell_errors"]:
        parts.append(f"{len(result['cell_errors'])} cell error(s)")
    failed = sum(1 for t in result["tests"] if not t["passed"])
    if failed:
        parts.append(f"{failed} test(s) failed")
    return "; ".join(parts)


# --------------------------------------------------------------------------- reports


def render_report(result):
    """A plain-text report of one submission for the instructor."""
    lines = [f"file:     {result['file']}", f"exercise: {result.get('exercise')}",
             f"status:   {result['status']}" + (f" ({result['reason']})" if result["reason"] else ""),
             f"total:    {result['total']:g}", f"sandbox:  {result.get('mode')}",
             f"seconds:  {result.get('seconds')}", ""]
    for name, score in result["scores"].items():
        lines.append(f"  {name}: {'manual' if score is None else f'{score:g}'}")
    if result["tests"]:
        lines.append("\nTests:")
    for test in result["tests"]:
        mark = "PASS" if test["passed"] else "FAIL"
        hidden = " (hidden)" if test["hidden"] else ""
        lines.append(f"  [{mark}] {test['test']}{hidden}, {test['points']:g} pt")
        if not test["passed"]:
            lines += ["      " + line for line in test["message"].splitlines()]
    if result["cell_errors"]:
        lines.append("\nCell errors (the notebook went on after each):")
        lines += [f"  cell {e['cell']}: {e['error']}" for e in result["cell_errors"]]
    if result["notes"]:
        lines += ["\nNotes:"] + ["  " + n for n in result["notes"]]
    for stream in ("stdout", "stderr"):
        if result.get(stream):
            lines += [f"\n--- {stream} (capped) ---", result[stream][-20000:]]
    return "\n".join(lines) + "\n"


def sheet_row(result):
    row = {"file": result["file"], "total": result["total"], "status": result["status"],
           "reason": result["reason"]}
    row.update(result["scores"])
    return row


# --------------------------------------------------------------------------- the folder


def grade_folder(folder, out, exercise=None, jobs=None, limits=None, progress=True,
                 force=False):
    """Grade every submission in ``folder`` into ``out``; returns the rows (dicts)."""
    limits = limits or sandbox.Limits()
    jobs = max(1, jobs or os.cpu_count() or 1)
    if exercise:
        load_exercise(exercise)  # fail early on a typo
    fingerprint = grader_fingerprint(limits, exercise)
    files = submissions.list_submissions(folder)
    state = sheet.load_state(out)
    old = state["entries"]
    state["entries"] = entries = {}
    todo = []
    for name in files:
        digest = sheet.file_sha256(os.path.join(folder, name))
        if not force and sheet.is_current(old.get(name), digest, fingerprint):
            entries[name] = old[name]
        else:
            todo.append((name, digest))
    questions = _sheet_questions(exercise, entries)

    def flush():
        rows = [entry["row"] for entry in entries.values()]
        done = set(entries)
        rows += [{"file": n, "status": "pending"} for n, _ in todo if n not in done]
        sheet.save_state(out, state)
        sheet.write_sheet(out, rows, _sheet_questions(exercise, entries) or questions)

    flush()
    bar = _progress(len(todo), progress)
    for result, digest in _run_pool(folder, todo, exercise, limits, jobs):
        entries[result["file"]] = {"sha256": digest, "fingerprint": fingerprint,
                                   "exercise": result.get("exercise"),
                                   "row": sheet_row(result), "status": result["status"]}
        sheet.write_report(out, result["file"], render_report(result))
        flush()
        bar.update(1)
    bar.close()
    return [entries[name]["row"] for name in files]


def _sheet_questions(exercise, entries):
    names = [exercise] if exercise else sorted({e.get("exercise") for e in entries.values()
                                                if e.get("exercise")})
    questions = []
    for name in names:
        try:
            questions += [q for q in load_exercise(name).question_names if q not in questions]
        except KeyError:
            pass
    return questions


def _run_pool(folder, todo, exercise, limits, jobs):
    """Yield ``(result, sha256)`` as submissions finish; a dead worker is retried once."""
    pending = list(todo)
    for attempt in range(2):
        if not pending:
            return
        retry = []
        with concurrent.futures.ProcessPoolExecutor(jobs, initializer=_worker_init) as pool:
            futures = {pool.submit(grade_file, os.path.join(folder, name), exercise, limits):
                       (name, digest) for name, digest in pending}
            for future in concurrent.futures.as_completed(futures):
                name, digest = futures[future]
                try:
                    yield future.result(), digest
                except Exception as exc:  # noqa: BLE001 - BrokenProcessPool and the like
                    if attempt == 0:
                        retry.append((name, digest))
                    else:
                        yield ({"file": name, "status": "error", "exercise": exercise,
                                "reason": f"grader worker failed: {type(exc).__name__}",
                                "scores": {}, "total": 0.0, "tests": [], "cell_errors": [],
                                "notes": [], "mode": sandbox.detect_mode()}, digest)
        pending = retry


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, enabled):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="sub", desc="grading", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.grade", description=__doc__.split("\n")[0])
    parser.add_argument("submissions", help="folder of .ipynb / .zip submissions")
    parser.add_argument("--out", default="grades.csv", help="CSV to write (default grades.csv)")
    parser.add_argument("--exercise", help="exercise name (default: from each notebook's metadata)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel submissions (default: cores)")
    parser.add_argument("--timeout", type=float, default=sandbox.Limits.timeout,
                        help="seconds per submission (default %(default)s)")
    parser.add_argument("--call-timeout", type=float, default=sandbox.Limits.call_timeout,
                        help="seconds per call of a student function (default %(default)s)")
    parser.add_argument("--memory-mb", type=int, default=sandbox.Limits.memory_mb,
                        help="memory cap per student process in MiB (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="regrade everything")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.submissions):
        parser.error(f"{args.submissions} is not a folder")
    if args.exercise and args.exercise not in known_exercises():
        parser.error(f"unknown exercise {args.exercise!r} (known: {', '.join(known_exercises())})")
    limits = sandbox.Limits(timeout=args.timeout, call_timeout=min(args.call_timeout, args.timeout),
                            memory_mb=args.memory_mb)
    mode = sandbox.detect_mode()
    if mode != "bwrap":
        print(f"warning: sandbox mode {mode!r}: bubblewrap is unavailable", file=sys.stderr)
    rows = grade_folder(args.submissions, args.out, args.exercise, args.jobs, limits,
                        progress=not args.no_progress, force=args.force)
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    print(f"{len(rows)} submission(s) -> {args.out}: "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
