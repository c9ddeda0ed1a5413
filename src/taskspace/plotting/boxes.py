"""Figures of 2-D boxes: datasets as rectangles, coloured by group (chapters 3–7).

* :func:`box_figure` -- every box, coloured by group, a highlighted subset filled and labelled;
* :func:`box_panels` -- one panel per group, zoomed to the group's boxes, the others faded: a
  readable map when boxes of very different sizes crowd one region (chapter 5);
* :func:`sources_containing_targets` -- Task2Box's figure 4: for each target task (shaded), the
  source boxes that contain most of it.

Panels zoomed per axis (``box_panels``, ``sources_containing_targets``) stretch the two
dimensions differently; that changes the boxes' shapes but not which box lies inside which, nor
the fraction of one drawn box inside another, a ratio of areas that a scaling of one axis leaves
unchanged. Boxes thinner than a small fraction of a panel are drawn at that width around their
centre, so that they stay visible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from taskspace.boxes.geometry import Boxes, log_overlap
from taskspace.plotting.labels import label_points

__all__ = [
    "box_corners",
    "box_figure",
    "box_panels",
    "frame_boxes",
    "sources_containing_targets",
]

_GREY = "#b0b0b0"
#: Narrowest drawn side of a box in a zoomed panel, as a fraction of the panel's span.
MIN_DRAWN = 0.012


def box_corners(boxes: Boxes) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 2)`` low and high corners as numpy arrays; refuses anything but 2-D boxes (every
    figure of 2-D boxes starts here, chapter 7's maps too)."""
    if boxes.low.dim() != 2 or boxes.dim != 2:
        raise ValueError(f"can only draw (N, 2) boxes, got {tuple(boxes.low.shape)}")
    return boxes.low.detach().cpu().double().numpy(), boxes.high.detach().cpu().double().numpy()


def _draw(ax: Axes, low: np.ndarray, high: np.ndarray, **style: object) -> None:
    ax.add_patch(Rectangle(tuple(low), *(high - low), **style))


def _palette(keys: Sequence[str]) -> dict[str, tuple[float, ...]]:
    """One RGBA colour per key: ``tab10`` up to 10 keys, else ``tab20`` (repeating after 20)."""
    cmap = plt.get_cmap("tab10" if len(keys) <= 10 else "tab20")
    return {key: cmap(i % cmap.N) for i, key in enumerate(keys)}


def frame_boxes(
    ax: Axes, low: np.ndarray, high: np.ndarray, margin: float = 0.08, equal: bool = True
) -> np.ndarray:
    """Axis limits around the boxes ``(M, 2)``, labelled axes; returns the ``(2,)`` spans (used
    by every figure of 2-D boxes, chapter 7's maps too).

    ``equal``: one scale for both axes (the boxes' true shapes); otherwise each axis is zoomed
    to the boxes on its own.
    """
    lo, hi = low.min(0), high.max(0)
    pad = margin * ((hi - lo).max() if equal else (hi - lo))
    lo, hi = lo - pad, hi + pad
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal" if equal else "auto")
    ax.set_xlabel("box dimension 1")
    ax.set_ylabel("box dimension 2")
    return hi - lo


def _inflate(low: np.ndarray, high: np.ndarray, minimum: np.ndarray) -> tuple[np.ndarray, ...]:
    """Corners ``(M, 2)`` widened about their centres so that every side is at least
    ``minimum`` ``(2,)`` long (what is drawn for slivers)."""
    centre, half = (low + high) / 2, np.maximum(high - low, minimum) / 2
    return centre - half, centre + half


