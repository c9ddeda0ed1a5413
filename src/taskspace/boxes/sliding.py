"""Two unit squares sliding past each other: how much ``d_box`` pulls them together (chapter 3).

The experiment behind chapter 3's argument for soft boxes: hard boxes give no gradient once two
boxes are apart; soft boxes give one that decays like ``exp(-gap / T_vol)``.
"""

from __future__ import annotations

import torch

from taskspace.boxes.geometry import Boxes, log_overlap

__all__ = ["sliding_square"]


def sliding_square(
    gaps: torch.Tensor, volume_temperature: float, intersection_temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Slide the unit square ``[1 + gap, 2 + gap] x [0, 1]`` past the fixed ``[0, 1]^2``.

    A negative gap means the squares overlap by that much along ``x``. Temperatures of 0 give hard
    boxes.

    Args:
        gaps: ``(G,)`` floating-point gaps between the squares along ``x``.

    Returns:
        ``d_box(sliding, fixed)`` ``(G,)`` and the pull ``-d d_box / d x`` ``(G,)`` (how much moving
        the sliding square towards the fixed one raises the overlap), both detached, in the
        dtype of ``gaps``.
    """
    if gaps.ndim != 1 or not gaps.is_floating_point():
        raise ValueError(
            f"gaps must be a (G,) floating-point tensor, got {gaps.dtype} {tuple(gaps.shape)}"
        )
    fixed = Boxes(torch.zeros(1, 2, dtype=gaps.dtype), torch.ones(1, 2, dtype=gaps.dtype))
    x = (1.0 + gaps).clone().requires_grad_()  # the left edge of the sliding square
    sliding = Boxes(
        torch.stack([x, torch.zeros_like(x)], -1), torch.stack([x + 1, torch.ones_like(x)], -1)
    )
    overlap = log_overlap(sliding, fixed, volume_temperature, intersection_temperature).exp()
    (grad,) = torch.autograd.grad(overlap.sum(), x)
    return overlap.detach(), -grad + 0.0  # + 0.0: no -0 where the gradient vanishes
