"""Training: it learns, it is reproducible, batched members are independent, it resumes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from taskspace.boxes.evaluate import split_relations
from taskspace.boxes.geometry import overlap_matrix
from taskspace.boxes.losses import LossWeights
from taskspace.boxes.model import embed
from taskspace.boxes.train import TrainConfig, train_boxes, train_on_splits, validation_error


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny networks: a second thread only adds contention on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SMALL = TrainConfig(box_dim=2, steps=30, hidden=(16, 8), eval_every=5, checkpoint_every=10)


def chain_problem(n: int = 6):
    """A chain 0 ⊂ 1 ⊂ ... ⊂ n-1 as a 0/1 relation, one-hot features, all off-diagonal pairs."""
    features = torch.eye(n)
    relation = (torch.arange(n)[:, None] <= torch.arange(n)[None, :]).float()  # 1 iff i <= j
    mask = ~torch.eye(n, dtype=torch.bool)
    return features, relation, mask


def test_training_reduces_the_loss_and_learns_the_chain():
    features, relation, mask = chain_problem()
    model, history = train_boxes(features, relation, mask, config=replace(SMALL, steps=300))
    assert history.steps == 300
    assert history.losses["overlap"][-1] < 0.1 * history.losses["overlap"][0]
    predicted = overlap_matrix(embed(model, features))
    assert (predicted[relation.bool() & mask] > 0.5).float().mean() > 0.8


def test_runs_are_reproducible_and_depend_on_the_seed():
    features, relation, mask = chain_problem()
    _, first = train_boxes(features, relation, mask, config=SMALL)
    _, again = train_boxes(features, relation, mask, config=SMALL)
    _, other = train_boxes(features, relation, mask, config=replace(SMALL, seeds=1))
    assert first.losses == again.losses
    assert first.losses["total"] != other.losses["total"]


def test_members_train_like_separate_runs():
    """In float64, so that Adam (scale-free) does not amplify float32 rounding differences."""
    features, relation, mask = (t.double() if t.is_floating_point() else t for t in chain_problem())
    config = replace(SMALL, seeds=(4, 9), weights=(LossWeights(), LossWeights(distance=0.0)))
    stack = (torch.stack([features] * 2), torch.stack([relation] * 2), torch.stack([mask] * 2))
    together, history = train_boxes(*stack, config=config)
    alone, alone_history = train_boxes(
        features, relation, mask, config=replace(SMALL, seeds=9, weights=LossWeights(distance=0.0))
    )
    torch.testing.assert_close(
        torch.tensor(history.losses["total"])[:, 1], torch.tensor(alone_history.losses["total"])
    )
    low_together, low_alone = embed(together, stack[0]).low[1], embed(alone, features).low
    torch.testing.assert_close(low_together, low_alone, rtol=1e-5, atol=1e-5)


def test_a_checkpointed_run_resumes_exactly(tmp_path):
    features, relation, mask = chain_problem()
    val = mask & (torch.rand(6, 6, generator=torch.Generator().manual_seed(0)) < 0.3)
    train = mask & ~val
    path = tmp_path / "run.pt"
    _, straight = train_boxes(features, relation, train, val, config=SMALL)
    train_boxes(features, relation, train, val, config=replace(SMALL, steps=10), checkpoint=path)
    model, resumed = train_boxes(features, relation, train, val, config=SMALL, checkpoint=path)
    assert resumed == straight
    again, finished = train_boxes(features, relation, train, val, config=SMALL, checkpoint=path)
    assert finished == straight
    torch.testing.assert_close(embed(again, features).low, embed(model, features).low)
    assert not list(tmp_path.glob(".*part"))  # atomic writes leave no temporary files
    with pytest.raises(ValueError, match="another run"):
        train_boxes(features, relation, train, val, config=replace(SMALL, seeds=3), checkpoint=path)


def test_early_stopping_returns_each_member_at_its_best():
    features, relation, mask = chain_problem()
    val = mask & (torch.rand(6, 6, generator=torch.Generator().manual_seed(1)) < 0.3)
    stack = [torch.stack([t] * 2) for t in (features, relation, mask & ~val, val)]
    config = replace(SMALL, steps=400, seeds=(0, 1), eval_every=2, patience=3, learning_rate=3e-2)
    model, history = train_boxes(*stack[:3], stack[3], config=config)
    errors = torch.tensor(history.validation_error)  # (evaluations, 2)
    best = validation_error(model, stack[0], stack[1], stack[3], config)
    torch.testing.assert_close(best, errors.min(0).values.to(best))
    assert history.stopped_early == (history.steps < 400)
    assert len(history.best_step) == 2


def test_global_random_state_is_untouched():
    features, relation, mask = chain_problem()
    state = torch.get_rng_state()
    train_boxes(features, relation, mask, config=replace(SMALL, steps=2))
    assert torch.equal(torch.get_rng_state(), state)


def test_bad_inputs_are_refused():
    features, relation, mask = chain_problem()
    unknown = relation.clone()
    unknown[0, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        train_boxes(features, unknown, mask, config=SMALL)
    with pytest.raises(ValueError, match="diagonal"):
        train_boxes(features, relation, torch.ones(6, 6, dtype=torch.bool), config=SMALL)
    with pytest.raises(ValueError, match="target"):
        train_boxes(features, relation[:5, :5], mask, config=SMALL)
    with pytest.raises(ValueError, match="validation pairs"):
        train_boxes(features, relation, mask, config=replace(SMALL, patience=2))
    with pytest.raises(ValueError, match="tuple of seeds"):
        TrainConfig(weights=(LossWeights(),))


def test_train_on_splits_trains_each_split_on_its_existing_datasets():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(9, 4, generator=g)
    relation = torch.rand(9, 9, generator=g, dtype=torch.float64)
    relation.fill_diagonal_(float("nan"))
    splits = [split_relations(relation, novel=2, seed=s) for s in (0, 1)]
    config = TrainConfig(box_dim=2, steps=5, seeds=(0, 1))
    _, boxes, _ = train_on_splits(features, relation.float(), splits, config)
    assert boxes.low.shape == (2, 9, 2)
    second = splits[1]
    alone, _ = train_boxes(
        features[second.existing],
        second.block(relation.float()),
        second.block(second.train),
        config=replace(config, seeds=1),
    )
    torch.testing.assert_close(embed(alone, features).low, boxes.low[1], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="seeds"):
        train_on_splits(features, relation.float(), splits, replace(config, seeds=(0,)))
