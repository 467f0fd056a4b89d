"""Grade a folder: sandbox pre-flight, one lock per sheet, workers, resume, sheet and reports.

* **Pre-flight**: before anything is graded, the sandbox must prove it can run the
  environment's Python as the sandbox user (``preflight``); otherwise nothing is written
  and :class:`SandboxUnavailable` says what is missing.
* **One run per sheet**: an exclusive ``flock`` on ``<OUT>.lock`` (:class:`SheetLocked`).
* **Workers**: each submission is graded in its own forked process (at most ``jobs`` at
  once), which dies with the grader (a parent-death signal). ``ProcessPoolExecutor`` is not
  used because when one of its workers dies it breaks every in-flight future and cannot say
  which submission killed it; a process per submission can. A submission whose process
  died is regraded alone; if it dies again alone, it is the cause (``memory`` after
  SIGKILL, else ``crashed``); the submissions graded beside it are unaffected.
* **Resume**: a final grade is cached by content hash and grader fingerprint; a grader
  error (``error``), a pending row or a row whose report could not be written is regraded
  on the next run.
* **Writes**: the sheet and state are written atomically after each submission; a failed
  report write becomes part of that row's reason; a failed sheet write raises
  :class:`WriteFailed` (the CLI exits with a one-line message).
"""

import collections
import dataclasses
import errno
import fcntl
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time

from . import exercises, report, sandbox, scoring, sheet, submissions
from .result import SubmissionResult, pending

HERE = os.path.dirname(os.path.abspath(__file__))
FINGERPRINT_FILES = (
    "harness.py",
    "channel.py",
    "sandbox.py",
    "submissions.py",
    "scoring.py",
    "exercises.py",
    "result.py",
    "run.py",
)
"""The code whose change can change a grade (the report's wording cannot)."""


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run a submission safely here; the message says how to fix it."""


class SheetLocked(RuntimeError):
    """Another grading run holds the sheet's lock."""


class WriteFailed(RuntimeError):
    """The sheet or state could not be written (disk full, permissions)."""


def _unavailable_types():
    own = getattr(sandbox, "SandboxUnavailable", None)
    return (SandboxUnavailable, own) if isinstance(own, type) else (SandboxUnavailable,)


# --------------------------------------------------------------------------- pre-flight

INSTALL_BWRAP = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and rerun; "
    "or, only to try the grader on your own work, pass --unsafe-no-isolation "
    "(make grade UNSAFE_NO_ISOLATION=1): nothing is isolated then and every "
    "row says NOT ISOLATED"
)


def choose_mode(allow_unisolated=False):
    """The sandbox mode to grade in, or SandboxUnavailable.

    Uses ``sandbox.choose_mode`` where the sandbox provides it. The fallback here: bwrap
    when it works; ``setuid`` only when forced with ``DLCOURSE_SANDBOX=setuid`` (the
    Gradescope container); ``plain`` only with ``allow_unisolated``.
    """
    if hasattr(sandbox, "choose_mode"):
        try:
            return sandbox.choose_mode(allow_unisolated)
        except _unavailable_types() as exc:
            raise SandboxUnavailable(str(exc)) from None
    forced = os.environ.get("DLCOURSE_SANDBOX")
    if forced == "plain" and not allow_unisolated:
        raise SandboxUnavailable("DLCOURSE_SANDBOX=plain isolates nothing; " + INSTALL_BWRAP)
    if forced in ("bwrap", "setuid", "plain"):
        return forced
    import shutil

    if not shutil.which("bwrap"):
        problem = "bubblewrap (bwrap) is not on PATH"
    elif not sandbox._bwrap_works():
        problem = "bubblewrap (bwrap) is installed but cannot create namespaces here"
    else:
        return "bwrap"
    if allow_unisolated:
        return "plain"
    raise SandboxUnavailable(f"{problem}; " + INSTALL_BWRAP)


def preflight(mode, limits):
    """Prove that ``mode`` runs this environment's Python as the sandbox user, importing
    numpy and the harness; raise SandboxUnavailable saying what is wrong otherwise."""
    if hasattr(sandbox, "preflight"):
        try:
            sandbox.preflight(mode, limits, secret_paths=_secret_paths())
            return
        except _unavailable_types() as exc:
            raise SandboxUnavailable(str(exc)) from None
    if mode == "setuid" and os.getuid() == 0 and not sandbox.python_readable_by_others():
        raise SandboxUnavailable(
            f"setuid mode: the sandbox user cannot read this Python ({sys.prefix}: a folder "
            "above it is not readable by other users); use a Python installed where others "
            "can read it (e.g. /usr/local or /opt with 0755 folders), or " + INSTALL_BWRAP
        )
    probe_limits = dataclasses.replace(limits, timeout=min(limits.timeout, 120.0))
    slot = sandbox.UidSlot()
    student = sandbox.StudentProcess(probe_limits, slot, mode=mode)
    try:
        ran = student.start(["import numpy\nimport math\n"], seed=0)
        errors = student.cell_errors
    except Exception as exc:  # noqa: BLE001 - whatever broke, the sandbox does not work
        ran, errors = False, [{"error": f"{type(exc).__name__}: {exc}"}]
    finally:
        student.close()
    if ran and not errors and student.status is None:
        return
    stderr = student.output_text("stderr").strip().splitlines()[-3:]
    detail = "; ".join([e.get("error", "") for e in errors] + [student.reason or ""] + stderr)
    raise SandboxUnavailable(
        f"the {mode} sandbox cannot run Python with numpy as the sandbox user "
        f"({detail.strip('; ')[:600]}); " + INSTALL_BWRAP
    )


