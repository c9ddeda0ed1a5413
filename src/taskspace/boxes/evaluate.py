"""Relation splits and metrics, shared by Task2Box and its baselines (chapters 4–6).

Everything here works on a generic **relation matrix** ``(N, N)``: entry ``[i, j]`` is
``d(D_i, D_j)`` (how much dataset ``i`` lies inside / transfers from dataset ``j``), NaN where it is
unknown. Nothing is specific to Taskonomy or to boxes: a baseline that predicts an ``(N, N)``
matrix is scored by the same functions.

* :func:`split_relations` -- the paper's protocol (§4): some datasets are held out as *novel*;
  the known pairs among the *existing* ones are split into train / validation / test; the pairs
  between novel and existing datasets (both directions) are scored separately.
* :func:`spearman`, :func:`spearman_per_row`, :func:`spearman_scores` -- rank correlation,
  pooled over pairs or within each row ("for this target, which source is best?").
* :func:`tanh_rescale` / :func:`tanh_inverse` -- Taskonomy's affinity rescaling (supplement Eq. 8)
  with the correct inverse.
* :func:`predict_containment`, :func:`f1_score`, :func:`choose_threshold` -- "``i`` inside ``j``"
  for hierarchies, with the threshold chosen by F1 on validation pairs (§4.1.1, authors' code).
* :data:`PROTOCOLS`, :func:`protocol_pairs` -- *which* pairs a containment F1 is measured on:
  held-out pairs (the book's default), novel datasets in one or both directions, or the
  authors' transposed reading of a cell (chapter 4).
* :func:`implied_by_transitivity`, :func:`recall_of` -- held-out positives that training
  positives imply through a chain ``i ⊂ m ⊂ j`` versus those nothing in training points to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

__all__ = [
    "PROTOCOLS",
    "THRESHOLDS",
    "RelationSplit",
    "SpearmanScores",
    "best_threshold",
    "choose_threshold",
    "f1_curve",
    "f1_score",
    "implied_by_transitivity",
    "predict_containment",
    "protocol_pairs",
    "recall_of",
    "spearman",
    "spearman_per_row",
    "spearman_scores",
    "split_relations",
    "tanh_inverse",
    "tanh_rescale",
]

#: Candidate thresholds for containment prediction (authors' code: 0.1, 0.2, ..., 0.9).
THRESHOLDS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 10))


def _check_relation(relation: torch.Tensor) -> None:
    if relation.dim() != 2 or relation.shape[0] != relation.shape[1]:
        raise ValueError(f"a relation matrix is (N, N), got {tuple(relation.shape)}")
    if not relation.is_floating_point():
        raise TypeError(
            f"a relation matrix is floating point (NaN = unknown), got {relation.dtype}"
        )


def _check_matrices(*matrices: torch.Tensor, mask: torch.Tensor) -> None:
    """All ``(N, N)`` of one shape; ``mask`` is bool and selects only finite entries."""
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be bool, got {mask.dtype}")
    for matrix in matrices:
        if matrix.shape != mask.shape:
            raise ValueError(f"shapes differ: {tuple(matrix.shape)} vs mask {tuple(mask.shape)}")
        if not torch.isfinite(matrix[mask]).all():
            raise ValueError("the mask selects NaN or infinite entries (unknown relations)")


@dataclass(frozen=True)
class RelationSplit:
    """Which datasets are existing or novel, and which pairs train, validate and test (ch. 5).

    Attributes:
        existing: ``(E,)`` long, sorted indices of the datasets seen in training.
        novel: ``(V,)`` long, sorted indices of the held-out datasets.
        train, validation, test: ``(N, N)`` bool, disjoint, known pairs between two existing
            datasets (never the diagonal).
        novel_pairs: ``(N, N)`` bool, the known pairs ``(novel, existing)`` and
            ``(existing, novel)``: a novel dataset scored against the existing ones in both
            directions.
    """

    existing: torch.Tensor
    novel: torch.Tensor
    train: torch.Tensor
    validation: torch.Tensor
    test: torch.Tensor
    novel_pairs: torch.Tensor

    def block(self, matrix: torch.Tensor) -> torch.Tensor:
        """The existing datasets' sub-matrix ``(..., E, E)`` of an ``(..., N, N)`` matrix."""
        return matrix[..., self.existing, :][..., self.existing]


