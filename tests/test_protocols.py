"""Scoring protocols of a containment F1 and the transitivity split, on hand-made relations.

Five datasets: a ⊂ b ⊂ c, d ⊂ c (existing, indices 0-3) and a novel e (index 4) with
a ⊂ e ⊂ c. Each protocol's answer is worked out by hand in the test that checks it.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from taskspace.boxes.evaluate import (
    PROTOCOLS,
    RelationSplit,
    f1_curve,
    f1_score,
    implied_by_transitivity,
    predict_containment,
    protocol_pairs,
    recall_of,
)
from taskspace.hierarchies import containment_scores

A, B, C, D, E = range(5)
INSIDE = [(A, B), (B, C), (A, C), (D, C), (E, C), (A, E)]


def pairs(*cells: tuple[int, int], n: int = 5) -> torch.Tensor:
    """``(n, n)`` bool with True at ``cells``."""
    mask = torch.zeros(n, n, dtype=torch.bool)
    for i, j in cells:
        mask[i, j] = True
    return mask


def relation() -> torch.Tensor:
    """``(5, 5)`` float64, 1 iff i ⊂ j, NaN diagonal."""
    truth = pairs(*INSIDE).double()
    truth.fill_diagonal_(float("nan"))
    return truth


def split() -> RelationSplit:
    """Train on a ⊂ b, b ⊂ c (and two negatives); test a ⊂ c (implied by a ⊂ b ⊂ c), d ⊂ c
    (nothing in training points to it) and the negative b ⊄ a; validate on c ⊄ d, d ⊄ a."""
    existing = [A, B, C, D]
    novel_pairs = pairs(*((E, j) for j in existing), *((i, E) for i in existing))
    return RelationSplit(
        existing=torch.tensor(existing),
        novel=torch.tensor([E]),
        train=pairs((A, B), (B, C), (C, A), (C, B)),
        validation=pairs((C, D), (D, A)),
        test=pairs((A, C), (D, C), (B, A)),
        novel_pairs=novel_pairs,
    )


def test_protocol_pairs_are_the_intended_cells() -> None:
    s = split()
    assert torch.equal(protocol_pairs(s, "held_out"), s.test)
    assert torch.equal(protocol_pairs(s, "authors_transposed"), pairs((C, A), (C, D), (A, B)))
    into = protocol_pairs(s, "novel_into_existing")
    assert torch.equal(into, pairs((E, A), (E, B), (E, C), (E, D)))
    assert torch.equal(protocol_pairs(s, "existing_into_novel"), into.T)
    assert torch.equal(protocol_pairs(s, "novel_both"), into | into.T)
    with pytest.raises(ValueError, match="unknown protocol"):
        protocol_pairs(s, "both")


def test_a_model_that_memorises_training_pairs_scores_1_only_under_the_transposed_reading() -> None:
    """Predict "inside" exactly on the training positives: no held-out positive is found
    (F1 0), but the transposed test cell (b, a) reads as the TRAINED pair a ⊂ b (F1 1)."""
    truth, s = relation(), split()
    memorised = (truth == 1) & s.train
    assert f1_score(memorised, truth, protocol_pairs(s, "held_out")) == 0.0
    assert f1_score(memorised, truth, protocol_pairs(s, "authors_transposed")) == 1.0


def test_novel_protocols_separate_the_two_directions() -> None:
    """Truth plus one false positive c ⊂ e (an existing box swallowed by the novel one):
    novel inside existing 1 (e ⊂ c found), existing inside novel TP 1 FP 1 -> 2/3,
    both directions TP 2 FP 1 -> 4/5."""
    truth, s = relation(), split()
    predicted = (truth == 1) | pairs((C, E))
    expected = {"novel_into_existing": 1.0, "existing_into_novel": 2 / 3, "novel_both": 0.8}
    for protocol, f1 in expected.items():
        assert f1_score(predicted, truth, protocol_pairs(s, protocol)) == pytest.approx(f1)


def transitive_reference(positives: torch.Tensor) -> torch.Tensor:
    """Chains of >= 2 steps with loops: Warshall's reachability, then one more step."""
    n = positives.shape[0]
    reach = positives.tolist()
    for m, i, j in itertools.product(range(n), repeat=3):  # m outermost: Warshall's order
        reach[i][j] = reach[i][j] or (reach[i][m] and reach[m][j])
    implied = [
        [any(reach[i][m] and positives[m, k] for m in range(n)) for k in range(n)] for i in range(n)
    ]
    return torch.tensor(implied, dtype=torch.bool)


def test_implied_by_transitivity_on_a_chain_and_against_path_enumeration() -> None:
    chain = pairs((0, 1), (1, 2), (2, 3), n=4)
    implied = implied_by_transitivity(chain)
    assert torch.equal(implied, pairs((0, 2), (1, 3), (0, 3), n=4))  # direct pairs are not implied
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        dag = torch.rand(9, 9, generator=generator).triu(1) > 0.75
        assert torch.equal(implied_by_transitivity(dag), transitive_reference(dag))
    with pytest.raises(ValueError, match=r"\(N, N\)"):
        implied_by_transitivity(torch.zeros(3, 4, dtype=torch.bool))


def test_recall_splits_held_out_positives_by_transitivity() -> None:
    """Boxes that nest the trained chain recover a ⊂ c (implied) but not d ⊂ c."""
    truth, s = relation(), split()
    overlap = torch.full((5, 5), 0.05, dtype=torch.float64)
    for i, j in [(A, B), (B, C), (A, C)]:  # a, b, c nested; d and e nowhere
        overlap[i, j] = 0.95
    scores = containment_scores(overlap[None], truth, [s], choose_on="train")
    assert scores.recall_transitive.tolist() == [1.0]
    assert scores.recall_non_transitive.tolist() == [0.0]
    assert scores.count_transitive.tolist() == [1]
    assert scores.count_non_transitive.tolist() == [1]
    assert scores.f1["held_out"].item() == pytest.approx(2 / 3)  # TP a⊂c, FN d⊂c
    assert scores.f1["novel_into_existing"].item() == 0.0
    assert set(scores.f1) == set(PROTOCOLS)
    assert scores.predicted.shape == (1, 5, 5)
    implied = implied_by_transitivity((truth == 1) & s.train)
    assert recall_of(scores.predicted[0], truth == 1, s.test & implied) == (1.0, 1)
    nothing = recall_of(scores.predicted[0], truth == 1, pairs((B, A)))
    assert nothing[1] == 0 and nothing[0] != nothing[0]  # NaN without positives


def test_f1_curve_matches_f1_at_each_threshold() -> None:
    truth, s = relation(), split()
    generator = torch.Generator().manual_seed(1)
    overlap = (0.6 * truth.nan_to_num(0.0) + 0.4 * torch.rand(5, 5, generator=generator)).double()
    curve = f1_curve(overlap, truth, s.test | s.train, thresholds=(0.2, 0.5, 0.8))
    for value, t in zip(curve.tolist(), (0.2, 0.5, 0.8), strict=True):
        assert value == f1_score(predict_containment(overlap, t), truth, s.test | s.train)
