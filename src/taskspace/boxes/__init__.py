"""Task2Box: datasets as boxes whose overlaps encode asymmetric relations (chapters 3–7).

The folder follows the method's steps:

* :mod:`~taskspace.boxes.geometry` -- boxes, volumes, intersections, the ``d_box`` matrix (ch. 3);
* :mod:`~taskspace.boxes.model` -- the network from a dataset's vector to its box (ch. 3, 5);
* :mod:`~taskspace.boxes.losses` -- the terms of the training objective (ch. 3, 5);
* :mod:`~taskspace.boxes.train` -- full-batch training, several networks at once, checkpoints;
* :mod:`~taskspace.boxes.evaluate` -- relation splits and metrics, shared with the baselines.
"""

from taskspace.boxes.evaluate import (
    PROTOCOLS,
    RelationSplit,
    SpearmanScores,
    choose_threshold,
    f1_score,
    implied_by_transitivity,
    predict_containment,
    protocol_pairs,
    spearman,
    spearman_per_row,
    spearman_scores,
    split_relations,
    tanh_inverse,
    tanh_rescale,
)
from taskspace.boxes.geometry import (
    Boxes,
    intersection,
    log_overlap,
    log_overlap_matrix,
    log_volume,
    overlap_matrix,
)
from taskspace.boxes.losses import (
    HIERARCHY_WEIGHTS,
    TASKONOMY_WEIGHTS,
    LossTerms,
    LossWeights,
    task2box_loss,
)
from taskspace.boxes.model import BoxModel, embed
from taskspace.boxes.train import History, TrainConfig, train_boxes

__all__ = [
    "HIERARCHY_WEIGHTS",
    "PROTOCOLS",
    "TASKONOMY_WEIGHTS",
    "BoxModel",
    "Boxes",
    "History",
    "LossTerms",
    "LossWeights",
    "RelationSplit",
    "SpearmanScores",
    "TrainConfig",
    "choose_threshold",
    "embed",
    "f1_score",
    "implied_by_transitivity",
    "intersection",
    "log_overlap",
    "log_overlap_matrix",
    "log_volume",
    "overlap_matrix",
    "predict_containment",
    "protocol_pairs",
    "spearman",
    "spearman_per_row",
    "spearman_scores",
    "split_relations",
    "tanh_inverse",
    "tanh_rescale",
    "task2box_loss",
    "train_boxes",
]
