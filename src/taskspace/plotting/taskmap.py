"""Figures of chapter 11: the map of tasks as 2-D boxes, by kind and by agreement score."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from taskspace.boxes.geometry import Boxes
from taskspace.plotting.discovery import KIND_COLOURS as CHAPTER9_COLOURS

__all__ = ["KIND_COLOURS", "as_against_map", "task_map", "transfer_heatmap"]

#: Chapter 9's colour per kind of task; the discovered sets are shades of its green by lambda.
KIND_COLOURS: dict[str, str] = {
    **{kind: CHAPTER9_COLOURS[kind] for kind in ("human", "random", "random network")},
    "discovered λ=0": "#00441b",
    "discovered λ=1": CHAPTER9_COLOURS["discovered"],
    "discovered λ=5": "#74c476",
}


def _colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, "tab:purple")


def task_map(boxes: Boxes, kinds: Sequence[str], scores: torch.Tensor, title: str = "") -> Figure:
    """Two panels of the same 2-D boxes: outlined by kind (left), filled by AS (right).

    Args:
        boxes: ``N`` boxes in two dimensions.
        kinds: ``N`` kinds (:data:`KIND_COLOURS` names the book's).
        scores: ``(N,)`` the tasks' agreement scores.
    """
    if boxes.dim != 2 or boxes.low.ndim != 2:
        raise ValueError(
            f"task_map draws N boxes in 2-D, got low of shape {tuple(boxes.low.shape)}"
        )
    if not len(kinds) == len(scores) == len(boxes):
        raise ValueError(f"{len(boxes)} boxes, {len(kinds)} kinds and {len(scores)} scores differ")
    low = boxes.low.detach().cpu().double().numpy()
    high = boxes.high.detach().cpu().double().numpy()
    values = scores.detach().cpu().double().numpy()
    norm = plt.Normalize(values.min(), values.max())
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(
        1, 2, figsize=(7.4, 4.4), sharex=True, sharey=True, layout="constrained"
    )
    order = np.argsort(-(high - low).prod(1))  # large boxes first, small ones on top
    for i in order:
        size = high[i] - low[i]
        axes[0].add_patch(
            Rectangle(
                low[i], *size, fill=False, edgecolor=_colour(kinds[i]), linewidth=1.4, alpha=0.9
            )
        )
        axes[1].add_patch(
            Rectangle(
                low[i],
                *size,
                facecolor=cmap(norm(values[i])),
                edgecolor="black",
                linewidth=0.4,
                alpha=0.55,
            )
        )
    pad = 0.05 * (high.max(0) - low.min(0))
    for ax in axes:
        ax.set_xlim(low[:, 0].min() - pad[0], high[:, 0].max() + pad[0])
        ax.set_ylim(low[:, 1].min() - pad[1], high[:, 1].max() + pad[1])
        ax.set_xlabel("box dimension 1")
    axes[0].set_ylabel("box dimension 2")
    present = list(dict.fromkeys(kinds))
    fig.legend(
        handles=[Patch(fill=False, edgecolor=_colour(k), label=k) for k in present],
        fontsize=9,
        loc="outside lower center",
        ncol=3,
    )
    axes[0].set_title("by kind of task", fontsize=10)
    axes[1].set_title("by agreement score", fontsize=10)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[1], label="AS")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def as_against_map(
    quantities: dict[str, torch.Tensor],
    scores: torch.Tensor,
    kinds: Sequence[str],
    rhos: dict[str, float],
) -> Figure:
    """One scatter panel per map quantity (x) against the AS (y), points coloured by kind.

    Args:
        quantities: ``{name: (N,)}``, e.g. log-volume, containment count, mean outgoing transfer.
        scores: ``(N,)`` agreement scores.
        kinds: ``N`` kinds.
        rhos: ``{name: Spearman's rho}`` printed in each panel's title.
    """
    if set(rhos) != set(quantities):
        raise ValueError(f"rhos {sorted(rhos)} must name the quantities {sorted(quantities)}")
    for name, values in quantities.items():
        if len(values) != len(scores) or len(kinds) != len(scores):
            raise ValueError(
                f"{name}: {len(values)} values, {len(scores)} scores, {len(kinds)} kinds differ"
            )
    fig, axes = plt.subplots(1, len(quantities), figsize=(2.2 * len(quantities), 3.0), sharey=True)
    axes = np.atleast_1d(axes)
    y = scores.detach().cpu().double().numpy()
    colours = [_colour(k) for k in kinds]
    for ax, (name, values) in zip(axes, quantities.items(), strict=True):
        ax.scatter(values.detach().cpu().double().numpy(), y, c=colours, s=18)
        ax.set_xlabel(name)
        ax.set_title(f"Spearman ρ = {rhos[name]:.2f}", fontsize=10)
    axes[0].set_ylabel("AS")
    present = list(dict.fromkeys(kinds))
    axes[-1].legend(
        handles=[Patch(color=_colour(k), label=k) for k in present], fontsize=9, loc="lower right"
    )
    fig.tight_layout()
    return fig


def transfer_heatmap(affinity: torch.Tensor, kinds: Sequence[str], value_label: str = "") -> Figure:
    """The ``(T, T)`` transfer matrix ``[target, source]`` with its tasks grouped by kind.

    Too many tasks to name one by one at a readable size, so each axis names the kinds (tasks
    of one kind must be consecutive) and white lines separate them (chapter 11).

    Args:
        affinity: ``(T, T)`` matrix; NaN (the diagonal) drawn in grey.
        kinds: ``T`` kinds, one run of consecutive tasks per kind.
    """
    if affinity.shape != (len(kinds), len(kinds)):
        raise ValueError(
            f"transfer_heatmap needs a (T, T) matrix for {len(kinds)} kinds, "
            f"got {tuple(affinity.shape)}"
        )
    kinds = list(kinds)
    runs = list(dict.fromkeys(kinds))
    if len(runs) != sum(1 for i, kind in enumerate(kinds) if i == 0 or kinds[i - 1] != kind):
        raise ValueError("transfer_heatmap needs the tasks of each kind to be consecutive")
    starts = [kinds.index(kind) for kind in runs]
    ends = [start + kinds.count(kind) for start, kind in zip(starts, runs, strict=True)]
    matrix = affinity.detach().cpu().double().numpy()
    fig, ax = plt.subplots(figsize=(7.0, 6.0))
    ax.set_facecolor("#d0d0d0")
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="viridis", aspect="equal")
    for boundary in ends[:-1]:
        ax.axhline(boundary - 0.5, color="white", lw=1.2)
        ax.axvline(boundary - 0.5, color="white", lw=1.2)
    middles = [(start + end - 1) / 2 for start, end in zip(starts, ends, strict=True)]
    ax.set_xticks(middles, runs, rotation=30, ha="right", fontsize=9)
    ax.set_yticks(middles, runs, fontsize=9)
    ax.set_xlabel("source task")
    ax.set_ylabel("target task")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label=value_label)
    fig.tight_layout()
    return fig
