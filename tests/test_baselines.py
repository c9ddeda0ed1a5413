"""Baselines: side-by-side training equals separate runs; cuts, Eq. 7 and the additive model
against brute force; classifiers learn what they can represent (and the linear one cannot)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from taskspace.baselines import (
    ALPHAS,
    LINEAR_HIDDEN,
    Cut,
    PairConfig,
    choose_cut,
    choose_probability_threshold,
    fit_additive_effects,
    fit_asymmetric,
    predict_pairs,
    random_relation,
    train_pair_model,
    trivial_embedding,
)
from taskspace.boxes.evaluate import f1_score
from taskspace.represent.distances import (
    asymmetric_distance_matrix,
    cosine_distance_matrix,
    euclidean_distance_matrix,
    gaussian_kl_matrix,
)

SMALL = (32, 16)  # hidden widths small enough for quick tests


def order_relation(n: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(n, 3)`` and the relation "``x_i < x_j``" on the first feature."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, 3, generator=g)
    relation = (features[:, None, 0] < features[None, :, 0]).double()
    relation.fill_diagonal_(float("nan"))
    return features, relation


def off_diagonal(n: int, members: int = 1) -> torch.Tensor:
    return (~torch.eye(n, dtype=torch.bool)).expand(members, n, n).clone()


def test_members_side_by_side_train_like_separate_runs():
    features, relation = order_relation()
    masks = off_diagonal(24, 2)
    masks[0, :5] = False  # the two members see different pairs
    together, losses = train_pair_model(
        features, relation, masks, PairConfig(hidden=SMALL, steps=30, seeds=(3, 7))
    )
    alone, alone_losses = train_pair_model(
        features, relation, masks[1:], PairConfig(hidden=SMALL, steps=30, seeds=(7,))
    )
    assert losses.shape == (30, 2)
    torch.testing.assert_close(losses[:, 1], alone_losses[:, 0], rtol=1e-4, atol=1e-5)
    both = predict_pairs(together, features, off_diagonal(24, 2))
    one = predict_pairs(alone, features, off_diagonal(24, 1))
    torch.testing.assert_close(both[1], one[0], rtol=1e-4, atol=1e-5, equal_nan=True)


def test_predict_pairs_is_nan_outside_the_mask_and_matches_a_forward_pass():
    features, relation = order_relation(12)
    model, _ = train_pair_model(
        features, relation, off_diagonal(12), PairConfig(hidden=SMALL, steps=5, seeds=(0,))
    )
    mask = torch.zeros(1, 12, 12, dtype=torch.bool)
    mask[0, 2, 5] = mask[0, 7, 1] = True
    predicted = predict_pairs(model, features, mask, chunk=1)
    assert torch.isnan(predicted[~mask]).all()
    with torch.no_grad():
        direct = torch.sigmoid(model(features[None, [2, 7]], features[None, [5, 1]]))[0]
    torch.testing.assert_close(predicted[0, [2, 7], [5, 1]], direct.double())


def test_both_classifiers_learn_an_order_relation():
    features, relation = order_relation(30)
    train = off_diagonal(30)
    scores = {}
    for name, hidden in (("mlp", SMALL), ("linear", LINEAR_HIDDEN)):
        config = PairConfig(hidden=hidden, steps=200, batch_size=64, learning_rate=1e-2)
        model, losses = train_pair_model(features, relation, train, config)
        assert losses[-50:].mean() < losses[:50].mean()
        probability = predict_pairs(model, features, train)[0]
        scores[name] = f1_score(probability > 0.5, relation.nan_to_num(0), train[0])
    assert scores["mlp"] > 0.9
    # "x_i < x_j" is an order: a linear score w_a x_i + w_b x_j learns it too when w_a = -w_b,
    # so both reach it on this relation; containment in a tree is not of that form.
    assert scores["linear"] > 0.9


def test_linear_model_cannot_fit_a_relation_that_is_not_additive():
    # d(i, j) = 1 iff i and j are in the same cluster: no logit a(e_i) + b(e_j) separates it
    g = torch.Generator().manual_seed(1)
    cluster = torch.arange(30) % 3
    features = torch.nn.functional.one_hot(cluster).float() + 0.05 * torch.randn(30, 3, generator=g)
    relation = (cluster[:, None] == cluster[None, :]).double()
    relation.fill_diagonal_(float("nan"))
    train = off_diagonal(30)
    f1 = {}
    for name, hidden in (("mlp", SMALL), ("linear", LINEAR_HIDDEN)):
        config = PairConfig(hidden=hidden, steps=200, batch_size=64, learning_rate=1e-2)
        model, _ = train_pair_model(features, relation, train, config)
        probability = predict_pairs(model, features, train)[0]
        _, f1[name] = choose_probability_threshold(probability, relation.nan_to_num(0), train[0])
    assert f1["mlp"] > 0.95
    assert f1["linear"] < 0.7


def test_regression_fits_values_in_the_unit_interval():
    features, _ = order_relation(20)
    target = torch.sigmoid(features[:, None, 0] - 2 * features[None, :, 1]).double()
    config = PairConfig(hidden=SMALL, loss="mse", steps=200, batch_size=64, learning_rate=1e-2)
    model, _ = train_pair_model(features, target, off_diagonal(20), config)
    predicted = predict_pairs(model, features, off_diagonal(20))[0]
    error = (predicted - target)[off_diagonal(20)[0]].pow(2).mean()
    assert error < 0.1 * target.var()


def test_pair_training_refuses_unknown_targets_and_wrong_seed_counts():
    features, relation = order_relation(6)
    with pytest.raises(ValueError, match="NaN"):
        train_pair_model(features, relation, torch.ones(1, 6, 6, dtype=torch.bool), PairConfig())
    with pytest.raises(ValueError, match="seeds"):
        train_pair_model(features, relation, off_diagonal(6, 2), PairConfig(seeds=(0,)))


@pytest.mark.parametrize("below", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_choose_cut_finds_the_best_f1_of_every_threshold(below, seed):
    g = torch.Generator().manual_seed(seed)
    score = torch.randint(0, 15, (9, 9), generator=g).double()  # ties on purpose
    actual = (torch.rand(9, 9, generator=g) < 0.3).double()
    mask = torch.rand(9, 9, generator=g) < 0.7
    cut, f1 = choose_cut(score, actual, mask, below=below)
    assert f1_score(cut.predict(score), actual, mask) == pytest.approx(f1)
    values = sorted(set(score[mask].tolist()))
    candidates = [v - 0.5 for v in values] + [values[-1] + 0.5]
    brute = max(f1_score(Cut(t, below).predict(score), actual, mask) for t in candidates)
    assert f1 == pytest.approx(brute)


def test_choose_cut_without_positives_predicts_none():
    score = torch.rand(5, 5, dtype=torch.float64)
    mask = torch.ones(5, 5, dtype=torch.bool)
    cut, f1 = choose_cut(score, torch.zeros(5, 5), mask, below=True)
    assert f1 == 0.0 and not cut.predict(score).any()


def test_choose_probability_threshold_matches_a_loop():
    g = torch.Generator().manual_seed(3)
    probability = torch.rand(10, 10, generator=g, dtype=torch.float64)
    actual = (probability + 0.3 * torch.rand(10, 10, generator=g) > 0.8).double()
    mask = torch.ones(10, 10, dtype=torch.bool)
    cut, f1 = choose_probability_threshold(probability, actual, mask)
    loop = {
        t: f1_score(probability > t, actual, mask)
        for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    }
    assert f1 == pytest.approx(max(loop.values()))
    assert cut.threshold == min(t for t, v in loop.items() if v == max(loop.values()))


@pytest.mark.parametrize("distance", [cosine_distance_matrix, euclidean_distance_matrix])
def test_fit_asymmetric_is_eq7_with_the_best_alpha_on_training_pairs(distance):
    g = torch.Generator().manual_seed(0)
    features = torch.randn(15, 4, generator=g)
    actual = (torch.rand(15, 15, generator=g) < 0.2).double()
    train = torch.rand(15, 15, generator=g) < 0.6
    trivial = trivial_embedding(features)
    fit = fit_asymmetric(features, trivial, actual, train, distance)
    expected = asymmetric_distance_matrix(features, trivial.float(), fit.alpha, distance)
    torch.testing.assert_close(fit.score, expected, rtol=1e-5, atol=1e-6)
    per_alpha = [
        choose_cut(
            asymmetric_distance_matrix(features, trivial.float(), a, distance), actual, train, True
        )[1]
        for a in ALPHAS
    ]
    assert fit.train_f1 == pytest.approx(max(per_alpha), abs=1e-9)
    assert fit.alpha == ALPHAS[int(np.argmax(per_alpha))]


def test_asymmetric_term_gives_the_direction_a_symmetric_distance_cannot():
    """Each child lies beyond its parent, seen from the trivial embedding (the origin): the
    symmetric distance cannot tell "child in parent" from "parent in child"; Eq. 7 can."""
    angles = torch.tensor([0.0, 1.6, 3.2, 4.8])
    ray = torch.stack([angles.cos(), angles.sin()], 1)
    features = torch.cat([ray, 2 * ray])  # parents at radius 1, their children at radius 2
    actual = torch.zeros(8, 8, dtype=torch.float64)
    actual[torch.arange(4, 8), torch.arange(4)] = 1.0
    mask = ~torch.eye(8, dtype=torch.bool)
    origin = torch.zeros(2, dtype=torch.float64)
    fit = fit_asymmetric(features, origin, actual, mask, euclidean_distance_matrix)
    symmetric = fit_asymmetric(features, origin, actual, mask, euclidean_distance_matrix, (0.0,))
    assert fit.alpha > 0 and fit.train_f1 == 1.0
    assert symmetric.train_f1 == pytest.approx(2 / 3)


def test_kl_separates_nested_gaussians_in_the_right_direction():
    # children: narrow Gaussians inside a wide parent; KL(child || parent) is small
    mean = torch.tensor([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    variance = torch.tensor([[4.0, 4.0], [0.1, 0.1], [0.1, 0.1], [0.1, 0.1]])
    actual = torch.zeros(4, 4, dtype=torch.float64)
    actual[1:, 0] = 1.0
    mask = ~torch.eye(4, dtype=torch.bool)
    kl = gaussian_kl_matrix(mean, variance)
    _, f1 = choose_cut(kl, actual, mask, below=True)
    assert f1 == 1.0
    assert (kl[1:, 0] < kl[0, 1:]).all()


def test_trivial_embedding_and_random_relation():
    features = torch.arange(6.0).reshape(3, 2)
    torch.testing.assert_close(
        trivial_embedding(features), torch.tensor([2.0, 3.0], dtype=torch.float64)
    )
    a, b = random_relation(5, seed=1), random_relation(5, seed=1)
    assert torch.equal(a, b) and a.dtype == torch.float64
    assert a.min() >= 0 and a.max() < 1
    assert not torch.equal(a, random_relation(5, seed=2))


def test_additive_effects_recover_additive_data_and_give_novel_rows_the_mean():
    g = torch.Generator().manual_seed(0)
    row, column = (
        torch.randn(8, generator=g, dtype=torch.float64),
        torch.randn(8, generator=g, dtype=torch.float64),
    )
    values = row[:, None] + column[None, :]
    mask = (torch.rand(8, 8, generator=g) < 0.7) & ~torch.eye(8, dtype=torch.bool)
    mask[6, :] = False  # dataset 6 is never a target in training
    mask[:, 7] = False  # dataset 7 is never a source
    effects = fit_additive_effects(values, mask)
    predicted = effects.predict()
    seen = mask.any(1)[:, None] & mask.any(0)[None, :]
    torch.testing.assert_close(predicted[seen], values[seen])  # exact on every seen row/column
    torch.testing.assert_close(effects.row[6], effects.row[mask.any(1)].mean())
    torch.testing.assert_close(effects.column[7], effects.column[mask.any(0)].mean())


def test_additive_effects_match_numpy_least_squares_on_noisy_data():
    g = torch.Generator().manual_seed(1)
    values = torch.randn(7, 7, generator=g, dtype=torch.float64)
    mask = (torch.rand(7, 7, generator=g) < 0.8) & ~torch.eye(7, dtype=torch.bool)
    predicted = fit_additive_effects(values, mask).predict()
    rows, cols = np.nonzero(mask.numpy())
    design = np.zeros((len(rows), 15))
    design[np.arange(len(rows)), rows] = 1
    design[np.arange(len(rows)), 7 + cols] = 1
    design[:, 14] = 1  # an intercept: the fitted values are the same (gauge freedom)
    coef, *_ = np.linalg.lstsq(design, values.numpy()[rows, cols], rcond=None)
    reference = coef[:7, None] + coef[None, 7:14] + coef[14]
    np.testing.assert_allclose(predicted.numpy(), reference, atol=1e-8)
