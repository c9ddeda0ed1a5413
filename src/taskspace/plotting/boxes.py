"""Figures of 2-D boxes: datasets as rectangles, coloured by group (chapters 3–7).

* :func:`box_figure` -- every box, coloured by group, a highlighted subset filled and labelled;
* :func:`sources_containing_targets` -- Task2Box's figure 4: for each target task (shaded), the
  source boxes that contain most of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from taskspace.boxes.geometry import Boxes

__all__ = ["box_figure", "sources_containing_targets"]

_GREY = "#b0b0b0"


def _corners(boxes: Boxes) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 2)`` low and high corners as numpy arrays; refuses anything but 2-D boxes."""
    if boxes.low.dim() != 2 or boxes.dim != 2:
        raise ValueError(f"can only draw (N, 2) boxes, got {tuple(boxes.low.shape)}")
    return boxes.low.detach().cpu().double().numpy(), boxes.high.detach().cpu().double().numpy()


def _draw(ax: Axes, low: np.ndarray, high: np.ndarray, **style: object) -> None:
    ax.add_patch(Rectangle(tuple(low), *(high - low), **style))


def _frame(ax: Axes, low: np.ndarray, high: np.ndarray, margin: float = 0.08) -> None:
    """Axis limits around the boxes ``(M, 2)``, equal aspect, labelled axes."""
    lo, hi = low.min(0), high.max(0)
    pad = margin * (hi - lo).max()
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("box dimension 1")
    ax.set_ylabel("box dimension 2")


def box_figure(
    boxes: Boxes,
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
    highlight: Sequence[str] | None = None,
    title: str = "",
    ax: Axes | None = None,
    legend: Literal["inside", "outside", "none"] = "inside",
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
    """
    if legend not in ("inside", "outside", "none"):
        raise ValueError(f"legend must be 'inside', 'outside' or 'none', got {legend!r}")
    low, high = _corners(boxes)
    if len(labels) != len(low) or (groups is not None and len(groups) != len(low)):
        raise ValueError(f"need one label (and group) per box: {len(low)} boxes")
    unknown = set(highlight or ()) - set(labels)
    if unknown:
        raise ValueError(f"highlighted names not among the labels: {sorted(unknown)}")
    keys = list(dict.fromkeys(groups if groups is not None else labels))
    cmap = plt.get_cmap("tab10" if len(keys) <= 10 else "tab20")
    colour = {key: cmap(i % cmap.N) for i, key in enumerate(keys)}
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
                fontsize=7,
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
        ax.legend(handles, keys, fontsize=8, title="group", title_fontsize=8, **place)
    _frame(ax, low, high)
    ax.set_title(title, fontsize=10)
    return fig


def sources_containing_targets(
    boxes: Boxes,
    names: Sequence[str],
    targets: Sequence[str],
    overlap: torch.Tensor,
    top: int = 3,
    actual: torch.Tensor | None = None,
) -> Figure:
    """Task2Box's figure 4: each target (shaded) with the ``top`` sources that contain most of it.

    Sources are ranked by ``overlap[target, source]`` = ``d_box(z_target, z_source)``, the
    fraction of the target's box inside the source's box (the predicted transfer affinity). All
    other boxes are drawn in light grey for context.

    Args:
        boxes: ``(N, 2)`` boxes.
        names: ``N`` task names.
        targets: the names of the targets, one panel each.
        overlap: ``(N, N)`` ``d_box`` matrix, ``[target, source]``.
        top: how many sources to draw per target.
        actual: optional ``(N, N)`` true affinities ``[target, source]``, quoted in the legend.
    """
    low, high = _corners(boxes)
    if overlap.shape != (len(names), len(names)) or len(names) != len(low):
        raise ValueError(f"need (N, N) overlaps and N names for {len(low)} boxes")
    missing = [t for t in targets if t not in names]
    if missing:
        raise ValueError(f"unknown targets: {missing}")
    scores = overlap.detach().cpu().double().clone()
    scores.fill_diagonal_(-np.inf)
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(targets), figsize=(5.2 * len(targets), 5), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        t = names.index(target)
        sources = torch.argsort(scores[t], descending=True)[:top].tolist()
        for i in range(len(names)):
            _draw(ax, low[i], high[i], facecolor="none", edgecolor=_GREY, linewidth=0.5)
        for rank, s in enumerate(sources):
            truth = "" if actual is None else f", true {float(actual[t, s]):.3f}"
            _draw(
                ax,
                low[s],
                high[s],
                facecolor="none",
                edgecolor=colours(rank),
                linewidth=2,
                label=f"{names[s]} (d_box {float(scores[t, s]):.2f}{truth})",
            )
        _draw(
            ax,
            low[t],
            high[t],
            facecolor="#404040",
            alpha=0.45,
            edgecolor="black",
            linewidth=1.5,
            label=f"target: {target}",
        )
        shown = [t, *sources]
        _frame(ax, low[shown], high[shown], margin=0.15)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
        ax.set_title(f"sources containing {target}", fontsize=10)
    fig.tight_layout()
    return fig
