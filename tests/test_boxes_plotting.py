"""Box figures draw what they are given and refuse what they cannot draw."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.patches import Rectangle

from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.plotting.boxes import box_figure, sources_containing_targets

LOW = torch.tensor([[0.0, 0.0], [0.2, 0.2], [2.0, 2.0], [0.1, 0.5]])
BOXES = Boxes(LOW, LOW + torch.tensor([[1.0, 1.0], [0.3, 0.3], [0.5, 0.5], [0.8, 0.8]]))
NAMES = ["outer", "inner", "far", "half"]


def test_box_figure_draws_every_box_and_labels_the_highlighted():
    fig = box_figure(BOXES, NAMES, groups=["a", "a", "b", "a"], highlight=["inner"], title="t")
    ax = fig.axes[0]
    assert sum(isinstance(p, Rectangle) for p in ax.patches) == 4
    assert [t.get_text() for t in ax.texts] == ["inner"]
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_box_figure_puts_the_legend_inside_outside_or_nowhere():
    groups = ["a", "a", "b", "a"]
    inside = box_figure(BOXES, NAMES, groups=groups).axes[0]
    assert inside.get_legend() is not None
    outside = box_figure(BOXES, NAMES, groups=groups, legend="outside").axes[0]
    renderer = outside.figure.canvas.get_renderer()
    frame = outside.get_window_extent(renderer)
    assert outside.get_legend().get_window_extent(renderer).x0 >= frame.x1  # right of the axes
    assert box_figure(BOXES, NAMES, groups=groups, legend="none").axes[0].get_legend() is None
    plt.close("all")


def test_sources_containing_targets_ranks_sources_by_overlap():
    fig = sources_containing_targets(BOXES, NAMES, ["inner"], overlap_matrix(BOXES), top=2)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels[0].startswith("outer") and labels[-1] == "target: inner"
    plt.close(fig)


def test_figures_refuse_bad_input():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        box_figure(Boxes(torch.zeros(2, 3), torch.ones(2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="highlighted"):
        box_figure(BOXES, NAMES, highlight=["nope"])
    with pytest.raises(ValueError, match="legend must be"):
        box_figure(BOXES, NAMES, legend="top")
    with pytest.raises(ValueError, match="unknown targets"):
        sources_containing_targets(BOXES, NAMES, ["nope"], overlap_matrix(BOXES))