def split_relations(
    relation: torch.Tensor,
    novel: int | Sequence[int] = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> RelationSplit:
    """Split datasets into existing / novel and the existing pairs into train / val / test (ch. 5).

    Args:
        relation: ``(N, N)`` relation, NaN where unknown. Only finite off-diagonal entries are
            pairs; the NaN mask is read from this matrix as it is, so a pair ``(i, j)`` is known
            exactly when ``relation[i, j]`` is (whatever ``relation[j, i]`` is).
        novel: how many datasets to hold out at random, or their indices.
        fractions: shares of the known existing pairs for train, validation and test (their sum
            is at most 1; pairs beyond it are left out: e.g. ``(0.5, 0.1, 0.4)`` trains on half).
        seed: seeds the draw of novel datasets and of pairs (a ``torch.Generator``).
    """
    _check_relation(relation)
    n = relation.shape[0]
    if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) > 1 + 1e-9:
        raise ValueError(f"fractions must be 3 shares >= 0 summing to <= 1, got {fractions}")
    generator = torch.Generator().manual_seed(seed)
    if isinstance(novel, int):
        if not 0 <= novel < n - 1:
            raise ValueError(f"cannot hold out {novel} of {n} datasets")
        novel_index = torch.randperm(n, generator=generator)[:novel]
    else:
        novel_index = torch.as_tensor(list(novel), dtype=torch.long)
        if novel_index.numel() and (novel_index.min() < 0 or novel_index.max() >= n):
            raise ValueError(f"novel indices must lie in [0, {n}), got {novel_index.tolist()}")
    is_novel = torch.zeros(n, dtype=torch.bool, device=relation.device)
    is_novel[novel_index.to(relation.device)] = True
    known = torch.isfinite(relation) & ~torch.eye(n, dtype=torch.bool, device=relation.device)
    among_existing = known & ~is_novel[:, None] & ~is_novel[None, :]
    pairs = among_existing.flatten().nonzero().squeeze(1)
    order = pairs[torch.randperm(len(pairs), generator=generator).to(pairs.device)]
    bounds = [0, *(round(share * len(pairs)) for share in np.cumsum(fractions))]

    def part(i: int) -> torch.Tensor:
        mask = torch.zeros(n * n, dtype=torch.bool, device=relation.device)
        mask[order[bounds[i] : bounds[i + 1]]] = True
        return mask.reshape(n, n)

    return RelationSplit(
        existing=(~is_novel).nonzero().squeeze(1).cpu(),
        novel=is_novel.nonzero().squeeze(1).cpu(),
        train=part(0),
        validation=part(1),
        test=part(2),
        novel_pairs=known & (is_novel[:, None] ^ is_novel[None, :]),
    )


