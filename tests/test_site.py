"""The built site in a real browser (headless Chromium driven by Playwright's Python package).

_build/html is served on localhost by http.server in a thread. Checked on every page: no
JavaScript errors, every image loads, every content image has alt text, MathJax typeset all
math (no raw `$$`, no MathJax errors). Also: search finds the backpropagation chapter, the
dark-mode toggle switches html[data-theme], and the launch (Colab, Binder) and download
(.ipynb) buttons point where they should. Screenshots of two pages in light and dark mode go
to _build/screenshots/.

Needs a Chromium: Debian `apt-get install -y chromium chromium-driver` (found at
/usr/bin/chromium), or any Chrome/Chromium named by SITE_TEST_BROWSER. Without one the tests
skip. Requests to other hosts are blocked (nothing outside is reachable here) and reported.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

REPO = "dse-course/intro-to-deep-learning"
COLAB = f"https://colab.research.google.com/github/{REPO}/blob/notebooks/"
BINDER = f"https://mybinder.org/v2/gh/{REPO}/main"
SCREENSHOT_PAGES = ["book/perceptron.html", "book/gradient_descent.html"]
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage"]
ASSET_DIRS = {"_static", "_sources", "_downloads", "_images", "reports"}


def find_browser():
    candidates = [os.environ.get("SITE_TEST_BROWSER"), "/usr/bin/chromium"]
    candidates += [shutil.which(n) for n in ("chromium", "chromium-browser",
                                             "google-chrome", "google-chrome-stable")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def site_dir(built_book):
    return Path(built_book)


@pytest.fixture(scope="module")
def base_url(site_dir):
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    executable = find_browser()
    if executable is None:
        pytest.skip("no Chromium installed: apt-get install -y chromium chromium-driver "
                    "(or set SITE_TEST_BROWSER to a Chrome/Chromium executable)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright Python package is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def external_requests():
    """URL -> pages that tried to load it (blocked: no network)."""
    found: dict[str, set] = {}
    yield found
    if found:
        print("\nexternal requests blocked (no network here):")
        for url, pages in sorted(found.items()):
            print(f"  {url}  (from {', '.join(sorted(pages))})")


class PageRun:
    """A page opened in a fresh context, with its console errors and outside requests."""

    def __init__(self, browser, base_url, external, color_scheme="light", mode=None):
        self.base_url = base_url
        self.context = browser.new_context(color_scheme=color_scheme,
                                           viewport={"width": 1280, "height": 900})
        if mode:
            self.context.add_init_script(
                f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.external_urls: set[str] = set()
        self.external = external
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.external_urls.add(url)
            route.abort("blockedbyclient")

    def _on_console(self, msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        text = msg.text
        # a blocked request to another host is reported, not an error of the page
        if "ERR_BLOCKED_BY_CLIENT" in text or (where and not where.startswith(self.base_url)
                                               and "Failed to load resource" in text):
            return
        self.errors.append(f"console: {text} ({where})")

    def open(self, path, redirects=False):
        self.path = path
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        if redirects:                    # <meta http-equiv="Refresh"> (index.html)
            self.page.wait_for_url(lambda url: url != self.base_url + path, timeout=10000)
            self.page.wait_for_load_state("load")
        # MathJax 3 is loaded with defer: wait until it has typeset the page
        self.page.evaluate("""async () => {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise)
                await MathJax.startup.promise;
        }""")
        return self.page

    def close(self):
        for url in self.external_urls:
            self.external.setdefault(url, set()).add(self.path)
        self.context.close()


def html_pages(site_dir):
    pages = []
    for path in sorted(site_dir.rglob("*.html")):
        rel = path.relative_to(site_dir)
        if rel.parts[0] not in ASSET_DIRS:
            pages.append(rel.as_posix())
    return pages


def notebook_pages(site_dir):
    """Chapter pages built from an executed notebook (they carry the launch menu)."""
    return [p for p in html_pages(site_dir)
            if "dropdown-launch-buttons" in (site_dir / p).read_text(encoding="utf-8")]


# ------------------------------------------------------------------- every page checks
def meaningful_alt(alt, src):
    """Docutils writes the image's own path as alt when none is given: that does not count."""
    alt = (alt or "").strip()
    if not alt or alt == src or Path(alt).name == Path(src or "").name:
        return False
    return not re.fullmatch(r"\S+\.(png|svg|jpe?g|gif|webp)", alt, re.IGNORECASE)


