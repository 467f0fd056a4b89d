"""Build-time benchmark: cold and cached builds per backend, per chapter, with peak memory.

    python tools/bench_build.py [--backends tensorflow jax] [--jobs 2] [--serial]

For each backend it removes that backend's execution cache and Sphinx output, builds the book as
`make book` does (timing every chapter's execution), then builds again with nothing
changed (the cached rebuild). Peak memory is the largest total resident memory of the
build's whole process tree, sampled every 0.2 s. `--serial` adds a cold run with one
worker for the first backend, to show what parallel execution buys. Results: a table on stdout and
`_build/bench/build.json`. Per-chapter GPU times from a run on a GPU machine
(`tools/gpu_run.py`, saved as `_build/bench/gpu.json`) are shown beside them when present.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402

ROOT = build.ROOT
BENCH = ROOT / "_build" / "bench"


def tree_rss(proc):
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(cmd, env):
    """Run cmd; return (seconds, peak tree RSS in MiB, returncode, output tail)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        ps = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                peak = max(peak, tree_rss(ps))
            except psutil.Error:
                break
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    return time.perf_counter() - start, peak / 2**20, proc.returncode, out[-3000:]


def bench_backend(backend, jobs):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    # Cold means nothing left from an earlier build: no cache, no Sphinx environment, no HTML.
    out = build.output_root(ROOT, backend) / "_build"
    for name in (".jupyter_cache", ".doctrees", "html", "jupyter_execute"):
        shutil.rmtree(out / name, ignore_errors=True)
    times_file = BENCH / f"chapters-{backend}-j{jobs}.json"
    cmd = [sys.executable, str(ROOT / "tools" / "build.py"), "--jobs", str(jobs),
           "--times", str(times_file)]
    cold, peak, rc, tail = run_measured(cmd, env)
    if rc != 0:
        raise SystemExit(f"cold build on {backend} failed:\n{tail}")
    # The rebuild must not overwrite the cold run's chapter times.
    cmd[-1] = str(BENCH / f"cached-{backend}-j{jobs}.json")
    cached, cached_peak, rc, tail = run_measured(cmd, env)
    if rc != 0:
        raise SystemExit(f"cached build on {backend} failed:\n{tail}")
    return {
        "backend": backend,
        "jobs": jobs,
        "cold_seconds": round(cold, 1),
        "cached_seconds": round(cached, 1),
        "peak_rss_mib": round(max(peak, cached_peak)),
        "chapters": {k: round(v, 1) for k, v in json.loads(times_file.read_text()).items()},
    }


def table(runs, gpu):
    chapters = sorted({c for r in runs for c in r["chapters"]})
    heads = [f"{r['backend']} j{r['jobs']}" for r in runs] + (["GPU jax"] if gpu else [])
    lines = [f"{'chapter':34s}" + "".join(f"{h:>16s}" for h in heads)]
    for c in chapters:
        cells = [f"{r['chapters'].get(c, float('nan')):16.1f}" for r in runs]
        if gpu:
            cells.append(f"{gpu['chapters'].get(c, float('nan')):16.1f}")
        lines.append(f"{c:34s}" + "".join(cells))
    for key, label in [("cold_seconds", "cold build (s)"), ("cached_seconds", "cached rebuild (s)"),
                       ("peak_rss_mib", "peak memory (MiB)")]:
        lines.append(f"{label:34s}" + "".join(f"{r[key]:16}" for r in runs))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--jobs", type=int, default=build.default_jobs())
    parser.add_argument("--serial", action="store_true", help="also time a one-worker build of the first backend")
    args = parser.parse_args(argv)
    BENCH.mkdir(parents=True, exist_ok=True)
    runs = []
    for backend in args.backends:
        serial = args.serial and backend == args.backends[0] and args.jobs != 1
        job_counts = [1, args.jobs] if serial else [args.jobs]
        for jobs in job_counts:
            print(f"benchmarking {backend} with {jobs} worker(s) ...", flush=True)
            runs.append(bench_backend(backend, jobs))
    gpu_file = BENCH / "gpu.json"
    gpu = json.loads(gpu_file.read_text()) if gpu_file.exists() else None
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "memory_gib": round(psutil.virtual_memory().total / 2**30, 1)},
        "runs": runs,
        "gpu": gpu,
    }
    (BENCH / "build.json").write_text(json.dumps(report, indent=2))
    print(table(runs, gpu))
    print(f"report: {BENCH / 'build.json'}")


if __name__ == "__main__":
    main()
