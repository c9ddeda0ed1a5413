"""The jobs of the three sweeps: agreement scores, task discovery, Task2Box draws.

Each builder reproduces one chapter's recipe (which images, which labels, which seeds), so the
jobs compute the very cache keys that the chapter computes and the chapter, run afterwards at
scale ``paper`` on the same kind of device, finds every result on disk:

* :func:`agreement_jobs` — chapter 8's measurements, from its recipes
  (:mod:`~taskspace.agreement.recipes`): its training and test samples, its human- and
  random-labelled tasks, :func:`~taskspace.agreement.recipes.measure_task` with the task's index
  in its list as the networks' seed;
* :func:`discovery_jobs` — chapter 9's ``discover``: the run of a
  :class:`~taskspace.agreement.discovery.DiscoverySettings` (the chapter's
  :data:`~taskspace.agreement.discovery.DISCOVERY_SETTINGS` ``[scale]``), for several ``lambda``;
* :func:`boxes_jobs` — chapter 4's batches of Task2Box networks
  (:func:`~taskspace.hierarchies.book_box_runs`), each trained through the content-keyed cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import torch

from taskspace.agreement import NetworkSpec, TrainConfig
from taskspace.agreement.discovery import DiscoverySettings
from taskspace.agreement.recipes import (
    DATASETS,
    Task,
    dataset_pools,
    human_tasks,
    measure_task,
    random_tasks,
    sample_test,
    sample_train,
)
from taskspace.data.images import ImageDataset
from taskspace.hierarchies import (
    BoxRun,
    HierarchyExperiment,
    containment_scores,
    hierarchy_splits,
)
from taskspace.sweep.distributed import Job, Row

__all__ = ["DATASETS", "agreement_jobs", "boxes_jobs", "dataset_pools", "discovery_jobs"]


def _agreement_row(
    spec: NetworkSpec,
    train: ImageDataset,
    test: ImageDataset,
    task: Task,
    seed: int,
    config: TrainConfig,
    n_networks: int,
    device: torch.device,
) -> Row:
    run, test_labels = measure_task(
        spec, task, train, test, seed=seed, config=config, device=device, n_networks=n_networks
    )
    return {
        "as": run.score.mean,
        "train_accuracy_min": run.train_accuracy.min().item(),
        "epochs_max": int(run.epochs.max()),
        "test_accuracy": run.test_accuracy(test_labels).mean().item(),
    }


def agreement_jobs(
    train_pool: ImageDataset,
    test_pool: ImageDataset,
    specs: Sequence[NetworkSpec],
    n_train: Sequence[int],
    n_test: int,
    n_human: int,
    n_random: int,
    config: TrainConfig,
    device: torch.device,
    n_networks: int = 2,
) -> list[Job]:
    """The AS of ``n_human`` human- and ``n_random`` random-labelled tasks for every
    architecture and training-set size (chapter 8's main, architecture and size sweeps).

    Args:
        train_pool, test_pool: e.g. :func:`dataset_pools` ``("fashion-mnist")``.
        specs: the architectures (``in_channels``/``image_size`` of the pools' images).
        n_train: training-set sizes ``N`` (:func:`~taskspace.agreement.recipes.sample_train`).
        n_test: test images (:func:`~taskspace.agreement.recipes.sample_test`).
        n_human, n_random: the first tasks of chapter 8's lists (human_tasks, random_tasks).
        config: how each network trains (chapter 8's is ``AGREEMENT_SETTINGS[scale].config``).
        device: where to train; part of the cache key.
        n_networks: networks per task (2: the paper's AS).

    Returns:
        one job per (architecture, ``N``, task), named e.g. ``"mlp N=400 human (0, 3, 5, 7, 8)"``;
        its row holds ``as``, ``train_accuracy_min``, ``epochs_max``, ``test_accuracy``.
    """
    too_small = [n for n in (*n_train, n_test) if n < 10]
    if too_small or n_human < 0 or n_random < 0 or n_human + n_random == 0:
        raise ValueError(
            "need training and test sets of at least 10 images (N // 10 per class) and at "
            f"least one task, got N = {list(n_train)}, n_test = {n_test}, "
            f"{n_human} human and {n_random} random tasks"
        )
    test = sample_test(test_pool, n_test)
    tasks: dict[str, list[Task]] = {
        "human": human_tasks(n_human) if n_human else [],
        "random": random_tasks(n_random),
    }
    jobs = []
    for spec in specs:
        for n in n_train:
            train = sample_train(train_pool, n)
            for kind, kind_tasks in tasks.items():
                for index, task in enumerate(kind_tasks):
                    run = partial(
                        _agreement_row, spec, train, test, task, index, config, n_networks, device
                    )
                    jobs.append(Job(f"{spec.label} N={n} {kind} {task}", run))
    return jobs


def _fifth_means(values: torch.Tensor) -> tuple[float, float]:
    """Means of the first and of the last fifth of a ``(T,)`` history (at least one value)."""
    width = max(1, len(values) // 5)
    return values[:width].mean().item(), values[-width:].mean().item()


def _discovery_row(
    settings: DiscoverySettings,
    train_pool: ImageDataset,
    spec: NetworkSpec,
    uniformity_weight: float,
    seed: int,
    meta_gradient: str,
    device: torch.device,
) -> Row:
    found = settings.discover(
        train_pool,
        spec,
        uniformity_weight=uniformity_weight,
        seed=seed,
        meta_gradient=meta_gradient,
        device=device,
    )
    proxy_first, proxy_last = _fifth_means(found.history["proxy"])
    _, uniformity_last = _fifth_means(found.history["uniformity"])
    return {
        "proxy_first_fifth": proxy_first,
        "proxy_last_fifth": proxy_last,
        "uniformity_last_fifth": uniformity_last,
        "meta_steps": len(found.history["proxy"]),
    }


def discovery_jobs(
    train_pool: ImageDataset,
    spec: NetworkSpec,
    settings: DiscoverySettings,
    uniformity_weights: Sequence[float],
    seeds: Sequence[int],
    device: torch.device,
    meta_gradient: str = "recompute",
) -> list[Job]:
    """Task discovery for every ``lambda`` and seed (chapter 9's run and its ``lambda`` sweep).

    Args:
        train_pool: the images' source; the pool is ``settings.pool(train_pool)``.
        spec: the inner networks' architecture (the encoder's backbone is the same with
            ``settings.n_heads`` outputs).
        settings: the discovery (chapter 9's is ``DISCOVERY_SETTINGS[scale]``); its own
            ``uniformity_weight`` is replaced by each of ``uniformity_weights``.
        uniformity_weights: the ``lambda`` values (Eq. 3).
        seeds: the discovery seeds (chapter 9 uses 0).
        device: where to run; part of the cache key.
        meta_gradient: see :func:`~taskspace.agreement.discover_tasks`.

    Returns:
        one job per (``lambda``, seed), named e.g. ``"discovery lambda=0.66 seed=0"``; its row
        holds the proxy-AS over the first and last fifth of the meta-steps and the final
        uniformity loss.
    """
    jobs = []
    for weight in uniformity_weights:
        for seed in seeds:
            run = partial(
                _discovery_row, settings, train_pool, spec, weight, seed, meta_gradient, device
            )
            jobs.append(Job(f"discovery lambda={weight:g} seed={seed}", run))
    return jobs


def _boxes_row(
    run: BoxRun, experiment: HierarchyExperiment, steps: int, device: torch.device
) -> Row:
    overlap, _, _ = run.train(experiment, steps, device)
    draws = run.part("draws")
    splits = hierarchy_splits(experiment, run.draws)
    scores = containment_scores(overlap[draws], experiment.relation, splits)
    return {
        "f1_existing_mean": scores.existing.mean().item(),
        "f1_novel_mean": scores.novel.mean().item(),
        "draws": run.draws,
        "networks": overlap.shape[0],
    }


def boxes_jobs(
    experiments: Mapping[str, HierarchyExperiment],
    runs: Sequence[BoxRun],
    steps: int,
    device: torch.device,
) -> list[Job]:
    """Chapter 4's Task2Box batches (:func:`~taskspace.hierarchies.book_box_runs`), one job each.

    A job trains one :class:`~taskspace.hierarchies.BoxRun` through the content-keyed cache
    (:func:`~taskspace.hierarchies.train_hierarchy_boxes`), so chapter 4, executed afterwards
    with the same experiments, steps and device type, reads every batch from the cache.

    Args:
        experiments: the runs' experiments by name (:func:`~taskspace.hierarchies.book_experiments`).
        runs: the batches to train.

    Returns:
        one job per run, named like the run (e.g. ``"imagenet 5-D mu"``); its row holds the mean
        containment F1 of the draws on existing and on novel datasets.
    """
    missing = sorted({run.experiment for run in runs} - set(experiments))
    if missing:
        raise ValueError(f"no experiment named {missing}; have {sorted(experiments)}")
    for run in runs:
        if run.representation not in experiments[run.experiment].representations:
            raise ValueError(
                f"experiment {run.experiment!r} has no representation {run.representation!r}; "
                f"it has {sorted(experiments[run.experiment].representations)}"
            )
    return [
        Job(run.name, partial(_boxes_row, run, experiments[run.experiment], steps, device))
        for run in runs
    ]
