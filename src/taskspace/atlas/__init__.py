"""A map of datasets, and placing your own dataset on it (Task2Box §5.3, supp. §9.3; chapter 7).

* :mod:`~taskspace.atlas.overlap` -- the soft overlap of two sets of embeddings (Eq. 9–12):
  exact, chunked nearest-neighbour and mean-pairwise-distance kernels, all pairs of many datasets;
* :mod:`~taskspace.atlas.catalogue` -- the datasets on the map, cut from three pools of real
  images (Fashion-MNIST, MNIST-5k, scikit-learn digits), each with a name and a recipe;
* :mod:`~taskspace.atlas.build` -- Task2Box in 2-D on the soft overlaps with the size loss
  ``L_A``, built once per scale and cached;
* :mod:`~taskspace.atlas.placement` -- :func:`place`: a new dataset's box and its relations,
  predicted by the boxes and measured by soft overlap, with a warning when its images are far
  from the map;
* :mod:`~taskspace.atlas.evaluate` -- chapter 7's checks of the map: the kernel, the fit, box
  area against size, held-out datasets against a nearest-neighbour shortcut (settings per scale).

On the command line: ``python -m taskspace.atlas place FOLDER [--out map.png]``.
"""

from taskspace.atlas.build import SCALES, Atlas, AtlasConfig, build_atlas, load_atlas
from taskspace.atlas.catalogue import MapDataset, Pool, catalogue, held_out_datasets, load_pool
from taskspace.atlas.overlap import (
    mean_pairwise_distance,
    nearest_neighbour_distance,
    soft_overlap,
    soft_overlap_matrix,
    soft_overlap_reference,
    soft_overlap_sets,
    soft_overlaps_with,
)
from taskspace.atlas.placement import (
    FAR_PERCENTILE,
    MIN_IMAGES,
    Placement,
    Relation,
    map_spacing,
    place,
    place_embeddings,
)

__all__ = [
    "FAR_PERCENTILE",
    "MIN_IMAGES",
    "SCALES",
    "Atlas",
    "AtlasConfig",
    "MapDataset",
    "Placement",
    "Pool",
    "Relation",
    "build_atlas",
    "catalogue",
    "held_out_datasets",
    "load_atlas",
    "load_pool",
    "map_spacing",
    "mean_pairwise_distance",
    "nearest_neighbour_distance",
    "place",
    "place_embeddings",
    "soft_overlap",
    "soft_overlap_matrix",
    "soft_overlap_reference",
    "soft_overlap_sets",
    "soft_overlaps_with",
]
