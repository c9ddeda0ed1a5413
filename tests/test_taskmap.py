"""Chapter 11's map of tasks: transfer, placement, reading the map, bad inputs, figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from taskspace.agreement import NetworkSpec, TrainConfig, train_ensemble
from taskspace.boxes.evaluate import split_relations
from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.boxes.train import TrainConfig as BoxConfig
from taskspace.boxes.train import train_on_splits
from taskspace.plotting.taskmap import as_against_map, task_map, transfer_heatmap
from taskspace.taskmap import (
    TASKMAP_SETTINGS,
    Task,
    asymmetry,
    box_similarity,
    check_representation,
    check_tasks,
    class_means,
    containment_counts,
    map_relation,
    measure_transfer,
    nearest_neighbour_affinity,
    normalised_transfer,
    predict_from_neighbours,
    predict_held_out,
    readout_accuracy,
    seed_stability,
    short_names,
    task2vec_inputs,
    verdict,
)

SPEC = NetworkSpec("mlp", in_channels=1, image_size=4)
CONFIG = TrainConfig(batch_size=8, max_epochs=3)


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(seed))


def _three_tasks(train: torch.Tensor, test: torch.Tensor) -> list[Task]:
    """Brightness of two pixels and a coin flip: three binary labellings."""
    coin = torch.randint(
        0, 2, (len(train) + len(test),), generator=torch.Generator().manual_seed(3)
    )
    coin[0], coin[1] = 0, 1
    tasks = []
    for name, rule in (("left", lambda x: x[:, 0, 0, 0]), ("right", lambda x: x[:, 0, 3, 3])):
        threshold = rule(train).median()
        tasks.append(
            Task(
                name, "human", (rule(train) > threshold).long(), (rule(test) > threshold).long(), 0
            )
        )
    tasks.append(Task("coin", "random", coin[: len(train)], coin[len(train) :], 1))
    return tasks


def _features(network: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The MLP's penultimate features, the obvious way: every layer but the last."""
    network.eval()
    with torch.no_grad():
        return network.layers[:-1](images)


def _network(params: dict, buffers: dict, e: int) -> torch.nn.Module:
    network = SPEC.build(seed=0)
    network.load_state_dict(
        {**{k: v[e] for k, v in params.items()}, **{k: v[e] for k, v in buffers.items()}}
    )
    return network


def test_transfer_matrix_matches_a_direct_computation_for_three_tasks(data_dirs):
    train, test = _images(32, 0), _images(24, 1)
    tasks = _three_tasks(train, test)
    settings = TASKMAP_SETTINGS["fast"]
    transfer = measure_transfer(tasks, SPEC, train, test, CONFIG, torch.device("cpu"), settings)
    steps = settings.readout_steps
    untrained = [SPEC.build(seed=20_000 + k) for k in range(settings.untrained_networks)]
    floor = torch.zeros(3, dtype=torch.float64)
    for target, task in enumerate(tasks):  # one read-out at a time
        for network in untrained:
            floor[target] += readout_accuracy(
                _features(network, train)[None],
                task.train_labels[None],
                _features(network, test)[None],
                task.test_labels[None],
                steps=steps,
            )[0, 0] / len(untrained)
    expected = torch.full((2, 3, 3), torch.nan, dtype=torch.float64)
    for source, task in enumerate(tasks):
        ensemble = train_ensemble(SPEC, train, task.train_labels, 2, task.seed, CONFIG)
        for e in range(2):
            network = _network(ensemble.params, ensemble.buffers, e)
            for target, other in enumerate(tasks):
                if target == source:
                    continue
                accuracy = readout_accuracy(
                    _features(network, train)[None],
                    other.train_labels[None],
                    _features(network, test)[None],
                    other.test_labels[None],
                    steps=steps,
                )[0, 0]
                expected[e, target, source] = (accuracy - floor[target]) / (1 - floor[target])
    torch.testing.assert_close(transfer.floor, floor)
    torch.testing.assert_close(transfer.per_network, expected, equal_nan=True)
    torch.testing.assert_close(transfer.affinity, expected.mean(0), equal_nan=True)
    assert transfer.train_seconds.shape == (3,) and (transfer.train_seconds > 0).all()
    again = measure_transfer(tasks, SPEC, train, test, CONFIG, torch.device("cpu"), settings)
    torch.testing.assert_close(again.affinity, transfer.affinity, equal_nan=True)  # the cache


