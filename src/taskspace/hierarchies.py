"""The hierarchy experiments of Task2Box (paper §4.1.1, §5.1): taxonomy nodes as datasets.

Chapter 4 (``04_hierarchies.ipynb``) embeds them as boxes; chapter 6 (``06_baselines.ipynb``)
scores the baselines on exactly the same datasets, representations and splits, by building them
here::

    experiment = hierarchy_experiment("imagenet")          # or "inat", "imagenet_wordnet"
    splits = hierarchy_splits(experiment, draws=5)          # novel = experiment.novel
    features = experiment.representations["mu"]            # (N, D) float32
    relation = experiment.relation                          # (N, N) float64, NaN diagonal

Interface:

* :class:`HierarchyExperiment` -- ``name``; ``datasets`` (N names) and ``ids`` (N node ids);
  ``relation`` ``(N, N)`` float64, 1.0 iff dataset ``i`` is a proper subset of dataset ``j``
  (its leaf classes are), 0.0 otherwise, NaN on the diagonal; ``representations`` name ->
  ``(N, D)`` float32 with ``"mu"`` and ``"mu_sigma2"`` (``[mu, sigma^2]``); ``variance``
  ``(N, D)`` float32, the ``sigma^2`` half (for Gaussian baselines: mean = ``"mu"``);
  ``tree_distance`` ``(N, N)`` long; ``groups`` (N labels for colouring); ``class_counts``
  ``(N,)``; ``novel`` (how many datasets the book holds out as novel).
* :func:`hierarchy_experiment` -- builds one by name: ``"imagenet"`` (132 datasets: the 147
  nodes under ``instrumentality`` with >= 2 classes, one per distinct class set; 30 novel),
  ``"inat"`` (306: 57 classes + 271 orders, one per distinct species set; 100 novel),
  ``"imagenet_wordnet"`` (396; 100 novel). ``within=[names]`` keeps only the classes under
  those nodes (quick runs).
* :func:`containment_scores` -- F1 of "``i`` inside ``j``" per draw from an ``(R, N, N)`` score,
  the threshold chosen on validation (Task2Box) or training pairs (baselines, SPEC I.7).
* :func:`neighbourhood_curves` -- do box centres follow the taxonomy (supplement figure 7)?
* :func:`hierarchy_splits` -- one :class:`~taskspace.boxes.evaluate.RelationSplit` per draw,
  seeded by the draw index (``split_relations(relation, novel, fractions, seed=draw)``).

**What a dataset is.** A taxonomy node is the set of its leaf classes. Nodes that hold the same
leaf classes (a chain of single-child nodes, e.g. "photographic equipment" -> "camera", or an
iNaturalist class with a single order) are *the same dataset*: they are kept once, under the name
of the node nearest the root (the rest are listed in ``merged``). Task2Box's relation
``d(D_i, D_j) = 1 iff D_i ⊂ D_j`` is then proper inclusion of leaf-class sets. In a tree this is
"``i`` is a descendant of ``j``"; in WordNet's DAG a node can also lie inside a non-ancestor
(all its classes sit under a second branch too; 2 of the 431 ImageNet pairs) --
:func:`inclusion_relation`.

Representations are class-prototype statistics (chapter 2, :func:`prototype_statistics`): every
class of a dataset contributes one prototype vector, equally weighted.

* ImageNet: prototype = [EfficientNet-Lite0 classifier row (1280), MiniLM of "A photo of a
  {class}" (384)], so ``mu`` is 1664-d and ``[mu, sigma^2]`` 3328-d. No ImageNet images are
  reachable, so Task2Vec (which needs images) does not apply.
* iNaturalist-2018: text only, prototype = MiniLM of "A photo of a {species}" (384); no images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import torch

from taskspace.boxes.evaluate import (
    PROTOCOLS,
    THRESHOLDS,
    RelationSplit,
    choose_threshold,
    f1_score,
    implied_by_transitivity,
    predict_containment,
    protocol_pairs,
    recall_of,
    split_relations,
)
from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.boxes.losses import HIERARCHY_WEIGHTS
from taskspace.boxes.sensitivity import round_off_noise
from taskspace.boxes.train import History, TrainConfig, train_on_splits
from taskspace.cache import Stored, cached
from taskspace.data.taxonomy import (
    Taxonomy,
    imagenet_hierarchy,
    imagenet_instrument_subtree,
    inat2018_genus_taxonomy,
    inat2018_taxonomy,
)
from taskspace.represent.encoders import Encoder, OfflineEncoder
from taskspace.represent.statistics import prompts, prototype_statistics

__all__ = [
    "BOOK_EXPERIMENTS",
    "EXPERIMENTS",
    "HALF_PAIRS",
    "BoxRun",
    "ContainmentScores",
    "HierarchyExperiment",
    "book_box_runs",
    "book_experiments",
    "build_experiment",
    "containment_scores",
    "dataset_nodes",
    "hierarchy_experiment",
    "hierarchy_splits",
    "inclusion_relation",
    "neighbourhood_curves",
    "top_level_groups",
    "train_hierarchy_boxes",
]

#: The experiments :func:`hierarchy_experiment` knows, with the number of novel datasets the book
#: holds out: the paper holds out 100 where >= 150 existing ones remain; the ImageNet subtree is
#: too small for that (about 23 % held out instead).
EXPERIMENTS: dict[str, int] = {
    "imagenet": 30,
    "inat": 100,
    "inat3": 100,
    "imagenet_wordnet": 100,
}


@dataclass(frozen=True)
class HierarchyExperiment:
    """Datasets of one taxonomy, their containment relation and base representations (ch. 4, 6).

    Attributes:
        name: ``"imagenet"`` (instrument-related WordNet subtree), ``"inat"`` (iNaturalist-2018
            classes and orders) or ``"imagenet_wordnet"`` (the whole ImageNet WordNet DAG).
        datasets: ``N`` dataset names (taxonomy node names).
        ids: ``N`` node ids (WordNet ids, taxon names).
        relation: ``(N, N)`` float64, ``1.0`` iff dataset ``i`` ⊂ dataset ``j`` (proper subset of
            leaf classes), ``0.0`` otherwise, NaN on the diagonal (not scored).
        representations: name -> ``(N, D)`` float32: ``"mu"`` (class-prototype mean) and
            ``"mu_sigma2"`` (``[mu, sigma^2]``, ``2 D``).
        variance: ``(N, D)`` float32, ``sigma^2`` (the second half of ``"mu_sigma2"``).
        tree_distance: ``(N, N)`` long, shortest path through parent-child edges of the
            taxonomy (for a forest, through a virtual root above the roots).
        groups: ``N`` labels for colouring: the top-level branch each dataset lies in.
        class_counts: ``(N,)`` long, leaf classes per dataset.
        novel: how many datasets the book holds out as novel (:data:`EXPERIMENTS`).
        merged: node names dropped because they hold the same classes as a kept one:
            kept name -> the others.
    """

    name: str
    datasets: list[str]
    ids: list[str]
    relation: torch.Tensor
    representations: dict[str, torch.Tensor]
    variance: torch.Tensor
    tree_distance: torch.Tensor
    groups: list[str]
    class_counts: torch.Tensor
    novel: int
    merged: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        """The number of datasets ``N``."""
        return len(self.datasets)

    def __repr__(self) -> str:
        dims = ", ".join(f"{k} {tuple(v.shape)}" for k, v in self.representations.items())
        pairs = int((self.relation == 1).sum())
        return (
            f"HierarchyExperiment({self.name!r}: {len(self)} datasets, {pairs} containment "
            f"pairs, {len(set(self.groups))} groups, novel {self.novel}; {dims})"
        )


def dataset_nodes(
    taxonomy: Taxonomy, min_classes: int = 1
) -> tuple[list[int], dict[int, list[int]]]:
    """The nodes that are distinct datasets: ``min_classes`` or more leaf classes, one per leaf set.

    Nodes holding the same leaf classes are one dataset; the one nearest a root (fewest edges,
    then node order) represents it.

    Returns:
        ``(kept, merged)``: sorted node indices, and kept index -> the other indices merged into it.
    """
    membership = taxonomy.leaf_matrix()
    depth = taxonomy.depth
    by_set: dict[tuple[int, ...], list[int]] = {}
    for i in (taxonomy.leaf_counts >= min_classes).nonzero().flatten().tolist():
        by_set.setdefault(tuple(membership[i].nonzero().flatten().tolist()), []).append(i)
    merged: dict[int, list[int]] = {}
    for nodes in by_set.values():
        first = min(nodes, key=lambda i: (int(depth[i]), i))
        merged[first] = sorted(i for i in nodes if i != first)
    return sorted(merged), merged


def inclusion_relation(membership: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` float64 from ``(N, L)`` bool leaf sets: 1 iff set ``i`` ⊊ set ``j``, NaN diagonal."""
    m = membership.double()
    inside = (m @ m.T) == m.sum(1, keepdim=True)  # every class of i is in j
    relation = (inside & ~inside.T).double()  # proper: not the same set
    relation.fill_diagonal_(float("nan"))
    return relation


