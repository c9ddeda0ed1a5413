"""A fused Triton kernel for the ``N x M`` box-overlap matrix and its backward pass (chapter 3).

Computes the same ``log d_box(a_i, b_j) = log vol(a_i ∩ b_j) - log vol(a_i)`` as the chunked
PyTorch kernel of :mod:`taskspace.boxes.geometry` (Gumbel intersection, Bessel-approximate volume;
that module's docstring has the formulas), which stays the reference and the fallback. The PyTorch
kernel materialises ``(chunk, M, k)`` blocks of corners, gaps and sides in memory, a dozen
element-wise kernels per chunk; here one program computes a ``BLOCK x BLOCK`` tile of the matrix
with all ``k`` dimensions in registers and writes only the tile, so memory traffic is the ``N x
M`` output (forward) or the ``N x M`` incoming gradient (backward) and nothing else.

Backward: with ``g_ijk = f'(side_ijk) * grad_ij`` (``f = log(softplus_beta + TINY)``), the
gradient of ``a_i``'s corners is a sum over ``j`` and that of ``b_j``'s a sum over ``i``; two
programs per tile would need atomics, so two kernels each own one side and loop over the other:
:func:`_grad_rows_kernel` (one block of rows ``i``, one dimension ``k``) and
:func:`_grad_columns_kernel`. The self-volume term ``-log vol(a_i)`` (``O(N k)``) is left to
PyTorch.

Runs on CUDA tensors (compiled), or on CPU tensors under ``TRITON_INTERPRET=1`` (Triton's
interpreter: slow, used by the tests to check values and gradients against the PyTorch kernel).
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

from taskspace.boxes.sides import TINY, d_log_soft_side, log_soft_side, side_shift

__all__ = ["BLOCK", "triton_log_overlap_matrix"]

#: Rows and columns of the matrix per program (a ``BLOCK x BLOCK`` tile).
BLOCK = 32


@triton.jit
def _softplus(x):
    """``log(1 + exp(x))`` without overflow, to float32 precision when ``exp(-|x|)`` is tiny.

    ``log1p(e)`` of ``e = exp(-|x|)``: its Taylor series below ``e = 2**-7`` (truncation error
    below ``e**5 / 5``; a plain ``log(1 + e)`` would round ``1 + e`` to 1, and the GPU's fast
    ``log`` has an absolute, not relative, error near 1), and ``log(u) * e / (u - 1)`` with
    ``u = 1 + e`` above it (which cancels the rounding of ``u``).
    """
    e = tl.exp(-tl.abs(x))
    u = 1.0 + e
    series = e * (1.0 - e * (0.5 - e * (1.0 / 3.0 - 0.25 * e)))
    small = e < 0.0078125
    log1p = tl.where(small, series, tl.log(u) * e / tl.where(small, 1.0, u - 1.0))
    return tl.maximum(x, 0.0) + log1p


@triton.jit
def _sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow, accurate for very negative ``x`` too."""
    e = tl.exp(-tl.abs(x))
    return tl.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@triton.jit
def _pair(la, ha, lb, hb, t_int, beta, shift, tiny):
    """One dimension of a tile: ``log`` soft side of the Gumbel intersection, its derivative,
    and how much of each corner's derivative goes to box ``a`` (``la, ha`` (R, 1); ``lb, hb``
    (1, C))."""
    low_gap = (la - lb) / t_int
    high_gap = (hb - ha) / t_int
    low = lb + t_int * _softplus(low_gap)
    high = hb - t_int * _softplus(high_gap)
    x = high - low - shift
    soft = _softplus(beta * x) / beta + tiny
    d_side = _sigmoid(beta * x) / soft
    return tl.log(soft), d_side, _sigmoid(low_gap), _sigmoid(high_gap)


@triton.jit
def _load_corners(low, high, offsets, ok):
    """One dimension's lower and upper corners at ``offsets``; a masked-off box is ``[0, 1]``."""
    return tl.load(low + offsets, mask=ok, other=0.0), tl.load(high + offsets, mask=ok, other=1.0)


