"""Build the book: execute stale chapters in parallel into jupyter-cache, then run Sphinx.

    python tools/build.py [--jobs N] [--no-build] [--times FILE] [--root DIR]

`jupyter-book build` executes chapters one after another. Chapters are independent, so
this script first executes the stale ones in N worker processes and stores them in the
very cache Sphinx reads; Sphinx then only renders. Everything that decides what Sphinx
would do comes from Jupyter Book's own final configuration (`_config.yml` merged with its
defaults): the MyST and myst-nb settings a chapter is read with (so the cache key here is
the key Sphinx computes), the cache folder, the timeout, the execution mode.

A chapter is stale when jupyter-cache has no record of its code, or when the record was
made against other contents of the shared code and data it uses (the `dlcourse` modules
it imports, directly or through other `dlcourse` modules, and the `book/data` files whose
names appear in its code). jupyter-cache only hashes the code cells, so the digest of
those files is stored with each record, and a record whose digest no longer matches is
removed before the chapter runs again.

A chapter that fails here (a cell error, a timeout, a dead kernel) is reported and left
out of the cache; Sphinx then executes it again and fails the build with its traceback,
so Sphinx stays the single judge of success.

The output folder depends on the backend: `_build/html` for TensorFlow (the default),
`_build/<backend>/_build/html` otherwise, each with its own cache, so that switching
`KERAS_BACKEND` never serves one backend's results as the other's.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import fnmatch
import functools
import hashlib
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

if __package__:
    from . import warm_kernels
else:  # run as a script (make book): this folder is on sys.path
    import warm_kernels

ROOT = Path(__file__).resolve().parents[1]
BUILD_FLAGS = ["--warningiserror", "--nitpick", "--keep-going"]
SHARED_PACKAGE = "dlcourse"
DATA_FOLDER = Path("book") / "data"
DIGEST_KEY = "shared_digest"
"""Key of the shared-code digest in the `data` of a jupyter-cache record."""
THREAD_LIMITS = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}
"""Set in the worker processes only: chapters already run side by side, one per core.
(The book's small networks gain nothing from TensorFlow's thread pools: one chapter alone
took 49 CPU and 49 wall seconds with one thread, against 66 CPU and 57 wall seconds with
its default pools on two cores.)"""
PRELOADED_MODULES = ("numpy", "pandas", "keras")
"""What nearly every chapter imports (Keras brings its backend, about 6 CPU seconds with
TensorFlow): each worker imports them once and the chapters' kernels are forks of it
(tools/warm_kernels.py)."""
TIMES_FILE = "chapter_seconds.json"
"""Last execution time of each chapter, kept beside the cache to schedule long ones first."""

Log = Callable[[str], None]
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def backend() -> str:
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def output_root(root: Path = ROOT, backend_name: str | None = None) -> Path:
    """The folder holding `_build` for a backend (the book root itself for TensorFlow)."""
    backend_name = backend_name or backend()
    return root if backend_name == "tensorflow" else root / "_build" / backend_name


def html_dir(root: Path = ROOT, backend_name: str | None = None) -> Path:
    return output_root(root, backend_name) / "_build" / "html"


# ------------------------------------------------------------------ the book's configuration


@dataclasses.dataclass(frozen=True)
class BookConfig:
    """What Sphinx will use to read and execute the chapters of one book and backend."""

    root: Path
    backend: str
    sphinx: dict[str, Any]
    md_config: Any  # myst_parser MdParserConfig
    nb_config: Any  # myst_nb NbParserConfig

    @property
    def cache_path(self) -> Path:
        """`execute.cache` if set, else myst-nb's default: `.jupyter_cache` beside the html."""
        configured = self.nb_config.execution_cache_path
        if configured:
            return (self.root / configured).resolve()
        return html_dir(self.root, self.backend).parent / ".jupyter_cache"

    @property
    def timeout(self) -> int:
        return self.nb_config.execution_timeout

    @property
    def times_file(self) -> Path:
        return self.cache_path.parent / TIMES_FILE


