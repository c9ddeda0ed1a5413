"""Chapter 8's figures draw what they are given and refuse what does not fit together."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from taskspace.agreement import proposition1
from taskspace.plotting.agreement import (
    agreement_strips,
    architecture_bars,
    pixel_probe_accuracy,
    proposition1_bars,
    randomness_bars,
    size_curve,
    task_examples,
)

KINDS = {"human": np.array([0.9, 0.85, 0.95]), "random": np.array([0.6, 0.7])}


def test_task_examples_puts_each_label_in_its_row() -> None:
    images = torch.arange(6.0).view(6, 1, 1, 1).expand(6, 1, 2, 2) / 6
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    fig = task_examples(images, labels, "a task", per_label=3)
    assert isinstance(fig, Figure) and fig.texts[0].get_text() == "a task"
    rows = [
        [ax.get_images()[0].get_array()[0, 0] for ax in fig.axes[r * 3 : r * 3 + 3]] for r in (0, 1)
    ]
    assert rows == [pytest.approx([0, 2 / 6, 5 / 6]), pytest.approx([1 / 6, 3 / 6, 4 / 6])]
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(N,\) labels"):
        task_examples(images, labels[:4], "a task")


def test_strips_draw_every_task_and_a_mean_per_kind() -> None:
    fig = agreement_strips({"A": KINDS, "B": KINDS}, "strips")
    ax = fig.axes[0]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in points] == [3, 2, 3, 2]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "A\nhuman",
        "A\nrandom",
        "B\nhuman",
        "B\nrandom",
    ]
    assert ax.get_title() == "strips"
    plt.close(fig)
    with pytest.raises(ValueError, match="expected"):
        agreement_strips({"A": {"random": KINDS["random"], "human": KINDS["human"]}}, "x")
    with pytest.raises(ValueError, match="nothing to draw"):
        agreement_strips({}, "x")


def test_bar_figures_show_the_means() -> None:
    fig = architecture_bars({"mlp": KINDS, "vit": KINDS}, "architectures")
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    assert heights == pytest.approx([0.9, 0.9, 0.65, 0.65])
    plt.close(fig)
    fig = randomness_bars({"all vary": KINDS, "all fixed": KINDS}, "randomness")
    widths = [patch.get_width() for patch in fig.axes[0].patches]
    assert widths == pytest.approx([0.9, 0.9, 0.65, 0.65])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["all vary", "all fixed"]
    plt.close(fig)


def test_size_curve_has_a_point_per_size() -> None:
    scores = {"human": [[0.9, 0.8], [0.95]], "random": [[0.7], [0.6, 0.62]]}
    fig = size_curve([50, 100], scores, "sizes")
    lines = fig.axes[0].get_lines()
    assert list(lines[0].get_xdata()) == [50, 100]
    assert list(lines[0].get_ydata()) == pytest.approx([0.85, 0.95])
    plt.close(fig)
    with pytest.raises(ValueError, match="for 3 sizes"):
        size_curve([50, 100, 200], scores, "sizes")


def test_proposition1_and_pixel_figures() -> None:
    predictions = torch.tensor([[0, 1, 1, 0], [0, 1, 0, 0]])
    check = proposition1(predictions, torch.tensor([0, 1, 1, 1]))
    fig = proposition1_bars({"human": check, "random": check}, "Proposition 1")
    assert len(fig.axes[0].patches) == 8
    assert fig.axes[0].get_legend_handles_labels()[1][1] == "AS"
    plt.close(fig)
    fig = pixel_probe_accuracy({"test images": 0.9, "pixel randomised": 0.5, "rest": 0.8}, "p")
    assert [p.get_height() for p in fig.axes[0].patches] == pytest.approx([0.9, 0.5, 0.8])
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one probe"):
        pixel_probe_accuracy({"test images": 0.9}, "p")
    with pytest.raises(ValueError, match="nothing to draw"):
        proposition1_bars({}, "p")
