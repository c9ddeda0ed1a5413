"""Chapter 8's recipes: settings per scale, samples, tasks and their labels, one measurement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import taskspace.agreement.measure as measure_module
from taskspace.agreement import NetworkSpec, TrainConfig, human_labels, measure_agreement
from taskspace.agreement.recipes import (
    AGREEMENT_SETTINGS,
    AgreementSettings,
    dataset_pools,
    human_tasks,
    measure_task,
    random_network_labels,
    random_network_seeds,
    random_tasks,
    sample_test,
    sample_train,
    task_labels,
)
from taskspace.cache import cache_key
from taskspace.papers import task_discovery as paper


@pytest.fixture(scope="module")
def digits() -> tuple:
    train_pool, test_pool = dataset_pools("digits")
    return sample_train(train_pool, 100), sample_test(test_pool, 50)


def test_settings_exist_per_scale_and_paper_scale_is_the_papers_setting() -> None:
    assert set(AGREEMENT_SETTINGS) == {"fast", "book", "paper"}
    paper_scale = AGREEMENT_SETTINGS["paper"]  # §3.2: 45K/5K CIFAR-10 images, 20 + 20 tasks
    assert (paper_scale.n_train, paper_scale.n_test) == (45000, 5000)
    assert (paper_scale.n_human, paper_scale.n_random) == (20, 20)
    assert paper_scale.main_spec() == NetworkSpec("resnet18", 1, 28)
    assert paper_scale.config == TrainConfig(batch_size=512, max_epochs=100)
    assert [s.architecture for s in paper_scale.architecture_specs(3, 32)] == [
        "resnet18",
        "mlp",
        "vit",
    ]
    book = AGREEMENT_SETTINGS["book"]
    assert book.n_mnist_test == 800 and AGREEMENT_SETTINGS["fast"].n_mnist_test == 200


def test_settings_refuse_samples_smaller_than_one_image_per_class() -> None:
    fields = vars(AGREEMENT_SETTINGS["fast"]) | {"sizes": (5, 100)}
    with pytest.raises(ValueError, match=r"sizes\[0\]"):
        AgreementSettings(**fields)


def test_samples_are_balanced_nested_and_disjoint_between_splits() -> None:
    train_pool, _ = dataset_pools("digits")
    small, large = sample_train(train_pool, 50), sample_train(train_pool, 100)
    assert small.class_counts().tolist() == [5] * 10
    rows = {tuple(image.flatten().tolist()) for image in large.images}
    assert all(tuple(image.flatten().tolist()) in rows for image in small.images)
    with pytest.raises(ValueError, match="fewer than one image per class"):
        sample_test(train_pool, 9)


def test_task_lists_are_prefixes_of_one_order() -> None:
    assert human_tasks(10)[:3] == human_tasks(3)
    assert all(len(task) == 5 and task[0] == 0 for task in human_tasks(10))
    assert random_tasks(3) == [1000, 1001, 1002]
    assert random_network_seeds(2) == [500, 501]


def test_task_labels(digits: tuple) -> None:
    train, test = digits
    human = human_tasks(1)[0]
    train_labels, test_labels = task_labels(human, train, test)
    assert torch.equal(train_labels, human_labels(train.labels, human))
    assert torch.equal(test_labels, human_labels(test.labels, human))
    first, first_test = task_labels(1000, train, test)
    again, _ = task_labels(1000, train, test)
    other, _ = task_labels(1001, train, test)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == (100,) and first_test.shape == (50,)
    # the test coin flips are not the training ones continued
    assert not torch.equal(first_test, task_labels(1000, test, test)[0])
    with pytest.raises(TypeError, match="tuple of classes or an int seed"):
        task_labels("1000", train, test)  # type: ignore[arg-type]


def test_random_network_labels_share_the_training_median(digits: tuple) -> None:
    train, test = digits
    spec = NetworkSpec("mlp", 1, 8)
    train_labels, test_labels, train_again = random_network_labels(
        spec, 500, train.images, test.images, train.images
    )
    assert train_labels.sum().item() == 50  # split at the median: balanced
    assert torch.equal(train_labels, train_again)
    assert test_labels.shape == (50,)


def test_measure_task_is_the_measurement_written_out(
    digits: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys: list[str] = []

    def record_key(parts: dict[str, object], compute: object, folder: str) -> None:
        keys.append(cache_key(parts))
        raise KeyError("key taken")

    monkeypatch.setattr(measure_module, "cached", record_key)
    train, test = digits
    spec, config, device = NetworkSpec("mlp", 1, 8), TrainConfig(max_epochs=2), torch.device("cpu")
    task = human_tasks(1)[0]
    with pytest.raises(KeyError):
        measure_task(spec, task, train, test, seed=3, config=config, device=device)
    with pytest.raises(KeyError):
        measure_agreement(
            spec,
            train.images,
            human_labels(train.labels, task),
            test.images,
            seed=3,
            config=config,
            device=device,
        )
    with pytest.raises(KeyError):
        measure_task(spec, task, train, test, seed=4, config=config, device=device)
    assert keys[0] == keys[1] != keys[2]


def test_paper_values_state_their_number_in_their_quote() -> None:
    values = [getattr(paper, name) for name in paper.__all__ if name.isupper()]
    flat = [v for v in values if isinstance(v, paper.PaperValue)]
    flat += list(paper.UNIFORMITY_WEIGHTS.values())
    flat += [v for row in paper.TABLE1.values() for v in row.values()]
    assert len(flat) == 10 + 3 + 6
    for value in flat:
        assert f"{value.value:g}" in value.quote, value
        assert value.std is None or f"± {value.std:.2f}" in value.quote
    assert paper.TABLE1["CIFAR-10"]["adversarial"].value == 0.41
    assert paper.TABLE1["ImageNet"]["random"].std == 0.01


def _paper_text() -> str:
    """The paper's text, ``papers/task-discovery.txt`` beside a ``TASKSPACE_DATA`` folder."""
    folders = [Path(f) for f in os.environ.get("TASKSPACE_DATA", "").split(os.pathsep) if f]
    for folder in folders:
        path = folder.parent / "papers" / "task-discovery.txt"
        if path.is_file():
            return " ".join(path.read_text(encoding="utf-8").split())
    pytest.skip(f"papers/task-discovery.txt not found beside TASKSPACE_DATA = {folders}")


def test_paper_quotes_are_the_papers_words() -> None:
    text = _paper_text()
    values = [getattr(paper, name) for name in paper.__all__ if name.isupper()]
    values += list(paper.UNIFORMITY_WEIGHTS.values())
    values += [v for row in paper.TABLE1.values() for v in row.values()]
    for value in values:
        if isinstance(value, paper.PaperValue):
            assert " ".join(value.quote.split()) in text, value.where