def _secret_paths():
    """One test file per exercise: the pre-flight checks the sandbox user cannot read it."""
    paths = []
    for name in exercises.known_exercises():
        for question in exercises.load_exercise(name).questions:
            if question.tests is not None:
                paths.append(os.path.abspath(question.tests.path))
                break
    return paths


# --------------------------------------------------------------------------- lock


class SheetLock:
    """An exclusive ``flock`` on ``<OUT>.lock`` for the whole run."""

    def __init__(self, out):
        self.path = os.path.abspath(out) + ".lock"
        self.fd = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise SheetLocked(
                f"another grading run (pid {holder}) is writing this sheet: "
                f"{self.path} is locked; wait for it to finish"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # releases the lock; the file may stay
        self.fd = None


# --------------------------------------------------------------------------- fingerprint


def grader_fingerprint(limits, exercise=None, mode=None):
    """Changes whenever anything that can change a grade changes (tests, code, limits)."""
    digest = hashlib.sha256()
    for name in FINGERPRINT_FILES:
        with open(os.path.join(HERE, name), "rb") as f:
            digest.update(f.read())
    for name in exercises.known_exercises():
        digest.update(exercises.load_exercise(name).fingerprint.encode())
    digest.update(json.dumps([dataclasses.asdict(limits), exercise, mode, scoring.SEED]).encode())
    return digest.hexdigest()[:20]


# --------------------------------------------------------------------------- workers


def _die_with_parent(parent_pid):
    """SIGKILL this worker when the grader dies (``sandbox.die_with_parent``: a parent-death
    signal), and exit now if the grader already died before that took effect."""
    sandbox.die_with_parent()
    if os.getppid() != parent_pid:
        os._exit(1)


def _child(conn, parent_pid, path, name, exercise, limits, mode):
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = scoring.grade_file(path, exercise, limits, mode=mode, display_name=name)
    try:
        conn.send(result)
    except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable value: still a row
        conn.send(
            SubmissionResult(
                file=name,
                exercise=exercise,
                status="error",
                reason=f"{scoring.GRADER_ERROR} result not sendable: {type(exc).__name__}",
            )
        )
    conn.close()


@dataclasses.dataclass
class _Running:
    name: str
    process: multiprocessing.Process
    conn: multiprocessing.connection.Connection
    started: float
    solo: bool


def _death_result(name, exercise, exitcode, mode):
    if exitcode is not None and exitcode == -signal.SIGKILL:
        status = "memory"
        why = (
            "was killed (SIGKILL), graded alone: most likely the kernel's out-of-memory "
            "killer, after the submission used too much memory"
        )
    else:
        status = "crashed"
        why = f"died (exit code {exitcode}) twice, the second time graded alone"
    return SubmissionResult(
        file=name,
        exercise=exercise,
        status=status,
        reason=f"the process grading this submission {why}",
        isolation=scoring.isolation_label(mode),
    )


def _hard_deadline(limits):
    """Wall clock after which a grading process is killed (the sandbox has its own, shorter
    limits; this catches a grader side that hangs)."""
    return limits.timeout * 2 + 120


def grade_many(folder, names, exercise, limits, jobs, mode):
    """Yield a SubmissionResult per name as submissions finish (in finishing order)."""
    ctx = multiprocessing.get_context("fork")
    queue = collections.deque(names)
    solo = collections.deque()
    running = {}
    parent = os.getpid()
    try:
        while queue or solo or running:
            # solo submissions (whose process died once) run with nothing beside them
            while queue and len(running) < jobs and not any(r.solo for r in running.values()):
                _start(ctx, running, queue.popleft(), False, folder, exercise, limits, mode, parent)
            if not queue and solo and not running:
                _start(ctx, running, solo.popleft(), True, folder, exercise, limits, mode, parent)
            ready = multiprocessing.connection.wait(
                [r.conn for r in running.values()] + [r.process.sentinel for r in running.values()],
                timeout=5,
            )
            now = time.monotonic()
            for key, run in list(running.items()):
                result = None
                if run.conn in ready or run.process.sentinel in ready:
                    try:
                        if run.conn.poll():
                            result = run.conn.recv()
                    except (EOFError, OSError):
                        result = None
                    if result is None:
                        run.process.join(timeout=5)
                        if run.process.exitcode is None:
                            continue
                elif now - run.started > _hard_deadline(limits):
                    run.process.kill()
                    run.process.join()
                    result = SubmissionResult(
                        file=run.name,
                        exercise=exercise,
                        status="timeout",
                        reason=f"grading took longer than {_hard_deadline(limits):g} s",
                        isolation=scoring.isolation_label(mode),
                    )
                else:
                    continue
                del running[key]
                run.conn.close()
                run.process.join(timeout=10)
                if result is None:  # the process died without a result
                    if hasattr(sandbox, "sweep_stale"):
                        sandbox.sweep_stale()  # its sandbox's folders and cgroup
                    if run.solo:
                        result = _death_result(run.name, exercise, run.process.exitcode, mode)
                    else:
                        solo.append(run.name)
                        continue
                yield result
    finally:
        for run in running.values():
            run.process.kill()
            run.process.join()


def _start(ctx, running, name, solo, folder, exercise, limits, mode, parent):
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_child,
        daemon=True,
        args=(send, parent, os.path.join(folder, name), name, exercise, limits, mode),
    )
    process.start()
    send.close()
    running[process.pid] = _Running(name, process, receive, time.monotonic(), solo)


