"""Chapter 10's figures draw what they are given and refuse what does not fit together."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from taskspace.agreement import adversarial_split
from taskspace.plotting.splits import (
    accuracy_against_difference,
    agreement_against_accuracy,
    split_accuracies,
    split_examples,
)


def test_split_examples_shows_each_group_with_its_share() -> None:
    target = torch.tensor([1, 0, 1, 0] * 10)
    spurious = torch.tensor([1, 0, 0, 1] * 10)
    images = (target * 2 + spurious).float().view(-1, 1, 1, 1).expand(-1, 1, 3, 3) / 3
    split = adversarial_split(target, spurious)
    fig = split_examples(images, target, spurious, split, per_group=3)
    rows = [fig.axes[row * 3] for row in range(4)]
    assert ["25 %" in ax.get_ylabel() for ax in rows] == [True] * 4
    # each row shows only images of its group: target 1 & spurious 1 -> value 3/3, and so on
    shown = [ax.get_images()[0].get_array()[0, 0] for ax in rows]
    assert shown == pytest.approx([1.0, 0.0, 2 / 3, 1 / 3])
    plt.close(fig)
    with pytest.raises(ValueError, match="same images"):
        split_examples(images[:5], target, spurious, split)


def test_split_accuracies_hatches_the_papers_bars() -> None:
    ours = {"Fashion binary": {"random": (0.8, 0.01), "adversarial": (0.45, 0.05)}}
    paper = {"CIFAR-10": {"random": (0.78, 0.04), "adversarial": (0.41, 0.10)}}
    fig = split_accuracies(ours, paper)
    ax = fig.axes[0]
    hatches = [patch.get_hatch() for patch in ax.patches]
    assert hatches == [None, "//", None, "//"]
    assert [patch.get_width() for patch in ax.patches] == pytest.approx([0.8, 0.78, 0.45, 0.41])
    plt.close(fig)
    with pytest.raises(ValueError, match="exactly"):
        split_accuracies({"x": {"random": (0.5, 0.0)}}, {})
    with pytest.raises(ValueError, match="both"):
        split_accuracies(paper, paper)


def test_scatter_figures_label_axes_and_refuse_ragged_points() -> None:
    points = {"human vs discovered": ([0.1, -0.2], [0.7, 0.3])}
    fig = accuracy_against_difference(points, rho=0.812)
    ax = fig.axes[0]
    assert "0.81" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)
    fig = agreement_against_accuracy({"adversarial": ([0.5], [0.9])})
    assert fig.axes[0].get_legend_handles_labels()[1][-1] == "adversarial"
    plt.close(fig)
    with pytest.raises(ValueError, match="2 x values but 1 y"):
        accuracy_against_difference({"bad": ([0.1, 0.2], [0.5])}, rho=0.0)
