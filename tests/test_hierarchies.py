"""Tests of taskspace.hierarchies: taxonomy nodes as datasets, their relation and splits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

import taskspace.hierarchies.training as hierarchies_training
from taskspace.boxes.evaluate import (
    choose_threshold,
    f1_score,
    predict_containment,
    split_relations,
)
from taskspace.boxes.sensitivity import round_off_noise
from taskspace.data.resolve import DataNotFoundError
from taskspace.data.taxonomy import Taxonomy
from taskspace.hierarchies import (
    EXPERIMENTS,
    HALF_PAIRS,
    BoxRun,
    HierarchyExperiment,
    book_box_runs,
    book_experiments,
    build_experiment,
    containment_scores,
    dataset_nodes,
    hierarchy_experiment,
    hierarchy_splits,
    inclusion_relation,
    neighbourhood_curves,
    train_hierarchy_boxes,
)
from taskspace.represent.statistics import prototype_statistics


def toy_taxonomy() -> Taxonomy:
    """root -> {a, b}; a -> a1 -> {x, y} (a and a1 hold the same classes); b -> {z, w}.

    A second tree: other -> {u, v}. Leaf classes are the childless nodes.
    """
    edges = [
        ("root", "a"),
        ("root", "b"),
        ("a", "a1"),
        ("a1", "x"),
        ("a1", "y"),
        ("b", "z"),
        ("b", "w"),
        ("other", "u"),
        ("other", "v"),
    ]
    return Taxonomy.from_edges(edges)


def test_dataset_nodes_merges_equal_leaf_sets_and_keeps_the_upper_node() -> None:
    taxonomy = toy_taxonomy()
    kept, merged = dataset_nodes(taxonomy, min_classes=2)
    names = [taxonomy.names[i] for i in kept]
    assert sorted(names) == ["a", "b", "other", "root"]
    assert merged[taxonomy.index("a")] == [taxonomy.index("a1")]


def test_inclusion_relation_is_proper_subset_with_nan_diagonal() -> None:
    membership = torch.tensor([[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 1]], dtype=torch.bool)
    relation = inclusion_relation(membership)
    expected = [
        [None, 0, 1, 0],
        [1, None, 1, 0],
        [0, 0, None, 0],
        [0, 0, 1, None],
    ]
    for i, row in enumerate(expected):
        for j, value in enumerate(row):
            if value is None:
                assert torch.isnan(relation[i, j])
            else:
                assert relation[i, j] == value
    assert relation.dtype == torch.float64


def test_build_experiment_on_a_toy_taxonomy() -> None:
    taxonomy = toy_taxonomy()
    generator = torch.Generator().manual_seed(0)
    prototypes = torch.randn(len(taxonomy.leaves), 4, generator=generator)
    experiment = build_experiment("toy", taxonomy, prototypes, min_classes=1, novel=2)
    n = len(experiment)
    # a1 merged into a; every other node is its own dataset
    assert n == len(taxonomy) - 1 and "a1" not in experiment.datasets
    assert experiment.merged == {"a": ["a1"]}
    position = {name: i for i, name in enumerate(experiment.datasets)}
    containment = taxonomy.containment_matrix()
    for ci, child in enumerate(experiment.ids):
        for pi, parent in enumerate(experiment.ids):
            if ci != pi:
                assert experiment.relation[ci, pi] == float(
                    containment[taxonomy.index(child), taxonomy.index(parent)]
                )
    assert torch.isnan(experiment.relation.diagonal()).all()
    # representations: class-prototype statistics of each dataset's leaf classes
    stats = prototype_statistics(taxonomy.leaf_matrix(), prototypes)
    a = taxonomy.index("a")
    mu = experiment.representations["mu"]
    assert mu.dtype == torch.float32 and mu.shape == (n, 4)
    torch.testing.assert_close(mu[position["a"]], stats.mean[a].float())
    torch.testing.assert_close(
        experiment.representations["mu_sigma2"], torch.cat([mu, experiment.variance], 1)
    )
    torch.testing.assert_close(experiment.variance[position["a"]], stats.variance[a].float())
    # groups: in a forest, the root of each tree
    assert experiment.groups[position["x"]] == "root"
    assert experiment.groups[position["u"]] == "other"
    # in a single tree, the branch under the root
    single = build_experiment("tree", taxonomy.subtree("root"), prototypes[:4], min_classes=1)
    groups = dict(zip(single.datasets, single.groups, strict=True))
    assert groups["x"] == "a" and groups["w"] == "b" and groups["root"] == "root"
    # tree distance: within a tree as usual, across trees through a virtual root
    d = experiment.tree_distance
    assert d[position["x"], position["a"]] == 2  # x - a1 - a
    assert d[position["x"], position["z"]] == 5  # x - a1 - a - root - b - z
    assert d[position["root"], position["other"]] == 2
    assert d[position["u"], position["x"]] == (1 + 3 + 2)
    assert experiment.class_counts[position["root"]] == 4
    assert experiment.novel == 2


def test_hierarchy_splits_are_split_relations_seeded_by_draw() -> None:
    taxonomy = toy_taxonomy()
    experiment = build_experiment(
        "toy", taxonomy, torch.randn(len(taxonomy.leaves), 3), min_classes=1, novel=2
    )
    splits = hierarchy_splits(experiment, draws=3)
    assert len(splits) == 3
    for draw, split in enumerate(splits):
        reference = split_relations(experiment.relation, 2, (0.8, 0.1, 0.1), seed=draw)
        assert torch.equal(split.novel, reference.novel)
        assert torch.equal(split.train, reference.train)
        assert torch.equal(split.test, reference.test)
        assert len(split.novel) == 2
    assert not torch.equal(splits[0].train, splits[1].train)
    half = hierarchy_splits(experiment, draws=1, novel=0, fractions=(0.5, 0.1, 0.4))[0]
    assert len(half.novel) == 0
    with pytest.raises(ValueError):
        hierarchy_splits(experiment, draws=0)


class FakeEncoder:
    """Deterministic stand-in for OfflineEncoder: no network is loaded."""

    image_dim, text_dim = 6, 5

    def image_prototypes(self) -> torch.Tensor:
        return torch.randn(1000, self.image_dim, generator=torch.Generator().manual_seed(1))

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        rows = [
            torch.randn(self.text_dim, generator=torch.Generator().manual_seed(hash(t) % 2**31))
            for t in texts
        ]
        return torch.stack(rows)


def test_imagenet_experiment_counts() -> None:
    experiment = hierarchy_experiment("imagenet", encoder=FakeEncoder())  # type: ignore[arg-type]
    # 147 nodes under instrumentality hold >= 2 classes; 132 distinct class sets among them
    assert len(experiment) == 132
    assert sum(len(v) for v in experiment.merged.values()) == 147 - 132
    assert experiment.representations["mu"].shape == (132, 11)
    assert experiment.representations["mu_sigma2"].shape == (132, 22)
    assert (experiment.class_counts >= 2).all()
    assert experiment.novel == EXPERIMENTS["imagenet"]
    assert experiment.datasets[experiment.relation.nan_to_num(0).sum(0).argmax()] == (
        "instrumentality"
    )


def test_inat_experiment_counts() -> None:
    try:
        experiment = hierarchy_experiment(
            "inat",
            encoder=FakeEncoder(),
            within=["Amphibia", "Reptilia"],  # type: ignore[arg-type]
        )
    except DataNotFoundError:
        pytest.skip("the iNaturalist task lists are not available")
    assert set(experiment.groups) == {"Amphibia", "Reptilia"}
    assert experiment.representations["mu"].shape[1] == FakeEncoder.text_dim
    classes = [experiment.datasets.index(c) for c in ("Amphibia", "Reptilia")]
    # every order lies inside exactly one class
    orders = [i for i in range(len(experiment)) if i not in classes]
    inside = experiment.relation[orders][:, classes]
    assert (inside.sum(1) == 1).all()
    assert 0 < experiment.novel <= len(experiment) // 4


def test_unknown_experiment() -> None:
    with pytest.raises(ValueError, match="unknown"):
        hierarchy_experiment("cub")


def test_containment_scores_matches_a_loop() -> None:
    taxonomy = toy_taxonomy()
    experiment = build_experiment(
        "toy", taxonomy, torch.randn(len(taxonomy.leaves), 3), min_classes=1, novel=2
    )
    splits = hierarchy_splits(experiment, draws=2, novel=2, fractions=(0.4, 0.3, 0.3))
    generator = torch.Generator().manual_seed(3)
    truth = experiment.relation.nan_to_num(0.0)
    overlap = (0.7 * truth + 0.5 * torch.rand(2, *truth.shape, generator=generator)).clamp(0, 1)
    scores = containment_scores(overlap, experiment.relation, splits)
    for r, split in enumerate(splits):
        t, _ = choose_threshold(overlap[r], experiment.relation, split.validation)
        predicted = predict_containment(overlap[r], t)
        assert scores.threshold[r] == t
        assert scores.existing[r] == f1_score(predicted, experiment.relation, split.test)
        assert scores.novel[r] == f1_score(predicted, experiment.relation, split.novel_pairs)
    perfect = containment_scores(truth.expand(2, -1, -1), experiment.relation, splits, "train")
    assert (perfect.novel == 1).all()
    with pytest.raises(ValueError):
        containment_scores(overlap[0], experiment.relation, splits)


def test_train_hierarchy_boxes_returns_overlaps_of_all_datasets_at_the_best_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    taxonomy = toy_taxonomy()
    experiment = build_experiment(
        "toy", taxonomy, torch.randn(len(taxonomy.leaves), 3), min_classes=1, novel=2
    )
    splits = hierarchy_splits(experiment, draws=2, novel=2, fractions=(0.5, 0.25, 0.25))
    overlap, boxes, history = train_hierarchy_boxes(experiment, splits, box_dim=3, steps=4)
    n = len(experiment)
    assert overlap.shape == (2, n, n) and boxes.low.shape == (2, n, 3)
    assert history.steps == 4 and history.validation_steps == [4]
    assert len(history.best_step) == 2
    _, _, last = train_hierarchy_boxes(
        experiment, splits, box_dim=3, steps=4, best_on_validation=False
    )
    assert last.validation_steps == []
    doubled = experiment.representations["mu"].double()
    overlap64, _, _ = train_hierarchy_boxes(
        experiment, splits, box_dim=3, steps=2, features=doubled
    )
    assert overlap64.dtype == torch.float64


def _toy_experiment() -> HierarchyExperiment:
    taxonomy = toy_taxonomy()
    prototypes = torch.randn(len(taxonomy.leaves), 3, generator=torch.Generator().manual_seed(0))
    return build_experiment("toy", taxonomy, prototypes, min_classes=1, novel=2)


def test_trained_boxes_are_cached_under_everything_that_made_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_only_cache: Callable
) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    experiment = _toy_experiment()
    splits = hierarchy_splits(experiment, draws=2, novel=2, fractions=(0.5, 0.25, 0.25))
    overlap, boxes, history = train_hierarchy_boxes(experiment, splits, box_dim=2, steps=3)
    assert len(list((tmp_path / "boxes").glob("*.pt"))) == 1

    read_only_cache(hierarchies_training, "trained again although the result is stored")
    again, boxes_again, history_again = train_hierarchy_boxes(experiment, splits, 2, 3)
    assert torch.equal(again, overlap) and torch.equal(boxes_again.low, boxes.low)
    assert history_again == history
    with pytest.raises(AssertionError, match="trained again"):  # other steps: another entry
        train_hierarchy_boxes(experiment, splits, box_dim=2, steps=4)
    with pytest.raises(AssertionError, match="trained again"):  # other inputs: another entry
        train_hierarchy_boxes(
            experiment,
            splits,
            2,
            3,
            features=round_off_noise(experiment.representations["mu"], seed=1),
        )


def test_a_sensitivity_run_stacks_draws_half_pairs_and_perturbed_inputs() -> None:
    experiment = _toy_experiment()
    run = BoxRun("toy", 5, "mu", draws=2, sensitivity=True, perturbations=2)
    assert run.parts == ("draws", "half", "perturbed 1", "perturbed 2")
    assert run.part("perturbed 1") == slice(4, 6)
    features, splits, seeds = run.inputs(experiment)
    x = experiment.representations["mu"]
    assert features.shape == (8, *x.shape) and seeds == [0, 1, 2, 3, 0, 1, 0, 1]
    assert torch.equal(features[0], x) and torch.equal(features[3], x)
    assert torch.equal(features[4], round_off_noise(x, seed=1))
    assert torch.equal(features[7], round_off_noise(x, seed=2))
    draws = hierarchy_splits(experiment, 2)
    half = hierarchy_splits(experiment, 2, fractions=HALF_PAIRS)
    for got, want in zip(splits, draws + half + draws + draws, strict=True):
        assert torch.equal(got.train, want.train) and torch.equal(got.novel, want.novel)
    plain, plain_splits, plain_seeds = BoxRun("toy", 2, "mu", draws=3).inputs(experiment)
    assert plain is x and len(plain_splits) == 3 and plain_seeds == [0, 1, 2]


def test_the_books_runs_and_experiments() -> None:
    runs = book_box_runs((2, 5), draws=5, perturbations=3)
    assert [run.name for run in runs] == [
        "imagenet 2-D mu",
        "imagenet 5-D mu",
        "imagenet 5-D mu_sigma2",
        "inat 2-D mu",
        "inat 5-D mu",
        "inat 5-D mu_sigma2",
        "inat3 5-D mu",
        "inat2 5-D mu",
    ]
    assert [run.sensitivity for run in runs].count(True) == 2
    assert {run.perturbations for run in runs if run.sensitivity} == {3}
    with pytest.raises(ValueError, match=r"unknown experiments \['cub'\]"):
        book_experiments(names=["imagenet", "cub"])


def test_neighbourhood_curves_of_centres_that_follow_the_tree() -> None:
    # two clusters of three datasets each: tree distance 1 inside a cluster, 4 across; the
    # centres sit on two far-apart points, so the nearest in the tree are the nearest in space
    cluster = torch.tensor([0, 0, 0, 1, 1, 1])
    tree = torch.where(cluster[:, None] == cluster[None, :], 1, 4).fill_diagonal_(0)
    centres = (10.0 * cluster.double())[None, :, None].expand(2, -1, 2)  # (R=2, N=6, k=2)
    tree_mean, near, control = neighbourhood_curves(centres, tree, m_max=3)
    assert tree_mean.tolist() == pytest.approx([1.0, 1.0, 2.0])
    distance = 10.0 * 2**0.5
    assert near.tolist() == pytest.approx([0.0, 0.0, distance / 3])
    assert control[-1] > near[-1] and control.shape == (3,)
    with pytest.raises(ValueError, match="m_max"):
        neighbourhood_curves(centres, tree, m_max=6)
    with pytest.raises(ValueError, match=r"\(R, N, k\)"):
        neighbourhood_curves(centres[0], tree, m_max=2)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_run_trained_on_the_gpu_comes_back_on_the_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    experiment = _toy_experiment()
    run = BoxRun("toy", 2, "mu", draws=2, sensitivity=True, perturbations=1)
    overlap, boxes, _ = run.train(experiment, 3, torch.device("cuda"))
    assert overlap.device.type == "cpu" and boxes.low.device.type == "cpu"
    cpu_overlap, _, _ = run.train(experiment, 3)  # another device: another cache entry
    assert len(list((tmp_path / "boxes").glob("*.pt"))) == 2
    torch.testing.assert_close(overlap, cpu_overlap, atol=1e-3, rtol=1e-3)
