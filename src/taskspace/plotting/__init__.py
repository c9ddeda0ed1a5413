"""Figures for the book (matplotlib only); every function returns the ``Figure`` it drew.

One module per part of the book, named after it (``plotting.data`` for chapter 1's images, tables
and trees, ``plotting.boxes``, ``plotting.hierarchies``, ``plotting.discovery``, ...), and
``plotting.tables`` for the tables every chapter prints, and ``plotting.page``, which warns
when a figure's text would be too small to read where the book shows it (installed here, as a
matplotlib ``figure.hooks`` entry, for every figure made with ``pyplot``).
"""

import matplotlib as mpl

from taskspace.plotting.data import (
    affinity_heatmap,
    containment_figure,
    image_grid,
    labelling_strip,
    taxon_sizes_figure,
    tree_figure,
)

_PAGE_CHECK = "taskspace.plotting.page:check_when_drawn"
if _PAGE_CHECK not in mpl.rcParams["figure.hooks"]:
    mpl.rcParams["figure.hooks"] = [*mpl.rcParams["figure.hooks"], _PAGE_CHECK]

__all__ = [
    "affinity_heatmap",
    "containment_figure",
    "image_grid",
    "labelling_strip",
    "taxon_sizes_figure",
    "tree_figure",
]
