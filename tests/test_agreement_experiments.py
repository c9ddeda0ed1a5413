"""Chapter 8's experiments: lists of tasks, Proposition 1 over runs, the pixel task's probes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from taskspace.agreement import NetworkSpec, PixelTask, TrainConfig, measure_agreement
from taskspace.agreement.experiments import (
    RANDOMNESS_SOURCES,
    TaskScores,
    agreement_of,
    describe_run,
    measure_kinds,
    measure_random_network_tasks,
    pixel_probes,
    proposition1_choices,
    proposition1_summary,
    scores_table,
    task_name,
)
from taskspace.agreement.recipes import (
    dataset_pools,
    human_tasks,
    random_network_labels,
    random_tasks,
    sample_test,
    sample_train,
    task_labels,
)

SPEC = NetworkSpec("mlp", 1, 8)
CONFIG = TrainConfig(batch_size=32, max_epochs=2)


@pytest.fixture(scope="module")
def digits() -> tuple:
    train_pool, test_pool = dataset_pools("digits")
    return sample_train(train_pool, 60), sample_test(test_pool, 40)


@pytest.fixture
def quiet_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    monkeypatch.setenv("TASKSPACE_QUIET", "1")


def test_measure_kinds_keeps_one_run_per_task_seeded_by_its_index(
    digits: tuple, quiet_cache: None
) -> None:
    train, test = digits
    tasks = {"human": human_tasks(2), "random": random_tasks(1)}
    scores = measure_kinds(SPEC, tasks, train, test, config=CONFIG, device=torch.device("cpu"))
    assert list(scores) == ["human", "random"]
    human = scores["human"]
    assert human.tasks == tuple(tasks["human"]) and len(human.runs) == 2
    # task 1 of the list is the measurement with seed 1, written out
    labels, test_labels = task_labels(tasks["human"][1], train, test)
    alone = measure_agreement(
        SPEC, train.images, labels, test.images, seed=1, config=CONFIG, device=torch.device("cpu")
    )
    assert torch.equal(alone.predictions, human.runs[1].predictions)
    assert torch.equal(human.test_labels[1], test_labels)
    text = describe_run(alone, test_labels)
    assert text.startswith(f"AS {alone.score.mean:.3f}, training accuracy")
    assert text.endswith(f"test accuracy {alone.test_accuracy(test_labels).mean():.3f}")
    assert human.agreement.shape == (2,) and human.agreement.dtype == np.float64
    assert human.agreement[1] == alone.score.mean
    assert human.std == pytest.approx(human.agreement.std(ddof=1))
    assert scores["random"].std is None  # one task: no spread
    assert human.epochs.max() <= CONFIG.max_epochs
    assert human.test_accuracy[1] == alone.test_accuracy(test_labels).mean().item()
    table = scores_table(scores)
    assert [row[:3] for row in table.rows] == [
        ("human", f"{human.agreement.mean():.3f} ± {human.std:.3f}", "2"),
        ("random", f"{scores['random'].agreement.mean():.3f} ± –", "1"),
    ]
    assert [p[0].shape for p in human.pairs()] == [(2, len(test))] * 2
    assert set(agreement_of(scores)) == {"human", "random"}


def test_random_network_tasks_learn_the_median_split(digits: tuple, quiet_cache: None) -> None:
    train, test = digits
    scores = measure_random_network_tasks(
        SPEC, [500], train, test, config=CONFIG, device=torch.device("cpu")
    )
    _, expected = random_network_labels(SPEC, 500, train.images, test.images)
    assert scores.tasks == (500,) and torch.equal(scores.test_labels[0], expected)


def test_task_scores_refuse_mismatched_lists() -> None:
    with pytest.raises(ValueError, match="one run and one labelling per task"):
        TaskScores((1000,), (), ())


def test_proposition1_choices_and_summary() -> None:
    predictions = torch.tensor([[0, 1, 1, 0], [0, 1, 0, 0], [1, 1, 1, 0]])
    labels = torch.tensor([0, 1, 1, 1])
    checks = proposition1_choices(predictions, labels)
    assert list(checks) == ["true test labels", "majority vote", "1 - majority vote"]
    assert checks["majority vote"].accuracy_labels == checks["majority vote"].accuracy_majority
    assert checks["1 - majority vote"].accuracy_labels == pytest.approx(
        1 - checks["majority vote"].accuracy_labels
    )
    summary = proposition1_summary([(predictions, labels), (predictions[:2], labels)])
    assert summary.n_runs == 2 and summary.holds
    assert summary.room_upper >= 0 and summary.room_lower >= 0
    with pytest.raises(ValueError, match="no runs"):
        proposition1_summary([])


def test_randomness_sources_switch_one_source_each() -> None:
    switched_on = {
        name: [s.initialisation, s.data_order, s.kernels] for name, s in RANDOMNESS_SOURCES.items()
    }
    assert switched_on == {
        "all three vary": [True, True, True],
        "initialisation only": [True, False, False],
        "data order only": [False, True, False],
        "kernels only": [False, False, True],
        "all fixed": [False, False, False],
    }


def test_pixel_probes_destroy_what_they_say() -> None:
    images = torch.full((3, 1, 9, 9), 0.25)
    pixel = PixelTask(row=4, col=4, channel=0)
    probes = pixel_probes(pixel, images, sizes=(3,))
    assert list(probes) == [
        "pixel randomised",
        "3x3 square randomised",
        "all but the pixel randomised",
    ]
    changed = (probes["3x3 square randomised"] != images)[0, 0]
    assert changed[3:6, 3:6].all() and changed.sum() == 9
    rest = probes["all but the pixel randomised"]
    assert torch.equal(rest[:, 0, 4, 4], images[:, 0, 4, 4]) and (rest != 0.25).sum() > 200
    assert torch.equal(
        pixel_probes(pixel, images, sizes=(3,))["pixel randomised"], probes["pixel randomised"]
    )  # fixed seeds
    with pytest.raises(ValueError, match="does not fit"):
        pixel.randomise_window(images, 11, seed=0)


def test_neighbour_scores_sum_the_eight_neighbours() -> None:
    images = torch.arange(25.0).view(1, 1, 5, 5)
    pixel = PixelTask(row=2, col=2, channel=0)
    assert pixel.neighbour_scores(images).item() == 6 + 7 + 8 + 11 + 13 + 16 + 17 + 18
    with pytest.raises(ValueError, match="no 8 neighbours"):
        PixelTask(row=0, col=2, channel=0).neighbour_scores(images)


def test_task_names() -> None:
    names = [f"c{i}" for i in range(10)]
    assert task_name((0, 3), names) == "{c0, c3} vs rest"
    assert task_name(1000, names) == "random (seed 1000)"
