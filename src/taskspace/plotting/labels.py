"""Text labels for points in a scatter plot that do not cover each other (chapter 2).

:func:`label_points` places each label greedily: it tries offsets around its point, nearest
first, in eight directions, and keeps the first whose text box overlaps no label placed before
it, no other point and nothing outside the axes (or, if every offset collides, the one with the
least overlap). A label moved away from its point is joined to it by a thin line.
:func:`annotate_free` places one label that way, for other figures (the boxes of chapter 7).

Placement works in display coordinates, so call it after the figure's layout is final
(after ``tight_layout``, colour bars and axis limits).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

__all__ = ["annotate_free", "covered_area", "label_points"]

#: Distances (typographic points) of the candidate positions from their point, nearest first.
RADII: tuple[float, ...] = (3.0, 9.0, 16.0, 25.0, 36.0, 50.0)
#: Directions tried at each distance, in degrees: upper right first, as a plain label sits.
ANGLES: tuple[float, ...] = (45.0, -45.0, 135.0, -135.0, 0.0, 180.0, 90.0, -90.0)
_LEADER = {"arrowstyle": "-", "color": "#555555", "lw": 0.5, "shrinkA": 0.0, "shrinkB": 2.0}


def _alignment(angle: float) -> tuple[str, str]:
    """Horizontal and vertical alignment that puts the text on the ``angle`` side of its point."""
    dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    ha = "left" if dx > 0.3 else "right" if dx < -0.3 else "center"
    va = "bottom" if dy > 0.3 else "top" if dy < -0.3 else "center"
    return ha, va


def covered_area(box: Bbox, others: Sequence[Bbox]) -> float:
    """Total area (pixels squared) that ``box`` shares with ``others``."""
    total = 0.0
    for other in others:
        width = min(box.x1, other.x1) - max(box.x0, other.x0)
        height = min(box.y1, other.y1) - max(box.y0, other.y0)
        total += max(width, 0.0) * max(height, 0.0)
    return total


def _outside(box: Bbox, frame: Bbox) -> float:
    """Area of ``box`` that lies outside ``frame``."""
    return box.width * box.height - covered_area(box, [frame])


def label_points(
    ax: Axes,
    points: np.ndarray,
    texts: Sequence[str],
    obstacles: np.ndarray | None = None,
    fontsize: float = 8.0,
    marker_radius: float = 3.0,
) -> list[Annotation]:
    """Write ``texts[i]`` next to ``points[i]`` so that no two labels overlap where room allows.

    Args:
        ax: the axes; its limits and the figure's layout must be final.
        points: ``(N, 2)`` data coordinates of the labelled points.
        texts: ``N`` labels.
        obstacles: ``(M, 2)`` data coordinates of every drawn point, which labels should not
            cover (default: ``points``). A label may touch its own point's marker.
        fontsize: of the labels.
        marker_radius: half the side (typographic points) of the square kept free around each
            obstacle.

    Returns:
        the ``N`` annotations, in the order of ``texts``.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(points) != len(texts):
        raise ValueError(f"need one text per point: {len(points)} points, {len(texts)} texts")
    obstacles = points if obstacles is None else np.asarray(obstacles, dtype=float).reshape(-1, 2)
    renderer = ax.figure.canvas.get_renderer()
    pixels_per_point = ax.figure.dpi / 72.0
    half = marker_radius * pixels_per_point
    markers = [
        (xy, Bbox.from_extents(x - half, y - half, x + half, y + half))
        for xy, (x, y) in zip(obstacles, ax.transData.transform(obstacles), strict=True)
    ]
    placed: list[Bbox] = []
    annotations = []
    for point, text in zip(points, texts, strict=True):
        others = [box for xy, box in markers if not np.allclose(xy, point)]
        annotation, _ = annotate_free(ax, point, text, [*placed, *others], fontsize=fontsize)
        placed.append(_text_extent(annotation, renderer))
        annotations.append(annotation)
    return annotations


def annotate_free(
    ax: Axes, point: Sequence[float], text: str, taken: Sequence[Bbox], **style: object
) -> tuple[Annotation, float]:
    """Write ``text`` near ``point`` (data coordinates) at the nearest position that covers
    nothing in ``taken`` (display-coordinate boxes) and stays inside the axes, joined to the
    point by a thin line when moved away; ``style`` goes to ``ax.annotate``.

    Returns:
        the annotation and the area (pixels squared) it still covers: 0 when it found room.
    """
    renderer = ax.figure.canvas.get_renderer()
    probe = ax.annotate(text, point, xytext=(0, 0), textcoords="offset points", **style)
    radius, angle, cost = _best_position(probe, renderer, taken, ax.get_window_extent(renderer))
    probe.remove()
    ha, va = _alignment(angle)
    annotation = ax.annotate(
        text,
        point,
        xytext=_offset(radius, angle),
        textcoords="offset points",
        ha=ha,
        va=va,
        arrowprops=_LEADER if radius > RADII[0] else None,
        **style,
    )
    return annotation, cost


def _text_extent(annotation: Annotation, renderer: RendererBase) -> Bbox:
    """The window extent of an annotation's text alone, without its leader line."""
    annotation.update_positions(renderer)
    return Text.get_window_extent(annotation, renderer)


def _offset(radius: float, angle: float) -> tuple[float, float]:
    """``(dx, dy)`` in typographic points."""
    return radius * np.cos(np.radians(angle)), radius * np.sin(np.radians(angle))


def _best_position(
    probe: Annotation, renderer: RendererBase, taken: Sequence[Bbox], frame: Bbox
) -> tuple[float, float, float]:
    """The first ``(radius, angle)`` at which ``probe`` covers nothing in ``taken`` and stays in
    ``frame``; if there is none, the one with the least covered area; and that area."""
    best, least = (RADII[0], ANGLES[0]), np.inf
    for radius, angle in itertools.product(RADII, ANGLES):
        probe.xyann = _offset(radius, angle)
        ha, va = _alignment(angle)
        probe.set_horizontalalignment(ha)
        probe.set_verticalalignment(va)
        box = probe.get_window_extent(renderer)
        cost = covered_area(box, taken) + _outside(box, frame)
        if cost < least:
            best, least = (radius, angle), cost
        if cost == 0.0:
            break
    return (*best, least)
