"""Loss terms against explicit loops and against the authors' formulation with box-embeddings."""

from __future__ import annotations

import itertools

import pytest
import torch

from taskspace.boxes.geometry import Boxes, log_volume, overlap_matrix
from taskspace.boxes.losses import (
    HIERARCHY_WEIGHTS,
    TASKONOMY_WEIGHTS,
    LossWeights,
    distance_loss,
    overlap_loss,
    regularization_loss,
    size_loss,
    task2box_loss,
)


def random_problem(n: int = 6, k: int = 3, seed: int = 0, batch: tuple[int, ...] = ()):
    gen = torch.Generator().manual_seed(seed)
    low = torch.randn(*batch, n, k, generator=gen, dtype=torch.float64)
    boxes = Boxes.from_corner_and_size(
        low, torch.rand(*batch, n, k, generator=gen, dtype=torch.float64)
    )
    target = torch.rand(*batch, n, n, generator=gen, dtype=torch.float64)
    target[target < 0.3] = 0.0
    mask = torch.rand(*batch, n, n, generator=gen) < 0.6
    mask &= ~torch.eye(n, dtype=torch.bool)
    target[~mask & (torch.rand(*batch, n, n, generator=gen) < 0.5)] = float("nan")
    return boxes, target, mask


def pairs(mask: torch.Tensor):
    return [(i, j) for i, j in itertools.product(range(mask.shape[0]), repeat=2) if mask[i, j]]


def test_overlap_loss_is_the_weighted_sum_of_squared_errors_on_the_mask():
    boxes, target, mask = random_problem()
    predicted = overlap_matrix(boxes)
    expected = 100 * sum((predicted[i, j] - target[i, j]) ** 2 for i, j in pairs(mask))
    torch.testing.assert_close(overlap_loss(predicted, target, mask), expected)


def test_distance_loss_sums_squared_centre_distances_of_wanted_pairs():
    boxes, target, mask = random_problem()
    c = boxes.center
    wanted = [(i, j) for i, j in pairs(mask) if target[i, j] > 0]
    expected = 0.01 * sum(((c[i] - c[j]) ** 2).sum() for i, j in wanted)
    torch.testing.assert_close(distance_loss(boxes, target, mask), expected)


def test_regularization_loss_follows_equation_6():
    boxes, _, _ = random_problem(k=4)
    k, s = 4, boxes.size
    volume = log_volume(boxes).exp()
    expected = sum(
        1.0 / k**2 * sum(abs(s[i, a] - s[i, b]) for a in range(k) for b in range(a + 1, k))
        + 0.7 * (volume[i] + 1e-12) ** (-1 / k)
        for i in range(len(boxes))
    )
    torch.testing.assert_close(regularization_loss(boxes, alpha=1.0, beta=0.7), expected)


def test_size_loss_is_a_mean_squared_error_of_volumes():
    boxes, _, _ = random_problem()
    sizes = torch.linspace(0.1, 1.0, 6, dtype=torch.float64)
    expected = ((log_volume(boxes).exp() - sizes) ** 2).mean()
    torch.testing.assert_close(size_loss(boxes, sizes), expected)
    with pytest.raises(ValueError, match="sizes"):
        size_loss(boxes, sizes[:3])


def test_nan_targets_inside_the_mask_are_refused_and_outside_ignored():
    boxes, target, mask = random_problem()
    assert torch.isnan(target).any()
    assert torch.isfinite(task2box_loss(boxes, target, mask).total)
    bad = target.clone()
    bad[mask.nonzero()[0].tolist()] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        task2box_loss(boxes, bad, mask)
    with pytest.raises(ValueError, match="shape"):
        distance_loss(boxes, target[:3], mask[:3])


def test_batched_loss_equals_each_member_with_its_own_weights():
    boxes, target, mask = random_problem(batch=(3,))
    weights = (TASKONOMY_WEIGHTS, HIERARCHY_WEIGHTS, LossWeights(overlap=0.0, distance=0.0))
    batched = task2box_loss(boxes, target, mask, weights)
    for r, w in enumerate(weights):
        single = task2box_loss(boxes[r], target[r], mask[r], w)
        for name in batched._fields:
            torch.testing.assert_close(getattr(batched, name)[r], getattr(single, name))
    assert batched.overlap[2] == 0 and batched.distance[2] == 0


def test_weights_must_be_non_negative_numbers():
    with pytest.raises(ValueError, match="overlap"):
        LossWeights(overlap=-1.0)
    with pytest.raises(ValueError, match="distance"):
        LossWeights(distance=float("nan"))


def authors_loss(boxes: Boxes, target: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """The objective as the authors' ``train_taskonomy.py`` computes it, with box-embeddings."""
    box_tensor = pytest.importorskip("box_embeddings.parameterizations.box_tensor").BoxTensor
    volume_cls = pytest.importorskip("box_embeddings.modules.volume.volume").Volume
    meet = pytest.importorskip("box_embeddings.modules.intersection").Intersection(
        intersection_temperature=0.0001
    )
    volume = volume_cls(volume_temperature=0.1, intersection_temperature=0.0001)
    data = boxes.as_tensor()
    n = len(data)
    vol_loss = 1 / (torch.exp(volume(box_tensor(data))) + 1e-12)
    total_vol_loss = torch.sum(vol_loss ** (1 / k))
    boxes1 = box_tensor(data.unsqueeze(1).repeat(1, n, 1, 1).reshape(-1, 2, k))
    boxes2 = box_tensor(data.repeat(n, 1, 1))
    flat = mask.reshape(-1).nonzero().squeeze(1)
    d_train = target.reshape(-1)[flat]
    overlap_pred = torch.exp(volume(meet(boxes1, boxes2)) - volume(boxes1))[flat]
    overlap = torch.nn.functional.mse_loss(overlap_pred, d_train) * len(d_train)
    centre1, centre2 = boxes1.data.sum(1) / 2, boxes2.data.sum(1) / 2
    dist = ((centre1 - centre2) ** 2).sum(1)[flat][d_train > 1e-12].sum()
    sizes = boxes.size
    box_reg = sum(
        torch.sum(torch.abs(sizes[:, a] - sizes[:, b])) for a in range(k) for b in range(a + 1, k)
    )
    return 100 * overlap + 0.01 * total_vol_loss + 0.01 * dist + box_reg / k**2


@pytest.mark.parametrize("k", [2, 5])
def test_total_matches_the_authors_code(k):
    boxes, target, mask = random_problem(n=7, k=k, seed=k)
    ours = task2box_loss(boxes, target.nan_to_num(0.0), mask).total
    torch.testing.assert_close(ours, authors_loss(boxes, target.nan_to_num(0.0), mask, k))
