"""Task2Box on a hierarchy with the authors' recipe, stored in the cache (chapters 4 and 6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import torch

from taskspace.boxes.evaluate import RelationSplit
from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.boxes.losses import HIERARCHY_WEIGHTS
from taskspace.boxes.train import History, TrainConfig, train_on_splits
from taskspace.cache import Stored, cached
from taskspace.hierarchies.experiment import HierarchyExperiment

__all__ = ["train_hierarchy_boxes"]


def train_hierarchy_boxes(
    experiment: HierarchyExperiment,
    splits: Sequence[RelationSplit],
    box_dim: int,
    steps: int,
    representation: str = "mu",
    features: torch.Tensor | None = None,
    seeds: Sequence[int] | None = None,
    best_on_validation: bool = True,
    description: str = "Task2Box",
) -> tuple[torch.Tensor, Boxes, History]:
    """Task2Box on a hierarchy with the authors' recipe, one network per split (ch. 4, 6).

    ``HIERARCHY_WEIGHTS``, Adam 1e-3, full batch, ``steps`` steps; network ``r`` trains on the
    existing datasets and training pairs of ``splits[r]`` with seed ``seeds[r]``. With
    ``best_on_validation`` each network is returned at its step of lowest validation error
    (``TrainConfig.keeping_best``), not at the last step. The boxes and the history are stored
    in the content-keyed cache (:func:`taskspace.cache.cached`, folder ``"boxes"``) under the
    inputs, relation, splits, settings and device type, so the same call (from the chapter or from
    ``python -m taskspace.sweep boxes``) trains once.

    Args:
        experiment: datasets, relation and representations.
        splits: ``R`` splits of ``experiment.relation`` with equal numbers of novel datasets.
        box_dim: ``k``.
        representation: a key of ``experiment.representations`` (ignored with ``features``).
        features: ``(N, D)`` or ``(R, N, D)`` inputs instead (e.g. perturbed ones); their dtype
            is the training dtype and their device the training device.
        seeds: ``R`` initialisation seeds; default ``0 .. R - 1``.

    Returns:
        The predicted overlaps ``d_box`` ``(R, N, N)``, the boxes ``(R, N, k)`` of all datasets
        (novel ones predicted from their representation) and the training :class:`History`.
    """
    x = experiment.representations[representation] if features is None else features
    config = TrainConfig(
        box_dim=box_dim,
        steps=steps,
        weights=HIERARCHY_WEIGHTS,
        seeds=tuple(range(len(splits)) if seeds is None else seeds),
    )
    if best_on_validation:
        config = config.keeping_best()
    relation = experiment.relation.to(device=x.device, dtype=x.dtype)

    def train() -> Stored:
        _, boxes, history = train_on_splits(
            x, relation, splits, config, validation=best_on_validation, description=description
        )
        low, high = boxes.low.detach().cpu(), boxes.high.detach().cpu()
        return {"low": low, "high": high, "history": asdict(history)}

    parts = {
        "kind": "hierarchy-boxes",
        "features": x,
        "relation": experiment.relation,
        "splits": [asdict(split) for split in splits],
        "config": repr(config),
        "validation": best_on_validation,
        "device": x.device.type,
    }
    stored = cached(parts, train, folder="boxes")
    boxes = Boxes(stored["low"].to(x.device), stored["high"].to(x.device))
    return overlap_matrix(boxes), boxes, History(**stored["history"])
