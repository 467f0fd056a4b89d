"""The built site in a real browser (headless Chromium driven by Playwright's Python package).

_build/html is served on localhost by http.server in a thread. Checked on every page: no
JavaScript errors, every image loads, every content image has alt text, KaTeX typeset all
math (no raw `$$`, no KaTeX errors). Also: search finds the backpropagation chapter, the
dark-mode toggle switches html[data-theme], and the launch (Colab, Binder) and download
(.ipynb) buttons point where they should.

Every page is also opened on a desktop (1366 x 900) and a phone (390 x 844), light and dark:
no page scrolls sideways, axe-core finds no serious or critical violation, each page loads at
most 2 MB (all resources, uncompressed), plots have 2x pixels, every icon is drawn; and a
screenshot of each view goes to _build/screenshots/. On the phone the chapter list, the page
contents and search open by tap and keyboard. SITE_HTML=<folder> tests an already built site.
axe-core is the npm package (.ci/run installs it into .ci/node; AXE_CORE_JS may name its
axe.min.js): without it the axe test skips, except in CI (CI=true), where it fails.

Needs a Chromium: Debian `apt-get install -y chromium chromium-driver` (found at
/usr/bin/chromium), or any Chrome/Chromium named by SITE_TEST_BROWSER. Without one the tests
skip. Requests to other hosts are blocked (nothing outside is reachable here) and reported.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures.books import site_extension

pytestmark = pytest.mark.slow

REPO = "dse-course/intro-to-deep-learning"
COLAB = f"https://colab.research.google.com/github/{REPO}/blob/notebooks/"
BINDER = f"https://mybinder.org/v2/gh/{REPO}/main"


# the extension's table of exercise pages and the student notebooks they launch
EXERCISE_NOTEBOOKS = dict(site_extension("course_launch").EXERCISE_NOTEBOOKS)
# the chapter PDFs' printer: where it finds Chromium and how it starts it, the tests' too
COURSE_PDF = site_extension("course_pdf")
SCREENSHOT_PAGES = ["book/perceptron.html", "book/gradient_descent.html"]
ASSET_DIRS = {"_static", "_sources", "_downloads", "_images", "_pdf", "reports"}


def find_browser():
    return os.environ.get("SITE_TEST_BROWSER") or COURSE_PDF.find_chromium()


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def site_dir(request):
    """The built site: SITE_HTML (an already built _build/html, to iterate on the site's
    look without building) or the book built for this test session."""
    if os.environ.get("SITE_HTML"):
        return Path(os.environ["SITE_HTML"]).resolve()
    return Path(request.getfixturevalue("built_book"))


@pytest.fixture(scope="module")
def base_url(site_dir):
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a page closed while a file was still being sent (the next page is already opening)
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def browser():
    executable = find_browser()
    if executable is None:
        pytest.skip(
            "no Chromium installed: apt-get install -y chromium chromium-driver "
            "(or set SITE_TEST_BROWSER to a Chrome/Chromium executable)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright Python package is not installed"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=COURSE_PDF.CHROMIUM_ARGS)
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


# The two screens every page is checked on: a laptop and a phone (iPhone 12 to 15 size).
DEVICES = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


class PageRun:
    """A page opened in a fresh context, with its console errors and outside requests."""

    def __init__(
        self, browser, base_url, external, color_scheme="light", mode=None, device="desktop"
    ):
        self.base_url = base_url
        self.context = browser.new_context(color_scheme=color_scheme, **DEVICES[device])
        if mode:
            self.context.add_init_script(
                f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');"
            )
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
        if "ERR_BLOCKED_BY_CLIENT" in text or (
            where and not where.startswith(self.base_url) and "Failed to load resource" in text
        ):
            return
        self.errors.append(f"console: {text} ({where})")

    def open(self, path, redirects=False):
        self.path = path
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        if redirects:  # <meta http-equiv="Refresh"> (index.html)
            self.page.wait_for_url(lambda url: url != self.base_url + path, timeout=10000)
            self.page.wait_for_load_state("load")
        # KaTeX typesets on DOMContentLoaded, before "load"
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
    return [
        p
        for p in html_pages(site_dir)
        if "dropdown-launch-buttons" in (site_dir / p).read_text(encoding="utf-8")
    ]


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
    // the page's content (the search page has no article); the sidebar's logo is decoration
    const article = document.querySelector('article.bd-article') ||
                    document.querySelector('main, [role="main"]') || document.body;
    return imgs.map(i => ({src: i.getAttribute('src'), width: i.naturalWidth,
                           complete: i.complete, alt: (i.getAttribute('alt') || '').trim(),
                           content: article.contains(i)}));
}"""