IMAGES_JS = """async () => {
    const imgs = [...document.querySelectorAll('img')];
    await Promise.all(imgs.map(i => i.decode().catch(() => null)));
    const article = document.querySelector('article.bd-article') || document.body;
    return imgs.map(i => ({src: i.getAttribute('src'), width: i.naturalWidth,
                           complete: i.complete, alt: (i.getAttribute('alt') || '').trim(),
                           content: article.contains(i)}));
}"""

MATH_JS = """() => {
    const article = document.querySelector('article.bd-article') || document.body;
    const clone = article.cloneNode(true);
    clone.querySelectorAll('pre, code, .highlight, script, mjx-container, mjx-assistive-mml')
         .forEach(e => e.remove());
    const math = [...article.querySelectorAll('.math')];
    return {
        rawDollars: clone.textContent.includes('$$'),
        mathElements: math.length,
        untypeset: math.filter(e => !e.querySelector('mjx-container'))
                       .map(e => e.textContent.slice(0, 80)),
        containers: document.querySelectorAll('mjx-container').length,
        errors: [...document.querySelectorAll('mjx-merror')]
                    .map(e => e.getAttribute('data-mjx-error') || e.textContent),
        mathjax: !!window.MathJax && !!window.MathJax.version,
    };
}"""


def test_every_page_loads_cleanly(browser, base_url, site_dir, external_requests):
    """No JS errors, every image loads, content images have alt text, math is typeset."""
    problems = []
    pages = html_pages(site_dir)
    assert pages, f"no HTML pages in {site_dir}"
    for path in pages:
        run = PageRun(browser, base_url, external_requests)
        try:
            html = (site_dir / path).read_text(encoding="utf-8")
            page = run.open(path, redirects='http-equiv="Refresh"' in html)
            for img in page.evaluate(IMAGES_JS):
                if not img["complete"] or img["width"] == 0:
                    problems.append(f"{path}: image does not load: {img['src']}")
                if img["content"] and not meaningful_alt(img["alt"], img["src"]):
                    problems.append(f"{path}: image without alt text: {img['src']} "
                                    f"(alt={img['alt']!r})")
            math = page.evaluate(MATH_JS)
            if math["rawDollars"]:
                problems.append(f"{path}: raw $$ left in the text (math not parsed)")
            if math["mathElements"]:
                if not math["mathjax"] or not math["containers"]:
                    problems.append(f"{path}: has math but MathJax rendered nothing")
                for text in math["untypeset"]:
                    problems.append(f"{path}: math not typeset: {text!r}")
            for err in math["errors"]:
                problems.append(f"{path}: MathJax error: {err}")
            problems += [f"{path}: {e}" for e in run.errors]
        finally:
            run.close()
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------ search
def test_search_finds_backpropagation_chapter(browser, base_url, external_requests):
    run = PageRun(browser, base_url, external_requests)
    try:
        page = run.open("search.html?q=backpropagation")
        page.wait_for_selector("#search-results ul.search li a", timeout=15000)
        page.wait_for_function(
            "() => !document.querySelector('#search-progress') || "
            "!/Searching|Preparing/.test(document.querySelector('#search-progress').textContent)",
            timeout=15000)
        hrefs = page.eval_on_selector_all("#search-results ul.search li a",
                                          "els => els.map(e => e.getAttribute('href'))")
        assert any("book/backpropagation.html" in h for h in hrefs), hrefs
        assert not run.errors, run.errors
    finally:
        run.close()


# --------------------------------------------------------------------------- dark mode
def _theme(page):
    return page.evaluate("document.documentElement.dataset.theme")


def test_dark_mode_toggle_switches_theme(browser, base_url, external_requests):
    run = PageRun(browser, base_url, external_requests, mode="light")
    try:
        page = run.open("book/backpropagation.html")
        assert _theme(page) == "light"
        seen = {"light"}
        for _ in range(3):               # the button cycles light -> dark -> auto
            page.locator("button.theme-switch-button").first.click()
            seen.add(_theme(page))
        assert "dark" in seen, seen
        assert not run.errors, run.errors
    finally:
        run.close()


