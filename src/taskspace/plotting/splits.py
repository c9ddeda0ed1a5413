"""Figures of adversarial splits (chapter 10): the split's images, Table 1, figure 7, appendix F.

Every function takes plain tensors or numbers, draws one figure and returns it; none trains a
network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from taskspace.agreement.splits import TrainTestSplit
from taskspace.plotting.data import show_image

__all__ = [
    "accuracy_against_difference",
    "agreement_against_accuracy",
    "split_accuracies",
    "split_examples",
]

Points = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def split_examples(
    images: torch.Tensor,
    target: torch.Tensor,
    spurious: torch.Tensor,
    split: TrainTestSplit,
    per_group: int = 8,
    seed: int = 0,
) -> Figure:
    """Figure 7-center: images of the four groups of a binary adversarial split (Eq. 6).

    Rows: the training part's groups (target = spurious = 1, target = spurious = 0), then the test
    part's (target 1 with spurious 0, target 0 with spurious 1), each with its share of the split's
    images. The images are shown as they are: nothing about them was changed.

    Args:
        images: ``(N, C, H, W)`` in ``[0, 1]``.
        target: ``(N,)`` int64 binary target labels.
        spurious: ``(N,)`` int64 binary labels of the high-AS task.
        split: the split of those images.
        per_group: images shown per group (drawn at random with ``seed``).
    """
    if not images.shape[0] == target.numel() == spurious.numel():
        raise ValueError(
            f"images, target and spurious must describe the same images: got "
            f"{images.shape[0]}, {target.numel()}, {spurious.numel()}"
        )
    groups = [
        ("training", split.train, 1, 1),
        ("training", split.train, 0, 0),
        ("test", split.test, 1, 0),
        ("test", split.test, 0, 1),
    ]
    total = split.train.numel() + split.test.numel()
    generator = torch.Generator().manual_seed(seed)
    fig, axes = plt.subplots(4, per_group, figsize=(0.6 * per_group + 2.4, 3.6))
    for row, (part, indices, label, cue) in enumerate(groups):
        members = indices[(target[indices] == label) & (spurious[indices] == cue)]
        shown = members[torch.randperm(members.numel(), generator=generator)[:per_group]]
        for column, ax in enumerate(axes[row]):
            if column < shown.numel():
                show_image(ax, images[shown[column]], cmap="gray_r", value_range=None)
            else:
                ax.axis("off")
        axes[row, 0].set_ylabel(
            f"{part}: target {label},\nspurious {cue} ({100 * members.numel() / total:.0f} %)",
            rotation=0,
            ha="right",
            va="center",
            fontsize=9,
        )
    fig.tight_layout(pad=0.3)
    return fig


def split_accuracies(
    ours: Mapping[str, Mapping[str, tuple[float, float]]],
    paper: Mapping[str, Mapping[str, tuple[float, float]]],
) -> Figure:
    """Table 1 as bars: test accuracy on random and adversarial splits, mean ± std per setting.

    Args:
        ours: ``{setting: {"random": (mean, std), "adversarial": (mean, std)}}``.
        paper: the same for the paper's settings (drawn hatched, after ours).
    """
    settings = {**ours, **paper}
    if len(settings) != len(ours) + len(paper):
        raise ValueError("a setting is named both in ours and in paper")
    kinds = ("random", "adversarial")
    for name, values in settings.items():
        if set(values) != set(kinds):
            raise ValueError(f"setting {name!r} must give exactly {kinds}, got {sorted(values)}")
    # horizontal bars: one row per setting, its name on one line at a readable size
    fig, ax = plt.subplots(figsize=(6.4, 0.42 * len(settings) + 1.4))
    y = np.arange(len(settings))
    for offset, kind, colour in ((-0.2, "random", "tab:blue"), (0.2, "adversarial", "tab:red")):
        means = [settings[name][kind][0] for name in settings]
        stds = [settings[name][kind][1] for name in settings]
        bars = ax.barh(y + offset, means, 0.4, xerr=stds, capsize=2, color=colour, label=kind)
        for bar, name in zip(bars, settings, strict=True):
            if name in paper:
                bar.set_hatch("//")
                bar.set_alpha(0.55)
    ax.set_yticks(y, [name.replace("\n", " ") for name in settings], fontsize=9)
    ax.invert_yaxis()  # the first setting on top, as in the table
    ax.axvline(0.5, color="grey", ls=":", lw=1)
    ax.set_xlabel("test accuracy")
    ax.set_xlim(0, 1.05)
    ax.legend(
        title="split (hatched: the paper)",
        fontsize=9,
        title_fontsize=9,
        ncol=2,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
    )
    fig.tight_layout()
    return fig


def _scatter(ax: Axes, points: Points) -> None:
    for kind, (x, y) in points.items():
        if len(x) != len(y):
            raise ValueError(f"{kind!r}: {len(x)} x values but {len(y)} y values")
        ax.scatter(x, y, s=18, alpha=0.8, label=kind)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))


def accuracy_against_difference(points: Points, rho: float) -> Figure:
    """Figure 7-right: test accuracy for tau_1 on the split built from tau_2 against their AS gap.

    Args:
        points: ``{kind of pair: (AS(tau_1) - AS(tau_2) values, test accuracy values)}``.
        rho: Spearman's rank correlation over all points, stated in the title.
    """
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    ax.axvline(0.0, color="grey", ls=":", lw=1)
    _scatter(ax, points)
    ax.set_xlabel(r"AS($\tau_1$) $-$ AS($\tau_2$)")
    ax.set_ylabel(r"test accuracy for $\tau_1$")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"test accuracy against the gap in AS (Spearman ρ = {rho:.2f})")
    fig.tight_layout()
    return fig


def agreement_against_accuracy(points: Points) -> Figure:
    """Appendix F: AS on the adversarial test part against the test accuracy there.

    The V-shaped line is Proposition 1's lower bound for a binary task, ``AS >= |2 ACC - 1|``
    (with ``h`` the test labels and with ``h`` their flip); points far above it near accuracy
    0.5 are ensembles that agree with each other but with neither labelling.

    Args:
        points: ``{kind of split: (test accuracies, AS values on the test part)}``.
    """
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    grid = np.linspace(0, 1, 101)
    ax.plot(grid, np.abs(2 * grid - 1), color="grey", lw=1, label="|2 ACC − 1| (Prop. 1)")
    _scatter(ax, points)
    ax.set_xlabel("test accuracy on the test part")
    ax.set_ylabel("AS on the test part")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    return fig
