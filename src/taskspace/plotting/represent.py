"""Figures and tables of task representations: nearest neighbours, mean and spread of nested
datasets, 2-D maps of datasets, similarity by relation, ImageNet prototypes and WordNet nodes
(chapter 2).

High-dimensional vectors are drawn in the plane of their first two principal components
(:func:`pca`), a linear map: the mean of some vectors lands exactly on the mean of their points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from taskspace.data.taxonomy import Taxonomy
from taskspace.plotting.data import show_image
from taskspace.plotting.labels import label_points
from taskspace.plotting.tables import Table
from taskspace.represent.class_sets import ClassSets, covers

__all__ = [
    "MapPanel",
    "mean_and_spread",
    "nearest_nodes_table",
    "neighbour_grid",
    "pca",
    "prototype_table",
    "representation_maps",
    "similarity_by_relation",
]

_SAME, _OTHER = "#55a868", "#c44e52"
_PALETTE = plt.get_cmap("tab10")


def pca(vectors: torch.Tensor, fit_on: torch.Tensor | None = None, k: int = 2) -> torch.Tensor:
    """``(N, k)`` float64 coordinates of ``vectors`` ``(N, D)`` on the first ``k`` principal axes.

    The axes are those of ``fit_on`` ``(M, D)`` (default: ``vectors`` itself), centred on its mean;
    each axis's sign is fixed so that its largest loading is positive (deterministic).
    """
    reference = (vectors if fit_on is None else fit_on).double()
    centre = reference.mean(0)
    _, _, right = torch.linalg.svd(reference - centre, full_matrices=False)
    axes = right[:k]
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
    return (vectors.double() - centre) @ (axes * signs).T


def neighbour_grid(
    queries: torch.Tensor,
    neighbours: torch.Tensor,
    query_labels: torch.Tensor,
    neighbour_labels: torch.Tensor,
    class_names: Sequence[str],
    similarities: torch.Tensor,
    title: str,
) -> Figure:
    """One row per query image: the query, then its nearest neighbours framed green (same class)
    or red (another class), with their cosine similarity (chapter 2).

    Args:
        queries: ``(Q, C, H, W)``; neighbours: ``(Q, K, C, H, W)``.
        query_labels: ``(Q,)``; neighbour_labels: ``(Q, K)``; similarities: ``(Q, K)``.
    """
    q, k = neighbour_labels.shape
    fig, axes = plt.subplots(q, k + 1, figsize=(0.95 * (k + 1) + 1.2, 1.1 * q), squeeze=False)
    for row in range(q):
        show_image(axes[row, 0], queries[row])
        axes[row, 0].set_ylabel(
            class_names[int(query_labels[row])], rotation=0, ha="right", va="center", fontsize=10
        )
        for col in range(k):
            same = bool(neighbour_labels[row, col] == query_labels[row])
            ax = axes[row, col + 1]
            show_image(ax, neighbours[row, col], colour=_SAME if same else _OTHER)
            ax.set_title(f"{float(similarities[row, col]):.2f}", fontsize=9, pad=2)
    axes[0, 0].set_title("query", fontsize=9, pad=2)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def mean_and_spread(
    points: torch.Tensor,
    point_groups: torch.Tensor,
    group_names: Sequence[str],
    centres: torch.Tensor,
    half_widths: torch.Tensor,
    box_names: Sequence[str],
    title: str,
    axis_labels: tuple[str, str] = ("principal component 1", "principal component 2"),
) -> Figure:
    """Samples in a plane, and for each dataset its mean (marker) and mean +- one standard
    deviation per axis (rectangle); the last box is drawn as the superset (chapter 2).

    Args:
        points: ``(N, 2)`` sample coordinates; point_groups: ``(N,)`` index into ``group_names``.
        centres, half_widths: ``(B, 2)``; box ``b`` is ``centres[b] +- half_widths[b]``.
            Boxes ``0 .. len(group_names) - 1`` belong to the groups (same colours); the last box
            is the superset.
    """
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    xy = points.detach().cpu().numpy()
    for g, name in enumerate(group_names):
        mine = (point_groups == g).cpu().numpy()
        ax.scatter(
            xy[mine, 0], xy[mine, 1], s=6, alpha=0.25, color=_PALETTE(g), label=f"{name} (images)"
        )
    for b, name in enumerate(box_names):
        superset = b == len(box_names) - 1
        colour = "black" if superset else _PALETTE(b)
        (cx, cy), (hx, hy) = centres[b].tolist(), half_widths[b].tolist()
        ax.add_patch(
            Rectangle(
                (cx - hx, cy - hy),
                2 * hx,
                2 * hy,
                fill=False,
                edgecolor=colour,
                linewidth=2.0 if superset else 1.4,
                linestyle="--" if superset else "-",
            )
        )
        ax.scatter(
            [cx],
            [cy],
            marker="*" if superset else "o",
            s=170 if superset else 60,
            color=colour,
            edgecolor="white",
            zorder=4,
            label=f"{name}: mean +- std",
        )
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=9, loc="best", framealpha=0.85)
    fig.tight_layout()
    return fig


@dataclass
class MapPanel:
    """One panel of :func:`representation_maps`.

    Attributes:
        title: what the points are.
        vectors: ``(N, D)`` one representation per dataset, projected with :func:`pca`.
        names: ``N`` dataset names; those in ``labelled`` are written next to their point.
        inside: ``(i, j)`` index pairs meaning "dataset i is inside dataset j", drawn as arrows.
        sizes: optional ``(N,)`` number of classes, shown as the point's colour.
        labelled: names to write on the map.
    """

    title: str
    vectors: torch.Tensor
    names: Sequence[str]
    inside: Sequence[tuple[int, int]] = ()
    sizes: torch.Tensor | None = None
    labelled: Sequence[str] = field(default_factory=tuple)

    @classmethod
    def of_class_sets(
        cls, title: str, vectors: torch.Tensor, sets: ClassSets, labelled: Sequence[str] = ()
    ) -> MapPanel:
        """A panel of datasets that are sets of classes, ``vectors`` ``(M, D)`` in the order of
        ``sets``: arrows from each set to the smallest sets containing it, colour by size."""
        members = list(sets.values())
        sizes = torch.tensor([len(m) for m in members])
        return cls(title, vectors, list(sets), covers(members), sizes, labelled)

    @classmethod
    def of_taxonomy(
        cls, title: str, vectors: torch.Tensor, taxonomy: Taxonomy, labelled: Sequence[str] = ()
    ) -> MapPanel:
        """A panel of the nodes of ``taxonomy``, ``vectors`` ``(N, D)`` in node order: arrows from
        each child to its parents, colour by the number of leaf classes."""
        inside = [(child, parent) for parent, child in taxonomy.edges]
        return cls(title, vectors, taxonomy.names, inside, taxonomy.leaf_counts, labelled)


def representation_maps(panels: Sequence[MapPanel], columns: int = 2) -> Figure:
    """Each panel: datasets as points in the plane of their first two principal components, with
    an arrow from every dataset to each dataset that contains it and the ``labelled`` names placed
    where they cover no other label or point (:func:`~taskspace.plotting.labels.label_points`)
    (chapter 2)."""
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.0 * columns, 4.8 * rows), squeeze=False)
    coordinates = [pca(panel.vectors).numpy() for panel in panels]  # (N, 2) per panel
    for ax, panel, xy in zip(axes.flat, panels, coordinates, strict=False):
        for i, j in panel.inside:
            ax.annotate(
                "",
                xy=xy[j],
                xytext=xy[i],
                arrowprops={"arrowstyle": "->", "color": "#9a9a9a", "lw": 0.6, "alpha": 0.6},
            )
        if panel.sizes is None:
            ax.scatter(xy[:, 0], xy[:, 1], color="#4c72b0", s=22, zorder=3)
        else:
            points = ax.scatter(
                xy[:, 0], xy[:, 1], c=panel.sizes.cpu().numpy(), cmap="viridis", s=22, zorder=3
            )
            bar = fig.colorbar(
                points, ax=ax, fraction=0.04, pad=0.02, label="classes in the dataset"
            )
            bar.locator = MaxNLocator(integer=True)  # a number of classes
            bar.update_ticks()
        ax.set_xlabel("principal component 1")
        ax.set_ylabel("principal component 2")
        ax.set_title(panel.title, fontsize=10)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.tight_layout()
    for ax, panel, xy in zip(axes.flat, panels, coordinates, strict=False):  # final layout first
        rows = [list(panel.names).index(name) for name in panel.labelled]
        label_points(ax, xy[rows], panel.labelled, obstacles=xy)
    return fig


def similarity_by_relation(
    values: Mapping[str, Mapping[str, float]], ylabel: str = "mean cosine similarity"
) -> Figure:
    """Grouped bars: for each representation (outer key), one bar per relation (inner key, e.g.
    "nested" and "unrelated") (chapter 2)."""
    representations = list(values)
    relations = list(dict.fromkeys(r for inner in values.values() for r in inner))
    width = 0.8 / len(relations)
    # at most 7.5 inches wide, so that the page (about 6.7 inches) shows the labels at >= 8 pt
    fig, ax = plt.subplots(figsize=(min(7.5, 0.9 * len(representations) + 1.5), 4.0))
    positions = np.arange(len(representations))
    for k, relation in enumerate(relations):
        heights = [values[r].get(relation, np.nan) for r in representations]
        bars = ax.bar(
            positions + (k - (len(relations) - 1) / 2) * width,
            heights,
            width,
            label=relation,
            color=_PALETTE(k),
        )
        ax.bar_label(bars, fmt="%.2f", fontsize=9, padding=1)
    ax.set_xticks(positions, representations, rotation=25, ha="right", fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.12)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def prototype_table(
    by_prototype: torch.Tensor,
    by_prediction: torch.Tensor,
    class_names: Sequence[str],
    imagenet_names: Sequence[str],
) -> tuple[Table, float]:
    """For each class, the ImageNet classes nearest to its mean feature and those the network
    predicts most for its images, side by side, and the share of entries the two lists share
    (chapter 2).

    Args:
        by_prototype: ``(C, k)`` ImageNet class indices, nearest prototypes first.
        by_prediction: ``(C, k)`` ImageNet class indices, most predicted first.
    """
    if by_prototype.shape != by_prediction.shape or len(by_prototype) != len(class_names):
        raise ValueError(
            f"need two ({len(class_names)}, k) index tensors, got {tuple(by_prototype.shape)} "
            f"and {tuple(by_prediction.shape)}"
        )
    shared = [
        len(set(p.tolist()) & set(q.tolist()))
        for p, q in zip(by_prototype, by_prediction, strict=True)
    ]
    rows = [
        {
            "class": name,
            "nearest prototypes": ", ".join(imagenet_names[k] for k in near),
            "the network predicts": ", ".join(imagenet_names[k] for k in predicted),
        }
        for name, near, predicted in zip(class_names, by_prototype, by_prediction, strict=True)
    ]
    return Table.from_rows(rows), sum(shared) / (by_prototype.shape[1] * len(shared))


def nearest_nodes_table(
    taxonomy: Taxonomy, similarity: torch.Tensor, queries: Sequence[str], k: int = 6
) -> Table:
    """The ``k`` nodes most similar to each query node and how each relates to it (its ancestor,
    descendant, a node sharing leaf classes, or unrelated) (chapter 2).

    Args:
        similarity: ``(N, N)`` similarity of the nodes of ``taxonomy``.
        queries: node ids.
    """
    if similarity.shape != (len(taxonomy), len(taxonomy)):
        raise ValueError(f"similarity must be ({len(taxonomy)}, {len(taxonomy)})")
    containment = taxonomy.containment_matrix()
    leaves = taxonomy.leaf_matrix().double()
    shares_leaves = (leaves @ leaves.T) > 0

    def relation(i: int, j: int) -> str:
        if containment[i, j]:
            return "its ancestor"
        if containment[j, i]:
            return "its descendant"
        return "overlapping" if shares_leaves[i, j] else "unrelated"

    rows = []
    for node in queries:
        i = taxonomy.index(node)
        query = f"{taxonomy.name(node)} ({int(taxonomy.leaf_counts[i])} classes)"
        for j in similarity[i].topk(k + 1).indices[1:].tolist():
            rows.append(
                {
                    "node": query,
                    "similar node": taxonomy.name(taxonomy.ids[j]),
                    "cosine similarity": float(similarity[i, j]),
                    "relation": relation(i, j),
                }
            )
    return Table.from_rows(rows, digits=3)
