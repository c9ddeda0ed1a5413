"""The Task2Box network: a dataset's base vector ``e`` -> its box ``z`` (chapters 3 and 5).

Paper §3.2 and the authors' code: three fully-connected layers (``in -> 1024 -> 256 -> 128``,
each ``Linear -> ReLU -> BatchNorm1d``) and two linear heads, one for the ``k``-dimensional
lower-left corner and one for the ``k`` side lengths, squashed into ``(0, 1)`` by a sigmoid.
Once trained, embedding a new dataset is one forward pass (:func:`embed`); nothing is re-fitted.

One :class:`BoxModel` can hold ``R`` independent networks ("members") with stacked weights, so
that several random draws or loss variants train together in one batched step (each member's
weights, BatchNorm statistics and Adam moments are its own; only the arithmetic is shared).
Layers are written out with batched matrix products; each member behaves exactly like
``nn.Linear`` / ``nn.BatchNorm1d`` (same initialisation distribution, same statistics).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from taskspace.boxes.geometry import Boxes

__all__ = ["HIDDEN_SIZES", "BoxModel", "MemberBatchNorm", "MemberLinear", "embed"]

#: Widths of the three hidden layers in the authors' code.
HIDDEN_SIZES: tuple[int, ...] = (1024, 256, 128)


class MemberLinear(nn.Module):
    """``R`` linear maps ``(R, N, in) -> (R, N, out)``, each initialised like ``nn.Linear``."""

    def __init__(self, width_in: int, width_out: int, generators: Sequence[torch.Generator]):
        super().__init__()
        bound = 1 / math.sqrt(width_in)  # kaiming_uniform(a=sqrt(5)) and nn.Linear's bias

        def uniform(*shape: int) -> torch.Tensor:
            return torch.stack(
                [(2 * torch.rand(shape, generator=g) - 1) * bound for g in generators]
            )

        self.weight = nn.Parameter(uniform(width_in, width_out))
        self.bias = nn.Parameter(uniform(1, width_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class MemberBatchNorm(nn.Module):
    """``R`` independent ``nn.BatchNorm1d`` over the ``N`` axis of ``(R, N, width)``."""

    def __init__(self, members: int, width: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(members, 1, width))
        self.bias = nn.Parameter(torch.zeros(members, 1, width))
        self.register_buffer("running_mean", torch.zeros(members, 1, width))
        self.register_buffer("running_var", torch.ones(members, 1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return (x - self.running_mean) * torch.rsqrt(
                self.running_var + self.eps
            ) * self.weight + self.bias
        mean = x.mean(1, keepdim=True)
        centred = x - mean
        var = centred.pow(2).mean(1, keepdim=True)  # biased, as BatchNorm normalises
        with torch.no_grad():
            n = x.shape[1]
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / (n - 1), self.momentum)
        return centred * torch.rsqrt(var + self.eps) * self.weight + self.bias


class BoxModel(nn.Module):
    """``f_theta: e -> z`` (chapter 3): a vector per dataset in, a box per dataset out.

    Args:
        in_features: dimension ``d`` of the base representation (15 Taskonomy attributes, ...).
        box_dim: ``k``, the dimension of the boxes.
        hidden: widths of the fully-connected layers (default :data:`HIDDEN_SIZES`).
        seeds: an ``int`` for one network; a sequence of ``R`` ints for ``R`` networks trained
            side by side. Member ``r``'s initial weights come from ``torch.Generator`` seeded with
            ``seeds[r]`` (no global random state is used or changed).

    Call it on ``(N, d)`` features (one network) or ``(R, N, d)`` (``R`` networks, one set of
    datasets each) to get :class:`~taskspace.boxes.geometry.Boxes` of shape ``(N, k)`` or
    ``(R, N, k)``: ``low`` from the corner head, ``high = low + sigmoid(size head)``. In training
    mode BatchNorm normalises over the ``N`` datasets, so train full batch with ``N >= 2``.
    """

    def __init__(
        self,
        in_features: int,
        box_dim: int,
        hidden: Sequence[int] = HIDDEN_SIZES,
        seeds: int | Sequence[int] = 0,
    ) -> None:
        super().__init__()
        seed_list = [seeds] if isinstance(seeds, int) else list(seeds)
        if in_features < 1 or box_dim < 1 or not hidden or min(hidden) < 1 or not seed_list:
            raise ValueError(
                "BoxModel needs in_features >= 1, box_dim >= 1, positive hidden widths and at "
                f"least one seed, got in_features={in_features}, box_dim={box_dim}, "
                f"hidden={tuple(hidden)}, seeds={seeds}"
            )
        self.in_features, self.box_dim = in_features, box_dim
        self.single = isinstance(seeds, int)
        self.members = len(seed_list)
        generators = [torch.Generator().manual_seed(seed) for seed in seed_list]
        widths = (in_features, *hidden)
        self.layers = nn.ModuleList(MemberLinear(a, b, generators) for a, b in pairwise(widths))
        self.norms = nn.ModuleList(MemberBatchNorm(self.members, width) for width in hidden)
        self.corner = MemberLinear(widths[-1], box_dim, generators)
        self.size = MemberLinear(widths[-1], box_dim, generators)

    def forward(self, features: torch.Tensor) -> Boxes:
        """``(N, d)`` or ``(R, N, d)`` features -> ``(N, k)`` or ``(R, N, k)`` boxes, sides in (0, 1)."""
        expected = (self.in_features,) if self.single else (self.members, self.in_features)
        shape = (features.shape[-1],) if self.single else (features.shape[0], features.shape[-1])
        if features.dim() != 3 - self.single or shape != expected:
            layout = "(N, d)" if self.single else "(R, N, d)"
            raise ValueError(
                f"BoxModel with {self.members} member(s) expects features {layout} with "
                f"{expected}, got {tuple(features.shape)}"
            )
        if not torch.isfinite(features).all():
            raise ValueError("BoxModel features contain NaN or infinite values")
        hidden = features[None] if self.single else features
        for layer, norm in zip(self.layers, self.norms, strict=True):
            hidden = norm(torch.relu(layer(hidden)))
        boxes = Boxes.from_corner_and_size(self.corner(hidden), torch.sigmoid(self.size(hidden)))
        return boxes[0] if self.single else boxes


def embed(model: BoxModel, features: torch.Tensor) -> Boxes:
    """Boxes of (possibly new) datasets: one forward pass in eval mode, no gradient (chapter 5).

    BatchNorm uses the running statistics of training, so any number of datasets, even one,
    can be embedded; the model's training/eval mode is restored afterwards.

    Args:
        model: a trained :class:`BoxModel`.
        features: ``(N, d)`` (or ``(R, N, d)`` for ``R`` members) base vectors, on the model's
            device.

    Returns:
        ``(N, k)`` (or ``(R, N, k)``) boxes, detached.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(features)
    finally:
        model.train(was_training)