def box_figure(
    boxes: Boxes,
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
    highlight: Sequence[str] | None = None,
    title: str = "",
    ax: Axes | None = None,
    legend: Literal["inside", "outside", "none"] = "inside",
    fontsize: float = 8,
) -> Figure:
    """Draw ``(N, 2)`` boxes as rectangles (chapter 3).

    Args:
        boxes: ``(N, 2)`` boxes.
        labels: ``N`` names.
        groups: ``N`` group names (e.g. a taxonomic class); boxes of a group share a colour and
            the legend lists the groups. ``None``: one colour per box.
        highlight: names to fill and label; the others are drawn thin and unlabelled. ``None``:
            label every box.
        title: the axes' title.
        ax: draw into these axes instead of a new figure.
        legend: where the legend of the groups goes: ``"inside"`` the axes where it covers the
            fewest boxes, ``"outside"`` to the right of the axes (covering nothing), or
            ``"none"`` (e.g. for all panels of a figure but one, which share one legend).
        fontsize: points of the box labels; the legend's are one point larger, the title's
            three.
    """
    if legend not in ("inside", "outside", "none"):
        raise ValueError(f"legend must be 'inside', 'outside' or 'none', got {legend!r}")
    low, high = box_corners(boxes)
    if len(labels) != len(low) or (groups is not None and len(groups) != len(low)):
        raise ValueError(f"need one label (and group) per box: {len(low)} boxes")
    unknown = set(highlight or ()) - set(labels)
    if unknown:
        raise ValueError(f"highlighted names not among the labels: {sorted(unknown)}")
    keys = list(dict.fromkeys(groups if groups is not None else labels))
    colour = _palette(keys)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 6))
    shown = set(labels) if highlight is None else set(highlight)
    for i, name in enumerate(labels):
        c = colour[groups[i] if groups is not None else name]
        strong = name in shown
        _draw(
            ax,
            low[i],
            high[i],
            facecolor=(*c[:3], 0.25 if strong and highlight is not None else 0.05),
            edgecolor=c,
            linewidth=2.0 if strong else 0.8,
        )
        if strong:
            ax.annotate(
                name,
                (low[i, 0], high[i, 1]),
                xytext=(2, -2),
                textcoords="offset points",
                fontsize=fontsize,
                va="top",
                color=c,
            )
    if groups is not None and legend != "none":
        handles = [
            Rectangle((0, 0), 1, 1, facecolor=(*colour[k][:3], 0.3), edgecolor=colour[k])
            for k in keys
        ]
        place = (
            {"loc": "best"}
            if legend == "inside"
            else {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0}
        )
        size = fontsize + 1
        ax.legend(handles, keys, fontsize=size, title="group", title_fontsize=size, **place)
    frame_boxes(ax, low, high)
    ax.set_title(title, fontsize=fontsize + 3)
    return fig


