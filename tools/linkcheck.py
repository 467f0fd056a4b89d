"""Check the links of the built site offline.

    .venv/bin/python tools/linkcheck.py [_build/html] [--external]

Every HTML file under the site folder is parsed with BeautifulSoup. For every link
(``a[href]``, ``link[href]``, ``img[src]``, ``script[src]``, ``source[src]``, ``iframe[src]``):

* a local target (relative or root-relative path) must exist inside the site folder;
* a ``#fragment`` on a link to an HTML page (or on the page itself) must be an ``id``
  (or ``<a name>``) in that page;
* an external link (``http:``, ``https:``, ``mailto:`` ...) is only collected and reported:
  nothing outside is reachable from the build machines.

Exit status 1 when an internal link or anchor is broken. ``--external`` lists the external
URLs and the pages that use them.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

LINK_ATTRS = {
    "a": "href",
    "link": "href",
    "img": "src",
    "script": "src",
    "source": "src",
    "iframe": "src",
    "area": "href",
}
# rel values of <link> that name no resource the browser needs (canonical points at the
# published site, which is external by nature).
IGNORED_LINK_RELS = {"canonical", "preconnect", "dns-prefetch"}
# folders of the site that hold assets, not pages: their HTML (if any) is not checked
SKIPPED_DIRS = {"_static", "_sources", "_downloads", "_images", "reports"}


@dataclass
class Report:
    checked_pages: int = 0
    checked_links: int = 0
    broken: list = field(default_factory=list)  # (page, url, reason)
    external: dict = field(default_factory=lambda: defaultdict(set))  # url -> {pages}

    @property
    def ok(self) -> bool:
        return not self.broken


def _parse(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8", errors="replace"), "html.parser")


@cache
def anchors_of(path: Path) -> frozenset:
    soup = _parse(path)
    ids = {tag["id"] for tag in soup.find_all(id=True)}
    ids |= {tag["name"] for tag in soup.find_all("a", attrs={"name": True})}
    return frozenset(ids)


def site_pages(site: Path):
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site)
        if rel.parts and rel.parts[0] in SKIPPED_DIRS:
            continue
        yield path


def check_url(site: Path, page: Path, url: str):
    """None when fine, "external" for an outside URL, else the reason it is broken."""
    url = url.strip()
    if not url or url == "#":
        return None
    parts = urlsplit(url)
    if parts.scheme in ("javascript", "data", "blob", "about"):
        return None
    if parts.scheme or parts.netloc:  # http:, https:, mailto:, //host/...
        return "external"
    path = unquote(parts.path)
    if not path:
        target = page
    elif path.startswith("/"):
        target = site / path.lstrip("/")
    else:
        target = page.parent / path
    target = Path(_normalise(target))
    try:
        target.relative_to(site)
    except ValueError:
        return f"points outside the site folder ({target})"
    if target.is_dir():
        target = target / "index.html"
    if not target.exists():
        return f"missing file {target.relative_to(site)}"
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in anchors_of(target):
        return f"no id {fragment!r} in {target.relative_to(site)}"
    return None


def _normalise(path: Path) -> str:
    import os.path

    return os.path.normpath(str(path))


def check_site(site: Path | str) -> Report:
    site = Path(_normalise(Path(site).resolve()))
    report = Report()
    anchors_of.cache_clear()
    for page in site_pages(site):
        report.checked_pages += 1
        soup = _parse(page)
        for tag_name, attr in LINK_ATTRS.items():
            for tag in soup.find_all(tag_name, attrs={attr: True}):
                if tag_name == "link" and IGNORED_LINK_RELS & set(tag.get("rel") or []):
                    continue
                url = tag[attr]
                report.checked_links += 1
                verdict = check_url(site, page, url)
                if verdict == "external":
                    report.external[url].add(str(page.relative_to(site)))
                elif verdict:
                    report.broken.append((str(page.relative_to(site)), url, verdict))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="_build/html")
    parser.add_argument("--external", action="store_true", help="list external URLs")
    args = parser.parse_args(argv)
    site = Path(args.site)
    if not (site / "index.html").exists():
        print(f"{site}: no built site here (run `make book` first)", file=sys.stderr)
        return 2
    report = check_site(site)
    for page, url, reason in report.broken:
        print(f"BROKEN {page}: {url} -> {reason}")
    if args.external:
        for url in sorted(report.external):
            pages = sorted(report.external[url])
            print(f"external {url}  ({len(pages)} page(s), e.g. {pages[0]})")
    print(
        f"{report.checked_pages} pages, {report.checked_links} links checked: "
        f"{len(report.broken)} broken internal link(s), "
        f"{len(report.external)} distinct external URL(s) not checked (offline)."
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