def test_screenshots_light_and_dark(browser, base_url, site_dir, external_requests):
    """Saved for a person to look at; the test checks dark mode really applied."""
    out = site_dir.parent / "screenshots"
    out.mkdir(exist_ok=True)
    taken = []
    for path in SCREENSHOT_PAGES:
        if not (site_dir / path).exists():
            continue
        for mode in ("light", "dark"):
            run = PageRun(browser, base_url, external_requests, color_scheme=mode, mode=mode)
            try:
                page = run.open(path)
                assert _theme(page) == mode
                background = page.evaluate(
                    "getComputedStyle(document.body).backgroundColor")
                rgb = [int(v) for v in re.findall(r"\d+", background)[:3]]
                assert (sum(rgb) / 3 < 80) == (mode == "dark"), (path, mode, background)
                # the first plot (if any) in view, then the top of the page
                name = Path(path).stem
                page.screenshot(path=out / f"{name}-{mode}.png")
                plot = page.locator("div.cell_output img").first
                if plot.count():
                    plot.scroll_into_view_if_needed()
                    page.screenshot(path=out / f"{name}-{mode}-plot.png")
                taken.append(f"{name}-{mode}")
            finally:
                run.close()
    assert taken, "none of the screenshot pages exists"


# --------------------------------------------------------------- launch and downloads
def test_launch_and_download_buttons(browser, base_url, site_dir, external_requests):
    pages = notebook_pages(site_dir)
    assert pages, "no executed chapter pages found"
    colab_dir = site_dir.parent / "colab"
    problems = []
    run = PageRun(browser, base_url, external_requests)
    try:
        for path in pages:
            docname = path.removesuffix(".html")          # book/perceptron
            page = run.open(path)
            links = page.eval_on_selector_all(
                ".dropdown-launch-buttons a, .dropdown-download-buttons a",
                "els => els.map(e => e.href)")
            colab = [u for u in links if "colab.research.google.com" in u]
            binder = [u for u in links if "mybinder.org" in u]
            ipynb = [u for u in links if u.startswith(base_url) and u.endswith(".ipynb")]
            if colab != [f"{COLAB}{docname}.ipynb"]:
                problems.append(f"{path}: Colab link {colab}")
            if not (colab_dir / f"{docname}.ipynb").is_file():
                problems.append(f"{path}: no Colab notebook _build/colab/{docname}.ipynb")
            if len(binder) != 1 or not binder[0].startswith(BINDER) \
                    or not binder[0].endswith(f"{docname}.md"):
                problems.append(f"{path}: Binder link {binder}")
            if len(ipynb) != 1 or not ipynb[0].endswith(f"_sources/{docname}.ipynb"):
                problems.append(f"{path}: .ipynb download link {ipynb}")
                continue
            response = page.request.get(ipynb[0])
            if not response.ok:
                problems.append(f"{path}: {ipynb[0]} -> HTTP {response.status}")
                continue
            nb = json.loads(response.body())
            code = [c for c in nb["cells"] if c["cell_type"] == "code"]
            if code and not any(c.get("execution_count") for c in code):
                problems.append(f"{path}: downloaded notebook is not executed")
    finally:
        run.close()
    assert not problems, "\n".join(problems)


def test_download_links_resolve(browser, base_url, site_dir, external_requests):
    """{download} links (e.g. the exercises' student notebooks) serve the file."""
    problems, checked = [], 0
    run = PageRun(browser, base_url, external_requests)
    try:
        for path in html_pages(site_dir):
            html = (site_dir / path).read_text(encoding="utf-8")
            if "reference download" not in html:
                continue
            page = run.open(path)
            for url in page.eval_on_selector_all("a.download", "els => els.map(e => e.href)"):
                checked += 1
                response = page.request.get(url)
                if not response.ok or not response.body():
                    problems.append(f"{path}: {url} -> HTTP {response.status}")
                elif urlsplit(url).path.endswith(".ipynb"):
                    json.loads(response.body())   # a real notebook, not an error page
    finally:
        run.close()
    assert not problems, "\n".join(problems)
    print(f"\n{checked} download link(s) checked")
