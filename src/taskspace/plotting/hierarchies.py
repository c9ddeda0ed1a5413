"""Figures and tables of the hierarchy experiments (chapter 4): boxes of taxonomy datasets.

Every function draws (or tabulates) what it is given and returns the ``Figure`` or
:class:`~taskspace.plotting.tables.Table`; none trains a network. F1 values come in ``[0, 1]``
(:class:`~taskspace.hierarchies.ContainmentScores`) and are shown in percent, mean ± std over the
draws; the paper's values are passed in, in percent (chapter 4 reads them from
:mod:`taskspace.papers.task2box`).

* :func:`batch_table` -- the batches of networks the chapter trains, and how long they took;
* :func:`loss_curves` -- training loss and validation error of the 5-D boxes, per experiment;
* :func:`paper_comparison_table` -- held-out and novel F1 beside the paper's tables 1, 2 and 5;
* :func:`protocol_table`, :func:`protocol_figure` -- the same boxes under several protocols;
* :func:`threshold_curves` -- F1 against the threshold, on validation and test pairs;
* :func:`sensitivity_table` -- how far the mean F1 moves when the inputs move by one rounding;
* :func:`dimension_figure` -- the paper's figure 6: F1 against the box dimension;
* :func:`parent_child_boxes` -- the paper's figures 1 and 3: 2-D boxes of parents and children;
* :func:`neighbourhood_figure` -- supplement figure 7: box centres of taxonomic neighbours.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from taskspace.boxes.geometry import Boxes
from taskspace.boxes.train import History
from taskspace.plotting.boxes import box_figure
from taskspace.plotting.tables import Table, mean_std

if TYPE_CHECKING:
    from taskspace.hierarchies import BoxRun, ContainmentScores

__all__ = [
    "batch_table",
    "dimension_figure",
    "loss_curves",
    "neighbourhood_figure",
    "paper_comparison_table",
    "parent_child_boxes",
    "protocol_figure",
    "protocol_table",
    "sensitivity_table",
    "threshold_curves",
]

#: experiment -> (kind of boxes, "existing" or "novel") -> box dimension -> the paper's F1 (%).
PaperF1 = Mapping[str, Mapping[tuple[str, str], Mapping[int, float]]]

_BOXES = {"mu": "{k}-D, mu", "mu_sigma2": "{k}-D, [mu, sigma^2]", "half": "{k}-D, mu, 50 % pairs"}
_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52")
_PROTOCOL_COLOURS = ("#4c72b0", "#8da0cb", "#dd8452", "#f4b183")


def _percent(values: torch.Tensor) -> tuple[float, float]:
    """Mean and population std over draws of ``(R,)`` values in ``[0, 1]``, in %."""
    return 100 * float(values.mean()), 100 * float(values.std(correction=0))


def _paper(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _missing(needed: Sequence[str], given: Mapping[str, object], what: str) -> None:
    """Refuse a mapping ``given`` that lacks one of the ``needed`` keys."""
    absent = [key for key in needed if key not in given]
    if absent:
        raise ValueError(f"no {what} for {absent}")


def _check_experiments(
    scores: Mapping[str, object], paper: Mapping[str, object], labels: Mapping[str, str]
) -> None:
    """Refuse paper values or labels that miss one of the experiments of ``scores``."""
    _missing(list(scores), paper, "paper values")
    _missing(list(scores), labels, "label")


def batch_table(runs: Sequence[BoxRun], seconds: Mapping[str, float]) -> Table:
    """One row per batch of networks (name, networks, parts), then one per experiment with the
    seconds all its batches took (chapter 4's :func:`~taskspace.hierarchies.train_book_batches`)."""
    rows: list[dict[str, object]] = [
        {"batch": run.name, "networks": len(run.parts) * run.draws, "parts": ", ".join(run.parts)}
        for run in runs
    ]
    rows += [
        {"batch": f"{name}: all batches", "networks": "", "parts": f"trained in {s:.0f} s"}
        for name, s in seconds.items()
    ]
    return Table.from_rows(rows)


def loss_curves(histories: Mapping[str, History], draws: int, labels: Mapping[str, str]) -> Figure:
    """Training loss (left, mean over draws, log scale) and validation error of every draw
    (right, a dot at each draw's best step), one row per experiment.

    Args:
        histories: experiment -> the :class:`History` of a batch whose first ``draws`` networks
            are the ones shown (``losses["total"]`` ``(steps, R)``, ``validation_error``
            ``(evaluations, R)``, ``best_step`` ``R`` steps).
        draws: how many networks of each batch to show (the rest, e.g. perturbed inputs, not).
        labels: experiment -> row title.
    """
    _missing(list(histories), labels, "label")
    fig, axes = plt.subplots(
        len(histories), 2, figsize=(7.5, 2.5 * len(histories) + 0.5), sharex=True, squeeze=False
    )
    for row, (name, history) in enumerate(histories.items()):
        total = torch.tensor(history.losses["total"])[:, :draws]  # (steps, draws)
        if total.dim() != 2 or total.shape[1] != draws:
            raise ValueError(f"{name}: need the losses of at least {draws} networks side by side")
        top, bottom = axes[row, 0], axes[row, 1]
        top.plot(np.arange(1, len(total) + 1), total.mean(1), color=_COLOURS[0])
        top.set_yscale("log")
        top.set_title(labels[name], fontsize=10, loc="left")
        top.set_ylabel("training loss")
        bottom.set_ylabel("validation MSE")
        error = torch.tensor(history.validation_error)[:, :draws]  # (evaluations, draws)
        best_steps = history.best_step
        if not isinstance(best_steps, list):
            raise ValueError(f"{name}: the history has no best validation step per network")
        for r in range(draws):
            line = bottom.plot(history.validation_steps, error[:, r], alpha=0.7)[0]
            best = best_steps[r]
            row = history.validation_steps.index(best)
            bottom.plot(best, error[row, r], "o", color=line.get_color())
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    for ax in axes[-1]:
        ax.set_xlabel("Adam step (full batch)")
    fig.tight_layout()
    return fig


def paper_comparison_table(
    scores: Mapping[tuple[str, str, int], ContainmentScores], paper: PaperF1, caption: str = ""
) -> Table:
    """Held-out and novel F1 (%) beside the paper's, one row per experiment and kind of boxes.

    Args:
        scores: ``(experiment, kind, k)`` -> scores of ``R`` draws, with ``kind`` one of
            ``"mu"``, ``"mu_sigma2"``, ``"half"`` (trained on half of the pairs); rows in this
            order.
        paper: the paper's F1 in % (:data:`PaperF1`); a missing value shows as "–".
        caption: the table's caption.

    Returns:
        Columns experiment, boxes, existing (held-out test pairs), paper, novel (both
        directions), paper, threshold (mean chosen threshold).
    """
    _missing(sorted({name for name, _, _ in scores}), paper, "paper values")
    unknown = sorted({kind for _, kind, _ in scores} - set(_BOXES))
    if unknown:
        raise ValueError(f"unknown kinds of boxes {unknown}; known: {sorted(_BOXES)}")
    rows = []
    for (name, kind, k), s in scores.items():
        rows.append(
            {
                "experiment": name,
                "boxes": _BOXES[kind].format(k=k),
                "existing (%)": mean_std(100 * s.existing.numpy()),
                "paper, existing": _paper(paper[name].get((kind, "existing"), {}).get(k)),
                "novel (%)": mean_std(100 * s.novel.numpy()),
                "paper, novel": _paper(paper[name].get((kind, "novel"), {}).get(k)),
                "threshold": float(s.threshold.mean()),
            }
        )
    return Table.from_rows(rows, caption=caption)


def protocol_table(
    scores: Mapping[str, ContainmentScores],
    paper: Mapping[str, Mapping[str, float]],
    labels: Mapping[str, str],
    protocols: Sequence[str],
    caption: str = "",
) -> Table:
    """F1 (%) of the same boxes under several protocols, the paper's value in brackets.

    Args:
        scores: experiment -> scores of ``R`` draws (``f1[protocol]`` ``(R,)``); rows in order.
        paper: experiment -> protocol -> the paper's F1 (%) that protocol is compared with.
        labels: experiment -> row label.
        protocols: the columns, names of :data:`~taskspace.boxes.evaluate.PROTOCOLS`.
    """
    _check_experiments(scores, paper, labels)
    rows = []
    for name, s in scores.items():
        _missing(protocols, s.f1, f"F1 of {name}")
        _missing(protocols, paper[name], f"paper value of {name}")
        row: dict[str, object] = {"experiment": labels[name]}
        for protocol in protocols:
            value = mean_std(100 * s.f1[protocol].numpy(), digits=1)
            row[protocol.replace("_", " ")] = f"{value} ({paper[name][protocol]:.2f})"
        rows.append(row)
    return Table.from_rows(rows, caption=caption)


def protocol_figure(
    scores: Mapping[str, ContainmentScores],
    paper: Mapping[str, Mapping[str, float]],
    labels: Mapping[str, str],
    protocols: Sequence[str],
) -> Figure:
    """Bars of F1 (%) per experiment (groups) and protocol (bars, ± std over draws), the
    paper's value as a black mark on each bar; the legend below the axes.

    Args: as :func:`protocol_table`.
    """
    _check_experiments(scores, paper, labels)
    if not 1 <= len(protocols) <= len(_PROTOCOL_COLOURS):
        raise ValueError(f"can draw 1 to {len(_PROTOCOL_COLOURS)} protocols, got {len(protocols)}")
    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    width = 0.8 / len(protocols)
    offsets = np.arange(len(protocols)) - (len(protocols) - 1) / 2
    x = np.arange(len(scores))
    for offset, protocol, colour in zip(offsets, protocols, _PROTOCOL_COLOURS, strict=False):
        values = [_percent(s.f1[protocol]) for s in scores.values()]
        ax.bar(
            x + offset * width,
            [m for m, _ in values],
            width,
            yerr=[s for _, s in values],
            capsize=2,
            color=colour,
            label=protocol.replace("_", " "),
        )
        ax.scatter(
            x + offset * width,
            [paper[name][protocol] for name in scores],
            marker="_",
            s=200,
            color="black",
            zorder=3,
            label="paper (existing or novel)" if offset == offsets[0] else None,
        )
    ax.set_xticks(x, [textwrap.fill(labels[name], 16) for name in scores], fontsize=10)
    ax.set_ylabel("F1 of containment (%), 5-D, mu")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=10, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    ax.set_title(f"The same boxes under {len(protocols)} scoring protocols")
    fig.tight_layout()
    return fig


def threshold_curves(
    curves: Mapping[str, Mapping[str, torch.Tensor]],
    thresholds: Sequence[float],
    labels: Mapping[str, str],
) -> Figure:
    """F1 (%) against the threshold, mean over draws, one panel per experiment, two per row.

    Args:
        curves: experiment -> part of the pairs (e.g. ``"validation"``, ``"test"``) -> ``(R, T)``
            F1 in ``[0, 1]`` of draw ``r`` at threshold ``t``
            (:func:`~taskspace.boxes.evaluate.f1_curve`).
        thresholds: the ``T`` thresholds.
        labels: experiment -> panel title.
    """
    _missing(list(curves), labels, "label")
    rows = -(-len(curves) // 2)
    fig, axes = plt.subplots(
        rows, 2, figsize=(7.5, 3.0 * rows + 0.6), sharey=True, sharex=True, squeeze=False
    )
    for ax in axes.flat[len(curves) :]:
        ax.set_visible(False)
    for ax, (name, parts) in zip(axes.flat, curves.items(), strict=False):
        for (part, f1), style in zip(parts.items(), ("o-", "s--", "^:"), strict=False):
            if f1.dim() != 2 or f1.shape[1] != len(thresholds):
                raise ValueError(
                    f"{name}, {part}: need (R, {len(thresholds)}) F1 values, got {tuple(f1.shape)}"
                )
            ax.plot(thresholds, 100 * f1.mean(0), style, label=f"{part} pairs")
        ax.set_title(labels[name], fontsize=10)
        ax.set_xlabel("threshold t")
    for ax in axes[:, 0]:
        ax.set_ylabel("F1 (%), mean of draws")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=10, ncol=len(names), loc="lower center")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def sensitivity_table(
    scores: Mapping[str, ContainmentScores],
    shifts: Mapping[tuple[str, str], torch.Tensor],
    labels: Mapping[str, str],
    caption: str = "",
) -> Table:
    """Mean F1 (%) ± its spread over draws, and how far the mean moves per perturbation.

    Args:
        scores: experiment -> scores of ``R`` draws on the original inputs.
        shifts: ``(experiment, protocol)`` -> ``(P,)`` shift of the mean F1 in F1 points, one per
            perturbed input (:func:`~taskspace.boxes.sensitivity.metric_shift` times 100); rows in
            this order.
        labels: experiment -> label.
    """
    _missing(sorted({name for name, _ in shifts}), scores, "scores")
    _missing(sorted({name for name, _ in shifts}), labels, "label")
    rows = [
        {
            "experiment": labels[name],
            "protocol": protocol.replace("_", " "),
            "F1 (%), spread over draws": mean_std(100 * scores[name].f1[protocol].numpy(), 1),
            "shifts of the mean": ", ".join(f"{v:+.1f}" for v in shift.tolist()),
        }
        for (name, protocol), shift in shifts.items()
    ]
    return Table.from_rows(rows, caption=caption)


def dimension_figure(
    scores: Mapping[str, Mapping[int, ContainmentScores]],
    paper: PaperF1,
    colours: Mapping[str, str] | None = None,
) -> Figure:
    """The paper's figure 6: F1 (%) against the box dimension ``k``, ours (mean ± std over
    draws, solid) beside the paper's (dashed), for existing (held-out) and novel datasets.

    Args:
        scores: experiment -> ``k`` -> scores of ``R`` draws of ``k``-D boxes on ``mu``.
        paper: the paper's F1 in %; its ``("mu", part)`` entries are drawn.
        colours: experiment -> colour (default: one of a fixed palette each).
    """
    _missing(list(scores), paper, "paper values")
    colours = colours or dict(zip(scores, _COLOURS, strict=False))
    _missing(list(scores), colours, "colour")
    dims = sorted({k for by_k in scores.values() for k in by_k})
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 6.8))
    for ax, part in zip(axes, ("existing", "novel"), strict=True):
        for name, by_k in scores.items():
            ks = sorted(by_k)
            means = [_percent(getattr(by_k[k], part)) for k in ks]
            ax.errorbar(
                ks,
                [m for m, _ in means],
                yerr=[s for _, s in means],
                marker="o",
                capsize=3,
                color=colours[name],
                label=f"{name}, here",
            )
            ours = paper[name][("mu", part)]
            ax.plot(
                list(ours),
                list(ours.values()),
                "s--",
                color=colours[name],
                alpha=0.45,
                label=f"{name}, paper",
            )
        ax.set_xticks(dims)
        ax.set_xlabel("box dimension k")
        which = " (held-out pairs)" if part == "existing" else " (both directions)"
        ax.set_title(f"{part} datasets{which}")
    for ax in axes:
        ax.set_ylabel("F1 of containment (%)")
    axes[1].legend(fontsize=10, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    fig.tight_layout()
    return fig


def parent_child_boxes(
    boxes: Mapping[tuple[str, str], Boxes],
    datasets: Mapping[str, Sequence[str]],
    groups: Mapping[str, Sequence[str]],
    heads: Mapping[str, Sequence[str]],
) -> Figure:
    """The paper's figures 1 and 3: 2-D boxes of taxonomy datasets, coloured by their group,
    the group nodes (``heads``) filled and labelled; one column per experiment, one row per
    kind of boxes (e.g. a trained model's predictions, a map fitted to all pairs). Each panel's
    legend of the groups lies to its right, where it covers no box.

    Args:
        boxes: ``(experiment, what)`` -> ``(M, 2)`` boxes of that experiment's ``M`` shown
            datasets; ``what`` ends the panel's title.
        datasets: experiment -> the ``M`` dataset names.
        groups: experiment -> ``M`` group names.
        heads: experiment -> the names drawn bold (a subset of the dataset names).
    """
    columns = list(dict.fromkeys(name for name, _ in boxes))
    rows = list(dict.fromkeys(what for _, what in boxes))
    if len(boxes) != len(columns) * len(rows):
        raise ValueError("need the same kinds of boxes for every experiment")
    for mapping, what in ((datasets, "dataset names"), (groups, "groups"), (heads, "heads")):
        _missing(columns, mapping, what)
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(7.5 * len(columns), 5.5 * len(rows)), squeeze=False
    )
    for column, name in enumerate(columns):
        for row, what in enumerate(rows):
            drawn = boxes[name, what]
            box_figure(
                drawn,
                list(datasets[name]),
                groups=list(groups[name]),
                highlight=list(heads[name]),
                title=f"{name}: {len(drawn.low)} datasets as 2-D boxes, {what}",
                ax=axes[row, column],
                legend="outside",
                fontsize=10,
            )
    fig.tight_layout()
    return fig


