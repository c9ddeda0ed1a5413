"""Figures of task discovery (chapter 9): proxy against AS, discovered tasks, trade-offs, costs.

Every function takes plain tensors or numbers, draws one figure and returns it; none computes
an agreement score itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from taskspace.plotting.data import show_image

__all__ = [
    "KIND_COLOURS",
    "agreement_by_kind",
    "closeness_histograms",
    "confident_examples",
    "cross_architecture",
    "discovery_history",
    "lambda_tradeoff",
    "meta_gradient_costs",
    "proxy_against_agreement",
    "similarity_matrices",
]

#: One colour per kind of task, the same in every figure of chapter 9.
KIND_COLOURS = {
    "human": "tab:blue",
    "random": "tab:red",
    "random network": "tab:olive",
    "discovered": "tab:green",
    "untrained encoder": "tab:grey",
}


def _colour(kind: str) -> str:
    """The kind's colour; ``"discovered λ=1"`` (chapter 11) takes ``"discovered"``'s."""
    return KIND_COLOURS.get(kind, KIND_COLOURS.get(kind.split(" λ")[0], "tab:purple"))


def _same_lengths(name: str, first: Mapping[str, object], second: Mapping[str, object]) -> None:
    if set(first) != set(second):
        raise ValueError(f"{name}: the two mappings name different kinds of task")
    for kind in first:
        if len(first[kind]) != len(second[kind]):  # type: ignore[arg-type]
            raise ValueError(f"{name}: {kind!r} has a different number of values in each")


def proxy_against_agreement(
    proxy: Mapping[str, torch.Tensor], full: Mapping[str, torch.Tensor], rho: float
) -> Figure:
    """Figure 16-right: each task's proxy-AS (x) against its full AS (y), coloured by kind.

    Args:
        proxy: ``{kind: (T_k,)}`` proxy-AS of the tasks of each kind.
        full: ``{kind: (T_k,)}`` their agreement scores, in the same order.
        rho: the Spearman correlation over all tasks, printed in the title.
    """
    _same_lengths("proxy_against_agreement", proxy, full)
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
    for kind in proxy:
        ax.scatter(proxy[kind].numpy(), full[kind].numpy(), s=22, color=_colour(kind), label=kind)
    ax.set_xlabel("proxy-AS (minus cross-entropy, K inner SGD steps)")
    ax.set_ylabel("AS (trained to 99% training accuracy)")
    ax.set_title(f"proxy-AS against AS: Spearman ρ = {rho:.2f}")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def agreement_by_kind(
    scores: Mapping[str, torch.Tensor], marks: Mapping[str, float], title: str = ""
) -> Figure:
    """Figure 1-center: the AS of every task, one column per kind, a bar at each kind's mean.

    Args:
        scores: ``{kind: (T_k,)}`` agreement scores.
        marks: ``{label: AS}`` reference values drawn as stars beside the last column (e.g. the
            paper's mean for the discovered tasks).
        title: the axes' title.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    jitter = np.random.default_rng(0)
    for x, (kind, values) in enumerate(scores.items()):
        spread = jitter.uniform(-0.15, 0.15, len(values))
        ax.scatter(x + spread, values.numpy(), s=18, color=_colour(kind))
        ax.hlines(values.mean().item(), x - 0.3, x + 0.3, color="k")
    for label, value in marks.items():
        ax.scatter([len(scores) - 0.6], [value], marker="*", s=120, color="k", label=label)
    ax.set_xticks(range(len(scores)), [kind.replace(" ", "\n") for kind in scores], fontsize=8)
    ax.set_xlabel("kind of task")
    ax.set_ylabel("agreement score (one pair per task)")
    ax.set_title(title, fontsize=10)
    if marks:
        ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def closeness_histograms(values: Mapping[str, torch.Tensor], xlabel: str) -> Figure:
    """Overlaid histograms on ``[0.5, 1]`` (similarities), one per named set of values.

    Args:
        values: ``{name: (M,)}`` similarities, e.g. of the nearest linear task to each human task.
        xlabel: what the values are.
    """
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bins = np.linspace(0.5, 1.0, 26)
    for name, sample in values.items():
        ax.hist(sample.numpy(), bins=bins, alpha=0.6, color=_colour(name), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def discovery_history(history: Mapping[str, torch.Tensor], window: int = 10) -> Figure:
    """The proxy-AS and the uniformity loss at every meta-step, with a running mean.

    Args:
        history: ``{"proxy": (S,), "uniformity": (S,)}`` per meta-step.
        window: meta-steps in the running mean (drawn as a line over the raw points).
    """
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.2))
    for ax, key, label in (
        (axes[0], "proxy", "proxy-AS of the sampled head"),
        (axes[1], "uniformity", "uniformity loss (lower = more uniform)"),
    ):
        values = history[key].double().numpy()
        steps = np.arange(len(values))
        ax.plot(steps, values, ".", ms=2, color="tab:grey", alpha=0.5)
        if len(values) >= window:
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(steps[window - 1 :], smooth, color="tab:green", label=f"mean of {window}")
            ax.legend(fontsize=9)
        ax.set_xlabel("meta-step")
        ax.set_ylabel(label)
    fig.tight_layout()
    return fig


