"""How far a trained result moves when its inputs move by one rounding (chapters 4, 5).

Two machines computing the same embeddings differ in the last bit or so (other processors,
other math libraries), and training amplifies such differences. :func:`round_off_noise` makes
that difference on purpose: every entry moves to a neighbouring floating-point number, the
smallest change a tensor of its dtype can take. Retraining on perturbed inputs and comparing
the metric (:func:`metric_shift`) measures how much of a reported number is this noise.
"""

from __future__ import annotations

import torch

__all__ = ["metric_shift", "round_off_noise"]


def round_off_noise(x: torch.Tensor, seed: int) -> torch.Tensor:
    """``x`` with every entry moved by one unit in the last place, up or down at random.

    For float32 that is a relative change of about ``6e-8`` to ``1.2e-7``: the size of one
    rounding, as between two machines. Zeros move to the smallest subnormal number (+ or -).

    Args:
        x: any floating tensor.
        seed: seeds the choice of direction (a ``torch.Generator`` on the CPU).

    Returns:
        A tensor of ``x``'s shape, dtype and device, different from ``x`` in every entry.
    """
    if not x.is_floating_point():
        raise TypeError(f"round_off_noise needs a floating tensor, got {x.dtype}")
    generator = torch.Generator().manual_seed(seed)
    up = torch.rand(x.shape, generator=generator) < 0.5
    inf = torch.tensor(float("inf"), dtype=x.dtype, device=x.device)
    return torch.nextafter(x, torch.where(up.to(x.device), inf, -inf))


def metric_shift(reference: torch.Tensor, perturbed: torch.Tensor) -> torch.Tensor:
    """``(P,)`` how far the mean over draws moves: ``mean(perturbed[p]) - mean(reference)``.

    Args:
        reference: ``(R,)`` a metric per draw on the original inputs.
        perturbed: ``(P, R)`` the same metric after retraining on ``P`` perturbed inputs.
    """
    if reference.dim() != 1 or perturbed.dim() != 2 or perturbed.shape[1] != len(reference):
        raise ValueError(
            f"need reference (R,) and perturbed (P, R), got {tuple(reference.shape)} "
            f"and {tuple(perturbed.shape)}"
        )
    return perturbed.double().mean(1) - reference.double().mean()
