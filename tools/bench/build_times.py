"""Build-time benchmark: `make book` against stock `jupyter-book build`, cold and cached.

    .venv/bin/python -m tools.bench.build_times [--backends tensorflow jax] [--jobs 2]
                                                [--serial] [--no-stock] [--rounds N]

For each backend it removes that backend's execution cache, chapter times and Sphinx
output, builds the book as `make book` does (timing every chapter's execution), then
builds again with nothing changed (the cached rebuild). For the first backend it also
builds the same tree cold with stock `jupyter-book build` (chapters one after another)
into `_build/stock/`, and reports the ratio of the two cold builds. Peak memory is the
largest total memory of a build's whole process tree (proportional set sizes, so that
pages shared by forked kernels count once). `--serial` adds a cold run with one worker.
`--rounds N` repeats the two cold builds of the first backend, one after the other, N
times in all (on a shared machine one build can be 15% slower than the next), and the
ratio is that of their sums. Results: a table on stdout and `_build/bench/build.json`.
Per-chapter GPU times (`tools/bench/gpu.py`, saved as `_build/bench/gpu.json`) are shown beside them
when present.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

import psutil

from tools import build
from tools.bench.measure import run_measured

ROOT = build.ROOT
BENCH = ROOT / "_build" / "bench"
STOCK = ROOT / "_build" / "stock"


def cold(out: Path) -> None:
    """Remove everything an earlier build left in a `_build` folder."""
    for name in (".jupyter_cache", ".doctrees", "html", "jupyter_execute", build.TIMES_FILE):
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def bench_backend(backend: str, jobs: int) -> dict[str, Any]:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    cold(build.output_root(ROOT, backend) / "_build")
    times_file = BENCH / f"chapters-{backend}-j{jobs}.json"
    cmd = [
        sys.executable,
        str(ROOT / "tools" / "build.py"),
        "--jobs",
        str(jobs),
        "--times",
        str(times_file),
    ]
    first = run_measured(cmd, env, ROOT)
    if first.returncode != 0:
        raise SystemExit(f"cold build on {backend} failed:\n{first.output_tail}")
    # The rebuild must not overwrite the cold run's chapter times.
    cmd[-1] = str(BENCH / f"cached-{backend}-j{jobs}.json")
    again = run_measured(cmd, env, ROOT)
    if again.returncode != 0:
        raise SystemExit(f"cached build on {backend} failed:\n{again.output_tail}")
    return {
        "backend": backend,
        "jobs": jobs,
        "cold_seconds": round(first.seconds, 1),
        "cached_seconds": round(again.seconds, 1),
        "peak_memory_mib": round(max(first.peak_mib, again.peak_mib)),
        "chapters": {k: round(v, 1) for k, v in json.loads(times_file.read_text()).items()},
    }


def bench_stock(backend: str) -> dict[str, Any]:
    """Stock `jupyter-book build` of the same tree, cold, into its own output and cache."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    shutil.rmtree(STOCK, ignore_errors=True)
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build",
        str(ROOT),
        *build.BUILD_FLAGS,
        "--path-output",
        str(STOCK),
    ]
    run = run_measured(cmd, env, ROOT)
    if run.returncode != 0:
        raise SystemExit(f"stock build on {backend} failed:\n{run.output_tail}")
    return {
        "backend": backend,
        "cold_seconds": round(run.seconds, 1),
        "peak_memory_mib": round(run.peak_mib),
    }


def table(runs: list[dict], gpu: dict | None, stock: dict | None) -> str:
    chapters = sorted({c for r in runs for c in r["chapters"]})
    heads = [f"{r['backend']} j{r['jobs']}" for r in runs] + (["GPU jax"] if gpu else [])
    lines = [f"{'chapter':34s}" + "".join(f"{h:>16s}" for h in heads)]
    for c in chapters:
        cells = [f"{r['chapters'].get(c, float('nan')):16.1f}" for r in runs]
        if gpu:
            cells.append(f"{gpu['chapters'].get(c, float('nan')):16.1f}")
        lines.append(f"{c:34s}" + "".join(cells))
    for key, label in [
        ("cold_seconds", "cold build (s)"),
        ("cached_seconds", "cached rebuild (s)"),
        ("peak_memory_mib", "peak memory (MiB)"),
    ]:
        lines.append(f"{label:34s}" + "".join(f"{r[key]:16}" for r in runs))
    if stock:
        for i, pair in enumerate(stock["rounds"], 1):
            lines.append(
                f"round {i}: make book {pair['make_book']} s, stock {pair['stock']} s cold "
                f"({pair['make_book'] / pair['stock']:.2f})"
            )
        lines.append(
            f"stock jupyter-book build, {stock['backend']}: {stock['cold_seconds']} s cold, "
            f"{stock['peak_memory_mib']} MiB; make book / stock = {stock['ratio']:.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--jobs", type=int, default=build.default_jobs())
    parser.add_argument(
        "--serial", action="store_true", help="also time a one-worker build of the first backend"
    )
    parser.add_argument(
        "--no-stock",
        action="store_true",
        help="skip the stock `jupyter-book build` of the first backend",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="cold builds of make book and of stock, alternating, of the first backend",
    )
    args = parser.parse_args(argv)
    BENCH.mkdir(parents=True, exist_ok=True)
    runs = []
    for backend in args.backends:
        serial = args.serial and backend == args.backends[0] and args.jobs != 1
        for jobs in [1, args.jobs] if serial else [args.jobs]:
            print(f"benchmarking {backend} with {jobs} worker(s) ...", flush=True)
            runs.append(bench_backend(backend, jobs))
    stock = None
    if not args.no_stock:
        first = args.backends[0]
        print(f"benchmarking stock jupyter-book build on {first} ...", flush=True)
        stock = bench_stock(first)
        mine = next(r for r in runs if r["backend"] == first and r["jobs"] == args.jobs)
        pairs = [{"make_book": mine["cold_seconds"], "stock": stock["cold_seconds"]}]
        for round_number in range(2, args.rounds + 1):
            print(f"round {round_number}: make book, then stock, on {first} ...", flush=True)
            ours = bench_backend(first, args.jobs)["cold_seconds"]
            pairs.append({"make_book": ours, "stock": bench_stock(first)["cold_seconds"]})
        stock["rounds"] = pairs
        stock["ratio"] = round(
            sum(p["make_book"] for p in pairs) / sum(p["stock"] for p in pairs), 2
        )
    gpu_file = BENCH / "gpu.json"
    gpu = json.loads(gpu_file.read_text()) if gpu_file.exists() else None
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "runs": runs,
        "stock": stock,
        "gpu": gpu,
    }
    (BENCH / "build.json").write_text(json.dumps(report, indent=2))
    print(table(runs, gpu, stock))
    print(f"report: {BENCH / 'build.json'}")


if __name__ == "__main__":
    main()