def spearman(predicted: torch.Tensor, actual: torch.Tensor, mask: torch.Tensor) -> float:
    """Spearman's rho between ``predicted`` and ``actual`` over the ``mask`` entries, pooled.

    Ties get average ranks (``scipy.stats.spearmanr``). NaN when fewer than 3 entries are
    selected or either side is constant there.

    Args:
        predicted, actual: ``(N, N)`` (or any shape equal to ``mask``'s).
        mask: bool, selects finite entries of both.
    """
    _check_matrices(predicted, actual, mask=mask)
    x = predicted[mask].detach().double().cpu().numpy()
    y = actual[mask].detach().double().cpu().numpy()
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def spearman_per_row(
    predicted: torch.Tensor, actual: torch.Tensor, mask: torch.Tensor, min_pairs: int = 3
) -> torch.Tensor:
    """Spearman's rho within each row of an ``(N, N)`` relation (chapter 5).

    Row ``i`` ranks the columns ``j`` with ``mask[i, j]``: for Taskonomy's ``[target, source]``
    matrix, "how well does the prediction order the sources of target ``i``?".

    Returns:
        ``(N,)`` float64, NaN for rows with fewer than ``min_pairs`` selected entries (or a
        constant side). Average the finite entries for a within-row score.
    """
    if min_pairs < 3:
        raise ValueError(f"a rank correlation needs min_pairs >= 3, got {min_pairs}")
    _check_matrices(predicted, actual, mask=mask)
    rows = [
        spearman(predicted[i], actual[i], mask[i]) if mask[i].sum() >= min_pairs else float("nan")
        for i in range(mask.shape[0])
    ]
    return torch.tensor(rows, dtype=torch.float64)


@dataclass(frozen=True)
class SpearmanScores:
    """Spearman's rho of one prediction on a :class:`RelationSplit` (chapter 5).

    Attributes:
        pooled_existing: over all test pairs of existing datasets (the paper's number).
        pooled_novel: over all pairs between novel and existing datasets, both directions.
        within_existing: mean over existing rows of the per-row rho on test pairs.
        within_novel: mean over novel rows of the per-row rho against the existing datasets.
        rows_existing, rows_novel: how many rows entered each mean.
    """

    pooled_existing: float
    pooled_novel: float
    within_existing: float
    within_novel: float
    rows_existing: int
    rows_novel: int


def _mean_finite(values: torch.Tensor) -> tuple[float, int]:
    finite = values[torch.isfinite(values)]
    return (float(finite.mean()) if len(finite) else float("nan")), len(finite)


def spearman_scores(
    predicted: torch.Tensor, actual: torch.Tensor, split: RelationSplit, min_pairs: int = 3
) -> SpearmanScores:
    """Pooled and within-row Spearman of ``predicted`` on existing and novel datasets (ch. 5).

    Args:
        predicted: ``(N, N)`` prediction of the relation, every dataset included.
        actual: ``(N, N)`` true relation (NaN where unknown).
        split: from :func:`split_relations` on ``actual``.
        min_pairs: rows with fewer selected pairs are left out of the within-row means.
    """
    novel_rows = torch.zeros_like(split.novel_pairs)
    novel_rows[split.novel.to(novel_rows.device)] = True
    within_existing, rows_existing = _mean_finite(
        spearman_per_row(predicted, actual, split.test, min_pairs)
    )
    within_novel, rows_novel = _mean_finite(
        spearman_per_row(predicted, actual, split.novel_pairs & novel_rows, min_pairs)
    )
    return SpearmanScores(
        pooled_existing=spearman(predicted, actual, split.test),
        pooled_novel=spearman(predicted, actual, split.novel_pairs),
        within_existing=within_existing,
        within_novel=within_novel,
        rows_existing=rows_existing,
        rows_novel=rows_novel,
    )


def tanh_rescale(x: torch.Tensor, k: float = 50.0) -> torch.Tensor:
    """``x' = tanh(k x)`` (supplement Eq. 8): spreads Taskonomy's right-skewed affinities.

    NaN stays NaN. The authors train on ``x'`` with ``k = 50`` and convert predictions back with
    :func:`tanh_inverse` before scoring.
    """
    if not k > 0:
        raise ValueError(f"k must be > 0, got {k}")
    return torch.tanh(k * x)


