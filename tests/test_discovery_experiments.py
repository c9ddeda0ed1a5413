"""Chapter 9's experiments (taskspace.agreement.discovery_experiments)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from taskspace.agreement import NetworkSpec, TrainConfig, human_labels, measure_agreement
from taskspace.agreement.discovery import DISCOVERY_SETTINGS, task_similarity
from taskspace.agreement.discovery_experiments import (
    DISCOVERY_STUDY,
    AgreementSetup,
    chapter8_task_labels,
    max_similarity,
    nearest_human_task_similarity,
    proxy_and_agreement,
    proxy_of_labelling,
    random_network_task_set,
    similarity_to,
)
from taskspace.agreement.lookup import LabelLookup
from taskspace.agreement.proxy import ProxyConfig, proxy_agreement
from taskspace.agreement.recipes import (
    AGREEMENT_SETTINGS,
    dataset_pools,
    random_network_labels,
    sample_test,
    sample_train,
    task_labels,
)

SPEC = NetworkSpec("mlp", 1, 8)
CONFIG = TrainConfig(batch_size=32, max_epochs=2)


@pytest.fixture(scope="module")
def digits() -> tuple:
    train_pool, test_pool = dataset_pools("digits")
    return sample_train(train_pool, 100), sample_test(test_pool, 50), sample_train(train_pool, 200)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    return tmp_path


def test_every_scale_has_chapter_8s_and_the_discoverys_settings() -> None:
    assert set(DISCOVERY_STUDY) == set(AGREEMENT_SETTINGS) == set(DISCOVERY_SETTINGS)
    for scale, study in DISCOVERY_STUDY.items():
        assert DISCOVERY_SETTINGS[scale].uniformity_weight in study.lambdas, scale
        assert study.n_closeness_tasks <= 126  # C(10, 5) / 2 human 5-vs-5 tasks
        assert study.bench_spec().architecture == study.bench_architecture


def test_similarity_helpers_on_hand_made_tasks() -> None:
    a = torch.tensor([0, 0, 1, 1, 0, 1, 0, 1])
    b = torch.tensor([0, 1, 0, 1, 0, 1, 1, 0])  # agrees with a on half the images
    tasks = torch.stack([a, 1 - a, b])  # a and its flip are the same task (Eq. 2)
    assert similarity_to(a, tasks).tolist() == [1.0, 1.0, 0.5]
    # each task's most similar other task: a <-> 1 - a (1.0), b's best is 0.5
    assert max_similarity(tasks) == pytest.approx((1.0 + 1.0 + 0.5) / 3)
    assert torch.equal(similarity_to(b, tasks), task_similarity(torch.stack([b, *tasks]))[0, 1:])


def test_the_setup_measures_like_chapter_8_with_the_tasks_index_as_seed(digits, cache) -> None:
    train, test, _ = digits
    setup = AgreementSetup(SPEC, train, test, CONFIG, torch.device("cpu"))
    labels = [human_labels(train.labels, (0, 1, 2, 3, 4)), human_labels(train.labels, (1, 3))]
    scores = setup.agreements(labels)
    for seed, task in enumerate(labels):
        run = measure_agreement(SPEC, train.images, task, test.images, seed=seed, config=CONFIG)
        assert scores[seed].item() == pytest.approx(run.score.mean)
    assert len(list(cache.rglob("*.pt"))) == 2  # the second call of each was read from the cache


def test_chapter_8s_tasks_have_chapter_8s_training_labels(digits) -> None:
    train, test, pool = digits
    kinds = chapter8_task_labels(train, pool, SPEC, [(0, 2, 4, 6, 8)], [1000], [500])
    human_train, human_pool = kinds["human"][0]
    assert torch.equal(human_train, task_labels((0, 2, 4, 6, 8), train, test)[0])
    assert torch.equal(human_pool, human_labels(pool.labels, (0, 2, 4, 6, 8)))
    assert torch.equal(kinds["random"][0][0], task_labels(1000, train, test)[0])
    network_train, network_pool = kinds["random network"][0]
    expected = random_network_labels(SPEC, 500, train.images, pool.images)
    assert torch.equal(network_train, expected[0]) and torch.equal(network_pool, expected[1])


def test_proxy_of_a_labelling_averages_pairs_of_inner_networks(digits) -> None:
    _, _, pool = digits
    labels = human_labels(pool.labels, (0, 1, 2, 3, 4))
    config = ProxyConfig(inner_steps=3, batch_size=32)
    one = [
        proxy_agreement(
            LabelLookup(pool.images, labels),
            SPEC,
            pool.images,
            config=config,
            init_seeds=(2 * r, 2 * r + 1),
            batch_seed=r,
        ).item()
        for r in range(2)
    ]
    value = proxy_of_labelling(pool.images, labels, SPEC, config, repeats=2)
    assert value == pytest.approx(sum(one) / 2, rel=1e-5)


def test_proxy_and_agreement_give_one_value_per_task_and_kind(digits, cache) -> None:
    train, test, pool = digits
    setup = AgreementSetup(SPEC, train, test, CONFIG)
    kinds = chapter8_task_labels(train, pool, SPEC, [(0, 1, 2, 3, 4)], [1000, 1001], [])
    kinds.pop("random network")
    proxies, agreements = proxy_and_agreement(
        setup, pool.images, kinds, ProxyConfig(inner_steps=2, batch_size=32), repeats=1
    )
    assert {k: len(v) for k, v in proxies.items()} == {"human": 1, "random": 2}
    assert {k: len(v) for k, v in agreements.items()} == {"human": 1, "random": 2}
    assert (proxies["human"] <= 0).all()
    assert agreements["random"][1].item() == pytest.approx(
        setup.agreement(kinds["random"][1][0], 1)
    )


def test_random_network_task_set_thresholds_each_network_on_the_training_images(digits) -> None:
    train, test, _ = digits
    labels = random_network_task_set(SPEC, train.images, test.images, count=3)
    assert labels.shape == (3, len(test)) and labels.dtype == torch.int64
    second = random_network_labels(SPEC, 601, train.images, test.images)[1]
    assert torch.equal(labels[1], second)


class _ClassEmbedding:
    """A stand-in task set whose embedding of an image is its class, one-hot: every union of
    classes is a linear task of it (told apart by the image set's size: pool or test)."""

    def __init__(self, *datasets: object) -> None:
        self.classes = {len(d): d.labels for d in datasets}

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(self.classes[images.shape[0]], 10).float()


class _NoiseEmbedding:
    """A stand-in task set whose embedding knows nothing about the images."""

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return torch.randn(images.shape[0], 10, generator=torch.Generator().manual_seed(0))


def test_nearest_human_task_is_found_when_the_embedding_holds_it(digits) -> None:
    _, test, pool = digits
    splits = [(0, 1, 2, 3, 4), (1, 3, 5, 7, 9)]
    exact = nearest_human_task_similarity(_ClassEmbedding(pool, test), pool, test, splits)
    assert exact.tolist() == [1.0, 1.0]
    noise = nearest_human_task_similarity(_NoiseEmbedding(), pool, test, splits)
    assert (noise < 0.8).all()
