"""Sphinx extension (loaded from _config.yml `sphinx.local_extensions`): Colab-ready notebooks.

sphinx-book-theme builds the Colab button as ``colab/github/ORG/REPO/blob/BRANCH/book/page.md``,
but Colab opens only ``.ipynb`` files, and the chapters are MyST Markdown. This extension

* writes, for every executed chapter, a Colab-ready copy of the executed notebook to
  ``_build/colab/<docname>.ipynb``: the notebook the book rendered (outputs included) with one
  set-up cell in front that installs this repository's ``dlcourse`` package when it is missing
  (on Colab it is; in the course environment it is not, so the cell does nothing there);
* points the page's Colab button at ``blob/<course_colab_branch>/<docname>.ipynb``. The
  GitHub workflow (.github/workflows/book.yml) pushes ``_build/colab`` to that branch on
  every deploy from main.

Binder keeps the theme's link (branch main, the ``.md`` source opens as a notebook through
jupytext). The ``.ipynb`` download button is the theme's: it copies the executed notebook
from ``_build/jupyter_execute`` to ``_build/html/_sources``.

Exercise pages (``EXERCISE_NOTEBOOKS``) are different: their launch buttons open the student
notebook ``exercises/<name>.ipynb`` on the main branch, on Colab and on Binder alike, and no Colab
copy of the page itself is written (the page is only the statement).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

SETUP_SOURCE = """\
# Set-up for Colab (or any fresh environment): install the course's helper package `dlcourse`.
# In the course environment it is already installed and this cell does nothing.
import importlib.util, subprocess, sys
if importlib.util.find_spec("dlcourse") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+{repo_url}@{branch}"], check=True)"""


EXERCISE_NOTEBOOKS = {
    "book/exercise_gradient_descent": "exercises/gradient_descent.ipynb",
    "book/exercise_genz": "exercises/genz_approximation.ipynb",
    "book/exercise_euler": "exercises/euler_equation.ipynb",
}
"""Exercise page -> the student notebook (relative to the repository root) its buttons open."""


def _repo_parts(url: str):
    parts = url.rstrip("/").removesuffix(".git").split("github.com/")[-1].split("/")
    return (parts[0], parts[1]) if len(parts) >= 2 else (None, None)


def colab_notebook(nb, repo_url: str, branch: str):
    """A copy of `nb` with the set-up cell in front (tagged ``colab-setup``)."""
    nb = nbformat.from_dict(nb)
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)  # cell ids
    cell = nbformat.v4.new_code_cell(SETUP_SOURCE.format(repo_url=repo_url, branch=branch))
    cell.metadata["tags"] = ["colab-setup"]
    nb.cells.insert(0, cell)
    nb.metadata.setdefault("colab", {})["provenance"] = []
    return nb


def _executed(nb) -> bool:
    return any(
        c.get("execution_count") or c.get("outputs") for c in nb.cells if c.cell_type == "code"
    )


def _with_cached_outputs(app, pagename, nb):
    """The executed notebook, also when myst-nb took it from jupyter-cache.

    myst-nb 1.4 (``execution_mode: cache``) writes the *unexecuted* notebook to
    ``_build/jupyter_execute`` when the chapter comes from the cache (it merges the cached
    outputs into a copy it renders, but saves the original), so sphinx-book-theme's .ipynb
    download would carry no outputs. Merge them from the cache and fix both copies.
    """
    if _executed(nb) or not any(c.cell_type == "code" for c in nb.cells):
        return nb
    nb_config = getattr(app.env, "mystnb_config", None)  # the path myst-nb resolved
    cache_dir = getattr(nb_config, "execution_cache_path", "") or str(
        Path(app.outdir).parent / ".jupyter_cache"
    )
    if not Path(cache_dir).is_dir():
        return nb
    from jupyter_cache import get_cache

    try:
        _, merged = get_cache(cache_dir).merge_match_into_notebook(nb)
    except KeyError:  # not in the cache: leave it as it is
        return nb
    for path in (
        Path(app.outdir, "_sources", f"{pagename}.ipynb"),
        Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb",
    ):
        if path.exists():
            nbformat.write(merged, path)
    return merged


def _on_page(app, pagename, templatename, context, doctree):
    buttons = context.get("header_buttons") or []
    group = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
    if group is None:  # not an executed notebook page
        return
    theme = app.config.html_theme_options
    repo_url = theme.get("repository_url", "")
    org, repo = _repo_parts(repo_url)
    branch = app.config.course_colab_branch
    colab = theme.get("launch_buttons", {}).get("colab_url", "").rstrip("/")
    if not (org and colab):
        return
    prefix = theme.get("path_to_docs", "").strip("/")
    if pagename in EXERCISE_NOTEBOOKS:
        _launch_student_notebook(group, colab, org, repo, theme, prefix, pagename)
        return
    rel = f"{prefix}/{pagename}.ipynb" if prefix else f"{pagename}.ipynb"
    for button in group.get("buttons", []):
        if button.get("text") == "Colab":
            button["url"] = f"{colab}/github/{org}/{repo}/blob/{branch}/{rel}"

    executed = Path(app.outdir, "_sources", f"{pagename}.ipynb")
    if executed.exists():
        nb = _with_cached_outputs(app, pagename, nbformat.read(executed, as_version=4))
        out = Path(app.outdir).parent / "colab" / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        main = theme.get("repository_branch") or "main"
        nbformat.write(colab_notebook(nb, repo_url, main), out)


def _launch_student_notebook(group, colab, org, repo, theme, prefix, pagename):
    """Point an exercise page's Colab and Binder buttons at its student notebook."""
    notebook = EXERCISE_NOTEBOOKS[pagename]
    main = theme.get("repository_branch") or "main"
    page = f"{prefix}/{pagename}" if prefix else pagename
    for button in group.get("buttons", []):
        if button.get("text") == "Colab":
            button["url"] = f"{colab}/github/{org}/{repo}/blob/{main}/{notebook}"
        elif button.get("text") == "Binder" and "?urlpath=" in button.get("url", ""):
            base, urlpath = button["url"].split("?urlpath=", 1)
            ui = urlpath.split(page, 1)[0]  # "tree/" or "lab/tree/", as the theme chose
            button["url"] = f"{base}?urlpath={ui}{notebook}"


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    """Drop repeated <script> entries (Sphinx 7.4 adds inline scripts registered after the
    builder started twice: once as filename None, once as ''). Repeated ``const`` scripts
    (sphinx-thebe's ``const THEBE_JS_URL``) throw a SyntaxError in the browser."""
    files = context.get("script_files")
    if not files:
        return
    seen, unique = set(), []
    for js in files:
        key = (
            getattr(js, "filename", js) or "",
            getattr(js, "priority", 0),
            tuple(sorted(getattr(js, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(js)
    files[:] = unique


def setup(app):
    app.add_config_value("course_colab_branch", "notebooks", "html")
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", _on_page, priority=502)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
