"""Execute every chapter on a GPU machine with JAX and record the times.

The lent GPU machine has JAX with CUDA, matplotlib, scipy, pandas and scikit-learn,
but no Jupyter stack, no Keras and no network. So the chapters travel as plain Python
scripts and Keras as wheels:

    .venv/bin/python -m tools.bench.gpu prepare   # here: writes .gpu/ (scripts, wheels, a stub)
    # on the GPU machine, from the repository root, with .gpu carried along:
    python3 -m tools.bench.gpu run --out "$OUT"   # writes gpu.json: seconds and device per chapter

Copy the resulting gpu.json to _build/bench/gpu.json; `make bench` then prints the GPU
column beside the CPU times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / ".gpu"
WHEELS = ["keras==3.15.1", "namex", "optree"]

# myst_nb.glue only records values for the rendered page; on the GPU run it does nothing.
GLUE_STUB = "def glue(name, value, display=True):\n    return value\n"


def prepare() -> None:
    from tools import build  # not needed (nor installed) on the GPU machine

    config = build.book_config(ROOT, "jax")
    scripts = STAGE / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    (STAGE / "stub" / "myst_nb").mkdir(parents=True, exist_ok=True)
    (STAGE / "stub" / "myst_nb" / "__init__.py").write_text(GLUE_STUB)
    for path, nb in build.chapter_notebooks(config).items():
        code = "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")
        (scripts / f"{path.stem}.py").write_text(
            "import matplotlib\nmatplotlib.use('Agg')\n" + code + "\n"
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            "--platform",
            "manylinux_2_28_x86_64",
            "--platform",
            "manylinux_2_17_x86_64",
            "--platform",
            "manylinux2014_x86_64",
            "-d",
            str(STAGE / "wheels"),
            *WHEELS,
        ],
        check=True,
    )
    print(f"prepared {len(list(scripts.iterdir()))} chapters in {STAGE}")


def run(out: str) -> None:
    site = Path("/tmp/gpu-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--target",
            str(site),
            *map(str, (STAGE / "wheels").glob("*.whl")),
        ],
        check=True,
    )
    env = dict(
        os.environ,
        KERAS_BACKEND="jax",
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(site), str(STAGE / "stub"), str(ROOT)]),
    )
    results = {}
    for script in sorted((STAGE / "scripts").glob("*.py")):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT / "book",
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        seconds = time.perf_counter() - start
        device = next((line for line in proc.stdout.splitlines() if "backend" in line), "")
        results[f"book/{script.stem}.md"] = round(seconds, 1)
        status = "ok" if proc.returncode == 0 else "FAILED: " + proc.stderr.strip()[-300:]
        print(f"{script.stem:28s} {seconds:7.1f} s  {device}  {status}", flush=True)
    gpu = subprocess.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True
    ).stdout.strip()
    report = {"card": gpu, "backend": "jax", "chapters": results}
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "gpu.json").write_text(json.dumps(report, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare")
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--out", default=os.environ.get("OUT", "."))
    args = parser.parse_args()
    prepare() if args.command == "prepare" else run(args.out)


if __name__ == "__main__":
    main()
