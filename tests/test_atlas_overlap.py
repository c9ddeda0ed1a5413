"""Soft-overlap kernels against brute force: nearest neighbours, mean pairwise distance, matrices."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from taskspace.atlas.overlap import (
    mean_pairwise_distance,
    nearest_neighbour_distance,
    soft_overlap,
    soft_overlap_matrix,
    soft_overlap_reference,
    soft_overlap_sets,
    soft_overlaps_with,
    squared_norms,
)


def clouds(sizes, dim=6, seed=0, dtype=torch.float64) -> list[torch.Tensor]:
    """Gaussian clouds of different spreads and centres (some overlapping, some apart)."""
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(n, dim, generator=generator) * (0.5 + i % 3) + (i % 4)).to(dtype)
        for i, n in enumerate(sizes)
    ]


def brute_nearest(queries: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    return torch.tensor(
        [min(float((q - r).norm()) for r in references.double()) for q in queries.double()],
        dtype=torch.float64,
    )


def brute_mean_pairwise(points: torch.Tensor) -> float:
    pairs = list(itertools.combinations(points.double(), 2))
    return sum(float((a - b).norm()) for a, b in pairs) / len(pairs)


@pytest.mark.parametrize("block_elements", [1, 7, 64, 1 << 22])
def test_nearest_neighbour_matches_a_loop(block_elements: int) -> None:
    queries, references = clouds([13, 29])
    got = nearest_neighbour_distance(queries, references, block_elements=block_elements)
    assert got.shape == (13,) and got.dtype == torch.float64
    assert torch.allclose(got, brute_nearest(queries, references), atol=1e-10)


@pytest.mark.parametrize("block_elements", [1, 5, 100, 1 << 22])
def test_mean_pairwise_distance_matches_a_loop(block_elements: int) -> None:
    (points,) = clouds([23])
    got = mean_pairwise_distance(points, block_elements=block_elements)
    assert got.shape == () and float(got) == pytest.approx(brute_mean_pairwise(points), rel=1e-12)


def test_precomputed_norms_give_the_same_result() -> None:
    queries, references = clouds([9, 11])
    plain = nearest_neighbour_distance(queries, references)
    given_norms = nearest_neighbour_distance(
        queries, references, squared_norms(queries), squared_norms(references)
    )
    assert torch.equal(plain, given_norms)
    assert torch.equal(
        mean_pairwise_distance(references),
        mean_pairwise_distance(references, squared_norms(references)),
    )


def test_duplicates_are_at_distance_zero_and_a_subset_lies_inside() -> None:
    (near,) = clouds([40], dtype=torch.float32)
    points = torch.cat([near, near + 100])  # a superset: the cloud and a far copy of it
    subset = near[::3]
    assert nearest_neighbour_distance(subset, points).max() < 1e-3
    assert float(soft_overlap(subset, points)) == 1.0
    assert float(soft_overlap(points, subset)) == 0.5  # the near half only


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 12), min_size=1, max_size=5),
    dim=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    block_elements=st.sampled_from([1, 3, 17, 1 << 22]),
)
def test_soft_overlap_sets_equal_brute_force(sizes, dim, seed, block_elements) -> None:
    sets = clouds(sizes, dim=dim, seed=seed)
    overlap, thresholds = soft_overlap_sets(sets, block_elements=block_elements)
    expected, expected_thresholds = soft_overlap_reference(sets)
    assert torch.allclose(thresholds, expected_thresholds, rtol=1e-12)
    assert torch.allclose(overlap, expected, atol=1e-12)
    assert (overlap.diagonal() == 1).all()


def test_pooled_datasets_with_shared_rows_equal_brute_force() -> None:
    (points,) = clouds([60], dim=4, seed=3)
    generator = torch.Generator().manual_seed(1)
    members = [
        torch.sort(torch.randperm(60, generator=generator)[:n]).values for n in (5, 20, 60, 9)
    ]
    members.append(torch.cat([members[0], torch.arange(50, 60)]).unique())  # shares rows
    overlap, thresholds = soft_overlap_matrix(points, members, block_elements=31)
    expected, expected_thresholds = soft_overlap_reference([points[m] for m in members])
    assert torch.allclose(overlap, expected, atol=1e-12)
    assert torch.allclose(thresholds, expected_thresholds, rtol=1e-12)
    assert overlap[0, 2] == 1 and overlap[0, 4] == 1  # subsets lie inside


def test_float32_matches_float64_brute_force() -> None:
    sets = clouds([30, 50, 20, 45], dim=16, seed=5, dtype=torch.float32)
    overlap, _ = soft_overlap_sets(sets, block_elements=100)
    expected, _ = soft_overlap_reference(sets)
    assert overlap.dtype == torch.float32
    assert (overlap.double() - expected).abs().max() < 1e-6


def test_overlaps_with_a_new_set_equal_the_matrix() -> None:
    (points,) = clouds([50], dim=3, seed=7)
    members = [torch.arange(0, 20), torch.arange(10, 45), torch.arange(0, 50)]
    new = clouds([12], dim=3, seed=8)[0]
    _, thresholds = soft_overlap_matrix(points, members)
    inside, contains = soft_overlaps_with(new, points, members, thresholds)
    expected, _ = soft_overlap_reference([*(points[m] for m in members), new])
    assert torch.allclose(inside, expected[3, :3]) and torch.allclose(contains, expected[:3, 3])


def test_bad_inputs_are_refused() -> None:
    (points,) = clouds([10])
    with pytest.raises(ValueError, match="at least 2 points"):
        mean_pairwise_distance(points[:1])
    with pytest.raises(ValueError, match="at least one reference"):
        nearest_neighbour_distance(points, points[:0])
    with pytest.raises(ValueError, match="same D and dtype"):
        nearest_neighbour_distance(points, points[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        nearest_neighbour_distance(points, torch.full((2, 6), torch.nan, dtype=torch.float64))
    with pytest.raises(ValueError, match="repeats a point"):
        soft_overlap_matrix(points, [torch.tensor([1, 1, 2])])
    with pytest.raises(ValueError, match="outside the pool"):
        soft_overlap_matrix(points, [torch.tensor([1, 10])])
    with pytest.raises(ValueError, match="at least 2"):
        soft_overlap_matrix(points, [torch.tensor([3])])
    with pytest.raises(ValueError, match="query_norms"):
        nearest_neighbour_distance(points, points, query_norms=torch.zeros(3, dtype=torch.float64))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_kernels_stay_on_the_gpu() -> None:
    sets = [s.cuda() for s in clouds([40, 70, 25], dim=8, dtype=torch.float32)]
    overlap, thresholds = soft_overlap_sets(sets, block_elements=256)
    expected, _expected_thresholds = soft_overlap_reference(sets)
    assert overlap.device.type == "cuda" and thresholds.device.type == "cuda"
    assert (overlap.cpu().double() - expected).abs().max() < 1e-6
