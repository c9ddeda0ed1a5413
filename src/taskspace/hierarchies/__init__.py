"""The hierarchy experiments of Task2Box (paper §4.1.1, §5.1): taxonomy nodes as datasets.

Chapter 4 (``04_hierarchies.ipynb``) embeds them as boxes; chapter 6 (``06_baselines.ipynb``)
scores the baselines on exactly the same datasets, representations and splits, by building them
here::

    experiment = hierarchy_experiment("imagenet")          # or "inat", "imagenet_wordnet"
    splits = hierarchy_splits(experiment, draws=5)          # novel = experiment.novel
    features = experiment.representations["mu"]            # (N, D) float32
    relation = experiment.relation                          # (N, N) float64, NaN diagonal

One job per module:

* :mod:`~taskspace.hierarchies.experiment` -- :class:`HierarchyExperiment` (datasets, relation
  ``(N, N)``, representations ``(N, D)``, tree distances, groups), :func:`hierarchy_experiment`
  by name (``"imagenet"``: 132 datasets, 30 novel; ``"inat"``: 306, 100 novel; ``"inat3"``;
  ``"imagenet_wordnet"``: 396), :func:`hierarchy_splits` (one split per draw, seeded by the draw);
* :mod:`~taskspace.hierarchies.training` -- :func:`train_hierarchy_boxes`, the authors' recipe
  through the content-keyed cache;
* :mod:`~taskspace.hierarchies.scoring` -- :func:`containment_scores` (F1 of "``i`` inside
  ``j``" per draw under every protocol, the threshold chosen on validation pairs for Task2Box or
  on training pairs for the baselines) and :func:`neighbourhood_curves` (supplement figure 7);
* :mod:`~taskspace.hierarchies.batches` -- chapter 4's per-scale settings
  (:data:`HIERARCHY_SETTINGS`), its experiments (:func:`book_experiments`) and batches of
  networks (:func:`book_box_runs`, :func:`train_book_batches`), shared with
  ``python -m taskspace.sweep boxes``;
* :mod:`~taskspace.hierarchies.analysis` -- chapter 4's analyses of the trained boxes and the
  numbers it records.

Every public name of these modules is importable from ``taskspace.hierarchies``.
"""

from taskspace.hierarchies.batches import (
    BOOK_EXPERIMENTS,
    HALF_PAIRS,
    HIERARCHY_SETTINGS,
    BookBoxes,
    BoxRun,
    HierarchySettings,
    book_box_runs,
    book_experiments,
    train_book_batches,
)
from taskspace.hierarchies.experiment import (
    EXPERIMENTS,
    HierarchyExperiment,
    build_experiment,
    dataset_nodes,
    hierarchy_experiment,
    hierarchy_splits,
    imagenet_prototypes,
    inclusion_relation,
    text_prototypes,
    top_level_groups,
)
from taskspace.hierarchies.scoring import (
    ContainmentScores,
    containment_scores,
    neighbourhood_curves,
)
from taskspace.hierarchies.training import train_hierarchy_boxes

__all__ = [
    "BOOK_EXPERIMENTS",
    "EXPERIMENTS",
    "HALF_PAIRS",
    "HIERARCHY_SETTINGS",
    "BookBoxes",
    "BoxRun",
    "ContainmentScores",
    "HierarchyExperiment",
    "HierarchySettings",
    "book_box_runs",
    "book_experiments",
    "build_experiment",
    "containment_scores",
    "dataset_nodes",
    "hierarchy_experiment",
    "hierarchy_splits",
    "imagenet_prototypes",
    "inclusion_relation",
    "neighbourhood_curves",
    "text_prototypes",
    "top_level_groups",
    "train_book_batches",
    "train_hierarchy_boxes",
]
