"""Soft side lengths: the element-wise pieces both overlap kernels share (chapter 3).

A soft box's log-volume is a sum over its sides of ``log(softplus_beta(side - shift) + TINY)``
(``beta = 1 / volume_temperature``; the Bessel approximation of the Gumbel intersection shortens
every side by ``shift = 2 * gamma_E * T_int``). The chunked PyTorch kernel
(:mod:`~taskspace.boxes.geometry`) and the fused Triton one (:mod:`~taskspace.boxes.triton_overlap`)
both use these functions, so they compute one formula.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["EULER_GAMMA", "TINY", "d_log_soft_side", "log_soft_side", "side_shift"]

#: Euler–Mascheroni constant: the Gumbel intersection shrinks each side by ``2 * gamma_E * T_int``.
EULER_GAMMA = 0.57721566490153286060
#: Added to each soft side length before the log (``box-embeddings``' ``tiny_value_of_dtype``).
TINY = 1e-13


def log_soft_side(side: torch.Tensor, volume_temperature: float, shift: float) -> torch.Tensor:
    """``log(softplus_beta(side - shift) + TINY)`` element-wise; ``beta = 1 / volume_temperature``."""
    return torch.log(F.softplus(side - shift, beta=1 / volume_temperature) + TINY)


def d_log_soft_side(side: torch.Tensor, volume_temperature: float, shift: float) -> torch.Tensor:
    """Derivative of :func:`log_soft_side` in ``side``: ``sigmoid(beta x) / (softplus_beta(x) +
    TINY)`` with ``x = side - shift``."""
    beta, x = 1 / volume_temperature, side - shift
    return torch.sigmoid(beta * x) / (F.softplus(x, beta=beta) + TINY)


def side_shift(intersection_temperature: float) -> float:
    """How much the Bessel approximation shortens every side: ``2 * gamma_E * T_int``."""
    return 2 * EULER_GAMMA * intersection_temperature