def box_panels(
    boxes: Boxes,
    labels: Sequence[str],
    groups: Sequence[str],
    columns: int = 1,
    title: str = "",
) -> Figure:
    """Draw ``(N, 2)`` boxes as one panel per group (chapter 5); one column of panels keeps the
    figure at the page's width, where its 9 pt labels stay readable.

    Each panel fills and labels its group's boxes in the group's colour and draws every other
    box in faded grey, for context; its axes are zoomed, each on its own, to the group's boxes
    (which keeps every containment, see the module's docstring). Labels are placed by
    :func:`~taskspace.plotting.labels.label_points` at the centres of the visible parts of the
    boxes, so that no two cover each other.

    Args:
        boxes: ``(N, 2)`` boxes.
        labels: ``N`` names.
        groups: ``N`` group names, one panel per group in order of first appearance.
        columns: panels per row.
        title: the figure's title.
    """
    low, high = box_corners(boxes)
    if len(labels) != len(low) or len(groups) != len(low):
        raise ValueError(f"need one label and one group per box: {len(low)} boxes")
    keys = list(dict.fromkeys(groups))
    colour = _palette(keys)
    rows = math.ceil(len(keys) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.6 * columns, 4.4 * rows), squeeze=False)
    panels = []
    for ax, key in zip(axes.flat, keys, strict=False):
        members = [i for i, g in enumerate(groups) if g == key]
        span = frame_boxes(ax, low[members], high[members], margin=0.12, equal=False)
        lo, hi = _inflate(low, high, MIN_DRAWN * span)
        for i in range(len(low)):
            if i not in members:
                _draw(ax, lo[i], hi[i], facecolor="none", edgecolor=_GREY, linewidth=0.5)
        for i in members:
            c = colour[key]
            _draw(ax, lo[i], hi[i], facecolor=(*c[:3], 0.12), edgecolor=c, linewidth=1.8)
        ax.set_title(f"{key} ({len(members)} tasks; other tasks in grey)", fontsize=10)
        panels.append((ax, members))
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    # leave the title its own strip (about 0.4 inch) above the panels
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()) if title else None)
    for ax, members in panels:
        view = np.array([ax.get_xlim(), ax.get_ylim()]).T  # (2, 2): low and high corner
        anchors = (np.clip(low[members], *view) + np.clip(high[members], *view)) / 2
        for text in label_points(ax, anchors, [labels[i] for i in members], fontsize=9):
            text.set_color(colour[groups[members[0]]])
            text.set_bbox({"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 0.6})
    return fig


def _true_rank(actual: torch.Tensor, target: int, source: int) -> tuple[int, int]:
    """Rank (1 = best) of ``source`` among the known sources of ``target`` by the true
    affinities ``actual`` ``(N, N)`` ``[target, source]``, and how many known sources there are."""
    row = actual[target].detach().cpu().double().clone()
    row[target] = torch.nan
    known = row[torch.isfinite(row)]
    return int((known > row[source]).sum()) + 1, len(known)


def sources_containing_targets(
    boxes: Boxes,
    names: Sequence[str],
    targets: Sequence[str],
    overlap: torch.Tensor,
    top: int = 3,
    actual: torch.Tensor | None = None,
) -> Figure:
    """Task2Box's figure 4: each target (shaded) with the ``top`` sources that contain most of it
    (chapter 5).

    Sources are ranked by ``overlap[target, source]`` = ``d_box(z_target, z_source)``, the
    fraction of the target's box inside the source's box (the predicted transfer affinity). All
    other boxes are drawn in light grey for context. Each panel is zoomed, axis by axis, to its
    target and sources, and slivers are drawn at a minimum width (see the module's docstring).
    The legend gives, beside each soft ``d_box``, the fraction of the drawn (hard) rectangle of
    the target inside the source's: the two differ where a side is shorter than the volume
    temperature, which the soft volume treats as about ``T_vol ln 2`` long (chapter 3).

    Args:
        boxes: ``(N, 2)`` boxes.
        names: ``N`` task names.
        targets: the names of the targets, one panel each.
        overlap: ``(N, N)`` ``d_box`` matrix, ``[target, source]``.
        top: how many sources to draw per target.
        actual: optional ``(N, N)`` true affinities ``[target, source]`` (NaN = unknown); the
            legend then quotes each source's true affinity and its true rank among the target's
            known sources.
    """
    low, high = box_corners(boxes)
    if overlap.shape != (len(names), len(names)) or len(names) != len(low):
        raise ValueError(f"need (N, N) overlaps and N names for {len(low)} boxes")
    missing = [t for t in targets if t not in names]
    if missing:
        raise ValueError(f"unknown targets: {missing}")
    scores = overlap.detach().cpu().double().clone()
    scores.fill_diagonal_(-np.inf)
    hard = log_overlap(boxes[:, None], boxes[None], 0.0, 0.0).exp()  # (N, N) drawn rectangles
    colours = plt.get_cmap("tab10")
    # one panel per row: the figure keeps the page's width, where its 9 pt legends stay readable
    fig, axes = plt.subplots(len(targets), 1, figsize=(6.6, 5.4 * len(targets)), squeeze=False)
    for ax, target in zip(axes[:, 0], targets, strict=True):
        t = names.index(target)
        sources = torch.argsort(scores[t], descending=True)[:top].tolist()
        shown = [t, *sources]
        span = frame_boxes(ax, low[shown], high[shown], margin=0.15, equal=False)
        lo, hi = _inflate(low, high, MIN_DRAWN * span)
        for i in range(len(names)):
            _draw(ax, lo[i], hi[i], facecolor="none", edgecolor=_GREY, linewidth=0.5)
        for rank, s in enumerate(sources):
            truth = ""
            if actual is not None:
                place, known = _true_rank(actual, t, s)
                truth = f", true {float(actual[t, s]):.3f} (rank {place} of {known})"
            _draw(
                ax,
                lo[s],
                hi[s],
                facecolor="none",
                edgecolor=colours(rank),
                linewidth=2,
                label=f"{names[s]}: d_box {float(scores[t, s]):.2f} (drawn "
                f"{float(hard[t, s]):.2f}){truth}",
            )
        _draw(
            ax,
            lo[t],
            hi[t],
            facecolor="#404040",
            alpha=0.45,
            edgecolor="black",
            linewidth=1.5,
            label=f"target: {target}",
        )
        ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=1)
        ax.set_title(f"{target}: its {top} best sources by the map", fontsize=10)
    fig.tight_layout()
    return fig
