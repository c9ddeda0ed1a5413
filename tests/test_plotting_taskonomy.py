"""Chapter 5's figures and tables: task styles name every task by one (colour, marker) pair,
tables put the paper beside ours, figures draw what they are given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from taskspace.affinities import AffinityExperiment, affinity_splits
from taskspace.boxes.train import History
from taskspace.plotting.taskonomy import (
    LEFT_OUT,
    MARKERS,
    ablation_table,
    affinity_histograms,
    best_sources_table,
    pooled_scatter,
    sensitivity_table,
    spearman_bars,
    spearman_table,
    task_styles,
    training_curves,
)

NAMES = ["a", "b", "c", "d", "e"]
GROUPS = ["x", "y", "x", "y", "x"]


def test_task_styles_share_colours_within_groups_and_never_repeat_a_pair():
    styles = task_styles(NAMES, GROUPS)
    assert list(styles) == ["a", "c", "e", "b", "d"]  # grouped, in order of first appearance
    assert styles["a"]["color"] == styles["c"]["color"] == styles["e"]["color"]
    assert styles["a"]["color"] != styles["b"]["color"]
    pairs = {(s["color"], s["marker"]) for s in styles.values()}
    assert len(pairs) == len(NAMES)
    assert [styles[n]["marker"] for n in ("a", "c", "e")] == list(MARKERS[:3])


def test_task_styles_refuse_what_they_cannot_tell_apart():
    with pytest.raises(ValueError, match="distinct"):
        task_styles(["a", "a"], ["x", "x"])
    with pytest.raises(ValueError, match="more than the markers"):
        names = [str(i) for i in range(len(MARKERS) + 1)]
        task_styles(names, ["x"] * len(names))
    with pytest.raises(ValueError, match="at most 10 groups"):
        task_styles([str(i) for i in range(11)], [str(i) for i in range(11)])


def draws(*pooled: float) -> dict[str, np.ndarray]:
    """Scores of len(pooled) draws; the within-target ones of draw 0 undefined (NaN)."""
    values = np.array(pooled)
    within = values - 0.4
    within[0] = np.nan
    return {
        "pooled_existing": values,
        "pooled_novel": values - 0.3,
        "within_existing": within,
        "within_novel": within,
        "rows_existing": np.full(len(values), 7),
        "rows_novel": np.full(len(values), 2),
    }


PAPER = {2: ((0.85, 0.06), (0.12, 0.21)), 5: ((0.94, 0.03), (0.39, 0.22))}


def tiny_experiment() -> AffinityExperiment:
    affinity = torch.arange(16, dtype=torch.float64).reshape(4, 4) / 1000 + 0.001
    affinity.fill_diagonal_(torch.nan)
    return AffinityExperiment(("a", "b", "c", "d"), affinity, torch.eye(4), rescale_k=50)


def test_spearman_table_and_bars_put_the_paper_beside_ours() -> None:
    scores = {2: draws(0.8, 0.9), 5: draws(0.7, 0.9)}
    table = spearman_table(scores, PAPER)
    text = str(table)
    assert "0.85 ± 0.05" in text and "0.94 ± 0.03" in text and "0.50 ± 0.00" in text
    fig = spearman_bars(scores, PAPER)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == pytest.approx([0.85, 0.94, 0.85, 0.8, 0.5, 0.5])  # paper, pooled, within
    plt.close(fig)


def test_ablation_table_names_each_left_out_term() -> None:
    table = ablation_table(
        {"all": draws(0.8, 0.9), "no_overlap": draws(0.1, 0.2)}, {"all": 0.94, "no_overlap": 0.26}
    )
    assert LEFT_OUT["no_overlap"] in str(table) and "0.26" in str(table)
    with pytest.raises(ValueError, match="unknown loss variant"):
        ablation_table({"no_such": draws(0.1, 0.2)}, {"no_such": 0.0})


def test_sensitivity_table_lists_each_shift() -> None:
    table = sensitivity_table({5: draws(0.5, 0.7)}, {5: [draws(0.6, 0.8)]}, ["pooled_existing"])
    assert "+0.100" in str(table) and "pooled, existing" in str(table)


def test_training_curves_mark_the_kept_step() -> None:
    history = History(
        losses={"total": [[1.0, 2.0], [0.5, 1.0], [0.8, 0.4]]},
        validation_steps=[1, 3],
        validation_error=[[0.3, 0.2], [0.1, 0.4]],
        best_step=[3, 1],
    )
    fig = training_curves(history, members=2)
    dots = [line for line in fig.axes[1].lines if line.get_marker() == "o"]
    kept = [(float(d.get_xdata()[0]), float(d.get_ydata()[0])) for d in dots]
    assert np.allclose(kept, [(3, 0.1), (1, 0.2)])
    plt.close(fig)


def test_histograms_and_scatter_draw_every_known_pair() -> None:
    experiment = tiny_experiment()
    fig = affinity_histograms(experiment.affinity[experiment.known], 50)
    assert sum(bar.get_height() for bar in fig.axes[0].patches) == 12
    plt.close(fig)
    split = affinity_splits(experiment, draws=1, novel=1, fractions=(0.2, 0.1, 0.7))[0]
    fig = pooled_scatter(
        experiment, experiment.affinity.nan_to_num(0.0), split, ["x", "x", "y", "y"]
    )
    drawn = sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections)
    assert drawn == int(split.test.sum() + split.novel_pairs.sum())
    assert "pooled ρ = 1.00" in fig.axes[0].get_title()
    plt.close(fig)


def test_best_sources_table_lists_true_and_predicted_sources() -> None:
    experiment = tiny_experiment()
    overlap = torch.tensor([[0.0, 0.1, 0.9, 0.5]]).expand(4, 4)
    text = str(best_sources_table(experiment, overlap, torch.zeros(4), ["a"], top=2))
    assert "d 0.004, c 0.003" in text  # a's true best sources: d, then c
    assert "c 0.90, d 0.50" in text
    with pytest.raises(ValueError, match="unknown task"):
        best_sources_table(experiment, overlap, torch.zeros(4), ["z"])