def confident_examples(
    images: torch.Tensor, scores: torch.Tensor, task_names: Sequence[str], per_side: int = 6
) -> Figure:
    """Figure 4-right: for each task (a row) the images it puts most confidently in each class.

    Args:
        images: ``(N, C, H, W)`` in ``[0, 1]``.
        scores: ``(T, N)`` each task's score ``w_t . e(x)``; label 1 where it is positive.
        task_names: ``T`` row labels.
        per_side: images shown for each class (the most negative scores left, most positive right).
    """
    if scores.ndim != 2 or scores.shape[1] != images.shape[0] or len(task_names) != len(scores):
        raise ValueError(
            f"scores must be (T, N) = ({len(task_names)}, {images.shape[0]}), "
            f"got {tuple(scores.shape)}"
        )
    if scores.shape[1] < 2 * per_side:
        raise ValueError(f"need at least {2 * per_side} images, got {scores.shape[1]}")
    rows, columns = len(task_names), 2 * per_side + 1
    width, height = 0.5 * columns + 1.0, 0.55 * rows + 0.4  # inches: 0.5 a cell, room for names
    fig, axes = plt.subplots(rows, columns, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(
        left=1.0 / width, right=0.99, bottom=0.02, top=1 - 0.35 / height, wspace=0.1, hspace=0.15
    )
    for row, (name, score) in enumerate(zip(task_names, scores, strict=True)):
        order = torch.argsort(score)
        chosen = [*order[:per_side].tolist(), None, *order.flip(0)[:per_side].tolist()]
        for ax, index in zip(axes[row], chosen, strict=True):
            if index is None:
                ax.axis("off")
            else:
                show_image(ax, images[index], cmap="gray_r", value_range=None)
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
    axes[0, 0].set_title("label 0 (most confident first)", fontsize=10, loc="left")
    axes[0, per_side + 1].set_title("label 1 (most confident first)", fontsize=10, loc="left")
    return fig


def similarity_matrices(matrices: Mapping[str, torch.Tensor]) -> Figure:
    """Figure 15-left: task-by-task similarity matrices side by side, one colour scale.

    Args:
        matrices: ``{title: (T, T)}`` similarities (Eq. 2) in ``[0.5, 1]``.
    """
    fig, axes = plt.subplots(1, len(matrices), figsize=(3.3 * len(matrices) + 0.8, 3.2))
    axes = np.atleast_1d(axes)
    image = None
    for ax, (title, matrix) in zip(axes, matrices.items(), strict=True):
        image = ax.imshow(matrix.double().numpy(), vmin=0.5, vmax=1.0, cmap="magma_r")
        off = matrix[~torch.eye(len(matrix), dtype=torch.bool)].double().mean().item()
        ax.set_title(f"{title}\nmean off-diagonal {off:.2f}", fontsize=9)
        ax.set_xlabel("task")
        ax.set_ylabel("task")
    fig.colorbar(image, ax=list(axes), label="similarity (Eq. 2)", shrink=0.85)
    return fig


def cross_architecture(
    scores: Mapping[str, tuple[torch.Tensor, torch.Tensor]], architectures: tuple[str, str]
) -> Figure:
    """Figure 4-left: each task's AS measured with one architecture (x) and another (y).

    Args:
        scores: ``{task set: ((T,) AS with architectures[0], (T,) AS with architectures[1])}``.
        architectures: the two axis labels.
    """
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    everything = []
    for kind, (x, y) in scores.items():
        if x.shape != y.shape:
            raise ValueError(f"{kind!r}: {tuple(x.shape)} and {tuple(y.shape)} AS values")
        ax.scatter(x.numpy(), y.numpy(), s=24, color=_colour(kind), label=kind)
        everything += [*x.tolist(), *y.tolist()]
    low, high = min(everything) - 0.02, max(everything) + 0.02
    ax.plot([low, high], [low, high], color="grey", lw=1, ls=":")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel(f"AS measured with {architectures[0]}")
    ax.set_ylabel(f"AS measured with {architectures[1]}")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def lambda_tradeoff(
    lambdas: Sequence[float],
    similarity: Sequence[float],
    as_mean: Sequence[float],
    as_std: Sequence[float],
    references: Mapping[str, float],
) -> Figure:
    """Figure 13: mean AS of each discovered set against how similar its tasks are, per lambda.

    Args:
        lambdas: the uniformity weights, one per discovered set.
        similarity: each set's similarity (the x axis; figure 13 uses the mean over tasks of the
            largest similarity to another task of the set).
        as_mean, as_std: each set's mean AS over its tasks and their spread.
        references: ``{kind: AS}`` horizontal lines, e.g. human- and random-labelled tasks.
    """
    if not len(lambdas) == len(similarity) == len(as_mean) == len(as_std):
        raise ValueError("lambdas, similarity, as_mean and as_std must have the same length")
    fig, ax = plt.subplots(figsize=(5.4, 3.6))
    ax.errorbar(similarity, as_mean, yerr=as_std, fmt="o-", color="tab:green", capsize=3)
    for i, (lam, x, y) in enumerate(zip(lambdas, similarity, as_mean, strict=True)):
        # beside the point, clear of its vertical error bar, on the side away from the nearest
        # other point (two sets of close similarity would otherwise share their labels' space)
        others = [other for j, other in enumerate(similarity) if j != i]
        nearest = min(others, key=lambda other: abs(other - x)) if others else x - 1
        left = nearest > x
        ax.annotate(
            f"λ = {lam:g}",
            (x, y),
            textcoords="offset points",
            xytext=(-7 if left else 7, 0),
            ha="right" if left else "left",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    for kind, value in references.items():
        ax.axhline(value, color=_colour(kind), ls="--", lw=1, label=f"{kind}-labelled tasks")
    ax.margins(x=0.15)  # room for the labels of the outermost points
    ax.set_xlabel("similarity of each task to its most similar other task (mean)")
    ax.set_ylabel("mean AS of the discovered tasks")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def meta_gradient_costs(
    rows: Sequence[Mapping[str, object]], time_key: str = "seconds", memory_key: str = "peak_mb"
) -> Figure:
    """Time and peak memory of each meta-gradient strategy at each number of inner steps K.

    Args:
        rows: one mapping per measurement with ``"strategy"``, ``"inner_steps"`` and the two
            measured values (keys ``time_key`` in seconds and ``memory_key`` in MB).
    """
    strategies = list(dict.fromkeys(str(row["strategy"]) for row in rows))
    steps = sorted({int(row["inner_steps"]) for row in rows})  # type: ignore[call-overload]
    value = {(str(r["strategy"]), int(r["inner_steps"])): r for r in rows}  # type: ignore[call-overload]
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.1))
    width = 0.8 / len(strategies)
    for ax, key, label in (
        (axes[0], time_key, "seconds per meta-gradient"),
        (axes[1], memory_key, "peak memory (MB)"),
    ):
        for s, strategy in enumerate(strategies):
            heights = [float(value[(strategy, k)][key]) for k in steps]  # type: ignore[arg-type]
            ax.bar(
                np.arange(len(steps)) + (s - (len(strategies) - 1) / 2) * width,
                heights,
                width,
                label=strategy,
            )
        ax.set_xticks(range(len(steps)), [str(k) for k in steps])
        ax.set_xlabel("inner steps K")
        ax.set_ylabel(label)
    if all(float(row[memory_key]) > 0 for row in rows):  # type: ignore[arg-type]
        axes[1].set_yscale("log")
        axes[1].yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 100, 200, 500, ...
        axes[1].yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes[1].yaxis.set_minor_formatter(NullFormatter())
    axes[0].legend(fontsize=9, title="meta-gradient", title_fontsize=9)
    fig.tight_layout()
    return fig
