"""Figures and tables of chapter 5: Taskonomy's affinities learned as boxes.

Twenty-five tasks are too many for one colour each: :func:`task_styles` gives every task its
group's colour and, within the group, its own marker, so that each (colour, marker) pair names
exactly one task and the legend stays unambiguous (:func:`pooled_scatter` uses it).

The others draw or tabulate what :mod:`taskspace.affinities` and :mod:`taskspace.taskonomy`
computed (scores per draw, training histories, the map's overlaps); none trains or scores
anything beyond a rank correlation for a title. The paper's numbers are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from taskspace.affinities import (
    AffinityExperiment,
    Scores,
    best_sources,
    mean_std_finite,
    perturbation_shifts,
)
from taskspace.boxes.evaluate import RelationSplit, spearman, tanh_rescale
from taskspace.boxes.train import History
from taskspace.plotting.tables import Table, mean_std

__all__ = [
    "LEFT_OUT",
    "MARKERS",
    "ablation_table",
    "affinity_histograms",
    "best_sources_table",
    "pooled_scatter",
    "sensitivity_table",
    "spearman_bars",
    "spearman_table",
    "task_styles",
    "training_curves",
]

#: The paper's pooled rho of one setting: ``((mean, std) existing, (mean, std) novel)``.
PaperRho = tuple[tuple[float, float], tuple[float, float]]

#: Markers given to the tasks of one group, in order (a group may have at most this many tasks).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def task_styles(names: Sequence[str], groups: Sequence[str]) -> dict[str, dict[str, object]]:
    """``{name: {"color": ..., "marker": ...}}`` for ``ax.scatter(..., **styles[name])``.

    Args:
        names: ``N`` distinct task names.
        groups: ``N`` group names; one ``tab10`` colour per group, in order of first appearance.

    Returns:
        the styles, ordered by group (as the groups first appear) and, within a group, as
        ``names``: iterate over it to build a legend grouped by colour.
    """
    if len(names) != len(groups) or len(set(names)) != len(names):
        raise ValueError(f"need N distinct names and N groups, got {len(names)} and {len(groups)}")
    keys = list(dict.fromkeys(groups))
    if len(keys) > 10:
        raise ValueError(f"at most 10 groups (tab10 colours), got {len(keys)}")
    cmap = plt.get_cmap("tab10")
    styles: dict[str, dict[str, object]] = {}
    for g, key in enumerate(keys):
        members = [name for name, group in zip(names, groups, strict=True) if group == key]
        if len(members) > len(MARKERS):
            raise ValueError(f"group {key!r} has {len(members)} tasks, more than the markers")
        for name, marker in zip(members, MARKERS, strict=False):
            styles[name] = {"color": cmap(g), "marker": marker}
    return styles


def _pooled_and_within(scores: Scores, part: str) -> tuple[np.ndarray, tuple[float, float]]:
    return scores[f"pooled_{part}"], mean_std_finite(scores[f"within_{part}"])


def affinity_histograms(values: torch.Tensor, k: float) -> Figure:
    """The known affinities ``(P,)`` and their rescaling ``tanh(k x)``, side by side (ch. 5)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    left.hist(values.numpy(), bins=40, color="#4c72b0")
    left.set_xlabel("affinity(source -> target)")
    left.set_ylabel("number of pairs")
    left.set_title("Taskonomy affinities (1k budget)")
    right.hist(tanh_rescale(values, k).numpy(), bins=40, color="#dd8452")
    right.set_xlabel(f"tanh({k} x affinity)")
    right.set_ylabel("number of pairs")
    right.set_title("after the rescaling of supplement Eq. 8")
    fig.tight_layout()
    return fig


def spearman_table(scores: Mapping[int, Scores], paper: Mapping[int, PaperRho]) -> Table:
    """Table 3 beside chapter 5's within-target rho: one row per box dimension ``k``.

    Args:
        scores: ``k -> `` the draws' scores (:func:`~taskspace.affinities.draw_scores`).
        paper: ``k -> ((mean, std) existing, (mean, std) novel)``, the paper's pooled rho.
    """
    rows = []
    for k, s in scores.items():
        (existing, existing_std), (novel, novel_std) = paper[k]
        rows.append(
            {
                "box dimension k": k,
                "pooled, existing": mean_std(s["pooled_existing"]),
                "paper, existing": f"{existing:.2f} ± {existing_std:.2f}",
                "pooled, novel": mean_std(s["pooled_novel"]),
                "paper, novel": f"{novel:.2f} ± {novel_std:.2f}",
                "within-target, existing": mean_std(s["within_existing"]),
                "within-target, novel": mean_std(s["within_novel"]),
            }
        )
    return Table.from_rows(
        rows, caption="Spearman's ρ, mean ± std over draws (the paper's: table 3)"
    )