def tanh_inverse(x_rescaled: torch.Tensor, k: float = 50.0) -> torch.Tensor:
    """The inverse of :func:`tanh_rescale`: ``x = atanh(x') / k``.

    The authors' code computes ``atanh(x' / k)`` instead, which is not the inverse (it maps
    ``x' = 1`` to ``0.02`` rather than infinity and is nearly linear); rank correlations are
    unaffected (both are increasing), errors on the original scale are not. Values of ``|x'|``
    at 1 (a box inside another gives ``d_box = 1`` up to rounding) are clipped to
    ``1 - eps`` of the dtype, so the result is finite. NaN stays NaN.

    Raises:
        ValueError: ``|x'| > 1 + sqrt(eps)`` somewhere (more than rounding): not a tanh value.
    """
    if not k > 0:
        raise ValueError(f"k must be > 0, got {k}")
    eps = torch.finfo(x_rescaled.dtype).eps
    if (x_rescaled.abs() > 1 + eps**0.5).any():
        raise ValueError("tanh_inverse: values outside [-1, 1] are not tanh values")
    return torch.atanh(x_rescaled.clamp(-1 + eps, 1 - eps)) / k


def predict_containment(overlap: torch.Tensor, threshold: float) -> torch.Tensor:
    """``(..., N, N)`` bool: "``i`` is inside ``j``" from box overlaps (authors' rule; ch. 4).

    ``d_box(z_i, z_j) > d_box(z_j, z_i)`` and ``d_box(z_i, z_j) > threshold``: more of ``i`` lies in
    ``j`` than the other way round, and enough of it.

    Args:
        overlap: ``(..., N, N)`` predicted ``d_box`` (or any score where larger = more inside).
        threshold: in ``[0, 1]``.
    """
    if overlap.dim() < 2 or overlap.shape[-1] != overlap.shape[-2]:
        raise ValueError(f"overlap must be (..., N, N), got {tuple(overlap.shape)}")
    return (overlap > overlap.transpose(-2, -1)) & (overlap > threshold)


def f1_score(predicted: torch.Tensor, actual: torch.Tensor, mask: torch.Tensor) -> float:
    """F1 of the positive class over the ``mask`` entries (chapter 4).

    Args:
        predicted, actual: bool (or 0/1) tensors of ``mask``'s shape.
        mask: bool, the pairs to score.

    Returns:
        ``2 TP / (2 TP + FP + FN)``; 0 when there are no positives on either side.
    """
    _check_matrices(predicted.double(), actual.double(), mask=mask)
    p, a = predicted[mask].bool(), actual[mask].bool()
    true_positive = int((p & a).sum())
    wrong = int((p ^ a).sum())
    return 2 * true_positive / (2 * true_positive + wrong) if true_positive else 0.0


def choose_threshold(
    overlap: torch.Tensor,
    actual: torch.Tensor,
    mask: torch.Tensor,
    thresholds: Sequence[float] = THRESHOLDS,
) -> tuple[float, float]:
    """The threshold with the best F1 of :func:`predict_containment` on ``mask`` pairs (ch. 4).

    Use validation pairs here and apply the threshold to the test pairs.

    Returns:
        ``(threshold, its F1)``; ties go to the smallest threshold.
    """
    return best_threshold(lambda t: predict_containment(overlap, t), actual, mask, thresholds)


def f1_curve(
    overlap: torch.Tensor,
    actual: torch.Tensor,
    mask: torch.Tensor,
    thresholds: Sequence[float] = THRESHOLDS,
) -> torch.Tensor:
    """``(T,)`` float64: F1 of :func:`predict_containment` on ``mask`` at each threshold (ch. 4).

    Shows where :func:`choose_threshold`'s best lies, e.g. at the grid's lowest value.
    """
    return torch.tensor(
        [f1_score(predict_containment(overlap, t), actual, mask) for t in thresholds],
        dtype=torch.float64,
    )


def best_threshold(
    predict: Callable[[float], torch.Tensor],
    actual: torch.Tensor,
    mask: torch.Tensor,
    thresholds: Sequence[float] = THRESHOLDS,
) -> tuple[float, float]:
    """The ``t`` in ``thresholds`` whose ``(N, N)`` bool prediction ``predict(t)`` has the best
    F1 on the ``mask`` pairs of ``actual``; ties go to the smallest ``t``.

    Returns:
        ``(t, its F1)``.
    """
    scores = [(f1_score(predict(t), actual, mask), -t) for t in thresholds]
    best_f1, negative_t = max(scores)
    return -negative_t, best_f1


