"""Figures for the book (matplotlib only); every function returns the ``Figure`` it drew.

One module per part of the book, named after it (``plotting.data`` for chapter 1's images, tables
and trees, ``plotting.boxes``, ``plotting.hierarchies``, ``plotting.discovery``, ...), and
``plotting.tables`` for the tables every chapter prints.
"""

from taskspace.plotting.data import (
    affinity_heatmap,
    containment_figure,
    image_grid,
    labelling_strip,
    taxon_sizes_figure,
    tree_figure,
)

__all__ = [
    "affinity_heatmap",
    "containment_figure",
    "image_grid",
    "labelling_strip",
    "taxon_sizes_figure",
    "tree_figure",
]
