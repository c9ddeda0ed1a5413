"""Chapter 10's experiments (taskspace.agreement.split_experiments)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from taskspace.agreement import NetworkSpec, TrainConfig
from taskspace.agreement.recipes import (
    AGREEMENT_SETTINGS,
    MNIST_TRAIN_CAP,
    dataset_pools,
    random_network_labels,
    task_labels,
)
from taskspace.agreement.split_experiments import (
    PAPER_SET,
    SPLIT_STUDY,
    WIDE_SET,
    Domain,
    as_difference_points,
    compare_splits,
    comparison_table,
    human_task,
    pair_splits,
    paper_table1,
    pooled,
    random_labelled_task,
    random_network_task,
    table1,
    table1_records,
    table1_table,
)
from taskspace.papers.task_discovery import TABLE1

SPEC = NetworkSpec("mlp", 1, 8)
CONFIG = TrainConfig(batch_size=32, max_epochs=2)


@pytest.fixture(scope="module")
def digits() -> Domain:
    return Domain.sample("digits", *dataset_pools("digits"), n_pool=400, n_train=100, n_test=50)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    return tmp_path


def test_every_scale_has_a_pool_that_holds_chapter_8s_training_set() -> None:
    assert set(SPLIT_STUDY) == set(AGREEMENT_SETTINGS)
    for scale, study in SPLIT_STUDY.items():
        assert study.n_pool >= AGREEMENT_SETTINGS[scale].n_train, scale
        assert study.n_mnist_pool >= AGREEMENT_SETTINGS[scale].n_mnist_train, scale


def test_mnist_stays_within_its_sample_at_every_scale() -> None:
    """The MNIST sample's training part has 400 digits a class: scale paper asks for no more."""
    paper = SPLIT_STUDY["paper"], AGREEMENT_SETTINGS["paper"]
    assert paper[0].n_pool > MNIST_TRAIN_CAP and paper[1].n_train > MNIST_TRAIN_CAP
    assert paper[0].n_mnist_pool == paper[1].n_mnist_train == MNIST_TRAIN_CAP
    assert SPLIT_STUDY["book"].n_mnist_pool == SPLIT_STUDY["book"].n_pool


def test_the_pool_holds_the_training_images_and_tasks_label_every_part(digits) -> None:
    pool_images = {image.numpy().tobytes() for image in digits.pool.images}
    assert all(image.numpy().tobytes() in pool_images for image in digits.train.images)
    task = human_task(digits, (0, 2, 4, 6, 8))
    assert task.name.endswith("vs rest") and task.classes == (0, 2, 4, 6, 8)
    assert torch.equal(task.pool, (digits.pool.labels % 2 == 0).long())
    network = random_network_task(digits, SPEC, 500)
    train, test, pool = random_network_labels(
        SPEC, 500, digits.train.images, digits.test.images, digits.pool.images
    )
    assert torch.equal(network.train, train) and torch.equal(network.test, test)
    assert torch.equal(network.pool, pool)
    coins = random_labelled_task(digits, 1000)  # chapter 8's random task 1000 on its own sets
    assert torch.equal(coins.train, task_labels(1000, digits.train, digits.test)[0])
    assert torch.equal(coins.test, task_labels(1000, digits.train, digits.test)[1])


def test_a_comparison_trains_on_both_splits_of_the_same_images(digits, cache) -> None:
    target = human_task(digits, (0, 1, 2, 3, 4))
    spurious = random_network_task(digits, SPEC, 501)
    row = compare_splits(
        "digits", target.name, target.pool, spurious, spec=SPEC, config=CONFIG, seeds=(0, 1)
    )
    assert row.source == "random network" and row.spurious == "random network 501"
    assert row.random.shape == row.random_as.shape == row.adversarial.accuracy.shape == (2,)
    assert len(row.checks) == 4 and 0.5 <= row.similarity <= 1 and 0 < row.train_accuracy <= 1
    # Eq. 6: the spurious task equals the target on the training part, its flip on the test part
    assert torch.equal(target.pool[row.split.train], spurious.pool[row.split.train])
    assert torch.equal(target.pool[row.split.test], 1 - spurious.pool[row.split.test])
    ten_class = compare_splits(
        "digits 10",
        "10 classes",
        digits.pool.labels,
        random_labelled_task(digits, 1000),  # coin flips split every class
        spec=NetworkSpec("mlp", 1, 8, num_classes=10),
        config=CONFIG,
        seeds=(0, 1),
        classes=(0, 1, 2, 3, 4),
        balance="matched",
    )
    counts = ten_class.split.class_counts(digits.pool.labels, 10)
    assert torch.equal(counts[0], counts[1])  # matched: every class as often in both parts
    rows = [row, ten_class]
    assert len(comparison_table(rows).rows) == 2
    summary = table1(rows)
    assert list(summary) == ["digits\n(random network)", "digits 10\n(random)"]
    mean, std = summary["digits\n(random network)"]["adversarial"]
    accuracies = pooled(rows, "digits", "random network", "adversarial")
    assert mean == pytest.approx(accuracies.mean()) and std == pytest.approx(accuracies.std(ddof=1))
    table = table1_table(summary, paper_table1())
    assert len(table.rows) == 2 + 3 and table.rows[-1][-1] == "the paper"