def test_batched_readouts_are_separate_fits_and_learn_a_linear_rule():
    g = torch.Generator().manual_seed(0)
    x, x_test = torch.randn(2, 120, 5, generator=g), torch.randn(2, 80, 5, generator=g)
    w = torch.randn(5, generator=g)
    rule = torch.stack([(x[0] @ w > 0).long(), torch.randint(0, 2, (120,), generator=g)])
    rule_test = torch.stack([(x_test[0] @ w > 0).long(), torch.randint(0, 2, (80,), generator=g)])
    together = readout_accuracy(x, rule, x_test, rule_test, steps=200)
    for s in range(2):
        for t in range(2):
            alone = readout_accuracy(
                x[s : s + 1], rule[t : t + 1], x_test[s : s + 1], rule_test[t : t + 1], steps=200
            )
            assert alone[0, 0].item() == pytest.approx(together[s, t].item(), abs=1e-12)
    assert together[0, 0] > 0.9  # a linear rule of source 0's features is read out
    assert abs(together[0, 1] - 0.5) < 0.2  # coin flips are not


def test_normalisation_asymmetry_and_stability():
    accuracy = torch.tensor([[0.9, 0.8], [0.7, 0.6]], dtype=torch.float64)  # [source, target]
    floor = torch.tensor([0.5, 0.6], dtype=torch.float64)
    affinity = normalised_transfer(accuracy, floor)  # [target, source]
    assert torch.isnan(affinity.diagonal()).all()
    assert affinity[1, 0].item() == pytest.approx((0.8 - 0.6) / 0.4)
    assert affinity[0, 1].item() == pytest.approx((0.7 - 0.5) / 0.5)
    with pytest.raises(ValueError, match="floor"):
        normalised_transfer(accuracy, torch.tensor([1.0, 0.5], dtype=torch.float64))
    symmetric = torch.rand(5, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    symmetric = symmetric + symmetric.T
    assert asymmetry(symmetric) == {"mean_abs_difference": 0.0, "spearman": pytest.approx(1.0)}
    same = seed_stability(torch.stack([symmetric, symmetric]))
    assert same["mean_abs_difference"] == 0.0 and same["spearman"] == pytest.approx(1.0)
    clipped = map_relation(torch.tensor([[torch.nan, -0.2], [1.5, torch.nan]]))
    assert clipped[0, 1] == 0 and clipped[1, 0] == 1 and torch.isnan(clipped[0, 0])


def test_bad_tasks_and_representations_get_clear_errors():
    labels = torch.tensor([0, 1, 0, 1])
    one_class = Task("all zero", "human", torch.zeros(4, dtype=torch.int64), labels, 0)
    with pytest.raises(ValueError, match="one class"):
        check_tasks([one_class], 4, 4)
    short = Task("short", "human", labels[:3], labels, 0)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        check_tasks([short], 4, 4)
    with pytest.raises(ValueError, match="one class"):
        readout_accuracy(
            torch.rand(1, 4, 2),
            torch.zeros(1, 4, dtype=torch.int64),
            torch.rand(1, 4, 2),
            labels[None],
        )
    with pytest.raises(ValueError, match=r"\(T, 4\)"):
        readout_accuracy(torch.rand(1, 4, 2), labels[None, :3], torch.rand(1, 4, 2), labels[None])
    with pytest.raises(ValueError, match="NaN"):
        readout_accuracy(
            torch.full((1, 4, 2), torch.nan), labels[None], torch.rand(1, 4, 2), labels[None]
        )
    with pytest.raises(ValueError, match="one class"):
        class_means(torch.rand(4, 1, 2, 2), torch.zeros(1, 4, dtype=torch.int64))
    bad = torch.rand(3, 4)
    bad[1, 2] = torch.nan
    with pytest.raises(ValueError, match=r"tasks \[1\].*NaN"):
        check_representation(bad)
    with pytest.raises(ValueError, match="NaN"):
        task2vec_inputs(bad.abs(), 2)
    split = split_relations(torch.rand(3, 3, dtype=torch.float64), novel=1, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        nearest_neighbour_affinity(bad, torch.rand(3, 3, dtype=torch.float64), split, 1)


def test_class_means_and_task2vec_inputs():
    images = torch.arange(4.0).view(4, 1, 1, 1)
    means = class_means(images, torch.tensor([[0, 0, 1, 1], [1, 0, 1, 0]]))
    torch.testing.assert_close(means, torch.tensor([[0.5, 2.5], [2.0, 1.0]]))
    fisher = torch.rand(4, 300, generator=torch.Generator().manual_seed(0)) ** 4
    fisher[0, 0] = 0.0  # a dead filter
    projected = task2vec_inputs(fisher, 16)
    assert projected.shape == (4, 16) and torch.isfinite(projected).all()
    torch.testing.assert_close(task2vec_inputs(fisher[2:3], 16), projected[2:3])  # a new task alone


def test_nearest_neighbour_copies_the_closest_tasks_affinities():
    actual = torch.rand(5, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    actual.fill_diagonal_(torch.nan)
    features = torch.tensor([[0.0], [0.01], [5.0], [9.0], [20.0]])
    split = split_relations(actual, novel=[1], fractions=(1.0, 0.0, 0.0), seed=0)
    predicted = nearest_neighbour_affinity(features, actual, split, k=1)
    for j in (2, 3, 4):  # novel target 1 takes task 0's row, novel source 1 task 0's column
        assert predicted[1, j] == actual[0, j]
        assert predicted[j, 1] == actual[j, 0]
    assert torch.isnan(predicted[2, 3])  # not a scored pair


def test_placement_uses_the_representation_only_and_the_map_is_read_from_the_boxes():
    g = torch.Generator().manual_seed(4)
    features, relation = (
        torch.randn(6, 3, generator=g),
        torch.rand(6, 6, generator=g, dtype=torch.float64),
    )
    relation.fill_diagonal_(torch.nan)
    split = split_relations(relation, novel=[5], fractions=(0.8, 0.2, 0.0), seed=0)
    config = BoxConfig(box_dim=2, steps=30, seeds=(0,), eval_every=10)
    model, boxes, _ = train_on_splits(features, relation.float(), [split], config, validation=True)
    changed = relation.clone()
    changed[5, :5], changed[:5, 5] = (
        1 - relation[5, :5],
        1 - relation[:5, 5],
    )  # the novel task's pairs
    _, boxes_again, _ = train_on_splits(features, changed.float(), [split], config, validation=True)
    torch.testing.assert_close(boxes_again.low[0, 5], boxes.low[0, 5])  # placed, never fitted
    one = Boxes(boxes.low[0], boxes.high[0])
    model.eval()
    with torch.no_grad():
        alone = model(features[5:6][None])  # the trained network, the novel task on its own
    torch.testing.assert_close(alone.low[0, 0], one.low[5])
    torch.testing.assert_close(alone.high[0, 0], one.high[5])
    similarity = box_similarity(one)
    overlap = overlap_matrix(one).double()
    torch.testing.assert_close(similarity, (overlap + overlap.T) / 2)
    scores = torch.arange(6.0, dtype=torch.float64)
    predicted = predict_from_neighbours(similarity, split.existing, split.novel, scores, k=2)
    best = sorted(range(5), key=lambda j: -similarity[5, j].item())[:2]
    assert predicted.item() == pytest.approx(scores[best].mean().item())
    p, m = predict_held_out(similarity, [split, split], scores, 2)
    assert p.shape == m.shape == (2, 1) and (m == 5).all()
    inside = containment_counts(
        Boxes(torch.tensor([[0.0, 0.0], [-1.0, -1.0]]), torch.tensor([[1.0, 1.0], [2.0, 2.0]]))
    )
    assert inside.tolist() == [1, 0]
    with pytest.raises(ValueError, match="k must be"):
        predict_from_neighbours(similarity, split.existing, split.novel, scores, k=6)


def test_verdict_and_short_names():
    assert verdict([0.8, 0.82], [0.5, 0.52]) == "above"
    assert verdict([0.5, 0.6], [0.55, 0.52]) == "level with"
    assert verdict([0.1, 0.12], [0.5, 0.52]) == "below"
    with pytest.raises(ValueError, match="finite"):
        verdict([np.nan], [0.5])
    labels = torch.tensor([0, 1])
    tasks = [
        Task("a", k, labels, labels, s)
        for k, s in (("human", 0), ("random", 0), ("discovered λ=5", 3))
    ]
    assert short_names(tasks) == ["H1", "R1", "D5.3"]


def test_figures_draw_every_task_and_refuse_mismatches():
    boxes = Boxes(torch.zeros(3, 2), torch.tensor([[1.0, 1.0], [2.0, 0.5], [0.3, 3.0]]))
    kinds = ["human", "random", "discovered λ=1"]
    fig = task_map(boxes, kinds, torch.tensor([0.9, 0.7, 0.95]), title="map")
    assert len(fig.axes[0].patches) == len(fig.axes[1].patches) == 3
    assert [t.get_text() for t in fig.legends[0].get_texts()] == kinds  # below both panels
    plt.close(fig)
    with pytest.raises(ValueError, match="differ"):
        task_map(boxes, kinds[:2], torch.rand(3))
    quantities = {"volume": torch.rand(3), "outgoing": torch.rand(3)}
    fig = as_against_map(quantities, torch.rand(3), kinds, {"volume": 0.25, "outgoing": -0.5})
    assert [ax.get_title() for ax in fig.axes] == ["Spearman ρ = 0.25", "Spearman ρ = -0.50"]
    plt.close(fig)
    with pytest.raises(ValueError, match="rhos"):
        as_against_map(quantities, torch.rand(3), kinds, {"volume": 0.1})
    fig = transfer_heatmap(torch.rand(3, 3), ["human", "human", "random"], "a")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["human", "random"]
    plt.close(fig)
    with pytest.raises(ValueError, match="consecutive"):
        transfer_heatmap(torch.rand(3, 3), ["human", "random", "human"])
