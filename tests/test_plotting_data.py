"""Figures of chapter 1: a labelling strip, a containment matrix, the sizes of taxa."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from taskspace.data.images import ImageDataset
from taskspace.data.taxonomy import Taxonomy
from taskspace.plotting import containment_figure, labelling_strip, taxon_sizes_figure


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def small_dataset(n: int = 6) -> ImageDataset:
    labels = torch.arange(n) % 2
    return ImageDataset(torch.rand(n, 1, 4, 4), labels, ("a", "b"), name="toy")


def test_labelling_strip_titles_each_image_by_its_label() -> None:
    data = small_dataset()
    labels = torch.tensor([1, 0, 0, 1, 1, 0])
    fig = labelling_strip(data, labels, "a task", n=4)
    assert [ax.get_title() for ax in fig.axes] == ["1", "0", "0", "1"]
    frames = [ax.spines["top"].get_edgecolor() for ax in fig.axes]
    assert frames[0] == frames[3] != frames[1]
    with pytest.raises(ValueError, match="one per image"):
        labelling_strip(data, labels[:3], "short")
    with pytest.raises(ValueError, match="n must be between"):
        labelling_strip(data, labels, "too many", n=7)


def test_containment_figure_puts_every_mark_below_the_diagonal() -> None:
    tree = Taxonomy.from_edges([("c", "b"), ("r", "a"), ("r", "c"), ("a", "x")])
    fig = containment_figure(tree)
    drawn = np.asarray(fig.axes[0].images[0].get_array())
    assert drawn.sum() == int(tree.containment_matrix().sum())
    assert np.triu(drawn).sum() == 0  # shallow to deep: an ancestor comes before its descendants
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "r" and set(labels) == set(tree.ids)


def test_taxon_sizes_figure_draws_the_roots_with_most_leaves() -> None:
    edges = [("A", "a1"), ("A", "a2"), ("B", "b1"), ("C", "c1")]
    leaf_sets = {"a1": ["s1", "s2"], "a2": ["s3"], "b1": ["s4"], "c1": ["s5", "s6", "s7", "s8"]}
    tax = Taxonomy.from_edges(edges, leaf_sets=leaf_sets)
    fig = taxon_sizes_figure(tax, top=2)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["C", "A"]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [4, 3, 1, 2]  # species of C and A, then their orders