def top_level_groups(taxonomy: Taxonomy, nodes: Sequence[int]) -> list[str]:
    """For each node, the name of the branch it lies in: the root's child above it (a root
    itself, or a child of a root, is its own group; with several roots, the root's name)."""
    ancestors = taxonomy.containment_matrix()  # [i, j]: i below j
    roots = taxonomy.roots_index
    if len(roots) > 1:  # a forest (iNaturalist): group by root
        heads = roots
    else:
        heads = [taxonomy.index(c) for c in taxonomy.children(taxonomy.ids[roots[0]])]
    groups = []
    for i in nodes:
        above = [h for h in heads if h == i or ancestors[i, h]]
        groups.append(taxonomy.names[above[0]] if above else taxonomy.names[i])
    return groups


def _forest_distance(taxonomy: Taxonomy) -> torch.Tensor:
    """Tree distance, with paths between different roots' trees through a virtual root above
    them: ``depth(i) + depth(j) + 2``."""
    distance = taxonomy.tree_distance()
    depth = taxonomy.depth
    through_top = depth[:, None] + depth[None, :] + 2
    return torch.where(distance < 0, through_top, distance)


def build_experiment(
    name: str,
    taxonomy: Taxonomy,
    prototypes: torch.Tensor,
    min_classes: int = 1,
    novel: int = 0,
) -> HierarchyExperiment:
    """A :class:`HierarchyExperiment` from a taxonomy and one prototype per leaf class.

    Args:
        name: the experiment's name.
        taxonomy: ``N_all`` nodes over ``L`` leaf classes.
        prototypes: ``(L, D)`` one vector per leaf class, in ``taxonomy.leaves`` order.
        min_classes: keep nodes holding at least this many classes.
        novel: stored as :attr:`HierarchyExperiment.novel`.
    """
    kept, merged = dataset_nodes(taxonomy, min_classes)
    membership = taxonomy.leaf_matrix()[kept]
    stats = prototype_statistics(membership, prototypes)
    mean, variance = stats.mean.float(), stats.variance.float()
    index = torch.tensor(kept)
    return HierarchyExperiment(
        name=name,
        datasets=[taxonomy.names[i] for i in kept],
        ids=[taxonomy.ids[i] for i in kept],
        relation=inclusion_relation(membership),
        representations={"mu": mean, "mu_sigma2": torch.cat([mean, variance], dim=1)},
        variance=variance,
        tree_distance=_forest_distance(taxonomy)[index][:, index],
        groups=top_level_groups(taxonomy, kept),
        class_counts=membership.sum(1),
        novel=novel,
        merged={taxonomy.names[k]: [taxonomy.names[i] for i in v] for k, v in merged.items() if v},
    )