def neighbourhood_figure(
    curves: Mapping[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    colours: Mapping[str, str] | None = None,
) -> Figure:
    """Supplement figure 7: mean distance between box centres of each dataset and its ``m``
    nearest datasets in the taxonomy, against ``m``, beside ``m`` random datasets (the control)
    and the mean tree distance of those neighbours (right axis); one panel per experiment.

    Args:
        curves: experiment -> ``(tree, near, control)``, three ``(m_max,)`` tensors for
            ``m = 1 .. m_max`` (:func:`~taskspace.hierarchies.neighbourhood_curves`).
        colours: experiment -> colour of its centre-distance curve.
    """
    colours = colours or dict(zip(curves, _COLOURS, strict=False))
    _missing(list(curves), colours, "colour")
    fig, axes = plt.subplots(len(curves), 1, figsize=(7.5, 4.2 * len(curves)), squeeze=False)
    for ax, (name, (tree, near, control)) in zip(axes[:, 0], curves.items(), strict=True):
        if not len(tree) == len(near) == len(control):
            raise ValueError(
                f"{name}: the three curves differ in length: {len(tree)}, {len(near)}, "
                f"{len(control)}"
            )
        m = np.arange(1, len(tree) + 1)
        ax.plot(m, near, "o-", color=colours[name], label="box centres, m nearest in the taxonomy")
        ax.plot(m, control, "--", color="grey", label="box centres, m random datasets")
        ax.set_xlabel("neighbourhood size m")
        ax.set_ylabel("mean centre distance (5-D)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        twin = ax.twinx()
        twin.plot(m, tree, ":", color="black", label="tree distance (right axis)")
        twin.set_ylabel("mean tree distance")
        ax.set_title(name)
        lines = ax.get_lines() + twin.get_lines()
        ax.legend(
            lines,
            [line.get_label() for line in lines],
            fontsize=10,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
        )
    fig.tight_layout()
    return fig
