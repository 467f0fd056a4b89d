"""The book's one figure style: legible text at the width a figure is shown, sharp on any screen.

:func:`notebook` calls :func:`use_figure_style` at the top of every chapter, so no chapter sets
its own sizes. The numbers follow from how the site shows a figure:

* the content column is about 740 CSS px wide on a desktop and 340 px on a phone, and the site
  shrinks a figure to fit it. A 6.4 in figure at ``figure.dpi`` 100 is 640 px wide, so its text
  is shown at about its nominal size on a desktop; a 10 to 12 in figure of side-by-side panels
  is shrunk by about 0.7, so the base size is 12 pt (about 11 px after shrinking) and no text
  is smaller than 11 pt (legends, ticks);
* a chapter's PNG is written at twice that resolution (IPython's ``retina`` PNG: the pixel
  size is 2x, the display size stays 1x), so lines and text stay sharp on high-density
  screens and when a reader taps a figure to see it at full size;
* the 2x PNG is reduced to a 256-colour palette (Pillow's median cut, no dithering): plots
  have few colours, and this makes them about three times smaller (a 2423 x 1523 px
  six-panel figure: 684 kB as RGBA, 203 kB as palette), so a chapter page stays under 2 MB.
  Neither IPython nor matplotlib offers this, hence the small formatter below.
"""

from __future__ import annotations

import base64
import io

import matplotlib

# Sizes in points at figure.dpi 100 (1 pt = 1.39 px before the site scales the figure).
FIGURE_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    # "figure": the dpi above; the retina format then doubles it for the PNG.
    "savefig.dpi": "figure",
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "figure.titlesize": 14,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    # A transparent PNG turns black-on-dark in dark mode; the site shows plots on white.
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}

PALETTE_COLOURS = 256


def compact_retina_png(fig) -> tuple[str, dict] | None:
    """A figure as a 2x PNG with a 256-colour palette, base64-encoded, and its 1x size as
    width/height metadata (which myst-nb writes into the <img> tag)."""
    from IPython.core.pylabtools import print_figure
    from PIL import Image

    data = print_figure(fig, fmt="retina")
    if data is None:  # a figure with nothing drawn
        return None
    image = Image.open(io.BytesIO(data)).convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    palette = flat.quantize(
        colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    width, height = image.size
    return (
        base64.b64encode(out.getvalue()).decode("ascii"),
        {"width": width // 2, "height": height // 2},
    )


def use_figure_style() -> None:
    """Apply the book's matplotlib style; inside IPython, also the compact 2x PNG output."""
    matplotlib.rcParams.update(FIGURE_STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python (tests, scripts): rcParams are enough
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png")  # only image/png (no second, 1x copy)
    shell.display_formatter.formatters["image/png"].for_type(Figure, compact_retina_png)
