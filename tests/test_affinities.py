"""Tests of taskspace.affinities: the affinity protocol of chapter 5 on synthetic tasks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from taskspace.affinities import (
    SCORE_FIELDS,
    AffinityExperiment,
    affinity_splits,
    best_sources,
    draw_scores,
    fit_boxes,
    fit_map,
    fit_perturbed,
    mean_std_finite,
    perturbation_shifts,
    scrambled_novel_rho,
    target_means,
    within_target_rho,
)
from taskspace.boxes.evaluate import spearman, split_relations
from taskspace.boxes.geometry import Boxes, overlap_matrix

N, D = 10, 6
SMALL = (32, 16)  # hidden widths: small networks keep the tests quick


def synthetic(rescale_k: float | None = 50.0, seed: int = 0) -> AffinityExperiment:
    """Ten tasks whose affinity is a smooth function of their features; task 0 is only ever a
    source (its row is unknown), as Taskonomy's source-only tasks are."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(N, D, generator=generator)
    level = torch.sigmoid(features[:, 0])  # targets with larger levels get larger affinities
    quality = torch.sigmoid(features[:, 1])  # good sources are good for every target
    affinity = (0.02 * level[:, None] * quality[None, :]).double()
    affinity.fill_diagonal_(torch.nan)
    affinity[0] = torch.nan
    return AffinityExperiment(
        tuple(f"task {i}" for i in range(N)), affinity, features, rescale_k=rescale_k
    )


def test_experiment_refuses_what_it_cannot_use() -> None:
    good = synthetic()
    with pytest.raises(ValueError, match="distinct"):
        AffinityExperiment(("a", "a", "b"), torch.zeros(3, 3).double(), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="float64"):
        AffinityExperiment(good.names, good.affinity.float(), good.features)
    with pytest.raises(ValueError, match="one row per task"):
        AffinityExperiment(good.names, good.affinity, good.features[:-1])
    with pytest.raises(ValueError, match="rescale_k"):
        AffinityExperiment(good.names, good.affinity, good.features, rescale_k=0.0)
    with pytest.raises(ValueError, match="unknown task"):
        good.index(["task 1", "no such task"])
    assert good.index(["task 3", "task 1"]) == [3, 1]


def test_target_rescales_and_predictions_map_back() -> None:
    experiment = synthetic(rescale_k=50.0)
    known = experiment.known
    assert int(known.sum()) == (N - 1) * (N - 1)  # the diagonal and task 0's row are unknown
    assert torch.allclose(experiment.target[known], torch.tanh(50 * experiment.affinity[known]))
    back = experiment.to_affinity(experiment.target.float())
    assert back.dtype == torch.float64
    assert torch.allclose(back[known], experiment.affinity[known], rtol=1e-4)
    plain = synthetic(rescale_k=None)
    assert torch.equal(plain.target[known], plain.affinity[known])


def test_splits_are_seeded_by_the_draw() -> None:
    experiment = synthetic()
    splits = affinity_splits(experiment, draws=3, novel=2, fractions=(0.5, 0.2, 0.3))
    assert len(splits) == 3 and all(len(s.novel) == 2 for s in splits)
    again = split_relations(experiment.affinity, novel=2, fractions=(0.5, 0.2, 0.3), seed=2)
    assert torch.equal(splits[2].test, again.test) and torch.equal(splits[2].novel, again.novel)
    assert not torch.equal(splits[0].novel_pairs, splits[1].novel_pairs)
    with pytest.raises(ValueError, match="at least one draw"):
        affinity_splits(experiment, draws=0, novel=2)


def test_novel_tasks_are_placed_without_being_seen() -> None:
    """Changing what is known about a draw's novel tasks changes nothing in that draw's fit."""
    experiment = synthetic()
    splits = affinity_splits(experiment, draws=2, novel=2)
    fit = fit_boxes(experiment, splits, box_dim=3, steps=30, hidden=SMALL)
    assert fit.predicted.shape == (2, N, N) and fit.predicted.dtype == torch.float64
    assert fit.boxes.low.shape == (2, N, 3)
    assert len(fit.history.best_step) == 2  # each network kept at its best validation step
    novel = splits[0].novel
    changed = experiment.affinity.clone()
    changed[novel] = changed[novel] * 3.0
    changed[:, novel] = changed[:, novel] * 0.5
    other = AffinityExperiment(experiment.names, changed, experiment.features, 50.0)
    refit = fit_boxes(other, splits[:1], box_dim=3, steps=30, hidden=SMALL)
    assert torch.equal(
        refit.predicted[0], fit_boxes(experiment, splits[:1], 3, 30, hidden=SMALL).predicted[0]
    )


def test_boxes_learn_a_learnable_relation() -> None:
    experiment = synthetic()
    splits = affinity_splits(experiment, draws=2, novel=2)

    def fitted(steps: int) -> list[float]:
        """Per draw, Spearman's rho of the fit on its own training pairs."""
        fit = fit_boxes(experiment, splits, box_dim=5, steps=steps, hidden=SMALL)
        return [
            spearman(fit.predicted[r], experiment.affinity, s.train) for r, s in enumerate(splits)
        ]

    assert min(fitted(200)) > 0.6
    assert max(fitted(1)) < 0.3
    scores = draw_scores(
        experiment, fit_boxes(experiment, splits, 5, 1, hidden=SMALL).predicted, splits
    )
    assert set(scores) == set(SCORE_FIELDS)
    assert all(scores[f].shape == (2,) for f in SCORE_FIELDS)