MATH_JS = """() => {
    const article = document.querySelector('article.bd-article') || document.body;
    const clone = article.cloneNode(true);
    clone.querySelectorAll('pre, code, .highlight, script, .katex').forEach(e => e.remove());
    const math = [...article.querySelectorAll('.math')];
    return {
        rawDollars: clone.textContent.includes('$$'),
        rawDelimiters: /\\\\[(\\[]/.test(clone.textContent),   // \\( or \\[ left over
        mathElements: math.length,
        untypeset: math.filter(e => !e.querySelector('.katex'))
                       .map(e => e.textContent.slice(0, 80)),
        rendered: article.querySelectorAll('.katex').length,
        errors: [...document.querySelectorAll('.katex-error')]
                    .map(e => e.getAttribute('title') || e.textContent),
        katex: !!window.katex,
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
                    problems.append(
                        f"{path}: image without alt text: {img['src']} (alt={img['alt']!r})"
                    )
            math = page.evaluate(MATH_JS)
            if math["rawDollars"] or math["rawDelimiters"]:
                problems.append(f"{path}: raw $$ or \\( \\[ left in the text (math not typeset)")
            if math["mathElements"]:
                if not math["katex"] or not math["rendered"]:
                    problems.append(f"{path}: has math but KaTeX rendered nothing")
                for text in math["untypeset"]:
                    problems.append(f"{path}: math not typeset: {text!r}")
            for err in math["errors"]:
                problems.append(f"{path}: KaTeX error: {err}")
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
            timeout=15000,
        )
        hrefs = page.eval_on_selector_all(
            "#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))"
        )
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
        for _ in range(3):  # the button cycles light -> dark -> auto
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
                background = page.evaluate("getComputedStyle(document.body).backgroundColor")
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
            docname = path.removesuffix(".html")  # book/perceptron
            page = run.open(path)
            links = page.eval_on_selector_all(
                ".dropdown-launch-buttons a, .dropdown-download-buttons a",
                "els => els.map(e => e.href)",
            )
            colab = [u for u in links if "colab.research.google.com" in u]
            binder = [u for u in links if "mybinder.org" in u]
            ipynb = [u for u in links if u.startswith(base_url) and u.endswith(".ipynb")]
            student = EXERCISE_NOTEBOOKS.get(docname)
            if student:  # an exercise page launches the student notebook on main
                if colab != [
                    f"https://colab.research.google.com/github/{REPO}/blob/main/{student}"
                ]:
                    problems.append(f"{path}: Colab link {colab}, expected the student notebook")
                if (
                    len(binder) != 1
                    or not binder[0].startswith(BINDER)
                    or not binder[0].endswith(student)
                ):
                    problems.append(f"{path}: Binder link {binder}, expected the student notebook")
                continue
            if colab != [f"{COLAB}{docname}.ipynb"]:
                problems.append(f"{path}: Colab link {colab}")
            if not (colab_dir / f"{docname}.ipynb").is_file():
                problems.append(f"{path}: no Colab notebook _build/colab/{docname}.ipynb")
            if (
                len(binder) != 1
                or not binder[0].startswith(BINDER)
                or not binder[0].endswith(f"{docname}.md")
            ):
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
                    json.loads(response.body())  # a real notebook, not an error page
    finally:
        run.close()
    assert not problems, "\n".join(problems)
    print(f"\n{checked} download link(s) checked")


# The text width of the chapter PDFs: A4 (210 mm) less course_pdf's side margins, in CSS px
PRINTED_WIDTH_PX = round(
    (210 - sum(float(COURSE_PDF.PRINT_OPTIONS["margin"][side][:-2]) for side in ("left", "right")))
    / 25.4
    * 96
)
# run after course_pdf's own preparation of a page (collapsed cells opened, images loaded)
CUT_CODE_JS = """() => {
    const article = document.querySelector('article.bd-article') || document.body;
    const cut = [...article.querySelectorAll('pre')]
        .filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => `code cut off, ${e.scrollWidth} px in ${e.clientWidth} px: ` +
                  e.textContent.split('\\n').reduce((a, b) => a.length >= b.length ? a : b));
    // an opened cell that fades in (a CSS animation; transitions set off by the switch to
    // print media are not what is printed) is printed while still transparent, i.e. blank
    const fading = document.getAnimations()
        .filter(a => a.animationName && a.playState === 'running')
        .map(a => `CSS animation ${a.animationName} running when printed`);
    return cut.concat(fading.slice(0, 3));
}"""


def test_every_page_offers_its_pdf_and_prints_code_whole(browser, base_url, site_dir):
    """The download menu's .pdf is the page printed (a PDF file, not the print dialog), and
    laid out as it is printed (print media, the PDF's text width), no code box is wider than
    its text: each code line wraps instead of being cut at the margin; and nothing is still
    fading in when the page is printed (an opened cell would print blank)."""
    problems, printed = [], 0
    context = browser.new_context(viewport={"width": PRINTED_WIDTH_PX, "height": 1000})
    page = context.new_page()
    try:
        for path in html_pages(site_dir):
            if 'http-equiv="Refresh"' in (site_dir / path).read_text(encoding="utf-8"):
                continue
            page.emulate_media(media="screen")
            page.goto(base_url + path, wait_until="load")
            links = page.eval_on_selector_all(
                "a.btn-download-pdf-button", "els => els.map(e => e.href)"
            )
            has_source = page.locator(".dropdown-download-buttons").count() > 0
            if has_source and len(links) != 1:
                problems.append(f"{path}: .pdf entries {links}, expected one link to a file")
            for url in links:
                response = page.request.get(url)
                if not response.ok or not response.body().startswith(b"%PDF-"):
                    problems.append(f"{path}: {url} is not a PDF (HTTP {response.status})")
                printed += 1
            page.emulate_media(media="print")
            page.evaluate(COURSE_PDF.PREPARE_PAGE)
            problems += [f"{path}: {problem}" for problem in page.evaluate(CUT_CODE_JS)]
    finally:
        context.close()
    assert printed, "no page offers a PDF"
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ phone navigation
def _visible(page, selector):
    """The visible elements matching selector (the themes keep hidden copies of buttons)."""
    loc = page.locator(selector)
    return [loc.nth(i) for i in range(loc.count()) if loc.nth(i).is_visible()]


def _dialog_open(page, dialog_id):
    return page.evaluate(f"!!document.getElementById('{dialog_id}')?.open")


def test_phone_menus_open_by_tap_and_keyboard(browser, base_url, site_dir, external_requests):
    """At 390 x 844 the chapter list and the page contents open (tap and Enter), show their
    links, close with Escape, and a tap leaves no tooltip over the next button."""
    run = PageRun(browser, base_url, external_requests, device="phone")
    try:
        page = run.open("book/backpropagation.html")
        for toggle, dialog, links in [
            (".primary-toggle", "pst-primary-sidebar-modal", "a[href$='perceptron.html']"),
            (".secondary-toggle", "pst-secondary-sidebar-modal", "nav a[href^='#']"),
        ]:
            buttons = _visible(page, toggle)
            assert len(buttons) == 1, f"{toggle}: {len(buttons)} visible buttons"
            buttons[0].tap()
            page.wait_for_function(f"document.getElementById('{dialog}')?.open", timeout=5000)
            assert _visible(page, f"#{dialog} {links}"), f"{dialog} opened without its links"
            shots = site_dir.parent / "screenshots"
            shots.mkdir(exist_ok=True)
            page.screenshot(path=shots / f"phone-menu-{dialog}.png")
            page.keyboard.press("Escape")
            page.wait_for_function(f"!document.getElementById('{dialog}').open", timeout=5000)
            assert not _visible(page, ".tooltip.show"), f"a tooltip stayed up after {toggle}"
            buttons[0].focus()
            page.keyboard.press("Enter")
            page.wait_for_function(f"document.getElementById('{dialog}')?.open", timeout=5000)
            page.keyboard.press("Escape")
            page.wait_for_function(f"!document.getElementById('{dialog}').open", timeout=5000)
        # search: one button, a dialog with the field focused, results for a query
        buttons = _visible(page, ".search-button__button")
        assert len(buttons) == 1, f"{len(buttons)} visible search buttons on a phone"
        buttons[0].tap()
        page.wait_for_function("document.getElementById('pst-search-dialog')?.open", timeout=5000)
        page.keyboard.type("gradient")
        page.keyboard.press("Enter")
        page.wait_for_url("**/search.html?q=gradient*", timeout=10000)
        assert not run.errors, run.errors
    finally:
        run.close()


def test_desktop_has_one_search_box_and_slash_opens_it(browser, base_url, external_requests):
    """One search control on a wide screen (no second header bar), opened by the `/` key the
    intro promises and by Ctrl+K; the primary sidebar collapses and comes back."""
    run = PageRun(browser, base_url, external_requests)
    try:
        page = run.open("book/backpropagation.html")
        assert len(_visible(page, ".search-button__button")) == 1
        assert not _visible(page, "#pst-header"), "the empty pydata header bar is shown"
        for keys in ("/", "Control+k"):
            page.locator("article").first.click(position={"x": 5, "y": 5})
            page.keyboard.press(keys)
            page.wait_for_function(
                "document.getElementById('pst-search-dialog')?.open", timeout=5000
            )
            page.keyboard.press("Escape")
            page.wait_for_function(
                "!document.getElementById('pst-search-dialog').open", timeout=5000
            )
        on_screen = (
            "document.getElementById('pst-primary-sidebar').getBoundingClientRect().right > 100"
        )
        assert page.evaluate(on_screen)
        _visible(page, ".primary-toggle")[0].click()  # slides off to the left
        page.wait_for_function(f"!({on_screen})", timeout=5000)
        _visible(page, ".primary-toggle")[0].click()
        page.wait_for_function(on_screen, timeout=5000)
        assert not run.errors, run.errors
    finally:
        run.close()


# ------------------------------------------- every page on every screen, light and dark
VIEWS = [(device, mode) for device in DEVICES for mode in ("light", "dark")]
MAX_PAGE_BYTES = 2_000_000
# axe-core from npm (.ci/run installs it into .ci/node), or AXE_CORE_JS naming axe.min.js
AXE_JS = Path(
    os.environ.get("AXE_CORE_JS")
    or Path(__file__).resolve().parents[1] / ".ci/node/node_modules/axe-core/axe.min.js"
)

LOAD_ALL_JS = """async () => {
    // lazy images below the fold count too: load everything the page has
    document.querySelectorAll('img[loading="lazy"]').forEach(i => i.loading = 'eager');
    await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
    await document.fonts.ready;
}"""

# Bytes of everything the page loaded, uncompressed (decodedBodySize), the page included.
WEIGHT_JS = """() => {
    const entries = [...performance.getEntriesByType('navigation'),
                     ...performance.getEntriesByType('resource')];
    const files = entries.map(e => [e.name, e.decodedBodySize || 0]);
    return {total: files.reduce((s, f) => s + f[1], 0), requests: files.length,
            largest: files.sort((a, b) => b[1] - a[1]).slice(0, 5)};
}"""

AXE_RUN_JS = """async () => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.map(v => ({id: v.id, impact: v.impact, count: v.nodes.length,
                                        target: v.nodes[0] && v.nodes[0].target.join(' ')}));
}"""

# Plots and figures: a PNG must have at least 1.5x the pixels it is shown at (2x screens,
# tap to enlarge); an SVG is sharp at any size.
HIRES_JS = """() => [...document.querySelectorAll(
        'article.bd-article div.cell_output img, article.bd-article figure img')]
    .filter(i => !/\\.svg(\\?|$)/i.test(i.currentSrc || i.src))
    .map(i => ({src: i.getAttribute('src'), natural: i.naturalWidth,
                shown: i.getBoundingClientRect().width}))
    .filter(i => i.natural < 1.5 * i.shown)"""

# Font Awesome turns <i class="fa-..."> into <svg>: an <i> left means an icon it lacks.
MISSING_ICONS_JS = """() => [...document.querySelectorAll('i[class*="fa-"]')]
    .map(i => i.className)"""


@pytest.fixture(scope="module")
def page_views(browser, base_url, site_dir, external_requests):
    """Every page opened on each device in light and dark mode, once, with what the tests
    below check; screenshots of each go to _build/screenshots/<page>-<device>-<mode>.png."""
    axe = AXE_JS.read_text() if AXE_JS.is_file() else None
    shots = site_dir.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    views = {}
    for path in html_pages(site_dir):
        if 'http-equiv="Refresh"' in (site_dir / path).read_text(encoding="utf-8"):
            continue  # index.html only redirects to the intro
        for device, mode in VIEWS:
            run = PageRun(
                browser, base_url, external_requests, color_scheme=mode, mode=mode, device=device
            )
            try:
                page = run.open(path)
                page.evaluate(LOAD_ALL_JS)
                view = {
                    "theme": _theme(page),
                    "width": page.evaluate("[document.documentElement.scrollWidth, innerWidth]"),
                    "weight": page.evaluate(WEIGHT_JS),
                    "lowres": page.evaluate(HIRES_JS),
                    "icons": page.evaluate(MISSING_ICONS_JS),
                    "errors": list(run.errors),
                }
                if axe is not None:
                    page.add_script_tag(content=axe)
                    view["axe"] = page.evaluate(AXE_RUN_JS)
                name = path.removesuffix(".html").replace("/", "-")
                page.screenshot(path=shots / f"{name}-{device}-{mode}.png")
                views[(path, device, mode)] = view
            finally:
                run.close()
    assert views, f"no pages in {site_dir}"
    return views


def test_every_view_applies_its_colour_mode_and_runs_cleanly(page_views):
    problems = [
        f"{p} {d} {m}: theme {v['theme']}" for (p, d, m), v in page_views.items() if v["theme"] != m
    ]
    problems += [f"{p} {d} {m}: {e}" for (p, d, m), v in page_views.items() for e in v["errors"]]
    assert not problems, "\n".join(problems)


def test_no_page_scrolls_sideways(page_views):
    """Inline code wraps, tables, equations and code scroll in their own box (at 390 px)."""
    wide = [
        f"{p} ({d}, {m}): {w[0]} px wide on a {w[1]} px screen"
        for (p, d, m), v in page_views.items()
        for w in [v["width"]]
        if w[0] > w[1]
    ]
    assert not wide, "\n".join(wide)


def test_axe_finds_no_serious_or_critical_violations(page_views):
    """axe-core's rules on every page, light and dark, desktop and phone."""
    if not AXE_JS.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"axe-core is missing in CI: {AXE_JS} (.ci/run installs it with npm)")
        pytest.skip(
            f"axe-core not installed ({AXE_JS}): npm install --prefix .ci/node "
            "axe-core@4.14.1, or set AXE_CORE_JS to its axe.min.js"
        )
    counts, problems = {}, []
    for (path, device, mode), view in page_views.items():
        for v in view["axe"]:
            key = (v["impact"], v["id"])
            counts[key] = counts.get(key, 0) + v["count"]
            if v["impact"] in ("serious", "critical"):
                problems.append(
                    f"{path} ({device}, {mode}): {v['impact']} {v['id']} "
                    f"x{v['count']}, e.g. {v['target']}"
                )
    print(
        "\naxe violations (impact, rule: nodes over all views):",
        {f"{i} {r}": n for (i, r), n in sorted(counts.items(), key=str)} or "none",
    )
    assert not problems, "\n".join(problems)


