"""Box geometry: volumes, intersections and the asymmetric overlap ``d_box`` (chapter 3).

A *box* in ``R^k`` is an axis-aligned hyper-rectangle, given by its lower-left corner ``low`` and
its upper-right corner ``high`` (both ``(..., k)``). Task2Box (paper Eq. 5) relates two boxes by

    d_box(z_i, z_j) = vol(z_i ∩ z_j) / vol(z_i)   in [0, 1],

the fraction of box ``i`` that lies inside box ``j``; ``d_box(z_i, z_j) = 1`` iff ``z_i ⊂ z_j``.
Everything is computed in log space (a product of ``k`` side lengths under- or overflows quickly).

Hard boxes (``max``/``min`` intersection, volume = product of positive parts) have zero gradient
once two boxes are disjoint, so training cannot pull them together. Task2Box therefore uses the
*soft* boxes of the ``box-embeddings`` library (Dasgupta et al., 2020):

* **Gumbel intersection** with intersection temperature ``T_int``::

      low  = T_int * logaddexp(low_i / T_int, low_j / T_int)
      high = -T_int * logaddexp(-high_i / T_int, -high_j / T_int)

* **Bessel-approximate volume** with volume temperature ``T_vol`` (``beta = 1 / T_vol``)::

      log vol(z) = sum_k log(softplus_beta(high_k - low_k - 2 * gamma_E * T_int) + 1e-13)

The defaults are the paper's (``T_vol = 0.1``, ``T_int = 1e-4``), the settings of
``Volume(volume_temperature=0.1, intersection_temperature=1e-4)`` and
``Intersection(intersection_temperature=1e-4)`` in ``box-embeddings``, against which the tests
check these kernels.

:func:`log_overlap` works element-wise with broadcasting and plain autograd (any temperatures,
hard ones included). :func:`log_overlap_matrix` computes the ``N x M`` matrix of
``log d_box`` in chunks of rows with a hand-written backward pass, so that neither the forward nor
the backward pass ever holds more than one ``(chunk, M, k)`` block: memory stays bounded for
``N`` and ``M`` in the thousands. On CUDA it runs a fused Triton kernel instead
(:mod:`~taskspace.boxes.triton_overlap`), which this chunked one serves as reference and fallback.
Every function returns tensors on its inputs' device.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from taskspace.boxes.sides import EULER_GAMMA, TINY, d_log_soft_side, log_soft_side, side_shift

__all__ = [
    "EULER_GAMMA",
    "INTERSECTION_TEMPERATURE",
    "KERNELS",
    "TINY",
    "VOLUME_TEMPERATURE",
    "Boxes",
    "intersection",
    "log_overlap",
    "log_overlap_matrix",
    "log_volume",
    "overlap_matrix",
]

#: Task2Box's volume temperature (supplement §9.2).
VOLUME_TEMPERATURE = 0.1
#: Task2Box's intersection temperature (supplement §9.2).
INTERSECTION_TEMPERATURE = 1e-4
#: The implementations :func:`log_overlap_matrix` can use (``"auto"`` chooses per device).
KERNELS = ("auto", "pytorch", "triton")
#: Elements of one ``(..., chunk, M, k)`` block in :func:`log_overlap_matrix` by default.
_BLOCK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class Boxes:
    """A batch of axis-aligned boxes (chapter 3).

    Attributes:
        low: ``(..., k)`` lower-left corners, floating point, finite.
        high: ``(..., k)`` upper-right corners, same shape, dtype and device as ``low``. A box
            with ``high < low`` in some dimension is "flipped" (empty); that is allowed, since a
            Gumbel intersection of disjoint boxes is one.

    Raises:
        ValueError: shapes differ, ``k = 0``, dtypes or devices differ, or a value is NaN/inf.
        TypeError: the corners are not floating-point tensors.
    """

    low: torch.Tensor
    high: torch.Tensor

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                raise TypeError(f"Boxes.{name} must be a floating-point tensor, got {value!r}")
        if self.low.shape != self.high.shape or self.low.dim() == 0 or self.low.shape[-1] == 0:
            raise ValueError(
                "Boxes need low and high of the same shape (..., k) with k >= 1, got "
                f"{tuple(self.low.shape)} and {tuple(self.high.shape)}"
            )
        if self.low.dtype != self.high.dtype or self.low.device != self.high.device:
            raise ValueError(
                f"Boxes corners differ in dtype/device: {self.low.dtype} on {self.low.device} "
                f"vs {self.high.dtype} on {self.high.device}"
            )
        if not (torch.isfinite(self.low).all() and torch.isfinite(self.high).all()):
            raise ValueError("Boxes corners contain NaN or infinite values")

    @classmethod
    def from_corner_and_size(cls, low: torch.Tensor, size: torch.Tensor) -> Boxes:
        """Boxes from the lower-left corner and the side lengths (``high = low + size``)."""
        return cls(low, low + size)

    @property
    def dim(self) -> int:
        """``k``, the dimension of the space the boxes live in."""
        return self.low.shape[-1]

    @property
    def size(self) -> torch.Tensor:
        """``(..., k)`` side lengths ``high - low`` (negative where a box is flipped)."""
        return self.high - self.low

    @property
    def center(self) -> torch.Tensor:
        """``(..., k)`` centres ``(low + high) / 2``."""
        return (self.low + self.high) / 2

    def __len__(self) -> int:
        """Size of the first batch dimension (1 for a single box of shape ``(k,)``)."""
        return self.low.shape[0] if self.low.dim() > 1 else 1

    def __getitem__(self, index: Any) -> Boxes:
        """The boxes at ``index`` of the batch dimensions (the last dimension is kept whole)."""
        return Boxes(self.low[index], self.high[index])

    def as_tensor(self) -> torch.Tensor:
        """``(..., 2, k)``: ``[..., 0, :]`` = low, ``[..., 1, :]`` = high (``box-embeddings``' layout)."""
        return torch.stack((self.low, self.high), dim=-2)


def _check_temperatures(volume_temperature: float, intersection_temperature: float) -> None:
    if not (volume_temperature >= 0 and intersection_temperature >= 0):  # NaN fails too
        raise ValueError(
            f"temperatures must be >= 0, got volume_temperature={volume_temperature}, "
            f"intersection_temperature={intersection_temperature}"
        )
    if volume_temperature == 0 and intersection_temperature > 0:
        raise ValueError(
            "the Bessel-approximate volume needs volume_temperature > 0 "
            "(use volume_temperature=0 only with intersection_temperature=0: hard boxes)"
        )


def log_volume(
    boxes: Boxes,
    volume_temperature: float = VOLUME_TEMPERATURE,
    intersection_temperature: float = INTERSECTION_TEMPERATURE,
) -> torch.Tensor:
    """``(...)`` log-volume of each box (chapter 3).

    Three volumes, chosen by the temperatures (as ``box_embeddings.modules.volume.Volume``):

    * **hard** (``volume_temperature = intersection_temperature = 0``):
      ``sum_k log(max(high_k - low_k, TINY))`` -- flat (zero gradient) for an empty box;
    * **soft** (``volume_temperature > 0``, ``intersection_temperature = 0``):
      ``sum_k log(softplus_beta(high_k - low_k) + TINY)``, ``beta = 1 / volume_temperature``;
    * **Bessel-approximate** (both > 0; Task2Box's): as soft, with every side shortened by
      ``2 * gamma_E * intersection_temperature`` first.

    Args:
        boxes: ``(..., k)`` boxes.
        volume_temperature: ``T_vol >= 0``; the softplus is ``T_vol * log(1 + exp(x / T_vol))``.
        intersection_temperature: ``T_int >= 0``; use the same value as in :func:`intersection`.

    Returns:
        ``(...)`` natural log of the volume.
    """
    _check_temperatures(volume_temperature, intersection_temperature)
    if volume_temperature == 0:
        return torch.log(boxes.size.clamp_min(TINY)).sum(-1)
    shift = side_shift(intersection_temperature)
    return log_soft_side(boxes.size, volume_temperature, shift).sum(-1)


def _gumbel_corners(
    low_a: torch.Tensor,
    high_a: torch.Tensor,
    low_b: torch.Tensor,
    high_b: torch.Tensor,
    temperature: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gumbel intersection corners (broadcasting) and how much of each comes from box ``a``.

    ``T logaddexp(x / T, y / T) = y + T softplus((x - y) / T)``, whose derivative with respect to
    ``x`` is ``sigmoid((x - y) / T)``; likewise for the upper corner with a smooth ``min``.

    Returns:
        ``low, high, d low / d low_a, d high / d high_a``, all of the broadcast shape.
    """
    low_gap = (low_a - low_b) / temperature
    high_gap = (high_b - high_a) / temperature
    low = low_b + temperature * F.softplus(low_gap)
    high = high_b - temperature * F.softplus(high_gap)
    return low, high, torch.sigmoid(low_gap), torch.sigmoid(high_gap)


def _check_same_space(a: Boxes, b: Boxes) -> None:
    if a.dim != b.dim or a.low.dtype != b.low.dtype or a.low.device != b.low.device:
        raise ValueError(
            f"boxes must share dimension, dtype and device: k={a.dim} {a.low.dtype} "
            f"{a.low.device} vs k={b.dim} {b.low.dtype} {b.low.device}"
        )


def intersection(
    a: Boxes, b: Boxes, intersection_temperature: float = INTERSECTION_TEMPERATURE
) -> Boxes:
    """The intersection box of ``a`` and ``b``, broadcast over their batch shapes (chapter 3).

    ``intersection_temperature = 0`` gives the hard intersection (``max`` of the lower corners,
    ``min`` of the upper ones); a positive temperature gives the Gumbel intersection, whose
    corners are smooth ``max``/``min`` (``logaddexp``), so the gradient reaches both boxes even
    when they are disjoint. Either can be a flipped box (``high < low``) when ``a`` and ``b``
    do not overlap.

    Args:
        a, b: boxes whose batch shapes broadcast, with the same ``k``.
        intersection_temperature: ``T_int >= 0``.
    """
    _check_same_space(a, b)
    if not intersection_temperature >= 0:
        raise ValueError(f"intersection_temperature must be >= 0, got {intersection_temperature}")
    if intersection_temperature == 0:
        return Boxes(torch.maximum(a.low, b.low), torch.minimum(a.high, b.high))
    low, high, _, _ = _gumbel_corners(a.low, a.high, b.low, b.high, intersection_temperature)
    return Boxes(low, high)


def log_overlap(
    a: Boxes,
    b: Boxes,
    volume_temperature: float = VOLUME_TEMPERATURE,
    intersection_temperature: float = INTERSECTION_TEMPERATURE,
) -> torch.Tensor:
    """``log d_box(a, b) = log vol(a ∩ b) - log vol(a)``, element-wise with broadcasting (chapter 3).

    ``d_box(a, b)`` is the fraction of ``a`` inside ``b``: 1 when ``a ⊂ b``, near 0 when they are
    disjoint, and asymmetric in general. This version keeps the whole broadcast block in memory
    and uses autograd; for all pairs of two sets of boxes use :func:`log_overlap_matrix`.

    Args:
        a, b: boxes whose batch shapes broadcast, with the same ``k``.

    Returns:
        the broadcast batch shape of ``a`` and ``b``; values ``<= 0`` (up to rounding).
    """
    both = intersection(a, b, intersection_temperature)
    return log_volume(both, volume_temperature, intersection_temperature) - log_volume(
        a, volume_temperature, intersection_temperature
    )


def _row_chunks(low_a: torch.Tensor, low_b: torch.Tensor, chunk_size: int | None) -> list[slice]:
    """Slices of the rows ``N`` of ``(..., N, M, k)`` pairwise blocks; each block <= the budget."""
    if chunk_size is None:
        chunk_size = max(1, _BLOCK_ELEMENTS // max(1, low_b.numel()))  # a row: (..., 1, M, k)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    n = low_a.shape[-2]
    return [slice(start, start + chunk_size) for start in range(0, n, chunk_size)]


class _LogOverlapMatrix(torch.autograd.Function):
    """``log d_box(a_i, b_j)`` for all ``i, j`` (and batch entries); chunked over rows both ways.

    With ``x = high - low - c`` (``c = 2 gamma_E T_int``) and ``f(x) = log(softplus_beta(x) +
    TINY)``, ``f'(x) = sigmoid(beta x) / (softplus_beta(x) + TINY)``. The Gumbel corners have
    ``d low_ij / d low_a = sigmoid((low_a - low_b) / T_int)`` and ``d high_ij / d high_a =
    sigmoid((high_b - high_a) / T_int)``; the rest of the weight goes to ``b``. The backward pass
    recomputes these per chunk instead of storing the ``(..., N, M, k)`` intermediates.
    """

    @staticmethod
    def forward(
        ctx: Any,
        low_a: torch.Tensor,
        high_a: torch.Tensor,
        low_b: torch.Tensor,
        high_b: torch.Tensor,
        volume_temperature: float,
        intersection_temperature: float,
        chunk_size: int | None,
    ) -> torch.Tensor:
        shift = side_shift(intersection_temperature)
        out = low_a.new_empty(*low_a.shape[:-1], low_b.shape[-2])
        self_log_volume = log_soft_side(high_a - low_a, volume_temperature, shift).sum(-1)
        lb, hb = low_b[..., None, :, :], high_b[..., None, :, :]  # (..., 1, M, k)
        for rows in _row_chunks(low_a, low_b, chunk_size):
            low, high, _, _ = _gumbel_corners(
                low_a[..., rows, None, :],
                high_a[..., rows, None, :],
                lb,
                hb,
                intersection_temperature,
            )
            log_vol = log_soft_side(high - low, volume_temperature, shift).sum(-1)
            out[..., rows, :] = log_vol - self_log_volume[..., rows, None]
        ctx.save_for_backward(low_a, high_a, low_b, high_b)
        ctx.settings = (volume_temperature, intersection_temperature, chunk_size)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        low_a, high_a, low_b, high_b = ctx.saved_tensors
        volume_temperature, temperature, chunk_size = ctx.settings
        shift = side_shift(temperature)
        # -log vol(a_i) is in every entry of row i.
        self_term = d_log_soft_side(high_a - low_a, volume_temperature, shift) * grad_out.sum(
            -1, keepdim=True
        )  # (..., N, k)
        grad_low_a, grad_high_a = self_term.clone(), -self_term
        grad_low_b, grad_high_b = torch.zeros_like(low_b), torch.zeros_like(high_b)
        lb, hb = low_b[..., None, :, :], high_b[..., None, :, :]  # (..., 1, M, k)
        for rows in _row_chunks(low_a, low_b, chunk_size):
            low, high, to_a_low, to_a_high = _gumbel_corners(
                low_a[..., rows, None, :], high_a[..., rows, None, :], lb, hb, temperature
            )
            g = (
                d_log_soft_side(high - low, volume_temperature, shift)
                * grad_out[..., rows, :, None]
            )  # (..., c, M, k)
            g_low_a, g_high_a, g_sum = g * to_a_low, g * to_a_high, g.sum(-3)
            grad_low_a[..., rows, :] -= g_low_a.sum(-2)
            grad_high_a[..., rows, :] += g_high_a.sum(-2)
            grad_low_b -= g_sum - g_low_a.sum(-3)
            grad_high_b += g_sum - g_high_a.sum(-3)
        return grad_low_a, grad_high_a, grad_low_b, grad_high_b, None, None, None


def _chosen_kernel(kernel: str, boxes: Boxes, others: Boxes) -> str:
    """``"triton"`` or ``"pytorch"`` for :func:`log_overlap_matrix` (see its ``kernel``)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if kernel != "auto":
        return kernel
    fits = (
        boxes.low.is_cuda
        and boxes.low.dtype == torch.float32
        and min(boxes.low.shape[-2], others.low.shape[-2]) > 0
    )
    return "triton" if fits and importlib.util.find_spec("triton") is not None else "pytorch"


def log_overlap_matrix(
    boxes: Boxes,
    others: Boxes | None = None,
    volume_temperature: float = VOLUME_TEMPERATURE,
    intersection_temperature: float = INTERSECTION_TEMPERATURE,
    chunk_size: int | None = None,
    kernel: str = "auto",
) -> torch.Tensor:
    """``(..., N, M)`` matrix of ``log d_box(z_i, w_j) = log vol(z_i ∩ w_j) - log vol(z_i)`` (ch. 3).

    Rows are the boxes ``z`` (the "inner" candidates), columns the boxes ``w`` (``others``;
    ``boxes`` itself when omitted, then the matrix is ``N x N`` and its diagonal is
    ``log vol(z ∩ z) - log vol(z)``, slightly below 0 for a soft intersection). Entry ``[i, j]``
    is near 0 when ``z_i ⊂ w_j`` and very negative when they are disjoint. Leading batch
    dimensions (e.g. ``R`` networks trained together) are matched one to one, not broadcast.

    Computed by broadcasting ``chunk_size`` rows at a time against all columns, in the forward
    and in the (hand-written) backward pass, so peak memory is ``O(N M + chunk_size M k)`` per
    batch entry. Gradients agree with autograd through ``box-embeddings`` (see the tests).

    Args:
        boxes: ``(..., N, k)`` boxes.
        others: ``(..., M, k)`` boxes in the same space with the same batch shape, or ``None``.
        volume_temperature: ``T_vol > 0`` (Bessel-approximate volume).
        intersection_temperature: ``T_int > 0`` (Gumbel intersection). For hard boxes use
            :func:`log_overlap` with broadcasting.
        chunk_size: rows per block; default: as many as keep a block near 2**21 elements.
        kernel: ``"pytorch"`` (the chunked kernel above), ``"triton"`` (the fused kernel of
            :mod:`~taskspace.boxes.triton_overlap`: float32 on CUDA, or on the CPU under
            ``TRITON_INTERPRET=1``; ``chunk_size`` does not apply), or ``"auto"``: Triton for
            float32 CUDA tensors when Triton is installed, PyTorch otherwise.

    Returns:
        ``(..., N, M)`` tensor on the boxes' device, values ``<= 0`` up to rounding.
    """
    others = boxes if others is None else others
    _check_same_space(boxes, others)
    if boxes.low.dim() < 2 or boxes.low.shape[:-2] != others.low.shape[:-2]:
        raise ValueError(
            "log_overlap_matrix takes boxes (..., N, k) and (..., M, k) with the same batch "
            f"shape, got {tuple(boxes.low.shape)} and {tuple(others.low.shape)}"
        )
    if not (volume_temperature > 0 and intersection_temperature > 0):  # NaN fails too
        raise ValueError(
            "log_overlap_matrix needs positive temperatures (Gumbel intersection, Bessel volume); "
            "use log_overlap(a[:, None], b[None]) for hard boxes"
        )
    if _chosen_kernel(kernel, boxes, others) == "triton":
        from taskspace.boxes.triton_overlap import triton_log_overlap_matrix

        return triton_log_overlap_matrix(
            boxes.low,
            boxes.high,
            others.low,
            others.high,
            volume_temperature,
            intersection_temperature,
        )
    return _LogOverlapMatrix.apply(
        boxes.low,
        boxes.high,
        others.low,
        others.high,
        volume_temperature,
        intersection_temperature,
        chunk_size,
    )


def overlap_matrix(
    boxes: Boxes,
    others: Boxes | None = None,
    volume_temperature: float = VOLUME_TEMPERATURE,
    intersection_temperature: float = INTERSECTION_TEMPERATURE,
    chunk_size: int | None = None,
    kernel: str = "auto",
) -> torch.Tensor:
    """``(..., N, M)`` matrix of ``d_box(z_i, w_j)`` in ``[0, 1]``: ``exp`` of :func:`log_overlap_matrix`."""
    return log_overlap_matrix(
        boxes, others, volume_temperature, intersection_temperature, chunk_size, kernel
    ).exp()
