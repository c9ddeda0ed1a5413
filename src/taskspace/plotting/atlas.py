"""Figures of the map of datasets (chapter 7).

* :func:`soft_overlap_picture` -- two point clouds in the plane, each point of one joined to its
  nearest neighbour in the other, and the threshold ball of Eq. 10–12;
* :func:`overlap_heatmap` -- the ``(m, m)`` soft overlaps, datasets numbered as in
  :func:`catalogue_table`, blocks of the catalogue marked and named;
* :func:`atlas_figure` -- Task2Box's figure 5 for our datasets: every box, coloured by group,
  numbered (as in :func:`catalogue_table`) where the number does not collide with another;
* :func:`placement_figure` -- the map with a placed dataset and the boxes that contain it most;
* :func:`nearest_distance_histograms`, :func:`area_size_figure`, :func:`training_curves` -- the
  chapter's other figures: one dataset's nearest-neighbour distances against thresholds, box
  area against size, the held-out draws' training;
* tables (:class:`~taskspace.plotting.tables.Table`): :func:`catalogue_table`,
  :func:`kernel_table`, :func:`area_table`, :func:`held_out_table`, :func:`placements_table`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from scipy.stats import spearmanr

from taskspace.atlas.build import Atlas
from taskspace.atlas.evaluate import HeldOutDraws, HeldOutPlacement, KernelCheck
from taskspace.atlas.overlap import nearest_neighbour_distance
from taskspace.atlas.placement import Placement
from taskspace.boxes.geometry import Boxes, log_volume
from taskspace.plotting.boxes import box_corners, frame_boxes
from taskspace.plotting.labels import annotate_free, covered_area
from taskspace.plotting.tables import Table, mean_std

__all__ = [
    "area_size_figure",
    "area_table",
    "atlas_figure",
    "catalogue_table",
    "held_out_table",
    "kernel_table",
    "nearest_distance_histograms",
    "overlap_heatmap",
    "placement_figure",
    "placements_table",
    "soft_overlap_picture",
    "training_curves",
]

_GROUP_COLOURS = plt.get_cmap("tab10")
#: Font size of the chapter's wide figures, in points: at least 8 pt once a figure about 9 in
#: wide is shrunk to the page's column.
FONT = 11
#: How the top containers of a placed dataset are outlined: black, one line style each, so that
#: no highlight shares a colour with a group of the map.
_HIGHLIGHTS = ("-", "--", ":", "-.")


def soft_overlap_picture(
    a: torch.Tensor,
    b: torch.Tensor,
    names: tuple[str, str] = ("A", "B"),
    ax: Axes | None = None,
    colours: tuple[str, str] = ("#1f77b4", "#ff7f0e"),
) -> Figure:
    """``so(A, B)`` drawn for 2-D point sets ``a`` ``(N, 2)`` and ``b`` ``(M, 2)`` (chapter 7).

    Each point of ``A`` is joined to its nearest neighbour in ``B``: green when that distance is
    below ``t_B``, the mean pairwise distance inside ``B`` (the point counts as "in B"), red
    otherwise. The ball of radius ``t_B`` is drawn around the point of ``A`` farthest from ``B``
    that still counts, and the title gives ``so(A, B)``. ``colours`` are those of ``A`` and
    ``B`` (swap them for ``so(B, A)`` so that each set keeps its colour).
    """
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != 2 or b.shape[1] != 2 or len(b) < 2:
        raise ValueError(
            f"need (N, 2) and (M >= 2, 2) points, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    distances = torch.cdist(a, b)
    nearest, which = distances.min(1)
    inner = torch.cdist(b, b)
    threshold = float(inner[torch.triu(torch.ones_like(inner, dtype=torch.bool), 1)].mean())
    close = nearest < threshold
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 5))
    for i in range(len(a)):
        j = int(which[i])
        ax.plot(
            [a[i, 0], b[j, 0]],
            [a[i, 1], b[j, 1]],
            color="#2ca02c" if close[i] else "#d62728",
            linewidth=0.8,
            zorder=1,
        )
    ax.scatter(
        b[:, 0], b[:, 1], s=14, color=colours[1], label=f"{names[1]} (M = {len(b)})", zorder=2
    )
    ax.scatter(
        a[:, 0], a[:, 1], s=14, color=colours[0], label=f"{names[0]} (N = {len(a)})", zorder=3
    )
    if close.any():
        centre = a[torch.nonzero(close).squeeze(1)[nearest[close].argmax()]]
        ax.add_patch(
            Circle(tuple(centre.tolist()), threshold, fill=False, linestyle="--", color="black")
        )
        ax.plot(
            [], [], linestyle="--", color="black", label=f"radius t_{names[1]} = {threshold:.2f}"
        )
    ax.plot([], [], color="#2ca02c", label=f"nearest in {names[1]} closer than t")
    ax.plot([], [], color="#d62728", label="farther")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("embedding dimension 1", fontsize=FONT)
    ax.set_ylabel("embedding dimension 2", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.legend(fontsize=FONT, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    ax.set_title(
        f"so({names[0]}, {names[1]}) = {int(close.sum())}/{len(a)} = {float(close.double().mean()):.2f}",
        fontsize=FONT + 1,
    )
    return fig


def _group_colours(groups: Sequence[str]) -> dict[str, tuple[float, ...]]:
    return {g: _GROUP_COLOURS(i % 10) for i, g in enumerate(dict.fromkeys(groups))}


def _draw_map(ax: Axes, low: np.ndarray, high: np.ndarray, colours: list, alpha: float) -> None:
    order = np.argsort(-np.prod(high - low, axis=1))  # large boxes first, small ones on top
    for i in order:
        ax.add_patch(
            Rectangle(
                tuple(low[i]),
                *(high[i] - low[i]),
                facecolor=(*colours[i][:3], alpha),
                edgecolor=colours[i],
                linewidth=1.0,
            )
        )


def _label_boxes(
    ax: Axes, low: np.ndarray, high: np.ndarray, texts: list[str], colours: list
) -> None:
    """Put each text at a corner of its box where it overlaps no text placed before it.

    Small boxes are labelled first; each label tries the four corners (inside the box) and
    then the four corners outside; if all collide it moves away from the corner where it finds
    room nearest, joined to it by a thin line (:func:`~taskspace.plotting.labels.annotate_free`).
    """
    renderer = ax.figure.canvas.get_renderer()
    placed: list[Bbox] = []
    order = np.argsort(np.prod(high - low, axis=1))
    for i in order:
        style = {
            "fontsize": FONT - 1,
            "fontweight": "bold",
            "color": colours[i],
            "bbox": {"boxstyle": "square,pad=0.05", "facecolor": "white", "alpha": 0.7, "lw": 0},
        }
        (x0, y0), (x1, y1) = low[i], high[i]
        candidates = [
            ((x0, y1), "left", "top", (2, -2)),
            ((x1, y1), "right", "top", (-2, -2)),
            ((x0, y0), "left", "bottom", (2, 2)),
            ((x1, y0), "right", "bottom", (-2, 2)),
            ((x0, y1), "left", "bottom", (0, 2)),
            ((x1, y1), "right", "bottom", (0, 2)),
            ((x0, y0), "left", "top", (0, -2)),
            ((x1, y0), "right", "top", (0, -2)),
        ]
        best = None
        for point, ha, va, offset in candidates:
            text = ax.annotate(
                texts[i], point, xytext=offset, textcoords="offset points", ha=ha, va=va, **style
            )
            extent = text.get_window_extent(renderer).expanded(1.3, 1.3)
            if covered_area(extent, placed) == 0:
                best = text
                break
            text.remove()
        if best is None:
            moved = [
                annotate_free(ax, corner, texts[i], placed, **style)
                for corner in ((x0, y1), (x1, y1), (x0, y0), (x1, y0))
            ]
            best = min(moved, key=lambda pair: pair[1])[0]
            for annotation, _ in moved:
                if annotation is not best:
                    annotation.remove()
        best.update_positions(renderer)
        placed.append(Text.get_window_extent(best, renderer).expanded(1.3, 1.3))


def atlas_figure(
    boxes: Boxes,
    names: Sequence[str],
    groups: Sequence[str],
    title: str = "",
    focus: Sequence[str] | None = None,
) -> Figure:
    """The map: ``(m, 2)`` boxes coloured by group, each numbered by its line in
    :func:`catalogue_table`, with a legend of the groups (chapter 7).

    Args:
        boxes: ``(m, 2)`` boxes.
        names: ``m`` dataset names (in the order of the catalogue).
        groups: ``m`` group names (colours).
        title: the map's title.
        focus: names of boxes to zoom on: the view is fitted to them and only they are
            numbered (the others are still drawn). ``None``: the whole map.
    """
    low, high = box_corners(boxes)
    m = len(low)
    if len(names) != m or len(groups) != m:
        raise ValueError(f"need one name and one group per box: {m} boxes")
    unknown = set(focus or ()) - set(names)
    if unknown:
        raise ValueError(f"focus names not on the map: {sorted(unknown)}")
    shown = [names.index(n) for n in focus] if focus else list(range(m))
    colour_of = _group_colours(groups)
    colours = [colour_of[g] for g in groups]
    fig, ax = plt.subplots(figsize=(8, 7))
    _draw_map(ax, low, high, colours, alpha=0.06)
    frame_boxes(ax, low[shown], high[shown], margin=0.03)
    _label_boxes(
        ax, low[shown], high[shown], [str(i + 1) for i in shown], [colours[i] for i in shown]
    )
    ax.set_title(title, fontsize=FONT + 1)
    _large_labels(ax)
    _group_legend(ax, colour_of, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def _large_labels(ax: Axes) -> None:
    """Axis labels and tick labels at :data:`FONT`."""
    ax.tick_params(labelsize=FONT)
    ax.xaxis.label.set_size(FONT)
    ax.yaxis.label.set_size(FONT)


def _group_handles(colour_of: dict[str, tuple[float, ...]]) -> list[Rectangle]:
    return [
        Rectangle((0, 0), 1, 1, facecolor=(*colour[:3], 0.2), edgecolor=colour)
        for colour in colour_of.values()
    ]


def _group_legend(ax: Axes, colour_of: dict[str, tuple[float, ...]], **where: object) -> None:
    ax.legend(
        _group_handles(colour_of),
        list(colour_of),
        fontsize=FONT,
        title="groups",
        title_fontsize=FONT,
        **where,
    )


def placement_figure(
    boxes: Boxes, names: Sequence[str], groups: Sequence[str], placement: Placement, top: int = 3
) -> Figure:
    """The map with a placed dataset (filled, hatched) and the ``top`` boxes that contain most
    of it (outlined in black, one line style each, so that no highlight shares a colour with a
    group; chapter 7 and ``python -m taskspace.atlas place``)."""
    low, high = box_corners(boxes)
    if len(names) != len(low) or tuple(names) != placement.names:
        raise ValueError("the placement was made on another map (names differ)")
    colour_of = _group_colours(groups)
    fig, ax = plt.subplots(figsize=(7.5, 7))
    _draw_map(ax, low, high, [colour_of[g] for g in groups], alpha=0.03)
    highlights = []
    for rank, relation in enumerate(placement.containers(top)):
        j = names.index(relation.name)
        highlights.append(
            Rectangle(
                tuple(low[j]),
                *(high[j] - low[j]),
                facecolor="none",
                edgecolor="black",
                linestyle=_HIGHLIGHTS[rank % len(_HIGHLIGHTS)],
                linewidth=2.5,
                label=f"contains it: {relation.name}, d_box {relation.predicted:.2f} "
                f"(measured {relation.measured:.2f})",
            )
        )
    new_low, new_high = (
        x.detach().double().cpu().numpy() for x in (placement.box.low, placement.box.high)
    )
    placed = Rectangle(
        tuple(new_low),
        *(new_high - new_low),
        facecolor="#303030",
        alpha=0.5,
        edgecolor="black",
        hatch="//",
        linewidth=1.5,
        label=f"placed: {placement.name} ({placement.size} images)",
    )
    for patch in (*highlights, placed):
        ax.add_patch(patch)
    frame_boxes(ax, np.vstack([low, new_low]), np.vstack([high, new_high]), margin=0.03)
    _large_labels(ax)
    handles = [placed, *highlights, *_group_handles(colour_of)]
    labels = [h.get_label() for h in (placed, *highlights)]
    labels += [f"map datasets: {group}" for group in colour_of]
    ax.legend(handles, labels, fontsize=FONT, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    ax.set_title(f"{placement.name} placed on the map of {len(names)} datasets", fontsize=FONT)
    fig.tight_layout()
    return fig


def catalogue_table(atlas: Atlas) -> Table:
    """Every dataset of the map: its number (as in the map's figures), name, group, number of
    images and recipe (chapter 7)."""
    rows = [
        {"#": number, "dataset": name, "group": group, "images": count, "recipe": recipe}
        for number, (name, group, count, recipe) in enumerate(
            zip(atlas.names, atlas.groups, atlas.counts.tolist(), atlas.recipes, strict=True), 1
        )
    ]
    return Table.from_rows(rows, caption=f"the {len(rows)} datasets of the {atlas.scale!r} map")


def kernel_table(check: KernelCheck, datasets: int) -> Table:
    """The kernel against brute force, and the whole matrix recomputed (chapter 7;
    ``datasets``: the map's number of datasets)."""
    n = len(check.datasets)
    rows = [
        {
            "check": f"so of the {n} smallest datasets ({n * n} pairs, {check.images} images), "
            "kernel vs float64 brute force",
            "result": f"max |difference| {check.overlap_error:.2g}",
        },
        {
            "check": "their thresholds t_j, kernel vs brute force",
            "result": f"max |difference| {check.threshold_error:.2g}",
        },
        {
            "check": f"the whole {datasets} x {datasets} matrix, recomputed on 1 thread "
            f"({check.distances / 1e6:.0f} M nearest-neighbour distances)",
            "result": f"{check.seconds:.1f} s, identical to the map's: {check.identical}",
        },
    ]
    return Table.from_rows(rows, caption="the soft-overlap kernel")


def overlap_heatmap(atlas: Atlas) -> Figure:
    """The map's ``(m, m)`` soft overlaps ``so(row, column)`` (chapter 7).

    Datasets are numbered as in :func:`catalogue_table` (every fifth number written); the
    catalogue's blocks, runs of one group, are separated by white lines and named on the right
    (consecutive single datasets, the whole pools, make one block).
    """
    overlap = atlas.overlap.detach().cpu().double().numpy()
    m = len(overlap)
    fig, ax = plt.subplots(figsize=(8.5, 8))
    image = ax.imshow(overlap, cmap="viridis", vmin=0, vmax=1, extent=(0.5, m + 0.5, m + 0.5, 0.5))
    ticks = [1, *range(5, m + 1, 5)]
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("column: dataset D_j (numbers as in the catalogue)")
    ax.set_ylabel("row: dataset D_i")
    _large_labels(ax)
    for start, stop, name in _blocks(atlas.groups):
        if start > 0:
            ax.axhline(start + 0.5, color="white", linewidth=1.2)
            ax.axvline(start + 0.5, color="white", linewidth=1.2)
        ax.text(
            m + 1.5,
            (start + stop + 1) / 2,
            f"{name} {start + 1}–{stop}",
            va="center",
            fontsize=FONT,
        )
    ax.set_title("soft overlap so(row, column)", fontsize=FONT + 1)
    bar = fig.colorbar(image, ax=ax, orientation="horizontal", fraction=0.04, pad=0.1)
    bar.set_label("so(row, column)", fontsize=FONT)
    bar.ax.tick_params(labelsize=FONT)
    return fig


def _blocks(groups: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(start, stop, name)`` of each run of one group in ``groups`` (``stop`` exclusive);
    consecutive runs of length 1 merge into one block named "pools"."""
    runs: list[tuple[int, int, str]] = []
    for i, group in enumerate(groups):
        if runs and runs[-1][2] == group:
            runs[-1] = (runs[-1][0], i + 1, group)
        else:
            runs.append((i, i + 1, group))
    blocks: list[tuple[int, int, str]] = []
    for start, stop, group in runs:
        single = stop - start == 1
        if single and blocks and blocks[-1][2] == "pools":
            blocks[-1] = (blocks[-1][0], stop, "pools")
        else:
            blocks.append((start, stop, "pools" if single else group))
    return blocks


def nearest_distance_histograms(atlas: Atlas, of: str, targets: Sequence[str]) -> Figure:
    """One panel per target dataset: the distances from each image of dataset ``of`` to its
    nearest neighbour in the target, against the target's threshold ``t_j`` (dashed), titled
    with ``so(of, target)`` (chapter 7)."""
    unknown = sorted({of, *targets} - set(atlas.names))
    if unknown:
        raise ValueError(f"not on the map: {unknown}")
    i = atlas.names.index(of)
    points = atlas.pool[atlas.members[i]]
    columns = min(2, len(targets))
    rows = -(-len(targets) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.5 * columns, 3.4 * rows), sharey=True, squeeze=False
    )
    for ax, target in zip(axes.flat, targets, strict=False):
        j = atlas.names.index(target)
        nearest = nearest_neighbour_distance(points, atlas.pool[atlas.members[j]])
        threshold = float(atlas.thresholds[j])
        ax.hist(nearest.numpy(), bins=30, color="#4c72b0")
        ax.axvline(threshold, color="black", linestyle="--", label=f"t = {threshold:.2f}")
        ax.set_title(f"to {target}: so = {float(atlas.overlap[i, j]):.2f}", fontsize=FONT)
        ax.set_xlabel("distance to nearest neighbour")
        ax.legend(fontsize=FONT)
        _large_labels(ax)
    for ax in axes.flat[len(targets) :]:
        ax.remove()
    for ax in axes[:, 0]:
        ax.set_ylabel(f"images of {of}", fontsize=FONT)
    fig.tight_layout()
    return fig


def area_size_figure(boxes: Boxes, counts: torch.Tensor, groups: Sequence[str]) -> Figure:
    """Each box's area against its dataset's number of images ``counts`` ``(m,)``, log-log,
    coloured by group, Spearman's rho in the title (chapter 7)."""
    areas = log_volume(boxes).exp().detach().cpu().numpy()
    if not len(areas) == len(counts) == len(groups):
        raise ValueError(f"{len(areas)} boxes, {len(counts)} counts, {len(groups)} groups")
    rho = spearmanr(areas, counts.numpy()).statistic
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for group in dict.fromkeys(groups):
        rows = [i for i, g in enumerate(groups) if g == group]
        ax.scatter(counts[rows], areas[rows], label=group, s=25)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("images in the dataset")
    ax.set_ylabel("box area")
    ax.set_title(f"area vs size: Spearman {rho:.2f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def area_table(atlas: Atlas, names: Sequence[str]) -> Table:
    """Number of images and box area of the map datasets ``names`` (chapter 7)."""
    areas = atlas.areas()
    rows = []
    for name in names:
        i = atlas.names.index(name)
        rows.append({"dataset": name, "images": int(atlas.counts[i]), "box area": float(areas[i])})
    return Table.from_rows(rows, digits=3, caption="box area of datasets of one content")


def training_curves(draws: HeldOutDraws, term: str = "overlap") -> Figure:
    """The weighted loss ``term`` of the held-out draws' networks, mean over draws, one curve
    per variant, by Adam step (chapter 7)."""
    losses = torch.tensor(draws.history.losses[term])  # (steps, V R)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for variant in draws.variants:
        ax.plot(losses[:, draws.networks(variant)].mean(1), label=variant)
    ax.set_yscale("log")
    ax.set_xlabel("Adam step (full batch)")
    ax.set_ylabel(f"{term} loss (mean over draws)")
    ax.set_title("held-out draws: training")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def held_out_table(draws: HeldOutDraws) -> Table:
    """Spearman's rho of each method on the held-out pairs, mean ± std over draws (chapter 7)."""
    rows = [
        {"method": method, **{d: mean_std(values) for d, values in per_direction.items()}}
        for method, per_direction in draws.scores.items()
    ]
    caption = (
        f"held-out datasets, {len(draws.splits)} draws of {len(draws.splits[0].novel)}: "
        "Spearman's rho of predicted against measured soft overlap"
    )
    return Table.from_rows(rows, caption=caption)


def placements_table(placements: Sequence[HeldOutPlacement], top: int = 5) -> Table:
    """Per placed held-out dataset: its top container (predicted, measured), how many of its
    true supersets are among the ``top`` containers, and rho over the whole map (chapter 7)."""
    rows = [
        {
            "held out": p.name,
            "top container": p.top.name,
            "predicted": p.top.predicted,
            "measured": p.top.measured,
            f"supersets in top {top}": f"{p.found}/{p.supersets}",
            "rho": p.rho,
        }
        for p in placements
    ]
    return Table.from_rows(rows, caption="datasets kept off the map, placed")
