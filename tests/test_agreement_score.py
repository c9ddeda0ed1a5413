"""Agreement score, accuracy, Proposition 1, tasks and the cached measurement."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch

from taskspace.agreement import (
    NetworkSpec,
    PixelTask,
    Stochasticity,
    TrainConfig,
    accuracy,
    agreement_score,
    human_labels,
    human_task_splits,
    majority_vote,
    measure_agreement,
    median_split,
    pairwise_agreement,
    proposition1,
    random_labels,
    random_network_scores,
    sample_human_tasks,
)
from taskspace.cache import cache_key
from taskspace.data.images import load_digits


def slow_agreement(predictions: torch.Tensor) -> float:
    """The obvious loop over pairs and images."""
    pairs = list(itertools.combinations(range(predictions.shape[0]), 2))
    total = 0.0
    for i, j in pairs:
        total += sum(int(a == b) for a, b in zip(predictions[i], predictions[j], strict=True))
    return total / (len(pairs) * predictions.shape[1])


@pytest.mark.parametrize("num_classes", [2, 5])
def test_agreement_score_matches_a_loop(num_classes: int) -> None:
    generator = torch.Generator().manual_seed(num_classes)
    predictions = torch.randint(0, num_classes, (5, 40), generator=generator)
    score = agreement_score(predictions)
    assert score.mean == pytest.approx(slow_agreement(predictions), abs=1e-12)
    assert score.n_pairs == 10
    matrix = pairwise_agreement(predictions)
    assert torch.equal(matrix, matrix.T) and torch.all(matrix.diagonal() == 1)


def test_agreement_of_identical_and_opposite_networks() -> None:
    labels = torch.tensor([0, 1, 1, 0, 1])
    assert agreement_score(torch.stack([labels, labels])).mean == 1.0
    assert agreement_score(torch.stack([labels, 1 - labels])).mean == 0.0
    assert agreement_score(torch.stack([labels, labels])).std == 0.0


def test_accuracy_and_majority_vote() -> None:
    predictions = torch.tensor([[0, 1, 2, 2], [0, 1, 1, 2], [1, 1, 2, 0]])
    assert torch.equal(majority_vote(predictions), torch.tensor([0, 1, 2, 2]))
    assert accuracy(predictions, torch.tensor([0, 1, 2, 2])).tolist() == [1.0, 0.75, 0.5]


@pytest.mark.parametrize("seed", range(5))
def test_proposition1_holds_on_random_ensembles(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    num_classes = 2 + seed % 3
    predictions = torch.randint(0, num_classes, (2 + seed, 30), generator=generator)
    labels = torch.randint(0, num_classes, (30,), generator=generator)
    check = proposition1(predictions, labels)
    assert check.holds
    assert check.accuracy_majority >= check.agreement >= check.lower_bound


def test_proposition1_can_fail() -> None:
    """The check is a computation, not a constant: corrupt one side and it says so."""
    from taskspace.agreement.score import Proposition1

    assert not Proposition1(accuracy_majority=0.6, agreement=0.7, accuracy_labels=0.5).holds
    assert not Proposition1(accuracy_majority=0.9, agreement=0.7, accuracy_labels=0.9).holds


@pytest.mark.parametrize(
    ("predictions", "message"),
    [
        (torch.zeros(1, 4, dtype=torch.int64), "at least 2 networks"),
        (torch.zeros(2, 0, dtype=torch.int64), "one test image"),
        (torch.zeros(2, 4), "int64"),
        (torch.zeros(4, dtype=torch.int64), r"\(E, N\)"),
    ],
)
def test_bad_predictions_are_refused(predictions: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        agreement_score(predictions)


def test_human_task_splits() -> None:
    splits = human_task_splits(10)
    assert len(splits) == math.comb(10, 5) // 2 == 126
    complements = {tuple(sorted(set(range(10)) - set(s))) for s in splits}
    assert not complements & set(splits)  # no split appears with its complement
    assert sample_human_tasks(5, seed=0) == sample_human_tasks(5, seed=0)
    assert len(set(sample_human_tasks(20, seed=1))) == 20
    labels = human_labels(torch.tensor([0, 3, 7, 9]), (0, 1, 2, 3, 4))
    assert labels.tolist() == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="same label"):
        human_labels(torch.tensor([5, 6]), (0, 1, 2, 3, 4))
    with pytest.raises(ValueError, match="even number"):
        human_task_splits(7)


def test_random_labels_are_fixed_by_the_seed() -> None:
    a, b, c = random_labels(1000, seed=3), random_labels(1000, seed=3), random_labels(1000, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert 0.4 < a.double().mean() < 0.6
    assert set(random_labels(200, seed=0, num_classes=3).tolist()) == {0, 1, 2}


def test_median_split_and_random_network_task() -> None:
    images = load_digits().images
    spec = NetworkSpec("small_cnn", 1, 8, width=8)
    scores = random_network_scores(spec, images, seed=0)
    assert torch.equal(scores, random_network_scores(spec, images, seed=0))
    train, test = median_split(scores[:1000], scores[1000:])
    assert train.sum() == 500 and 0.3 < test.double().mean() < 0.7
    with pytest.raises(ValueError, match="all equal"):
        median_split(torch.zeros(10), torch.zeros(3))


def test_pixel_task() -> None:
    images = torch.rand(50, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    task = PixelTask(row=2, col=3, channel=1)
    assert torch.equal(task.scores(images), images[:, 1, 2, 3])
    randomised = task.randomise_pixel(images, seed=1)
    assert torch.equal(randomised[:, 0], images[:, 0])
    assert not torch.equal(randomised[:, 1, 2, 3], images[:, 1, 2, 3])
    kept = task.randomise_all_but_pixel(images, seed=1)
    assert torch.equal(kept[:, 1, 2, 3], images[:, 1, 2, 3])
    assert not torch.equal(kept[:, 0], images[:, 0])
    with pytest.raises(ValueError, match="outside"):
        PixelTask(row=9, col=0, channel=0).scores(images)


@pytest.fixture
def tiny_task() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    data = load_digits()
    return data.images[:160], random_labels(160, seed=7), data.images[160:400]


def test_random_task_agreement_is_reproducible_from_a_seed(
    tiny_task: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> None:
    train_images, train_labels, test_images = tiny_task
    spec = NetworkSpec("mlp", 1, 8)
    config = TrainConfig(batch_size=32, max_epochs=3)

    def measure(seed: int) -> float:
        run = measure_agreement(
            spec,
            train_images,
            train_labels,
            test_images,
            seed=seed,
            config=config,
            device=torch.device("cpu"),
            use_cache=False,
        )
        return run.score.mean

    assert measure(seed=1) == measure(seed=1)
    assert measure(seed=1) != measure(seed=2)


def test_identical_seeds_give_agreement_one(
    tiny_task: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> None:
    train_images, train_labels, test_images = tiny_task
    run = measure_agreement(
        NetworkSpec("mlp", 1, 8),
        train_images,
        train_labels,
        test_images,
        n_networks=3,
        config=TrainConfig(batch_size=32, max_epochs=3),
        stochasticity=Stochasticity(initialisation=False, data_order=False, kernels=False),
        device=torch.device("cpu"),
        use_cache=False,
    )
    assert run.score.mean == 1.0


def test_measurement_is_cached_on_disk(
    tiny_task: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    train_images, train_labels, test_images = tiny_task
    arguments = dict(
        config=TrainConfig(batch_size=32, max_epochs=2),
        device=torch.device("cpu"),
        other_test_sets={"noisy": torch.rand(7, 1, 8, 8)},
    )
    spec = NetworkSpec("mlp", 1, 8)
    first = measure_agreement(spec, train_images, train_labels, test_images, **arguments)
    (entry,) = (tmp_path / "agreement").glob("*.pt")
    stamp = entry.stat().st_mtime_ns
    again = measure_agreement(spec, train_images, train_labels, test_images, **arguments)
    assert entry.stat().st_mtime_ns == stamp  # read, not recomputed
    assert torch.equal(first.predictions, again.predictions)
    assert again.other_predictions["noisy"].shape == (2, 7)
    entry.write_bytes(b"damaged")
    repaired = measure_agreement(spec, train_images, train_labels, test_images, **arguments)
    assert torch.equal(first.predictions, repaired.predictions)
    other = measure_agreement(spec, train_images, 1 - train_labels, test_images, **arguments)
    assert other.predictions.shape == first.predictions.shape
    assert len(list((tmp_path / "agreement").glob("*.pt"))) == 2


def test_cache_key_depends_on_tensor_values() -> None:
    a = torch.zeros(3)
    assert cache_key({"x": a}) == cache_key({"x": a.clone()})
    assert cache_key({"x": a}) != cache_key({"x": a + 1})
    assert cache_key({"x": a}) != cache_key({"x": a.double()})
