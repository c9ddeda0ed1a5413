"""Chapter 6's tables and bar chart show what they are given and refuse what does not fit."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.container import BarContainer

from taskspace.plotting.baselines import (
    hierarchy_bars,
    hierarchy_table,
    taskonomy_table,
    threshold_table,
)

LABELS = {"boxes": "Task2Box (5-D)", "kl": "KL divergence", "random": "Random"}
METHODS = ("boxes", "kl", "random")
PAPER = {
    "boxes": (90.0, 88.0, 77.0, 79.0),
    "kl": (None, 5.5, None, 10.4),
    "random": (3.6, None, 5.0, None),
}


def constant(*f1: float, draws: int = 2) -> np.ndarray:
    """(draws, 3) F1 % equal to ``f1`` in every draw, plus/minus 1 so the std is 1."""
    return np.array(f1)[None, :] + np.array([[-1.0], [1.0]])[:draws]


def hierarchy_scores() -> dict[tuple[str, str], np.ndarray]:
    return {
        ("boxes", "mu"): constant(60.0, 40.0, 75.0),
        ("boxes", "mu_sigma2"): constant(61.0, 41.0, 76.0),
        ("kl", "mu_sigma2"): constant(30.0, 20.0, 25.0),
        ("random", "mu"): constant(5.0, 4.0, 3.0),
    }


def test_hierarchy_table_has_one_cell_per_protocol_and_representation() -> None:
    table = hierarchy_table(hierarchy_scores(), PAPER, LABELS, METHODS, caption="ImageNet")
    assert table.caption == "ImageNet"
    assert len(table.columns) == 1 + 3 * 2
    rows = {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    boxes = rows["Task2Box (5-D)"]
    assert boxes["held-out pairs, μ"] == "60.0 ± 1.0 (90.00)"
    assert boxes["held-out pairs, [μ, σ²]"] == "61.0 ± 1.0 (88.00)"
    # the paper scored novel datasets "inside existing" only: no paper number beside "both"
    assert boxes["novel, both directions, μ"] == "40.0 ± 1.0"
    assert boxes["novel inside existing, μ"] == "75.0 ± 1.0 (77.00)"
    assert rows["KL divergence"]["held-out pairs, μ"] == "–"
    assert rows["KL divergence"]["novel inside existing, [μ, σ²]"] == "25.0 ± 1.0 (10.40)"
    assert rows["Random"]["held-out pairs, [μ, σ²]"] == "–"
    assert "|" in table._repr_markdown_()


def test_hierarchy_table_refuses_mismatched_input() -> None:
    scores = hierarchy_scores()
    with pytest.raises(ValueError, match=r"\(R, 3\)"):
        hierarchy_table({**scores, ("kl", "mu"): np.zeros((2, 2))}, PAPER, LABELS, METHODS)
    with pytest.raises(ValueError, match="unknown representation"):
        hierarchy_table({**scores, ("kl", "fim"): np.zeros((2, 3))}, PAPER, LABELS, METHODS)
    with pytest.raises(ValueError, match="no paper numbers"):
        hierarchy_table(scores, {"boxes": PAPER["boxes"]}, LABELS, METHODS)
    with pytest.raises(ValueError, match="no label"):
        hierarchy_table(scores, PAPER, {"boxes": "Boxes"}, METHODS)
    with pytest.raises(ValueError, match="no scores for method 'mlp'"):
        hierarchy_table(scores, PAPER, {**LABELS, "mlp": "MLP"}, (*METHODS, "mlp"))


def test_threshold_table_sets_the_two_rules_side_by_side() -> None:
    grid = {("mlp", "mu"): constant(0.0, 0.0, 0.0)}
    anywhere = {("mlp", "mu"): constant(8.0, 4.0, 2.0)}
    table = threshold_table(grid, anywhere, {"mlp": "Linear"}, caption="ImageNet")
    assert table.caption == "ImageNet" and len(table.rows) == 1
    row = dict(zip(table.columns, table.rows[0], strict=True))
    assert row["representation"] == "μ"
    assert row["held-out pairs, grid 0.1–0.9"] == "0.0 ± 1.0"
    assert row["held-out pairs, any threshold"] == "8.0 ± 1.0"
    assert row["novel, both directions, any threshold"] == "4.0 ± 1.0"
    with pytest.raises(ValueError, match="no grid-threshold"):
        threshold_table({}, anywhere, {"mlp": "Linear"})


def test_taskonomy_table_shows_the_paper_beside_each_pooled_column() -> None:
    rho = {
        name: {
            "pooled_existing": np.array([0.9, 0.92]),
            "pooled_novel": np.array([0.5, 0.7]),
            "within_existing": np.array([0.4, np.nan]),  # a draw without a defined rho
            "within_novel": np.array([0.6, 0.6]),
        }
        for name in ("boxes", "additive")
    }
    paper = {"boxes": ((0.94, 0.03), (0.39, 0.22))}
    labels = {"boxes": "Task2Box", "additive": "Additive"}
    table = taskonomy_table(rho, paper, labels, ("boxes", "additive"))
    boxes, additive = (dict(zip(table.columns, row, strict=True)) for row in table.rows)
    assert boxes["pooled ρ, existing"] == "0.91 ± 0.01"
    assert boxes["paper, existing"] == "0.94 ± 0.03"
    assert boxes["paper, novel"] == "0.39 ± 0.22"
    assert boxes["within-target ρ, existing"] == "0.40 ± 0.00"
    assert additive["paper, novel"] == ""
    assert "2 draws" in table.caption
    with pytest.raises(ValueError, match="no Spearman scores"):
        taskonomy_table(rho, paper, {**labels, "mlp": "MLP"}, ("mlp",))
    with pytest.raises(ValueError, match="missing Spearman fields"):
        taskonomy_table({"boxes": {"pooled_existing": np.zeros(2)}}, paper, labels, ("boxes",))


def test_hierarchy_bars_draw_three_bars_per_method_and_paper_diamonds() -> None:
    scores = {"imagenet": hierarchy_scores(), "inat": hierarchy_scores()}
    paper = {"imagenet": PAPER, "inat": PAPER}
    titles = {"imagenet": "ImageNet", "inat": "iNaturalist"}
    fig = hierarchy_bars(scores, paper, LABELS, METHODS, titles)
    ax = fig.axes[0]
    assert ax.get_title() == "ImageNet"
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 3 and all(len(b) == len(METHODS) for b in bars)
    # each method on its first representation: the boxes on mu, the KL divergence on [mu, s2]
    assert [p.get_height() for p in bars[0]] == pytest.approx([60.0, 30.0, 5.0])
    assert [p.get_height() for p in bars[2]] == pytest.approx([75.0, 25.0, 3.0])
    diamonds = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert len(diamonds) == 2  # held-out and "novel inside existing", not "both directions"
    assert diamonds[0].get_ydata() == pytest.approx([90.0, 5.5, 3.6])
    assert diamonds[1].get_ydata() == pytest.approx([77.0, 10.4, 5.0])
    assert all(line.get_linestyle() == "None" for line in diamonds)
    # the error bars' caps are not diamonds: the paper's marks cannot be read as caps
    caps = [cap for bar in bars for cap in bar.errorbar.lines[1]]
    assert caps and all(cap.get_marker() != "D" for cap in caps)
    # one legend, for the figure, outside the panels; none inside a panel
    assert len(fig.legends) == 1 and all(a.get_legend() is None for a in fig.axes)
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names == ["held-out pairs", "novel, both directions", "novel inside existing", "paper"]
    plt.close(fig)
    with pytest.raises(ValueError, match="same experiments"):
        hierarchy_bars(scores, {"imagenet": PAPER}, LABELS, METHODS, titles)
    with pytest.raises(ValueError, match=r"\(R, 3\)"):
        bad = {**scores, "inat": {("boxes", "mu"): np.zeros((2, 4))}}
        hierarchy_bars(bad, paper, LABELS, ("boxes",), titles)
