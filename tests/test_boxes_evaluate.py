"""Splits and metrics: disjoint, NaN-aware, both directions for novel datasets; correct inverse."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr

from taskspace.boxes.evaluate import (
    choose_threshold,
    f1_score,
    predict_containment,
    spearman,
    spearman_per_row,
    spearman_scores,
    split_relations,
    tanh_inverse,
    tanh_rescale,
)


def relation_with_source_only_rows(n: int = 12, seed: int = 0) -> torch.Tensor:
    """``[target, source]`` affinities; rows 0 and 1 are source-only tasks (NaN), as in Taskonomy."""
    relation = torch.rand(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    relation.fill_diagonal_(float("nan"))
    relation[:2] = float("nan")
    return relation


def test_split_is_disjoint_known_and_follows_the_fractions():
    relation = relation_with_source_only_rows()
    split = split_relations(relation, novel=3, fractions=(0.8, 0.1, 0.1), seed=1)
    parts = [split.train, split.validation, split.test]
    assert sum(p.long() for p in parts).max() == 1  # disjoint
    known = torch.isfinite(relation)
    for part in [*parts, split.novel_pairs]:
        assert not (part & ~known).any()  # only known pairs, never NaN, never the diagonal
    existing = torch.zeros(12, dtype=torch.bool)
    existing[split.existing] = True
    among = known & existing[:, None] & existing[None, :]
    assert sum(int(p.sum()) for p in parts) == int(among.sum())
    assert int(split.train.sum()) == round(0.8 * int(among.sum()))
    assert set(split.existing.tolist()) | set(split.novel.tolist()) == set(range(12))
    assert len(split.novel) == 3


def test_novel_pairs_go_both_ways_with_the_same_nan_mask():
    relation = relation_with_source_only_rows()
    split = split_relations(relation, novel=[0, 5], seed=0)
    pairs = split.novel_pairs
    # novel 5 as target (row) and as source (column), against existing datasets only
    assert pairs[5, split.existing].sum() == torch.isfinite(relation[5, split.existing]).sum()
    assert pairs[split.existing, 5].sum() == torch.isfinite(relation[split.existing, 5]).sum()
    # novel 0 is source-only: its row is unknown, its column is scored
    assert not pairs[0].any() and pairs[2:, 0].any()
    assert not pairs[0, 5] and not pairs[5, 0]  # novel-novel pairs are not scored


def test_split_depends_on_the_seed_only():
    relation = relation_with_source_only_rows()
    a, b = split_relations(relation, 3, seed=4), split_relations(relation, 3, seed=4)
    c = split_relations(relation, 3, seed=5)
    assert torch.equal(a.train, b.train) and torch.equal(a.novel, b.novel)
    assert not torch.equal(a.train, c.train)


def test_block_selects_the_existing_datasets():
    relation = relation_with_source_only_rows()
    split = split_relations(relation, novel=[3, 7], seed=0)
    block = split.block(relation)
    assert block.shape == (10, 10)
    torch.testing.assert_close(block[4, 5], relation[split.existing[4], split.existing[5]])


def test_spearman_is_scipys_on_the_masked_pairs():
    relation = relation_with_source_only_rows()
    predicted = relation + 0.3 * torch.rand(12, 12, generator=torch.Generator().manual_seed(9))
    mask = torch.isfinite(relation)
    expected = spearmanr(predicted[mask].numpy(), relation[mask].numpy()).statistic
    assert spearman(predicted, relation, mask) == pytest.approx(expected)
    assert torch.isnan(torch.tensor(spearman(predicted, relation, mask & False)))


def test_within_row_spearman_ignores_which_row_a_pair_is_in():
    """Rows on different levels: pooled rho is high from the levels alone, within-row rho is not."""
    actual = torch.arange(4.0)[:, None] * 10 + torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    mask = torch.ones(4, 5, dtype=torch.bool)
    row_level_only = torch.arange(4.0)[:, None] * 10 - torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spearman(row_level_only, actual, mask) > 0.85
    per_row = spearman_per_row(row_level_only, actual, mask)
    torch.testing.assert_close(per_row, torch.full((4,), -1.0, dtype=torch.float64))
    few = mask.clone()
    few[0, 2:] = False
    assert torch.isnan(spearman_per_row(actual, actual, few)[0])


def test_spearman_scores_use_test_pairs_and_novel_rows():
    relation = relation_with_source_only_rows(n=20)
    split = split_relations(relation, novel=[0, 4, 9], fractions=(0.5, 0.1, 0.4), seed=2)
    scores = spearman_scores(relation, relation, split)
    assert scores.pooled_existing == pytest.approx(1.0)
    assert scores.pooled_novel == pytest.approx(1.0)
    assert scores.within_novel == pytest.approx(1.0)
    assert scores.rows_novel == 2  # novel 0 is source-only: no row to rank
    assert scores.rows_existing > 0


def test_tanh_inverse_inverts_and_the_authors_formula_does_not():
    x = torch.tensor([0.0, 0.001, 0.01, 0.02, float("nan")], dtype=torch.float64)
    y = tanh_rescale(x, k=50)
    torch.testing.assert_close(tanh_inverse(y, k=50), x, equal_nan=True)
    authors = torch.atanh(y / 50)
    assert not torch.allclose(authors[1:4], x[1:4])
    assert torch.isfinite(tanh_inverse(torch.tensor([1.0]), k=50)).all()
    with pytest.raises(ValueError, match="tanh values"):
        tanh_inverse(torch.tensor([1.5]))


def test_containment_prediction_threshold_and_f1():
    # 0 ⊂ 1 ⊂ 2; an overlap matrix that says so, with noise below 0.4
    overlap = torch.tensor([[1.0, 0.9, 0.8], [0.3, 1.0, 0.7], [0.1, 0.35, 1.0]])
    actual = torch.tensor([[0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    mask = ~torch.eye(3, dtype=torch.bool)
    predicted = predict_containment(overlap, threshold=0.5)
    assert torch.equal(predicted & mask, actual)
    assert f1_score(predicted, actual, mask) == 1.0
    threshold, f1 = choose_threshold(overlap, actual, mask)
    assert f1 == 1.0 and threshold == pytest.approx(0.1)
    assert f1_score(predict_containment(overlap, 0.85), actual, mask) == pytest.approx(0.5)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"\(N, N\)"):
        split_relations(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="fractions"):
        split_relations(torch.zeros(4, 4), fractions=(0.8, 0.3, 0.1))
    relation = relation_with_source_only_rows()
    with pytest.raises(ValueError, match="NaN"):
        spearman(relation, relation, torch.ones(12, 12, dtype=torch.bool))
