"""Chapter 3's sliding squares: the overlap and its pull, against the closed form."""

from __future__ import annotations

import math

import pytest
import torch

from taskspace.boxes.sliding import sliding_square


def test_hard_squares_overlap_linearly_and_stop_pulling_once_apart() -> None:
    gaps = torch.tensor([-0.75, -0.25, 0.25, 0.5], dtype=torch.float64)
    overlap, pull = sliding_square(gaps, 0.0, 0.0)
    # overlapping by -gap: a fraction -gap of the sliding square lies in the fixed one
    assert torch.allclose(overlap, torch.tensor([0.75, 0.25, 0.0, 0.0], dtype=torch.float64))
    assert torch.allclose(pull[:2], torch.ones(2, dtype=torch.float64))  # moving closer adds area
    assert torch.equal(pull[2:], torch.zeros(2, dtype=torch.float64))
    assert not pull.signbit().any()  # no -0.0


def test_soft_pull_decays_like_exp_minus_gap_over_t_vol() -> None:
    gaps = torch.tensor([0.3, 0.5], dtype=torch.float64)
    for t_vol in (0.1, 0.05):
        overlap, pull = sliding_square(gaps, t_vol, 1e-4)
        assert (overlap > 0).all() and (pull > 0).all()
        assert pull[1] / pull[0] == pytest.approx(math.exp(-0.2 / t_vol), rel=0.05)


def test_sliding_square_refuses_bad_gaps() -> None:
    with pytest.raises(ValueError, match="floating-point"):
        sliding_square(torch.tensor([1, 2]), 0.1, 1e-4)
    with pytest.raises(ValueError, match=r"\(G,\)"):
        sliding_square(torch.zeros(2, 2), 0.1, 1e-4)
