"""Chapter 8's experiments: the agreement score of lists of tasks, Proposition 1, the pixel task.

Every measurement goes through :func:`~taskspace.agreement.recipes.measure_task` (the networks'
seed is the task's index in its list), so the sweep's jobs and chapters 9 and 10 find the same
cached runs:

* :func:`measure_tasks` — one pair of networks per task: a :class:`TaskScores`;
* :func:`measure_kinds` — the same for several kinds of task (human, random) at once;
* :func:`scores_table` — their AS, training and test accuracy as a table;
* :func:`measure_random_network_tasks` — random-network tasks (appendix H);
* :data:`RANDOMNESS_SOURCES` — the sources of training randomness compared in figure 2-right;
* :func:`proposition1_choices`, :func:`proposition1_summary` — Proposition 1 (appendix G);
* :func:`pixel_probes` — the pixel task's test images with parts replaced by noise (§5.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from taskspace.agreement.ensemble import Stochasticity, TrainConfig
from taskspace.agreement.measure import AgreementRun, measure_agreement
from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.recipes import Task, measure_task, random_network_labels
from taskspace.agreement.score import Proposition1, majority_vote, proposition1
from taskspace.agreement.tasks import PixelTask
from taskspace.data.images import ImageDataset
from taskspace.plotting.tables import Table
from taskspace.progress import progress

__all__ = [
    "RANDOMNESS_SOURCES",
    "Proposition1Summary",
    "TaskScores",
    "agreement_of",
    "describe_run",
    "measure_kinds",
    "measure_random_network_tasks",
    "measure_tasks",
    "pixel_probes",
    "proposition1_choices",
    "proposition1_summary",
    "scores_table",
    "task_name",
]

#: Figure 2-right's rows: which of the three sources of randomness differ between the networks
#: (a switched-off source gives every network the first network's seed).
RANDOMNESS_SOURCES: dict[str, Stochasticity] = {
    "all three vary": Stochasticity(),
    "initialisation only": Stochasticity(initialisation=True, data_order=False, kernels=False),
    "data order only": Stochasticity(initialisation=False, data_order=True, kernels=False),
    "kernels only": Stochasticity(initialisation=False, data_order=False, kernels=True),
    "all fixed": Stochasticity(initialisation=False, data_order=False, kernels=False),
}


def task_name(task: Task, class_names: Sequence[str]) -> str:
    """``"{T-shirt/top, ...} vs rest"`` for a human task, ``"random (seed 1000)"`` otherwise."""
    if isinstance(task, tuple):
        return "{" + ", ".join(class_names[c] for c in task) + "} vs rest"
    return f"random (seed {task})"


def describe_run(run: AgreementRun, labels: torch.Tensor | None = None) -> str:
    """One line: a run's AS, the training accuracy and epochs its networks reached, and its test
    accuracy against ``labels`` ``(N_te,)`` where given (chapter 8)."""
    text = (
        f"AS {run.score.mean:.3f}, training accuracy {run.train_accuracy.min():.3f}-"
        f"{run.train_accuracy.max():.3f} after {run.epochs.min()}-{run.epochs.max()} epochs"
    )
    if labels is not None:
        text += f", test accuracy {run.test_accuracy(labels).mean():.3f}"
    return text


@dataclass(frozen=True)
class TaskScores:
    """The runs of ``T`` tasks, one ensemble each (chapter 8).

    Attributes:
        tasks: the ``T`` tasks (a tuple of classes, a random task's seed, a random network's).
        runs: ``T`` runs, predictions ``(E, N_te)`` each.
        test_labels: ``T`` tensors ``(N_te,)``: each task's labels of the test images.
    """

    tasks: tuple[Task, ...]
    runs: tuple[AgreementRun, ...]
    test_labels: tuple[torch.Tensor, ...]

    def __post_init__(self) -> None:
        if not len(self.tasks) == len(self.runs) == len(self.test_labels) > 0:
            raise ValueError(
                f"need one run and one labelling per task, got {len(self.tasks)} tasks, "
                f"{len(self.runs)} runs and {len(self.test_labels)} labellings"
            )

    @property
    def agreement(self) -> np.ndarray:
        """``(T,)`` float64: each task's AS."""
        return np.array([run.score.mean for run in self.runs])

    @property
    def std(self) -> float | None:
        """The tasks' AS standard deviation (``ddof=1``; ``None`` for a single task)."""
        return float(self.agreement.std(ddof=1)) if len(self.runs) > 1 else None

    @property
    def train_accuracy(self) -> np.ndarray:
        """``(T,)`` float64: the lowest training accuracy any of a task's networks reached."""
        return np.array([run.train_accuracy.min().item() for run in self.runs])

    @property
    def epochs(self) -> np.ndarray:
        """``(T,)`` int64: the most epochs any of a task's networks trained."""
        return np.array([run.epochs.max().item() for run in self.runs])

    @property
    def test_accuracy(self) -> np.ndarray:
        """``(T,)`` float64: the networks' mean accuracy against each task's test labels."""
        return np.array(
            [
                run.test_accuracy(labels).mean().item()
                for run, labels in zip(self.runs, self.test_labels, strict=True)
            ]
        )

    def row(self, name: str) -> dict[str, object]:
        """One row of :func:`scores_table`: AS mean ± spread over tasks, how many tasks, the
        lowest training accuracy, the most epochs and the mean test accuracy."""
        spread = "–" if self.std is None else f"{self.std:.3f}"
        return {
            "": name,
            "AS": f"{self.agreement.mean():.3f} ± {spread}",
            "tasks": len(self.runs),
            "lowest training acc.": f"{self.train_accuracy.min():.3f}",
            "most epochs": int(self.epochs.max()),
            "test acc.": f"{self.test_accuracy.mean():.3f}",
        }

    def pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``[(predictions (E, N_te), test labels (N_te,))]`` per task, for Proposition 1."""
        return [
            (run.predictions, labels)
            for run, labels in zip(self.runs, self.test_labels, strict=True)
        ]


def scores_table(named: Mapping[str, TaskScores], caption: str = "") -> Table:
    """``{name: TaskScores}`` as a table, one :meth:`TaskScores.row` each (chapter 8); the AS
    spread is the standard deviation over the tasks (``ddof=1``; "–" for a single task)."""
    return Table.from_rows([scores.row(name) for name, scores in named.items()], caption=caption)


def agreement_of(scores: Mapping[str, TaskScores]) -> dict[str, np.ndarray]:
    """``{name: (T,) AS of each task}`` of ``{name: TaskScores}`` (for the figures)."""
    return {name: task_scores.agreement for name, task_scores in scores.items()}


def measure_tasks(
    spec: NetworkSpec,
    tasks: Sequence[Task],
    train: ImageDataset,
    test: ImageDataset,
    *,
    config: TrainConfig,
    device: torch.device | None = None,
    stochasticity: Stochasticity | None = None,
    label: str = "",
) -> TaskScores:
    """Train a pair of networks on each task of ``tasks`` and measure its AS (chapter 8).

    Task ``i`` is measured by :func:`~taskspace.agreement.recipes.measure_task` with seed ``i``:
    the sweep's :func:`~taskspace.sweep.jobs.agreement_jobs` computes the same cache entries.

    Args:
        train, test: e.g. :func:`~taskspace.agreement.recipes.sample_train` and ``sample_test``.
        label: the progress bar's text.
    """
    runs, labels = [], []
    for index, task in enumerate(progress(tasks, label)):
        run, test_labels = measure_task(
            spec,
            task,
            train,
            test,
            seed=index,
            config=config,
            device=device,
            stochasticity=stochasticity,
        )
        runs.append(run)
        labels.append(test_labels)
    return TaskScores(tuple(tasks), tuple(runs), tuple(labels))


def measure_kinds(
    spec: NetworkSpec,
    tasks: Mapping[str, Sequence[Task]],
    train: ImageDataset,
    test: ImageDataset,
    *,
    config: TrainConfig,
    device: torch.device | None = None,
    stochasticity: Stochasticity | None = None,
    label: str = "",
) -> dict[str, TaskScores]:
    """:func:`measure_tasks` for each kind of task, e.g. ``{"human": [...], "random": [...]}``."""
    return {
        kind: measure_tasks(
            spec,
            kind_tasks,
            train,
            test,
            config=config,
            device=device,
            stochasticity=stochasticity,
            label=f"{label} {kind}".strip(),
        )
        for kind, kind_tasks in tasks.items()
    }


def measure_random_network_tasks(
    spec: NetworkSpec,
    seeds: Sequence[int],
    train: ImageDataset,
    test: ImageDataset,
    *,
    config: TrainConfig,
    device: torch.device | None = None,
) -> TaskScores:
    """The AS of random-network tasks (appendix H; chapter 8): the median split of a random
    ``spec.build(seed)``'s logit (:func:`~taskspace.agreement.recipes.random_network_labels`),
    learnt by a pair of networks of the same ``spec`` with seed = the task's index."""
    runs, labels = [], []
    for index, seed in enumerate(seeds):
        train_labels, test_labels = random_network_labels(spec, seed, train.images, test.images)
        run = measure_agreement(
            spec,
            train.images,
            train_labels,
            test.images,
            seed=index,
            config=config,
            device=device,
        )
        runs.append(run)
        labels.append(test_labels)
    return TaskScores(tuple(seeds), tuple(runs), tuple(labels))


