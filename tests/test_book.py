"""The course site and the build behind `make book`.

The real book (marker `slow`): it builds, every chapter is there and clean. Small books in
a temporary folder (marker `book` where Sphinx runs): failures fail the build with their
reason, Sphinx executes nothing after the parallel pre-pass, a dead kernel still ends in
Sphinx's report, and a change to shared code or data re-executes exactly the chapters
that use it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup

from tests.fixtures.books import ROOT, built_site, cell, make_book, site_extension, small_book
from tools import build

# ------------------------------------------------------------------ the real book


def toc_pages() -> list[str]:
    return build.toc_documents(ROOT)


def training_pages() -> list[str]:
    """Chapters whose set-up cell loads Keras (and so prints backend and device)."""
    return [
        page
        for page in toc_pages()
        if re.search(r"^notebook\(\)", (ROOT / f"{page}.md").read_text(), re.M)
    ]


@pytest.mark.slow
def test_every_toc_entry_has_a_page(built_book):
    missing = [f for f in toc_pages() if not (built_book / f"{f}.html").is_file()]
    assert not missing


@pytest.mark.slow
@pytest.mark.parametrize("page", toc_pages())
def test_page_has_no_traceback_or_stderr(built_book, page):
    soup = BeautifulSoup((built_book / f"{page}.html").read_text(), "html.parser")
    assert not soup.select(".output.stderr, .output.traceback, .output.error")
    assert "Traceback (most recent call last)" not in soup.get_text()


@pytest.mark.slow
def test_no_chapter_is_a_placeholder(built_book):
    placeholders = [f for f in toc_pages() if "Placeholder" in (ROOT / f"{f}.md").read_text()]
    assert not placeholders


@pytest.mark.slow
def test_chapters_that_train_show_their_backend(built_book):
    assert training_pages()
    for page in training_pages():
        assert "backend tensorflow" in (built_book / f"{page}.html").read_text(), page


@pytest.mark.slow
def test_status_page_lists_every_executed_chapter(built_book):
    soup = BeautifulSoup((built_book / "book/status.html").read_text(), "html.parser")
    table = soup.find("table")
    assert table is not None
    rows = table.get_text()
    for path in build.chapters(build.book_config(ROOT, "tensorflow")):
        assert path.stem in rows, path


@pytest.mark.slow
def test_book_builds_on_jax_too():
    """The same chapters execute on the JAX backend, into their own output and cache."""
    html = built_site("jax")
    for page in training_pages():
        assert "backend jax" in (html / f"{page}.html").read_text(), page


# ------------------------------------------------------------------ reading like Sphinx

NESTED = (
    cell("x = 1")
    + "\n:::{note}\nNot a cell when colon fences are on:\n\n"
    + cell("y = 2")
    + ":::\n\n"
    + cell("print(x)")
)


@pytest.mark.parametrize("colon_fence, cells", [(True, 2), (False, 3)])
def test_chapters_are_read_with_the_books_myst_settings(tmp_path, colon_fence, cells):
    """The pre-pass computes the cache key from the cells Sphinx will see, which depend on
    the MyST extensions _config.yml enables."""
    root = small_book(tmp_path, {"nested": NESTED})
    config_file = root / "_config.yml"
    config = yaml.safe_load(config_file.read_text())
    extensions = config["parse"]["myst_enable_extensions"]
    assert "colon_fence" in extensions  # the real book's setting
    if not colon_fence:
        extensions.remove("colon_fence")
        config_file.write_text(yaml.safe_dump(config))
    book = build.book_config(root, "tensorflow")
    nb = build.read_notebook(root / "book" / "nested.md", book)
    assert sum(c.cell_type == "code" for c in nb.cells) == cells


def test_cache_path_and_timeout_come_from_the_configuration(tmp_path):
    root = small_book(tmp_path, {"plain": cell("print(1)")})
    tf, jax = build.book_config(root, "tensorflow"), build.book_config(root, "jax")
    assert tf.cache_path == root / "_build" / ".jupyter_cache"
    assert jax.cache_path == root / "_build" / "jax" / "_build" / ".jupyter_cache"
    config = yaml.safe_load((root / "_config.yml").read_text())
    config["execute"].update(cache="elsewhere/cache", timeout=17)
    (root / "_config.yml").write_text(yaml.safe_dump(config))
    moved = build.book_config(root, "tensorflow")
    assert moved.cache_path == root / "elsewhere" / "cache" and moved.timeout == 17


# ------------------------------------------------------------------ invalidation

SHARED = {
    "dlcourse/__init__.py": '"""A stand-in for the shared package."""\n',
    "dlcourse/base.py": "VALUE = 1\n",
    "dlcourse/alpha.py": "from .base import VALUE\n\nALPHA = 10 * VALUE\n",
    "dlcourse/beta.py": "BETA = 2\n",
    "book/data/table.csv": "x,y\n1,2\n",
}
CHAPTERS = {
    "uses_alpha": cell("from dlcourse.alpha import ALPHA\nprint('alpha', ALPHA)"),
    "uses_beta": cell("import dlcourse.beta\nprint('beta', dlcourse.beta.BETA)"),
    "reads_data": cell("from pathlib import Path\nprint(Path('data/table.csv').read_text())"),
    "independent": cell(
        "%config InlineBackend.figure_format = 'png'\nimport os\n"
        "print('threads', os.environ.get('OMP_NUM_THREADS'))"
    ),
}


@pytest.fixture
def shared_book(tmp_path, monkeypatch):
    """A four-chapter book whose kernels import its own `dlcourse`, executed once."""
    root = small_book(tmp_path, CHAPTERS, SHARED)
    monkeypatch.setenv("PYTHONPATH", str(root))  # ahead of the installed dlcourse
    for name in build.THREAD_LIMITS:
        monkeypatch.delenv(name, raising=False)
    config = build.book_config(root, "tensorflow")
    first = build.execute(config, jobs=2, log=lambda _: None)
    assert sorted(first) == sorted(f"book/{name}.md" for name in CHAPTERS)
    return config


def executed_after(config: build.BookConfig, edit: dict[str, str]) -> list[str]:
    for relative, text in edit.items():
        (config.root / relative).write_text(text)
    return sorted(build.execute(config, jobs=2, log=lambda _: None))


def cached_output(config: build.BookConfig, chapter: str) -> str:
    from jupyter_cache import get_cache

    cache = get_cache(str(config.cache_path))
    nb = build.read_notebook(config.root / "book" / f"{chapter}.md", config)
    _, merged = cache.merge_match_into_notebook(nb)
    return "".join(out.get("text", "") for c in merged.cells for out in c.get("outputs", []))


def test_shared_code_change_reruns_exactly_the_chapters_that_use_it(shared_book):
    config = shared_book
    assert executed_after(config, {}) == []
    # alpha.py imports base.py: a change two imports away still counts; beta.py and the
    # independent chapter are untouched
    changed = {"dlcourse/base.py": "VALUE = 3\n", "book/data/table.csv": "x,y\n3,4\n"}
    assert executed_after(config, changed) == ["book/reads_data.md", "book/uses_alpha.md"]
    assert "alpha 30" in cached_output(config, "uses_alpha")
    assert "3,4" in cached_output(config, "reads_data")
    # the package's __init__ runs for every chapter that imports from it
    changed = {"dlcourse/__init__.py": '"""Changed."""\n'}
    assert executed_after(config, changed) == ["book/uses_alpha.md", "book/uses_beta.md"]
    # the pre-pass workers' one-thread BLAS settings reach the chapters but stay out of this
    # process and so out of the Sphinx run it starts
    assert "threads 1" in cached_output(config, "independent")
    assert not set(build.THREAD_LIMITS) & set(os.environ)


def test_shared_dependencies_follow_imports_and_data_names(tmp_path):
    root = small_book(tmp_path, {}, SHARED)
    uses = build.shared_dependencies(
        "import numpy\nfrom dlcourse import alpha\nopen('data/table.csv')\n", root
    )
    assert [p.relative_to(root).as_posix() for p in uses] == [
        "book/data/table.csv",
        "dlcourse/__init__.py",
        "dlcourse/alpha.py",
        "dlcourse/base.py",
    ]
    assert build.shared_dependencies("import numpy\nprint('data')\n", root) == []


PRELOADED_PROBE = "import sys\nprint('keras preloaded', 'keras' in sys.modules)"


@pytest.mark.parametrize(
    "first_cell, warm",
    [
        ("from dlcourse.notebook import notebook\nnotebook()\nimport keras", True),
        ("from dlcourse.notebook import notebook\n\nnotebook(keras=False)  # numpy only", True),
        ("import keras\nfrom dlcourse.notebook import notebook\nnotebook()", False),
        ("import os\nos.environ['KERAS_BACKEND'] = 'jax'\nimport keras", False),
        ("from dlcourse.notebook import notebook", False),
        ("%env KERAS_BACKEND=jax\nfrom dlcourse.notebook import notebook\nnotebook()", False),
    ],
)
def test_only_a_chapter_that_sets_its_environment_first_gets_a_warm_kernel(first_cell, warm):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A chapter"),
            nbformat.v4.new_code_cell(first_cell),
            nbformat.v4.new_code_cell("print('later cells do not count')"),
        ]
    )
    assert build.prepares_first(nb) is warm


def test_the_prepass_forks_kernels_for_the_chapters_that_begin_with_notebook(tmp_path):
    chapters = {
        "warm": cell("from dlcourse.notebook import notebook\nnotebook(keras=False)")
        + cell(PRELOADED_PROBE),
        "cold": cell(PRELOADED_PROBE),
    }
    config = build.book_config(small_book(tmp_path, chapters), "tensorflow")
    log: list[str] = []
    build.execute(config, jobs=2, log=log.append)
    assert "warm kernels (numpy, pandas, keras imported)" in log[0], log
    assert "  book/warm.md" in "\n".join(log) and any(
        line.startswith("  book/cold.md") and line.endswith("(cold kernel)") for line in log
    ), log
    assert "keras preloaded True" in cached_output(config, "warm")
    assert "keras preloaded False" in cached_output(config, "cold")
    # --cold-kernels: every kernel a new interpreter
    shutil.rmtree(config.cache_path)
    log.clear()
    build.execute(config, jobs=2, log=log.append, warm=False)
    assert "cold kernels" in log[0], log
    assert "keras preloaded False" in cached_output(config, "warm")


# ------------------------------------------------------------------ builds of small books

COUNTING = (
    "from pathlib import Path\nwith Path('runs.txt').open('a') as f:\n    print('{name}', file=f)"
)


def runs(root: Path) -> list[str]:
    return sorted((root / "book" / "runs.txt").read_text().split())


# Files a checkout holds outside the toc, each of which would break the build if Sphinx read it.
STRAYS = {
    "README.md": "See {ref}`no-such-label`.\n",
    "exercises/stray.ipynb": "not a notebook",
    ".venv/lib/site-packages/package/README.md": "See {ref}`no-such-label`.\n",
    ".ci/node/node_modules/package/notes.md": "See {ref}`no-such-label`.\n",
    "book/.ipynb_checkpoints/one-checkpoint.ipynb": "not a notebook",
}


@pytest.mark.book
def test_sphinx_executes_nothing_after_the_prepass(tmp_path, monkeypatch):
    """Each chapter appends its name to a file when it runs. After a cold build (pre-pass
    plus Sphinx) and a cached rebuild, each has run exactly once; after a change to the
    shared code one of them imports, that one has run once more and its page shows the new
    output. Files outside the toc, hidden folders included, are never read."""
    chapters = {
        "one": cell(
            COUNTING.format(name="one")
            + "\nfrom dlcourse.alpha import ALPHA\nprint('alpha is', ALPHA)"
        ),
        "two": cell(COUNTING.format(name="two")),
    }
    root = small_book(tmp_path, chapters, {**SHARED, **STRAYS})
    monkeypatch.setenv("PYTHONPATH", str(root))  # the kernels import this book's dlcourse
    html = build.html_dir(root, "tensorflow")

    def build_ok() -> str:
        result = make_book("tensorflow", root, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    build_ok()
    assert runs(root) == ["one", "two"]
    assert "all chapters are cached" in build_ok()
    assert runs(root) == ["one", "two"]
    assert "alpha is 10" in (html / "book" / "one.html").read_text()
    (root / "dlcourse" / "base.py").write_text("VALUE = 4\n")
    build_ok()
    assert runs(root) == ["one", "one", "two"]
    assert "alpha is 40" in (html / "book" / "one.html").read_text()
    assert sorted(p.name for p in (html / "book").glob("*.html")) == [
        "index.html",
        "one.html",
        "two.html",
    ]


@pytest.mark.book
def test_a_dead_kernel_is_reported_and_sphinx_still_reports_it(tmp_path):
    root = small_book(
        tmp_path,
        {"dead": cell("import os\nos._exit(1)"), "fine": cell(COUNTING.format(name="fine"))},
    )
    result = make_book("tensorflow", root, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"FAILED book/dead\.md .*DeadKernelError", result.stdout), result.stdout
    assert "Running Sphinx" in output  # the build went on to Sphinx ...
    assert runs(root) == ["fine"]  # ... with the healthy chapter taken from the cache
    assert output.count("DeadKernelError") >= 2, output[-3000:]  # and Sphinx reported it too


@pytest.mark.book
@pytest.mark.parametrize(
    "body, reasons",
    [
        (
            cell("raise RuntimeError('planted failure')"),
            [
                "FAILED book/planted.md",
                "planted.md: WARNING: Executing notebook failed",
                "RuntimeError: planted failure",
            ],
        ),
        (
            cell("import sys\nprint('planted noise', file=sys.stderr)"),
            [
                "stderr in book/planted.md",
                "planted noise",
                "planted.md:17: ERROR: stderr was found in the cell outputs",
            ],
        ),
        (
            cell("import warnings\nwarnings.warn('planted warning')"),
            [
                "UserWarning: planted warning",
                "planted.md:17: ERROR: stderr was found in the cell outputs",
            ],
        ),
        (
            "See {ref}`no-such-label`.\n",
            ["planted.md:15: WARNING: undefined label: 'no-such-label'"],
        ),
    ],
    ids=["cell raises", "stderr output", "python warning", "broken cross-reference"],
)
def test_build_fails_with_the_reason(tmp_path, body, reasons):
    result = make_book("tensorflow", small_book(tmp_path, {"planted": body}), timeout=900)
    output = build.plain_text(result.stdout + result.stderr)
    assert result.returncode != 0
    missing = [reason for reason in reasons if reason not in output]
    assert not missing, output[-4000:]


def test_executing_a_chapter_prints_nothing_on_stderr(tmp_path):
    """Starting a kernel is silent: ipykernel 7.3 and 7.4 log a warning about TCP without
    encryption at every start (requirements.txt pins a version that does not)."""
    root = small_book(tmp_path, {"quiet": cell("print('hello')")})
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tools import build\n"
        f"config = build.book_config(Path({str(root)!r}), 'tensorflow')\n"
        "path = config.root / 'book' / 'quiet.md'\n"
        "outcome = build.execute_notebook(build.read_notebook(path, config), path.parent, config)\n"
        "assert outcome.error is None, outcome.error\n"
        "print(outcome.nb.cells[-1].outputs[0]['text'], end='')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello\n"
    assert result.stderr == ""


def test_a_change_to_the_sites_own_code_rerenders_every_page(tmp_path):
    """Sphinx does not notice edits to the book's extensions, templates, CSS or scripts;
    the build then asks for every page again (chapters still come from the cache)."""
    (tmp_path / "book" / "_ext").mkdir(parents=True)
    (tmp_path / "book" / "_static").mkdir(parents=True)
    (tmp_path / "book" / "_ext" / "site.py").write_text("A = 1\n")
    (tmp_path / "book" / "_static" / "course.css").write_text("p {}\n")
    before = build.site_code_digest(tmp_path)
    assert build.site_code_digest(tmp_path) == before
    (tmp_path / "book" / "_ext" / "site.py").write_text("A = 2\n")
    after_ext = build.site_code_digest(tmp_path)
    (tmp_path / "book" / "_static" / "course.css").write_text("p { margin: 0 }\n")
    after_css = build.site_code_digest(tmp_path)
    assert len({before, after_ext, after_css}) == 3
    config = build.book_config(build.ROOT)
    assert "--all" in build.sphinx_command(config, everything=True)
    assert "--all" not in build.sphinx_command(config)


@pytest.mark.book
def test_every_page_is_printed_to_a_pdf_behind_its_download_button(tmp_path):
    """Each page's download menu links to its PDF; the PDF holds a code line longer than the
    paper is wide, whole, and a collapsed cell's code; a rebuild with nothing changed prints
    nothing again, and a changed chapter is printed again."""
    pypdf = pytest.importorskip("pypdf")
    course_pdf = site_extension("course_pdf")
    if course_pdf.find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have a Chromium to print the chapter PDFs")
        pytest.skip("no Chromium: the pages are not printed")
    long_line = 'words = "' + "lorem " * 40 + 'END_OF_THE_LONG_LINE"'
    hidden = "```{code-cell} ipython3\n:tags: [hide-input]\nprint('COLLAPSED' + '_CELL')\n```\n"
    body = "Prose.\n\n" + cell(long_line + "\nprint(len(words))") + "\n" + hidden
    root = small_book(tmp_path, {"alpha": body, "beta": cell("print(2)")})
    assert make_book("tensorflow", root).returncode == 0
    html = root / "_build" / "html"

    pdfs = {}
    for name in ("book/alpha", "book/beta", "book/index"):
        page = BeautifulSoup((html / f"{name}.html").read_text(), "html.parser")
        link = page.select_one("a.btn-download-pdf-button")
        assert link is not None, f"{name}: no .pdf entry in the download menu"
        target = (html / name).parent / link["href"]
        assert target.resolve() == (html / course_pdf.pdf_name(name)).resolve()
        assert target.read_bytes().startswith(b"%PDF-")
        pdfs[name] = target

    text = "".join(p.extract_text() for p in pypdf.PdfReader(pdfs["book/alpha"]).pages)
    squeezed = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", long_line) in squeezed, "the long code line is cut off"
    assert "COLLAPSED_CELL" in squeezed, "the collapsed cell is not printed"
    assert "Hide code cell source" not in text, "the toggle's label is printed"

    printed = {name: path.stat().st_mtime_ns for name, path in pdfs.items()}
    assert make_book("tensorflow", root).returncode == 0
    assert {name: path.stat().st_mtime_ns for name, path in pdfs.items()} == printed
    chapter = root / "book" / "beta.md"
    chapter.write_text(chapter.read_text() + "\nOne more sentence.\n")
    assert make_book("tensorflow", root).returncode == 0
    assert pdfs["book/beta"].stat().st_mtime_ns > printed["book/beta"]
    assert pdfs["book/alpha"].stat().st_mtime_ns == printed["book/alpha"]
