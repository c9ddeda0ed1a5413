"""Chapter 2's tables and map panels, and the encoder throughput it reports."""

from __future__ import annotations

import pytest
import torch

from taskspace.data.taxonomy import Taxonomy
from taskspace.plotting.represent import MapPanel, nearest_nodes_table, prototype_table
from taskspace.represent.encoders import images_per_second


def test_prototype_table_lists_both_top_k_and_their_shared_share() -> None:
    by_prototype = torch.tensor([[0, 1], [2, 3]])
    by_prediction = torch.tensor([[1, 0], [3, 4]])
    table, agreement = prototype_table(by_prototype, by_prediction, ["a", "b"], list("vwxyz"))
    assert agreement == pytest.approx(3 / 4)
    assert table.rows[0] == ("a", "v, w", "w, v")
    assert table.rows[1] == ("b", "x, y", "y, z")
    with pytest.raises(ValueError, match="index tensors"):
        prototype_table(by_prototype, by_prediction[:1], ["a", "b"], list("vwxyz"))


def test_nearest_nodes_table_names_each_relation() -> None:
    tree = Taxonomy.from_edges([("r", "a"), ("r", "b"), ("a", "a1"), ("a", "a2"), ("b", "b1")])
    order = {node: i for i, node in enumerate(tree.ids)}
    similarity = torch.eye(len(tree))
    a = order["a"]
    for node, value in (("r", 0.9), ("a1", 0.8), ("b1", 0.7), ("b", 0.6)):
        similarity[a, order[node]] = value
    table = nearest_nodes_table(tree, similarity, ["a"], k=4)
    assert [row[1:] for row in table.rows] == [
        ("r", "0.900", "its ancestor"),
        ("a1", "0.800", "its descendant"),
        ("b1", "0.700", "unrelated"),
        ("b", "0.600", "unrelated"),
    ]
    assert table.rows[0][0] == "a (2 classes)"
    with pytest.raises(ValueError, match="similarity must be"):
        nearest_nodes_table(tree, similarity[:2], ["a"])


def test_map_panels_of_sets_and_of_a_taxonomy() -> None:
    sets = {"x": frozenset({0}), "xy": frozenset({0, 1}), "xyz": frozenset({0, 1, 2})}
    panel = MapPanel.of_class_sets("sets", torch.rand(3, 4), sets, labelled=["xyz"])
    assert panel.inside == [(0, 1), (1, 2)] and panel.sizes.tolist() == [1, 2, 3]
    tree = Taxonomy.from_edges([("r", "a"), ("r", "b")])
    panel = MapPanel.of_taxonomy("tree", torch.rand(3, 4), tree)
    assert sorted(panel.inside) == [(tree.index("a"), 0), (tree.index("b"), 0)]
    assert panel.sizes.tolist() == tree.leaf_counts.tolist()


class _SlowEncoder:
    def __init__(self, cache: object = None) -> None:
        self.cache = cache
        self.calls: list[int] = []

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(images))
        return images.flatten(1)


def test_images_per_second_warms_up_then_times_every_image() -> None:
    encoder = _SlowEncoder()
    speed = images_per_second(encoder, torch.rand(8, 1, 4, 4))  # type: ignore[arg-type]
    assert encoder.calls == [2, 8] and speed > 0
    with pytest.raises(ValueError, match="cache=None"):
        images_per_second(_SlowEncoder(cache="disk"), torch.rand(8, 1, 4, 4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="more than 2 images"):
        images_per_second(encoder, torch.rand(2, 1, 4, 4))  # type: ignore[arg-type]