# --------------------------------------------------------------------------- the folder


def grade_folder(
    folder, out, exercise=None, jobs=None, limits=None, progress=True, force=False, mode=None
):
    """Grade every submission in ``folder`` into ``out``; return SubmissionResults in file
    order. The caller has run the pre-flight for ``mode`` and holds the sheet's lock."""
    limits = limits or sandbox.Limits()
    mode = mode or sandbox.detect_mode()
    jobs = max(1, jobs or os.cpu_count() or 1)
    if hasattr(sandbox, "isolated_concurrency") and not sandbox.isolated_concurrency(mode):
        jobs = 1  # without a uid and a memory cgroup each, one submission could hurt another
    if exercise:
        exercises.load_exercise(exercise)  # fail early on a typo
    for name in exercises.known_exercises():
        exercises.load_exercise(name)  # loaded once here, inherited by every worker
    fingerprint = grader_fingerprint(limits, exercise, mode)
    files = submissions.list_submissions(folder)
    state = sheet.load_state(out)
    old = state["entries"]
    state["entries"] = entries = {}
    results, todo = {}, []
    for name in files:
        digest = sheet.file_sha256(os.path.join(folder, name))
        entry = old.get(name)
        if (
            not force
            and sheet.is_current(entry, digest, fingerprint)
            and entry.get("reports_written", True)
        ):
            entries[name] = entry
            results[name] = SubmissionResult.from_state(entry["result"])
        else:
            todo.append((name, digest))
    digests = dict(todo)

    def flush():
        rows = [sheet.result_row(results.get(n) or pending(n, exercise)) for n in files]
        try:
            sheet.save_state(out, state)
            sheet.write_sheet(out, rows, sheet_questions(exercise, results.values()))
        except OSError as exc:
            raise WriteFailed(
                f"cannot write the grade sheet {out} or its state file: "
                f"{os.strerror(exc.errno) if exc.errno else exc}"
            ) from None

    flush()
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread: workers are forked
    with tqdm(
        total=len(todo), unit="sub", desc="grading", file=sys.stderr, disable=not progress
    ) as bar:
        for result in grade_many(folder, [n for n, _ in todo], exercise, limits, jobs, mode):
            result.sha256 = digests[result.file]
            written = write_reports(out, result)
            results[result.file] = result
            entries[result.file] = {
                "sha256": result.sha256,
                "fingerprint": fingerprint,
                "result": result.to_state(),
                "reports_written": written,
            }
            flush()
            bar.update(1)
    return [results[name] for name in files]


def write_reports(out, result):
    """Write the student and instructor reports; on failure note it in the row's reason
    (the run goes on) and return False so that the next run regrades it."""
    try:
        sheet.write_report(out, result.file, report.student_report(result))
        sheet.write_report(out, result.file, report.instructor_report(result), instructor=True)
        return True
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        if exc.errno == errno.ENAMETOOLONG:
            why = "name too long"
        note = f"report not written: {why}"
        result.reason = f"{result.reason}; {note}" if result.reason else note
        return False


def sheet_questions(exercise, results):
    names = [exercise] if exercise else sorted({r.exercise for r in results if r.exercise})
    questions = []
    for name in names:
        try:
            questions += [
                q for q in exercises.load_exercise(name).question_names if q not in questions
            ]
        except KeyError:
            pass
    return questions


def status_counts(results):
    return collections.Counter(r.status for r in results)