@triton.jit
def _forward_kernel(
    low_a, high_a, low_b, high_b, out, n, m, k, t_int, beta, shift, tiny, BLOCK: tl.constexpr
):
    """``out[b, i, j] = sum_k f(side_ijk)`` for one ``BLOCK x BLOCK`` tile of batch entry ``b``."""
    batch, tile_i, tile_j = tl.program_id(0).to(tl.int64), tl.program_id(1), tl.program_id(2)
    rows = (tile_i * BLOCK + tl.arange(0, BLOCK)).to(tl.int64)  # 64-bit offsets: N M > 2**31
    cols = (tile_j * BLOCK + tl.arange(0, BLOCK)).to(tl.int64)
    row_ok, col_ok = rows < n, cols < m
    a = batch * n * k + rows * k
    b = batch * m * k + cols * k
    total = tl.zeros((BLOCK, BLOCK), dtype=tl.float32)
    for d in range(k):
        la, ha = _load_corners(low_a, high_a, a + d, row_ok)
        lb, hb = _load_corners(low_b, high_b, b + d, col_ok)
        pair = _pair(la[:, None], ha[:, None], lb[None, :], hb[None, :], t_int, beta, shift, tiny)
        log_side, _, _, _ = pair
        total += log_side
    where = batch * n * m + rows[:, None] * m + cols[None, :]
    tl.store(out + where, total, mask=row_ok[:, None] & col_ok[None, :])


@triton.jit
def _grad_rows_kernel(
    low_a,
    high_a,
    low_b,
    high_b,
    grad,
    grad_low_a,
    grad_high_a,
    n,
    m,
    k,
    t_int,
    beta,
    shift,
    tiny,
    BLOCK: tl.constexpr,
):
    """``grad_low_a[b, i, d] = -sum_j g * to_a_low``, ``grad_high_a[b, i, d] = sum_j g * to_a_high``
    for one block of rows and one dimension ``d`` (the pair terms only)."""
    batch, tile_i, d = tl.program_id(0).to(tl.int64), tl.program_id(1), tl.program_id(2)
    rows = (tile_i * BLOCK + tl.arange(0, BLOCK)).to(tl.int64)
    row_ok = rows < n
    la, ha = _load_corners(low_a, high_a, batch * n * k + rows * k + d, row_ok)
    la, ha = la[:, None], ha[:, None]
    sum_low = tl.zeros((BLOCK,), dtype=tl.float32)
    sum_high = tl.zeros((BLOCK,), dtype=tl.float32)
    for start in range(0, m, BLOCK):
        cols = (start + tl.arange(0, BLOCK)).to(tl.int64)
        col_ok = cols < m
        lb, hb = _load_corners(low_b, high_b, batch * m * k + cols * k + d, col_ok)
        lb, hb = lb[None, :], hb[None, :]
        both = row_ok[:, None] & col_ok[None, :]
        g_out = tl.load(
            grad + batch * n * m + rows[:, None] * m + cols[None, :], mask=both, other=0.0
        )
        _, d_side, to_low, to_high = _pair(la, ha, lb, hb, t_int, beta, shift, tiny)
        g = d_side * g_out
        sum_low += tl.sum(g * to_low, axis=1)
        sum_high += tl.sum(g * to_high, axis=1)
    tl.store(grad_low_a + batch * n * k + rows * k + d, -sum_low, mask=row_ok)
    tl.store(grad_high_a + batch * n * k + rows * k + d, sum_high, mask=row_ok)


@triton.jit
def _grad_columns_kernel(
    low_a,
    high_a,
    low_b,
    high_b,
    grad,
    grad_low_b,
    grad_high_b,
    n,
    m,
    k,
    t_int,
    beta,
    shift,
    tiny,
    BLOCK: tl.constexpr,
):
    """``grad_low_b[b, j, d] = -sum_i g (1 - to_a_low)``, ``grad_high_b[b, j, d] = sum_i g (1 -
    to_a_high)`` for one block of columns and one dimension ``d``."""
    batch, tile_j, d = tl.program_id(0).to(tl.int64), tl.program_id(1), tl.program_id(2)
    cols = (tile_j * BLOCK + tl.arange(0, BLOCK)).to(tl.int64)
    col_ok = cols < m
    lb, hb = _load_corners(low_b, high_b, batch * m * k + cols * k + d, col_ok)
    lb, hb = lb[None, :], hb[None, :]
    sum_low = tl.zeros((BLOCK,), dtype=tl.float32)
    sum_high = tl.zeros((BLOCK,), dtype=tl.float32)
    for start in range(0, n, BLOCK):
        rows = (start + tl.arange(0, BLOCK)).to(tl.int64)
        row_ok = rows < n
        la, ha = _load_corners(low_a, high_a, batch * n * k + rows * k + d, row_ok)
        la, ha = la[:, None], ha[:, None]
        both = row_ok[:, None] & col_ok[None, :]
        g_out = tl.load(
            grad + batch * n * m + rows[:, None] * m + cols[None, :], mask=both, other=0.0
        )
        _, d_side, to_low, to_high = _pair(la, ha, lb, hb, t_int, beta, shift, tiny)
        g = d_side * g_out
        sum_low += tl.sum(g * (1.0 - to_low), axis=0)
        sum_high += tl.sum(g * (1.0 - to_high), axis=0)
    tl.store(grad_low_b + batch * m * k + cols * k + d, -sum_low, mask=col_ok)
    tl.store(grad_high_b + batch * m * k + cols * k + d, sum_high, mask=col_ok)


