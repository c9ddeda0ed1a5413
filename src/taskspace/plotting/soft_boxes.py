"""Figures of chapter 3's box geometry: the pull between sliding squares, the smoothings of soft
boxes, and the training curves and boxes of the tiny learned example."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from taskspace.boxes.geometry import EULER_GAMMA, INTERSECTION_TEMPERATURE, Boxes
from taskspace.plotting.boxes import box_figure

__all__ = ["learned_boxes_figure", "loss_curves_figure", "pull_figure", "smoothing_figure"]


def pull_figure(
    gaps: torch.Tensor, curves: Mapping[str, tuple[torch.Tensor, torch.Tensor]]
) -> Figure:
    """Overlap (left) and pull on a log scale (right) against the gap between two squares
    (chapter 3).

    Args:
        gaps: ``(G,)`` the gaps.
        curves: label -> (``d_box`` ``(G,)``, pull ``(G,)``), as
            :func:`~taskspace.boxes.sliding.sliding_square` returns them.
    """
    fig, (left, right) = plt.subplots(2, 1, figsize=(7.5, 6.6))
    for label, (overlap, pull) in curves.items():
        if overlap.shape != gaps.shape or pull.shape != gaps.shape:
            raise ValueError(f"curve {label!r}: need two {tuple(gaps.shape)} tensors like gaps")
        left.plot(gaps, overlap, label=label)
        right.plot(gaps, pull.clamp_min(1e-30), label=label)
    for ax in (left, right):
        ax.set_xlabel("gap between the squares (negative: overlapping)")
    left.set_ylabel("d_box(sliding, fixed)")
    right.set_ylabel("-d d_box / d x (log scale)")
    right.set_yscale("log")
    right.set_ylim(1e-12, 10)
    left.legend(fontsize=10)
    left.set_title("overlap")
    right.set_title("gradient that pulls the squares together")
    fig.tight_layout()
    return fig


def smoothing_figure(
    points: int = 801,
    intersection_temperatures: Sequence[float] = (0.3, 0.1, 1e-4),
    volume_temperatures: Sequence[float] = (0.3, 0.1),
) -> Figure:
    """The two smoothings of soft boxes on ``points`` grid points (chapter 3): left, the Gumbel
    intersection's lower corner ``T_int log(e^{z_i / T_int} + e^{z_j / T_int})`` against ``z_i``
    (with ``z_j = 0``); right, the Bessel volume's soft side ``T_vol log(1 + e^{(s - 2 gamma_E
    T_int) / T_vol})`` against the side ``s`` (with Task2Box's ``T_int``); each beside its hard
    version."""
    fig, (left, right) = plt.subplots(2, 1, figsize=(7.5, 6.4))
    other_low = torch.zeros(1, dtype=torch.float64)
    lows = torch.linspace(-1, 1, points, dtype=torch.float64)
    left.plot(lows, lows.clamp_min(0), "k--", label="hard: max(z_i, z_j)")
    for t in intersection_temperatures:
        left.plot(lows, t * torch.logaddexp(lows / t, other_low / t), label=f"T_int = {t:g}")
    left.set_xlabel("lower corner z_i (with z_j = 0)")
    left.set_ylabel("lower corner of the intersection")
    left.set_title("Gumbel intersection: a smooth max")
    left.legend(fontsize=10)

    side = torch.linspace(-0.6, 1.0, points, dtype=torch.float64)
    shortened = side - 2 * EULER_GAMMA * INTERSECTION_TEMPERATURE
    right.plot(side, side.clamp_min(0), "k--", label="hard: max(s, 0)")
    for t_vol in volume_temperatures:
        soft = torch.nn.functional.softplus(shortened, beta=1 / t_vol)
        right.plot(side, soft, label=f"T_vol = {t_vol:g}")
    right.set_xlabel("side length s of a box")
    right.set_ylabel("soft side length")
    right.set_title("Bessel-approximate volume: a softplus per side")
    right.legend(fontsize=10)
    fig.tight_layout()
    return fig


def loss_curves_figure(
    losses: torch.Tensor, labels: Sequence[str], ylabel: str, title: str = ""
) -> Figure:
    """One training curve per network, on a log scale (chapter 3).

    Args:
        losses: ``(steps, R)`` a loss of each of ``R`` networks trained side by side.
        labels: ``R`` names.
    """
    if losses.ndim != 2 or losses.shape[1] != len(labels):
        raise ValueError(f"losses must be (steps, {len(labels)}), got {tuple(losses.shape)}")
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for member, label in enumerate(labels):
        ax.plot(losses[:, member].clamp_min(1e-6), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("Adam step (full batch)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=10, loc="upper right")
    fig.tight_layout()
    return fig


def learned_boxes_figure(
    boxes: Boxes,
    names: Sequence[str],
    groups: Sequence[str],
    highlight: Sequence[str],
    titles: Sequence[str],
    title: str = "",
) -> Figure:
    """The 2-D boxes of ``R`` networks side by side, one panel each, coloured by group
    (chapter 3).

    Args:
        boxes: ``(R, N, 2)`` boxes.
        names, groups: ``N`` dataset names and group names.
        highlight: the names to fill and label.
        titles: ``R`` panel titles.
    """
    if boxes.low.ndim != 3 or boxes.low.shape[0] != len(titles):
        raise ValueError(f"boxes must be ({len(titles)}, N, 2), got {tuple(boxes.low.shape)}")
    fig, axes = plt.subplots(len(titles), 1, figsize=(7.5, 4.8 * len(titles)), squeeze=False)
    for member, ax in enumerate(axes[:, 0]):
        box_figure(
            boxes[member],
            names,
            groups=groups,
            highlight=highlight,
            title=titles[member],
            ax=ax,
            legend="outside" if member == 0 else "none",
            fontsize=10,
        )
    fig.suptitle(title)
    fig.tight_layout()
    return fig
