"""Links of the built site: every internal link and #anchor resolves (tools/linkcheck.py).

External links are only reported (printed with `pytest -s`): nothing outside is reachable
from the build machines. The first tests check the checker itself on a tiny synthetic site.
"""

from pathlib import Path

import pytest

from tools import linkcheck

ROOT = Path(__file__).resolve().parents[1]


def _site(tmp_path, pages):
    for name, html in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<html><body>{html}</body></html>")
    return tmp_path


def test_checker_accepts_good_links(tmp_path):
    site = _site(
        tmp_path,
        {
            "index.html": '<a href="book/a.html#sec">a</a> <a href="#top">top</a><p id="top"></p>'
            '<img src="_images/x.png"> <a href="https://example.org/">ext</a>'
            '<a href="mailto:x@y.z">mail</a> <a href="#">button</a>'
            '<a href="book/">dir</a> <a href="book/a.html?highlight=x#sec">q</a>',
            "book/a.html": '<h1 id="sec">A</h1><a href="../index.html">up</a>'
            '<a href="/_sources/a.ipynb">nb</a><a href="b%20c.html">space</a>',
            "book/index.html": "",
            "book/b c.html": "",
            "_images/x.png": "",
            "_sources/a.ipynb": "{}",
        },
    )
    report = linkcheck.check_site(site)
    assert report.ok, report.broken
    assert set(report.external) == {"https://example.org/", "mailto:x@y.z"}
    assert report.checked_pages == 4


def test_checker_finds_broken_files_and_anchors(tmp_path):
    site = _site(
        tmp_path,
        {
            "index.html": '<a href="book/a.html#nope">bad anchor</a> <a href="missing.html">gone</a>'
            '<a href="#self-missing">self</a> <img src="_images/none.png">'
            '<a href="../../etc/passwd">outside</a>',
            "book/a.html": '<h1 id="sec">A</h1>',
        },
    )
    report = linkcheck.check_site(site)
    reasons = {url: why for _, url, why in report.broken}
    assert set(reasons) == {
        "book/a.html#nope",
        "missing.html",
        "#self-missing",
        "_images/none.png",
        "../../etc/passwd",
    }
    assert "no id 'nope'" in reasons["book/a.html#nope"]
    assert linkcheck.main([str(site)]) == 1


@pytest.mark.slow
def test_built_site_internal_links_and_anchors_resolve(built_book, capsys):
    report = linkcheck.check_site(built_book)
    assert report.checked_pages > 5
    with capsys.disabled():
        print(
            f"\nlinkcheck: {report.checked_pages} pages, {report.checked_links} links, "
            f"{len(report.external)} external URLs not checked (offline)"
        )
    assert report.ok, "broken internal links:\n" + "\n".join(
        f"  {page}: {url} -> {why}" for page, url, why in report.broken
    )
