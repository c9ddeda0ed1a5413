"""Figures warn when the book would show their text under 8 pt (taskspace.plotting.page)."""

from __future__ import annotations

import io
import warnings

import matplotlib.pyplot as plt
import pytest

import taskspace.plotting  # noqa: F401  (installs the check)
from taskspace.plotting.page import MIN_TEXT_POINTS, FigureTextWarning, text_on_page


def _saved_as_the_notebook_shows_it(width: float, fontsize: float) -> list[str]:
    """Warnings raised while saving a ``width``-inch figure with ``fontsize``-point labels."""
    fig, ax = plt.subplots(figsize=(width, 3))
    ax.set_xlabel("time", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
    plt.close(fig)
    return [str(w.message) for w in caught if issubclass(w.category, FigureTextWarning)]


def test_a_narrow_figure_with_readable_text_passes() -> None:
    assert _saved_as_the_notebook_shows_it(width=5, fontsize=9) == []


def test_a_wide_figure_is_shrunk_and_its_text_with_it() -> None:
    """10 pt in a 12-inch figure (whose axes and labels span about 9.7 inches, 970 px) is shown
    660 px wide: about 7 pt. The same text in a 10-inch figure (about 820 px) keeps 8.2 pt."""
    (message,) = _saved_as_the_notebook_shows_it(width=12, fontsize=10)
    assert f"under {MIN_TEXT_POINTS:g} pt" in message and "pt on the page" in message
    assert _saved_as_the_notebook_shows_it(width=10, fontsize=10) == []


def test_small_fonts_fail_even_unshrunk() -> None:
    assert _saved_as_the_notebook_shows_it(width=4, fontsize=6)


def test_text_on_page_follows_the_formula() -> None:
    """Unshrunk, f points at 100 dpi are f * 100 / 96 points on the page."""
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.set_title("title", fontsize=12)
    fig.canvas.draw()
    sizes = dict((text, points) for points, text in text_on_page(fig))
    plt.close(fig)
    assert sizes["title"] == pytest.approx(12 * 100 / 96)
