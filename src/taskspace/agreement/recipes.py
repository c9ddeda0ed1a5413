"""Chapter 8's recipes: its settings per scale, its images and its tasks, each written once.

Chapters 8, 9 and 10 and the sweep (:func:`~taskspace.sweep.jobs.agreement_jobs`) measure the
agreement score of the same tasks on the same images with the same networks. They read all of
it from here, so they build identical inputs for :func:`~taskspace.agreement.measure_agreement`
and therefore share its disk-cache entries:

* :data:`AGREEMENT_SETTINGS` ``[scale]`` — chapter 8's sizes, networks and training rule
  (:class:`AgreementSettings`);
* :func:`dataset_pools` — the training and test pools of each image source;
* :func:`sample_train`, :func:`sample_test` — the class-balanced samples (``N // 10`` images
  per class; a smaller training sample is part of a larger one);
* :func:`human_tasks`, :func:`random_tasks`, :func:`random_network_seeds` — which tasks, with
  which seeds; :func:`task_labels` and :func:`random_network_labels` — their labels;
* :func:`measure_task` — one task's measurement, the network seed being the task's index.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from taskspace.agreement.ensemble import Stochasticity, TrainConfig
from taskspace.agreement.measure import AgreementRun, measure_agreement
from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.tasks import (
    human_labels,
    median_split,
    random_labels,
    random_network_scores,
    sample_human_tasks,
)
from taskspace.data.images import (
    ImageDataset,
    load_cifar10,
    load_digits,
    load_fashion_mnist,
    load_mnist5k,
)

__all__ = [
    "AGREEMENT_SETTINGS",
    "DATASETS",
    "AgreementSettings",
    "Task",
    "dataset_pools",
    "human_tasks",
    "measure_task",
    "random_network_labels",
    "random_network_seeds",
    "random_tasks",
    "sample_test",
    "sample_train",
    "task_labels",
]

#: Image sources with a training and a test pool (:func:`dataset_pools`).
DATASETS = ("fashion-mnist", "cifar10", "mnist5k", "digits")

#: A task of chapter 8: a tuple of positive classes (human-labelled) or a seed (random labels).
Task = tuple[int, ...] | int

#: Seeds of the recipes: which images (training and test samples), which 5-vs-5 splits, where
#: the random-labelled tasks' and the random networks' seeds start, and how far a random task's
#: test labels' seed lies from its training labels' (so the two are unrelated coin flips).
TRAIN_SEED, TEST_SEED, HUMAN_TASK_SEED = 0, 1, 0
FIRST_RANDOM_TASK, FIRST_RANDOM_NETWORK, RANDOM_TEST_OFFSET = 1000, 500, 10_000

#: The MNIST sample's training pool holds 400 images per class: chapters 8 and 10 train on (and
#: split) at most 4,000 MNIST images, at scale ``paper`` too.
MNIST_TRAIN_CAP = 4000
#: The MNIST sample's test pool holds 100 images per class: chapter 8 tests on at most 800.
MNIST_TEST_CAP = 800


@dataclass(frozen=True)
class AgreementSettings:
    """One scale of chapter 8's measurements, reused by chapters 9 and 10 and the sweep.

    Attributes:
        architecture, width: the main network (``width=None``: the architecture's own).
        n_train, n_test: the main training and test sets (``N // 10`` images per class).
        n_human, n_random: human- and random-labelled tasks of the main comparison.
        n_mnist: tasks of each kind measured on MNIST digits.
        architectures: ``((architecture, width), ...)`` of the architecture comparison.
        n_arch_train, n_arch_tasks: its training-set size and tasks of each kind.
        sizes, n_size_tasks: the training-set sizes ``N`` of the size sweep, tasks of each kind.
        n_ablation_train, n_ablation_tasks: the sources-of-randomness comparison.
        ensemble: ``E``, the networks of Proposition 1's ensembles.
        n_random_networks: random-network tasks (appendix H).
        batch_size, max_epochs: how every network trains (:attr:`config`).
        dataset: the image source of the main measurements (one of :data:`DATASETS`; the
            second domain is always ``"mnist5k"``).
    """

    architecture: str
    width: int | None
    n_train: int
    n_test: int
    n_human: int
    n_random: int
    n_mnist: int
    architectures: tuple[tuple[str, int | None], ...]
    n_arch_train: int
    n_arch_tasks: int
    sizes: tuple[int, ...]
    n_size_tasks: int
    n_ablation_train: int
    n_ablation_tasks: int
    ensemble: int
    n_random_networks: int
    batch_size: int
    max_epochs: int
    dataset: str = "fashion-mnist"

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose from {DATASETS}")
        too_small = {
            name: getattr(self, name)
            for name in ("n_train", "n_test", "n_arch_train", "n_ablation_train")
            if getattr(self, name) < 10
        }
        too_small.update({f"sizes[{i}]": n for i, n in enumerate(self.sizes) if n < 10})
        if too_small:
            raise ValueError(f"image counts must be at least 10 (N // 10 per class): {too_small}")

    @property
    def config(self) -> TrainConfig:
        """How every network of chapters 8-10 trains (to 99 % training accuracy or the cap)."""
        return TrainConfig(batch_size=self.batch_size, max_epochs=self.max_epochs)

    @property
    def n_mnist_train(self) -> int:
        """Training images on MNIST: ``n_train``, at most :data:`MNIST_TRAIN_CAP`."""
        return min(self.n_train, MNIST_TRAIN_CAP)

    @property
    def n_mnist_test(self) -> int:
        """Test images on MNIST: ``n_test``, at most :data:`MNIST_TEST_CAP`."""
        return min(self.n_test, MNIST_TEST_CAP)

    def main_spec(self, in_channels: int = 1, image_size: int = 28) -> NetworkSpec:
        """The main network for images of ``(in_channels, image_size, image_size)``."""
        return NetworkSpec(self.architecture, in_channels, image_size, width=self.width)

    def architecture_specs(self, in_channels: int = 1, image_size: int = 28) -> list[NetworkSpec]:
        """The networks of the architecture comparison, in :attr:`architectures` order."""
        return [
            NetworkSpec(architecture, in_channels, image_size, width=width)
            for architecture, width in self.architectures
        ]


#: Chapter 8's settings per scale (chapters 9 and 10 measure with the same; the sweep's
#: ``agreement`` defaults are ``"paper"``): ``"fast"`` for the tests, ``"book"`` a few hundred
#: MLPs on two CPU cores, ``"paper"`` the paper's sizes and networks (§3.2: 45K training and 5K
#: test images, ResNet-18; figure 2: ResNet-18, MLP and ViT; 100 epochs), on Fashion-MNIST at
#: every scale (the paper's CIFAR-10 is ``dataset="cifar10"``).
AGREEMENT_SETTINGS: dict[str, AgreementSettings] = {
    "fast": AgreementSettings(
        architecture="mlp",
        width=None,
        n_train=100,
        n_test=200,
        n_human=2,
        n_random=2,
        n_mnist=1,
        architectures=(("small_cnn", 4), ("mlp", None)),
        n_arch_train=100,
        n_arch_tasks=1,
        sizes=(50, 100),
        n_size_tasks=1,
        n_ablation_train=100,
        n_ablation_tasks=1,
        ensemble=3,
        n_random_networks=1,
        batch_size=32,
        max_epochs=15,
    ),
    "book": AgreementSettings(
        architecture="mlp",
        width=None,
        n_train=400,
        n_test=1000,
        n_human=10,
        n_random=10,
        n_mnist=3,
        architectures=(("small_cnn", 16), ("resnet18", 4), ("mlp", None), ("vit", 32)),
        n_arch_train=200,
        n_arch_tasks=2,
        sizes=(50, 100, 200, 400),
        n_size_tasks=3,
        n_ablation_train=200,
        n_ablation_tasks=2,
        ensemble=5,
        n_random_networks=2,
        batch_size=64,
        max_epochs=100,
    ),
    "paper": AgreementSettings(
        architecture="resnet18",
        width=None,
        n_train=45000,
        n_test=5000,
        n_human=20,
        n_random=20,
        n_mnist=5,
        architectures=(("resnet18", None), ("mlp", None), ("vit", None)),
        n_arch_train=45000,
        n_arch_tasks=5,
        sizes=(500, 1000, 5000, 10000, 45000),
        n_size_tasks=4,
        n_ablation_train=45000,
        n_ablation_tasks=4,
        ensemble=10,
        n_random_networks=10,
        batch_size=512,
        max_epochs=100,
    ),
}


def dataset_pools(name: str) -> tuple[ImageDataset, ImageDataset]:
    """``(training pool, test pool)`` of one of :data:`DATASETS` (chapter 8): the official
    splits, or a stratified 80/20 split with seed 0 where there is none."""
    if name == "fashion-mnist":
        return load_fashion_mnist("train"), load_fashion_mnist("test")
    if name == "cifar10":
        return load_cifar10("train"), load_cifar10("test")
    if name == "mnist5k":
        return load_mnist5k().split(test_fraction=0.2, seed=0)
    if name == "digits":
        return load_digits().split(test_fraction=0.2, seed=0)
    raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")


def _balanced(source: ImageDataset, n_images: int, seed: int, what: str) -> ImageDataset:
    if n_images < source.num_classes:
        raise ValueError(
            f"a {what} sample of {n_images} images has fewer than one image per class "
            f"({source.num_classes} classes in {source.name!r})"
        )
    return source.sample(per_class=n_images // source.num_classes, seed=seed)


def sample_train(source: ImageDataset, n_images: int) -> ImageDataset:
    """Chapter 8's training images: ``n_images // C`` per class of ``source``'s ``C`` classes.

    Nested: the sample of a smaller ``n_images`` is part of a larger one (one seed for all), so
    chapter 10's pool holds chapter 8's training set.
    """
    return _balanced(source, n_images, TRAIN_SEED, "training")


def sample_test(source: ImageDataset, n_images: int) -> ImageDataset:
    """Chapter 8's test images: ``n_images // C`` per class of ``source``'s ``C`` classes."""
    return _balanced(source, n_images, TEST_SEED, "test")


def human_tasks(n_tasks: int) -> list[tuple[int, ...]]:
    """Chapter 8's first ``n_tasks`` 5-vs-5 tasks (a prefix of the same random order for every
    ``n_tasks``); see :func:`~taskspace.agreement.sample_human_tasks`."""
    return sample_human_tasks(n_tasks, seed=HUMAN_TASK_SEED)


def random_tasks(n_tasks: int) -> list[int]:
    """Chapter 8's first ``n_tasks`` random-labelled tasks: their seeds, 1000, 1001, ..."""
    return list(range(FIRST_RANDOM_TASK, FIRST_RANDOM_TASK + n_tasks))


def random_network_seeds(n_tasks: int) -> list[int]:
    """Chapter 8's first ``n_tasks`` random networks (appendix H): their seeds, 500, 501, ..."""
    return list(range(FIRST_RANDOM_NETWORK, FIRST_RANDOM_NETWORK + n_tasks))


def task_labels(
    task: Task, train: ImageDataset, test: ImageDataset
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train labels (N_tr,), test labels (N_te,))`` int64 of a task (chapter 8).

    A human task (a tuple of classes) labels each image by its class; a random task (a seed)
    draws coin flips, its test labels from seed ``task + 10_000``: unrelated to the training
    labels, so no network can beat chance on them.
    """
    if isinstance(task, tuple):
        return human_labels(train.labels, task), human_labels(test.labels, task)
    if isinstance(task, bool) or not isinstance(task, int):
        raise TypeError(f"a task is a tuple of classes or an int seed, got {task!r}")
    return (
        random_labels(len(train), seed=task),
        random_labels(len(test), seed=RANDOM_TEST_OFFSET + task),
    )


def random_network_labels(
    spec: NetworkSpec, seed: int, train_images: torch.Tensor, *image_sets: torch.Tensor
) -> list[torch.Tensor]:
    """A random-network task's labels (appendix H; chapter 8): a random ``spec.build(seed)``'s
    logit split at its median over ``train_images`` ``(N_tr, C, H, W)``.

    Returns:
        ``[(N_tr,), (N_k,) for each of image_sets]`` int64 labels, all by the same threshold.
    """
    train_scores = random_network_scores(spec, train_images, seed=seed)
    labels = [median_split(train_scores, train_scores)[0]]
    for images in image_sets:
        labels.append(median_split(train_scores, random_network_scores(spec, images, seed))[1])
    return labels


def measure_task(
    spec: NetworkSpec,
    task: Task,
    train: ImageDataset,
    test: ImageDataset,
    *,
    seed: int,
    config: TrainConfig,
    device: torch.device | None = None,
    n_networks: int = 2,
    stochasticity: Stochasticity | None = None,
) -> tuple[AgreementRun, torch.Tensor]:
    """One task's agreement measurement (chapter 8): ``n_networks`` networks trained on
    :func:`task_labels` of ``train``, predicting ``test`` (cached by
    :func:`~taskspace.agreement.measure_agreement`).

    Args:
        seed: the networks' seed; chapter 8 and the sweep use the task's index in its list.

    Returns:
        the run (predictions ``(E, N_te)``) and the task's test labels ``(N_te,)``.
    """
    train_labels, test_labels = task_labels(task, train, test)
    run = measure_agreement(
        spec,
        train.images,
        train_labels,
        test.images,
        n_networks=n_networks,
        seed=seed,
        config=config,
        stochasticity=stochasticity,
        device=device,
    )
    return run, test_labels
