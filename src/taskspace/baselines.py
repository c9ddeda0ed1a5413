"""The baselines Task2Box is compared with (paper §4.2; chapter 6), and one it lacks.

Every baseline produces an ``(N, N)`` score for the relation ``d(D_i, D_j)`` and is scored by
the functions of :mod:`taskspace.boxes.evaluate` on the same :class:`RelationSplit` as Task2Box.

Learned from pairs (trained on the training pairs of a split, several draws side by side):

* :class:`PairModel` / :func:`train_pair_model` / :func:`predict_pairs` -- a **linear** model or the
  authors' **4-layer MLP** on the concatenation ``[e_i, e_j]`` (``2D -> 1024 -> 256 -> 128 -> 1``,
  each hidden layer ``Linear -> ReLU -> BatchNorm``, a sigmoid output). Classifiers train with
  binary cross-entropy on ``d in {0, 1}``; the regression versions (Taskonomy) with the squared
  error on the tanh-rescaled affinity, as in the authors' code. Adam, learning rate ``1e-3``.

Handcrafted, nothing trained (a threshold, and for Eq. 7 a weight ``alpha``, fitted on the
training pairs by F1):

* KL divergence between diagonal Gaussians ``N(mu, diag sigma^2)``:
  :func:`~taskspace.represent.distances.gaussian_kl_matrix`; "``i`` inside ``j``" iff
  ``KL(D_i || D_j) < t``.
* Asymmetric cosine / Euclidean distance (Eq. 7): ``d(e_i, e_j) - alpha d(e_i, e_0)`` with a
  trivial embedding ``e_0`` (:func:`trivial_embedding`), :func:`fit_asymmetric`.
* Random scores, :func:`random_relation`.

Without any representation (for Taskonomy's affinities):

* :func:`fit_additive_effects` -- ``log d(i, j) = a_i + b_j``: a per-target and a per-source
  effect fitted by least squares on the training pairs; a novel dataset gets the mean effect.
  It shows how much of a pooled rank correlation needs no knowledge of the tasks at all.

Thresholds: :func:`choose_cut` finds the best F1 over *every* cut of a score (exact, sorted),
:func:`choose_probability_threshold` picks from the grid 0.1, ..., 0.9 as the authors' code does
for its classifiers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from taskspace.boxes.evaluate import THRESHOLDS, best_threshold
from taskspace.boxes.model import HIDDEN_SIZES, MemberBatchNorm, MemberLinear
from taskspace.progress import progress
from taskspace.represent.distances import cosine_distance_matrix

__all__ = [
    "ALPHAS",
    "LINEAR_HIDDEN",
    "MLP_HIDDEN",
    "AdditiveEffects",
    "AsymmetricFit",
    "Cut",
    "PairConfig",
    "PairModel",
    "choose_cut",
    "choose_probability_threshold",
    "fit_additive_effects",
    "fit_asymmetric",
    "predict_pairs",
    "random_relation",
    "train_pair_model",
    "trivial_embedding",
]

#: Hidden widths of the authors' MLP baseline (``MLPModel``): the Task2Box trunk, then one output.
MLP_HIDDEN: tuple[int, ...] = HIDDEN_SIZES
#: No hidden layer: the linear baseline (``LinearModel``: one ``Linear`` and a sigmoid).
LINEAR_HIDDEN: tuple[int, ...] = ()
#: Candidate weights ``alpha`` of the complexity term of Eq. 7 (0 = the symmetric distance).
ALPHAS: tuple[float, ...] = (0.0, 0.05, 0.15, 0.3, 0.5, 1.0, 2.0)


# ---------------------------------------------------------------------------------------------
# Classifiers and regressors on [e_i, e_j]


@dataclass(frozen=True)
class PairConfig:
    """How to train a :class:`PairModel` (chapter 6).

    Attributes:
        hidden: hidden widths; :data:`MLP_HIDDEN` (the 4-layer MLP) or :data:`LINEAR_HIDDEN`.
        loss: ``"bce"`` (classifier, targets in ``{0, 1}``) or ``"mse"`` (regression of targets
            in ``[0, 1]``, e.g. tanh-rescaled affinities), both on the sigmoid output.
        steps: Adam steps.
        batch_size: training pairs per step and network, drawn uniformly with replacement
            (the authors: 16, shuffled epochs).
        learning_rate: Adam's (1e-3).
        seeds: one per network trained side by side; network ``r``'s initial weights and its
            stream of batches come from generators seeded with ``seeds[r]``.
    """

    hidden: tuple[int, ...] = MLP_HIDDEN
    loss: Literal["bce", "mse"] = "bce"
    steps: int = 2000
    batch_size: int = 16
    learning_rate: float = 1e-3
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if self.loss not in ("bce", "mse"):
            raise ValueError(f"loss must be 'bce' or 'mse', got {self.loss!r}")
        if min(self.steps, self.batch_size, len(self.seeds)) < 1 or self.batch_size < 2:
            raise ValueError(f"need steps >= 1, batch_size >= 2 and a seed: {self}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


class PairModel(nn.Module):
    """``R`` networks side by side mapping a pair ``[e_i, e_j]`` to one logit (chapter 6).

    Layers are those of :class:`~taskspace.boxes.model.BoxModel` (stacked weights, each member
    initialised like ``nn.Linear`` from its own generator, BatchNorm over the batch of pairs).

    Args:
        in_features: ``D``, the size of one dataset's representation (the input is ``2 D``).
        hidden: hidden widths (``()`` for a linear model).
        seeds: one per member.
    """

    def __init__(self, in_features: int, hidden: Sequence[int], seeds: Sequence[int]) -> None:
        super().__init__()
        if in_features < 1 or not seeds or (hidden and min(hidden) < 1):
            raise ValueError(f"bad PairModel: in_features={in_features}, hidden={hidden}")
        generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.in_features, self.members = in_features, len(seeds)
        widths = (2 * in_features, *hidden)
        self.layers = nn.ModuleList(MemberLinear(a, b, generators) for a, b in pairwise(widths))
        self.norms = nn.ModuleList(MemberBatchNorm(self.members, width) for width in hidden)
        self.output = MemberLinear(widths[-1], 1, generators)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """``(R, B, D)`` representations of ``D_i`` and of ``D_j`` -> ``(R, B)`` logits."""
        hidden = torch.cat([left, right], dim=-1)
        for layer, norm in zip(self.layers, self.norms, strict=True):
            hidden = norm(torch.relu(layer(hidden)))
        return self.output(hidden).squeeze(-1)


def _pair_lists(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(R, N, N)`` bool -> flat pair indices ``(R, P)`` (padded with 0) and counts ``(R,)``."""
    flat = masks.flatten(1)
    counts = flat.sum(1)
    order = torch.argsort((~flat).to(torch.int8), dim=1, stable=True)  # selected pairs first
    return order[:, : int(counts.max())], counts


