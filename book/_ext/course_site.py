"""Sphinx extension (loaded from _config.yml `sphinx.local_extensions`): the site's global fixes.

Fixed here once rather than in every page. The themes are sphinx-book-theme 1.3 on
pydata-sphinx-theme 0.17, the newest pair that supports Sphinx 7 (sphinx-book-theme 1.4 needs
Sphinx 8.2; going back to 1.1 would mean pydata-sphinx-theme 0.15 and re-checking every
page's markup, where the phone-menu bug has one cause, removed below).

* **One header, working sidebar toggles.** pydata-sphinx-theme turns `navbar_persistent` on
  unless the theme options name it, so a second, almost empty header bar with its own search
  box and its own hidden ``.primary-toggle`` appears. The theme binds the phone sidebars to the
  *first* ``.primary-toggle`` in the page (pydata-sphinx-theme#2451), that hidden one, so the
  menu never opens on a phone. With ``navbar_persistent = []`` the header renders nothing and
  the book theme's visible toggles are the ones that get the handlers.
* **A logo with the title beside it** (the theme shows one or the other).
* **A clean tab title**: a page titled like the book (the home page) gets no ``— <book title>``
  suffix repeating it.
* **Accessible names** for the search field and the colour switch (templates/, see there).
* **A bibliography that matches the citations**: labels "[Kingma and Ba, 2015]" like the
  author-year citations (`bibtex_default_style: course_author_year`), entries as list items,
  and under each entry links back to the chapters that cite it.
* **The execution status table** names chapters by title, results in words.
* **No search index on every page** (templates/layout.html): 90 kB a page, used only on
  search.html.
* ``course.js`` (book/_static): tooltips that stay up after a tap, the ``/`` search key,
  keyboard access to boxes that scroll sideways, plots that open at full size, search
  snippets without TeX.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

import pybtex.plugin
from docutils import nodes
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

# Overrides of theme templates: accessible names of the search and colour buttons, and no
# search index on pages that do not search (see each file).
TEMPLATES = Path(__file__).parent / "templates"


def _theme_defaults(app, config):
    config.templates_path.insert(0, str(TEMPLATES))
    options = config.html_theme_options
    # Set explicitly so pydata-sphinx-theme does not add its header search field (see above).
    options.setdefault("navbar_persistent", [])
    # The logo is a picture (book/_static/logo.svg); the book's title stays beside it as text.
    options.setdefault("logo", {}).setdefault("text", config.html_title or config.project)


def _tab_title(app, pagename, templatename, context, doctree):
    # Sphinx's layout appends " — <docstitle>" to every <title> that has a docstitle.
    title = (context.get("title") or "").strip()
    if title and title == (context.get("docstitle") or "").strip():
        context["docstitle"] = ""


class AuthorYearLabelStyle(BaseLabelStyle):
    """Bibliography labels written like the citations in the text: "Kingma and Ba, 2015".

    The names come from sphinxcontrib-bibtex's own author-year citation style (same
    separators, "et al." after the first of three or more authors), so a reader who sees
    [Goodfellow et al., 2016] in a chapter finds the same words in the references list.
    Two works with the same label get a, b, ... (2016a, 2016b)."""

    def format_labels(self, sorted_entries):
        labels = [self.format_label(entry) for entry in sorted_entries]
        repeated = {label for label in labels if labels.count(label) > 1}
        seen: dict[str, int] = {}
        for label in labels:
            if label in repeated:
                seen[label] = seen.get(label, 0) + 1
                label = f"{label}{chr(ord('a') + seen[label] - 1)}"
            yield label

    def format_label(self, entry):
        style = AuthorYearReferenceStyle()
        names = style.person.author_or_editor_or_title(full=False)
        text = names.format_data({"entry": entry, "style": style}).render_as("text")
        return f"{text}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(PlainStyle):
    """pybtex's "plain" entries (sorted by author, year, title) with author-year labels."""

    default_label_style = "course_author_year"


