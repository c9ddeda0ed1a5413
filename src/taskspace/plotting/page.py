"""Figures readable where the book shows them: no text under :data:`MIN_TEXT_POINTS` on the page.

The built book shows a figure's PNG at its own size, or shrunk to the text column
(:data:`FIGURE_COLUMN_PX` CSS pixels at a 1280 px window, measured in headless Chromium) when it
is wider. Text of ``f`` points in a figure of ``dpi`` dots per inch, shrunk by ``scale``, is
``f * dpi * scale / 96`` points on the page (CSS has 96 px to the inch), so a wide figure needs
either fewer inches or larger fonts.

Importing :mod:`taskspace.plotting` adds :func:`check_when_drawn` to matplotlib's
``figure.hooks``: every figure made with ``pyplot`` warns (a :class:`FigureTextWarning`, printed
under the cell) when it is drawn with text that would be smaller than that on the page. The
stale check fails on a committed chapter whose outputs hold such a warning.
"""

from __future__ import annotations

import warnings

import matplotlib as mpl
from matplotlib.backend_bases import DrawEvent
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = [
    "FIGURE_COLUMN_PX",
    "MIN_TEXT_POINTS",
    "FigureTextWarning",
    "check_when_drawn",
    "text_on_page",
]

#: Width (CSS px) of the column in which the book shows figures, at a 1280 px window.
FIGURE_COLUMN_PX = 660.0
#: The smallest text, in points as shown on the page, that every figure must keep.
MIN_TEXT_POINTS = 8.0
CSS_PX_PER_INCH = 96.0


class FigureTextWarning(UserWarning):
    """A figure holds text that the book would show smaller than :data:`MIN_TEXT_POINTS`."""


warnings.simplefilter("always", FigureTextWarning)


def text_on_page(figure: Figure) -> list[tuple[float, str]]:
    """Every visible, non-empty text of ``figure`` as ``(points on the page, text)``, smallest
    first, for a figure saved as the notebook shows it (``bbox_inches="tight"``)."""
    renderer = figure.canvas.get_renderer()
    pad = mpl.rcParams["savefig.pad_inches"]
    width_px = (figure.get_tightbbox(renderer).width + 2 * pad) * figure.dpi
    scale = min(1.0, FIGURE_COLUMN_PX / width_px)
    points_per_point = figure.dpi * scale / CSS_PX_PER_INCH
    texts = [
        (text.get_fontsize() * points_per_point, text.get_text())
        for text in figure.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]
    return sorted(texts)


def _warn_if_small(event: DrawEvent) -> None:
    """After a draw: warn once per figure when its smallest text is too small on the page."""
    figure = event.canvas.figure
    if getattr(figure, "_taskspace_text_checked", False):
        return
    figure._taskspace_text_checked = True
    small = [(points, text) for points, text in text_on_page(figure) if points < MIN_TEXT_POINTS]
    if small:
        points, text = small[0]
        warnings.warn_explicit(
            f"{len(small)} text(s) of this figure would be under {MIN_TEXT_POINTS:g} pt on the "
            f"page, the smallest {text!r} at {points:.1f} pt: narrow the figure or enlarge its "
            "fonts",
            FigureTextWarning,
            filename=__name__,
            lineno=0,
        )


def check_when_drawn(figure: Figure) -> None:
    """A ``figure.hooks`` entry: check ``figure``'s text sizes when it is first drawn."""
    figure.canvas.mpl_connect("draw_event", _warn_if_small)