def imagenet_prototypes(taxonomy: Taxonomy, encoder: OfflineEncoder) -> torch.Tensor:
    """``(L, 1280 + 384)`` float32 prototypes of an ImageNet taxonomy's leaf classes (chapter 2):
    the classifier's weight row and the MiniLM embedding of "A photo of a {class}"."""
    full = imagenet_hierarchy()
    names = [full.name(leaf) for leaf in full.leaves]  # all 1000: the same cache entry as ch. 2
    both = torch.cat([encoder.image_prototypes().cpu(), encoder.encode_texts(prompts(names))], 1)
    if taxonomy.leaf_labels is None:
        raise ValueError("an ImageNet taxonomy has class indices as leaf labels")
    return both[list(taxonomy.leaf_labels)]


def text_prototypes(taxonomy: Taxonomy, encoder: Encoder) -> torch.Tensor:
    """``(L, text_dim)`` float32: the text embedding of "A photo of a {leaf}" per leaf class."""
    return encoder.encode_texts(prompts(taxonomy.leaves)).cpu()


def _restricted(taxonomy: Taxonomy, within: Sequence[str] | None) -> Taxonomy:
    """``taxonomy`` limited to the leaf classes of the nodes named ``within`` (all if None)."""
    if within is None:
        return taxonomy
    by_name = {name: node for node, name in zip(taxonomy.ids, taxonomy.names, strict=True)}
    missing = [name for name in within if name not in by_name]
    if missing:
        raise KeyError(f"no node named {missing[:5]} in this taxonomy")
    leaves = {leaf for name in within for leaf in taxonomy.leaf_set(by_name[name])}
    return taxonomy.restrict_to_ancestors_of(sorted(leaves))


