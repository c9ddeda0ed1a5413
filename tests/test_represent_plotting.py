"""Figures of chapter 2: the projection they use, and that each figure is drawn with its labels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from taskspace.plotting.represent import (
    MapPanel,
    mean_and_spread,
    neighbour_grid,
    pca,
    representation_maps,
    similarity_by_relation,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_pca_is_linear_centred_and_deterministic() -> None:
    x = torch.randn(30, 6, generator=torch.Generator().manual_seed(0))
    coords = pca(x)
    assert coords.shape == (30, 2)
    assert torch.allclose(coords.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-12)
    # the projection of a mean is the mean of the projections (the centroid argument of chapter 2)
    middle = pca(x[:3].mean(0, keepdim=True), fit_on=x)
    assert torch.allclose(middle[0], coords[:3].mean(0), atol=1e-12)
    # first axis carries the most variance, and the result does not depend on the sign of SVD
    assert coords[:, 0].var() >= coords[:, 1].var()
    assert torch.allclose(pca(x.flip(0)).flip(0), coords, atol=1e-10)


def test_figures_are_drawn_with_labels() -> None:
    images = torch.rand(2, 1, 8, 8)
    fig = neighbour_grid(
        images,
        torch.rand(2, 3, 1, 8, 8),
        torch.tensor([0, 1]),
        torch.tensor([[0, 1, 0], [1, 1, 0]]),
        ("a", "b"),
        torch.rand(2, 3),
        title="neighbours",
    )
    assert len(fig.axes) == 8 and fig.axes[0].get_ylabel() == "a"

    points = torch.randn(12, 2)
    groups = torch.arange(3).repeat(4)
    fig = mean_and_spread(
        points,
        groups,
        ["x", "y", "z"],
        torch.randn(4, 2),
        torch.rand(4, 2),
        ["x", "y", "z", "all"],
        title="spread",
    )
    ax = fig.axes[0]
    assert ax.get_xlabel() == "principal component 1" and len(ax.patches) == 4

    panels = [
        MapPanel("with sizes", torch.randn(5, 4), list("abcde"), [(0, 1)], torch.arange(5), ["a"]),
        MapPanel("plain", torch.randn(4, 3), list("wxyz")),
    ]
    fig = representation_maps(panels)
    titles = [a.get_title() for a in fig.axes]
    assert "with sizes" in titles and "plain" in titles

    fig = similarity_by_relation({"mu": {"nested": 0.9, "unrelated": 0.7}, "t2v": {"nested": 0.5}})
    assert fig.axes[0].get_ylabel() == "mean cosine similarity"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["nested", "unrelated"]
