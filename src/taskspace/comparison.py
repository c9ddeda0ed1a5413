"""Chapter 6's comparison: the baselines and Task2Box on the same hierarchy splits.

Every method predicts "dataset ``i`` lies inside dataset ``j``" on each random draw of a
:class:`~taskspace.hierarchies.HierarchyExperiment` and is scored by F1 (%) under the three
protocols of :data:`SCORED` (chapter 4): held-out pairs of existing datasets, novel datasets in
both directions, and novel datasets inside existing ones only (the authors' novel protocol).

* :func:`f1_under_protocols` -- one draw's F1 under each protocol;
* :func:`classifier_f1`, :func:`cut_f1`, :func:`asymmetric_f1` -- the learned classifiers (MLP,
  linear), a thresholded score (KL divergence, random) and Eq. 7's asymmetric distances;
* :func:`hierarchy_baselines` -- all of them on one hierarchy, as chapter 6 tabulates them;
* :func:`task2box_f1` -- 5-D boxes on the same draws with chapter 4's recipe;
* :func:`hierarchy_records` -- the chapter's recorded numbers;
* :data:`BASELINE_SETTINGS` -- chapter 6's sizes per scale.

Scores are ``(R, 3)`` arrays, one row per draw and one column per protocol of :data:`SCORED`,
keyed ``(method, representation)`` (see :mod:`taskspace.plotting.baselines`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from taskspace.baselines import (
    LINEAR_HIDDEN,
    MLP_HIDDEN,
    PairConfig,
    choose_cut,
    choose_probability_threshold,
    fit_asymmetric,
    predict_pairs,
    random_relation,
    train_pair_model,
    trivial_embedding,
)
from taskspace.boxes.evaluate import RelationSplit, f1_score, protocol_pairs
from taskspace.hierarchies import (
    HIERARCHY_SETTINGS,
    HierarchyExperiment,
    containment_scores,
    train_hierarchy_boxes,
)
from taskspace.represent.distances import (
    cosine_distance_matrix,
    euclidean_distance_matrix,
    gaussian_kl_matrix,
)

__all__ = [
    "BASELINE_SETTINGS",
    "SCORED",
    "BaselineSettings",
    "HierarchyBaselines",
    "asymmetric_f1",
    "classifier_f1",
    "cut_f1",
    "f1_under_protocols",
    "hierarchy_baselines",
    "hierarchy_records",
    "task2box_f1",
]

#: Chapter 4's protocols a hierarchy F1 is given under, in the columns of every score.
SCORED: tuple[str, ...] = ("held_out", "novel_both", "novel_into_existing")


@dataclass(frozen=True)
class BaselineSettings:
    """Chapter 6's sizes at one scale (:data:`BASELINE_SETTINGS`).

    Attributes:
        draws: random draws of each hierarchy.
        regression_steps: Adam steps of the Taskonomy regressors (16 pairs a step).
        pair_steps, pair_batch: Adam steps and pairs per step of the hierarchy classifiers.
        box_steps: Adam steps of the hierarchy boxes (chapter 4's).
        inat_within: the iNaturalist classes used (``None``: all; chapter 4's).
        mlp_representations: the representations the MLP classifier is trained on.
    """

    draws: int
    regression_steps: int
    pair_steps: int
    pair_batch: int
    box_steps: int
    inat_within: tuple[str, ...] | None
    mlp_representations: tuple[str, ...]


#: Per scale: ``fast`` (five small iNaturalist classes, as in chapter 4: their names encode in
#: seconds), ``book`` (minutes on two CPU cores), ``paper`` (the authors' budgets).
BASELINE_SETTINGS: dict[str, BaselineSettings] = {
    "fast": BaselineSettings(
        draws=2,
        regression_steps=150,
        pair_steps=40,
        pair_batch=64,
        box_steps=HIERARCHY_SETTINGS["fast"].steps,
        inat_within=HIERARCHY_SETTINGS["fast"].inat_within,
        mlp_representations=("mu",),
    ),
    "book": BaselineSettings(
        draws=5,
        regression_steps=3000,
        pair_steps=1000,
        pair_batch=64,
        box_steps=HIERARCHY_SETTINGS["book"].steps,
        inat_within=HIERARCHY_SETTINGS["book"].inat_within,
        mlp_representations=("mu",),
    ),
    "paper": BaselineSettings(
        draws=10,
        regression_steps=80_000,
        pair_steps=100_000,
        pair_batch=16,
        box_steps=HIERARCHY_SETTINGS["paper"].steps,
        inat_within=HIERARCHY_SETTINGS["paper"].inat_within,
        mlp_representations=("mu", "mu_sigma2"),
    ),
}


def f1_under_protocols(
    predicted: torch.Tensor, relation: torch.Tensor, split: RelationSplit
) -> tuple[float, ...]:
    """F1 (%) of one draw's ``(N, N)`` bool prediction under each protocol of :data:`SCORED`
    (chapter 6)."""
    return tuple(100 * f1_score(predicted, relation, protocol_pairs(split, p)) for p in SCORED)


def classifier_f1(
    features: torch.Tensor,
    relation: torch.Tensor,
    splits: Sequence[RelationSplit],
    hidden: tuple[int, ...],
    steps: int,
    batch_size: int,
    description: str = "pairs",
) -> np.ndarray:
    """``(R, 6)`` F1 % of a classifier on ``[e_i, e_j]``, one network per draw (chapter 6).

    Each network trains on its draw's training pairs (seed = the draw); its threshold is chosen
    by F1 on the validation pairs from the authors' grid 0.1, ..., 0.9 (columns 0-2, the
    protocols of :data:`SCORED`) and among all cuts (columns 3-5).

    Args:
        features: ``(N, D)`` one representation per dataset.
        relation: ``(N, N)`` 0/1 containment (NaN where unknown).
        splits: the ``R`` draws.
        hidden: the hidden widths (``MLP_HIDDEN`` or ``LINEAR_HIDDEN``).
        steps, batch_size: Adam steps and training pairs per step.
    """
    config = PairConfig(
        hidden=hidden, steps=steps, batch_size=batch_size, seeds=tuple(range(len(splits)))
    )
    model, _ = train_pair_model(
        features, relation, torch.stack([s.train for s in splits]), config, description
    )
    wanted = torch.stack([s.validation | s.test | s.novel_pairs for s in splits])
    probability = predict_pairs(model, features, wanted)  # (R, N, N)
    rows = []
    for r, s in enumerate(splits):
        grid, _ = choose_probability_threshold(probability[r], relation, s.validation)
        anywhere, _ = choose_cut(probability[r], relation, s.validation, below=False)
        rows.append(
            f1_under_protocols(grid.predict(probability[r]), relation, s)
            + f1_under_protocols(anywhere.predict(probability[r]), relation, s)
        )
    return np.array(rows)


def cut_f1(
    scores: Sequence[torch.Tensor],
    relation: torch.Tensor,
    splits: Sequence[RelationSplit],
    below: bool = True,
) -> np.ndarray:
    """``(R, 3)`` F1 % of "score < t" (or ``> t`` with ``below=False``), one ``(N, N)`` score
    per draw, ``t`` the best cut of its training pairs (chapter 6)."""
    rows = []
    for score, s in zip(scores, splits, strict=True):
        cut, _ = choose_cut(score, relation, s.train, below=below)
        rows.append(f1_under_protocols(cut.predict(score), relation, s))
    return np.array(rows)


def asymmetric_f1(
    features: torch.Tensor,
    relation: torch.Tensor,
    splits: Sequence[RelationSplit],
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[np.ndarray, list[float]]:
    """``(R, 3)`` F1 % of Eq. 7 with ``e_0`` the mean of each draw's existing datasets, ``alpha``
    and ``t`` fitted on its training pairs; and the ``R`` alphas chosen (chapter 6)."""
    rows, alphas = [], []
    for s in splits:
        fit = fit_asymmetric(
            features, trivial_embedding(features[s.existing]), relation, s.train, distance
        )
        rows.append(f1_under_protocols(fit.cut.predict(fit.score), relation, s))
        alphas.append(fit.alpha)
    return np.array(rows), alphas


@dataclass(frozen=True)
class HierarchyBaselines:
    """Every baseline on one hierarchy (chapter 6).

    Attributes:
        f1: ``(R, 3)`` F1 % per ``(method, representation)``, thresholds by the paper's rules.
        any_cut: the classifiers' ``(R, 3)`` F1 % with the best cut of the validation pairs.
        alphas: ``(method, representation)`` -> the alpha of Eq. 7 chosen in each draw.
    """

    f1: dict[tuple[str, str], np.ndarray]
    any_cut: dict[tuple[str, str], np.ndarray]
    alphas: dict[tuple[str, str], list[float]]


def hierarchy_baselines(
    experiment: HierarchyExperiment,
    splits: Sequence[RelationSplit],
    settings: BaselineSettings,
    name: str = "",
) -> HierarchyBaselines:
    """The MLP (on ``settings.mlp_representations``) and linear classifiers, Eq. 7's cosine and
    Euclidean distances on ``mu`` and ``[mu, sigma^2]``, the KL divergence and random scores,
    on the draws ``splits`` of ``experiment`` (chapter 6; ``name`` labels progress bars)."""
    relation = experiment.relation
    f1: dict[tuple[str, str], np.ndarray] = {}
    any_cut: dict[tuple[str, str], np.ndarray] = {}
    alphas: dict[tuple[str, str], list[float]] = {}
    for representation in ("mu", "mu_sigma2"):
        features = experiment.representations[representation]
        for method, hidden in (("mlp", MLP_HIDDEN), ("linear", LINEAR_HIDDEN)):
            if method == "mlp" and representation not in settings.mlp_representations:
                continue
            both = classifier_f1(
                features,
                relation,
                splits,
                hidden,
                settings.pair_steps,
                settings.pair_batch,
                f"{name} {method}",
            )
            f1[method, representation], any_cut[method, representation] = both[:, :3], both[:, 3:]
        for method, distance in (
            ("asym_cosine", cosine_distance_matrix),
            ("asym_euclidean", euclidean_distance_matrix),
        ):
            key = (method, representation)
            f1[key], alphas[key] = asymmetric_f1(features, relation, splits, distance)
    kl = gaussian_kl_matrix(experiment.representations["mu"], experiment.variance)  # (N, N)
    f1["kl", "mu_sigma2"] = cut_f1([kl] * len(splits), relation, splits)
    noise = [random_relation(len(experiment), seed=draw) for draw in range(len(splits))]
    f1["random", "mu"] = cut_f1(noise, relation, splits, below=False)  # in the mu column
    return HierarchyBaselines(f1, any_cut, alphas)


def task2box_f1(
    experiment: HierarchyExperiment, splits: Sequence[RelationSplit], steps: int, name: str = ""
) -> dict[tuple[str, str], np.ndarray]:
    """``("task2box_5d", representation) -> (R, 3)`` F1 %: 5-D boxes on ``mu`` and on
    ``[mu, sigma^2]``, trained on the same draws with chapter 4's recipe and seeds (chapter 6)."""
    found = {}
    for representation in ("mu", "mu_sigma2"):
        overlap, _, _ = train_hierarchy_boxes(
            experiment,
            splits,
            5,
            steps,
            representation=representation,
            description=f"{name} Task2Box {representation}",
        )
        scores = containment_scores(overlap, experiment.relation, splits)
        values = torch.stack([scores.f1[p] for p in SCORED], 1)
        found["task2box_5d", representation] = 100 * values.numpy()
    return found


#: What each recorded hierarchy F1 was computed on, per protocol of :data:`SCORED`.
SCORED_ON: dict[str, str] = {
    "existing": "F1 % on test pairs",
    "novel": "F1 % on novel-existing pairs",
    "novel_into_existing": (
        "F1 % on pairs 'novel inside existing' only (the authors' novel protocol)"
    ),
}

Record = dict[str, float | str | None]
PaperF1 = Mapping[str, tuple[float | None, ...]]


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values))


