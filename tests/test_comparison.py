"""Tests of taskspace.comparison: chapter 6's baselines on a toy hierarchy's draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from taskspace.baselines import ALPHAS, LINEAR_HIDDEN
from taskspace.comparison import (
    BASELINE_SETTINGS,
    SCORED,
    asymmetric_f1,
    classifier_f1,
    cut_f1,
    f1_under_protocols,
    hierarchy_baselines,
    hierarchy_records,
    task2box_f1,
)
from taskspace.data.taxonomy import Taxonomy
from taskspace.hierarchies import HierarchyExperiment, build_experiment, hierarchy_splits
from taskspace.represent.distances import euclidean_distance_matrix


def toy_hierarchy() -> HierarchyExperiment:
    """A binary tree four levels deep (16 leaf classes, 31 datasets), one random prototype per
    class, 3 datasets held out per draw."""
    edges = [(f"n{i}", f"n{2 * i + c}") for i in range(1, 16) for c in (0, 1)]
    prototypes = torch.randn(16, 5, generator=torch.Generator().manual_seed(0))
    return build_experiment("toy", Taxonomy.from_edges(edges), prototypes, novel=3)


def test_settings_are_given_for_every_scale() -> None:
    assert set(BASELINE_SETTINGS) == {"fast", "book", "paper"}
    assert BASELINE_SETTINGS["paper"].pair_batch == 16  # the authors' mini-batches


def test_the_truth_scores_100_under_every_protocol_with_positives() -> None:
    e = toy_hierarchy()
    split = hierarchy_splits(e, draws=1)[0]
    truth = e.relation.nan_to_num(0.0) == 1
    assert f1_under_protocols(truth, e.relation, split) == (100.0, 100.0, 100.0)
    assert f1_under_protocols(~truth, e.relation, split)[0] == 0.0


def test_cut_f1_finds_a_perfect_cut_and_refuses_mismatched_draws() -> None:
    e = toy_hierarchy()
    splits = hierarchy_splits(e, draws=2)
    score = 1.0 - e.relation.nan_to_num(0.5)  # inside pairs score 0, the others 1
    found = cut_f1([score, score], e.relation, splits)
    assert found.shape == (2, len(SCORED))
    assert np.allclose(found, 100.0)
    with pytest.raises(ValueError):
        cut_f1([score], e.relation, splits)


def test_learned_and_handcrafted_baselines_have_one_row_per_draw() -> None:
    e = toy_hierarchy()
    splits = hierarchy_splits(e, draws=2)
    features = e.representations["mu"]
    found = classifier_f1(features, e.relation, splits, LINEAR_HIDDEN, steps=3, batch_size=8)
    assert found.shape == (2, 6) and ((found >= 0) & (found <= 100)).all()
    f1, alphas = asymmetric_f1(features, e.relation, splits, euclidean_distance_matrix)
    assert f1.shape == (2, 3) and len(alphas) == 2 and set(alphas) <= set(ALPHAS)


def test_hierarchy_baselines_and_their_records() -> None:
    e = toy_hierarchy()
    splits = hierarchy_splits(e, draws=2)
    settings = BASELINE_SETTINGS["fast"]
    found = hierarchy_baselines(e, splits, settings, "toy")
    assert set(found.f1) == {
        ("mlp", "mu"),
        ("linear", "mu"),
        ("linear", "mu_sigma2"),
        ("asym_cosine", "mu"),
        ("asym_cosine", "mu_sigma2"),
        ("asym_euclidean", "mu"),
        ("asym_euclidean", "mu_sigma2"),
        ("kl", "mu_sigma2"),
        ("random", "mu"),
    }
    assert set(found.any_cut) == {("mlp", "mu"), ("linear", "mu"), ("linear", "mu_sigma2")}
    assert set(found.alphas) == {k for k in found.f1 if k[0].startswith("asym")}
    f1 = found.f1 | {("task2box_5d", "mu"): np.full((2, 3), 50.0)}
    paper = {
        "task2box_5d": (90.0, 88.0, 77.0, 79.0),
        "kl": (None, 5.5, None, 10.4),
        "linear": (9.8, 8.3, 11.9, 11.9),
    }
    records = hierarchy_records("toy", f1, found.any_cut, paper, ("task2box_5d", "kl", "linear"))
    assert "toy.task2box_5d.f1_existing" not in records  # chapter 4 records the boxes
    assert records["toy.task2box_5d.f1_novel_into_existing"]["paper"] == 77.0
    assert records["toy.kl.f1_existing"]["paper"] == 5.5
    assert records["toy.kl.f1_existing"]["note"] == (
        "F1 % on test pairs; [mu, sigma^2] Gaussians; 2 draws"
    )
    assert records["toy.linear.f1_novel_mu_sigma2"]["paper"] == 11.9
    assert "toy.linear.f1_existing_mu_sigma2_any_threshold" in records


def test_task2box_f1_scores_both_representations(data_dirs) -> None:
    e = toy_hierarchy()
    splits = hierarchy_splits(e, draws=2)
    found = task2box_f1(e, splits, steps=2, name="toy")
    assert set(found) == {("task2box_5d", "mu"), ("task2box_5d", "mu_sigma2")}
    assert all(v.shape == (2, 3) for v in found.values())
