"""Soft overlap between sets of embeddings (Task2Box supplement §9.3, Eq. 9–12; chapter 7).

For two datasets with embedding sets ``E_i`` ``(N, D)`` and ``E_j`` ``(M, D)``:

    d_ij^(k) = min_l || e_i^(k) - e_j^(l) ||                     nearest neighbour in E_j (Eq. 11)
    t_j      = 2 / (M (M - 1)) sum_{u < v} || e_j^(u) - e_j^(v) ||   mean pairwise distance (Eq. 12)
    so(D_i, D_j) = (1 / N) sum_k [ d_ij^(k) < t_j ]                  (Eq. 9–10)

the share of ``D_i``'s embeddings that have a neighbour in ``D_j`` closer than ``D_j``'s typical
spread. It is asymmetric: a subset lies wholly inside its superset (each of its points is its
own neighbour at distance 0), while only part of the superset is near the subset.

Both quantities need all ``N x M`` (or ``M x M``) distances, too many to hold at once for the
paper's sizes (10,000 embeddings per dataset). The kernels here are exact and memory-bounded:
the distances are computed block by block, each block with ONE ``torch.addmm``,

    ||q||^2 + ||r||^2 - 2 q.r  =  ||q||^2 + addmm(||r||^2, Q, R^T, alpha=-2),

and reduced at once (a running minimum, or a running sum of square roots); the squared norms
are computed once per point and passed in. No block holds more than ``block_elements`` distances
(default 2^22: 16 MiB in float32). Everything runs on the inputs' device, in their dtype.

:func:`soft_overlap_matrix` computes the whole ``(m, m)`` matrix of ``m`` datasets that are index
subsets of one pool of embeddings (a dataset's points may belong to several datasets): each
pool point's nearest-neighbour distance to ``D_j`` is computed once and shared by every dataset
that contains the point, so the cost is ``P x sum_j |D_j|`` distances rather than
``(sum_i |D_i|) x (sum_j |D_j|)``. :func:`soft_overlap_sets` takes separate sets instead.
:func:`soft_overlap_reference` is the slow, obvious float64 version the kernels are tested against.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "BLOCK_ELEMENTS",
    "mean_pairwise_distance",
    "nearest_neighbour_distance",
    "soft_overlap",
    "soft_overlap_matrix",
    "soft_overlap_reference",
    "soft_overlap_sets",
    "soft_overlaps_with",
    "squared_norms",
]

#: Largest number of distances held in one block (2^22: 16 MiB in float32).
BLOCK_ELEMENTS = 1 << 22
#: Rows of queries per block (the columns follow from ``block_elements``).
_ROWS_PER_BLOCK = 1024


def _check_points(points: torch.Tensor, what: str) -> None:
    if points.ndim != 2 or not points.is_floating_point():
        raise ValueError(
            f"{what} must be a floating (N, D) matrix, got {points.dtype} {tuple(points.shape)}"
        )
    if not torch.isfinite(points).all():
        raise ValueError(f"{what} contains NaN or infinite values")


def _check_norms(norms: torch.Tensor | None, points: torch.Tensor, what: str) -> torch.Tensor:
    if norms is None:
        return squared_norms(points)
    if norms.shape != points.shape[:1] or norms.device != points.device:
        raise ValueError(
            f"{what} must be ({points.shape[0]},) on {points.device}, "
            f"got {tuple(norms.shape)} on {norms.device}"
        )
    return norms.to(points.dtype)


def _block_sizes(rows: int, columns: int, block_elements: int) -> tuple[int, int]:
    if block_elements < 1:
        raise ValueError(f"block_elements must be >= 1, got {block_elements}")
    row_block = max(1, min(rows, _ROWS_PER_BLOCK, block_elements))
    column_block = max(1, min(columns, block_elements // row_block))
    return row_block, column_block


def squared_norms(points: torch.Tensor) -> torch.Tensor:
    """``(N,)`` squared Euclidean norms of the rows of ``points`` ``(N, D)`` (same dtype, device).

    Compute them once per pool of points and pass them to the kernels below (chapter 7)."""
    _check_points(points, "points")
    return points.pow(2).sum(1)


def nearest_neighbour_distance(
    queries: torch.Tensor,
    references: torch.Tensor,
    query_norms: torch.Tensor | None = None,
    reference_norms: torch.Tensor | None = None,
    block_elements: int = BLOCK_ELEMENTS,
    leave_one_out: bool = False,
) -> torch.Tensor:
    """``(N,)`` Euclidean distance from each query to its nearest reference (Eq. 11; chapter 7).

    Exact (no approximate search): every distance is computed, block by block, with one
    ``addmm`` per block and a running minimum, so at most ``block_elements`` distances exist at
    a time. Distances of duplicates come out as 0 up to rounding (the squared distance is
    clamped at 0 before the square root).

    Args:
        queries: ``(N, D)``.
        references: ``(M, D)``, ``M >= 1``, same dtype and device.
        query_norms, reference_norms: their :func:`squared_norms`, when already computed.
        block_elements: memory bound, in distances per block.
        leave_one_out: the queries are the references (``N = M >= 2``, row ``i`` the same
            point): each point's distance to its nearest *other* point (how far apart the
            points of a set lie; placing a dataset, chapter 7).
    """
    _check_points(queries, "queries")
    _check_points(references, "references")
    if queries.shape[1] != references.shape[1] or queries.dtype != references.dtype:
        raise ValueError(
            f"queries {queries.dtype} {tuple(queries.shape)} and references "
            f"{references.dtype} {tuple(references.shape)} need the same D and dtype"
        )
    if references.shape[0] == 0:
        raise ValueError("nearest_neighbour_distance needs at least one reference")
    if leave_one_out and (queries.shape != references.shape or references.shape[0] < 2):
        raise ValueError(
            "leave_one_out needs the same (N >= 2, D) points as queries and references, got "
            f"{tuple(queries.shape)} and {tuple(references.shape)}"
        )
    query_norms = _check_norms(query_norms, queries, "query_norms")
    reference_norms = _check_norms(reference_norms, references, "reference_norms")
    n, m = queries.shape[0], references.shape[0]
    row_block, column_block = _block_sizes(n, m, block_elements)
    nearest = torch.empty(n, dtype=queries.dtype, device=queries.device)
    for start in range(0, n, row_block):
        rows = slice(start, start + row_block)
        block_queries = queries[rows]
        best = None
        for column in range(0, m, column_block):
            columns = slice(column, column + column_block)
            # ||r||^2 - 2 q.r for the whole block in one call; ||q||^2 is added after the min
            partial = torch.addmm(
                reference_norms[columns].unsqueeze(0),
                block_queries,
                references[columns].T,
                alpha=-2.0,
            )
            if leave_one_out:  # a point's distance to itself does not count
                own = torch.arange(start, start + len(block_queries), device=partial.device)
                own = own[(own >= column) & (own < column + partial.shape[1])]
                partial[own - start, own - column] = torch.inf
            partial = partial.amin(1)
            best = partial if best is None else torch.minimum(best, partial)
        nearest[rows] = best
    return (nearest + query_norms).clamp_min_(0).sqrt_()


def mean_pairwise_distance(
    points: torch.Tensor,
    norms: torch.Tensor | None = None,
    block_elements: int = BLOCK_ELEMENTS,
) -> torch.Tensor:
    """0-d tensor: the mean Euclidean distance over all pairs ``u < v`` of ``points`` (Eq. 12).

    The threshold ``t_j`` of the soft overlap (chapter 7). Computed in blocks of the upper
    triangle (one ``addmm`` per block, the diagonal excluded exactly), summed in float64 and
    returned in the points' dtype.

    Args:
        points: ``(M, D)``, ``M >= 2``.
        norms: their :func:`squared_norms`, when already computed.
        block_elements: memory bound, in distances per block.
    """
    _check_points(points, "points")
    m = points.shape[0]
    if m < 2:
        raise ValueError(f"a mean pairwise distance needs at least 2 points, got {m}")
    norms = _check_norms(norms, points, "norms")
    block, _ = _block_sizes(m, m, block_elements)
    block = max(1, min(block, int(block_elements**0.5)))
    total = torch.zeros((), dtype=torch.float64, device=points.device)
    for start in range(0, m, block):
        rows = slice(start, start + block)
        for column in range(start, m, block):
            columns = slice(column, column + block)
            squared = torch.addmm(
                norms[columns].unsqueeze(0), points[rows], points[columns].T, alpha=-2.0
            ).add_(norms[rows].unsqueeze(1))
            distances = squared.clamp_min_(0).sqrt_()
            if column == start:  # a diagonal block: only u < v
                distances = distances.triu(diagonal=1)
            total += distances.sum(dtype=torch.float64)
    return (2 * total / (m * (m - 1))).to(points.dtype)


def soft_overlap(
    a: torch.Tensor, b: torch.Tensor, block_elements: int = BLOCK_ELEMENTS
) -> torch.Tensor:
    """0-d tensor ``so(A, B)`` in ``[0, 1]``: the share of rows of ``a`` ``(N, D)`` whose nearest
    row of ``b`` ``(M, D)`` (``M >= 2``) is closer than ``b``'s mean pairwise distance (Eq. 9;
    chapter 7)."""
    threshold = mean_pairwise_distance(b, block_elements=block_elements)
    nearest = nearest_neighbour_distance(a, b, block_elements=block_elements)
    return (nearest < threshold).to(a.dtype).mean()


def _check_members(members: Sequence[torch.Tensor], pool_size: int) -> list[torch.Tensor]:
    if len(members) == 0:
        raise ValueError("soft_overlap_matrix needs at least one dataset")
    checked = []
    for i, index in enumerate(members):
        index = torch.as_tensor(index)
        if index.ndim != 1 or index.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"members[{i}] must be a 1-D integer index tensor")
        if index.numel() < 2:
            raise ValueError(
                f"members[{i}] has {index.numel()} point(s); a dataset needs at least 2 "
                "(its threshold is a mean over pairs)"
            )
        if index.min() < 0 or index.max() >= pool_size:
            raise ValueError(f"members[{i}] indexes outside the pool of {pool_size} points")
        if torch.unique(index).numel() != index.numel():
            raise ValueError(f"members[{i}] repeats a point")
        checked.append(index.long())
    return checked


def soft_overlap_matrix(
    points: torch.Tensor,
    members: Sequence[torch.Tensor],
    norms: torch.Tensor | None = None,
    block_elements: int = BLOCK_ELEMENTS,
    thresholds: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(m, m)`` soft overlaps of ``m`` datasets drawn from one pool of embeddings (ch. 7).

    Args:
        points: ``(P, D)`` the pool: every embedding of every dataset, once.
        members: ``m`` index tensors into the pool, ``members[i]`` the rows of dataset ``i``
            (at least 2, no repeats; datasets may share rows).
        norms: ``(P,)`` :func:`squared_norms` of the pool, when already computed (they are
            computed once either way, never per dataset or per pair).
        block_elements: memory bound of the distance blocks.
        thresholds: ``(m,)`` the datasets' ``t_j``, when already computed.

    Returns:
        ``(overlap, thresholds)``: ``overlap[i, j] = so(D_i, D_j)`` (diagonal 1) and ``(m,)``
        ``t_j``, both in the pool's dtype on its device.
    """
    _check_points(points, "points")
    members = [index.to(points.device) for index in _check_members(members, points.shape[0])]
    norms = _check_norms(norms, points, "norms")
    m = len(members)
    if thresholds is None:
        thresholds = torch.stack(
            [
                mean_pairwise_distance(points[index], norms[index], block_elements)
                for index in members
            ]
        )
    elif thresholds.shape != (m,):
        raise ValueError(f"thresholds must be ({m},), got {tuple(thresholds.shape)}")
    used = torch.unique(torch.cat(members))  # pool rows that belong to some dataset
    position = torch.full((points.shape[0],), -1, dtype=torch.long, device=points.device)
    position[used] = torch.arange(used.numel(), device=points.device)
    owner = torch.cat([torch.full_like(index, i) for i, index in enumerate(members)])
    rows = position[torch.cat(members)]  # each membership's row among the used points
    sizes = torch.tensor([len(index) for index in members], device=points.device)
    if used.numel() == points.shape[0]:  # every pool point is used: no copy needed
        queries, query_norms = points, norms
    else:
        queries, query_norms = points[used], norms[used]
    overlap = points.new_zeros(m, m)
    for j, index in enumerate(members):
        nearest = nearest_neighbour_distance(
            queries, points[index], query_norms, norms[index], block_elements
        )
        close = (nearest < thresholds[j]).to(points.dtype)  # (U,): is the point near D_j?
        overlap[:, j] = points.new_zeros(m).index_add_(0, owner, close[rows]) / sizes
    return overlap, thresholds


