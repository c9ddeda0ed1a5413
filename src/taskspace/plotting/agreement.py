"""Figures of the agreement score (chapter 8): tasks as labellings, AS by kind of task, by
architecture, by training-set size and by source of randomness, Proposition 1, the pixel task.

Every function takes plain numbers (``{kind: (T,) AS of T tasks}`` and the like), draws one
figure and returns it; none measures anything itself. Human-labelled tasks are blue and
random-labelled ones red, as in chapter 9 (:data:`~taskspace.plotting.discovery.KIND_COLOURS`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from taskspace.agreement.score import Proposition1
from taskspace.plotting.discovery import KIND_COLOURS

__all__ = [
    "agreement_strips",
    "architecture_bars",
    "pixel_probe_accuracy",
    "proposition1_bars",
    "randomness_bars",
    "size_curve",
    "task_examples",
]

#: The kinds of task drawn side by side, in this order.
KINDS = ("human", "random")


def _chance(ax: plt.Axes) -> None:
    """The chance level of a balanced binary task, 0.5, as a dotted line."""
    ax.axhline(0.5, color="grey", ls=":", lw=1)


def _by_kind(name: str, groups: Mapping[str, Mapping[str, object]]) -> list[str]:
    """The groups' names, after checking that each holds exactly :data:`KINDS`."""
    if not groups:
        raise ValueError(f"{name}: nothing to draw")
    for group, kinds in groups.items():
        if tuple(kinds) != KINDS:
            raise ValueError(f"{name}: {group!r} holds {list(kinds)}, expected {list(KINDS)}")
    return list(groups)