def book_config(root: Path = ROOT, backend_name: str | None = None) -> BookConfig:
    """Jupyter Book's final Sphinx configuration of the book at root, as parser configs."""
    from jupyter_book.config import get_final_config
    from myst_nb.core.config import NbParserConfig
    from myst_parser.config.main import MdParserConfig

    sphinx, _ = get_final_config(
        user_yaml=root / "_config.yml",
        cli_config={"latex_individualpages": False},
        sourcedir=root,
        raise_on_invalid=True,
    )

    # The same selection of Sphinx values that myst-parser and myst-nb make at setup.
    def values(config_class: type, prefix: str, excluded: Callable[[Any], bool]) -> dict:
        return {
            name: sphinx[prefix + name]
            for name, _, field in config_class().as_triple()
            if prefix + name in sphinx and not excluded(field)
        }

    md_config = MdParserConfig(
        **values(MdParserConfig, "myst_", lambda f: "sphinx" in f.metadata.get("omit", []))
    )
    nb_config = NbParserConfig(
        **values(NbParserConfig, "nb_", lambda f: f.metadata.get("sphinx_exclude"))
    )
    return BookConfig(root, backend_name or backend(), sphinx, md_config, nb_config)


def toc_documents(root: Path = ROOT) -> list[str]:
    """Docnames of the table of contents (`_toc.yml`), in reading order."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    return list(parse_toc_yaml(root / "_toc.yml"))


def source_file(root: Path, docname: str) -> Path | None:
    for suffix in (".md", ".ipynb"):
        if (root / f"{docname}{suffix}").is_file():
            return root / f"{docname}{suffix}"
    return None


def notebook_reader(path: Path, config: BookConfig) -> Callable[[str], Any] | None:
    """myst-nb's reader for a source file with the book's settings (None: not a notebook)."""
    from myst_nb.core.read import create_nb_reader

    text = path.read_text(encoding="utf8")
    reader = create_nb_reader(str(path), config.md_config, config.nb_config, text)
    return None if reader is None else reader.read


def read_notebook(path: Path, config: BookConfig) -> Any:
    """The notebook Sphinx will see for a chapter (its code cells are the cache key)."""
    reader = notebook_reader(path, config)
    if reader is None:
        raise ValueError(f"{path} is not a notebook")
    return reader(path.read_text(encoding="utf8"))


def chapter_notebooks(config: BookConfig) -> dict[Path, Any]:
    """{source: notebook} of the toc entries that are notebooks with code cells, in toc
    order, leaving out those the configuration excludes from execution."""
    found = {}
    for docname in toc_documents(config.root):
        path = source_file(config.root, docname)
        reader = None if path is None else notebook_reader(path, config)
        if reader is None:
            continue
        relative = path.relative_to(config.root).as_posix()
        if any(fnmatch.fnmatch(relative, p) for p in config.nb_config.execution_excludepatterns):
            continue
        nb = reader(path.read_text(encoding="utf8"))
        if any(c.cell_type == "code" for c in nb.cells):
            found[path] = nb
    return found


def chapters(config: BookConfig) -> list[Path]:
    """Sources of the chapters that execute, in toc order."""
    return list(chapter_notebooks(config))


# ------------------------------------------------------------------ shared code and data


def code_of(cells: Iterable[Any]) -> str:
    """The code cells as plain Python: a cell Python cannot parse (magics, shell escapes) goes
    through IPython's own transformer, which turns that syntax into calls."""
    sources = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        try:
            ast.parse(cell.source)
            sources.append(cell.source)
        except SyntaxError:
            from IPython.core.inputtransformer2 import TransformerManager

            sources.append(TransformerManager().transform_cell(cell.source))
    return "\n".join(sources)


@dataclasses.dataclass(frozen=True)
class CodeFacts:
    """What a piece of code imports (absolute module names) and its string literals."""

    imports: frozenset[str]
    strings: frozenset[str]


def code_facts(code: str, package: str | None = None) -> CodeFacts:
    """Imports and strings of code in `package` (relative imports resolve against it);
    `from x import y` counts as importing x and, if it is a module, x.y."""
    imports, strings = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and package:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            imports.add(base)
            imports.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.add(node.value)
    return CodeFacts(frozenset(imports), frozenset(strings))


@functools.lru_cache(maxsize=256)
def _module_facts(path: Path, package: str, mtime_ns: int) -> CodeFacts:
    # Keyed on the modification time too: a module edited between two calls is read again.
    return code_facts(path.read_text(encoding="utf8"), package)


