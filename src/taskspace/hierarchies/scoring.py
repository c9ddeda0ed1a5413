"""Scoring predicted containment: F1 under every protocol, per draw; box centres against the
taxonomy (chapter 4; chapter 6 scores its baselines with :func:`containment_scores` too)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from taskspace.boxes.evaluate import (
    PROTOCOLS,
    THRESHOLDS,
    RelationSplit,
    choose_threshold,
    f1_score,
    implied_by_transitivity,
    predict_containment,
    protocol_pairs,
    recall_of,
)

__all__ = ["ContainmentScores", "containment_scores", "neighbourhood_curves"]


@dataclass(frozen=True)
class ContainmentScores:
    """F1 of containment predictions per draw, under every scoring protocol (chapter 4).

    Attributes:
        threshold: ``(R,)`` the threshold chosen per draw on the validation (or training) pairs.
        f1: protocol name (:data:`~taskspace.boxes.evaluate.PROTOCOLS`) -> ``(R,)`` F1 in
            ``[0, 1]``. ``"authors_transposed"`` chooses its own threshold on the transposed
            validation pairs (:attr:`threshold_transposed`), as the authors' code does.
        threshold_transposed: ``(R,)`` the threshold of ``"authors_transposed"``.
        recall_transitive, recall_non_transitive: ``(R,)`` recall of the held-out positives
            that the training positives imply by transitivity (a chain ``i ⊂ m ⊂ j``), and of
            the others (NaN in a draw with none).
        count_transitive, count_non_transitive: ``(R,)`` how many held-out positives each is.
        predicted: ``(R, N, N)`` bool, "``i`` inside ``j``" at each draw's threshold.
    """

    threshold: torch.Tensor
    f1: dict[str, torch.Tensor]
    threshold_transposed: torch.Tensor
    recall_transitive: torch.Tensor
    recall_non_transitive: torch.Tensor
    count_transitive: torch.Tensor
    count_non_transitive: torch.Tensor
    predicted: torch.Tensor

    @property
    def existing(self) -> torch.Tensor:
        """``(R,)`` F1 on the test pairs of existing datasets (``f1["held_out"]``)."""
        return self.f1["held_out"]

    @property
    def novel(self) -> torch.Tensor:
        """``(R,)`` F1 on novel-existing pairs, both directions (``f1["novel_both"]``)."""
        return self.f1["novel_both"]


def _draw_scores(
    overlap: torch.Tensor,
    relation: torch.Tensor,
    split: RelationSplit,
    choose_on: str,
    thresholds: Sequence[float],
) -> tuple[list[float], torch.Tensor]:
    """One draw: ``[t, t_transposed, F1 per protocol..., recall and count of both kinds]`` and
    the ``(N, N)`` prediction at ``t``."""
    chosen_on = getattr(split, choose_on)
    t, _ = choose_threshold(overlap, relation, chosen_on, thresholds)
    predicted = predict_containment(overlap, t)
    # the authors' reading: cell (i, j) is "j inside i", for the threshold's pairs too
    t_transposed, _ = choose_threshold(overlap, relation, chosen_on.T, thresholds)
    f1 = [
        f1_score(
            predict_containment(overlap, t_transposed) if p == "authors_transposed" else predicted,
            relation,
            protocol_pairs(split, p),
        )
        for p in PROTOCOLS
    ]
    implied = implied_by_transitivity((relation == 1) & split.train)
    transitive = recall_of(predicted, relation == 1, split.test & implied)
    other = recall_of(predicted, relation == 1, split.test & ~implied)
    return [t, t_transposed, *f1, *transitive, *other], predicted


def containment_scores(
    overlap: torch.Tensor,
    relation: torch.Tensor,
    splits: Sequence[RelationSplit],
    choose_on: str = "validation",
    thresholds: Sequence[float] = THRESHOLDS,
) -> ContainmentScores:
    """Score ``(R, N, N)`` predicted overlaps with the authors' rule, one split each (ch. 4).

    Draw ``r`` predicts "``i`` inside ``j``" iff ``overlap[r, i, j] > overlap[r, j, i]`` and
    ``overlap[r, i, j] > t`` (:func:`~taskspace.boxes.evaluate.predict_containment`), with ``t``
    the candidate of best F1 on the ``choose_on`` pairs (``"validation"`` or ``"train"``), and
    is scored under every protocol of :data:`~taskspace.boxes.evaluate.PROTOCOLS`.

    Args:
        overlap: ``(R, N, N)`` predicted ``d_box`` (or any score where larger = more inside).
        relation: ``(N, N)`` true relation (NaN diagonal), e.g. ``experiment.relation``.
        splits: ``R`` splits of ``relation``.
    """
    if overlap.dim() != 3 or overlap.shape[0] != len(splits):
        raise ValueError(f"overlap must be (R, N, N) with R = {len(splits)} splits")
    if choose_on not in ("validation", "train"):
        raise ValueError(f"choose_on must be 'validation' or 'train', got {choose_on!r}")
    rows, predicted = zip(
        *(
            _draw_scores(overlap[r], relation, s, choose_on, thresholds)
            for r, s in enumerate(splits)
        ),
        strict=True,
    )
    values = torch.tensor(rows, dtype=torch.float64)  # (R, 2 + P + 4)
    p = len(PROTOCOLS)
    return ContainmentScores(
        threshold=values[:, 0],
        f1={name: values[:, 2 + i] for i, name in enumerate(PROTOCOLS)},
        threshold_transposed=values[:, 1],
        recall_transitive=values[:, 2 + p],
        count_transitive=values[:, 3 + p].long(),
        recall_non_transitive=values[:, 4 + p],
        count_non_transitive=values[:, 5 + p].long(),
        predicted=torch.stack(predicted),
    )


def neighbourhood_curves(
    centres: torch.Tensor, tree: torch.Tensor, m_max: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Do box centres follow the taxonomy? (supplement figure 7, chapter 4).

    For every dataset, its ``m`` nearest datasets in the taxonomy (ties in tree distance broken
    at random), for ``m = 1 .. m_max``: their mean tree distance and the mean Euclidean distance
    between box centres; and, as a control, the centre distance to ``m`` random datasets. Each
    is averaged over datasets (and draws).

    Args:
        centres: ``(R, N, k)`` box centres of ``R`` draws.
        tree: ``(N, N)`` tree distances (:attr:`HierarchyExperiment.tree_distance`).
        m_max: the largest neighbourhood, at most ``N - 1``.
        seed: of the tie-breaking and of the random datasets.

    Returns:
        ``(tree, near, control)``, three ``(m_max,)`` float64 tensors.
    """
    n = tree.shape[0]
    if centres.dim() != 3 or centres.shape[1] != n or tree.shape != (n, n):
        raise ValueError(
            f"need (R, N, k) centres and (N, N) tree distances, got {tuple(centres.shape)} "
            f"and {tuple(tree.shape)}"
        )
    if not 1 <= m_max < n:
        raise ValueError(f"m_max must be in 1 .. {n - 1}, got {m_max}")
    generator = torch.Generator().manual_seed(seed)
    key = tree.double() + 0.5 * torch.rand(n, n, generator=generator, dtype=torch.float64)
    key.fill_diagonal_(float("inf"))
    nearest = key.argsort(dim=1)[:, :m_max]  # (N, m_max)
    others = torch.rand(n, n, generator=generator).fill_diagonal_(2.0).argsort(dim=1)[:, :m_max]
    distance = torch.cdist(centres.double(), centres.double())  # (R, N, N)
    steps = torch.arange(1, m_max + 1, dtype=torch.float64)

    def running_mean(values: torch.Tensor) -> torch.Tensor:  # (..., N, m_max) -> (m_max,)
        return (values.cumsum(-1) / steps).reshape(-1, m_max).mean(0)

    near = distance.gather(2, nearest.expand(len(centres), -1, -1))
    far = distance.gather(2, others.expand(len(centres), -1, -1))
    return running_mean(tree.double().gather(1, nearest)), running_mean(near), running_mean(far)