def test_pages_weigh_at_most_2_mb(page_views):
    """All resources a page loads, uncompressed, MathJax fonts and every image included."""
    weights = {
        p: v["weight"] for (p, d, m), v in page_views.items() if (d, m) == ("desktop", "light")
    }
    heaviest = max(weights, key=lambda p: weights[p]["total"])
    print(
        f"\nheaviest page: {heaviest}, {weights[heaviest]['total'] / 1e6:.2f} MB in "
        f"{weights[heaviest]['requests']} requests; largest files {weights[heaviest]['largest']}"
    )
    heavy = [
        f"{p}: {w['total'] / 1e6:.2f} MB ({w['requests']} requests), largest {w['largest']}"
        for p, w in weights.items()
        if w["total"] > MAX_PAGE_BYTES
    ]
    assert not heavy, "\n".join(heavy)


def test_figures_have_high_resolution_sources(page_views):
    lowres = [
        f"{p} ({d}): {i['src']} has {i['natural']} px, shown at {i['shown']:.0f} px"
        for (p, d, m), v in page_views.items()
        if m == "light"
        for i in v["lowres"]
    ]
    assert not lowres, "\n".join(sorted(set(lowres)))


def test_every_icon_is_drawn(page_views):
    """The site's Font Awesome subset (tools/site_icons) has every icon a page uses."""
    missing = sorted({c for v in page_views.values() for c in v["icons"]})
    assert not missing, f"icons not in tools/site_icons/icons.js: {missing}"