def train_pair_model(
    features: torch.Tensor,
    relation: torch.Tensor,
    train_masks: torch.Tensor,
    config: PairConfig,
    description: str = "pairs",
) -> tuple[PairModel, torch.Tensor]:
    """Train ``R`` :class:`PairModel` networks on the training pairs of ``R`` splits (chapter 6).

    Args:
        features: ``(N, D)`` one representation per dataset (novel ones may be included: only
            datasets in training pairs are ever seen).
        relation: ``(N, N)`` targets in ``[0, 1]`` (NaN outside the masks is fine).
        train_masks: ``(R, N, N)`` bool, the training pairs of each network.
        config: ``config.seeds`` must hold ``R`` seeds.

    Returns:
        The networks in eval mode, and the training loss ``(steps, R)`` (each network's mean
        over its batch).
    """
    r, n = train_masks.shape[0], features.shape[0]
    if train_masks.shape[1:] != (n, n) or relation.shape != (n, n):
        raise ValueError(
            f"features (N, D), relation (N, N), masks (R, N, N) disagree: {tuple(features.shape)}, "
            f"{tuple(relation.shape)}, {tuple(train_masks.shape)}"
        )
    if len(config.seeds) != r:
        raise ValueError(f"{r} masks but {len(config.seeds)} seeds")
    if not torch.isfinite(relation[train_masks.any(0)]).all():
        raise ValueError("the training masks select unknown (NaN) relations")
    pairs, counts = _pair_lists(train_masks)
    if counts.min() < 1:
        raise ValueError("every network needs at least one training pair")
    model = PairModel(features.shape[1], config.hidden, config.seeds).to(features)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)
    generators = [torch.Generator().manual_seed(seed + 1_000_003) for seed in config.seeds]
    targets = relation.nan_to_num(0.0).to(features).flatten()
    losses = torch.empty(config.steps, r)
    model.train()
    for step in progress(range(config.steps), description):
        draw = torch.stack(
            [
                torch.randint(int(c), (config.batch_size,), generator=g)
                for c, g in zip(counts, generators, strict=True)
            ]
        )
        chosen = pairs.gather(1, draw)  # (R, B) flat pair indices
        logits = model(features[chosen // n], features[chosen % n])
        y = targets[chosen]
        if config.loss == "bce":
            per_member = F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(1)
        else:
            per_member = (torch.sigmoid(logits) - y).pow(2).mean(1)
        optimizer.zero_grad(set_to_none=True)
        per_member.sum().backward()  # members share no weights: each gets its own gradient
        optimizer.step()
        losses[step] = per_member.detach()
    return model.eval(), losses


def predict_pairs(
    model: PairModel, features: torch.Tensor, masks: torch.Tensor, chunk: int = 4096
) -> torch.Tensor:
    """Sigmoid outputs of ``R`` trained networks on the selected pairs (chapter 6).

    Args:
        model: from :func:`train_pair_model` (``R`` members).
        features: ``(N, D)``, novel datasets included (one forward pass, BatchNorm in eval mode).
        masks: ``(R, N, N)`` bool, the pairs to predict for each member.
        chunk: pairs per member per forward pass (bounds memory).

    Returns:
        ``(R, N, N)`` float64 in ``(0, 1)`` on the selected pairs, NaN elsewhere.
    """
    r, n = masks.shape[0], features.shape[0]
    if r != model.members or masks.shape[1:] != (n, n):
        raise ValueError(f"masks must be ({model.members}, {n}, {n}), got {tuple(masks.shape)}")
    pairs, counts = _pair_lists(masks)
    out = torch.full((r, n * n), torch.nan, dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, pairs.shape[1], chunk):
                part = pairs[:, start : start + chunk]
                logits = model(features[part // n], features[part % n])
                keep = torch.arange(start, start + part.shape[1])[None, :] < counts[:, None]
                values = torch.sigmoid(logits).double().cpu()
                for member in range(r):
                    out[member, part[member][keep[member]]] = values[member][keep[member]]
    finally:
        model.train(was_training)
    return out.reshape(r, n, n)


# ---------------------------------------------------------------------------------------------
# Thresholds


@dataclass(frozen=True)
class Cut:
    """A decision rule on a score: "``i`` inside ``j``" iff ``score < threshold`` (``below``) or
    ``score > threshold`` (chapter 6)."""

    threshold: float
    below: bool

    def predict(self, score: torch.Tensor) -> torch.Tensor:
        """Bool tensor of ``score``'s shape (NaN scores are never positive)."""
        return score < self.threshold if self.below else score > self.threshold


def choose_cut(
    score: torch.Tensor, actual: torch.Tensor, mask: torch.Tensor, below: bool
) -> tuple[Cut, float]:
    """The cut of ``score`` with the best F1 on the ``mask`` pairs, over every possible cut.

    Sorting the selected scores, predicting the top ``k`` positive for every ``k`` at once
    (cumulative true positives) and keeping only cuts between distinct values makes this exact
    and ``O(P log P)``. The threshold is the midpoint between the last score taken and the next.

    Args:
        score: ``(N, N)`` (or any shape of ``mask``), finite on ``mask``.
        actual: 0/1 relation of the same shape.
        mask: bool, the pairs to fit on (the training pairs).
        below: small scores mean "inside" (distances, KL) when True; large ones otherwise.

    Returns:
        ``(cut, its F1 on the mask pairs)``; with no positive pair, a cut that predicts none.
    """
    s = score[mask].double()
    y = actual[mask].double()
    if not torch.isfinite(s).all():
        raise ValueError("scores must be finite on the mask")
    signed = -s if below else s
    order = torch.argsort(signed, descending=True)
    ordered, hits = signed[order], y[order]
    true_positive = hits.cumsum(0)
    k = torch.arange(1, len(s) + 1, dtype=torch.float64)
    f1 = 2 * true_positive / (k + y.sum())
    distinct = torch.ones_like(ordered, dtype=torch.bool)
    distinct[:-1] = ordered[:-1] > ordered[1:]  # a cut after position k separates values
    f1 = torch.where(distinct & (true_positive > 0), f1, torch.zeros_like(f1))
    if len(s) == 0 or f1.max() == 0:
        top = float(ordered[0]) if len(s) else 0.0
        return Cut(-(top + 1.0) if below else top + 1.0, below), 0.0
    best = int(torch.argmax(f1))  # first maximum: the fewest positives among ties
    after = float(ordered[best + 1]) if best + 1 < len(s) else float(ordered[best]) - 1.0
    middle = (float(ordered[best]) + after) / 2
    return Cut(-middle if below else middle, below), float(f1[best])


def choose_probability_threshold(
    probability: torch.Tensor,
    actual: torch.Tensor,
    mask: torch.Tensor,
    thresholds: Sequence[float] = THRESHOLDS,
) -> tuple[Cut, float]:
    """The threshold from ``thresholds`` with the best F1 of ``probability > t`` (authors' code).

    Returns:
        ``(cut, its F1)``; ties go to the smallest threshold.
    """
    threshold, f1 = best_threshold(lambda t: probability > t, actual, mask, thresholds)
    return Cut(threshold, below=False), f1


# ---------------------------------------------------------------------------------------------
# Handcrafted asymmetric distances


def trivial_embedding(features: torch.Tensor) -> torch.Tensor:
    """``(D,)`` the embedding ``e_0`` of a trivial task for Eq. 7: the mean of ``(N, D)`` rows.

    Task2Vec's trivial embedding is the Fisher embedding of a task that carries no
    information. A mean (or ``[mu, sigma^2]``) representation has no such task; its analogue is
    the dataset that contains everything, the union of all datasets, whose class-prototype mean
    is the mean of the datasets' means (equal weights). Chapter 6 passes the *existing*
    datasets' rows only, so nothing about novel datasets is used.
    """
    if features.dim() != 2 or features.shape[0] < 1:
        raise ValueError(f"features must be (N, D) with N >= 1, got {tuple(features.shape)}")
    return features.double().mean(0)


@dataclass(frozen=True)
class AsymmetricFit:
    """Eq. 7 fitted on training pairs: the weight, the cut and the score of every pair (ch. 6).

    Attributes:
        alpha: the chosen weight of the complexity term.
        cut: predicts "inside" iff ``score < cut.threshold``.
        train_f1: F1 of the rule on the pairs it was fitted on.
        score: ``(N, N)`` float64 ``d(e_i, e_j) - alpha d(e_i, e_0)`` for all datasets.
    """

    alpha: float
    cut: Cut
    train_f1: float
    score: torch.Tensor


def fit_asymmetric(
    features: torch.Tensor,
    trivial: torch.Tensor,
    actual: torch.Tensor,
    train_mask: torch.Tensor,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = cosine_distance_matrix,
    alphas: Sequence[float] = ALPHAS,
) -> AsymmetricFit:
    """Eq. 7 with ``alpha`` and the threshold chosen by F1 on the training pairs (chapter 6).

    Args:
        features: ``(N, D)`` all datasets (novel ones are scored, never fitted on).
        trivial: ``(D,)`` from :func:`trivial_embedding`.
        actual: ``(N, N)`` 0/1 relation (NaN where unknown).
        train_mask: ``(N, N)`` bool.
        distance: :func:`~taskspace.represent.distances.cosine_distance_matrix` or
            :func:`~taskspace.represent.distances.euclidean_distance_matrix`.
        alphas: the candidates (ties go to the first).
    """
    symmetric = distance(features, features)  # (N, N)
    complexity = distance(features, trivial[None, :].to(features))  # (N, 1)
    best: AsymmetricFit | None = None
    for alpha in alphas:
        score = symmetric - alpha * complexity
        cut, f1 = choose_cut(score, actual, train_mask, below=True)
        if best is None or f1 > best.train_f1:
            best = AsymmetricFit(float(alpha), cut, f1, score)
    if best is None:
        raise ValueError("alphas is empty")
    return best


def random_relation(n: int, seed: int) -> torch.Tensor:
    """``(n, n)`` float64 uniform in ``[0, 1)``: the random baseline's probability / affinity."""
    return torch.rand(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# Additive task effects


@dataclass(frozen=True)
class AdditiveEffects:
    """``value(i, j) ~ row[i] + column[j]`` (chapter 6): Taskonomy's ``[target, source]`` log
    affinity as a target effect plus a source effect.

    Attributes:
        row, column: ``(N,)`` float64 effects; datasets without training pairs in that role
            carry the mean effect of those with pairs. Only sums ``row[i] + column[j]`` are
            determined (a constant can move from one side to the other).
    """

    row: torch.Tensor
    column: torch.Tensor

    def predict(self) -> torch.Tensor:
        """``(N, N)`` float64 ``row[i] + column[j]``."""
        return self.row[:, None] + self.column[None, :]


def fit_additive_effects(values: torch.Tensor, mask: torch.Tensor) -> AdditiveEffects:
    """Least squares ``values[i, j] ~ row[i] + column[j]`` over the ``mask`` pairs (chapter 6).

    No representation is used: a pair is known only by which row and which column it is in.
    Solved as a linear system with one indicator column per row and per column (minimum-norm
    solution, ``torch.linalg.lstsq`` with the SVD driver). A row (column) with no pair in the
    mask -- a novel dataset -- gets the mean of the fitted row (column) effects; where the
    pairs split into disconnected groups, sums across groups are not identified.

    Args:
        values: ``(N, N)``, e.g. the log of Taskonomy's ``[target, source]`` affinities.
        mask: ``(N, N)`` bool, the training pairs (finite values).
    """
    n = values.shape[0]
    if values.shape != (n, n) or mask.shape != (n, n):
        raise ValueError(
            f"values and mask must be (N, N), got {tuple(values.shape)}, {tuple(mask.shape)}"
        )
    rows, columns = mask.nonzero(as_tuple=True)
    if len(rows) == 0:
        raise ValueError("no training pair")
    y = values[rows, columns].double().cpu()
    if not torch.isfinite(y).all():
        raise ValueError("the mask selects non-finite values")
    design = torch.zeros(len(rows), 2 * n, dtype=torch.float64)
    design[torch.arange(len(rows)), rows.cpu()] = 1.0
    design[torch.arange(len(rows)), n + columns.cpu()] = 1.0
    solution = torch.linalg.lstsq(design, y[:, None], driver="gelsd").solution.squeeze(1)
    row, column = solution[:n].clone(), solution[n:].clone()
    seen_rows, seen_columns = mask.any(1).cpu(), mask.any(0).cpu()
    row[~seen_rows] = row[seen_rows].mean()
    column[~seen_columns] = column[seen_columns].mean()
    return AdditiveEffects(row=row, column=column)
