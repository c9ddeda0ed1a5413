"""How good is the map? Chapter 7's checks of the kernel, the fit, box areas and placement.

* :data:`EVALUATION_SETTINGS` -- chapter 7's sizes per scale (held-out draws, the kernel check);
  the map itself is :data:`~taskspace.atlas.build.SCALES`, shared with ``python -m
  taskspace.atlas``;
* :func:`check_kernel` -- the map's soft overlaps against float64 brute force, and the whole
  matrix recomputed and timed;
* :func:`map_fit` and :func:`area_size_spearman` -- how well boxes reproduce the overlaps they
  were trained on, and how well box area follows dataset size;
* :func:`held_out_draws` -- datasets held out of training and placed by one forward pass,
  against the :func:`nearest_neighbour_relations` shortcut, for several loss weightings side
  by side;
* :func:`size_loss_effect` -- what one loss weighting of the held-out draws does to box areas
  (the size loss ``L_A`` at several weights);
* :func:`place_held_out` -- the datasets kept off the map
  (:func:`~taskspace.atlas.catalogue.held_out_datasets`) placed, scored against their true
  supersets.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

from taskspace.atlas.build import Atlas
from taskspace.atlas.catalogue import MapDataset
from taskspace.atlas.overlap import soft_overlap_matrix, soft_overlap_reference
from taskspace.atlas.placement import Relation, place_embeddings
from taskspace.boxes.evaluate import RelationSplit, spearman, split_relations
from taskspace.boxes.geometry import Boxes, log_volume, overlap_matrix
from taskspace.boxes.losses import LossWeights
from taskspace.boxes.train import History, TrainConfig, train_on_splits

__all__ = [
    "DIRECTIONS",
    "EVALUATION_SETTINGS",
    "EvaluationSettings",
    "HeldOutDraws",
    "HeldOutPlacement",
    "KernelCheck",
    "SizeLossEffect",
    "area_size_spearman",
    "check_kernel",
    "held_out_draws",
    "map_fit",
    "nearest_neighbour_relations",
    "place_held_out",
    "relation_directions",
    "size_loss_effect",
]

#: The pairs a held-out dataset is scored on: both directions pooled, and each on its own.
DIRECTIONS = ("both", "new inside D", "D inside new")


@dataclass(frozen=True)
class EvaluationSettings:
    """Chapter 7's sizes at one scale (the map's own are :data:`~taskspace.atlas.build.SCALES`).

    Attributes:
        draws: random draws of held-out datasets.
        novel: datasets held out in each draw.
        steps: Adam steps of each draw's network (full batch).
        kernel_check: the smallest datasets whose soft overlaps are checked by brute force.
    """

    draws: int
    novel: int
    steps: int
    kernel_check: int


#: Chapter 7 at each scale of the book.
EVALUATION_SETTINGS = {
    "fast": EvaluationSettings(draws=2, novel=8, steps=150, kernel_check=6),
    "book": EvaluationSettings(draws=5, novel=8, steps=1500, kernel_check=12),
    "paper": EvaluationSettings(draws=10, novel=10, steps=3000, kernel_check=20),
}


@dataclass(frozen=True)
class KernelCheck:
    """The soft-overlap kernel checked on the map (chapter 7).

    Attributes:
        datasets: the names of the datasets checked against brute force.
        images: their images, in all.
        overlap_error: ``max |so_kernel - so_brute|`` over their ``len(datasets)**2`` pairs.
        threshold_error: ``max |t_kernel - t_brute|`` over their thresholds.
        seconds: time of the whole ``(m, m)`` matrix, recomputed.
        distances: nearest-neighbour distances that matrix needs (``P x sum_j |D_j|``).
        identical: whether the recomputed matrix equals the map's bit for bit.
    """

    datasets: tuple[str, ...]
    images: int
    overlap_error: float
    threshold_error: float
    seconds: float
    distances: int
    identical: bool


def check_kernel(atlas: Atlas, count: int) -> KernelCheck:
    """Check the map's soft overlaps and thresholds on its ``count`` smallest datasets against
    :func:`~taskspace.atlas.overlap.soft_overlap_reference` (float64, ``torch.cdist``), and
    recompute the whole ``(m, m)`` matrix with the kernel, timed (chapter 7)."""
    counts = atlas.counts
    if not 1 <= count <= len(counts):
        raise ValueError(f"count must be in [1, {len(counts)}], got {count}")
    check = torch.argsort(counts, stable=True)[:count].tolist()
    reference, reference_thresholds = soft_overlap_reference(
        [atlas.pool[atlas.members[i]] for i in check]
    )
    overlap_error = (atlas.overlap[check][:, check].double() - reference).abs().max().item()
    threshold_error = (atlas.thresholds[check].double() - reference_thresholds).abs().max().item()
    started = time.perf_counter()
    again, _ = soft_overlap_matrix(atlas.pool, atlas.members)
    seconds = time.perf_counter() - started
    return KernelCheck(
        datasets=tuple(atlas.names[i] for i in check),
        images=int(counts[check].sum()),
        overlap_error=overlap_error,
        threshold_error=threshold_error,
        seconds=seconds,
        distances=int(counts.sum()) * len(atlas.pool),
        identical=torch.equal(again, atlas.overlap),
    )


def map_fit(boxes: Boxes, overlap: torch.Tensor) -> tuple[float, float]:
    """How well ``(m, k)`` boxes reproduce the ``(m, m)`` soft overlaps: Spearman's rho and the
    mean absolute error of ``d_box`` over the ``m (m - 1)`` ordered pairs (chapter 7)."""
    predicted = overlap_matrix(boxes)
    if predicted.shape != overlap.shape:
        raise ValueError(f"{tuple(predicted.shape)} boxes' overlaps vs {tuple(overlap.shape)}")
    off_diagonal = ~torch.eye(len(overlap), dtype=torch.bool)
    error = (predicted - overlap)[off_diagonal].abs().mean()
    return spearman(predicted, overlap, off_diagonal), float(error)


def area_size_spearman(boxes: Boxes, counts: torch.Tensor) -> np.ndarray:
    """Spearman's rho of box area against dataset size ``counts`` ``(m,)`` (chapter 7).

    ``boxes`` ``(m, k)`` gives a 0-d array; ``(R, m, k)`` (the networks of several draws) gives
    one rho per network, ``(R,)``.
    """
    areas = log_volume(boxes).exp().detach().cpu().numpy()
    if areas.shape[-1] != len(counts):
        raise ValueError(f"{areas.shape[-1]} boxes for {len(counts)} dataset sizes")
    sizes = counts.numpy()
    if areas.ndim == 1:
        return np.asarray(spearmanr(areas, sizes).statistic)
    return np.array([spearmanr(row, sizes).statistic for row in areas])


def nearest_neighbour_relations(
    features: torch.Tensor, target: torch.Tensor, split: RelationSplit
) -> torch.Tensor:
    """``(m, m)`` the shortcut: each held-out dataset copies the relations of the existing
    dataset whose mean embedding is nearest (Euclidean), both ways (chapter 7).

    Args:
        features: ``(m, D)`` the datasets' mean embeddings ``mu``.
        target: ``(m, m)`` the measured relation (soft overlaps).
        split: which datasets are held out (``split.novel``).

    Returns:
        ``target`` with every held-out row and column, against the existing datasets, replaced
        by its nearest neighbour's; the rest is ``target``.
    """
    guess = target.clone()
    existing = split.existing
    distances = torch.cdist(features[split.novel], features[existing])
    nearest = existing[distances.argmin(1)]
    for novel, neighbour in zip(split.novel.tolist(), nearest.tolist(), strict=True):
        guess[novel, existing] = target[neighbour, existing]
        guess[existing, novel] = target[existing, neighbour]
    return guess


def relation_directions(split: RelationSplit) -> dict[str, torch.Tensor]:
    """The ``(m, m)`` bool masks of :data:`DIRECTIONS`: a held-out dataset's pairs with the
    existing ones, pooled, as "new inside D" (its rows) and as "D inside new" (its columns)."""
    novel_rows = torch.zeros(len(split.novel_pairs), dtype=torch.bool)
    novel_rows[split.novel] = True
    return dict(
        zip(
            DIRECTIONS,
            (
                split.novel_pairs,
                split.novel_pairs & novel_rows[:, None],
                split.novel_pairs & novel_rows[None, :],
            ),
            strict=True,
        )
    )


@dataclass
class HeldOutDraws:
    """Held-out datasets placed by networks that never saw them (chapter 7).

    Attributes:
        splits: the ``R`` draws (``split.novel``: the held-out datasets).
        variants: the loss weightings, one network per draw each (``V`` names).
        boxes: ``(V * R, m, 2)`` every dataset's box from each network, variant-major.
        history: the training of the ``V * R`` networks, side by side.
        scores: per method (each variant, then ``"nearest neighbour"``) and direction of
            :data:`DIRECTIONS`, Spearman's rho of every draw, ``(R,)``.
    """

    splits: list[RelationSplit]
    variants: tuple[str, ...]
    boxes: Boxes
    history: History
    scores: dict[str, dict[str, np.ndarray]]

    def networks(self, variant: str) -> slice:
        """The networks (rows of :attr:`boxes`, columns of the history) of ``variant``."""
        v, r = self.variants.index(variant), len(self.splits)
        return slice(v * r, (v + 1) * r)


def held_out_draws(
    atlas: Atlas, settings: EvaluationSettings, weights: Mapping[str, LossWeights]
) -> HeldOutDraws:
    """Hold datasets out of the map, train on the rest, place them and score them (chapter 7).

    In each of ``settings.draws`` draws (seed = draw), ``settings.novel`` datasets are held out
    (:func:`~taskspace.boxes.evaluate.split_relations`); for each of ``weights`` one 2-D network
    is trained on every pair of the others (``settings.steps`` Adam steps, all ``V * R``
    networks side by side, seeds ``0 .. V R - 1``), and each held-out dataset is placed by one
    forward pass of its ``mu``. Predicted ``d_box`` and the nearest-neighbour shortcut are
    scored against the measured soft overlaps by Spearman's rho, per draw, pooled over the
    held-out pairs of :data:`DIRECTIONS`.

    Args:
        atlas: the map (its features, overlaps and sizes).
        settings: draws, held-out datasets per draw, steps.
        weights: a name per loss weighting, e.g. with and without ``L_A``.
    """
    target = atlas.overlap
    splits = [
        split_relations(target, novel=settings.novel, fractions=(1.0, 0.0, 0.0), seed=draw)
        for draw in range(settings.draws)
    ]
    variants = tuple(weights)
    config = TrainConfig(
        box_dim=2,
        steps=settings.steps,
        weights=tuple(w for w in weights.values() for _ in splits),
        seeds=tuple(range(len(variants) * len(splits))),
    )
    _, boxes, history = train_on_splits(
        atlas.features,
        target,
        splits * len(variants),
        config,
        sizes=atlas.sizes,
        description="held-out draws",
    )
    predicted = overlap_matrix(boxes)  # (V R, m, m)
    guesses = {
        v: predicted[i * len(splits) : (i + 1) * len(splits)] for i, v in enumerate(variants)
    }
    guesses["nearest neighbour"] = [
        nearest_neighbour_relations(atlas.features, target, split) for split in splits
    ]
    scores = {
        method: {
            d: np.array(
                [
                    spearman(guess, target, relation_directions(split)[d])
                    for guess, split in zip(per_draw, splits, strict=True)
                ]
            )
            for d in DIRECTIONS
        }
        for method, per_draw in guesses.items()
    }
    return HeldOutDraws(splits, variants, boxes, history, scores)


@dataclass(frozen=True)
class SizeLossEffect:
    """What one loss weighting of the held-out draws does (chapter 7); each field ``(R,)``, one
    value per draw's network.

    Attributes:
        heldout: Spearman's rho on the held-out pairs, both directions pooled.
        area_size: Spearman's rho of box area against dataset size, all ``m`` datasets.
        area_error: mean ``|area - size|`` over all datasets, sizes normalised by the largest
            (what ``L_A`` minimises, on the training datasets).
        sample_ratio: the area of the ``sample`` dataset's box over the ``whole``'s.
    """

    heldout: np.ndarray
    area_size: np.ndarray
    area_error: np.ndarray
    sample_ratio: np.ndarray


def size_loss_effect(
    draws: HeldOutDraws,
    variant: str,
    atlas: Atlas,
    sample: str = "Fashion 10%",
    whole: str = "Fashion",
) -> SizeLossEffect:
    """Held-out rho, area against size, and the area of ``sample`` against ``whole`` (a random
    sample of it: one content, two sizes) for the networks of ``variant`` (chapter 7)."""
    boxes = draws.boxes[draws.networks(variant)]
    areas = log_volume(boxes).exp().detach().cpu()  # (R, m)
    i, j = atlas.names.index(sample), atlas.names.index(whole)
    return SizeLossEffect(
        heldout=draws.scores[variant]["both"],
        area_size=area_size_spearman(boxes, atlas.counts),
        area_error=(areas - atlas.sizes).abs().mean(1).numpy(),
        sample_ratio=(areas[:, i] / areas[:, j]).numpy(),
    )


@dataclass(frozen=True)
class HeldOutPlacement:
    """A dataset kept off the map, placed, against its true supersets (chapter 7).

    Attributes:
        name: the placed dataset.
        top: the map dataset whose box contains most of it (predicted and measured).
        supersets: how many map datasets hold every one of its images.
        found: how many of them are among the ``top`` containers listed.
        top_is_superset: whether :attr:`top` is one of them.
        rho: Spearman's rho of predicted ``d_box`` against measured soft overlap, with every
            map dataset, both directions pooled.
    """

    name: str
    top: Relation
    supersets: int
    found: int
    top_is_superset: bool
    rho: float

    @property
    def recall(self) -> float:
        """The share of its true supersets among the top containers."""
        return self.found / self.supersets


def place_held_out(
    atlas: Atlas, datasets: Sequence[MapDataset], top: int = 5
) -> list[HeldOutPlacement]:
    """Place each of ``datasets`` (rows of the map's pool, kept off the map) from its pool
    embeddings and score it (chapter 7; ``top``: how many containers count as found)."""
    placements = []
    for dataset in datasets:
        placement = place_embeddings(atlas.pool[dataset.members], atlas, dataset.name)
        rows = set(dataset.members.tolist())
        supersets = {
            n for n, m in zip(atlas.names, atlas.members, strict=True) if rows <= set(m.tolist())
        }
        if not supersets:
            raise ValueError(f"{dataset.name!r} has no superset on the map")
        containers = placement.containers(top)
        predicted = torch.cat([placement.inside, placement.contains])
        measured = torch.cat([placement.measured_inside, placement.measured_contains])
        placements.append(
            HeldOutPlacement(
                name=dataset.name,
                top=containers[0],
                supersets=len(supersets),
                found=len(supersets & {r.name for r in containers}),
                top_is_superset=containers[0].name in supersets,
                rho=float(spearmanr(predicted.numpy(), measured.numpy()).statistic),
            )
        )
    return placements
