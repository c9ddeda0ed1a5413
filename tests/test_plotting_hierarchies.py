"""Chapter 4's figures and tables show what they are given and refuse what does not fit."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle

from taskspace.boxes.evaluate import PROTOCOLS
from taskspace.boxes.geometry import Boxes
from taskspace.boxes.train import History
from taskspace.hierarchies import ContainmentScores
from taskspace.plotting.hierarchies import (
    dimension_figure,
    loss_curves,
    neighbourhood_figure,
    paper_comparison_table,
    parent_child_boxes,
    protocol_figure,
    protocol_table,
    sensitivity_table,
    threshold_curves,
)

SHOWN = ("held_out", "authors_transposed", "novel_both", "novel_into_existing")
PAPER = {
    "a": {("mu", "existing"): {2: 60.0, 5: 90.0}, ("mu", "novel"): {2: 40.0, 5: 70.0}},
    "b": {("mu", "existing"): {5: 80.0}, ("mu", "novel"): {5: 50.0}},
}


def scores(f1: list[float], threshold: float = 0.2) -> ContainmentScores:
    """Scores of ``len(f1)`` draws with the same F1 under every protocol."""
    r = len(f1)
    values = torch.tensor(f1, dtype=torch.float64)
    return ContainmentScores(
        threshold=torch.full((r,), threshold, dtype=torch.float64),
        f1={p: values for p in PROTOCOLS},
        threshold_transposed=torch.full((r,), threshold, dtype=torch.float64),
        recall_transitive=values,
        recall_non_transitive=values,
        count_transitive=torch.ones(r, dtype=torch.long),
        count_non_transitive=torch.ones(r, dtype=torch.long),
        predicted=torch.zeros(r, 2, 2, dtype=torch.bool),
    )


def history(draws: int, steps: int = 6) -> History:
    """A batch of ``draws + 1`` networks, validated every 2 steps, best at step 4."""
    h = History()
    h.losses["total"] = [[1.0 / (s + 1)] * (draws + 1) for s in range(steps)]
    h.validation_steps = [2, 4, 6]
    h.validation_error = [[0.3] * (draws + 1), [0.1] * (draws + 1), [0.2] * (draws + 1)]
    h.best_step = [4] * (draws + 1)
    return h


def test_loss_curves_shows_the_first_draws_and_their_best_steps() -> None:
    fig = loss_curves({"a": history(2), "b": history(2)}, draws=2, labels={"a": "A", "b": "B"})
    top, bottom = fig.axes[0], fig.axes[1]  # one row per experiment: loss, validation error
    assert [fig.axes[i].get_title(loc="left") for i in (0, 2)] == ["A", "B"]
    assert top.get_lines()[0].get_ydata().tolist() == pytest.approx([1 / (s + 1) for s in range(6)])
    lines = bottom.get_lines()  # per draw: the curve, then the dot at its best step
    assert len(lines) == 4
    assert lines[1].get_xdata().tolist() == [4]
    assert lines[1].get_ydata().tolist() == pytest.approx([0.1])
    plt.close(fig)
    with pytest.raises(ValueError, match="label"):
        loss_curves({"a": history(2)}, draws=2, labels={})
    with pytest.raises(ValueError, match="at least 5"):
        loss_curves({"a": history(2)}, draws=5, labels={"a": "A"})


def test_paper_comparison_table_puts_the_papers_values_beside_ours() -> None:
    table = paper_comparison_table(
        {("a", "mu", 2): scores([0.2, 0.4]), ("a", "half", 5): scores([0.5, 0.5], 0.3)}, PAPER
    )
    assert table.columns[:4] == ("experiment", "boxes", "existing (%)", "paper, existing")
    assert table.rows[0] == (
        "a",
        "2-D, mu",
        "30.00 ± 10.00",
        "60.00",
        "30.00 ± 10.00",
        "40.00",
        "0.20",
    )
    assert table.rows[1][1:4] == ("5-D, mu, 50 % pairs", "50.00 ± 0.00", "–")
    with pytest.raises(ValueError, match="paper values"):
        paper_comparison_table({("c", "mu", 2): scores([0.1])}, PAPER)
    with pytest.raises(ValueError, match="unknown kinds"):
        paper_comparison_table({("a", "sigma", 2): scores([0.1])}, PAPER)


def test_protocol_table_and_figure_show_every_protocol_with_the_paper() -> None:
    given = {"a": scores([0.5, 0.7]), "b": scores([0.1, 0.1])}
    paper = {name: {p: PAPER[name][("mu", "existing")][5] for p in SHOWN} for name in given}
    labels = {"a": "first", "b": "second"}
    table = protocol_table(given, paper, labels, SHOWN)
    assert table.columns == ("experiment", *(p.replace("_", " ") for p in SHOWN))
    assert table.rows[0] == ("first", *["60.0 ± 10.0 (90.00)"] * 4)
    assert table.rows[1][1] == "10.0 ± 0.0 (80.00)"
    fig = protocol_figure(given, paper, labels, SHOWN)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 8
    assert [b.get_height() for b in bars[:2]] == pytest.approx([60.0, 10.0])
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    marks = np.concatenate([c.get_offsets()[:, 1] for c in points])
    assert sorted(set(marks.tolist())) == [80.0, 90.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["first", "second"]
    plt.close(fig)
    with pytest.raises(ValueError, match="paper value of a"):
        protocol_table(given, {"a": {}, "b": paper["b"]}, labels, SHOWN)
    with pytest.raises(ValueError, match="1 to 4"):
        protocol_figure(given, paper, labels, [*SHOWN, "held_out"])


def test_threshold_curves_draw_the_mean_over_draws_per_part() -> None:
    thresholds = [0.1, 0.2, 0.3]
    curves = {"a": {"validation": torch.tensor([[0.2, 0.4, 0.0], [0.4, 0.6, 0.0]])}}
    fig = threshold_curves(curves, thresholds, {"a": "A"})
    line = fig.axes[0].get_lines()[0]
    assert line.get_ydata().tolist() == pytest.approx([30.0, 50.0, 0.0])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["validation pairs"]
    plt.close(fig)
    with pytest.raises(ValueError, match=r"need \(R, 3\)"):
        threshold_curves({"a": {"test": torch.zeros(2, 4)}}, thresholds, {"a": "A"})


def test_sensitivity_table_lists_the_shift_of_every_perturbation() -> None:
    table = sensitivity_table(
        {"a": scores([0.5, 0.7])},
        {("a", "held_out"): torch.tensor([7.42, -1.04])},
        {"a": "first"},
    )
    assert table.rows == (("first", "held out", "60.0 ± 10.0", "+7.4, -1.0"),)
    with pytest.raises(ValueError, match="scores"):
        sensitivity_table({}, {("a", "held_out"): torch.zeros(1)}, {"a": "first"})


def test_dimension_figure_draws_ours_and_the_papers_per_part() -> None:
    given = {"a": {2: scores([0.2, 0.4]), 5: scores([0.8, 0.8])}, "b": {5: scores([0.1])}}
    fig = dimension_figure(given, PAPER)
    existing, novel = fig.axes[:2]
    ours = next(c for c in existing.containers if c.get_label() == "a, here").lines[0]
    paper = next(line for line in existing.get_lines() if line.get_label() == "a, paper")
    assert ours.get_xdata().tolist() == [2, 5]
    assert ours.get_ydata().tolist() == pytest.approx([30.0, 80.0])
    assert paper.get_ydata().tolist() == [60.0, 90.0]
    assert [t.get_text() for t in existing.get_xticklabels()] == ["2", "5"]
    assert "novel" in novel.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="paper values"):
        dimension_figure({"c": {2: scores([0.1])}}, PAPER)


def test_parent_child_boxes_draws_one_panel_per_experiment_and_kind() -> None:
    boxes = Boxes(torch.tensor([[0.0, 0.0], [0.2, 0.2]]), torch.tensor([[1.0, 1.0], [0.5, 0.5]]))
    given = {(name, what): boxes for name in ("a", "b") for what in ("model", "map")}
    names = {"a": ["parent", "child"], "b": ["p", "c"]}
    groups = {"a": ["parent", "parent"], "b": ["p", "p"]}
    fig = parent_child_boxes(given, names, groups, heads={"a": ["parent"], "b": ["p"]})
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title() == "a: 2 datasets as 2-D boxes, model"
    assert fig.axes[3].get_title() == "b: 2 datasets as 2-D boxes, map"
    assert len(fig.axes[0].patches) == 2
    legend = fig.axes[0].get_legend()  # beside the panel, not over its boxes
    assert legend.get_bbox_to_anchor().x0 > fig.axes[0].get_window_extent().x1
    plt.close(fig)
    with pytest.raises(ValueError, match="same kinds"):
        parent_child_boxes({("a", "model"): boxes, ("b", "map"): boxes}, names, groups, names)
    with pytest.raises(ValueError, match="heads"):
        parent_child_boxes(given, names, groups, {"a": ["parent"]})


def test_neighbourhood_figure_draws_three_curves_per_panel() -> None:
    curves = {"a": (torch.tensor([1.0, 1.5]), torch.tensor([0.5, 0.7]), torch.tensor([1.0, 1.0]))}
    fig = neighbourhood_figure(curves)
    ax, twin = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == [
        "box centres, m nearest in the taxonomy",
        "box centres, m random datasets",
    ]
    assert twin.get_lines()[0].get_ydata().tolist() == pytest.approx([1.0, 1.5])
    assert len(ax.get_legend().get_texts()) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="differ in length"):
        neighbourhood_figure({"a": (torch.zeros(2), torch.zeros(3), torch.zeros(2))})
