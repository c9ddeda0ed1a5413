"""Box figures draw what they are given and refuse what they cannot draw."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.patches import Rectangle

from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.plotting.boxes import MIN_DRAWN, box_figure, box_panels, sources_containing_targets

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


def test_box_panels_draws_one_zoomed_panel_per_group_with_its_labels():
    fig = box_panels(BOXES, NAMES, ["a", "a", "b", "a"], columns=2)
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.texts] == ["outer", "inner", "half"]
    assert [t.get_text() for t in right.texts] == ["far"]
    assert all(sum(isinstance(p, Rectangle) for p in ax.patches) == 4 for ax in (left, right))
    assert right.get_xlim()[0] > 1.5  # zoomed to "far", which starts at 2
    with pytest.raises(ValueError, match="one label and one group"):
        box_panels(BOXES, NAMES, ["a"])
    plt.close(fig)


def test_box_panels_draws_slivers_at_a_visible_width():
    sliver = Boxes(
        torch.tensor([[0.0, 0.0], [0.5, 0.0]]), torch.tensor([[1.0, 1.0], [0.5001, 1.0]])
    )
    fig = box_panels(sliver, ["wide", "thin"], ["g", "g"])
    widths = sorted(p.get_width() for p in fig.axes[0].patches if isinstance(p, Rectangle))
    assert widths[0] == pytest.approx(MIN_DRAWN * 1.24)  # the panel spans 1 + 2 x 12 % margin
    assert widths[1] == pytest.approx(1.0)
    plt.close(fig)


def test_sources_containing_targets_quotes_drawn_overlap_and_true_rank():
    actual = torch.tensor(
        [[float("nan"), 0.1, 0.3, 0.2], [0.5, float("nan"), 0.1, 0.2], [0.1] * 4, [0.1] * 4]
    )
    fig = sources_containing_targets(
        BOXES, NAMES, ["inner"], overlap_matrix(BOXES), top=1, actual=actual
    )
    ax = fig.axes[0]
    label = ax.get_legend_handles_labels()[1][0]
    assert label.startswith("outer: d_box") and "(drawn 1.00)" in label  # inner lies in outer
    assert "true 0.500 (rank 1 of 3)" in label
    assert ax.get_title() == "inner: its 1 best sources by the map"
    plt.close(fig)