#: The scoring protocols of a containment F1 (chapter 4): name -> what is scored. Each reads
#: prediction and truth of a cell ``(i, j)`` as "``i`` inside ``j``" except
#: ``"authors_transposed"``, which reads both as "``j`` inside ``i``", as the authors'
#: ``get_metrics`` does (``src/eval_hierarchy.py``): that is the usual reading of the
#: transposed pairs.
PROTOCOLS: dict[str, str] = {
    "held_out": "test pairs of existing datasets (the book's protocol)",
    "authors_transposed": "test cells of existing datasets read as 'j inside i' (authors' code)",
    "novel_both": "novel against existing datasets, both directions (the book's protocol)",
    "novel_into_existing": "novel datasets inside existing ones only (eval_hierarchy_novel.py)",
    "existing_into_novel": "existing datasets inside novel ones only (the other direction)",
}


def protocol_pairs(split: RelationSplit, protocol: str) -> torch.Tensor:
    """The ``(N, N)`` bool pairs that a protocol of :data:`PROTOCOLS` scores (chapter 4).

    Pairs are in the "``i`` inside ``j``" reading, so a protocol's F1 is always
    ``f1_score(predicted, relation, protocol_pairs(split, protocol))``: the authors' reading
    of the test cells as "``j`` inside ``i``" is the plain reading of the transposed test mask
    (and they choose the threshold on the transposed validation mask the same way).

    Args:
        split: a :class:`RelationSplit`.
        protocol: a key of :data:`PROTOCOLS`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {list(PROTOCOLS)}")
    if protocol == "held_out":
        return split.test
    if protocol == "authors_transposed":
        return split.test.T
    is_novel = torch.zeros(split.novel_pairs.shape[0], dtype=torch.bool)
    is_novel[split.novel] = True
    is_novel = is_novel.to(split.novel_pairs.device)
    rows = {
        "novel_both": torch.ones_like(is_novel),
        "novel_into_existing": is_novel,
        "existing_into_novel": ~is_novel,
    }[protocol]
    return split.novel_pairs & rows[:, None]


def implied_by_transitivity(positives: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` bool: pairs joined by a chain ``i ⊂ m_1 ⊂ ... ⊂ j`` of two or more ``positives``.

    The transitive closure of the known "inside" pairs, less the pairs that are themselves
    known directly (unless a longer chain implies them too). A held-out positive that is
    implied can be recovered by a model that fits the training pairs and nests its boxes; one
    that is not implied must come from the representation alone (chapter 4).

    Args:
        positives: ``(N, N)`` bool, e.g. ``(relation == 1) & split.train``.
    """
    if positives.dim() != 2 or positives.shape[0] != positives.shape[1]:
        raise ValueError(f"positives must be (N, N), got {tuple(positives.shape)}")
    step = positives.bool().double()
    reach = step  # reach[i, j]: a chain of one or more positives from i to j
    while True:
        extended = torch.maximum(reach, (reach @ step > 0).double())
        if torch.equal(extended, reach):
            break
        reach = extended
    return reach @ step > 0


def recall_of(
    predicted: torch.Tensor, actual: torch.Tensor, mask: torch.Tensor
) -> tuple[float, int]:
    """Share of the positives of ``actual`` on the ``mask`` pairs that ``predicted`` finds.

    Args:
        predicted, actual: bool (or 0/1) ``(N, N)``.
        mask: bool ``(N, N)``.

    Returns:
        ``(recall, number of positives)``; recall is NaN when there is no positive.
    """
    _check_matrices(predicted.double(), actual.double(), mask=mask)
    positive = actual[mask].bool()
    found = int((predicted[mask].bool() & positive).sum())
    count = int(positive.sum())
    return (found / count if count else float("nan")), count
