"""Cut the theme's Font Awesome solid web font down to the glyphs the site's CSS uses.

    .venv/bin/python tools/subset_icon_font.py [_build/html]

The page icons are inline SVGs (tools/site_icons), but the themes' CSS still draws a few
icons with the font, in ``::before``/``::after`` (admonition titles, breadcrumbs, external
links). The theme ships the whole font (156 kB); a page needs a dozen glyphs. This reads
every CSS file of a built site, collects the private-use code points they name (``"\\f0c1"``),
and writes the theme's font with only those glyphs to
``book/_static/vendor/fontawesome/webfonts/fa-solid-900.woff2``, which replaces the theme's
file in the next build (html_static_path is copied after the theme's static files).
Subsetting is fontTools' (a matplotlib dependency; woff2 needs ``brotli``).
tests/test_site.py checks that the committed font has every glyph the built CSS names.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "book" / "_static" / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2"
# A code point in the Private Use Area, where Font Awesome puts its icons: a CSS escape
# ("\f0c1") or the character itself (the themes' --pst-icon-* variables).
CSS_ESCAPE = re.compile(r"\\(f[0-9a-f]{3}|e[0-9a-f]{3})\b", re.IGNORECASE)
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
# Font Awesome's own class rules (.fa-link:before) draw <i class="fa-link"> with the font;
# on this site those <i> become SVGs, so those glyphs are not needed.
ICON_CLASS_RULE = re.compile(r"^\s*\.fa-[a-z0-9-]+:{1,2}(before|after)\s*$")


def theme_font() -> Path:
    import pydata_sphinx_theme

    return (
        Path(pydata_sphinx_theme.__file__).parent
        / "theme"
        / "pydata_sphinx_theme"
        / "static"
        / "vendor"
        / "fontawesome"
        / "webfonts"
        / "fa-solid-900.woff2"
    )


def css_code_points(site: Path) -> set[int]:
    """Private-use code points named in the site's CSS files."""
    points = set()
    for css in (site / "_static").rglob("*.css"):
        text = re.sub(r"/\*.*?\*/", "", css.read_text("utf-8"), flags=re.DOTALL)
        for selectors, body in RULE.findall(text):
            if all(ICON_CLASS_RULE.match(sel) for sel in selectors.split(",")):
                continue
            points.update(int(m.group(1), 16) for m in CSS_ESCAPE.finditer(body))
            points.update(ord(c) for c in PRIVATE_USE.findall(body))
    return points


def subset(source: Path, output: Path, code_points: set[int]) -> int:
    from fontTools import subset as ft_subset

    options = ft_subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]  # keep the font's copyright and licence (SIL OFL) records
    font = ft_subset.load_font(str(source), options)
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(code_points))
    subsetter.subset(font)
    output.parent.mkdir(parents=True, exist_ok=True)
    ft_subset.save_font(font, str(output), options)
    return output.stat().st_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "_build" / "html")
    args = parser.parse_args(argv)
    points = css_code_points(args.site)
    if not points:
        print(f"no icon code points in {args.site}/_static/**/*.css: build the site first")
        return 1
    size = subset(theme_font(), OUTPUT, points)
    print(f"{OUTPUT.relative_to(ROOT)}: {len(points)} glyphs, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
