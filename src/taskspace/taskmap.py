"""A map of tasks: human, random and discovered labellings of one image set as boxes (chapter 11).

Chapters 8-10 treat a *task* as a labelling of one fixed set of images and measure its agreement
score (AS); chapters 3-7 place *datasets* as boxes whose overlaps encode an asymmetric relation.
This module joins the two:

* :func:`chapter_tasks` -- the tasks of the map: chapter 8's human 5-vs-5, random-labelled and
  random-network tasks and chapter 9's discovered tasks, each with the seed of its AS pair, so
  that :func:`agreement_scores` makes exactly chapters 8-9's ``measure_agreement`` calls (and
  reads their cache);
* :func:`pair_features` -- the same pair of networks trained again, kept frozen: their
  penultimate features of the training and test images (cached, with the training time);
* :func:`readout_accuracy` -- a linear read-out per (source features, target task), all pairs
  fitted at once (logistic regressions are independent element-wise problems, so one batched
  Adam is many separate fits);
* :func:`normalised_transfer` -- Taskonomy-style transfer ``[target, source]``: the share of the
  errors of an untrained network's features that the source's features remove;
  :func:`measure_transfer` puts the three together for a list of tasks (cached);
* representations that need no training on a task: :func:`class_means` (``[mu_0, mu_1]``) and
  :func:`task2vec_embeddings` (chapter 2's probe, cached);
* the baselines of the protocol: :func:`asymmetric_euclidean_affinity` (chapter 6's Eq. 7, its
  weight chosen by Spearman's rho on the training pairs) and :func:`nearest_neighbour_affinity`;
* reading the map: :func:`box_similarity`, :func:`containment_counts`,
  :func:`predict_from_neighbours` (a held-out task's AS from its nearest boxes or neighbours).

Every function raises a ``ValueError`` naming the problem on a task with one class, labels of
the wrong length, or non-finite representations. Introduced in chapter 11.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn
from torch.nn import functional as F

from taskspace.agreement import (
    NetworkSpec,
    TrainConfig,
    human_labels,
    measure_agreement,
    median_split,
    random_labels,
    random_network_scores,
    sample_human_tasks,
    train_ensemble,
)
from taskspace.agreement.discovery import DiscoveredTasks
from taskspace.baselines import ALPHAS, trivial_embedding
from taskspace.boxes.evaluate import RelationSplit
from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.cache import Stored, cached
from taskspace.progress import progress
from taskspace.represent.distances import euclidean_distance_matrix
from taskspace.represent.task2vec import HeadTraining, Probe, task2vec

__all__ = [
    "TASKMAP_SETTINGS",
    "Task",
    "TaskMapSettings",
    "Transfer",
    "agreement_scores",
    "asymmetric_euclidean_affinity",
    "asymmetry",
    "box_similarity",
    "chapter_tasks",
    "check_representation",
    "check_tasks",
    "class_means",
    "containment_counts",
    "map_relation",
    "measure_transfer",
    "nearest_neighbour_affinity",
    "normalised_transfer",
    "pair_features",
    "penultimate_features",
    "predict_from_neighbours",
    "predict_held_out",
    "project",
    "readout_accuracy",
    "seed_stability",
    "short_names",
    "spearman_of",
    "task2vec_embeddings",
    "task2vec_inputs",
    "timed",
    "verdict",
]


@dataclass(frozen=True)
class TaskMapSettings:
    """Chapter 11's sizes at one scale.

    Attributes:
        architecture, n_train, n_test, batch_size, max_epochs: chapter 8's network, images and
            training at this scale (the map's tasks and AS are chapters 8-9's).
        n_human, n_random, n_random_networks: tasks of each of chapter 8's kinds.
        lambdas: uniformity weights of chapter 9's discovery runs whose tasks enter the map.
        untrained_networks: untrained networks whose read-outs give each target's floor.
        readout_steps: full-batch Adam steps of every linear read-out.
        probe_size, fisher_samples, head: chapter 2's Task2Vec probe input size, images in
            each Fisher, and the head's training.
        projection_dim: the width Task2Vec is projected to (:func:`task2vec_inputs`).
        box_steps, draws, novel: chapter 5's protocol: Adam steps, random draws, held-out tasks.
        neighbours: ``k`` of the nearest boxes (or representations) a held-out task's AS is read
            from.
    """

    architecture: str
    n_train: int
    n_test: int
    batch_size: int
    max_epochs: int
    n_human: int
    n_random: int
    n_random_networks: int
    lambdas: tuple[float, ...]
    untrained_networks: int
    readout_steps: int
    probe_size: int
    fisher_samples: int
    head: HeadTraining
    projection_dim: int
    box_steps: int
    draws: int
    novel: int
    neighbours: int


# fmt: off
TASKMAP_SETTINGS: dict[str, TaskMapSettings] = {
    "fast": TaskMapSettings(
        architecture="mlp", n_train=100, n_test=200, batch_size=32, max_epochs=15,
        n_human=4, n_random=2, n_random_networks=2, lambdas=(0.0, 1.0, 5.0),
        untrained_networks=2, readout_steps=150, probe_size=32, fisher_samples=8,
        head=HeadTraining(epochs=2, samples_per_epoch=256), projection_dim=64,
        box_steps=150, draws=2, novel=4, neighbours=3,
    ),
    "book": TaskMapSettings(
        architecture="mlp", n_train=400, n_test=1000, batch_size=64, max_epochs=100,
        n_human=20, n_random=5, n_random_networks=8, lambdas=(0.0, 1.0, 5.0),
        untrained_networks=4, readout_steps=300, probe_size=64, fisher_samples=64,
        head=HeadTraining(epochs=3, samples_per_epoch=4000), projection_dim=256,
        box_steps=3000, draws=5, novel=8, neighbours=5,
    ),
    "paper": TaskMapSettings(
        architecture="resnet18", n_train=45000, n_test=5000, batch_size=512, max_epochs=100,
        n_human=20, n_random=5, n_random_networks=8, lambdas=(0.0, 0.66, 5.0),
        untrained_networks=8, readout_steps=500, probe_size=224, fisher_samples=1000,
        head=HeadTraining(), projection_dim=256,
        box_steps=3000, draws=10, novel=8, neighbours=5,
    ),
}
# fmt: on


@dataclass(frozen=True)
class Task:
    """One binary labelling of the map's training and test images.

    Attributes:
        name: a readable name (``"{T-shirt/top, ...} vs rest"``, ``"random 1000"``, ...).
        kind: ``"human"``, ``"random"``, ``"random network"`` or ``"discovered λ=1"``.
        train_labels: ``(N_tr,)`` int64 in {0, 1}.
        test_labels: ``(N_te,)`` int64 in {0, 1} (fresh coin flips for a random-labelled task).
        seed: the seed of its AS pair (chapters 8-9: the task's index within its kind).
    """

    name: str
    kind: str
    train_labels: torch.Tensor
    test_labels: torch.Tensor
    seed: int


def check_tasks(tasks: Sequence[Task], n_train: int, n_test: int) -> None:
    """Raise a ``ValueError`` naming the task unless every task is binary, both classes occur
    in its training labels, and its label vectors have ``n_train`` and ``n_test`` entries."""
    if not tasks:
        raise ValueError("no tasks given")
    for task in tasks:
        for labels, n, part in (
            (task.train_labels, n_train, "training"),
            (task.test_labels, n_test, "test"),
        ):
            if labels.shape != (n,):
                raise ValueError(
                    f"task {task.name!r}: {part} labels must have shape ({n},), got {tuple(labels.shape)}"
                )
            if labels.dtype != torch.int64 or not bool(((labels == 0) | (labels == 1)).all()):
                raise ValueError(f"task {task.name!r}: {part} labels must be int64 in {{0, 1}}")
        if task.train_labels.min() == task.train_labels.max():
            raise ValueError(
                f"task {task.name!r} has one class only in its training labels: nothing to learn"
            )


def chapter_tasks(
    train_labels: torch.Tensor,
    test_labels: torch.Tensor,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    spec: NetworkSpec,
    settings: TaskMapSettings,
    discovered: Mapping[float, DiscoveredTasks],
    class_names: Sequence[str],
) -> list[Task]:
    """The map's tasks, drawn exactly as chapters 8 and 9 draw them (same seeds, same labels).

    Args:
        train_labels, test_labels: ``(N_tr,)``, ``(N_te,)`` the images' original classes.
        train_images, test_images: ``(N, C, H, W)`` (random-network and discovered tasks).
        spec: the network of the random-network tasks (chapter 8: the network being trained).
        settings: how many tasks of each kind.
        discovered: ``{lambda: tasks}`` from chapter 9's discovery runs.
        class_names: names of the original classes.
    """
    tasks = []
    for index, classes in enumerate(sample_human_tasks(settings.n_human, seed=0)):
        name = "{" + ", ".join(class_names[c] for c in classes) + "}"
        tasks.append(
            Task(
                name,
                "human",
                human_labels(train_labels, classes),
                human_labels(test_labels, classes),
                index,
            )
        )
    for index in range(settings.n_random):
        seed = 1000 + index
        tasks.append(
            Task(
                f"random {seed}",
                "random",
                random_labels(len(train_labels), seed=seed),
                random_labels(len(test_labels), seed=10_000 + seed),
                index,
            )
        )
    for index in range(settings.n_random_networks):
        seed = 500 + index
        train_scores = random_network_scores(spec, train_images, seed=seed)
        test_scores = random_network_scores(spec, test_images, seed=seed)
        train_split, test_split = median_split(train_scores, test_scores)
        tasks.append(
            Task(f"random network {seed}", "random network", train_split, test_split, index)
        )
    for lam, found in discovered.items():
        train_split, test_split = found.labels(train_images), found.labels(test_images)
        for head in range(len(train_split)):
            tasks.append(
                Task(
                    f"λ={lam:g} head {head}",
                    f"discovered λ={lam:g}",
                    train_split[head],
                    test_split[head],
                    head,
                )
            )
    return tasks


def agreement_scores(
    tasks: Sequence[Task],
    spec: NetworkSpec,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    config: TrainConfig,
    device: torch.device,
) -> torch.Tensor:
    """``(T,)`` float64 AS of every task: chapters 8-9's ``measure_agreement`` calls (cached)."""
    check_tasks(tasks, len(train_images), len(test_images))
    return torch.tensor(
        [
            measure_agreement(
                spec,
                train_images,
                task.train_labels,
                test_images,
                seed=task.seed,
                config=config,
                device=device,
            ).score.mean
            for task in progress(tasks, "AS")
        ],
        dtype=torch.float64,
    )


# ---------------------------------------------------------------------------------------------
# Transfer


def penultimate_features(
    networks: Sequence[nn.Module], images: torch.Tensor, batch_size: int = 1000
) -> torch.Tensor:
    """``(E, N, D)`` the input of each network's last ``nn.Linear`` (its head), evaluation mode.

    For chapter 8's MLP that is the 64 ReLU outputs before the two-class head.
    """
    outputs = []
    for network in networks:
        head = [m for m in network.modules() if isinstance(m, nn.Linear)][-1]
        captured: list[torch.Tensor] = []
        hook = head.register_forward_hook(
            lambda _m, inputs, _o, into=captured: into.append(inputs[0].detach())
        )
        network.eval()
        device = next(network.parameters()).device
        try:
            with torch.no_grad():
                for start in range(0, len(images), batch_size):
                    network(images[start : start + batch_size].to(device))
        finally:
            hook.remove()
        outputs.append(torch.cat(captured).flatten(1).cpu())
    return torch.stack(outputs)


def _networks_of(
    spec: NetworkSpec, params: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor]
) -> list[nn.Module]:
    """The ``E`` stacked networks of a trained ensemble as ordinary modules."""
    count = next(iter(params.values())).shape[0]
    networks = []
    for e in range(count):
        network = spec.build(seed=0).to(next(iter(params.values())).device)
        network.load_state_dict(
            {**{k: v[e] for k, v in params.items()}, **{k: v[e] for k, v in buffers.items()}}
        )
        networks.append(network)
    return networks