def test_icon_font_subset_has_every_glyph_the_css_uses(site_dir):
    """tools/subset_icon_font.py cut the theme's icon font down; a theme upgrade that draws a
    new icon with the font needs the tool run again."""
    from fontTools.ttLib import TTFont

    from tools import subset_icon_font

    font = site_dir / "_static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2"
    cmap = TTFont(font).getBestCmap()
    theme_cmap = TTFont(subset_icon_font.theme_font()).getBestCmap()
    # code points of other fonts (the brands' GitHub icon) are not the solid font's to have
    missing = sorted(
        f"U+{p:04X}"
        for p in subset_icon_font.css_code_points(site_dir)
        if p in theme_cmap and p not in cmap
    )
    assert len(cmap) < len(theme_cmap) / 10, "the committed font is not the subset"
    assert not missing, f"run tools/subset_icon_font.py: {font.name} lacks {missing}"


def test_plots_open_full_size_and_search_snippets_have_no_tex(browser, base_url, external_requests):
    """A tap on a plot opens its image (Sphinx links an image shown at a set size, the 2x
    PNGs; course.js links any other); the search page's snippets show
    no TeX source of the formulas in the pages found."""
    run = PageRun(browser, base_url, external_requests, device="phone")
    try:
        page = run.open("book/perceptron.html")
        plots = page.eval_on_selector_all(
            "article div.cell_output img", "imgs => imgs.map(i => [i.src, i.closest('a')?.href])"
        )
        assert plots, "no plots on the perceptron page"
        unlinked = [src for src, href in plots if href != src]
        assert not unlinked, f"plots without a full-size link: {unlinked}"
        page = run.open("search.html?q=gradient")
        page.wait_for_selector("#search-results ul.search li p.context", timeout=20000)
        page.wait_for_function(
            "() => !/Searching|Preparing/.test("
            "document.querySelector('#search-progress')?.textContent || '')",
            timeout=20000,
        )
        snippets = page.eval_on_selector_all(
            "#search-results p.context", "ps => ps.map(p => p.textContent)"
        )
        with_tex = [s for s in snippets if "\\(" in s or "\\[" in s or "\\frac" in s]
        assert not with_tex, f"search snippets with TeX: {with_tex[:3]}"
        assert not run.errors, run.errors
    finally:
        run.close()