def test_the_papers_table_1_is_read_from_the_papers_module() -> None:
    paper = paper_table1()
    assert paper["CIFAR-10 10-class\n(discovered)"] == {
        "random": (0.78, 0.04),
        "adversarial": (0.41, 0.10),
    }
    assert paper["ImageNet top-1\n(random network)"]["adversarial"] == (
        TABLE1["ImageNet"]["adversarial"].value,
        TABLE1["ImageNet"]["adversarial"].std,
    )


class _Evaluation:
    def __init__(self, accuracy: float) -> None:
        self.accuracy = torch.tensor([accuracy, accuracy], dtype=torch.float64)


def test_table1_records_name_each_headline_with_the_papers_value() -> None:
    class Row:
        def __init__(self, setting: str, source: str, random: float, adversarial: float) -> None:
            self.setting, self.source = setting, source
            self.random = torch.tensor([random, random + 0.1], dtype=torch.float64)
            self.adversarial = _Evaluation(adversarial)

    rows = [
        Row(setting, source, 0.8, 0.3)
        for setting in ("Fashion-MNIST binary", "Fashion-MNIST 10-class", "MNIST binary")
        for source in ("random network", "discovered")
    ]
    rows += [Row("Fashion-MNIST binary", "discovered", 0.7, 0.5)]
    notes = {"fashion_binary": "binary note", "fashion_multiclass": "10-class note"}
    records = table1_records(
        rows, discovered_notes=notes, n_targets=3, n_seeds=2, pool=800, mnist_pool=800, spec=SPEC
    )
    assert len(records) == 10
    binary = records["fashion_binary.adversarial_accuracy"]
    assert (
        binary["value"] == pytest.approx(0.4)
        and binary["paper"] == TABLE1["CelebA"]["adversarial"].value
    )
    assert binary["note"].startswith("tau_d: binary note; 4 runs (3 targets x 2 seeds)")
    ten = records["fashion_multiclass.random_network.random_split_accuracy"]
    assert ten["paper"] == TABLE1["ImageNet"]["random"].value and ten["value"] == pytest.approx(
        0.85
    )
    assert "paper" not in records["mnist_binary.random_network.adversarial_accuracy"]


def test_pairs_are_split_both_ways_and_a_nested_pair_is_refused(digits, cache) -> None:
    evens = human_task(digits, (0, 2, 4, 6, 8))
    low = human_task(digits, (0, 1, 2, 3, 4))
    zero_two = human_task(digits, (0, 2))  # inside both: one class is missing from a test part
    coins = random_labelled_task(digits, 1000)
    pairs, refused = pair_splits([evens, low, coins, zero_two], spec=SPEC, config=CONFIG)
    assert len(pairs) == 4 and len(refused) == 2
    assert all("{0, 2} vs rest" in message for message in refused)
    scores = {evens.name: 0.9, low.name: 0.8, coins.name: 0.7, zero_two.name: 0.95}
    series = as_difference_points(pairs, scores, wide=[coins.name, zero_two.name])
    assert len(series[PAPER_SET]) == 2 and len(series[WIDE_SET]) == 6
    (difference, accuracy), (flipped, other) = series[PAPER_SET]
    assert difference == pytest.approx(0.1) and flipped == pytest.approx(-0.1)
    assert accuracy + other == pytest.approx(1.0)