def proposition1_choices(
    predictions: torch.Tensor, test_labels: torch.Tensor
) -> dict[str, Proposition1]:
    """Proposition 1 for ``(E, N_te)`` predictions and three labellings ``h`` (chapter 8): the
    task's ``(N_te,)`` test labels, the networks' majority vote, and its opposite."""
    vote = majority_vote(predictions)
    choices = {
        "true test labels": test_labels,
        "majority vote": vote,
        "1 - majority vote": 1 - vote,
    }
    return {name: proposition1(predictions, h) for name, h in choices.items()}


@dataclass(frozen=True)
class Proposition1Summary:
    """Proposition 1 over many runs (chapter 8).

    Attributes:
        n_runs: how many ensembles were checked.
        holds: whether both inequalities hold on all of them.
        room_upper: the smallest ``ACC(tau_hat) - AS``.
        room_lower: the smallest ``AS - (2 ACC(tau_tilde) - 1)``.
    """

    n_runs: int
    holds: bool
    room_upper: float
    room_lower: float


def proposition1_summary(
    pairs: Iterable[tuple[torch.Tensor, torch.Tensor]],
) -> Proposition1Summary:
    """:func:`~taskspace.agreement.proposition1` on every ``(predictions (E, N), labels (N,))``."""
    checks = [proposition1(predictions, labels) for predictions, labels in pairs]
    if not checks:
        raise ValueError("no runs to check")
    return Proposition1Summary(
        n_runs=len(checks),
        holds=all(check.holds for check in checks),
        room_upper=min(c.accuracy_majority - c.agreement for c in checks),
        room_lower=min(c.agreement - c.lower_bound for c in checks),
    )


def pixel_probes(
    pixel: PixelTask, images: torch.Tensor, sizes: Sequence[int] = (3, 7, 15)
) -> dict[str, torch.Tensor]:
    """The test images ``(N, C, H, W)`` with parts replaced by uniform noise (§5.4; chapter 8):
    the pixel alone, squares of each of ``sizes`` around it, everything but the pixel."""
    probes = {"pixel randomised": pixel.randomise_pixel(images, seed=1)}
    for size in sizes:
        probes[f"{size}x{size} square randomised"] = pixel.randomise_window(images, size, seed=size)
    probes["all but the pixel randomised"] = pixel.randomise_all_but_pixel(images, seed=2)
    return probes
