"""Tests of taskspace.taskonomy: chapter 5 and 6's Taskonomy layer over taskspace.affinities."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from taskspace.affinities import AffinityExperiment, affinity_splits, draw_scores
from taskspace.boxes.train import History
from taskspace.data.resolve import DataNotFoundError
from taskspace.taskonomy import (
    LOSS_VARIANTS,
    NOVEL_TASKS,
    SENSITIVE_FIELDS,
    TANH_K,
    TASKONOMY_SETTINGS,
    ablation_records,
    baseline_predictions,
    baseline_records,
    fit_ablation,
    loss_jumps,
    sensitivity_records,
    spearman_records,
    task_groups,
    taskonomy_experiment,
    taskonomy_splits,
)

N = 8


def additive_tasks() -> AffinityExperiment:
    """Eight tasks whose log affinity is a target effect plus a source effect, both read from
    their features (so every learned model has something to learn)."""
    features = torch.randn(N, 4, generator=torch.Generator().manual_seed(3))
    log_affinity = -4.0 + 0.5 * features[:, :1] + 0.3 * features[:, 1]  # (N, N) [target, source]
    affinity = log_affinity.double().exp()
    affinity.fill_diagonal_(torch.nan)
    return AffinityExperiment(tuple("abcdefgh"), affinity, features, rescale_k=TANH_K)


def scores(*pooled: float) -> dict[str, np.ndarray]:
    """Draw scores whose every rho field holds ``pooled``; one draw's within-target is NaN."""
    values = np.array(pooled)
    within = values.copy()
    within[0] = np.nan
    return {
        "pooled_existing": values,
        "pooled_novel": values - 0.5,
        "within_existing": within,
        "within_novel": within - 0.5,
        "rows_existing": np.array([7, 8] + [7] * (len(values) - 2)),
        "rows_novel": np.array([2] * len(values)),
    }


def test_settings_are_given_for_every_scale() -> None:
    assert set(TASKONOMY_SETTINGS) == {"fast", "book", "paper"}
    assert TASKONOMY_SETTINGS["book"].steps == 3000  # the authors' steps
    assert TASKONOMY_SETTINGS["paper"].draws == 10  # the paper's draws


def test_task_groups_name_a_family_per_task() -> None:
    groups = task_groups()
    assert len(groups) == 25
    assert set(groups) == {
        "several images (pose, matching)",
        "objects and scenes",
        "3-D geometry",
        "2-D and generative",
    }


def test_taskonomy_experiment_and_its_splits() -> None:
    try:
        experiment = taskonomy_experiment("1k")
    except DataNotFoundError as error:
        pytest.skip(f"Taskonomy's affinities are not reachable (set TASKSPACE_DATA): {error}")
    assert len(experiment) == 25 and experiment.rescale_k == TANH_K
    assert int(experiment.known.sum()) == 528
    assert experiment.features.shape == (25, 15)
    splits = taskonomy_splits(experiment, draws=2)
    assert all(len(s.novel) == NOVEL_TASKS for s in splits)


def test_spearman_records_keep_the_paper_beside_each_pooled_mean() -> None:
    records = spearman_records(scores(0.8, 0.9), 5, ((0.94, 0.03), (0.39, 0.22)))
    assert set(records) == {
        "spearman_existing_5d",
        "spearman_novel_5d",
        "within_target_existing_5d",
        "within_target_novel_5d",
    }
    existing = records["spearman_existing_5d"]
    assert existing["value"] == pytest.approx(0.85) and existing["paper"] == 0.94
    assert existing["note"] == "2 draws; paper std 0.03"
    within = records["within_target_existing_5d"]  # the NaN draw is left out
    assert within["value"] == pytest.approx(0.9) and within["std"] == 0.0
    assert within["note"] == "targets with >= 3 test pairs: 7.5 per draw"


