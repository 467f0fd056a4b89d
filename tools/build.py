"""Build the book: execute changed chapters in parallel into jupyter-cache, then run Sphinx.

    python tools/build.py [--jobs N] [--no-build]

`jupyter-book build` executes chapters one after another. Chapters are independent, so
this script first executes the ones whose code changed (jupyter-cache knows which) in
N worker processes, storing the results in the very cache the book build reads; the
build then only renders. Unchanged chapters are not executed at all. A chapter that
fails here is left for the build, which executes it again and reports the error with
its traceback, so the build stays the single judge of success.

The output folder depends on the backend: `_build/html` for TensorFlow (the default),
`_build/<backend>/_build/html` otherwise, each with its own cache, so that switching
`KERAS_BACKEND` never serves one backend's results as the other's.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD_FLAGS = ["--warningiserror", "--nitpick", "--keep-going"]


def backend():
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def output_root(root=ROOT, backend_name=None):
    """The folder holding `_build` for a backend (the repository itself for TensorFlow)."""
    backend_name = backend_name or backend()
    return root if backend_name == "tensorflow" else root / "_build" / backend_name


def cache_path(root=ROOT, backend_name=None):
    return output_root(root, backend_name) / "_build" / ".jupyter_cache"


def chapters(root=ROOT):
    """Source files of the toc entries that contain code cells, in toc order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [toc["root"]] + [c["file"] for p in toc.get("parts", [{"chapters": toc.get("chapters", [])}])
                               for c in p["chapters"]]
    paths = [root / f"{e}.md" for e in entries]
    return [p for p in paths if p.exists() and "```{code-cell}" in p.read_text()]


def read_notebook(path):
    # The same reader myst-nb uses, so the cache key (the code cells) matches the build's.
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(Path(path).read_text(), path=str(path))


def timeout_seconds(root=ROOT):
    config = yaml.safe_load((root / "_config.yml").read_text())
    return int(config.get("execute", {}).get("timeout", 600))


def execute_one(path, timeout):
    """Execute one chapter in a fresh kernel (runs in a worker process)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    nb = read_notebook(path)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), allow_errors=False,
                                 timeout=timeout, meta_override=True)
    error = None if result.err is None else f"{type(result.err).__name__}: {result.err}"
    return str(path), nbformat.writes(nb), result.time, error


def stale_chapters(cache, paths):
    stale = []
    for path in paths:
        try:
            cache.match_cache_notebook(read_notebook(path))
        except KeyError:
            stale.append(path)
    return stale


def execute(jobs, root=ROOT, log=print):
    """Execute every chapter whose code is not in the cache; return {chapter: seconds}."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path(root)))
    todo = stale_chapters(cache, chapters(root))
    times = {}
    if not todo:
        log("all chapters are cached")
        return times
    log(f"executing {len(todo)} chapter(s) with {jobs} worker(s), backend {backend()}")
    timeout = timeout_seconds(root)
    if jobs > 1:
        # Chapters already run side by side: one BLAS thread each avoids oversubscription.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(execute_one, p, timeout) for p in todo]
        for future in as_completed(futures):
            path, text, seconds, error = future.result()
            name = Path(path).relative_to(root)
            if error:
                log(f"  FAILED {name} ({seconds:.1f} s): {error.splitlines()[0]}; "
                    "the build will report it")
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nbformat.reads(text, as_version=4), path,
                              data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True)
            times[str(name)] = seconds
            log(f"  {name}: {seconds:.1f} s")
    return times


def build(root=ROOT, extra_env=None, capture=False):
    """Run the Sphinx build (warnings are errors); return the CompletedProcess."""
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), *BUILD_FLAGS]
    if backend() != "tensorflow":
        cmd += ["--path-output", str(output_root(root))]
    env = dict(os.environ, **(extra_env or {}))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return subprocess.run(cmd, cwd=root, env=env, capture_output=capture, text=True)


def default_jobs():
    # Each kernel holds a deep-learning framework (about 1 GiB): one per core is plenty.
    return max(1, min(os.cpu_count() or 1, 4))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="chapters executed at once (default: cores, at most 4)")
    parser.add_argument("--no-build", action="store_true", help="only fill the cache")
    parser.add_argument("--times", type=Path, help="write executed chapter times as JSON")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    times = execute(args.jobs)
    if args.times:
        args.times.parent.mkdir(parents=True, exist_ok=True)
        args.times.write_text(json.dumps(times, indent=2))
    print(f"execution: {time.perf_counter() - start:.1f} s")
    if args.no_build:
        return 0
    result = build()
    html = output_root() / "_build" / "html"
    if result.returncode == 0:
        print(f"site: {html}/index.html ({time.perf_counter() - start:.1f} s in all)")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
