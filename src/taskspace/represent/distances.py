"""Distances between task representations, as matrices (used by the baselines and the plots).

All functions take row-stacked representations ``a`` ``(M, D)`` and ``b`` ``(N, D)`` (``b``
defaults to ``a``) and return the ``(M, N)`` matrix of ``dist(a_i, b_j)`` on the inputs' device,
computed in float64 in row chunks so memory stays bounded.

* :func:`cosine_distance_matrix`, :func:`euclidean_distance_matrix` -- symmetric.
* :func:`task2vec_cosine_distance_matrix` -- Task2Vec's cosine between Fisher embeddings, each
  normalised by their sum (``F_a / (F_a + F_b)``), symmetric.
* :func:`gaussian_kl_matrix` -- ``KL(N(mu_i, diag s_i) || N(mu_j, diag s_j))``, asymmetric
  (the KL baseline of Task2Box §4.2).
* :func:`asymmetric_distance_matrix` -- Task2Box Eq. 7 / Task2Vec's asymmetric distance
  ``d(e_i, e_j) - alpha * d(e_i, e_0)`` with ``e_0`` a trivial task's embedding: asymmetric
  because the correction depends on ``i`` only.

Introduced in chapter 2; the baselines use them in chapter 6.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "asymmetric_distance_matrix",
    "cosine_distance_matrix",
    "cosine_similarity_matrix",
    "euclidean_distance_matrix",
    "gaussian_kl_matrix",
    "nearest_neighbour_accuracy",
    "nearest_others",
    "task2vec_cosine_distance_matrix",
]

DistanceMatrix = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Elements of one ``(chunk, N, D)`` intermediate; rows are processed in chunks below this.
_ELEMENTS_PER_CHUNK = 1 << 22


def _check_pair(a: torch.Tensor, b: torch.Tensor | None, what: str = "a") -> torch.Tensor:
    """``b`` (or ``a`` when ``b`` is None) after checking both are finite ``(., D)`` matrices."""
    b = a if b is None else b
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{what} and its partner must be (M, D) and (N, D) with the same D, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    for name, x in ((what, a), ("the second argument", b)):
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    return b


def _rowwise(
    reduce: Callable[..., torch.Tensor],
    rows: tuple[torch.Tensor, ...],
    cols: tuple[torch.Tensor, ...],
) -> torch.Tensor:
    """``(M, N)`` float64: ``reduce(*row_chunks[:, None, :], *cols[None, :, :])``, which must
    reduce the last dimension, applied to chunks of rows so that intermediates stay small."""
    m, n, d = rows[0].shape[0], cols[0].shape[0], rows[0].shape[1]
    chunk = max(1, _ELEMENTS_PER_CHUNK // max(1, n * d))
    c = [x[None, :, :].double() for x in cols]
    parts = [
        reduce(*[x[start : start + chunk, None, :].double() for x in rows], *c)
        for start in range(0, m, chunk)
    ]
    return torch.cat(parts) if parts else rows[0].new_zeros(0, n, dtype=torch.float64)


def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """``(M, N)`` float64 cosine similarity ``a_i . b_j / (|a_i| |b_j|)`` in ``[-1, 1]``."""
    b = _check_pair(a, b)
    return (F.normalize(a.double(), dim=1) @ F.normalize(b.double(), dim=1).T).clamp(-1, 1)


def cosine_distance_matrix(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """``(M, N)`` float64 cosine distance ``1 - cos(a_i, b_j)`` in ``[0, 2]``."""
    return 1 - cosine_similarity_matrix(a, b)


def euclidean_distance_matrix(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """``(M, N)`` float64 ``|a_i - b_j|``, from the differences (exact, not the Gram trick)."""
    b = _check_pair(a, b)
    return _rowwise(lambda x, y: (x - y).pow(2).sum(-1), (a,), (b,)).sqrt()


def task2vec_cosine_distance_matrix(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """``(M, N)`` Task2Vec's distance ``cos_dist(F_a / (F_a + F_b), F_b / (F_a + F_b))``.

    ``a`` and ``b`` are non-negative Fisher embeddings; dividing by their elementwise sum keeps
    parameters with large Fisher everywhere from dominating (Achille et al. 2019, §3).
    """
    b = _check_pair(a, b)
    if (a < 0).any() or (b < 0).any():
        raise ValueError("Fisher embeddings are non-negative; found negative entries")

    def scaled_cosine_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = x + y + 1e-12
        u, v = x / total, y / total
        norms = u.pow(2).sum(-1).sqrt() * v.pow(2).sum(-1).sqrt()
        return 1 - (u * v).sum(-1) / norms.clamp_min(1e-300)

    return _rowwise(scaled_cosine_distance, (a,), (b,))


def gaussian_kl_matrix(
    mean_a: torch.Tensor,
    variance_a: torch.Tensor,
    mean_b: torch.Tensor | None = None,
    variance_b: torch.Tensor | None = None,
    variance_floor: float = 1e-8,
) -> torch.Tensor:
    """``(M, N)`` float64 ``KL(N(mean_a[i], diag variance_a[i]) || N(mean_b[j], diag variance_b[j]))``.

    ``0.5 * sum_d [s_a / s_b + (m_b - m_a)^2 / s_b - 1 + log s_b - log s_a]``. Variances below
    ``variance_floor`` are raised to it: a dimension that does not vary inside a dataset (the text
    half of a one-class dataset) would otherwise make every KL infinite. Not symmetric.
    """
    if (mean_b is None) != (variance_b is None):
        raise ValueError("give both mean_b and variance_b, or neither")
    mean_b = _check_pair(mean_a, mean_b, "mean_a")
    variance_b = _check_pair(variance_a, variance_b, "variance_a")
    if mean_a.shape != variance_a.shape or mean_b.shape != variance_b.shape:
        raise ValueError("each mean must have the shape of its variance")
    if (variance_a < 0).any() or (variance_b < 0).any():
        raise ValueError("variances must be non-negative")

    def kl_terms(ma, va, mb, vb):
        va, vb = va.clamp_min(variance_floor), vb.clamp_min(variance_floor)
        return 0.5 * (va / vb + (mb - ma).pow(2) / vb - 1 + vb.log() - va.log()).sum(-1)

    return _rowwise(kl_terms, (mean_a, variance_a), (mean_b, variance_b))


def asymmetric_distance_matrix(
    embeddings: torch.Tensor,
    trivial: torch.Tensor,
    alpha: float,
    distance: DistanceMatrix = cosine_distance_matrix,
) -> torch.Tensor:
    """``(N, N)`` float64 ``d(e_i, e_j) - alpha * d(e_i, e_0)`` (Task2Box Eq. 7).

    Args:
        embeddings: ``(N, D)``, one row per dataset.
        trivial: ``(D,)`` the embedding ``e_0`` of a trivial task (for Fisher embeddings,
            :func:`taskspace.represent.task2vec.trivial_embedding`).
        alpha: weight of the "complexity" term ``d(e_i, e_0)``; 0 gives the symmetric distance.
        distance: a matrix distance such as :func:`cosine_distance_matrix` or
            :func:`euclidean_distance_matrix`.
    """
    if trivial.shape != embeddings.shape[1:]:
        raise ValueError(f"trivial must be ({embeddings.shape[1]},), got {tuple(trivial.shape)}")
    complexity = distance(embeddings, trivial.unsqueeze(0).to(embeddings.device))  # (N, 1)
    return distance(embeddings, embeddings) - alpha * complexity


def nearest_others(vectors: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, k)`` cosine similarities and indices of each row's ``k`` nearest *other* rows of
    ``vectors`` ``(N, D)``, most similar first (chapter 2)."""
    if not 1 <= k < len(vectors):
        raise ValueError(f"k must be between 1 and N - 1 = {len(vectors) - 1}, got {k}")
    similarity = cosine_similarity_matrix(vectors)
    similarity.fill_diagonal_(-2.0)
    return similarity.topk(k, dim=1)


def nearest_neighbour_accuracy(vectors: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Leave-one-out 1-nearest-neighbour accuracy (a float64 scalar): the share of the rows of
    ``vectors`` ``(N, D)`` whose most cosine-similar other row has the same label ``(N,)``
    (chapter 2)."""
    if labels.shape != (len(vectors),):
        raise ValueError(f"labels must be ({len(vectors)},), got {tuple(labels.shape)}")
    return (labels[nearest_others(vectors, 1)[1][:, 0]] == labels).double().mean()