def task_examples(
    images: torch.Tensor, labels: torch.Tensor, title: str, per_label: int = 8
) -> Figure:
    """Two rows of grey images (chapter 8): the first ``per_label`` with label 0, then with 1.

    Args:
        images: ``(N, 1, H, W)`` in ``[0, 1]``.
        labels: ``(N,)`` binary labels of a task.
    """
    if images.ndim != 4 or labels.shape != images.shape[:1]:
        raise ValueError(
            f"need (N, C, H, W) images and (N,) labels, got {tuple(images.shape)} and "
            f"{tuple(labels.shape)}"
        )
    fig, axes = plt.subplots(2, per_label, figsize=(per_label * 0.9, 2.2))
    for label in (0, 1):
        chosen = torch.nonzero(labels == label).squeeze(1)[:per_label]
        for ax, index in zip(axes[label], chosen.tolist(), strict=False):
            ax.imshow(images[index, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        for ax in axes[label]:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[label, 0].set_ylabel(f"label {label}", rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def agreement_strips(groups: Mapping[str, Mapping[str, Sequence[float]]], title: str) -> Figure:
    """Figure 1-center (chapter 8): every task's AS as a point, its kind's mean as a bar.

    Args:
        groups: ``{domain: {"human": (T_h,), "random": (T_r,)}}`` AS of each task.
    """
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    rng = np.random.default_rng(0)  # the points' horizontal jitter
    ticks = []
    for g, domain in enumerate(_by_kind("agreement_strips", groups)):
        for k, kind in enumerate(KINDS):
            x = 2.5 * g + k
            scores = np.asarray(groups[domain][kind])
            jitter = rng.uniform(-0.15, 0.15, len(scores))
            ax.scatter(x + jitter, scores, color=KIND_COLOURS[kind], s=18)
            ax.hlines(scores.mean(), x - 0.3, x + 0.3, color="k")
            ticks.append((x, f"{domain}\n{kind}"))
    _chance(ax)
    ax.set_xticks([t[0] for t in ticks], [t[1] for t in ticks], fontsize=8)
    ax.set_ylabel("agreement score (one pair per task)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def architecture_bars(groups: Mapping[str, Mapping[str, Sequence[float]]], title: str) -> Figure:
    """Figure 2-left (chapter 8): mean AS (bars) and its spread over tasks per architecture.

    Args:
        groups: ``{architecture: {"human": (T,), "random": (T,)}}`` AS of each task.
    """
    labels = _by_kind("architecture_bars", groups)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for k, kind in enumerate(KINDS):
        scores = [np.asarray(groups[label][kind]) for label in labels]
        ax.bar(
            np.arange(len(labels)) + 0.38 * k - 0.19,
            [s.mean() for s in scores],
            0.38,
            yerr=[s.std() for s in scores],
            color=KIND_COLOURS[kind],
            label=kind,
        )
    _chance(ax)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(0.4, 1.02)
    ax.set_ylabel("agreement score")
    ax.set_title(title)
    ax.legend()
    return fig


def size_curve(
    sizes: Sequence[int], scores: Mapping[str, Sequence[Sequence[float]]], title: str
) -> Figure:
    """Figure 2-center (chapter 8): mean AS and its spread against the training-set size.

    Args:
        sizes: ``(S,)`` training-set sizes ``N``.
        scores: ``{"human": S lists, "random": S lists}`` of the AS of each task at each size.
    """
    _by_kind("size_curve", {"scores": scores})
    for kind, per_size in scores.items():
        if len(per_size) != len(sizes):
            raise ValueError(f"size_curve: {len(per_size)} {kind} points for {len(sizes)} sizes")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for kind in KINDS:
        per_size = [np.asarray(values) for values in scores[kind]]
        ax.errorbar(
            list(sizes),
            np.array([values.mean() for values in per_size]),
            yerr=np.array([values.std() for values in per_size]),
            marker="o",
            capsize=3,
            color=KIND_COLOURS[kind],
            label=kind,
        )
    _chance(ax)
    ax.set_xscale("log")
    ax.set_xticks(list(sizes), [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training images N")
    ax.set_ylabel("agreement score")
    ax.set_title(title)
    ax.legend()
    return fig


def randomness_bars(groups: Mapping[str, Mapping[str, Sequence[float]]], title: str) -> Figure:
    """Figure 2-right (chapter 8): mean AS with each source of training randomness on or off.

    Args:
        groups: ``{setting: {"human": (T,), "random": (T,)}}`` AS of each task, top to bottom.
    """
    names = _by_kind("randomness_bars", groups)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for k, kind in enumerate(KINDS):
        means = [np.asarray(groups[name][kind]).mean() for name in names]
        ax.barh(
            np.arange(len(names)) + 0.38 * k - 0.19,
            means,
            0.38,
            color=KIND_COLOURS[kind],
            label=kind,
        )
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0.4, 1.01)
    ax.set_xlabel("agreement score")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def proposition1_bars(checks: Mapping[str, Proposition1], title: str) -> Figure:
    """Proposition 1 (appendix G; chapter 8): its four quantities for each ensemble.

    Args:
        checks: ``{kind: Proposition1}`` of each ensemble against its task's true test labels.
    """
    if not checks:
        raise ValueError("proposition1_bars: nothing to draw")
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(len(checks))
    parts = {
        "ACC(majority vote)": [c.accuracy_majority for c in checks.values()],
        "AS": [c.agreement for c in checks.values()],
        "ACC(true labels)": [c.accuracy_labels for c in checks.values()],
        "2 ACC(true labels) - 1": [c.lower_bound for c in checks.values()],
    }
    for i, (name, values) in enumerate(parts.items()):
        ax.bar(x + 0.2 * i - 0.3, values, 0.2, label=name)
    ax.set_xticks(x, [f"{kind}-labelled" for kind in checks])
    ax.set_ylabel("fraction of test images")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    return fig


def pixel_probe_accuracy(accuracy: Mapping[str, float], title: str) -> Figure:
    """The pixel task (§5.4; chapter 8): test accuracy on the test images and on each probe.

    Args:
        accuracy: ``{"test images": a, probe name: a, ...}``, the untouched images first and
            the images that keep only the pixel last (the two are coloured apart).
    """
    if len(accuracy) < 2:
        raise ValueError("pixel_probe_accuracy: need the test images and at least one probe")
    names = [textwrap.fill(name, 12) for name in accuracy]
    colours = ["tab:green"] + ["tab:grey"] * (len(accuracy) - 2) + ["tab:olive"]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(names, list(accuracy.values()), color=colours)
    _chance(ax)
    ax.set_ylabel("test accuracy (pixel rule)")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", labelsize=9)
    ax.set_title(title)
    return fig