def pair_features(
    spec: NetworkSpec,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    *,
    seed: int,
    config: TrainConfig,
    device: torch.device,
    use_cache: bool = True,
) -> Stored:
    """The AS pair of a task trained again and frozen: its features (cached; chapter 11).

    ``train_ensemble`` with two networks and the AS measurement's seed gives the same two
    networks as :func:`~taskspace.agreement.measure_agreement` (whose cache keeps only their
    predictions).

    Returns:
        ``{"train": (2, N_tr, D), "test": (2, N_te, D), "predictions": (2, N_te), "seconds":
        the training time}``.
    """
    parts = {
        "what": "pair features",
        "spec": spec.as_key(),
        "config": config.as_key(),
        "seed": seed,
        "device": device.type,
        "train_images": train_images,
        "train_labels": train_labels,
        "test_images": test_images,
    }

    def compute() -> Stored:
        started = time.perf_counter()
        ensemble = train_ensemble(
            spec, train_images.to(device), train_labels.to(device), 2, seed, config
        )
        seconds = time.perf_counter() - started
        networks = _networks_of(spec, ensemble.params, ensemble.buffers)
        return {
            "train": penultimate_features(networks, train_images),
            "test": penultimate_features(networks, test_images),
            "predictions": ensemble.predict(test_images).cpu(),
            "seconds": seconds,
        }

    return cached(parts, compute, folder="taskmap") if use_cache else compute()


