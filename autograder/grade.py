"""Grade a folder of submissions: ``python -m autograder.grade SUBMISSIONS --out grades.csv``.

The command line only; the work is done by ``exercises`` (the exercise registry and test
loading), ``scoring`` (one submission), ``run`` (pre-flight, lock, workers, resume) and
``sheet``/``report`` (what is written). Output: the CSV (``file``, ``exercise``, one column
per question, ``total``, ``status``, ``backend``, ``reason``, ``report``), a state file for
resuming (``grades.state.json``), a report per submission for the student
(``grades_reports/``) and one for the instructor (``grades_instructor_reports/``).

Exit status: 0 graded (whatever the grades); 2 refused (the sandbox cannot isolate
submissions here: nothing is written); 3 another run holds the sheet; 4 the sheet could not
be written.
"""

import argparse
import sys

from . import sandbox
from .exercises import EXERCISES, exercise_dir, exercises_root, known_exercises, load_exercise  # noqa: F401
from .run import (
    SandboxUnavailable,
    SheetLock,
    SheetLocked,
    WriteFailed,
    choose_mode,
    grade_folder,
    preflight,
    status_counts,
)
from .scoring import grade_file  # noqa: F401  (the one-submission entry point, for Gradescope)

EXIT_REFUSED, EXIT_LOCKED, EXIT_WRITE_FAILED = 2, 3, 4


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autograder.grade", description=__doc__.split("\n")[0]
    )
    parser.add_argument("submissions", help="folder of .ipynb / .zip submissions")
    parser.add_argument("--out", default="grades.csv", help="CSV to write (default grades.csv)")
    parser.add_argument(
        "--exercise",
        help="grade only this exercise: a notebook of another "
        "gets wrong-exercise and 0 (default: each notebook's metadata)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="parallel submissions (default: cores)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=sandbox.Limits.timeout,
        help="seconds per submission (default %(default)s)",
    )
    parser.add_argument(
        "--call-timeout",
        type=float,
        default=sandbox.Limits.call_timeout,
        help="seconds per call of a student function (default %(default)s)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=sandbox.Limits.memory_mb,
        help="memory cap per student process in MiB (default %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="regrade everything")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--unsafe-no-isolation",
        "--allow-unisolated",
        action="store_true",
        help="grade even where no sandbox works: submissions run as you, "
        "unisolated (only for trying the grader on your own notebooks); every "
        "row says NOT ISOLATED",
    )
    args = parser.parse_args(argv)
    import os

    if not os.path.isdir(args.submissions):
        parser.error(f"{args.submissions} is not a folder")
    if args.exercise and args.exercise not in known_exercises():
        parser.error(f"unknown exercise {args.exercise!r} (known: {', '.join(known_exercises())})")
    limits = sandbox.Limits(
        timeout=args.timeout,
        call_timeout=min(args.call_timeout, args.timeout),
        memory_mb=args.memory_mb,
    )
    try:
        mode = choose_mode(args.unsafe_no_isolation)
        preflight(mode, limits)  # before anything is written, the lock file included
        if mode == "plain":
            print(
                "WARNING: --unsafe-no-isolation: submissions run NOT ISOLATED, as you, "
                "with your files; never use this for a class",
                file=sys.stderr,
            )
        with SheetLock(args.out):
            results = grade_folder(
                args.submissions,
                args.out,
                args.exercise,
                args.jobs,
                limits,
                progress=not args.no_progress,
                force=args.force,
                mode=mode,
            )
    except SandboxUnavailable as exc:
        print(
            f"refusing to grade: {str(exc).rstrip('. ')}. Nothing was graded or written.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except SheetLocked as exc:
        print(f"refusing to grade: {exc}.", file=sys.stderr)
        return EXIT_LOCKED
    except WriteFailed as exc:
        print(
            f"error: {exc}. Free space or fix permissions and rerun: grades "
            "already saved in the state file are not regraded.",
            file=sys.stderr,
        )
        return EXIT_WRITE_FAILED
    counts = status_counts(results)
    print(
        f"{len(results)} submission(s) -> {args.out} ({mode} sandbox): "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
