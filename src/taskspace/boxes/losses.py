"""The terms of Task2Box's training objective (paper Eq. 4 and 6, supplement Eq. 13; chapter 5).

    theta = argmin sum_{i,j} L_E(d(D_i, D_j), d_box(z_i, z_j)) + lambda L_D(z_i, z_j) + L_R

Each term is its own function; :func:`task2box_loss` adds them with the weights of a
:class:`LossWeights`. The defaults are the authors' code's multipliers for Taskonomy
(:data:`TASKONOMY_WEIGHTS`); the hierarchy experiments use a stronger volume term
(:data:`HIERARCHY_WEIGHTS`). A weight of 0 removes a term (the ablation of supplement table 4).

All pairwise terms take an ``(N, N)`` boolean ``mask`` of the pairs ``(i, j)`` to train on and an
``(N, N)`` ``target`` that may hold NaN outside the mask (unknown relations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from taskspace.boxes.geometry import (
    INTERSECTION_TEMPERATURE,
    VOLUME_TEMPERATURE,
    Boxes,
    log_overlap_matrix,
    log_volume,
)

__all__ = [
    "HIERARCHY_WEIGHTS",
    "TASKONOMY_WEIGHTS",
    "LossTerms",
    "LossWeights",
    "distance_loss",
    "overlap_loss",
    "regularization_loss",
    "size_loss",
    "task2box_loss",
]

#: Added to a box's volume before it is inverted in ``L_R`` (the authors' ``EPS``).
VOLUME_EPS = 1e-12


@dataclass(frozen=True)
class LossWeights:
    """Multipliers of the loss terms (authors' code; a 0 switches a term off).

    Attributes:
        overlap: multiplier of ``L_E`` (code ``oloss_mult`` = 100).
        distance: ``lambda``, multiplier of ``L_D`` (code ``dloss_mult`` = 0.01).
        shape: ``alpha`` of ``L_R``, the side-length-difference part (code ``rloss_mult`` = 1).
        volume: ``beta`` of ``L_R``, the inverse-volume part (code ``vloss_mult``: 0.01 for
            Taskonomy, 0.7 for hierarchies).
        size: multiplier of ``L_A`` (supplement Eq. 13; only for the dataset map of chapter 7).
    """

    overlap: float = 100.0
    distance: float = 0.01
    shape: float = 1.0
    volume: float = 0.01
    size: float = 0.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"loss weight {name} must be finite and >= 0, got {value}")


#: The authors' weights for Taskonomy (``train_taskonomy.py``).
TASKONOMY_WEIGHTS = LossWeights()
#: The authors' weights for the hierarchies (``train_hierarchy.py``): a stronger volume term.
HIERARCHY_WEIGHTS = LossWeights(volume=0.7)


Weight = float | torch.Tensor


def _check_pairs(
    name: str, shape: tuple[int, ...], target: torch.Tensor, mask: torch.Tensor
) -> None:
    """``target`` and ``mask`` have the ``(..., N, N)`` ``shape``; ``mask`` covers no NaN target."""
    if mask.dtype != torch.bool:
        raise TypeError(f"{name}: mask must be a bool tensor, got {mask.dtype}")
    if len(shape) < 2 or shape[-1] != shape[-2] or not (target.shape == mask.shape == shape):
        raise ValueError(
            f"{name}: expected (..., N, N) target and mask of shape {tuple(shape)}, "
            f"got {tuple(target.shape)} and {tuple(mask.shape)}"
        )
    if torch.isnan(target[mask]).any():
        raise ValueError(f"{name}: the mask selects pairs whose target is NaN (unknown)")


def _masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum of ``values`` over the last two axes where ``mask`` is True (NaN elsewhere is ignored)."""
    return torch.where(mask, values, torch.zeros_like(values)).sum((-2, -1))


def overlap_loss(
    predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, weight: Weight = 100.0
) -> torch.Tensor:
    """``L_E``: squared error between the relation and the box overlap (paper Eq. 4; chapter 5).

        L_E = weight * sum_{(i, j) in mask} (d(D_i, D_j) - d_box(z_i, z_j))^2

    (the authors' code: ``MSELoss * number of pairs * 100``, i.e. a sum.)

    Args:
        predicted: ``(..., N, N)`` ``d_box(z_i, z_j)``.
        target: ``(..., N, N)`` relation ``d(D_i, D_j)`` in ``[0, 1]``; NaN allowed outside ``mask``.
        mask: ``(..., N, N)`` bool, the training pairs (the diagonal should be False).
        weight: a number, or one per batch entry (shape ``(...)``).

    Returns:
        ``(...)``: one loss per batch entry (a scalar for unbatched input).
    """
    _check_pairs("overlap_loss", predicted.shape, target, mask)
    return weight * _masked_sum((predicted - target).pow(2), mask)


def distance_loss(
    boxes: Boxes, target: torch.Tensor, mask: torch.Tensor, weight: Weight = 0.01
) -> torch.Tensor:
    """``L_D``: pull together the centres of pairs that should overlap (paper Eq. 4; chapter 5).

        L_D = weight * sum_{(i, j) in mask, d(D_i, D_j) > 0} || c(z_i) - c(z_j) ||^2

    ``c(z)`` is the box centre. Where two boxes are disjoint the overlap term barely moves them
    (its gradient decays like ``exp(-gap / T_vol)``); this term still does.

    Args:
        boxes: ``(..., N, k)`` boxes.
        target: ``(..., N, N)`` relation; NaN allowed outside ``mask``.
        mask: ``(..., N, N)`` bool, the training pairs.
        weight: a number, or one per batch entry.

    Returns:
        ``(...)``: one loss per batch entry.
    """
    n = boxes.low.shape[-2] if boxes.low.dim() >= 2 else 0
    _check_pairs("distance_loss", (*boxes.low.shape[:-2], n, n), target, mask)
    centre = boxes.center
    squared = (centre[..., :, None, :] - centre[..., None, :, :]).pow(2).sum(-1)  # (..., N, N)
    return weight * _masked_sum(squared, mask & (target > 0))


def regularization_loss(
    boxes: Boxes,
    alpha: Weight = 1.0,
    beta: Weight = 0.01,
    volume_temperature: float = VOLUME_TEMPERATURE,
    intersection_temperature: float = INTERSECTION_TEMPERATURE,
) -> torch.Tensor:
    """``L_R``: square-ish boxes that do not collapse (paper Eq. 6; chapter 5).

        L_R = sum_i [ alpha / k^2 * sum_{a < b} |s_a(z_i) - s_b(z_i)|
                      + beta * (vol(z_i) + 1e-12)^(-1/k) ]

    ``s_a`` is the side length in dimension ``a``; the inverse volume keeps boxes from shrinking
    to nothing; ``1 / k^2`` and the ``1/k``-th power keep both parts comparable across ``k``.
    ``vol`` is the Bessel-approximate volume (same temperatures as the overlap).

    Args:
        boxes: ``(..., N, k)`` boxes.
        alpha, beta: the two multipliers (Taskonomy: 1 and 0.01; hierarchies: 1 and 0.7), numbers
            or one per batch entry.

    Returns:
        ``(...)``: one loss per batch entry.
    """
    k = boxes.dim
    sides = boxes.size
    differences = (sides[..., :, None] - sides[..., None, :]).abs().sum((-2, -1)) / 2  # a < b
    log_vol = log_volume(boxes, volume_temperature, intersection_temperature)
    log_vol_eps = torch.logaddexp(log_vol, torch.full_like(log_vol, math.log(VOLUME_EPS)))
    inverse_volume = torch.exp(-log_vol_eps / k)
    return alpha / k**2 * differences.sum(-1) + beta * inverse_volume.sum(-1)


def size_loss(
    boxes: Boxes,
    sizes: torch.Tensor,
    weight: Weight = 1.0,
    volume_temperature: float = VOLUME_TEMPERATURE,
    intersection_temperature: float = INTERSECTION_TEMPERATURE,
) -> torch.Tensor:
    """``L_A``: box volume reflects dataset size (supplement Eq. 13; chapter 7).

        L_A = weight * MSE(vol(z_i), |D_i|)   (mean over the N datasets)

    Args:
        boxes: ``(..., N, k)`` boxes.
        sizes: ``(..., N)`` dataset sizes, already normalised to the volume scale you want
            (e.g. ``|D_i| / max |D|``), finite.
        weight: a number, or one per batch entry.

    Returns:
        ``(...)``: one loss per batch entry.
    """
    if sizes.shape != boxes.low.shape[:-1] or not torch.isfinite(sizes).all():
        raise ValueError(
            f"size_loss: sizes must be finite with shape {tuple(boxes.low.shape[:-1])}, "
            f"got {tuple(sizes.shape)}"
        )
    volume = log_volume(boxes, volume_temperature, intersection_temperature).exp()
    return weight * (volume - sizes).pow(2).mean(-1)


class LossTerms(NamedTuple):
    """The weighted terms of one evaluation of the objective; ``total`` is their sum.

    Each has the batch shape of the boxes (a scalar for one network, ``(R,)`` for ``R``).
    """

    total: torch.Tensor
    overlap: torch.Tensor
    distance: torch.Tensor
    regularization: torch.Tensor
    size: torch.Tensor


def _per_member(
    weights: LossWeights | Sequence[LossWeights], like: torch.Tensor
) -> dict[str, Weight]:
    """Each weight as a number (one ``LossWeights``) or an ``(R,)`` tensor (one per member)."""
    if isinstance(weights, LossWeights):
        return vars(weights)
    if len(weights) != like.shape[0] or like.dim() != 3:
        raise ValueError(
            f"{len(weights)} LossWeights need boxes (R={len(weights)}, N, k), got {tuple(like.shape)}"
        )
    return {name: like.new_tensor([vars(w)[name] for w in weights]) for name in vars(weights[0])}


def task2box_loss(
    boxes: Boxes,
    target: torch.Tensor,
    mask: torch.Tensor,
    weights: LossWeights | Sequence[LossWeights] = TASKONOMY_WEIGHTS,
    sizes: torch.Tensor | None = None,
    volume_temperature: float = VOLUME_TEMPERATURE,
    intersection_temperature: float = INTERSECTION_TEMPERATURE,
) -> LossTerms:
    """The whole objective ``L_E + lambda L_D + L_R (+ L_A)`` on the training pairs (chapter 5).

    Args:
        boxes: ``(..., N, k)`` boxes of the training datasets; ``(R, N, k)`` for ``R`` networks.
        target: ``(..., N, N)`` relation (NaN allowed outside ``mask``).
        mask: ``(..., N, N)`` bool training pairs.
        weights: the multipliers, or one :class:`LossWeights` per network (``R`` of them). A
            term whose weights are all 0 is skipped (reported as 0).
        sizes: ``(..., N)`` normalised dataset sizes, needed when a size weight is > 0.
    """
    temperatures = (volume_temperature, intersection_temperature)
    w = _per_member(weights, boxes.low)
    used = {name: bool(torch.as_tensor(value).any()) for name, value in w.items()}
    zero = boxes.low.new_zeros(boxes.low.shape[:-2])
    predicted = log_overlap_matrix(boxes, None, *temperatures).exp()
    overlap = overlap_loss(predicted, target, mask, w["overlap"]) if used["overlap"] else zero
    distance = distance_loss(boxes, target, mask, w["distance"]) if used["distance"] else zero
    regularization = (
        regularization_loss(boxes, w["shape"], w["volume"], *temperatures)
        if used["shape"] or used["volume"]
        else zero
    )
    if used["size"] and sizes is None:
        raise ValueError("task2box_loss: a size weight > 0 needs the dataset sizes")
    size = size_loss(boxes, sizes, w["size"], *temperatures) if used["size"] else zero
    return LossTerms(
        overlap + distance + regularization + size, overlap, distance, regularization, size
    )
