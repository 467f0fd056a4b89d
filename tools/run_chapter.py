"""Execute chapters outside the book build, with the book's rules, and report time and problems.

    .venv/bin/python tools/run_chapter.py book/optimizers.md [more.md ...]

A chapter is read and executed as `make book` does (the book's MyST and myst-nb settings,
its timeout, jupyter-cache's executor); a cell error, a dead kernel or, when the book
treats stderr output as an error, any stderr output is a failure. Use KERAS_BACKEND=jax
to try the other backend. The executed notebooks go to _build/chapters/. Exit status 1
on any failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import build  # the sibling script: this folder is on sys.path when run as a script
import nbformat

OUT = build.ROOT / "_build" / "chapters"


def run(path: Path, config: build.BookConfig) -> bool:
    nb = build.read_notebook(path, config)
    outcome = build.execute_notebook(nb, build.execution_folder(path, config), config)
    if outcome.error:
        print(f"FAIL {path}: execution failed after {outcome.seconds:.1f} s\n{outcome.error}")
        return False
    problems = (
        list(build.stderr_outputs(outcome.nb)) if config.nb_config.output_stderr == "error" else []
    )
    for first_line, text in problems:
        print(f"FAIL {path}: stderr in cell starting {first_line!r}:\n{text[:2000]}")
    OUT.mkdir(parents=True, exist_ok=True)
    nbformat.write(outcome.nb, OUT / f"{path.stem}.ipynb")
    print(
        f"{'FAIL' if problems else 'ok  '} {path}: {outcome.seconds:.1f} s "
        f"(backend {config.backend}); executed copy in {OUT}"
    )
    return not problems


def main(argv: list[str]) -> int:
    config = build.book_config(build.ROOT, os.environ.get("KERAS_BACKEND", "tensorflow"))
    results = [run(Path(p).resolve(), config) for p in argv]
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
