"""Chapter 9's figures draw what they are given and refuse what does not fit together."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from taskspace.plotting.discovery import (
    agreement_by_kind,
    closeness_histograms,
    confident_examples,
    cross_architecture,
    discovery_history,
    lambda_tradeoff,
    meta_gradient_costs,
    proxy_against_agreement,
    similarity_matrices,
)


def test_proxy_figure_has_one_series_per_kind_and_states_rho():
    proxy = {"human": torch.rand(3), "random": torch.rand(2)}
    full = {"human": torch.rand(3), "random": torch.rand(2)}
    fig = proxy_against_agreement(proxy, full, rho=0.875)
    ax = fig.axes[0]
    assert ax.get_legend_handles_labels()[1] == ["human", "random"]
    assert "0.88" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="different number"):
        proxy_against_agreement(proxy, {"human": torch.rand(3), "random": torch.rand(3)}, 0.5)


def test_confident_examples_puts_the_extreme_scores_at_the_ends():
    images = torch.arange(12.0).view(12, 1, 1, 1).expand(12, 1, 2, 2) / 12
    scores = torch.stack([torch.arange(12.0), -torch.arange(12.0)])
    fig = confident_examples(images, scores, ["up", "down"], per_side=2)
    axes = fig.axes
    first_row = [ax.get_images()[0].get_array()[0, 0] for ax in axes[:5] if ax.get_images()]
    assert first_row == pytest.approx([0.0, 1 / 12, 11 / 12, 10 / 12])
    plt.close(fig)
    with pytest.raises(ValueError, match=r"\(T, N\)"):
        confident_examples(images, scores[:, :5], ["up", "down"])


def test_other_figures_draw_and_label_their_axes():
    figures = [
        agreement_by_kind({"human": torch.rand(3), "random": torch.rand(2)}, {"paper": 0.9}),
        closeness_histograms({"discovered": torch.rand(5) / 2 + 0.5}, "similarity"),
        discovery_history({"proxy": torch.rand(30), "uniformity": torch.rand(30)}),
        similarity_matrices({"a": torch.eye(3) * 0.5 + 0.5, "b": torch.ones(3, 3)}),
        cross_architecture({"human": (torch.rand(2), torch.rand(2))}, ("mlp", "cnn")),
        lambda_tradeoff([0, 5], [0.9, 0.6], [0.95, 0.9], [0.01, 0.02], {"human": 0.9}),
        meta_gradient_costs(
            [
                {"strategy": s, "inner_steps": k, "seconds": 1.0, "peak_mb": 2.0 * k}
                for s in ("higher", "recompute")
                for k in (10, 50)
            ]
        ),
    ]
    for fig in figures:
        assert all(ax.get_xlabel() for ax in fig.axes if ax.get_label() != "<colorbar>")
        plt.close(fig)
    with pytest.raises(ValueError, match="same length"):
        lambda_tradeoff([0, 5], [0.9], [0.95, 0.9], [0.01, 0.02], {})
    with pytest.raises(ValueError, match="AS values"):
        cross_architecture({"human": (torch.rand(2), torch.rand(3))}, ("mlp", "cnn"))
