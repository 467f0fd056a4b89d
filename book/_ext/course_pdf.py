"""Sphinx extension (loaded from _config.yml `sphinx.local_extensions`): a PDF of every page.

Each page of the built site is printed by headless Chromium to ``_pdf/<page>.pdf`` in the
HTML output, and the ``.pdf`` entry of the page's download menu links to that file (the
theme's entry only opens the browser's print dialog, which on a phone often prints nothing
useful). Printed as the page looks: light mode, print media (course.css wraps code lines
instead of cutting them at the margin), every collapsed cell opened, math typeset, images
loaded, A4.

Why written here: no maintained extension prints the rendered HTML pages one by one. Sphinx's
LaTeX builder re-typesets from the doctree (one book, no executed-output styling), and
Jupyter Book 1's ``pdfhtml`` builder drives an unmaintained pyppeteer with its own Chromium
download and prints the whole book as one file. Playwright, which the site tests already use,
drives the Chromium that is installed (`CHROMIUM` or the usual names on PATH).

When: after a successful HTML build, for every page whose HTML is newer than its PDF (Sphinx
rewrites only the pages that changed, so a cached rebuild prints nothing). Without Chromium
or Playwright the menu keeps the theme's print button and the build says why in one line;
a page that fails to print fails the build (a warning, and warnings are errors).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

PDF_FOLDER = "_pdf"
# Headless Chromium as root in a container: no setuid sandbox, no GPU, no /dev/shm reliance,
# and nothing that phones home (nothing outside is reachable on the build machines).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAGES_AT_ONCE = 2
PRINT_OPTIONS = {
    "format": "A4",
    "print_background": True,
    "margin": {"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
    "display_header_footer": True,
    # Chromium fills the spans with the classes named; an empty header keeps the default off
    "header_template": "<span></span>",
    "footer_template": (
        '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
        '<span class="title"></span> · <span class="pageNumber"></span>/'
        '<span class="totalPages"></span></div>'
    ),
}
# Run in the page before printing: open collapsed cells (a PDF cannot be clicked), load
# every image now (lazy images off screen would print blank), and wait for fonts and images.
PREPARE_PAGE = """async () => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null :
    new Promise((done) => { img.onload = img.onerror = done; })));
  await document.fonts.ready;
}"""


def find_chromium() -> str | None:
    """The Chromium to drive: $CHROMIUM, /usr/bin/chromium, or a Chrome/Chromium on PATH."""
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in CHROMIUM_NAMES]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _printer() -> tuple[str | None, str]:
    """``(Chromium to print with, "")``, or ``(None, why pages cannot be printed here)``."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return None, "the playwright package is not installed"
    executable = find_chromium()
    if executable is None:
        return None, "no Chromium found (apt-get install chromium, or set CHROMIUM)"
    return executable, ""


def pdf_name(pagename: str) -> str:
    return f"{PDF_FOLDER}/{pagename}.pdf"


def _check_printer(app) -> None:
    app.course_pdf_chromium = None
    if app.builder.format == "html":
        app.course_pdf_chromium, missing = _printer()
        if missing:
            logger.info(f"course_pdf: pages are not printed to PDF: {missing}")


def _download_button(app, pagename, templatename, context, doctree) -> None:
    """Point the download menu's ".pdf" entry at the printed page."""
    if app.course_pdf_chromium is None or doctree is None:
        return
    for group in context.get("header_buttons", []):
        for index, button in enumerate(group.get("buttons", [])):
            if button.get("label") == "download-pdf-button":
                group["buttons"][index] = {
                    "type": "link",
                    "url": context["pathto"](pdf_name(pagename), 1),
                    "text": ".pdf",
                    "tooltip": "Download this page as a PDF",
                    "icon": "fas fa-file-pdf",
                    "label": "download-pdf-button",
                }


def stale_pages(outdir: Path, pagenames) -> list[str]:
    """The pages whose PDF is missing or older than their HTML."""
    stale = []
    for name in sorted(pagenames):
        html, pdf = outdir / f"{name}.html", outdir / pdf_name(name)
        if html.exists() and (not pdf.exists() or pdf.stat().st_mtime < html.stat().st_mtime):
            stale.append(name)
    return stale


async def print_pages(outdir: Path, pagenames: list[str], executable: str) -> dict[str, str]:
    """Print each page of `outdir` to its PDF; returns {page: error} for those that failed."""
    from playwright.async_api import async_playwright

    failures: dict[str, str] = {}
    slots = asyncio.Semaphore(PAGES_AT_ONCE)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = await browser.new_context(color_scheme="light")
        # the page's own colour switch reads localStorage: a printed page is always light
        await context.add_init_script(
            "localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');"
        )

        async def one(name: str) -> None:
            async with slots:
                page = await context.new_page()
                try:
                    await page.goto((outdir / f"{name}.html").resolve().as_uri(), wait_until="load")
                    await page.emulate_media(media="print")
                    await page.evaluate(PREPARE_PAGE)
                    target = outdir / pdf_name(name)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial = target.with_suffix(".pdf.partial")
                    await page.pdf(path=str(partial), **PRINT_OPTIONS)
                    partial.replace(target)
                except Exception as error:  # reported as a build warning, with the page
                    failures[name] = f"{type(error).__name__}: {error}"
                finally:
                    await page.close()

        await asyncio.gather(*(one(name) for name in pagenames))
        await browser.close()
    return failures


def _print_stale_pages(app, exception) -> None:
    if exception is not None or app.course_pdf_chromium is None:
        return
    outdir = Path(app.outdir)
    todo = stale_pages(outdir, app.env.found_docs)
    if not todo:
        return
    logger.info(f"course_pdf: printing {len(todo)} page(s) to {PDF_FOLDER}/")
    failures = asyncio.run(print_pages(outdir, todo, app.course_pdf_chromium))
    for name, error in failures.items():
        logger.warning(f"course_pdf: could not print {name}: {error}", location=name)


def setup(app):
    app.connect("builder-inited", _check_printer)
    # after sphinx-book-theme's header buttons (priority 501)
    app.connect("html-page-context", _download_button, priority=600)
    app.connect("build-finished", _print_stale_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
