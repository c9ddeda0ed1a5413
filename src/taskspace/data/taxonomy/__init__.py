"""Taxonomies: datasets as the nodes of a hierarchy, related by containment (chapters 1, 4).

One module per job:

* :mod:`~taskspace.data.taxonomy.graph` -- the :class:`Taxonomy` graph (nodes, leaf classes,
  containment, tree distances, sub-taxonomies);
* :mod:`~taskspace.data.taxonomy.imagenet` -- :func:`imagenet_hierarchy`, the WordNet hypernym
  graph of the 1000 ImageNet-1k classes, and :func:`imagenet_instrument_subtree`, the
  "instrument-related WordNet subtree" of Task2Box's Table 2;
* :mod:`~taskspace.data.taxonomy.inaturalist` -- :func:`inat2018_taxonomy`, the 57 classes and 272
  orders of iNaturalist-2018 with their species (Task2Vec's task lists), and
  :func:`inat2018_genus_taxonomy`, :func:`add_genus_level`: the genera below the orders.

Every name is importable from here (``from taskspace.data.taxonomy import imagenet_hierarchy``).
"""

from __future__ import annotations

from taskspace.data.taxonomy.graph import Taxonomy, TaxonomyError
from taskspace.data.taxonomy.imagenet import (
    IMAGENET_EDGES_FILE,
    IMAGENET_NODES_FILE,
    INSTRUMENTALITY_WNID,
    imagenet_class_index,
    imagenet_edges_source,
    imagenet_hierarchy,
    imagenet_instrument_subtree,
    imagenet_nodes_source,
)
from taskspace.data.taxonomy.inaturalist import (
    INAT2018_CLASSES,
    INAT2018_ORDERS,
    INAT2018_UNRANKED_ORDERS,
    InatTask,
    TaskFileError,
    add_genus_level,
    genus_of,
    inat2018_genus_taxonomy,
    inat2018_taxonomy,
    read_inat_tasks,
)

__all__ = [
    "IMAGENET_EDGES_FILE",
    "IMAGENET_NODES_FILE",
    "INAT2018_CLASSES",
    "INAT2018_ORDERS",
    "INAT2018_UNRANKED_ORDERS",
    "INSTRUMENTALITY_WNID",
    "InatTask",
    "TaskFileError",
    "Taxonomy",
    "TaxonomyError",
    "add_genus_level",
    "genus_of",
    "imagenet_class_index",
    "imagenet_edges_source",
    "imagenet_hierarchy",
    "imagenet_instrument_subtree",
    "imagenet_nodes_source",
    "inat2018_genus_taxonomy",
    "inat2018_taxonomy",
    "read_inat_tasks",
]
