"""Figures for the book (matplotlib only); every function returns the ``Figure`` it drew.

One module per part of the book: :mod:`~taskspace.plotting.data` (chapter 1's images, tables
and trees), and one module each for boxes and for agreement figures as those parts arrive.
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
