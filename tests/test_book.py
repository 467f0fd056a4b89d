"""The course site: it builds, every chapter is there and clean, and failures are loud."""
import re
import shutil
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import ROOT, build_book, make_book

pytestmark = pytest.mark.slow


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_every_toc_entry_has_a_page(built_book):
    missing = [f for f in toc_files() if not (built_book / f"{f}.html").is_file()]
    assert not missing


@pytest.mark.parametrize("page", toc_files())
def test_page_has_no_traceback_or_stderr(built_book, page):
    soup = BeautifulSoup((built_book / f"{page}.html").read_text(), "html.parser")
    assert not soup.select(".output.stderr, .output.traceback, .output.error")
    assert "Traceback (most recent call last)" not in soup.get_text()


def test_no_chapter_is_a_placeholder(built_book):
    placeholders = [f for f in toc_files() if "Placeholder" in (ROOT / f"{f}.md").read_text()]
    assert not placeholders


def training_pages():
    """Chapters whose set-up cell loads Keras (and so prints backend and device)."""
    return [page for page in toc_files()
            if re.search(r"^notebook\(\)", (ROOT / f"{page}.md").read_text(), re.M)]


def test_chapters_that_train_show_their_backend(built_book):
    assert training_pages()
    for page in training_pages():
        assert "backend tensorflow" in (built_book / f"{page}.html").read_text(), page


def test_status_page_lists_every_executed_chapter(built_book):
    soup = BeautifulSoup((built_book / "book/status.html").read_text(), "html.parser")
    table = soup.find("table")
    assert table is not None
    rows = table.get_text()
    for page in toc_files():
        if "```{code-cell}" in (ROOT / f"{page}.md").read_text():
            assert Path(page).name in rows, page


# --- failures must fail the build -------------------------------------------------

CHAPTER_HEAD = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Planted chapter

"""


def small_book(tmp_path, body):
    """A one-chapter copy of the book with the real _config.yml and bibliography."""
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(ROOT / "tools", tmp_path / "tools")  # local Sphinx extensions
    shutil.copytree(ROOT / "book" / "_static", tmp_path / "book" / "_static")
    shutil.copy(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/index\n"
                                       "chapters:\n  - file: book/planted\n")
    (tmp_path / "book" / "index.md").write_text("# Index\n\nA test book.\n")
    (tmp_path / "book" / "planted.md").write_text(CHAPTER_HEAD + body)
    return tmp_path


def cell(code):
    return "```{code-cell} ipython3\n" + code + "\n```\n"


def test_a_clean_small_book_builds(tmp_path):
    result = build_book(small_book(tmp_path, cell("print(1 + 1)")), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("body, why", [
    (cell("raise RuntimeError('planted failure')"), "a cell raises"),
    (cell("import sys\nprint('noise', file=sys.stderr)"), "a cell writes to stderr"),
    (cell("import warnings\nwarnings.warn('planted warning')"), "a cell emits a warning"),
    ("See {ref}`no-such-label`.\n", "a broken cross-reference"),
])
def test_build_fails_when(tmp_path, body, why):
    result = build_book(small_book(tmp_path, body), timeout=600)
    assert result.returncode != 0, why


def test_book_builds_on_jax_too():
    """The same chapters execute on the JAX backend, into their own output and cache."""
    html = make_book("jax")
    for page in training_pages():
        assert "backend jax" in (html / f"{page}.html").read_text(), page
