"""Adversarial train/test splits (Eq. 6, Eq. 7), the matching random split, and their evaluation."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import pytest
import torch

from taskspace.agreement import (
    NetworkSpec,
    TrainConfig,
    TrainTestSplit,
    accuracy,
    adversarial_split,
    agreement_score,
    evaluate_split,
    random_split_like,
    target_groups,
)
from taskspace.agreement.splits import FEW_IMAGES, SmallSplitWarning, one_sided_classes
from taskspace.data.images import load_digits


def random_task(n: int, num_classes: int, seed: int) -> torch.Tensor:
    return torch.randint(0, num_classes, (n,), generator=torch.Generator().manual_seed(seed))


def slow_eq7(
    labels: torch.Tensor, spurious: torch.Tensor, positive: set[int]
) -> tuple[list[int], list[int]]:
    """Eq. 7 written out image by image: train where 1[tau in C1] = tau_d, test where 1[tau in C2] = tau_d."""
    train, test = [], []
    for index, (label, cue) in enumerate(zip(labels.tolist(), spurious.tolist(), strict=True)):
        if int(label in positive) == cue:
            train.append(index)
        if int(label not in positive) == cue:
            test.append(index)
    return train, test


def assert_partition(split: TrainTestSplit, chosen: torch.Tensor) -> None:
    assert not set(split.train.tolist()) & set(split.test.tolist())
    assert torch.equal(split.chosen, chosen.sort().values)
    for part in (split.train, split.test):
        assert part.dtype == torch.int64 and torch.equal(part, part.sort().values)


# hand-made examples of a few images: their splits are small on purpose
small_splits = pytest.mark.filterwarnings("ignore::taskspace.agreement.splits.SmallSplitWarning")


@small_splits
def test_eq7_on_a_hand_made_example() -> None:
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    spurious = torch.tensor([1, 1, 0, 0, 0, 0, 1, 1])
    # C1 = {0, 1}: 1[tau in C1] = [1, 1, 0, 0, 1, 1, 0, 0] equals tau_d on the first four images
    split = adversarial_split(labels, spurious, positive_classes=(0, 1))
    assert split.train.tolist() == [0, 1, 2, 3]
    assert split.test.tolist() == [4, 5, 6, 7]
    assert target_groups(labels, (0, 1), num_classes=4).tolist() == [1, 1, 0, 0, 1, 1, 0, 0]


@pytest.mark.parametrize("num_classes", [2, 3, 10])
def test_unbalanced_split_matches_the_equations_written_out(num_classes: int) -> None:
    labels = random_task(300, num_classes, seed=num_classes)
    spurious = random_task(300, 2, seed=100 + num_classes)
    positive = {1} if num_classes == 2 else set(range(num_classes // 2))
    split = adversarial_split(
        labels,
        spurious,
        positive_classes=None if num_classes == 2 else sorted(positive),
        balance="none",
    )
    train, test = slow_eq7(labels, spurious, positive)
    assert split.train.tolist() == train and split.test.tolist() == test
    assert_partition(split, torch.arange(300))


def test_binary_split_is_eq6() -> None:
    labels, spurious = random_task(200, 2, seed=0), random_task(200, 2, seed=1)
    split = adversarial_split(labels, spurious, seed=3)
    assert torch.equal(labels[split.train], spurious[split.train])
    assert torch.equal(labels[split.test], 1 - spurious[split.test])


@pytest.mark.parametrize("num_classes", [2, 10])
@pytest.mark.parametrize("balance", ["uniform", "matched"])
def test_parts_are_class_balanced_and_partition_the_chosen_images(
    num_classes: int, balance: str
) -> None:
    labels = random_task(1000, num_classes, seed=5)
    # a spurious task that gives label 1 to 30 % of the even classes' images, 50 % of the others'
    share = torch.where(labels % 2 == 0, 0.3, 0.5)
    spurious = (torch.rand(1000, generator=torch.Generator().manual_seed(6)) < share).long()
    positive = None if num_classes == 2 else (0, 2, 4, 6, 8)
    split = adversarial_split(labels, spurious, positive_classes=positive, balance=balance)
    counts = split.class_counts(labels)
    raw = adversarial_split(labels, spurious, positive_classes=positive, balance="none")
    raw_counts = raw.class_counts(labels)
    assert torch.equal(counts[0], counts[1])  # both parts: the same number of every class
    if balance == "uniform":
        assert (counts == raw_counts.min()).all(), counts  # every class equally often
    else:
        assert torch.equal(counts[0], raw_counts.min(0).values), counts  # as many as possible
        assert len(torch.unique(counts[0])) > 1  # the classes' shares are not forced equal
    assert set(split.train.tolist()) <= set(raw.train.tolist())
    assert set(split.test.tolist()) <= set(raw.test.tolist())
    assert_partition(split, split.chosen)


def test_balancing_depends_on_the_seed_only_through_which_images_are_kept() -> None:
    labels, spurious = random_task(400, 2, seed=8), random_task(400, 2, seed=9)
    one, two = (adversarial_split(labels, spurious, seed=s) for s in (0, 1))
    assert torch.equal(one.class_counts(labels), two.class_counts(labels))
    assert not torch.equal(one.train, two.train)
    assert torch.equal(one.train, adversarial_split(labels, spurious, seed=0).train)


def test_random_split_has_the_same_images_and_class_counts_in_each_part() -> None:
    labels = random_task(600, 10, seed=10)
    spurious = random_task(600, 2, seed=11)
    split = adversarial_split(labels, spurious, positive_classes=(1, 3, 5, 7, 9))
    baseline = random_split_like(split, labels, seed=0)
    assert_partition(baseline, split.chosen)
    assert torch.equal(baseline.class_counts(labels), split.class_counts(labels))
    assert len(baseline.train) == len(split.train) and len(baseline.test) == len(split.test)
    # the random split mixes the spurious task: both of its labels occur within each group
    same = target_groups(labels, (1, 3, 5, 7, 9), 10) == spurious
    assert same[baseline.train].any() and not same[baseline.train].all()
    assert not torch.equal(baseline.train, random_split_like(split, labels, seed=1).train)


@small_splits
def test_errors_name_the_problem() -> None:
    labels = torch.tensor([0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="same images: got 6 and 5"):
        adversarial_split(labels, labels[:5])
    with pytest.raises(ValueError, match="equals the target: the test part would be empty"):
        adversarial_split(labels, labels.clone())
    with pytest.raises(ValueError, match="is the flip of the target: the training part"):
        adversarial_split(labels, 1 - labels)
    with pytest.raises(ValueError, match="binary task"):
        adversarial_split(labels, torch.tensor([0, 1, 2, 0, 1, 0]))
    with pytest.raises(ValueError, match="balance must be one of"):
        adversarial_split(labels, torch.tensor([0, 1, 1, 0, 0, 1]), balance="yes")
    with pytest.raises(ValueError, match=r"int64"):
        adversarial_split(labels.float(), labels)
    # class 1's images all have spurious label 1, so class 1 is missing from the test part
    with pytest.raises(ValueError, match=r"classes \[1\] without images in the test part"):
        adversarial_split(labels, torch.tensor([0, 1, 1, 1, 1, 1]))
    multi = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    spurious = torch.tensor([1, 1, 0, 0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="4-class target needs positive_classes"):
        adversarial_split(multi, spurious)
    with pytest.raises(ValueError, match="some but not all"):
        adversarial_split(multi, spurious, positive_classes=(0, 1, 2, 3))
    with pytest.raises(ValueError, match="repeats a class"):
        adversarial_split(multi, spurious, positive_classes=(0, 0))
    with pytest.raises(ValueError, match=r"must lie in 0\.\.3"):
        adversarial_split(multi, spurious, positive_classes=(0, 7))
    with pytest.raises(ValueError, match="side 1\\[tau in C1\\]"):
        adversarial_split(multi, torch.tensor([1, 1, 0, 0, 1, 1, 0, 0]), positive_classes=(0, 1))


def test_evaluation_measures_accuracy_and_agreement_on_the_test_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    data = load_digits()
    images, labels = data.images[:400], (data.labels[:400] >= 5).long()
    spurious = (images.mean((1, 2, 3)) > images.mean((1, 2, 3)).median()).long()
    split = adversarial_split(labels, spurious)
    evaluation = evaluate_split(
        NetworkSpec("mlp", 1, 8),
        images,
        labels,
        split,
        seeds=(0, 1),
        n_networks=3,
        config=TrainConfig(batch_size=32, max_epochs=2),
        device=torch.device("cpu"),
    )
    assert len(evaluation.runs) == 2 and evaluation.accuracy.shape == (2,)
    for run, acc, agree in zip(
        evaluation.runs, evaluation.accuracy, evaluation.agreement, strict=True
    ):
        assert run.predictions.shape == (3, len(split.test))
        assert acc.item() == pytest.approx(accuracy(run.predictions, labels[split.test]).mean())
        assert agree.item() == pytest.approx(agreement_score(run.predictions).mean)
    # on Eq. 6's test part the target is the flipped spurious task: the two accuracies add to 1
    to_spurious = evaluation.runs[0].test_accuracy(spurious[split.test]).mean()
    assert evaluation.accuracy[0].item() + to_spurious.item() == pytest.approx(1.0)
    assert (evaluation.train_accuracy <= 1).all()
    with pytest.raises(ValueError, match="n_networks >= 2"):
        evaluate_split(NetworkSpec("mlp", 1, 8), images, labels, split, n_networks=1)
    with pytest.raises(ValueError, match="400 images but 399 labels"):
        evaluate_split(NetworkSpec("mlp", 1, 8), images, labels[:399], split)


@small_splits
def test_one_sided_classes_on_a_hand_made_example() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3])
    spurious = torch.tensor([0, 1, 1, 1, 0, 0, 1])
    # class 0 is cut by tau_d; 1 and 2 lie wholly on one side; 3 has one image; 4 has none
    assert one_sided_classes(labels, spurious) == [1, 2, 3]
    assert one_sided_classes(labels, spurious, num_classes=5) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="binary"):
        one_sided_classes(labels, labels)


@small_splits
@pytest.mark.parametrize("num_classes", [2, 4])
def test_one_sided_classes_are_exactly_what_adversarial_split_refuses(num_classes: int) -> None:
    all_c1 = [
        c1
        for size in range(1, num_classes)
        for c1 in itertools.combinations(range(num_classes), size)
    ]
    refused = 0
    for seed in range(60):  # few images: some classes fall wholly on one side
        labels = torch.arange(12) % num_classes
        spurious = random_task(12, 2, seed=100 + seed)
        one_sided = one_sided_classes(labels, spurious)
        for c1 in all_c1:
            try:
                adversarial_split(labels, spurious, positive_classes=c1, balance="none")
            except ValueError:
                refused += 1
                assert one_sided, (seed, c1)
            else:
                assert not one_sided, (seed, c1)
    assert 0 < refused < 60 * len(all_c1)  # both cases occurred


def test_bool_and_other_integer_labels_give_the_int64_split() -> None:
    data = load_digits()
    digits, brightness = data.labels, data.images.mean((1, 2, 3))
    spurious = brightness > brightness.median()
    split = adversarial_split(digits >= 5, spurious)  # the natural way to write a binary target
    reference = adversarial_split((digits >= 5).long(), spurious.long())
    assert torch.equal(split.train, reference.train) and torch.equal(split.test, reference.test)
    narrow = adversarial_split((digits >= 5).to(torch.int32), spurious.to(torch.uint8))
    assert torch.equal(narrow.train, reference.train)
    baseline = random_split_like(split, digits >= 5, seed=0)
    assert torch.equal(baseline.class_counts(digits >= 5), split.class_counts(digits >= 5))
    assert one_sided_classes(digits >= 5, spurious) == []


@small_splits
def test_a_target_with_one_class_is_named_as_the_problem() -> None:
    spurious = torch.tensor([0, 1, 1, 0, 1, 0])
    for zeros in (torch.zeros(6, dtype=torch.long), torch.zeros(6, dtype=torch.bool)):
        with pytest.raises(ValueError, match="same label 0: a target with one class"):
            adversarial_split(zeros, spurious)
        with pytest.raises(ValueError, match="same label 0"):  # num_classes does not help
            adversarial_split(zeros, spurious, num_classes=2)
    with pytest.raises(ValueError, match=r"no image of classes \[2\] \(num_classes = 4\)"):
        adversarial_split(torch.tensor([0, 1, 3, 0, 1, 3]), spurious, positive_classes=(0, 1),
                          num_classes=4)  # fmt: skip


@small_splits
def test_random_split_like_checks_its_inputs() -> None:
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    split = adversarial_split(labels, torch.tensor([0, 1, 1, 0, 0, 1, 1, 0]), balance="none")
    assert split.n_images == 8
    with pytest.raises(ValueError, match="made for a set of 8 images, got labels of 9"):
        random_split_like(split, torch.cat([labels, labels[:1]]), seed=0)
    with pytest.raises(ValueError, match="made for a set of 8 images, got labels of 6"):
        random_split_like(split, labels[:6], seed=0)
    empty = TrainTestSplit(torch.tensor([0, 1]), torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="2 training and 0 test images"):
        random_split_like(empty, labels, seed=0)
    by_hand = TrainTestSplit(torch.tensor([0, 9]), torch.tensor([1]))  # no n_images: bound check
    with pytest.raises(ValueError, match="indexes image 9 of only 8"):
        random_split_like(by_hand, labels, seed=0)
    with pytest.raises(ValueError, match="share images"):
        TrainTestSplit(torch.tensor([0, 1]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="indexes image 8 of a set of 8"):
        TrainTestSplit(torch.tensor([0, 8]), torch.tensor([1]), n_images=8)
    with pytest.raises(ValueError, match="training part must be"):
        TrainTestSplit(torch.tensor([0.0]), torch.tensor([1]))


def test_a_split_that_keeps_few_images_warns() -> None:
    labels = torch.arange(40) % 2
    spurious = (torch.arange(40) // 2) % 2  # every one of Eq. 6's four groups: 10 images
    with pytest.warns(
        SmallSplitWarning, match=f"only 20 training and 20 test images of 40.*< {FEW_IMAGES}"
    ):
        adversarial_split(labels, spurious)  # fmt: skip
    # 2 + 2 images: one image of class 1 agrees with the spurious task, one disagrees
    labels, spurious = torch.arange(400) % 2, torch.zeros(400, dtype=torch.long)
    spurious[:200:2], spurious[1], spurious[201:] = 1, 1, 1
    with pytest.warns(SmallSplitWarning, match="only 2 training and 2 test images of 400"):
        split = adversarial_split(labels, spurious)
    assert len(split.train) == len(split.test) == 2


def test_a_split_with_enough_images_does_not_warn() -> None:
    labels = torch.arange(2 * FEW_IMAGES) % 2
    spurious = torch.cat([labels[:FEW_IMAGES], 1 - labels[FEW_IMAGES:]])  # FEW_IMAGES per part
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSplitWarning)
        split = adversarial_split(labels, spurious, balance="none")
    assert len(split.train) == len(split.test) == FEW_IMAGES
    with pytest.warns(SmallSplitWarning):
        adversarial_split(labels[1:], spurious[1:], balance="none")
