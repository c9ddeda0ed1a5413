"""Chapter 9's experiments on discovered tasks: its settings per scale and the measurements that
compare a discovered task set with human-, random- and random-network tasks.

* :data:`DISCOVERY_STUDY` ``[scale]`` — how many tasks, networks and repeats each analysis of
  chapter 9 uses (:class:`DiscoveryStudy`); chapter 8's settings come from
  :data:`~taskspace.agreement.recipes.AGREEMENT_SETTINGS`, the discovery run's from
  :data:`~taskspace.agreement.discovery.DISCOVERY_SETTINGS`;
* :class:`AgreementSetup` — chapter 8's measurement of any labelling (network, images, training
  rule), shared by chapters 9 and 10 and served by the same disk cache;
* :func:`proxy_of_labelling`, :func:`proxy_and_agreement` — the proxy-AS of fixed labellings
  beside their AS (figure 16-right);
* :func:`untrained_tasks` — the control: the same heads on the encoder before discovery;
* :func:`random_network_task_set`, :func:`similarity_to`, :func:`max_similarity` — how alike
  tasks are (figure 15-left, figure 13);
* :func:`nearest_human_task_similarity` — how close the task set comes to human tasks
  (appendix J).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from taskspace.agreement.discovery import (
    DiscoveredTasks,
    DiscoverySettings,
    recalibrate_batchnorm,
    task_similarity,
)
from taskspace.agreement.ensemble import TrainConfig
from taskspace.agreement.lookup import LabelLookup
from taskspace.agreement.measure import measure_agreement
from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.proxy import ProxyConfig, proxy_agreement
from taskspace.agreement.recipes import AgreementSettings, random_network_labels
from taskspace.agreement.tasks import human_labels, random_labels
from taskspace.data.images import ImageDataset
from taskspace.progress import progress

__all__ = [
    "DISCOVERY_STUDY",
    "AgreementSetup",
    "DiscoveryStudy",
    "max_similarity",
    "nearest_human_task_similarity",
    "proxy_and_agreement",
    "proxy_of_labelling",
    "random_network_task_set",
    "similarity_to",
    "untrained_tasks",
]

#: The random networks whose tasks are compared for similarity start at this seed (chapter 8's
#: random-network tasks, whose AS is measured, start at 500).
FIRST_SIMILARITY_NETWORK = 600


@dataclass(frozen=True)
class DiscoveryStudy:
    """One scale of chapter 9's analyses of the discovered tasks.

    Attributes:
        n_random_networks: random-network tasks whose proxy-AS and AS are measured.
        n_similarity_main, n_similarity_other: random networks compared for similarity, of the
            main architecture and of each other architecture of chapter 8.
        proxy_repeats: pairs of inner networks each proxy-AS is averaged over.
        n_repeat_pairs: pairs of networks that re-measure one task's AS (its spread).
        lambdas: the uniformity weights of the ``lambda`` sweep (appendix E).
        cross: ``((architecture, width), ...)`` that measure the tasks found with the main one.
        n_cross_tasks: tasks of each kind measured with them.
        n_examples: discovered tasks whose most confident images are shown.
        n_closeness_tasks: human 5-vs-5 tasks matched by a linear head (at most 126).
        bench_architecture, bench_width, bench_batch, bench_steps, bench_isolate: the memory
            benchmark of the meta-gradient (:func:`~taskspace.agreement.benchmark.
            benchmark_meta_gradients`): its networks, batch size, values of ``K`` and whether
            every measurement runs in a fresh process.
    """

    n_random_networks: int
    n_similarity_main: int
    n_similarity_other: int
    proxy_repeats: int
    n_repeat_pairs: int
    lambdas: tuple[float, ...]
    cross: tuple[tuple[str, int | None], ...]
    n_cross_tasks: int
    n_examples: int
    n_closeness_tasks: int
    bench_architecture: str
    bench_width: int | None
    bench_batch: int
    bench_steps: tuple[int, ...]
    bench_isolate: bool

    def cross_specs(self) -> list[NetworkSpec]:
        """The networks of the cross-architecture measurement (Fashion-MNIST's image shape)."""
        return [NetworkSpec(a, 1, 28, width=w) for a, w in self.cross]

    def bench_spec(self) -> NetworkSpec:
        """The task and inner networks of the memory benchmark."""
        return NetworkSpec(self.bench_architecture, 1, 28, width=self.bench_width)


#: Chapter 9's analyses per scale (chapter 8's settings and the discovery run are separate).
DISCOVERY_STUDY: dict[str, DiscoveryStudy] = {
    "fast": DiscoveryStudy(
        n_random_networks=2,
        n_similarity_main=4,
        n_similarity_other=3,
        proxy_repeats=1,
        n_repeat_pairs=2,
        lambdas=(0.0, 1.0, 5.0),
        cross=(("small_cnn", 4),),
        n_cross_tasks=1,
        n_examples=2,
        n_closeness_tasks=10,
        bench_architecture="small_cnn",
        bench_width=4,
        bench_batch=8,
        bench_steps=(2, 4),
        bench_isolate=False,
    ),
    "book": DiscoveryStudy(
        n_random_networks=6,
        n_similarity_main=32,
        n_similarity_other=12,
        proxy_repeats=2,
        n_repeat_pairs=4,
        lambdas=(0.0, 1.0, 5.0),
        cross=(("small_cnn", 16),),
        n_cross_tasks=3,
        n_examples=6,
        n_closeness_tasks=126,
        bench_architecture="small_cnn",
        bench_width=16,
        bench_batch=128,
        bench_steps=(10, 50),
        bench_isolate=True,
    ),
    "paper": DiscoveryStudy(
        n_random_networks=32,
        n_similarity_main=32,
        n_similarity_other=32,
        proxy_repeats=3,
        n_repeat_pairs=4,
        lambdas=(0.0, 0.66, 5.0),
        cross=(("mlp", None), ("vit", None)),
        n_cross_tasks=32,
        n_examples=8,
        n_closeness_tasks=126,
        bench_architecture="resnet18",
        bench_width=None,
        bench_batch=512,
        bench_steps=(10, 50),
        bench_isolate=True,
    ),
}


@dataclass(frozen=True)
class AgreementSetup:
    """Chapter 8's measurement of a labelling: a pair of ``spec`` networks trained on ``train``
    with ``config`` (to 99 % training accuracy), their agreement on ``test`` (chapters 9, 10).

    Every call goes through :func:`~taskspace.agreement.measure_agreement`, so chapters that
    measure the same labels with the same seed share its cache entry.
    """

    spec: NetworkSpec
    train: ImageDataset
    test: ImageDataset
    config: TrainConfig
    device: torch.device | None = None

    @classmethod
    def of(
        cls,
        settings: AgreementSettings,
        train: ImageDataset,
        test: ImageDataset,
        device: torch.device | None = None,
    ) -> AgreementSetup:
        """Chapter 8's main network and training rule at one scale, on these images."""
        return cls(settings.main_spec(), train, test, settings.config, device)

    def agreement(
        self, train_labels: torch.Tensor, seed: int, spec: NetworkSpec | None = None
    ) -> float:
        """AS of the labelling ``(N_tr,)`` of the training images; networks from ``seed``."""
        run = measure_agreement(
            spec or self.spec,
            self.train.images,
            train_labels,
            self.test.images,
            seed=seed,
            config=self.config,
            device=self.device,
        )
        return run.score.mean

    def agreements(
        self,
        train_labels: Sequence[torch.Tensor] | torch.Tensor,
        name: str = "AS",
        spec: NetworkSpec | None = None,
    ) -> torch.Tensor:
        """``(T,)`` AS of each of ``T`` labellings ``(N_tr,)``, the ``i``-th with seed ``i``."""
        return torch.tensor(
            [
                self.agreement(labels, seed, spec)
                for seed, labels in enumerate(progress(train_labels, name))
            ]
        )


def proxy_of_labelling(
    pool: torch.Tensor,
    labels: torch.Tensor,
    spec: NetworkSpec,
    config: ProxyConfig,
    repeats: int,
) -> float:
    """Mean proxy-AS (appendix I.1; chapter 9) of a fixed labelling ``(N,)`` of the pool images
    ``(N, C, H, W)``, over ``repeats`` pairs of inner networks ``spec`` (pair ``r``: seeds
    ``2r, 2r + 1``, batches from seed ``r``); measured only, no meta-gradient."""
    lookup = LabelLookup(pool, labels)
    values = [
        proxy_agreement(
            lookup,
            spec,
            pool,
            config=config,
            init_seeds=(2 * r, 2 * r + 1),
            batch_seed=r,
            meta_gradient="unroll",
        ).item()
        for r in range(repeats)
    ]
    return float(np.mean(values))


def chapter8_task_labels(
    train: ImageDataset,
    pool: ImageDataset,
    spec: NetworkSpec,
    human_tasks: Sequence[tuple[int, ...]],
    random_tasks: Sequence[int],
    network_seeds: Sequence[int],
) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Chapter 8's tasks by kind (``"human"``, ``"random"``, ``"random network"``), each as its
    labels ``((N_tr,), (N_pool,))`` on the training images and on the discovery pool.

    A random-labelled task's pool labels are coin flips from the task's own seed; a random
    network's are its logit split at the median over the training images (chapter 9).
    """
    return {
        "human": [
            (human_labels(train.labels, t), human_labels(pool.labels, t)) for t in human_tasks
        ],
        "random": [
            (random_labels(len(train), seed=t), random_labels(len(pool), seed=t))
            for t in random_tasks
        ],
        "random network": [
            tuple(random_network_labels(spec, s, train.images, pool.images)) for s in network_seeds
        ],
    }


def proxy_and_agreement(
    setup: AgreementSetup,
    pool: torch.Tensor,
    kinds: Mapping[str, Sequence[tuple[torch.Tensor, torch.Tensor]]],
    config: ProxyConfig,
    repeats: int,
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Proxy-AS and AS of every task of every kind (figure 16-right; chapter 9).

    Args:
        setup: the AS's measurement (the ``i``-th task of a kind with seed ``i``).
        pool: ``(N_pool, C, H, W)`` the images the proxy's inner batches come from.
        kinds: per kind, tasks as ``(training labels (N_tr,), pool labels (N_pool,))``
            (:func:`chapter8_task_labels`).
        config, repeats: the proxy's inner loop and how many pairs of inner networks.

    Returns:
        ``(proxy, agreement)``: per kind a ``(T,)`` tensor each.
    """
    proxies, agreements = {}, {}
    for kind, tasks in kinds.items():
        proxies[kind] = torch.tensor(
            [
                proxy_of_labelling(pool, labels, setup.spec, config, repeats)
                for _, labels in progress(tasks, f"proxy {kind}")
            ]
        )
        agreements[kind] = setup.agreements([labels for labels, _ in tasks], f"AS {kind}")
    return proxies, agreements


def untrained_tasks(
    settings: DiscoverySettings,
    source: ImageDataset,
    spec: NetworkSpec,
    device: torch.device | None = None,
) -> DiscoveredTasks:
    """The control of chapter 9: the discovery run's heads on its encoder before any meta-step,
    BatchNorm statistics set on the pool, in evaluation mode."""
    tasks = settings.discover(source, spec, meta_steps=0, device=device)
    recalibrate_batchnorm(tasks.encoder, settings.pool(source).images, settings.inner_batch)
    tasks.encoder.eval()
    return tasks


def random_network_task_set(
    spec: NetworkSpec, train: torch.Tensor, test: torch.Tensor, count: int
) -> torch.Tensor:
    """``(count, N_te)`` test labels of ``count`` random-network tasks of architecture ``spec``
    (seeds from :data:`FIRST_SIMILARITY_NETWORK`), thresholded at the median over the training
    images ``train`` ``(N_tr, C, H, W)``; ``test`` is ``(N_te, C, H, W)`` (chapter 9)."""
    return torch.stack(
        [
            random_network_labels(spec, FIRST_SIMILARITY_NETWORK + i, train, test)[1]
            for i in range(count)
        ]
    )


def similarity_to(task: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``(T,)`` similarity (Eq. 2) of each of the ``(T, N)`` tasks to one ``(N,)`` task."""
    return task_similarity(torch.cat([task[None], labels]))[0, 1:]


def max_similarity(labels: torch.Tensor) -> float:
    """Figure 13's x (chapter 9): over the ``(T, N)`` tasks, the mean of each task's largest
    similarity (Eq. 2) to another task of the set."""
    similarity = task_similarity(labels)
    similarity.fill_diagonal_(0)
    return similarity.max(1).values.mean().item()


def nearest_human_task_similarity(
    tasks: DiscoveredTasks,
    pool: ImageDataset,
    test: ImageDataset,
    splits: Sequence[tuple[int, ...]],
) -> torch.Tensor:
    """``(S,)`` for each human task (5-vs-5 ``splits``), the similarity (Eq. 2) on ``test`` of
    the nearest linear task of the embedding: a logistic regression on ``tasks.embed`` of the
    pool images, fitted to that human task (appendix J; chapter 9)."""
    pool_embedding = tasks.embed(pool.images).numpy()
    test_embedding = tasks.embed(test.images).numpy()
    similarity = []
    for split in splits:
        fit = LogisticRegression(max_iter=1000).fit(
            pool_embedding, human_labels(pool.labels, split).numpy()
        )
        predicted = torch.as_tensor(fit.predict(test_embedding))
        same = (predicted == human_labels(test.labels, split)).double().mean().item()
        similarity.append(max(same, 1 - same))
    return torch.tensor(similarity)