def hierarchy_records(
    name: str,
    f1: Mapping[tuple[str, str], np.ndarray],
    any_cut: Mapping[tuple[str, str], np.ndarray],
    paper: PaperF1,
    methods: Sequence[str],
) -> dict[str, Record]:
    """Chapter 6's recorded F1 % of one hierarchy: ``key -> {value, std, paper, note}``.

    Each method on its main representation (``[mu, sigma^2]`` for the KL divergence, ``mu``
    otherwise) under every protocol (Task2Box: the authors' novel protocol only, chapter 4
    records the others), the other representation where it was scored, and the classifiers
    with a threshold anywhere.

    Args:
        name: the hierarchy (the keys' prefix).
        f1, any_cut: as in :class:`HierarchyBaselines` (plus ``task2box_5d``).
        paper: the paper's F1 % per method (existing mu, existing [mu, sigma^2], novel mu,
            novel [mu, sigma^2]), ``None`` where it has none.
        methods: the methods recorded.
    """
    draws = len(next(iter(f1.values())))
    records: dict[str, Record] = {}
    parts = list(SCORED_ON)
    for method in methods:
        main = "mu_sigma2" if method == "kl" else "mu"
        kind = "[mu, sigma^2] Gaussians" if main == "mu_sigma2" else "mu"
        for part in parts[2:] if method == "task2box_5d" else parts:
            column = parts.index(part)
            value, std = _mean_std(f1[method, main][:, column])
            records[f"{name}.{method}.f1_{part}"] = {
                "value": value,
                "std": std,
                "paper": paper[method][2 * (part != "existing") + (main == "mu_sigma2")],
                "note": f"{SCORED_ON[part]}; {kind}; {draws} draws",
            }
            if main == "mu" and part != "novel_into_existing" and (method, "mu_sigma2") in f1:
                value, std = _mean_std(f1[method, "mu_sigma2"][:, column])
                records[f"{name}.{method}.f1_{part}_mu_sigma2"] = {
                    "value": value,
                    "std": std,
                    "paper": paper[method][2 * (part == "novel") + 1],
                    "note": f"F1 %, [mu, sigma^2]; {draws} draws",
                }
    for (method, representation), values in any_cut.items():
        suffix = "" if representation == "mu" else "_" + representation
        for column, part in enumerate(("existing", "novel")):
            found = values[:, column]
            value, std = _mean_std(found[np.isfinite(found)])
            records[f"{name}.{method}.f1_{part}{suffix}_any_threshold"] = {
                "value": value,
                "std": std,
                "note": "threshold = best cut of the validation pairs' probabilities, "
                "not the grid 0.1..0.9",
            }
    return records
