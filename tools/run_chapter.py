"""Execute one or more chapters outside the book build and report time and problems.

    .venv/bin/python tools/run_chapter.py book/optimizers.md [more.md ...]

It applies the book's rules: a cell error or any stderr output is a failure.
Use KERAS_BACKEND=jax to try the other backend. Exit status 1 on any failure.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from myst_nb.core.read import read_myst_markdown_notebook
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def stderr_outputs(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                yield cell.source.splitlines()[0] if cell.source else "", out["text"]


def run(path):
    path = Path(path)
    nb = read_myst_markdown_notebook(path.read_text())
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        print(f"FAIL {path}: cell error\n{err}")
        return False
    elapsed = time.perf_counter() - start
    problems = list(stderr_outputs(nb))
    for first_line, text in problems:
        print(f"FAIL {path}: stderr in cell starting {first_line!r}:\n{text[:2000]}")
    out_dir = Path("_build/chapters")
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / (path.stem + ".ipynb"))
    print(f"{'ok  ' if not problems else 'FAIL'} {path}: {elapsed:.1f} s "
          f"(backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}); executed copy in {out_dir}")
    return not problems


if __name__ == "__main__":
    results = [run(p) for p in sys.argv[1:]]
    sys.exit(0 if all(results) else 1)