def test_sensitivity_records_give_the_largest_shift() -> None:
    reference = scores(0.5, 0.7, 0.6)
    moved = [scores(0.6, 0.8, 0.7), scores(0.3, 0.5, 0.4)]  # +0.1, -0.2 everywhere
    records = sensitivity_records(reference, moved, 3)
    assert set(records) == {f"sensitivity.{key}_3d" for key in SENSITIVE_FIELDS.values()}
    assert records["sensitivity.spearman_existing_3d"]["value"] == pytest.approx(0.2)
    assert records["sensitivity.spearman_existing_3d"]["note"].endswith(
        "2 perturbations: +0.100, -0.200"
    )


def test_baseline_and_ablation_records() -> None:
    rho = {"mlp": scores(0.8, 0.9), "additive": scores(0.7, 0.8)}
    records = baseline_records(rho, {"mlp": ((0.88, 0.06), (0.31, 0.18))}, ("mlp", "additive"))
    assert records["taskonomy.mlp.spearman_novel"]["paper"] == 0.31
    assert records["taskonomy.mlp.spearman_novel"]["note"] == (
        "pooled over novel-existing pairs; 2 draws; paper std 0.18"
    )
    assert records["taskonomy.additive.spearman_existing"]["paper"] is None
    assert records["taskonomy.additive.spearman_existing"]["note"] == (
        "pooled over test pairs; 2 draws"
    )
    ablation = ablation_records({"all": scores(0.8, 0.9)}, {"all": 0.94})
    assert ablation["ablation_all"]["value"] == pytest.approx(0.85)


def test_loss_jumps_find_a_doubling_and_its_overlap_share() -> None:
    total = [[4.0, 4.0], [2.0, 3.0], [5.0, 2.5], [1.0, 2.0]]  # network 0 jumps at step 3
    overlap = [[2.0, 2.0], [1.0, 1.5], [3.4, 1.0], [0.5, 1.0]]  # 2.4 of its 3.0 rise
    history = History(
        losses={"total": total, "overlap": overlap},
        validation_steps=[2, 4],
        validation_error=[[0.5, 0.4], [1.0, 0.2]],
        best_step=[2, 4],
    )
    jumps = loss_jumps(history, members=2)
    assert (jumps.count, jumps.first, jumps.last) == (1, 3, 3)
    assert jumps.overlap_share == pytest.approx(0.8)
    assert jumps.best_step == [2, 4]
    assert jumps.last_over_best == pytest.approx([2.0, 1.0])
    calm = loss_jumps(
        History(
            losses={"total": [[1.0]], "overlap": [[1.0]]},
            validation_steps=[1],
            validation_error=[[1.0]],
            best_step=[1],
        ),
        members=1,
    )
    assert calm.count == 0 and calm.first is None and calm.overlap_share is None


def test_ablation_trains_every_variant_on_every_draw() -> None:
    experiment = additive_tasks()
    splits = affinity_splits(experiment, draws=2, novel=2)
    found = fit_ablation(experiment, splits, steps=2)
    assert list(found) == list(LOSS_VARIANTS)
    assert all(found[v]["pooled_existing"].shape == (2,) for v in found)


def test_baseline_predictions_cover_every_method() -> None:
    experiment = additive_tasks()
    splits = affinity_splits(experiment, draws=2, novel=2)
    predicted = baseline_predictions(experiment, splits, regression_steps=2, box_steps=2)
    assert set(predicted) == {"mlp", "linear", "additive", "random", "task2box_5d"}
    assert all(p.shape == (2, N, N) for p in predicted.values())
    additive = draw_scores(experiment, predicted["additive"], splits)
    assert np.allclose(additive["pooled_existing"], 1.0)  # the synthetic table is additive in log
    assert all(
        math.isfinite(v)
        for v in draw_scores(experiment, predicted["mlp"], splits)["pooled_existing"]
    )
    assert not torch.equal(predicted["random"][0], predicted["random"][1])