def test_draw_scores_of_the_truth_are_one() -> None:
    experiment = synthetic()
    splits = affinity_splits(experiment, draws=2, novel=2, fractions=(0.4, 0.1, 0.5))
    truth = experiment.affinity.nan_to_num(0.0).expand(2, N, N)
    scores = draw_scores(experiment, truth, splits)
    assert np.allclose(scores["pooled_existing"], 1.0)
    assert np.allclose(scores["pooled_novel"], 1.0)
    assert np.allclose(scores["within_existing"], 1.0)
    with pytest.raises(ValueError, match="R=2"):
        draw_scores(experiment, truth[0], splits)


def test_perturbed_networks_share_splits_and_seeds() -> None:
    experiment = synthetic()
    splits = affinity_splits(experiment, draws=2, novel=2)
    fit, perturbed = fit_perturbed(
        experiment, splits, box_dim=2, steps=20, perturbations=2, hidden=SMALL
    )
    assert fit.predicted.shape == (2, N, N) and fit.boxes.low.shape == (2, N, 2)
    assert len(perturbed) == 2 and all(p["pooled_existing"].shape == (2,) for p in perturbed)
    assert len(fit.history.best_step) == 2 * 3  # every network's history, unperturbed first
    alone, none = fit_perturbed(
        experiment, splits, box_dim=2, steps=20, perturbations=0, hidden=SMALL
    )
    assert none == []
    assert torch.equal(
        alone.predicted, fit_boxes(experiment, splits, 2, 20, hidden=SMALL).predicted
    )


def test_perturbation_shifts_leave_out_undefined_draws() -> None:
    reference = np.array([0.5, np.nan, 0.7])
    perturbed = [np.array([0.6, 0.1, 0.8]), np.array([0.4, 0.2, np.nan])]
    shifts = perturbation_shifts(reference, perturbed)  # only draw 0 is finite everywhere
    assert torch.allclose(shifts, torch.tensor([0.1, -0.1], dtype=torch.float64))


def test_mean_std_finite() -> None:
    assert mean_std_finite([1.0, np.nan, 3.0]) == (2.0, 1.0)
    assert all(math.isnan(v) for v in mean_std_finite([np.nan]))


def test_target_means_know_only_the_targets_level() -> None:
    experiment = synthetic()
    split = affinity_splits(experiment, draws=1, novel=2)[0]
    predicted = target_means(experiment, split)
    assert predicted.shape == (N, N)
    assert torch.equal(predicted, predicted[:, :1].expand(N, N))  # constant within a target
    overall = experiment.affinity[split.train].mean()
    for t in split.novel.tolist():  # no training pair: the mean of all training pairs
        assert torch.allclose(predicted[t, 0], overall)
    t = int(split.train.any(1).nonzero()[0])
    assert torch.allclose(predicted[t, 0], experiment.affinity[t][split.train[t]].mean())


def test_scrambling_identical_existing_boxes_changes_nothing() -> None:
    experiment = synthetic()
    split = affinity_splits(experiment, draws=1, novel=2)[0]
    generator = torch.Generator().manual_seed(1)
    low = torch.randn(N, 3, generator=generator)
    low[split.existing] = low[split.existing[0]].clone()  # every existing task has the same box
    boxes = Boxes(low, low + 1.0)
    plain = spearman(
        experiment.to_affinity(overlap_matrix(boxes)), experiment.affinity, split.novel_pairs
    )
    assert scrambled_novel_rho(experiment, boxes, split, permutations=3) == pytest.approx(plain)
    distinct = Boxes(torch.randn(N, 3, generator=generator), torch.ones(N, 3) * 3)
    assert scrambled_novel_rho(experiment, distinct, split, seed=0) == scrambled_novel_rho(
        experiment, distinct, split, seed=0
    )


def test_map_and_its_within_target_order() -> None:
    experiment = synthetic()
    boxes = fit_map(experiment, box_dim=2, steps=200, hidden=SMALL)
    assert boxes.low.shape == (N, 2)
    rho = within_target_rho(experiment, experiment.affinity.nan_to_num(0.0))
    assert torch.isnan(rho[0])  # a source-only task has no row to order
    assert torch.allclose(rho[1:], torch.ones(N - 1, dtype=torch.float64))
    fitted = within_target_rho(experiment, overlap_matrix(boxes))
    assert float(fitted[1:].mean()) > 0.3


def test_best_sources_skip_the_target_and_unknown_scores() -> None:
    experiment = synthetic()
    scores = torch.arange(N * N, dtype=torch.float64).reshape(N, N)
    scores[4, 9] = torch.nan
    assert best_sources(experiment, scores, target=4, top=3) == [8, 7, 6]
    assert best_sources(experiment, scores, target=9, top=2) == [8, 7]
