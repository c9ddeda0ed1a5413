"""Figures of the data: image grids, labellings, matrices with missing values, taxonomy trees and
containment matrices (chapter 1)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from taskspace.data.images import ImageDataset
from taskspace.data.taxonomy import Taxonomy

__all__ = [
    "affinity_heatmap",
    "containment_figure",
    "image_grid",
    "labelling_strip",
    "taxon_sizes_figure",
    "tree_figure",
]

_ZERO, _ONE = "#4c72b0", "#dd8452"


def show_image(
    ax: plt.Axes,
    image: torch.Tensor,
    *,
    cmap: str = "gray",
    value_range: tuple[float, float] | None = (0.0, 1.0),
    colour: str | None = None,
) -> None:
    """Draw one ``(C, H, W)`` image (grey when ``C = 1``) on ``ax`` without ticks, optionally
    framed in ``colour``; ``value_range`` fixes the colour scale (``None``: the image's own range).
    Shared by the image grids of chapters 2, 9 and 10."""
    picture = image.detach().cpu().permute(1, 2, 0).numpy()
    vmin, vmax = value_range if value_range is not None else (None, None)
    ax.imshow(
        picture.squeeze(-1) if picture.shape[-1] == 1 else picture, cmap=cmap, vmin=vmin, vmax=vmax
    )
    ax.set_xticks([])
    ax.set_yticks([])
    if colour:
        for spine in ax.spines.values():
            spine.set(color=colour, linewidth=2.5)


def image_grid(dataset: ImageDataset, per_class: int = 8, seed: int = 0) -> Figure:
    """One row per class, ``per_class`` random images of that class (introduced in chapter 1)."""
    chosen = dataset.stratified_indices(per_class, seed)
    by_class = chosen[torch.argsort(dataset.labels[chosen], stable=True)]
    index = by_class.reshape(dataset.num_classes, per_class)
    fig, axes = plt.subplots(
        dataset.num_classes,
        per_class,
        figsize=(0.75 * per_class + 1.2, 0.75 * dataset.num_classes),
        squeeze=False,
    )
    for row, name in enumerate(dataset.class_names):
        for col in range(per_class):
            image = dataset.images[index[row, col]].permute(1, 2, 0).numpy()
            ax = axes[row, col]
            ax.imshow(
                image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1
            )
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(dataset.name, fontsize=10)
    fig.tight_layout()
    return fig


def labelling_strip(dataset: ImageDataset, labels: torch.Tensor, title: str, n: int = 12) -> Figure:
    """The first ``n`` images of ``dataset``, each framed and titled by its label under a binary
    task (blue = 0, orange = 1): a task as a labelling of fixed images (chapter 1).

    Args:
        dataset: the images, ``(N, C, H, W)``.
        labels: ``(N,)`` the task's label of every image, 0 or 1.
    """
    if labels.shape != (len(dataset),):
        raise ValueError(
            f"labels must be ({len(dataset)},), one per image, got {tuple(labels.shape)}"
        )
    if n < 1 or n > len(dataset):
        raise ValueError(f"n must be between 1 and {len(dataset)}, got {n}")
    fig, axes = plt.subplots(1, n, figsize=(n * 0.55, 1.15), squeeze=False)
    for i, ax in enumerate(axes[0]):
        colour = _ONE if labels[i] else _ZERO
        show_image(ax, dataset.images[i], colour=colour)
        ax.set_title(str(int(labels[i])), fontsize=9, color=colour)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def containment_figure(taxonomy: Taxonomy, title: str = "") -> Figure:
    """The containment matrix ``C`` ``(N, N)`` of ``taxonomy``, ``C[i, j] = 1`` when node ``i``
    lies below node ``j``, with the nodes sorted from shallow to deep (chapter 1).

    With that order every mark lies below the diagonal. Every node is labelled, so the figure is
    for a small taxonomy (tens of nodes).
    """
    by_depth = torch.argsort(taxonomy.depth, stable=True)  # the roots first, the deepest last
    names = [taxonomy.name(taxonomy.ids[i]) for i in by_depth]
    matrix = taxonomy.containment_matrix()[by_depth][:, by_depth]
    side = 0.13 * len(names) + 2.2  # 0.13 inch a node: room for its 9 pt label
    fig, ax = plt.subplots(figsize=(side, side))
    ax.imshow(matrix.numpy(), cmap="Greys", interpolation="nearest")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=9)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.set_xlabel("j (ancestor)")
    ax.set_ylabel("i (descendant)")
    ax.set_title(title or f"C[i, j] for {len(names)} nodes, shallow to deep")
    fig.tight_layout()
    return fig


def taxon_sizes_figure(taxonomy: Taxonomy, top: int = 15, title: str = "") -> Figure:
    """For the ``top`` roots of a two-level ``taxonomy`` with the most leaves, a bar of how many
    leaves (species) and how many children (orders) each holds, on a log scale (chapter 1)."""
    roots = taxonomy.roots
    children = torch.tensor([len(taxonomy.children(r)) for r in roots])  # (roots,)
    leaves = torch.tensor([len(taxonomy.leaf_set(r)) for r in roots])  # (roots,)
    order = torch.argsort(leaves, descending=True)[:top]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(range(len(order)), leaves[order].numpy(), color=_ZERO, label="species")
    ax.bar(range(len(order)), children[order].numpy(), color=_ONE, label="orders")
    ax.set_xticks(
        range(len(order)), [taxonomy.name(roots[i]) for i in order], rotation=60, ha="right"
    )
    ax.set_yscale("log")
    ax.set_ylabel("count (log scale)")
    ax.set_title(title or f"the {len(order)} roots with most leaves")
    ax.legend()
    fig.tight_layout()
    return fig


def affinity_heatmap(
    values: torch.Tensor,
    row_names: Sequence[str],
    col_names: Sequence[str],
    title: str = "",
    value_label: str = "",
) -> Figure:
    """A matrix with NaN cells drawn in grey (hatched) and a colour bar (chapters 1 and 5).

    Args:
        values: ``(R, C)`` matrix; NaN marks a missing value.
    """
    matrix = values.detach().cpu().double().numpy()
    # 0.2 inch a cell and 10 pt labels: a 25 x 25 matrix fits the page's 6.7 inches at >= 8 pt
    fig, ax = plt.subplots(figsize=(0.2 * len(col_names) + 3.2, 0.2 * len(row_names) + 2.2))
    ax.set_facecolor("#d0d0d0")
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="viridis", aspect="equal")
    missing = np.argwhere(np.isnan(matrix))
    ax.scatter(missing[:, 1], missing[:, 0], marker="x", s=10, c="#707070", linewidths=0.8)
    ax.set_xticks(range(len(col_names)), col_names, rotation=90, fontsize=10)
    ax.set_yticks(range(len(row_names)), row_names, fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(value_label, fontsize=10)
    bar.ax.tick_params(labelsize=10)
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def tree_figure(taxonomy: Taxonomy, root: str, max_depth: int = 3, label_depth: int = 2) -> Figure:
    """Draw the part of ``taxonomy`` below ``root``, ``max_depth`` levels deep (chapter 1).

    A node with two parents (WordNet allows it) is placed under the first one; an edge from
    another parent is drawn too when that parent is one level up. Leaves of the drawing are
    spread evenly; each inner node sits above the middle of its children. Nodes up to
    ``label_depth`` levels below the root are labelled, except where a label would crowd the
    one before it on its level.
    """
    children = taxonomy.children
    leaf_classes = set(taxonomy.leaves)
    positions: dict[str, tuple[float, int]] = {}
    placed: set[str] = set()
    next_x = [0.0]

    def place(node: str, depth: int) -> float:
        placed.add(node)
        kids = [c for c in children(node) if c not in placed] if depth < max_depth else []
        if not kids:
            x = next_x[0]
            next_x[0] += 1.0
        else:
            x = float(np.mean([place(kid, depth + 1) for kid in kids]))
        positions[node] = (x, depth)
        return x

    place(root, 0)
    # at most 9 inches wide, so that the page (about 6.7 inches) shows the labels at >= 8 pt
    width = max(6.0, 0.06 * next_x[0])
    fig, ax = plt.subplots(figsize=(min(width, 9.0), 1.2 * (max_depth + 1) + 0.4))
    for node, (x, depth) in positions.items():
        for kid in children(node):
            if kid in positions and positions[kid][1] == depth + 1:
                ax.plot([x, positions[kid][0]], [-depth, -depth - 1], color="#9a9a9a", lw=0.6)
    # a label closer than this to the last one drawn on its level (left to right) is left out
    label_gap = 0.03 * next_x[0]
    last_label: dict[int, float] = {}
    for node, (x, depth) in sorted(positions.items(), key=lambda item: item[1][0]):
        is_leaf = node in leaf_classes
        ax.scatter(x, -depth, s=8, color="#c44e52" if is_leaf else "#4c72b0", zorder=3)
        if depth <= label_depth and x - last_label.get(depth, -np.inf) >= label_gap:
            last_label[depth] = x
            ax.annotate(
                taxonomy.name(node),
                (x, -depth),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                fontsize=11,
                rotation=0 if depth == 0 else 40,
            )
    ax.set_yticks(
        [-d for d in range(max_depth + 1)],
        [f"depth {d}" for d in range(max_depth + 1)],
        fontsize=11,
    )
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"{taxonomy.name(root)}: {len(positions)} nodes drawn (red: leaf classes)", fontsize=12
    )
    fig.tight_layout()
    return fig