def shared_dependencies(code: str, root: Path = ROOT) -> list[Path]:
    """The shared modules and data files a chapter's code uses, transitively.

    Written here rather than with `modulefinder`, which would follow every import into
    Keras and TensorFlow: only `dlcourse` modules (and the packages above them, whose
    `__init__` runs on import) and `book/data` files named in string literals count.
    """
    package_dir = root / SHARED_PACKAGE
    data_files = sorted(p for p in (root / DATA_FOLDER).rglob("*") if p.is_file())
    try:
        pending = [code_facts(code)]
    except SyntaxError:  # not Python we can read: assume it uses everything shared
        return sorted([*package_dir.rglob("*.py"), *data_files])
    found: set[Path] = set()
    strings: set[str] = set()
    while pending:
        facts = pending.pop()
        strings |= facts.strings
        for name in facts.imports:
            parts = name.split(".")
            if parts[0] != SHARED_PACKAGE:
                continue
            for depth in range(1, len(parts) + 1):
                module_path = package_dir.parent.joinpath(*parts[:depth])
                for candidate, is_package in (
                    (module_path / "__init__.py", True),
                    (module_path.with_suffix(".py"), False),
                ):
                    if candidate.is_file() and candidate not in found:
                        found.add(candidate)
                        own_package = ".".join(parts[:depth] if is_package else parts[: depth - 1])
                        mtime = candidate.stat().st_mtime_ns
                        pending.append(_module_facts(candidate, own_package, mtime))
    found.update(p for p in data_files if any(p.name in s for s in strings))
    return sorted(found)


