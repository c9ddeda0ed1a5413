"""Transfer affinities between tasks, learned as boxes: the protocol of chapter 5, for any table.

An :class:`AffinityExperiment` is a square, asymmetric matrix ``affinity[target, source]`` (how
well a network trained on the *source* task serves as the start for the *target* task; NaN where
it was never measured) and one representation per task. Task2Box (§4.1.2, §5.2, supplement
§9.2) learns a box per task from its representation so that ``d_box(target, source)`` reproduces
the affinity, and scores the boxes as follows:

* :func:`affinity_splits` -- in each random **draw**, some tasks are held out as *novel*; the
  known pairs among the other (*existing*) tasks are split into training, validation and test
  pairs (:func:`~taskspace.boxes.evaluate.split_relations`, seeded by the draw);
* :func:`fit_boxes` -- one Task2Box network per draw, all trained side by side on their training
  pairs, each kept at its step of lowest validation error; the held-out tasks are placed by one
  forward pass afterwards (:func:`fit_perturbed` adds networks on inputs moved by one rounding);
* :func:`draw_scores` -- Spearman's rho per draw: pooled over the test pairs of existing tasks,
  pooled over the pairs between a novel and an existing task (both directions), and *within*
  each target (how well the sources of one target are ordered); :func:`mean_std_finite` gives
  the mean and standard deviation over draws.

Around the protocol: :func:`target_means` (a predictor that knows only each target's level),
:func:`scrambled_novel_rho` (novel tasks scored against permuted existing boxes),
:func:`fit_map` (boxes of every task fitted to every known pair: a map, not an evaluation),
:func:`within_target_rho`, :func:`best_sources` and :func:`perturbation_shifts`.

Nothing here knows which tasks they are; :mod:`taskspace.taskonomy` is the Taskonomy
experiment built on it (chapters 5 and 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from taskspace.boxes.evaluate import (
    RelationSplit,
    SpearmanScores,
    spearman,
    spearman_per_row,
    spearman_scores,
    split_relations,
    tanh_inverse,
    tanh_rescale,
)
from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.boxes.losses import LossWeights
from taskspace.boxes.model import HIDDEN_SIZES, embed
from taskspace.boxes.sensitivity import metric_shift, round_off_noise
from taskspace.boxes.train import History, TrainConfig, train_boxes, train_on_splits

__all__ = [
    "SCORE_FIELDS",
    "AffinityExperiment",
    "AffinityFit",
    "affinity_splits",
    "best_sources",
    "draw_scores",
    "fit_boxes",
    "fit_map",
    "fit_perturbed",
    "mean_std_finite",
    "perturbation_shifts",
    "scrambled_novel_rho",
    "target_means",
    "within_target_rho",
]

#: The fields of one draw's scores (:class:`~taskspace.boxes.evaluate.SpearmanScores`): the four
#: rank correlations, then how many targets entered each within-target mean.
SCORE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SpearmanScores))

#: Per draw, ``field -> (R,)`` array (see :data:`SCORE_FIELDS`).
Scores = dict[str, np.ndarray]


@dataclass(frozen=True)
class AffinityExperiment:
    """Tasks, their affinities and their representations (chapter 5).

    Attributes:
        names: ``N`` distinct task names, in the order of the matrices.
        affinity: ``(N, N)`` float64, ``[target, source]``; NaN where unknown (the diagonal
            and any unmeasured pair). A pair is known exactly when its entry is finite.
        features: ``(N, d)`` floating point, one representation per task (what the network
            maps to a box).
        rescale_k: when given, the boxes are trained on ``tanh(k x)`` (supplement Eq. 8, for
            small, skewed affinities) and predictions are mapped back with the inverse; ``None``
            trains on the affinities as they are.
    """

    names: tuple[str, ...]
    affinity: torch.Tensor
    features: torch.Tensor
    rescale_k: float | None = None

    def __post_init__(self) -> None:
        n = len(self.names)
        if len(set(self.names)) != n or n < 3:
            raise ValueError(f"need at least 3 distinct task names, got {list(self.names)}")
        if self.affinity.shape != (n, n) or self.affinity.dtype != torch.float64:
            raise ValueError(
                f"affinity must be ({n}, {n}) float64 [target, source] for {n} names, "
                f"got {self.affinity.dtype} {tuple(self.affinity.shape)}"
            )
        if (
            self.features.dim() != 2
            or self.features.shape[0] != n
            or not self.features.is_floating_point()
        ):
            raise ValueError(
                f"features must be a floating ({n}, d) tensor, one row per task, "
                f"got {self.features.dtype} {tuple(self.features.shape)}"
            )
        if not torch.isfinite(self.features).all():
            raise ValueError("features contain NaN or infinite values")
        if torch.isinf(self.affinity).any():
            raise ValueError("affinity contains infinite values (unknown pairs are NaN)")
        if self.rescale_k is not None and not self.rescale_k > 0:
            raise ValueError(f"rescale_k must be > 0 or None, got {self.rescale_k}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def known(self) -> torch.Tensor:
        """``(N, N)`` bool: the pairs whose affinity is known."""
        return torch.isfinite(self.affinity)

    @property
    def target(self) -> torch.Tensor:
        """``(N, N)`` float64: what the boxes are trained to reproduce (rescaled when
        ``rescale_k`` is set; NaN where unknown)."""
        if self.rescale_k is None:
            return self.affinity
        return tanh_rescale(self.affinity, self.rescale_k)

    def to_affinity(self, predicted: torch.Tensor) -> torch.Tensor:
        """``(..., N, N)`` predictions on the training scale (e.g. ``d_box``) -> float64
        affinities on the original scale (the inverse of the rescaling, if any)."""
        if self.rescale_k is None:
            return predicted.double()
        return tanh_inverse(predicted, self.rescale_k).double()

    def index(self, names: Sequence[str]) -> list[int]:
        """The positions of ``names``; a clear error for a name that is not a task here."""
        unknown = [name for name in names if name not in self.names]
        if unknown:
            raise ValueError(f"unknown task(s) {unknown}; the tasks are {list(self.names)}")
        return [self.names.index(name) for name in names]


def affinity_splits(
    experiment: AffinityExperiment,
    draws: int,
    novel: int,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> list[RelationSplit]:
    """The ``draws`` random splits of the protocol, draw ``r`` seeded by ``r`` (chapter 5).

    Args:
        experiment: the tasks and affinities.
        draws: how many random draws ``R``.
        novel: how many tasks each draw holds out.
        fractions: shares of the known pairs among existing tasks for training, validation and
            test (at most 1 in sum; e.g. ``(0.5, 0.1, 0.4)`` trains on half).
    """
    if draws < 1:
        raise ValueError(f"need at least one draw, got {draws}")
    return [
        split_relations(experiment.affinity, novel=novel, fractions=fractions, seed=draw)
        for draw in range(draws)
    ]


@dataclass(frozen=True)
class AffinityFit:
    """``R`` Task2Box networks fitted on ``R`` splits (chapter 5).

    Attributes:
        predicted: ``(R, N, N)`` float64 predicted affinities on the original scale, every task
            included (novel ones placed by one forward pass).
        boxes: ``(R, N, k)`` the boxes of every task.
        history: the training :class:`~taskspace.boxes.train.History`; its per-network values
            have one column per network in the order trained (with :func:`fit_perturbed`, the
            first ``R`` are the unperturbed ones).
    """

    predicted: torch.Tensor
    boxes: Boxes
    history: History


def fit_boxes(
    experiment: AffinityExperiment,
    splits: Sequence[RelationSplit],
    box_dim: int,
    steps: int,
    *,
    weights: LossWeights | tuple[LossWeights, ...] | None = None,
    features: torch.Tensor | None = None,
    seeds: Sequence[int] | None = None,
    hidden: tuple[int, ...] = HIDDEN_SIZES,
    description: str = "Task2Box",
) -> AffinityFit:
    """One network per split, trained side by side; each kept at its best validation step.

    Network ``r`` sees the existing tasks of ``splits[r]`` and their training pairs; its
    validation error (every 50 steps) picks the step it is returned at. Then every task is
    embedded and ``d_box`` of every pair is mapped back to the affinity's scale (chapter 5).

    Args:
        experiment: the tasks, affinities and representations.
        splits: ``R`` splits with the same number of novel tasks (:func:`affinity_splits`).
        box_dim: ``k``.
        steps: full-batch Adam steps.
        weights: the loss multipliers, or a tuple of ``R`` (one per network, e.g. an
            ablation); ``None``: :class:`~taskspace.boxes.train.TrainConfig`'s default.
        features: ``(R, N, d)`` inputs per network instead of the experiment's features.
        seeds: ``R`` initialisation seeds (default ``0 .. R - 1``).
        hidden: widths of the network's hidden layers (Task2Box's by default).
        description: label of the progress bar.
    """
    config = TrainConfig(
        box_dim=box_dim,
        steps=steps,
        hidden=hidden,
        seeds=tuple(range(len(splits)) if seeds is None else seeds),
        **({} if weights is None else {"weights": weights}),
    ).keeping_best()
    _, boxes, history = train_on_splits(
        experiment.features if features is None else features,
        experiment.target.float(),
        splits,
        config,
        validation=True,
        description=description,
    )
    return AffinityFit(experiment.to_affinity(overlap_matrix(boxes)), boxes, history)


def draw_scores(
    experiment: AffinityExperiment, predicted: torch.Tensor, splits: Sequence[RelationSplit]
) -> Scores:
    """Spearman's rho of each draw: ``field -> (R,)`` for every field of :data:`SCORE_FIELDS`.

    Args:
        experiment: the true affinities.
        predicted: ``(R, N, N)`` predicted affinities (any increasing function of them gives
            the same ranks), one per split.
        splits: the ``R`` splits.
    """
    if predicted.dim() != 3 or predicted.shape[0] != len(splits):
        raise ValueError(f"predicted must be (R={len(splits)}, N, N), got {tuple(predicted.shape)}")
    per_draw = [
        spearman_scores(predicted[r], experiment.affinity, split) for r, split in enumerate(splits)
    ]
    return {name: np.array([getattr(s, name) for s in per_draw]) for name in SCORE_FIELDS}


def mean_std_finite(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation over draws of the finite values (a draw may have no
    defined rho, e.g. no novel task with affinities as a target); NaN when none is finite."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if not len(finite):
        return float("nan"), float("nan")
    return float(finite.mean()), float(finite.std())


def fit_perturbed(
    experiment: AffinityExperiment,
    splits: Sequence[RelationSplit],
    box_dim: int,
    steps: int,
    perturbations: int,
    hidden: tuple[int, ...] = HIDDEN_SIZES,
    description: str = "Task2Box",
) -> tuple[AffinityFit, list[Scores]]:
    """:func:`fit_boxes`, plus the same networks retrained on inputs moved by one rounding.

    Perturbation ``p`` (1 .. ``perturbations``) moves every feature to a neighbouring float
    (:func:`~taskspace.boxes.sensitivity.round_off_noise` with seed ``p``); same splits, same
    seeds. All ``R (1 + P)`` networks train in one batch (chapter 5's section on sensitivity);
    ``hidden`` as for :func:`fit_boxes`.

    Returns:
        The fit of the ``R`` unperturbed networks (its history holds all networks' columns,
        the unperturbed ones first) and, per perturbation, its :func:`draw_scores`.
    """
    if perturbations < 0:
        raise ValueError(f"perturbations must be >= 0, got {perturbations}")
    r = len(splits)
    noisy = [round_off_noise(experiment.features, seed=p) for p in range(1, perturbations + 1)]
    inputs = torch.stack([experiment.features] * r + [n for n in noisy for _ in splits])
    fit = fit_boxes(
        experiment,
        list(splits) * (1 + perturbations),
        box_dim,
        steps,
        features=inputs,
        seeds=list(range(r)) * (1 + perturbations),
        hidden=hidden,
        description=description,
    )
    perturbed = [
        draw_scores(experiment, fit.predicted[(1 + p) * r : (2 + p) * r], splits)
        for p in range(perturbations)
    ]
    return AffinityFit(fit.predicted[:r], fit.boxes[:r], fit.history), perturbed


def perturbation_shifts(reference: np.ndarray, perturbed: Sequence[np.ndarray]) -> torch.Tensor:
    """``(P,)`` how far the mean over draws of one score moves under each perturbation.

    Draws where the score is undefined (NaN) on the reference or on any perturbation are left
    out of every mean (chapter 5).

    Args:
        reference: ``(R,)`` a score per draw (a field of :func:`draw_scores`).
        perturbed: ``P`` arrays ``(R,)``, the same score after retraining on perturbed inputs.
    """
    reference_t = torch.as_tensor(np.asarray(reference, dtype=float))
    moved = torch.as_tensor(np.array([np.asarray(p, dtype=float) for p in perturbed]))
    finite = torch.isfinite(reference_t) & torch.isfinite(moved).all(0)
    return metric_shift(reference_t[finite], moved[:, finite])


def target_means(experiment: AffinityExperiment, split: RelationSplit) -> torch.Tensor:
    """``(N, N)``: every pair predicted by its target's mean training affinity (chapter 5).

    It knows no representation and no source: a target without training pairs (a novel one)
    gets the mean of all training pairs. Pooled over pairs it shows how much of a rank
    correlation the targets' levels alone give.
    """
    actual = experiment.affinity
    training = torch.where(split.train, actual, torch.nan)
    row_mean = training.nanmean(1).nan_to_num(actual[split.train].mean().item())
    return row_mean[:, None].expand_as(actual)


def scrambled_novel_rho(
    experiment: AffinityExperiment,
    boxes: Boxes,
    split: RelationSplit,
    permutations: int = 20,
    seed: int = 0,
) -> float:
    """Pooled rho on the novel pairs after permuting the existing tasks' boxes (chapter 5).

    Every existing task is scored with another existing task's box, the novel tasks keep
    theirs; the mean over ``permutations`` random permutations. It measures what an
    evaluation that mixes up the existing boxes would report.

    Args:
        experiment: the true affinities.
        boxes: ``(N, k)`` the boxes of one draw's network.
        split: that draw's split.
        permutations: how many random permutations to average.
        seed: seeds them (a ``torch.Generator``).
    """
    generator = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(permutations):
        shuffled = split.existing[torch.randperm(len(split.existing), generator=generator)]
        order = torch.arange(len(experiment))
        order[split.existing] = shuffled
        predicted = experiment.to_affinity(overlap_matrix(boxes[order]))
        values.append(spearman(predicted, experiment.affinity, split.novel_pairs))
    return float(np.mean(values))


def fit_map(
    experiment: AffinityExperiment,
    box_dim: int,
    steps: int,
    seed: int = 0,
    hidden: tuple[int, ...] = HIDDEN_SIZES,
    description: str = "map",
) -> Boxes:
    """``(N, k)`` boxes of every task, fitted to every known pair (chapter 5's map).

    No task or pair is held out: a picture of the relation, not an evaluation. With no
    validation pairs, the network is kept at its step of lowest error on its own pairs
    (``seed`` initialises it, ``hidden`` as for :func:`fit_boxes`).
    """
    everything = split_relations(experiment.affinity, novel=0, fractions=(1.0, 0.0, 0.0), seed=0)
    config = TrainConfig(box_dim=box_dim, steps=steps, hidden=hidden, seeds=seed).keeping_best()
    model, _ = train_boxes(
        experiment.features,
        experiment.target.float(),
        everything.train,
        everything.train,
        config=config,
        description=description,
    )
    return embed(model, experiment.features)


def within_target_rho(experiment: AffinityExperiment, predicted: torch.Tensor) -> torch.Tensor:
    """``(N,)`` float64: per target, Spearman's rho of ``predicted`` over all its known
    sources (NaN for a target with fewer than 3); ``predicted`` is ``(N, N)`` (chapter 5)."""
    pairs = experiment.known & ~torch.eye(len(experiment), dtype=torch.bool)
    return spearman_per_row(predicted.double(), experiment.affinity, pairs)


def best_sources(
    experiment: AffinityExperiment, scores: torch.Tensor, target: int, top: int
) -> list[int]:
    """The ``top`` sources of ``target`` with the largest ``scores`` ``(N, N)``, never the
    target itself nor a source whose score is NaN (chapter 5)."""
    row = scores[target].detach().double().clone().nan_to_num(-torch.inf)
    row[target] = -torch.inf
    return torch.argsort(row, descending=True)[:top].tolist()
