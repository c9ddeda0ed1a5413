"""Chapter 2's datasets as sets of classes: the sets, their relations, statistics and the
superset geometry, each against a hand-made case or a direct computation."""

from __future__ import annotations

import math

import pytest
import torch

from taskspace.data.images import DIGIT_CLASSES, FASHION_MNIST_CLASSES
from taskspace.represent.class_sets import (
    FASHION_GROUPS,
    MNIST_GROUPS,
    TASK2VEC_SETS,
    class_sets,
    covers,
    nested_vs_unrelated,
    pool_statistics,
    relations,
    superset_geometry,
    task2vec_of_class_sets,
)
from taskspace.represent.distances import nearest_neighbour_accuracy, nearest_others
from taskspace.represent.statistics import Moments, embedding_statistics
from taskspace.represent.task2vec import HeadTraining, Probe


def test_class_sets_are_every_small_set_then_the_groups() -> None:
    sets = class_sets(("a", "b", "c", "d"), {"ab": ("a", "b"), "all": ("a", "b", "c", "d")})
    assert len(sets) == 4 + 6 + 4 + 2
    assert sets["a+c"] == frozenset({0, 2}) and sets["b+c+d"] == frozenset({1, 2, 3})
    assert list(sets)[-2:] == ["ab", "all"] and sets["all"] == frozenset(range(4))
    with pytest.raises(ValueError, match=r"\['z'\] are not among"):
        class_sets(("a", "b"), {"bad": ("a", "z")})


def test_chapter_groups_name_real_classes() -> None:
    fashion = class_sets(FASHION_MNIST_CLASSES, FASHION_GROUPS)
    digits = class_sets(DIGIT_CLASSES, MNIST_GROUPS)
    assert len(fashion) == 10 + 45 + 120 + len(FASHION_GROUPS)
    assert fashion["all fashion"] == frozenset(range(10)) == digits["all digits"]
    assert fashion["footwear"] < fashion["all fashion"]
    assert len(TASK2VEC_SETS) == 16 and all(len(m) >= 2 for _, m in TASK2VEC_SETS)
    assert all(set(m) <= set(FASHION_MNIST_CLASSES) for _, m in TASK2VEC_SETS)


def test_relations_and_covers() -> None:
    sets = [frozenset({0}), frozenset({0, 1}), frozenset({0, 1, 2}), frozenset({3})]
    nested, unrelated = relations(sets)
    assert nested.tolist() == [
        [False, True, True, False],
        [True, False, True, False],
        [True, True, False, False],
        [False, False, False, False],
    ]
    assert unrelated[3, :3].all() and not unrelated[0, 1]
    assert torch.equal(nested, nested.T) and torch.equal(unrelated, unrelated.T)
    assert covers(sets) == [(0, 1), (1, 2)]  # {0} lies in {0, 1, 2} only through {0, 1}


def test_nested_vs_unrelated_averages_the_cosine_over_each_mask() -> None:
    vectors = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    nested = torch.tensor([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.bool)
    unrelated = torch.tensor([[0, 0, 1], [0, 0, 0], [1, 0, 0]], dtype=torch.bool)
    pair = nested_vs_unrelated(vectors, nested, unrelated)
    assert pair["nested"] == pytest.approx(1 / math.sqrt(2))
    assert pair["unrelated"] == pytest.approx(0.0)


def test_pool_statistics_equal_the_statistics_of_each_subset() -> None:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(12) % 3
    images = torch.randn(12, 4, generator=generator, dtype=torch.float64)
    text = torch.randn(3, 2, generator=generator, dtype=torch.float64)
    sets = {"0": frozenset({0}), "1+2": frozenset({1, 2})}
    stats = pool_statistics(images, labels, text, sets)
    assert stats.mean.shape == (2, 6)
    rows = labels != 0
    alone = embedding_statistics(images[rows], labels[rows], text)
    assert torch.allclose(stats.mean[1], alone.mean) and torch.allclose(
        stats.variance[1], alone.variance
    )


def test_superset_geometry_on_two_classes_far_apart() -> None:
    # classes 0 and 1 at -1 and +1 with spread 0.1: the union's mean 0 lies outside both boxes
    mean = torch.tensor([[-1.0], [1.0], [0.0]], dtype=torch.float64)
    variance = torch.tensor([[0.01], [0.01], [1.01]], dtype=torch.float64)
    sets = {"a": frozenset({0}), "b": frozenset({1}), "ab": frozenset({0, 1})}
    geometry = superset_geometry(Moments(torch.tensor([5, 5, 10]), mean, variance), sets, ["ab"])
    assert geometry["superset_mean_outside_subset_box"] == 1.0
    assert geometry["fraction_of_dims_outside"] == 1.0
    assert geometry["variance_ratio_min"] == pytest.approx(101.0)
    assert geometry["centroid_gap_max"] == 0.0


def test_nearest_others_leave_each_row_out() -> None:
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    similarity, index = nearest_others(vectors, k=1)
    assert index[:, 0].tolist() == [1, 0, 3, 2]
    assert (similarity < 1.0 + 1e-6).all()
    labels = torch.tensor([0, 0, 1, 2])
    assert nearest_neighbour_accuracy(vectors, labels).item() == 0.5
    with pytest.raises(ValueError, match="k must be between"):
        nearest_others(vectors, k=4)


def test_task2vec_of_class_sets_relabels_each_set() -> None:
    seen = []

    class Recorder(Probe):
        pass

    def fake_task2vec(probe, images, labels, seed, features, max_samples, training):
        seen.append((len(images), sorted(labels.unique().tolist()), features.shape))
        return torch.full((3,), float(len(images)), dtype=torch.float64)

    import taskspace.represent.class_sets as module

    original = module.task2vec
    module.task2vec = fake_task2vec
    try:
        labels = torch.tensor([0, 1, 2, 0, 1, 2])
        out = task2vec_of_class_sets(
            None,  # type: ignore[arg-type]
            torch.rand(6, 1, 4, 4),
            labels,
            ("x", "y", "z"),
            [("z+x", ("z", "x")), ("all", ("x", "y", "z"))],
            features=torch.rand(6, 5),
            training=HeadTraining(epochs=1),
        )
    finally:
        module.task2vec = original
    assert out.shape == (2, 3) and out[:, 0].tolist() == [4.0, 6.0]
    assert seen == [(4, [0, 1], (4, 5)), (6, [0, 1, 2], (6, 5))]
