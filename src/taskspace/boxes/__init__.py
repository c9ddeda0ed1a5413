"""Task2Box: datasets as boxes whose overlaps encode asymmetric relations (chapters 3–7).

The folder follows the method's steps:

* :mod:`~taskspace.boxes.geometry` -- boxes, volumes, intersections, the ``d_box`` matrix (ch. 3);
* :mod:`~taskspace.boxes.model` -- the network from a dataset's vector to its box (ch. 3, 5);
* :mod:`~taskspace.boxes.losses` -- the terms of the training objective (ch. 3, 5);
* :mod:`~taskspace.boxes.train` -- full-batch training with checkpoints (ch. 3, 5);
* :mod:`~taskspace.boxes.evaluate` -- relation splits and metrics, shared with the baselines (ch. 5).
"""

from taskspace.boxes.geometry import (
    Boxes,
    intersection,
    log_overlap,
    log_overlap_matrix,
    log_volume,
    overlap_matrix,
)

__all__ = [
    "Boxes",
    "intersection",
    "log_overlap",
    "log_overlap_matrix",
    "log_volume",
    "overlap_matrix",
]