def dependency_digest(files: Iterable[Path], root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def chapter_digest(nb: Any, root: Path = ROOT) -> str:
    return dependency_digest(shared_dependencies(code_of(nb.cells), root), root)


# ------------------------------------------------------------------ execution


@dataclasses.dataclass
class Outcome:
    """One chapter's execution: the notebook with outputs, seconds, and the error if any."""

    nb: Any
    seconds: float
    error: str | None


def execute_notebook(nb: Any, cwd: Path, config: BookConfig, **client: Any) -> Outcome:
    """Execute a notebook in place the way myst-nb's cache mode does (jupyter-cache's
    executor); `client` goes to nbclient's NotebookClient (e.g. its kernel manager class)."""
    from jupyter_cache.executors.utils import single_nb_execution

    start = time.perf_counter()
    try:
        result = single_nb_execution(
            nb,
            cwd=str(cwd),
            timeout=config.timeout,
            allow_errors=config.nb_config.execution_allow_errors,
            meta_override=True,
            **client,
        )
    except Exception:  # a dead kernel escapes jupyter-cache's executor
        return Outcome(nb, time.perf_counter() - start, traceback.format_exc())
    error = None if result.err is None else (result.exc_string or repr(result.err))
    return Outcome(nb, result.time, error)


def stderr_outputs(nb: Any) -> Iterator[tuple[str, str]]:
    """(first line of the cell, text) of every stderr stream in an executed notebook."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                yield (cell.source.splitlines() or [""])[0], out["text"]


def plain_text(text: str) -> str:
    """Text without the terminal colours of an IPython traceback."""
    return ANSI_ESCAPE.sub("", text)


def execution_folder(path: Path, config: BookConfig) -> Path:
    if config.nb_config.execution_in_temp:
        import tempfile

        return Path(tempfile.mkdtemp(prefix="chapter-"))
    return path.parent


def prepares_first(nb: Any) -> bool:
    """True when the chapter's first code cell begins by calling `dlcourse.notebook`'s
    `notebook()`, so that nothing is imported before the environment it sets.

    Only such a chapter runs in a warm kernel: its modules were imported with that
    environment (e.g. TensorFlow's oneDNN setting), which is then the same as if the
    chapter had imported them itself.
    """
    first = next((cell for cell in nb.cells if cell.cell_type == "code"), None)
    try:
        body = ast.parse(first.source).body if first is not None else []
    except SyntaxError:
        return False
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module == f"{SHARED_PACKAGE}.notebook":
            continue
        return (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "notebook"
        )
    return False


def _prepare_worker(limit_threads: bool, warm: bool) -> None:
    if limit_threads:
        for name, value in THREAD_LIMITS.items():
            os.environ.setdefault(name, value)
    if not warm:
        return
    import importlib

    try:
        # The environment a chapter's notebook() sets before it imports anything; the
        # module goes again so that kernels import the book's own copy.
        importlib.import_module(f"{SHARED_PACKAGE}.notebook").quiet_environment()
        for name in [m for m in sys.modules if m.split(".")[0] == SHARED_PACKAGE]:
            del sys.modules[name]
        warm_kernels.preload(PRELOADED_MODULES)
    except Exception as err:  # only a saving: this worker's chapters then start cold
        print(f"warm kernels off in a build worker: {err!r}", file=sys.stderr, flush=True)


def _execute_in_worker(
    path: str, nb_json: str, config: BookConfig, warm: bool
) -> tuple[str, float, str | None, bool]:
    """Execute one chapter, in a warm kernel if `warm` and this worker has preloaded; the
    last value says whether its kernel was a warm fork."""
    import nbformat

    nb = nbformat.reads(nb_json, as_version=4)
    cwd = execution_folder(Path(path), config)
    if not (warm and warm_kernels.preloaded()):
        outcome = execute_notebook(nb, cwd, config)
        return nbformat.writes(outcome.nb), outcome.seconds, outcome.error, False
    manager = warm_kernels.ForkingKernelManager
    try:
        outcome = warm_kernels.in_fork(
            lambda: execute_notebook(nb, cwd, config, kernel_manager_class=manager)
        )
    except Exception:  # the chapter's driver process died
        outcome = Outcome(nb, 0.0, traceback.format_exc())
    return nbformat.writes(outcome.nb), outcome.seconds, outcome.error, True


def stale_chapters(cache: Any, config: BookConfig, log: Log = print) -> dict[Path, tuple[Any, str]]:
    """{chapter: (notebook, digest)} of the chapters whose cache record is missing or stale.

    A record made against other shared code or data is removed here, so that if the
    chapter now fails, Sphinx executes it again instead of serving the old outputs.
    """
    stale = {}
    for path, nb in chapter_notebooks(config).items():
        digest = chapter_digest(nb, config.root)
        try:
            record = cache.match_cache_notebook(nb)
        except KeyError:
            stale[path] = (nb, digest)
            continue
        if record.data.get(DIGEST_KEY) != digest:
            log(f"  {path.relative_to(config.root)}: shared code or data changed since it ran")
            cache.remove_cache(record.pk)
            stale[path] = (nb, digest)
    return stale


def longest_first(todo: dict[Path, tuple[Any, str]], config: BookConfig) -> list[Path]:
    """Chapters ordered by their last execution time, longest first (unknown: by code size).

    With as many workers as cores, the build ends when the last chapter does; starting the
    long ones first keeps a long chapter from running alone at the end.
    """
    try:
        known = json.loads(config.times_file.read_text())
    except (OSError, ValueError):
        known = {}

    def expected(path: Path) -> float:
        key = path.relative_to(config.root).as_posix()
        return known.get(key, len(code_of(todo[path][0].cells)) / 1000)

    return sorted(todo, key=expected, reverse=True)


def execute(config: BookConfig, jobs: int, log: Log = print, warm: bool = True) -> dict[str, float]:
    """Execute every stale chapter into the cache; return {chapter: seconds} of those that ran.

    With `warm`, each worker imports PRELOADED_MODULES once and the kernels of the chapters
    that begin with `notebook()` are forks of it (tools/warm_kernels.py; Linux only).
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    if config.nb_config.execution_mode != "cache":
        log(f"execution mode {config.nb_config.execution_mode!r}: Sphinx decides what runs")
        return {}
    cache = get_cache(str(config.cache_path))
    todo = stale_chapters(cache, config, log)
    if not todo:
        log("all chapters are cached")
        return {}
    jobs = max(1, min(jobs, len(todo)))
    # Preloading costs a worker what one chapter's imports cost: worth it from two chapters
    # per worker on, and only in workers with one-thread pools (numpy's BLAS would start
    # threads on import, and a process with threads is never forked).
    eligible = {path: prepares_first(nb) for path, (nb, _) in todo.items()}
    warm = warm and sys.platform == "linux" and jobs > 1 and any(eligible.values())
    kernels = f"warm kernels ({', '.join(PRELOADED_MODULES)} imported)" if warm else "cold kernels"
    log(
        f"executing {len(todo)} chapter(s) with {jobs} worker(s), backend {config.backend}, "
        + kernels
    )
    times: dict[str, float] = {}
    # Fresh interpreters, not forks: the caller may hold threads (a test runner, a pool),
    # and a fork copies their locks in whatever state they are in.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_prepare_worker,
        initargs=(jobs > 1, warm),
    ) as pool:
        futures: dict[Future, Path] = {
            pool.submit(
                _execute_in_worker,
                str(path),
                nbformat.writes(todo[path][0]),
                config,
                warm and eligible[path],
            ): path
            for path in longest_first(todo, config)
        }
        for future in as_completed(futures):
            path = futures[future]
            name = path.relative_to(config.root).as_posix()
            try:
                nb_json, seconds, error, forked = future.result()
            except Exception as err:  # the worker process itself died (e.g. out of memory)
                nb_json, seconds, error, forked = None, 0.0, f"worker died: {err!r}", False
            if error:
                reason = plain_text(error).strip().splitlines()[-1]
                log(
                    f"  FAILED {name} ({seconds:.1f} s): {reason}; Sphinx will run it again "
                    "and report the traceback"
                )
                continue
            nb = nbformat.reads(nb_json, as_version=4)
            cache.cache_notebook_bundle(
                CacheBundleIn(
                    nb, str(path), data={"execution_seconds": seconds, DIGEST_KEY: todo[path][1]}
                ),
                check_validity=False,
                overwrite=True,
            )
            times[name] = seconds
            reread_by_sphinx(path, config)
            log(f"  {name}: {seconds:.1f} s" + ("" if forked or not warm else " (cold kernel)"))
            if config.nb_config.output_stderr == "error":
                for first_line, text in stderr_outputs(nb):
                    log(f"  stderr in {name}, cell {first_line!r}: {text.strip()[:500]}")
    _remember_times(config, times)
    return times


def reread_by_sphinx(path: Path, config: BookConfig) -> None:
    """Make Sphinx read a chapter again whose outputs changed in the cache.

    Sphinx re-reads a document only when its source is newer than its last read, and knows
    nothing of the cache: a chapter re-executed because shared code changed would keep
    its old outputs on the page. Touching the source (its content stays as it is) is the
    signal Sphinx does read.
    """
    environment = html_dir(config.root, config.backend).parent / ".doctrees" / "environment.pickle"
    if environment.exists() and path.stat().st_mtime <= environment.stat().st_mtime:
        os.utime(path)


def _remember_times(config: BookConfig, times: dict[str, float]) -> None:
    try:
        known = json.loads(config.times_file.read_text())
    except (OSError, ValueError):
        known = {}
    known.update({name: round(seconds, 1) for name, seconds in times.items()})
    config.times_file.parent.mkdir(parents=True, exist_ok=True)
    config.times_file.write_text(json.dumps(known, indent=2, sort_keys=True))


# ------------------------------------------------------------------ Sphinx


# What renders the pages besides the chapters: Sphinx notices a change of _config.yml, but
# not of the book's own extensions, templates, CSS or scripts, and would keep the old pages.
SITE_CODE = ("book/_ext", "book/_static")


def site_code_digest(root: Path) -> str:
    """Digest of the files under SITE_CODE (names and contents)."""
    digest = hashlib.sha256()
    for folder in SITE_CODE:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _site_code_stamp(config: BookConfig) -> Path:
    return output_root(config.root, config.backend) / "_build" / ".site_code.sha256"


def sphinx_command(config: BookConfig, everything: bool = False) -> list[str]:
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build",
        str(config.root),
        *BUILD_FLAGS,
    ]
    if everything:
        cmd.append("--all")  # re-render every page (chapters still come from the cache)
    if config.backend != "tensorflow":
        cmd += ["--path-output", str(output_root(config.root, config.backend))]
    return cmd


