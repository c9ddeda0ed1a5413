"""Chapter 4's batches of Task2Box networks: its per-scale settings, its experiments and the
batches it trains (the same list ``python -m taskspace.sweep boxes`` trains, so the sweep fills
the chapter's cache)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from taskspace.boxes.evaluate import RelationSplit
from taskspace.boxes.geometry import Boxes
from taskspace.boxes.sensitivity import round_off_noise
from taskspace.boxes.train import History
from taskspace.hierarchies.experiment import (
    HierarchyExperiment,
    hierarchy_experiment,
    hierarchy_splits,
)
from taskspace.hierarchies.scoring import ContainmentScores, containment_scores
from taskspace.hierarchies.training import train_hierarchy_boxes

__all__ = [
    "BOOK_EXPERIMENTS",
    "FAST_CLASSES",
    "HALF_PAIRS",
    "HIERARCHY_SETTINGS",
    "INAT3_CLASSES",
    "BookBoxes",
    "BoxRun",
    "HierarchySettings",
    "book_box_runs",
    "book_experiments",
    "train_book_batches",
]


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


#: Scale ``fast``'s iNaturalist: five small classes (their species names are encoded in seconds).
FAST_CLASSES = ("Bivalvia", "Elasmobranchii", "Phaeophyceae", "Bryopsida", "Lecanoromycetes")

#: Scale ``book``'s three-level iNaturalist: nine mid-sized classes (vertebrates, fungi, lichens,
#: snails, ferns, spiders), 382 datasets with genera; all 57 classes with genera are 1682
#: datasets, too many for two CPU cores.
INAT3_CLASSES = (
    "Actinopterygii",
    "Reptilia",
    "Agaricomycetes",
    "Mammalia",
    "Amphibia",
    "Gastropoda",
    "Polypodiopsida",
    "Arachnida",
    "Lecanoromycetes",
)


@dataclass(frozen=True)
class HierarchySettings:
    """Chapter 4's sizes at one scale (:data:`HIERARCHY_SETTINGS`); the sweep's ``boxes``
    command takes its defaults from scale ``paper``.

    Attributes:
        steps: Adam steps per network.
        draws: random splits ``R`` (one network each, side by side).
        inat_within: the iNaturalist classes of ``"inat"`` (``None``: all 57).
        inat3_within: the classes of ``"inat3"`` and ``"inat2"`` (``None``: all).
        dims: box dimensions ``k`` trained on ``mu``.
        perturbations: perturbed-input copies in the 5-D batches.
        neighbours: the largest taxonomy neighbourhood ``m`` of the centre-distance curves.
        map_steps: Adam steps of the 2-D maps fitted to all pairs (figures 1 and 3).
    """

    steps: int
    draws: int
    inat_within: tuple[str, ...] | None
    inat3_within: tuple[str, ...] | None
    dims: tuple[int, ...]
    perturbations: int
    neighbours: int
    map_steps: int

    def experiments(
        self, names: Sequence[str] = BOOK_EXPERIMENTS
    ) -> dict[str, HierarchyExperiment]:
        """:func:`book_experiments` at these sizes."""
        return book_experiments(self.inat_within, self.inat3_within, names)

    def runs(self) -> list[BoxRun]:
        """:func:`book_box_runs` at these sizes."""
        return book_box_runs(self.dims, self.draws, self.perturbations)


#: Chapter 4's settings per scale (``fast``: about a minute; ``book``: minutes on two CPU cores;
#: ``paper``: the authors' 1350 steps, every class, and 8-D and 16-D boxes too).
HIERARCHY_SETTINGS: dict[str, HierarchySettings] = {
    "fast": HierarchySettings(
        steps=60,
        draws=2,
        inat_within=FAST_CLASSES,
        inat3_within=FAST_CLASSES,
        dims=(2, 3, 5),
        perturbations=1,
        neighbours=8,
        map_steps=60,
    ),
    "book": HierarchySettings(
        steps=250,
        draws=5,
        inat_within=None,
        inat3_within=INAT3_CLASSES,
        dims=(2, 3, 5),
        perturbations=2,
        neighbours=20,
        map_steps=1000,
    ),
    "paper": HierarchySettings(
        steps=1350,
        draws=5,
        inat_within=None,
        inat3_within=None,
        dims=(2, 3, 5, 8, 16),
        perturbations=3,
        neighbours=20,
        map_steps=1350,
    ),
}


@dataclass
class BookBoxes:
    """What chapter 4's batches give (:func:`train_book_batches`).

    Attributes:
        runs: the batches, in training order.
        scores: ``(experiment, representation, k)`` -> scores of the ``R`` draws' networks;
            ``(experiment, "half", 5)`` for the networks trained on half of the pairs.
        boxes: ``(experiment, k)`` -> boxes ``(R, N, k)`` of the draws' networks on ``mu``.
        overlap5: experiment -> ``(R, N, N)`` predicted ``d_box`` of the 5-D boxes on ``mu``.
        histories: experiment -> training history of its 5-D batch on ``mu`` (every network).
        perturbed: experiment -> scores of the draws' networks retrained on each perturbed input.
        seconds: experiment -> wall-clock seconds of all its batches (training or cache read).
    """

    runs: list[BoxRun]
    scores: dict[tuple[str, str, int], ContainmentScores]
    boxes: dict[tuple[str, int], Boxes]
    overlap5: dict[str, torch.Tensor]
    histories: dict[str, History]
    perturbed: dict[str, list[ContainmentScores]]
    seconds: dict[str, float]


def train_book_batches(
    experiments: dict[str, HierarchyExperiment],
    settings: HierarchySettings,
    device: torch.device | None = None,
) -> BookBoxes:
    """Train (or read from the cache) every batch of chapter 4 and score it (chapter 4).

    The batches are ``settings.runs()``, each trained by :meth:`BoxRun.train` for
    ``settings.steps`` steps on ``device`` -- the calls ``python -m taskspace.sweep boxes`` makes,
    so a sweep run beforehand fills every entry. The draws' networks are scored with
    :func:`containment_scores` on :func:`hierarchy_splits`; the half-of-the-pairs networks on the
    :data:`HALF_PAIRS` splits; the perturbed networks on the draws' splits.
    """
    result = BookBoxes(settings.runs(), {}, {}, {}, {}, {}, {})
    for run in result.runs:
        name, e, tick = run.experiment, experiments[run.experiment], time.perf_counter()
        overlap, boxes, history = run.train(e, settings.steps, device)  # (B, N, N), (B, N, k)
        result.seconds[name] = result.seconds.get(name, 0.0) + time.perf_counter() - tick
        splits, evaluated = hierarchy_splits(e, run.draws), run.part("draws")
        key = (name, run.representation, run.box_dim)
        result.scores[key] = containment_scores(overlap[evaluated], e.relation, splits)
        if run.representation != "mu":
            continue
        result.boxes[name, run.box_dim] = Boxes(boxes.low[evaluated], boxes.high[evaluated])
        if run.box_dim == 5:
            result.histories[name], result.overlap5[name] = history, overlap[evaluated]
        if run.sensitivity:
            half = hierarchy_splits(e, run.draws, fractions=HALF_PAIRS)
            half_scores = containment_scores(overlap[run.part("half")], e.relation, half)
            result.scores[name, "half", 5] = half_scores
            result.perturbed[name] = [
                containment_scores(overlap[run.part(part)], e.relation, splits)
                for part in run.parts[2:]
            ]
    return result