def soft_overlaps_with(
    new: torch.Tensor,
    points: torch.Tensor,
    members: Sequence[torch.Tensor],
    thresholds: torch.Tensor,
    norms: torch.Tensor | None = None,
    block_elements: int = BLOCK_ELEMENTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft overlaps of a new set with ``m`` pooled datasets, both ways (placing a dataset, ch. 7).

    Args:
        new: ``(n, D)`` embeddings of the new dataset, ``n >= 2``.
        points, members, norms: the pool and its datasets, as for :func:`soft_overlap_matrix`.
        thresholds: ``(m,)`` their ``t_j`` (from :func:`soft_overlap_matrix`).

    Returns:
        ``(so(new, D_j), so(D_j, new))``, each ``(m,)``, in the pool's dtype on its device.
    """
    _check_points(points, "points")
    _check_points(new, "new")
    members = [index.to(points.device) for index in _check_members(members, points.shape[0])]
    norms = _check_norms(norms, points, "norms")
    if thresholds.shape != (len(members),):
        raise ValueError(f"thresholds must be ({len(members)},), got {tuple(thresholds.shape)}")
    new = new.to(device=points.device, dtype=points.dtype)
    new_norms = squared_norms(new)
    new_threshold = mean_pairwise_distance(new, new_norms, block_elements)
    inside = torch.stack(
        [
            (
                nearest_neighbour_distance(
                    new, points[index], new_norms, norms[index], block_elements
                )
                < thresholds[j]
            )
            .to(points.dtype)
            .mean()
            for j, index in enumerate(members)
        ]
    )
    used = torch.unique(torch.cat(members))
    close = torch.zeros(points.shape[0], dtype=points.dtype, device=points.device)
    close[used] = (
        nearest_neighbour_distance(points[used], new, norms[used], new_norms, block_elements)
        < new_threshold
    ).to(points.dtype)
    contains = torch.stack([close[index].mean() for index in members])
    return inside, contains


def soft_overlap_sets(
    sets: Sequence[torch.Tensor], block_elements: int = BLOCK_ELEMENTS
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(m, m)`` soft overlaps of separate embedding sets ``(N_i, D)`` (chapter 7).

    Each set's squared norms and threshold are computed once; then every ordered pair is one
    call of :func:`nearest_neighbour_distance`. Nothing is copied or concatenated, so the memory
    beyond the inputs is one block of distances.

    Returns:
        ``(overlap (m, m), thresholds (m,))`` in the sets' dtype on their device.
    """
    if len(sets) == 0:
        raise ValueError("soft_overlap_sets needs at least one set")
    for i, s in enumerate(sets):
        _check_points(s, f"sets[{i}]")
    norms = [squared_norms(s) for s in sets]
    thresholds = torch.stack(
        [mean_pairwise_distance(s, n, block_elements) for s, n in zip(sets, norms, strict=True)]
    )
    overlap = sets[0].new_zeros(len(sets), len(sets))
    for j, (reference, reference_norms) in enumerate(zip(sets, norms, strict=True)):
        for i, (query, query_norms) in enumerate(zip(sets, norms, strict=True)):
            nearest = nearest_neighbour_distance(
                query, reference, query_norms, reference_norms, block_elements
            )
            overlap[i, j] = (nearest < thresholds[j]).to(overlap.dtype).mean()
    return overlap, thresholds


def soft_overlap_reference(sets: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The slow, obvious ``(overlap, thresholds)`` of separate sets: float64, one
    ``torch.cdist`` per pair, loops (a test oracle, and chapter 7's check of the kernel)."""
    sets = [s.detach().double().cpu() for s in sets]
    thresholds = []
    for s in sets:
        distances = torch.cdist(s, s, compute_mode="donot_use_mm_for_euclid_dist")
        upper = torch.triu(torch.ones_like(distances, dtype=torch.bool), diagonal=1)
        thresholds.append(distances[upper].mean())
    m = len(sets)
    overlap = torch.zeros(m, m, dtype=torch.float64)
    for i in range(m):
        for j in range(m):
            nearest = torch.cdist(sets[i], sets[j], compute_mode="donot_use_mm_for_euclid_dist")
            overlap[i, j] = (nearest.amin(1) < thresholds[j]).double().mean()
    return overlap, torch.stack(thresholds)
