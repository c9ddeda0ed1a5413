"""Raw sources -> image datasets, taxonomies and affinity tables. All file I/O lives here.

* :mod:`~taskspace.data.resolve` -- find a file locally or download and verify it.
* :mod:`~taskspace.data.images` -- Fashion-MNIST, MNIST (5k), digits, CIFAR-10.
* :mod:`~taskspace.data.taxonomy` -- the ImageNet WordNet hierarchy and iNaturalist-2018.
* :mod:`~taskspace.data.wordnet` -- WordNet through NLTK over Debian's files (regeneration only).
* :mod:`~taskspace.data.taskonomy` -- transfer affinities and task attributes.
* :mod:`~taskspace.data.task_discovery` -- the Task Discovery authors' agreement scores.

Introduced in chapter 1.
"""

from __future__ import annotations

from taskspace.data.images import FASHION_MNIST_SOURCES, MNIST5K_SOURCE
from taskspace.data.resolve import Source
from taskspace.data.task_discovery import AGREEMENT_TABLE_SOURCE
from taskspace.data.taskonomy import AFFINITY_SOURCES
from taskspace.data.taxonomy import (
    INAT2018_CLASSES,
    INAT2018_ORDERS,
    imagenet_edges_source,
    imagenet_nodes_source,
)


def all_sources() -> list[Source]:
    """Every file the chapters read, in the order they appear in the book."""
    return [
        *FASHION_MNIST_SOURCES,
        MNIST5K_SOURCE,
        imagenet_edges_source(),
        imagenet_nodes_source(),
        INAT2018_CLASSES,
        INAT2018_ORDERS,
        *AFFINITY_SOURCES.values(),
        AGREEMENT_TABLE_SOURCE,
    ]