def _check_features(features: torch.Tensor, name: str) -> None:
    if features.ndim != 3:
        raise ValueError(f"{name} must be (S, N, D), got {tuple(features.shape)}")
    if not torch.isfinite(features).all():
        raise ValueError(f"{name} contain NaN or infinite values")


def _check_labels(labels: torch.Tensor, n_images: int, name: str) -> None:
    if labels.ndim != 2 or labels.shape[1] != n_images:
        raise ValueError(f"{name} must be (T, {n_images}), got {tuple(labels.shape)}")
    if not bool(((labels == 0) | (labels == 1)).all()):
        raise ValueError(f"{name} must be 0 or 1")


def readout_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    steps: int = 300,
    learning_rate: float = 0.05,
    weight_decay: float = 1e-3,
) -> torch.Tensor:
    """``(S, T)`` held-out accuracy of a linear read-out of every target from every source.

    Each of the ``S x T`` logistic regressions is fitted on the source's standardised training
    features (full-batch Adam from zero weights, an L2 penalty ``weight_decay``); the problems
    share nothing, and Adam is element-wise, so the batched fit is ``S x T`` separate fits.

    Args:
        train_features: ``(S, N_tr, D)`` features of each source (a frozen network).
        train_labels: ``(T, N_tr)`` 0/1 labels of each target; both classes must occur.
        test_features: ``(S, N_te, D)``.
        test_labels: ``(T, N_te)``.
    """
    _check_features(train_features, "train_features")
    _check_features(test_features, "test_features")
    _check_labels(train_labels, train_features.shape[1], "train_labels")
    _check_labels(test_labels, test_features.shape[1], "test_labels")
    single = (train_labels.min(1).values == train_labels.max(1).values).nonzero().squeeze(1)
    if len(single):
        raise ValueError(f"targets {single.tolist()} have one class only in their training labels")
    if (
        train_features.shape[0] != test_features.shape[0]
        or train_features.shape[2] != test_features.shape[2]
    ):
        raise ValueError(
            f"train and test features disagree: {tuple(train_features.shape)} vs {tuple(test_features.shape)}"
        )
    mean = train_features.mean(1, keepdim=True)
    std = train_features.std(1, keepdim=True).clamp_min(1e-6)
    x_train, x_test = (train_features - mean) / std, (test_features - mean) / std
    y = train_labels.T.to(x_train)[None]  # (1, N_tr, T)
    sources, _, dim = x_train.shape
    weight = torch.zeros(sources, dim, train_labels.shape[0], requires_grad=True)
    bias = torch.zeros(sources, 1, train_labels.shape[0], requires_grad=True)
    optimiser = torch.optim.Adam([weight, bias], lr=learning_rate)
    for _ in range(steps):
        logits = x_train @ weight + bias  # (S, N_tr, T)
        loss = F.binary_cross_entropy_with_logits(
            logits, y.expand_as(logits), reduction="none"
        ).mean(1)
        loss = loss.sum() + weight_decay * weight.pow(2).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        predicted = (x_test @ weight + bias > 0).long()  # (S, N_te, T)
        return (predicted == test_labels.T[None]).double().mean(1)


