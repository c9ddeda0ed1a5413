"""Rounding noise, metric shifts, best-validation training and per-network inputs (ch. 4, 5)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from taskspace.boxes.evaluate import split_relations
from taskspace.boxes.model import embed
from taskspace.boxes.sensitivity import metric_shift, round_off_noise
from taskspace.boxes.train import TrainConfig, train_boxes, train_on_splits, validation_error


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_round_off_noise_moves_every_entry_by_one_unit_in_the_last_place(dtype) -> None:
    x = torch.tensor([1.0, -2.5, 0.0, 3e-3, 1e4, 0.1], dtype=dtype).repeat(50)
    noisy = round_off_noise(x, seed=0)
    assert noisy.dtype == dtype and noisy.shape == x.shape
    assert (noisy != x).all()
    # reference: numpy's spacing, one float step in the chosen direction
    a, b = x.numpy(), noisy.numpy()
    up = np.nextafter(a, np.inf)
    down = np.nextafter(a, -np.inf)
    assert ((b == up) | (b == down)).all()
    assert 0.3 < (b == up).mean() < 0.7  # both directions occur
    assert torch.equal(round_off_noise(x, seed=0), noisy)
    assert not torch.equal(round_off_noise(x, seed=1), noisy)
    with pytest.raises(TypeError, match="floating"):
        round_off_noise(torch.arange(3), seed=0)


def test_metric_shift_is_the_move_of_the_mean_over_draws() -> None:
    reference = torch.tensor([0.5, 0.7])
    perturbed = torch.tensor([[0.5, 0.7], [0.6, 0.8], [0.4, 0.4]])
    torch.testing.assert_close(
        metric_shift(reference, perturbed), torch.tensor([0.0, 0.1, -0.2], dtype=torch.float64)
    )
    with pytest.raises(ValueError, match=r"\(P, R\)"):
        metric_shift(reference, perturbed[:, :1])


def chain(n: int = 6):
    features = torch.eye(n)
    relation = (torch.arange(n)[:, None] <= torch.arange(n)[None, :]).float()
    return features, relation, ~torch.eye(n, dtype=torch.bool)


def test_keeping_best_trains_every_step_and_returns_the_best_state() -> None:
    features, relation, mask = chain()
    val = mask & (torch.rand(6, 6, generator=torch.Generator().manual_seed(1)) < 0.3)
    config = TrainConfig(
        box_dim=2, steps=60, hidden=(16, 8), eval_every=5, learning_rate=3e-2, seeds=0
    ).keeping_best()
    assert config.patience == 13
    model, history = train_boxes(features, relation, mask & ~val, val, config=config)
    assert history.steps == 60 and not history.stopped_early
    errors = torch.tensor(history.validation_error)
    best = validation_error(model, features, relation, val, config)
    torch.testing.assert_close(best, errors.min().to(best))
    assert history.best_step == history.validation_steps[int(errors.argmin())]


def test_train_on_splits_takes_one_input_set_per_network() -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the comparison below is exact only for a fixed thread count
    try:
        check_one_input_set_per_network()
    finally:
        torch.set_num_threads(threads)


def check_one_input_set_per_network() -> None:
    g = torch.Generator().manual_seed(0)
    features = torch.randn(9, 4, generator=g)
    relation = torch.rand(9, 9, generator=g, dtype=torch.float64)
    relation.fill_diagonal_(float("nan"))
    split = split_relations(relation, novel=2, seed=0)
    config = TrainConfig(box_dim=2, steps=5, seeds=(0, 0))
    inputs = torch.stack([features, round_off_noise(features, seed=3)])  # (2, 9, 4)
    _, boxes, _ = train_on_splits(inputs, relation.float(), [split, split], config)
    alone, _ = train_boxes(
        inputs[1, split.existing],
        split.block(relation.float()),
        split.block(split.train),
        config=replace(config, seeds=0),
    )
    torch.testing.assert_close(embed(alone, inputs[1]).low, boxes.low[1], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="R = 2"):
        train_on_splits(inputs[:1], relation.float(), [split, split], config)