def build(config: BookConfig, capture: bool = False) -> subprocess.CompletedProcess:
    """Run the Sphinx build (warnings are errors) in this process's environment.

    Every page is rendered again when the site's own code (SITE_CODE) changed since the
    last successful build.
    """
    env = dict(os.environ, KERAS_BACKEND=config.backend)
    stamp = _site_code_stamp(config)
    digest = site_code_digest(config.root)
    try:
        changed = stamp.read_text().strip() != digest
    except OSError:
        changed = True
    proc = subprocess.run(
        sphinx_command(config, everything=changed),
        cwd=config.root,
        env=env,
        capture_output=capture,
        text=True,
    )
    if proc.returncode == 0:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
    return proc


def default_jobs() -> int:
    # Each kernel holds a deep-learning framework (about 1 GiB): one per core is plenty.
    return max(1, min(os.cpu_count() or 1, 4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="chapters executed at once (default: cores, at most 4)",
    )
    parser.add_argument("--no-build", action="store_true", help="only fill the cache")
    parser.add_argument(
        "--cold-kernels",
        action="store_true",
        help="start every chapter's kernel as a new interpreter (no warm forks)",
    )
    parser.add_argument("--times", type=Path, help="write executed chapter times as JSON")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the book (default: this repository)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    config = book_config(args.root.resolve())
    times = execute(config, args.jobs, warm=not args.cold_kernels)
    if args.times:
        args.times.parent.mkdir(parents=True, exist_ok=True)
        args.times.write_text(json.dumps(times, indent=2))
    print(f"execution: {time.perf_counter() - start:.1f} s", flush=True)
    if args.no_build:
        return 0
    result = build(config)
    if result.returncode == 0:
        print(
            f"site: {html_dir(config.root, config.backend)}/index.html "
            f"({time.perf_counter() - start:.1f} s in all)"
        )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
