"""The Task2Box network: shapes, per-member equivalence with torch.nn layers, seeds, embedding."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from taskspace.boxes.model import BoxModel, embed

HIDDEN = (16, 8, 4)


def reference_network(model: BoxModel, member: int) -> tuple[nn.Sequential, nn.Linear, nn.Linear]:
    """``nn.Linear``/``nn.BatchNorm1d`` layers holding member ``member``'s weights."""
    layers: list[nn.Module] = []
    for linear, norm in zip(model.layers, model.norms, strict=True):
        ref = nn.Linear(*linear.weight.shape[1:]).double()
        ref.weight.data = linear.weight[member].T.clone()
        ref.bias.data = linear.bias[member, 0].clone()
        bn = nn.BatchNorm1d(norm.weight.shape[-1]).double()
        bn.weight.data, bn.bias.data = norm.weight[member, 0].clone(), norm.bias[member, 0].clone()
        layers += [ref, nn.ReLU(), bn]
    heads = []
    for head in (model.corner, model.size):
        ref = nn.Linear(*head.weight.shape[1:]).double()
        ref.weight.data, ref.bias.data = head.weight[member].T.clone(), head.bias[member, 0].clone()
        heads.append(ref)
    return nn.Sequential(*layers), heads[0], heads[1]


def test_shapes_and_side_lengths():
    single = BoxModel(7, 3, HIDDEN, seeds=0)
    boxes = single(torch.randn(10, 7))
    assert boxes.low.shape == (10, 3)
    assert torch.all((boxes.size > 0) & (boxes.size < 1))
    several = BoxModel(7, 3, HIDDEN, seeds=(0, 1, 2))
    assert several(torch.randn(3, 10, 7)).low.shape == (3, 10, 3)


def test_each_member_is_an_ordinary_network_in_train_and_eval_mode():
    model = BoxModel(5, 2, HIDDEN, seeds=(3, 4)).double()
    features = torch.randn(2, 9, 5, dtype=torch.float64)
    refs = [reference_network(model, r) for r in range(2)]
    for _ in range(3):  # training passes update the running statistics
        boxes = model(features)
        for r, (body, corner, size) in enumerate(refs):
            hidden = body.train()(features[r])
            torch.testing.assert_close(boxes.low[r], corner(hidden))
            torch.testing.assert_close(boxes.size[r], torch.sigmoid(size(hidden)))
    evaluated = embed(model, features)
    for r, (body, corner, _) in enumerate(refs):
        torch.testing.assert_close(evaluated.low[r], corner(body.eval()(features[r])))


def test_seeds_fix_the_weights_whatever_the_position_and_leave_global_rng_alone():
    state = torch.get_rng_state()
    a, b = BoxModel(4, 2, HIDDEN, seeds=(7, 8)), BoxModel(4, 2, HIDDEN, seeds=8)
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(a.layers[1].weight[1], b.layers[1].weight[0])
    assert not torch.equal(a.layers[1].weight[0], a.layers[1].weight[1])


def test_initialisation_matches_nn_linear_range():
    model = BoxModel(64, 2, (32, 8, 4), seeds=0)
    bound = 1 / 64**0.5
    weight = model.layers[0].weight
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound


def test_embed_restores_mode_and_embeds_a_single_new_dataset():
    model = BoxModel(3, 2, HIDDEN, seeds=0)
    model.train()
    model(torch.randn(6, 3))
    boxes = embed(model, torch.randn(1, 3))
    assert boxes.low.shape == (1, 2) and not boxes.low.requires_grad
    assert model.training


def test_bad_input_is_refused():
    model = BoxModel(3, 2, HIDDEN, seeds=0)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        model(torch.randn(4, 5))
    with pytest.raises(ValueError, match="NaN"):
        model(torch.tensor([[0.0, float("nan"), 1.0]] * 2))
    with pytest.raises(ValueError, match=r"\(R, N, d\)"):
        BoxModel(3, 2, HIDDEN, seeds=(0, 1))(torch.randn(3, 4, 3))
    with pytest.raises(ValueError, match="box_dim"):
        BoxModel(3, 0)