def _flat(tensor: torch.Tensor) -> torch.Tensor:
    """``(..., N, k)`` as a contiguous ``(B, N, k)``."""
    return tensor.reshape(-1, *tensor.shape[-2:]).contiguous()


class _TritonLogOverlapMatrix(torch.autograd.Function):
    """:func:`triton_log_overlap_matrix` with its fused backward pass."""

    @staticmethod
    def forward(
        ctx: Any,
        low_a: torch.Tensor,
        high_a: torch.Tensor,
        low_b: torch.Tensor,
        high_b: torch.Tensor,
        volume_temperature: float,
        intersection_temperature: float,
    ) -> torch.Tensor:
        la, ha, lb, hb = (_flat(t) for t in (low_a, high_a, low_b, high_b))
        (batch, n, k), m = la.shape, lb.shape[1]
        shift = side_shift(intersection_temperature)
        settings = (intersection_temperature, 1 / volume_temperature, shift, TINY)
        pairs = la.new_empty(batch, n, m)
        grid = (batch, triton.cdiv(n, BLOCK), triton.cdiv(m, BLOCK))
        _forward_kernel[grid](la, ha, lb, hb, pairs, n, m, k, *settings, BLOCK=BLOCK)
        self_log_volume = log_soft_side(high_a - low_a, volume_temperature, shift).sum(-1)
        ctx.save_for_backward(low_a, high_a, low_b, high_b)
        ctx.settings = (volume_temperature, settings)
        return pairs.reshape(*low_a.shape[:-1], m) - self_log_volume[..., None]

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        low_a, high_a, low_b, high_b = ctx.saved_tensors
        volume_temperature, settings = ctx.settings
        la, ha, lb, hb = (_flat(t) for t in (low_a, high_a, low_b, high_b))
        (batch, n, k), m = la.shape, lb.shape[1]
        grad = grad_out.reshape(batch, n, m).contiguous()
        grad_la, grad_ha = torch.empty_like(la), torch.empty_like(ha)
        grad_lb, grad_hb = torch.empty_like(lb), torch.empty_like(hb)
        rows = (batch, triton.cdiv(n, BLOCK), k)
        _grad_rows_kernel[rows](
            la, ha, lb, hb, grad, grad_la, grad_ha, n, m, k, *settings, BLOCK=BLOCK
        )
        cols = (batch, triton.cdiv(m, BLOCK), k)
        _grad_columns_kernel[cols](
            la, ha, lb, hb, grad, grad_lb, grad_hb, n, m, k, *settings, BLOCK=BLOCK
        )
        # -log vol(a_i) is in every entry of row i.
        shift = settings[2]
        self_term = d_log_soft_side(high_a - low_a, volume_temperature, shift) * grad_out.sum(
            -1, keepdim=True
        )
        return (
            grad_la.reshape(low_a.shape) + self_term,
            grad_ha.reshape(high_a.shape) - self_term,
            grad_lb.reshape(low_b.shape),
            grad_hb.reshape(high_b.shape),
            None,
            None,
        )


def triton_log_overlap_matrix(
    low_a: torch.Tensor,
    high_a: torch.Tensor,
    low_b: torch.Tensor,
    high_b: torch.Tensor,
    volume_temperature: float,
    intersection_temperature: float,
) -> torch.Tensor:
    """``(..., N, M)`` ``log d_box`` of boxes ``(..., N, k)`` against ``(..., M, k)`` (chapter 3).

    The corners must be float32, with the same batch shape, ``N, M, k >= 1`` and positive
    temperatures (:func:`~taskspace.boxes.geometry.log_overlap_matrix` checks all of this and
    calls this function on CUDA). Differentiable with respect to all four corner tensors.
    """
    if low_a.dtype != torch.float32:
        raise ValueError(f"the Triton box-overlap kernel takes float32 corners, got {low_a.dtype}")
    return _TritonLogOverlapMatrix.apply(
        low_a, high_a, low_b, high_b, volume_temperature, intersection_temperature
    )
