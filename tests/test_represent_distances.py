"""Distances: each matrix against a loop over pairs; asymmetry where expected; attributes."""

from __future__ import annotations

import math

import pytest
import torch

from taskspace.data.taskonomy import task_attributes
from taskspace.represent import distances
from taskspace.represent.attributes import attribute_vectors
from taskspace.represent.distances import (
    asymmetric_distance_matrix,
    cosine_distance_matrix,
    cosine_similarity_matrix,
    euclidean_distance_matrix,
    gaussian_kl_matrix,
    task2vec_cosine_distance_matrix,
)


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def loop(fn, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.tensor([[fn(x, y) for y in b] for x in a], dtype=torch.float64)


def cosine(x: torch.Tensor, y: torch.Tensor) -> float:
    return float(x @ y / math.sqrt(float(x @ x) * float(y @ y)))


def kl(mx, vx, my, vy) -> float:
    return 0.5 * sum(
        float(vx[d] / vy[d] + (my[d] - mx[d]) ** 2 / vy[d] - 1 + math.log(vy[d] / vx[d]))
        for d in range(len(mx))
    )


@pytest.fixture(params=[None, 7], ids=["one-chunk", "many-chunks"])
def chunking(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test with the default chunk size and with chunks of about one row."""
    if request.param is not None:
        monkeypatch.setattr(distances, "_ELEMENTS_PER_CHUNK", request.param)


def test_cosine_and_euclidean_match_loops(chunking: None) -> None:
    a, b = rand(5, 4, seed=1) - 0.5, rand(3, 4, seed=2) - 0.5
    assert torch.allclose(cosine_similarity_matrix(a, b), loop(cosine, a, b))
    assert torch.allclose(cosine_distance_matrix(a, b), 1 - loop(cosine, a, b))
    assert torch.allclose(
        euclidean_distance_matrix(a, b), loop(lambda x, y: float((x - y).norm()), a, b)
    )
    square = euclidean_distance_matrix(a)
    assert square.shape == (5, 5) and torch.equal(square, square.T)
    assert (square.diagonal() == 0).all()
    assert cosine_distance_matrix(a.float()).dtype == torch.float64


def test_gaussian_kl_matches_loop_and_is_asymmetric(chunking: None) -> None:
    mean_a, var_a = rand(4, 3, seed=3), rand(4, 3, seed=4) + 0.1
    mean_b, var_b = rand(2, 3, seed=5), rand(2, 3, seed=6) + 0.1
    expected = torch.tensor(
        [[kl(mean_a[i], var_a[i], mean_b[j], var_b[j]) for j in range(2)] for i in range(4)],
        dtype=torch.float64,
    )
    assert torch.allclose(gaussian_kl_matrix(mean_a, var_a, mean_b, var_b), expected)
    square = gaussian_kl_matrix(mean_a, var_a)
    assert torch.allclose(square.diagonal(), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert (square >= -1e-12).all()
    assert not torch.allclose(square, square.T)
    # a zero variance is floored rather than giving inf
    flat = gaussian_kl_matrix(mean_a, torch.zeros_like(var_a), variance_floor=1e-6)
    assert torch.isfinite(flat).all()


def test_task2vec_cosine_matches_its_definition(chunking: None) -> None:
    a, b = rand(3, 6, seed=7), rand(4, 6, seed=8)

    def reference(x: torch.Tensor, y: torch.Tensor) -> float:
        return 1 - cosine(x / (x + y), y / (x + y))

    assert torch.allclose(task2vec_cosine_distance_matrix(a, b), loop(reference, a, b))
    square = task2vec_cosine_distance_matrix(a)
    assert torch.allclose(square, square.T) and torch.allclose(
        square.diagonal(), torch.zeros(3, dtype=torch.float64), atol=1e-12
    )
    # scaling one task's Fisher changes the distance (it is not a plain cosine)
    assert not torch.allclose(
        task2vec_cosine_distance_matrix(a[:1] * 10, b), task2vec_cosine_distance_matrix(a[:1], b)
    )
    with pytest.raises(ValueError, match="non-negative"):
        task2vec_cosine_distance_matrix(a - 1, b)


@pytest.mark.parametrize("base", [cosine_distance_matrix, euclidean_distance_matrix])
def test_asymmetric_distance_is_asymmetric(base) -> None:
    e = rand(4, 5, seed=9)
    trivial = torch.ones(5, dtype=torch.float64)
    asym = asymmetric_distance_matrix(e, trivial, alpha=0.5, distance=base)
    complexity = base(e, trivial.unsqueeze(0)).squeeze(1)
    assert torch.allclose(asym, base(e, e) - 0.5 * complexity.unsqueeze(1))
    assert not torch.allclose(asym, asym.T)
    symmetric = asymmetric_distance_matrix(e, trivial, alpha=0.0, distance=base)
    assert torch.allclose(symmetric, symmetric.T)
    with pytest.raises(ValueError, match=r"trivial must be \(5,\)"):
        asymmetric_distance_matrix(e, trivial[:3], alpha=0.5)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="same D"):
        cosine_distance_matrix(rand(2, 3), rand(2, 4))
    with pytest.raises(ValueError, match="NaN"):
        euclidean_distance_matrix(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="non-negative"):
        gaussian_kl_matrix(rand(2, 3), -rand(2, 3))
    with pytest.raises(ValueError, match="both mean_b and variance_b"):
        gaussian_kl_matrix(rand(2, 3), rand(2, 3), rand(2, 3))


def test_attribute_vectors_are_the_papers_table() -> None:
    tasks, questions, vectors = attribute_vectors()
    reference = task_attributes()
    assert vectors.shape == (25, 15) and len(tasks) == 25 and len(questions) == 15
    assert torch.equal(vectors, reference.matrix) and tasks == reference.tasks
    assert questions[5] == "generative"
    assert set(vectors.unique().tolist()) == {0.0, 1.0}