def normalised_transfer(accuracy: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """``(T, S)`` ``[target, source]`` affinity ``(acc - floor) / (1 - floor)`` (chapter 11).

    ``accuracy`` ``(S, T)`` is the read-out accuracy of target ``t`` from source ``s``;
    ``floor`` ``(T,)`` that from untrained networks' features. The affinity is the share of the
    floor's errors that the source's features remove: 0 for a source no better than random
    features, 1 for a perfect read-out, negative for a worse one. When sources and targets are
    the same tasks (``S == T``) the diagonal (a task as its own source) is NaN.
    """
    if accuracy.ndim != 2 or floor.shape != (accuracy.shape[1],):
        raise ValueError(
            f"accuracy (S, T) and floor (T,) disagree: {tuple(accuracy.shape)}, {tuple(floor.shape)}"
        )
    if (floor >= 1).any():
        raise ValueError("a target's floor accuracy is 1: nothing is left to transfer")
    affinity = ((accuracy - floor[None]) / (1 - floor[None])).T.clone()
    if affinity.shape[0] == affinity.shape[1]:
        affinity.fill_diagonal_(float("nan"))
    return affinity


@dataclass(frozen=True)
class Transfer:
    """The measured transfer between the map's tasks (chapter 11).

    Attributes:
        affinity: ``(T, T)`` ``[target, source]``, mean over the pair's two networks, NaN diagonal.
        per_network: ``(2, T, T)`` the affinity from each network of the pair (seed stability).
        accuracy: ``(2, T, T)`` ``[network, source, target]`` read-out accuracy.
        floor: ``(T,)`` mean read-out accuracy from the untrained networks.
        train_seconds: ``(T,)`` time to train each task's pair (= measuring its AS).
    """

    affinity: torch.Tensor
    per_network: torch.Tensor
    accuracy: torch.Tensor
    floor: torch.Tensor
    train_seconds: torch.Tensor


def measure_transfer(
    tasks: Sequence[Task],
    spec: NetworkSpec,
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    config: TrainConfig,
    device: torch.device,
    settings: TaskMapSettings,
) -> Transfer:
    """Every ordered pair's transfer: frozen AS pairs, batched read-outs, the floor (chapter 11).

    The features of each task's pair are cached (:func:`pair_features`), and so is the result.
    """
    check_tasks(tasks, len(train_images), len(test_images))
    pairs = [
        pair_features(
            spec,
            train_images,
            t.train_labels,
            test_images,
            seed=t.seed,
            config=config,
            device=device,
        )
        for t in progress(tasks, "transfer: networks")
    ]
    train_labels = torch.stack([t.train_labels for t in tasks])
    test_labels = torch.stack([t.test_labels for t in tasks])
    untrained = [spec.build(seed=20_000 + k) for k in range(settings.untrained_networks)]
    parts = {
        "what": "transfer",
        "features": [p["train"] for p in pairs],
        "train_labels": train_labels,
        "test_labels": test_labels,
        "untrained": [spec.as_key(), settings.untrained_networks],
        "steps": settings.readout_steps,
    }

    def compute() -> Stored:
        floor = readout_accuracy(
            penultimate_features(untrained, train_images),
            train_labels,
            penultimate_features(untrained, test_images),
            test_labels,
            steps=settings.readout_steps,
        ).mean(0)
        accuracy = torch.stack(
            [
                readout_accuracy(
                    torch.stack([p["train"][e] for p in pairs]),
                    train_labels,
                    torch.stack([p["test"][e] for p in pairs]),
                    test_labels,
                    steps=settings.readout_steps,
                )
                for e in range(2)
            ]
        )
        return {"accuracy": accuracy, "floor": floor}

    stored = cached(parts, compute, folder="taskmap")
    accuracy, floor = stored["accuracy"], stored["floor"]
    per_network = torch.stack([normalised_transfer(a, floor) for a in accuracy])
    return Transfer(
        affinity=normalised_transfer(accuracy.mean(0), floor),
        per_network=per_network,
        accuracy=accuracy,
        floor=floor,
        train_seconds=torch.tensor([float(p["seconds"]) for p in pairs], dtype=torch.float64),
    )


def _off_diagonal(n: int) -> torch.Tensor:
    return ~torch.eye(n, dtype=torch.bool)


def asymmetry(affinity: torch.Tensor) -> dict[str, float]:
    """How asymmetric a ``(T, T)`` relation is, over its unordered pairs ``i < j``.

    Returns:
        ``mean_abs_difference``: mean ``|a[i, j] - a[j, i]|``; ``spearman``: Spearman's rho of
        ``a[i, j]`` with ``a[j, i]`` (1: symmetric in rank).
    """
    upper = torch.triu(torch.ones_like(affinity, dtype=torch.bool), diagonal=1)
    forward, backward = affinity[upper], affinity.T[upper]
    return {
        "mean_abs_difference": float((forward - backward).abs().mean()),
        "spearman": float(spearmanr(forward.numpy(), backward.numpy()).statistic),
    }


def seed_stability(per_network: torch.Tensor) -> dict[str, float]:
    """Agreement of the ``(2, T, T)`` relations measured from each network of the pairs.

    Returns:
        ``mean_abs_difference`` and ``spearman`` over the off-diagonal pairs.
    """
    mask = _off_diagonal(per_network.shape[1])
    first, second = per_network[0][mask], per_network[1][mask]
    return {
        "mean_abs_difference": float((first - second).abs().mean()),
        "spearman": float(spearmanr(first.numpy(), second.numpy()).statistic),
    }


# ---------------------------------------------------------------------------------------------
# Representations that need no training on the task


def check_representation(features: torch.Tensor, n_tasks: int | None = None) -> None:
    """Raise a ``ValueError`` unless ``features`` is a finite ``(T, D)`` matrix (``T = n_tasks``)."""
    if features.ndim != 2 or (n_tasks is not None and features.shape[0] != n_tasks):
        rows = "T" if n_tasks is None else str(n_tasks)
        raise ValueError(f"a representation must be ({rows}, D), got {tuple(features.shape)}")
    if not torch.isfinite(features).all():
        bad = (~torch.isfinite(features)).any(1).nonzero().squeeze(1).tolist()
        raise ValueError(f"the representations of tasks {bad} contain NaN or infinite values")


def class_means(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``(T, 2 C H W)`` the images' mean per class, ``[mu_0, mu_1]``, of every task.

    Args:
        images: ``(N, C, H, W)``.
        labels: ``(T, N)`` 0/1; both classes must occur in every task.
    """
    _check_labels(labels, images.shape[0], "labels")
    counts = torch.stack([(labels == 0).sum(1), (labels == 1).sum(1)], 1)  # (T, 2)
    if (counts == 0).any():
        raise ValueError(
            f"tasks {(counts == 0).any(1).nonzero().squeeze(1).tolist()} have one class only"
        )
    flat = images.flatten(1).double()  # (N, P)
    one = labels.double()
    means = torch.stack([(1 - one) @ flat, one @ flat], 1) / counts[..., None]  # (T, 2, P)
    return means.flatten(1).float()


def task2vec_embeddings(
    probe: Probe,
    images: torch.Tensor,
    labels: torch.Tensor,
    settings: TaskMapSettings,
    features: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T, F)`` Task2Vec of every task's labelled images (chapter 2's probe), cached.

    Args:
        probe: chapter 2's probe.
        images: ``(N, C, H, W)`` the training images.
        labels: ``(T, N)`` 0/1 labels.
        features: ``(N, probe.feature_dim)`` the probe's features of ``images`` (computed once
            when not given).

    Returns:
        The embeddings and ``(T,)`` the seconds each took when it was computed.
    """
    _check_labels(labels, images.shape[0], "labels")
    if features is None:
        features = probe.features(images)
    embeddings, seconds = [], []
    for task_labels in progress(labels, "Task2Vec"):
        parts = {
            "what": "task2vec",
            "probe": probe.name,
            "images": images,
            "labels": task_labels,
            "samples": settings.fisher_samples,
            "head": asdict(settings.head),
        }

        def compute(task_labels: torch.Tensor = task_labels) -> Stored:
            started = time.perf_counter()
            value = task2vec(
                probe,
                images,
                task_labels,
                seed=0,
                features=features,
                max_samples=settings.fisher_samples,
                training=settings.head,
            )
            return {"embedding": value, "seconds": time.perf_counter() - started}

        stored = cached(parts, compute, folder="taskmap")
        embeddings.append(stored["embedding"])
        seconds.append(float(stored["seconds"]))
    return torch.stack(embeddings).float(), torch.tensor(seconds, dtype=torch.float64)


def task2vec_inputs(fisher: torch.Tensor, dim: int, seed: int = 0) -> torch.Tensor:
    """``(T, dim)``: Task2Vec embeddings ``(T, F)`` made a network input (chapter 11).

    Each row is divided by its own mean and passed through ``log1p`` (Fisher values span many
    decades, and a dead filter's is 0), then multiplied by a fixed Gaussian matrix
    ``(F, dim) / sqrt(dim)`` drawn from ``seed``: a random projection that keeps Euclidean
    distances approximately (Johnson-Lindenstrauss) and needs no data, so a new task is
    projected exactly like the others. Chapter 2's probe has tens of thousands of filters; a
    Task2Box or pair network on them would be mostly first layer.
    """
    check_representation(fisher)
    if (fisher < 0).any():
        raise ValueError("Fisher information is never negative: these are not Task2Vec embeddings")
    scaled = torch.log1p(fisher.double() / fisher.double().mean(1, keepdim=True).clamp_min(1e-30))
    return project(scaled, dim, seed)


def project(features: torch.Tensor, dim: int, seed: int = 0) -> torch.Tensor:
    """``(T, dim)`` float32: ``(T, D)`` rows times a fixed Gaussian ``(D, dim) / sqrt(dim)`` drawn
    from ``seed`` (a random projection: distances kept approximately, no data used; chapter 11)."""
    check_representation(features)
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    generator = torch.Generator().manual_seed(seed)
    projection = torch.randn(features.shape[1], dim, generator=generator, dtype=torch.float64)
    return (features.double() @ projection / dim**0.5).float()


# ---------------------------------------------------------------------------------------------
# Baselines on the protocol's splits


def asymmetric_euclidean_affinity(
    features: torch.Tensor,
    actual: torch.Tensor,
    split: RelationSplit,
    alphas: Sequence[float] = ALPHAS,
) -> tuple[torch.Tensor, float]:
    """Chapter 6's Eq. 7 as an affinity: ``-(d(e_i, e_j) - alpha d(e_i, e_0))`` (chapter 11).

    ``e_0`` is the mean of the existing tasks' rows; ``alpha`` is chosen by Spearman's rho on
    the split's training pairs (an affinity has no threshold to choose by F1).

    Returns:
        ``(N, N)`` float64 predicted affinity (larger = closer) and the chosen ``alpha``.
    """
    check_representation(features, actual.shape[0])
    x = features.double()
    symmetric = euclidean_distance_matrix(x, x)
    complexity = euclidean_distance_matrix(x, trivial_embedding(x[split.existing])[None])
    best_rho, best = -2.0, (torch.empty(0), 0.0)
    for alpha in alphas:
        predicted = -(symmetric - alpha * complexity)
        rho = float(
            spearmanr(predicted[split.train].numpy(), actual[split.train].numpy()).statistic
        )
        if rho > best_rho:
            best_rho, best = rho, (predicted, float(alpha))
    if best_rho == -2.0:
        raise ValueError("alphas is empty")
    return best


def nearest_neighbour_affinity(
    features: torch.Tensor, actual: torch.Tensor, split: RelationSplit, k: int
) -> torch.Tensor:
    """Affinities copied from the ``k`` nearest existing tasks; nothing trained (chapter 11).

    For a pair ``(target i, source j)`` to predict: when ``j`` is novel, the mean known
    affinity ``a[i, n]`` over the ``k`` existing tasks ``n`` nearest to ``j`` (Euclidean distance
    of the representations); otherwise the mean of ``a[n, j]`` over the ``k`` existing tasks
    nearest to ``i``. Neighbours never include ``i`` or ``j``, and only training and validation
    pairs are read; a pair with no such neighbour gets the mean training affinity.

    Returns:
        ``(N, N)`` float64, filled on ``split.test | split.novel_pairs``, NaN elsewhere.
    """
    check_representation(features, actual.shape[0])
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    distance = euclidean_distance_matrix(features.double(), features.double())
    visible = torch.where(split.train | split.validation, actual, torch.nan)
    predicted = torch.full_like(actual, torch.nan, dtype=torch.float64)
    fallback = actual[split.train].double().mean()  # a pair without any visible neighbour
    is_novel = torch.zeros(len(actual), dtype=torch.bool)
    is_novel[split.novel] = True
    for i, j in (split.test | split.novel_pairs).nonzero().tolist():
        replaced = j if is_novel[j] else i
        candidates = split.existing[(split.existing != i) & (split.existing != j)]
        nearest = candidates[torch.argsort(distance[replaced, candidates])]
        values = visible[i, nearest] if replaced == j else visible[nearest, j]
        values = values[torch.isfinite(values)][:k]
        predicted[i, j] = values.mean() if len(values) else fallback
    return predicted


# ---------------------------------------------------------------------------------------------
# Reading the map


def box_similarity(boxes: Boxes) -> torch.Tensor:
    """``(N, N)`` symmetric ``(d_box(i, j) + d_box(j, i)) / 2``: how much two boxes share."""
    overlap = overlap_matrix(boxes).detach().double()
    return (overlap + overlap.T) / 2


def containment_counts(boxes: Boxes, threshold: float = 0.5) -> torch.Tensor:
    """``(N,)`` how many other boxes contain each box: ``d_box(i, j) >= threshold``, ``j != i``."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    overlap = overlap_matrix(boxes).detach()
    inside = (overlap >= threshold) & _off_diagonal(len(overlap)).to(overlap.device)
    return inside.sum(1)


def predict_from_neighbours(
    similarity: torch.Tensor,
    existing: torch.Tensor,
    novel: torch.Tensor,
    scores: torch.Tensor,
    k: int,
) -> torch.Tensor:
    """``(V,)`` each novel task's score predicted as the mean over its ``k`` most similar
    existing tasks (chapter 11: a held-out task's AS read off the map).

    Args:
        similarity: ``(N, N)`` larger = more alike (:func:`box_similarity`, or minus a distance).
        existing, novel: index tensors into the ``N`` tasks.
        scores: ``(N,)``; only the existing tasks' entries are read.
    """
    if not 1 <= k <= len(existing):
        raise ValueError(f"k must be in 1..{len(existing)}, got {k}")
    if not torch.isfinite(similarity[novel][:, existing]).all():
        raise ValueError("the similarities of the novel tasks to the existing ones must be finite")
    nearest = similarity[novel][:, existing].topk(k, dim=1).indices  # (V, k)
    return scores[existing][nearest].double().mean(1)


def predict_held_out(
    similarity: torch.Tensor, splits: Sequence[RelationSplit], scores: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every draw's novel tasks' scores read from their ``k`` most similar existing tasks.

    Args:
        similarity: ``(R, N, N)`` one similarity per draw (e.g. :func:`box_similarity` of that
            draw's boxes), or ``(N, N)`` for all draws (e.g. minus a representation distance).
        splits: the ``R`` splits.
        scores: ``(N,)`` measured scores (only existing tasks' are read).

    Returns:
        predicted and measured scores of the novel tasks, both ``(R, V)`` float64.
    """
    if similarity.ndim == 2:
        similarity = similarity.expand(len(splits), -1, -1)
    predicted = torch.stack(
        [
            predict_from_neighbours(similarity[r], s.existing, s.novel, scores, k)
            for r, s in enumerate(splits)
        ]
    )
    measured = torch.stack([scores[s.novel].double() for s in splits])
    return predicted, measured


def map_relation(affinity: torch.Tensor) -> torch.Tensor:
    """The relation the boxes learn: normalised transfer clipped to ``[0, 1]`` (NaN kept).

    ``d_box`` lies in ``[0, 1]``; a source whose features are worse than random ones transfers
    nothing, so negative affinities become 0.
    """
    return affinity.clamp(0.0, 1.0)


def timed(function: Callable[[], object]) -> tuple[object, float]:
    """``function()`` and the seconds it took."""
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def short_names(tasks: Sequence[Task]) -> list[str]:
    """Labels for crowded figures: ``H1``.. (human), ``R1``.. (random), ``N1``.. (random
    network), ``D1.3`` (discovered with lambda = 1, head 3)."""
    prefixes = {"human": "H", "random": "R", "random network": "N"}
    counts: dict[str, int] = {}
    names = []
    for task in tasks:
        if task.kind in prefixes:
            counts[task.kind] = counts.get(task.kind, 0) + 1
            names.append(f"{prefixes[task.kind]}{counts[task.kind]}")
        else:
            names.append(f"D{task.kind.split('=')[-1]}.{task.seed}")
    return names


def verdict(values: Sequence[float] | np.ndarray, reference: Sequence[float] | np.ndarray) -> str:
    """``"above"``, ``"below"`` or ``"level with"``: the finite ``values`` (one per draw) against
    the ``reference`` ones. A difference of means counts only when it exceeds the larger of the
    two standard deviations over draws (the spread the book reports beside them)."""
    a, b = np.asarray(values, dtype=float), np.asarray(reference, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if not len(a) or not len(b):
        raise ValueError("verdict needs at least one finite value on each side")
    difference, spread = a.mean() - b.mean(), max(a.std(), b.std())
    if difference > spread:
        return "above"
    if difference < -spread:
        return "below"
    return "level with"


def spearman_of(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray) -> float:
    """Spearman's rho of two vectors (NaN when either is constant)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)
