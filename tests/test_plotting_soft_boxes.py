"""Chapter 3's figures: each draws what it is given, labelled, and refuses mismatched input."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from taskspace.boxes.geometry import Boxes
from taskspace.boxes.sliding import sliding_square
from taskspace.plotting.soft_boxes import (
    learned_boxes_figure,
    loss_curves_figure,
    pull_figure,
    smoothing_figure,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_pull_figure_draws_one_curve_per_setting_in_both_panels() -> None:
    gaps = torch.linspace(-0.5, 1.0, 31, dtype=torch.float64)
    curves = {"hard": sliding_square(gaps, 0.0, 0.0), "soft": sliding_square(gaps, 0.1, 1e-4)}
    fig = pull_figure(gaps, curves)
    left, right = fig.axes
    assert [line.get_label() for line in left.lines] == ["hard", "soft"]
    assert np.allclose(left.lines[1].get_ydata(), curves["soft"][0].numpy())
    assert right.get_yscale() == "log"
    assert (right.lines[0].get_ydata() > 0).all()  # a zero pull is drawn at the floor
    with pytest.raises(ValueError, match="like gaps"):
        pull_figure(gaps[:5], curves)


def test_smoothing_figure_approaches_the_hard_versions() -> None:
    fig = smoothing_figure(points=101)
    left, right = fig.axes
    hard, *smooth = left.lines
    assert np.allclose(smooth[-1].get_ydata(), hard.get_ydata(), atol=1e-3)  # T_int = 1e-4
    assert len(right.lines) == 3 and right.get_title().startswith("Bessel")


def test_loss_curves_and_learned_boxes_draw_every_network() -> None:
    fig = loss_curves_figure(torch.rand(20, 2), ["a", "b"], ylabel="loss")
    assert [line.get_label() for line in fig.axes[0].lines] == ["a", "b"]
    with pytest.raises(ValueError, match=r"\(steps, 3\)"):
        loss_curves_figure(torch.rand(20, 2), ["a", "b", "c"], ylabel="loss")
    low = torch.rand(2, 3, 2)
    boxes = Boxes(low, low + 0.5)
    fig = learned_boxes_figure(
        boxes, ["x", "y", "z"], ["g", "g", "h"], ["x"], titles=["one", "two"]
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert "one" in titles and "two" in titles
    with pytest.raises(ValueError, match=r"\(3, N, 2\)"):
        learned_boxes_figure(boxes, ["x", "y", "z"], ["g", "g", "h"], ["x"], titles=["1", "2", "3"])