def spearman_bars(scores: Mapping[int, Scores], paper: Mapping[int, PaperRho]) -> Figure:
    """Per box dimension, the paper's pooled rho, ours, and our within-target rho, on existing
    and on novel tasks (mean ± std over draws; chapter 5)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.8), sharey=True)
    ks = list(scores)
    x = np.arange(len(ks))
    parts = [
        ("existing", "existing tasks (held-out pairs)"),
        ("novel", "novel tasks (both directions)"),
    ]
    for column, (ax, (part, title)) in enumerate(zip(axes, parts, strict=True)):
        pooled = [scores[k][f"pooled_{part}"] for k in ks]
        within = [mean_std_finite(scores[k][f"within_{part}"]) for k in ks]
        bars = [
            (
                [paper[k][column][0] for k in ks],
                [paper[k][column][1] for k in ks],
                "#bbbbbb",
                "paper (pooled)",
            ),
            ([p.mean() for p in pooled], [p.std() for p in pooled], "#4c72b0", "here, pooled"),
            ([w[0] for w in within], [w[1] for w in within], "#dd8452", "here, within-target"),
        ]
        for offset, (mean, std, colour, label) in enumerate(bars):
            ax.bar(
                x + (offset - 1) * 0.27, mean, 0.27, yerr=std, color=colour, label=label, capsize=3
            )
        ax.set_xticks(x, [f"{k}-D boxes" for k in ks])
        ax.set_title(title, fontsize=11)
        ax.axhline(0, color="black", linewidth=0.6)
    axes[0].set_ylabel("Spearman's ρ (mean ± std over draws)")
    axes[1].legend(fontsize=10, loc="upper left")
    fig.tight_layout()
    return fig


def training_curves(history: History, members: int, title: str = "5-D boxes") -> Figure:
    """Training loss and validation error of the first ``members`` networks of ``history``;
    a dot marks the step each network is kept at (chapter 5)."""
    losses = torch.tensor(history.losses["total"])[:, :members]  # (steps, R)
    errors = torch.tensor(history.validation_error)[:, :members]  # (evaluations, R)
    best = list(history.best_step)[:members]  # type: ignore[arg-type]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.8))
    for r in range(members):
        line = left.plot(
            np.arange(1, len(losses) + 1), losses[:, r], linewidth=0.7, label=f"draw {r}"
        )[0]
        right.plot(history.validation_steps, errors[:, r], color=line.get_color())
        kept = errors[history.validation_steps.index(best[r]), r]
        right.plot(best[r], kept, "o", color=line.get_color())
    left.set_yscale("log")
    left.set_xlabel("Adam step (full batch)")
    left.set_ylabel("training loss (weighted total)")
    left.set_title(f"{title}: training loss per draw", fontsize=11)
    left.legend(fontsize=10, ncol=2)
    right.set_xlabel("Adam step (full batch)")
    right.set_ylabel("validation error (MSE of d_box)")
    right.set_title("validation error; dot = the step kept", fontsize=11)
    fig.tight_layout()
    return fig


def sensitivity_table(
    scores: Mapping[int, Scores], perturbed: Mapping[int, Sequence[Scores]], fields: Sequence[str]
) -> Table:
    """Per box dimension and score, the mean ± std over draws and how far the mean moves when
    the inputs move by one rounding, per perturbation (chapter 5)."""
    rows = []
    for k, s in scores.items():
        for field in fields:
            shifts = perturbation_shifts(s[field], [p[field] for p in perturbed[k]])
            rows.append(
                {
                    "boxes": f"{k}-D",
                    "Spearman's ρ": field.replace("_", ", ").replace("within", "within-target"),
                    "mean ± std over draws": mean_std(s[field], digits=3),
                    "shift of the mean, per perturbation": ", ".join(
                        f"{v:+.3f}" for v in shifts.tolist()
                    ),
                }
            )
    return Table.from_rows(rows, caption="Retrained on attributes moved by one float32 rounding")


def pooled_scatter(
    experiment: AffinityExperiment,
    predicted: torch.Tensor,
    split: RelationSplit,
    groups: Sequence[str],
) -> Figure:
    """Predicted against true rescaled affinity of one draw (chapter 5): test pairs of existing
    tasks (left) and pairs with a novel task (right), each target in its group's colour and its
    own marker (:func:`task_styles`); the pooled rho in each title.

    Args:
        experiment: the tasks and true affinities (its ``rescale_k`` sets the axes' scale).
        predicted: ``(N, N)`` predicted affinities of the draw.
        split: the draw's split.
        groups: ``N`` group names, one per task.
    """
    k = experiment.rescale_k
    if k is None:
        raise ValueError("pooled_scatter draws rescaled affinities: the experiment needs rescale_k")
    names, actual = experiment.names, experiment.affinity
    styles = task_styles(names, groups)  # task -> its group's colour and its own marker
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 4.6), sharex=True, sharey=True)
    drawn = set()
    panels = [
        (split.test, "test pairs of existing tasks"),
        (split.novel_pairs, "pairs with a novel task"),
    ]
    for ax, (mask, title) in zip(axes, panels, strict=True):
        for i in mask.any(1).nonzero().squeeze(1).tolist():
            row = mask[i]
            x, y = tanh_rescale(actual[i][row], k), tanh_rescale(predicted[i][row], k)
            ax.scatter(x, y, s=36, linewidths=0, **styles[names[i]])
            drawn.add(names[i])
        ax.set_title(f"{title}\npooled ρ = {spearman(predicted, actual, mask):.2f}", fontsize=11)
        ax.set_xlabel(f"true tanh({k} x affinity)")
    axes[0].set_ylabel("predicted d_box")
    keys = list(dict.fromkeys(groups))
    colours = [Patch(color=styles[names[list(groups).index(g)]]["color"]) for g in keys]
    axes[0].legend(
        colours, keys, fontsize=10, loc="upper left", title="colour: task group", title_fontsize=10
    )
    shown = [name for name in styles if name in drawn]
    markers = [
        Line2D([], [], linestyle="none", markersize=6, markeredgewidth=0, **styles[n])
        for n in shown
    ]
    fig.tight_layout()
    fig.legend(  # below both panels, so that the figure keeps the page's width
        markers,
        shown,
        fontsize=10,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        title="target (marker within its group)",
        title_fontsize=10,
    )
    return fig


#: How chapter 5's ablation table names each variant of the loss.
LEFT_OUT: dict[str, str] = {
    "all": "all terms",
    "no_overlap": "without the overlap term L_E",
    "no_distance": "without the distance term L_D",
    "no_regularization": "without the regularisation L_R",
}


def ablation_table(ablation: Mapping[str, Scores], paper: Mapping[str, float]) -> Table:
    """Supplement table 4 beside ours: pooled rho (mean ± std) and within-target means per
    variant of the loss (``all`` or a key of :data:`LEFT_OUT`; chapter 5)."""
    rows = []
    for name, s in ablation.items():
        if name not in LEFT_OUT:
            raise ValueError(f"unknown loss variant {name!r}; known: {list(LEFT_OUT)}")
        rows.append(
            {
                "5-D boxes": LEFT_OUT[name],
                "pooled, existing": mean_std(s["pooled_existing"]),
                "paper (table 4)": paper[name],
                "pooled, novel": mean_std(s["pooled_novel"]),
                "within-target, existing": mean_std_finite(s["within_existing"])[0],
                "within-target, novel": mean_std_finite(s["within_novel"])[0],
            }
        )
    return Table.from_rows(
        rows, caption="Loss ablation: Spearman's ρ, mean ± std over draws (within-target: mean)"
    )


def best_sources_table(
    experiment: AffinityExperiment,
    overlap: torch.Tensor,
    within: torch.Tensor,
    targets: Sequence[str],
    top: int = 3,
) -> Table:
    """Per target, its ``top`` true best sources and the map's, with the map's within-target
    rho (chapter 5's figure 4).

    Args:
        experiment: the tasks and true affinities.
        overlap: ``(N, N)`` the map's ``d_box`` ``[target, source]``.
        within: ``(N,)`` the map's within-target rho.
        targets: the target tasks, by name.
        top: how many sources to list.
    """
    names, actual = experiment.names, experiment.affinity
    rows = []
    for t, name in zip(experiment.index(targets), targets, strict=True):
        best_true = best_sources(experiment, actual, t, top)
        best_map = best_sources(experiment, overlap, t, top)
        rows.append(
            {
                "target": name,
                "true best sources (affinity)": ", ".join(
                    f"{names[j]} {actual[t, j]:.3f}" for j in best_true
                ),
                "the map's best sources (d_box)": ", ".join(
                    f"{names[j]} {overlap[t, j]:.2f}" for j in best_map
                ),
                "within-target ρ of the map": f"{within[t]:.2f}",
            }
        )
    return Table.from_rows(rows)