def _citation_backrefs(app, doctree, docname):
    """Under each reference of a bibliography, links to the chapters that cite it."""
    domain = app.env.get_domain("cite")
    key_of = {
        c.citation_id: c.key for c in domain.citations if c.bibliography_key.docname == docname
    }
    if not key_of:
        return
    citing: dict[str, dict[str, str]] = {}  # key -> {citing page: first citation id}
    for ref in domain.citation_refs:
        for target in ref.targets:
            citing.setdefault(target.key, {}).setdefault(ref.docname, ref.citation_ref_id)
    titles = {doc: app.env.titles[doc].astext() for doc in app.env.titles}
    for citation in doctree.findall(nodes.citation):
        key = next((key_of[i] for i in citation["ids"] if i in key_of), None)
        pages = citing.get(key)
        if not pages:
            continue
        cited_in = nodes.paragraph(classes=["course-cited-in"])
        cited_in += nodes.Text("Cited in: ")
        for n, (page, ref_id) in enumerate(
            sorted(pages.items(), key=lambda p: titles.get(p[0], p[0]))
        ):
            if n:
                cited_in += nodes.Text(", ")
            uri = app.builder.get_relative_uri(docname, page) + "#" + ref_id
            cited_in += nodes.reference("", titles.get(page, page), internal=True, refuri=uri)
        citation += cited_in


class ReadableExecutionTable(SphinxPostTransform):
    """myst-nb's execution table (book/status.md) names chapters by file path and shows only
    an emoji for the result: name each chapter by its title (its file path small beside it),
    and put the result in words next to the emoji (a screen reader reads the word)."""

    default_priority = 9  # after myst-nb fills the table (8), before links resolve

    RESULT_WORDS = {"✅": "✅ succeeded", "❌": "❌ failed"}

    def run(self, **kwargs):
        for table in self.document.findall(nodes.table):
            links = [x for x in table.findall(addnodes.pending_xref) if x.get("reftype") == "doc"]
            if not links or "Run Time (s)" not in table.astext():
                continue
            for link in links:
                docname = posixpath.normpath(
                    posixpath.join(posixpath.dirname(self.env.docname), link["reftarget"])
                )
                if docname in self.env.titles:
                    link.children = [nodes.inline(text=self.env.titles[docname].astext())]
                    # the source file stays beside the title, small: the build logs name it
                    link.parent.insert(
                        link.parent.index(link) + 1,
                        nodes.literal(text=docname, classes=["course-exec-source"]),
                    )
                    link.parent.insert(link.parent.index(link) + 1, nodes.Text(" "))
            for text in list(table.findall(nodes.Text)):
                if text.astext() in self.RESULT_WORDS:
                    text.parent.replace(text, nodes.Text(self.RESULT_WORDS[text.astext()]))


def _list_roles(app, pagename, templatename, context, doctree):
    # docutils writes each reference of a bibliography as role="doc-biblioentry" inside a
    # role="list": that role is deprecated (ARIA 1.3) and is not a list item, so the list has
    # no items for assistive technology (axe: aria-required-children, critical).
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


# myst-nb names every collapsed-cell toggle "Toggle hidden content", while the toggle shows
# "Show code cell source": a name that differs from the visible label fails WCAG 2.5.3 (axe:
# label-content-name-mismatch, serious). Without the attribute the visible text is the name.
_HIDDEN_CELL_TOGGLE = '<summary aria-label="Toggle hidden content">'


def _toggle_names(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and _HIDDEN_CELL_TOGGLE in body:
        context["body"] = body.replace(_HIDDEN_CELL_TOGGLE, "<summary>")


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.labels", "course_author_year", AuthorYearLabelStyle)
    pybtex.plugin.register_plugin("pybtex.style.formatting", "course_author_year", AuthorYearStyle)
    app.connect("html-page-context", _list_roles)
    app.connect("html-page-context", _toggle_names)
    app.connect("doctree-resolved", _citation_backrefs)
    app.add_post_transform(ReadableExecutionTable)
    app.connect("config-inited", _theme_defaults)
    app.connect("html-page-context", _tab_title)
    app.add_js_file("course.js", loading_method="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