def _taxonomy_of(name: str) -> Taxonomy:
    if name == "imagenet":
        return imagenet_instrument_subtree()
    if name == "imagenet_wordnet":
        return imagenet_hierarchy()
    if name == "inat3":
        return inat2018_genus_taxonomy()
    return inat2018_taxonomy()


def hierarchy_experiment(
    name: str, encoder: OfflineEncoder | None = None, within: Sequence[str] | None = None
) -> HierarchyExperiment:
    """One of the book's hierarchy experiments (chapter 4; the baselines of chapter 6 use it too).

    * ``"imagenet"``: the WordNet nodes under ``instrumentality.n.03`` with >= 2 ImageNet classes,
      one per distinct class set (Task2Box's Table 2 setting); representation: class prototypes.
    * ``"inat"``: iNaturalist-2018's 57 classes and 271 orders, one per distinct species set
      (Table 1 reduced to the two levels reachable here); representation: species-name texts.
    * ``"inat3"``: the same with a third level, the genera with >= 2 species below each order
      (:func:`~taskspace.data.taxonomy.inat2018_genus_taxonomy`): chains genus ⊂ order ⊂ class.
    * ``"imagenet_wordnet"``: every WordNet node above ImageNet-1k with >= 2 classes.

    Args:
        name: one of :data:`EXPERIMENTS`.
        encoder: the prototypes' encoder; default ``OfflineEncoder()`` (EfficientNet-Lite0 +
            MiniLM, cached on disk).
        within: keep only the leaf classes of these nodes (by name), e.g. a few iNaturalist
            classes for a quick run (encoding all 8142 species names takes minutes on a CPU the
            first time); the default keeps everything. A reduced experiment holds out at most a
            quarter of its datasets as novel.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown hierarchy experiment {name!r}; known: {sorted(EXPERIMENTS)}")
    encoder = encoder or OfflineEncoder()
    taxonomy = _restricted(_taxonomy_of(name), within)
    if name in ("inat", "inat3"):
        prototypes, min_classes = text_prototypes(taxonomy, encoder), 1
    else:
        prototypes, min_classes = imagenet_prototypes(taxonomy, encoder), 2
    experiment = build_experiment(
        name, taxonomy, prototypes, min_classes=min_classes, novel=EXPERIMENTS[name]
    )
    if within is not None:  # a reduced run holds out at most a quarter
        experiment = replace(experiment, novel=min(experiment.novel, len(experiment) // 4))
    return experiment


def hierarchy_splits(
    experiment: HierarchyExperiment,
    draws: int,
    novel: int | None = None,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> list[RelationSplit]:
    """One split per draw ``r = 0 .. draws - 1``: ``split_relations(relation, novel, fractions,
    seed=r)`` -- ``novel`` datasets held out (default ``experiment.novel``), the known pairs among
    the others split into train / validation / test by ``fractions`` (SPEC I.6)."""
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    held_out = experiment.novel if novel is None else novel
    return [
        split_relations(experiment.relation, held_out, fractions, seed=draw)
        for draw in range(draws)
    ]


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


#: How chapter 4 halves the known pairs of its sensitivity batches: train / validation / test.
HALF_PAIRS = (0.5, 0.1, 0.4)


@dataclass(frozen=True)
class BoxRun:
    """One batch of Task2Box networks that chapter 4 trains side by side.

    The batch holds ``draws`` networks on :func:`hierarchy_splits` (seeds ``0 .. draws - 1``).
    With ``sensitivity`` it also holds ``draws`` networks on half of the known pairs
    (:data:`HALF_PAIRS`, seeds ``draws .. 2 draws - 1``) and, for each ``p = 1 .. perturbations``,
    ``draws`` networks on the draws' splits and seeds with every input moved by one rounding
    (:func:`~taskspace.boxes.sensitivity.round_off_noise` with seed ``p``). The batch's parts
    are, in order: ``"draws"``, ``"half"``, ``"perturbed 1"`` ... (see :meth:`part`).

    Attributes:
        experiment: a name of :data:`EXPERIMENTS` (or ``"inat3"``, ``"inat2"``).
        box_dim: ``k``.
        representation: a key of the experiment's ``representations``.
        draws: random splits ``R``.
        sensitivity: add the half-of-the-pairs and perturbed-input networks.
        perturbations: perturbed copies of the inputs (with ``sensitivity``).
    """

    experiment: str
    box_dim: int
    representation: str
    draws: int
    sensitivity: bool = False
    perturbations: int = 0

    @property
    def name(self) -> str:
        """E.g. ``"imagenet 5-D mu"``."""
        return f"{self.experiment} {self.box_dim}-D {self.representation}"

    @property
    def parts(self) -> tuple[str, ...]:
        """The blocks of ``draws`` networks in the batch, in order."""
        extra = ("half", *(f"perturbed {p}" for p in range(1, self.perturbations + 1)))
        return ("draws", *extra) if self.sensitivity else ("draws",)

    def part(self, name: str) -> slice:
        """The networks of one part of the batch: index ``(B, ...)`` outputs with it."""
        start = self.parts.index(name) * self.draws
        return slice(start, start + self.draws)

    def inputs(
        self, experiment: HierarchyExperiment
    ) -> tuple[torch.Tensor, list[RelationSplit], list[int]]:
        """The batch: features ``(B, N, D)`` (``(N, D)`` shared without ``sensitivity``), ``B``
        splits and ``B`` seeds."""
        x = experiment.representations[self.representation]
        splits = hierarchy_splits(experiment, self.draws)
        if not self.sensitivity:  # one (N, D) input for every network
            return x, splits, list(range(self.draws))
        half = hierarchy_splits(experiment, self.draws, fractions=HALF_PAIRS)
        noisy = [round_off_noise(x, seed=p) for p in range(1, self.perturbations + 1)]
        features = torch.stack([x] * (2 * self.draws) + [n for n in noisy for _ in splits])
        seeds = [*range(2 * self.draws), *(list(range(self.draws)) * self.perturbations)]
        return features, splits + half + splits * self.perturbations, seeds

    def train(
        self, experiment: HierarchyExperiment, steps: int, device: torch.device | None = None
    ) -> tuple[torch.Tensor, Boxes, History]:
        """:func:`train_hierarchy_boxes` on the batch (cached), trained on ``device`` (default:
        the CPU): overlaps ``(B, N, N)``, boxes ``(B, N, k)`` (on the CPU) and the history of all
        ``B`` networks. ``experiment`` is the one this run names (:func:`book_experiments`)."""
        features, splits, seeds = self.inputs(experiment)
        if device is not None:
            features = features.to(device)
            splits = [
                RelationSplit(**{k: v.to(device) for k, v in asdict(s).items()}) for s in splits
            ]
        overlap, boxes, history = train_hierarchy_boxes(
            experiment,
            splits,
            self.box_dim,
            steps,
            features=features,
            seeds=seeds,
            description=self.name,
        )
        return overlap.cpu(), Boxes(boxes.low.cpu(), boxes.high.cpu()), history


#: Chapter 4's experiments, by the names its runs use (:func:`book_experiments`).
BOOK_EXPERIMENTS = ("imagenet", "inat", "inat3", "inat2")


def book_experiments(
    inat_within: Sequence[str] | None = None,
    inat3_within: Sequence[str] | None = None,
    names: Sequence[str] = BOOK_EXPERIMENTS,
) -> dict[str, HierarchyExperiment]:
    """Chapter 4's experiments by the names its runs use (:func:`book_box_runs`).

    ``"imagenet"``; ``"inat"`` (classes + orders, the classes ``inat_within`` or all);
    ``"inat3"`` (classes, orders, genera of ``inat3_within``) and ``"inat2"`` (the same classes,
    two levels). ``None`` keeps every class (scale ``paper``). Only ``names`` are built.
    """
    unknown = sorted(set(names) - set(BOOK_EXPERIMENTS))
    if unknown:
        raise ValueError(f"unknown experiments {unknown}; chapter 4 has {list(BOOK_EXPERIMENTS)}")
    build = {
        "imagenet": lambda: hierarchy_experiment("imagenet"),
        "inat": lambda: hierarchy_experiment("inat", within=inat_within),
        "inat3": lambda: hierarchy_experiment("inat3", within=inat3_within),
        "inat2": lambda: hierarchy_experiment("inat", within=inat3_within),
    }
    return {name: build[name]() for name in names}


def book_box_runs(box_dims: Sequence[int], draws: int, perturbations: int) -> list[BoxRun]:
    """Every batch of networks chapter 4 trains, in its order (and ``python -m taskspace.sweep
    boxes``'s jobs, so the sweep fills the chapter's cache).

    ImageNet and iNaturalist: every ``k`` of ``box_dims`` on ``mu``, the 5-D batch with the
    half-of-the-pairs and perturbed-input networks (``perturbations`` copies), and 5-D on
    ``[mu, sigma^2]``; the three-level iNaturalist and its two-level twin: 5-D on ``mu``.
    """
    runs = []
    for name in ("imagenet", "inat"):
        for k in box_dims:
            sensitive = k == 5
            runs.append(BoxRun(name, k, "mu", draws, sensitive, perturbations if sensitive else 0))
        runs.append(BoxRun(name, 5, "mu_sigma2", draws))
    runs += [BoxRun(name, 5, "mu", draws) for name in ("inat3", "inat2")]
    return runs


@dataclass(frozen=True)
class ContainmentScores:
    """F1 of containment predictions per draw, under every scoring protocol (chapter 4).

    Attributes:
        threshold: ``(R,)`` the threshold chosen per draw on the validation (or training) pairs.
        f1: protocol name (:data:`~taskspace.boxes.evaluate.PROTOCOLS`) -> ``(R,)`` F1 in
            ``[0, 1]``. ``"authors_transposed"`` chooses its own threshold on the transposed
            validation pairs (:attr:`threshold_transposed`), as the authors' code does.
        threshold_transposed: ``(R,)`` the threshold of ``"authors_transposed"``.
        recall_transitive, recall_non_transitive: ``(R,)`` recall of the held-out positives
            that the training positives imply by transitivity (a chain ``i ⊂ m ⊂ j``), and of
            the others (NaN in a draw with none).
        count_transitive, count_non_transitive: ``(R,)`` how many held-out positives each is.
        predicted: ``(R, N, N)`` bool, "``i`` inside ``j``" at each draw's threshold.
    """

    threshold: torch.Tensor
    f1: dict[str, torch.Tensor]
    threshold_transposed: torch.Tensor
    recall_transitive: torch.Tensor
    recall_non_transitive: torch.Tensor
    count_transitive: torch.Tensor
    count_non_transitive: torch.Tensor
    predicted: torch.Tensor

    @property
    def existing(self) -> torch.Tensor:
        """``(R,)`` F1 on the test pairs of existing datasets (``f1["held_out"]``)."""
        return self.f1["held_out"]

    @property
    def novel(self) -> torch.Tensor:
        """``(R,)`` F1 on novel-existing pairs, both directions (``f1["novel_both"]``)."""
        return self.f1["novel_both"]


def _draw_scores(
    overlap: torch.Tensor,
    relation: torch.Tensor,
    split: RelationSplit,
    choose_on: str,
    thresholds: Sequence[float],
) -> tuple[list[float], torch.Tensor]:
    """One draw: ``[t, t_transposed, F1 per protocol..., recall and count of both kinds]`` and
    the ``(N, N)`` prediction at ``t``."""
    chosen_on = getattr(split, choose_on)
    t, _ = choose_threshold(overlap, relation, chosen_on, thresholds)
    predicted = predict_containment(overlap, t)
    # the authors' reading: cell (i, j) is "j inside i", for the threshold's pairs too
    t_transposed, _ = choose_threshold(overlap, relation, chosen_on.T, thresholds)
    f1 = [
        f1_score(
            predict_containment(overlap, t_transposed) if p == "authors_transposed" else predicted,
            relation,
            protocol_pairs(split, p),
        )
        for p in PROTOCOLS
    ]
    implied = implied_by_transitivity((relation == 1) & split.train)
    transitive = recall_of(predicted, relation == 1, split.test & implied)
    other = recall_of(predicted, relation == 1, split.test & ~implied)
    return [t, t_transposed, *f1, *transitive, *other], predicted


def containment_scores(
    overlap: torch.Tensor,
    relation: torch.Tensor,
    splits: Sequence[RelationSplit],
    choose_on: str = "validation",
    thresholds: Sequence[float] = THRESHOLDS,
) -> ContainmentScores:
    """Score ``(R, N, N)`` predicted overlaps with the authors' rule, one split each (ch. 4).

    Draw ``r`` predicts "``i`` inside ``j``" iff ``overlap[r, i, j] > overlap[r, j, i]`` and
    ``overlap[r, i, j] > t`` (:func:`~taskspace.boxes.evaluate.predict_containment`), with ``t``
    the candidate of best F1 on the ``choose_on`` pairs (``"validation"`` or ``"train"``), and
    is scored under every protocol of :data:`~taskspace.boxes.evaluate.PROTOCOLS`.

    Args:
        overlap: ``(R, N, N)`` predicted ``d_box`` (or any score where larger = more inside).
        relation: ``(N, N)`` true relation (NaN diagonal), e.g. ``experiment.relation``.
        splits: ``R`` splits of ``relation``.
    """
    if overlap.dim() != 3 or overlap.shape[0] != len(splits):
        raise ValueError(f"overlap must be (R, N, N) with R = {len(splits)} splits")
    if choose_on not in ("validation", "train"):
        raise ValueError(f"choose_on must be 'validation' or 'train', got {choose_on!r}")
    rows, predicted = zip(
        *(
            _draw_scores(overlap[r], relation, s, choose_on, thresholds)
            for r, s in enumerate(splits)
        ),
        strict=True,
    )
    values = torch.tensor(rows, dtype=torch.float64)  # (R, 2 + P + 4)
    p = len(PROTOCOLS)
    return ContainmentScores(
        threshold=values[:, 0],
        f1={name: values[:, 2 + i] for i, name in enumerate(PROTOCOLS)},
        threshold_transposed=values[:, 1],
        recall_transitive=values[:, 2 + p],
        count_transitive=values[:, 3 + p].long(),
        recall_non_transitive=values[:, 4 + p],
        count_non_transitive=values[:, 5 + p].long(),
        predicted=torch.stack(predicted),
    )


def neighbourhood_curves(
    centres: torch.Tensor, tree: torch.Tensor, m_max: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Do box centres follow the taxonomy? (supplement figure 7, chapter 4).

    For every dataset, its ``m`` nearest datasets in the taxonomy (ties in tree distance broken
    at random), for ``m = 1 .. m_max``: their mean tree distance and the mean Euclidean distance
    between box centres; and, as a control, the centre distance to ``m`` random datasets. Each
    is averaged over datasets (and draws).

    Args:
        centres: ``(R, N, k)`` box centres of ``R`` draws.
        tree: ``(N, N)`` tree distances (:attr:`HierarchyExperiment.tree_distance`).
        m_max: the largest neighbourhood, at most ``N - 1``.
        seed: of the tie-breaking and of the random datasets.

    Returns:
        ``(tree, near, control)``, three ``(m_max,)`` float64 tensors.
    """
    n = tree.shape[0]
    if centres.dim() != 3 or centres.shape[1] != n or tree.shape != (n, n):
        raise ValueError(
            f"need (R, N, k) centres and (N, N) tree distances, got {tuple(centres.shape)} "
            f"and {tuple(tree.shape)}"
        )
    if not 1 <= m_max < n:
        raise ValueError(f"m_max must be in 1 .. {n - 1}, got {m_max}")
    generator = torch.Generator().manual_seed(seed)
    key = tree.double() + 0.5 * torch.rand(n, n, generator=generator, dtype=torch.float64)
    key.fill_diagonal_(float("inf"))
    nearest = key.argsort(dim=1)[:, :m_max]  # (N, m_max)
    others = torch.rand(n, n, generator=generator).fill_diagonal_(2.0).argsort(dim=1)[:, :m_max]
    distance = torch.cdist(centres.double(), centres.double())  # (R, N, N)
    steps = torch.arange(1, m_max + 1, dtype=torch.float64)

    def running_mean(values: torch.Tensor) -> torch.Tensor:  # (..., N, m_max) -> (m_max,)
        return (values.cumsum(-1) / steps).reshape(-1, m_max).mean(0)

    near = distance.gather(2, nearest.expand(len(centres), -1, -1))
    far = distance.gather(2, others.expand(len(centres), -1, -1))
    return running_mean(tree.double().gather(1, nearest)), running_mean(near), running_mean(far)
