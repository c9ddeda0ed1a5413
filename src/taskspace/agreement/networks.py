"""The networks whose agreement the book measures (Task Discovery appendix I.3; chapter 8).

Four architectures, each for any number of input channels, image size and classes, all with
PyTorch's default (Kaiming-uniform) initialisation:

* :class:`ResNet18` — the CIFAR variant: a 3x3 stride-1 stem and no max-pool;
* :class:`MLP` — the paper's four-layer perceptron with BatchNorm (its table 2);
* :class:`ViT` — 4x4 patches, BatchNorm instead of LayerNorm, no dropout, width 256, 6 blocks,
  the class token to a linear head;
* :class:`SmallCNN` — three conv blocks, small enough to train many of on a CPU.

A :class:`NetworkSpec` names one of them with its sizes; it is what an ensemble is trained from
(``spec.build(seed)`` makes one network from an explicit seed) and part of every cache key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import nn

__all__ = [
    "ARCHITECTURES",
    "MLP",
    "NetworkSpec",
    "ResNet18",
    "SmallCNN",
    "ViT",
]


class SmallCNN(nn.Module):
    """Three 3x3 conv blocks (conv-BN-ReLU, max-pool after the first two) and a linear head.

    ``(B, C, H, W) -> (B, num_classes)`` logits; ``width`` channels in the first block, doubling.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()
        widths = (width, 2 * width, 4 * width)
        layers: list[nn.Module] = []
        previous = in_channels
        for index, channels in enumerate(widths):
            layers += [
                nn.Conv2d(previous, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
            ]
            if index < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            previous = channels
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(previous, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class MLP(nn.Module):
    """The paper's MLP (appendix I.3, table 2): ``(B, C, H, W) -> (B, num_classes)`` logits.

    Linear(C*H*W, 1024)-ReLU-BN, Linear(1024, 512)-ReLU-BN, Linear(512, 256)-ReLU-BN,
    Linear(256, 64)-ReLU, Linear(64, num_classes).
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        previous = in_features
        for width in (1024, 512, 256):
            layers += [nn.Linear(previous, width), nn.ReLU(), nn.BatchNorm1d(width)]
            previous = width
        layers += [nn.Linear(previous, 64), nn.ReLU(), nn.Linear(64, num_classes)]
        self.layers = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


class _BasicBlock(nn.Module):
    """ResNet's two 3x3 convolutions with a shortcut (a 1x1 conv when the shape changes)."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for small images (appendix I.3): ``(B, C, H, W) -> (B, num_classes)`` logits.

    The CIFAR variant: the 7x7 stride-2 stem and the max-pool of the ImageNet model are replaced by
    one 3x3 stride-1 convolution. Four stages of two basic blocks with ``width * (1, 2, 4, 8)``
    channels (``width = 64`` is the standard model), global average pooling, a linear head.
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        previous = width
        for stage, multiplier in enumerate((1, 2, 4, 8)):
            channels = width * multiplier
            stride = 1 if stage == 0 else 2
            blocks += [_BasicBlock(previous, channels, stride), _BasicBlock(channels, channels, 1)]
            previous = channels
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(previous, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.blocks(self.stem(images))))


class _TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm over tokens: ``(B, T, D) -> (B, T, D)``, statistics per channel over B and T."""

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return super().forward(tokens.transpose(1, 2)).transpose(1, 2)


class _Attention(nn.Module):
    """Multi-head self-attention written out (``(B, T, D) -> (B, T, D)``), no dropout."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, length, dim = tokens.shape
        qkv = self.qkv(tokens).reshape(batch, length, 3, self.heads, dim // self.heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, T, D / heads)
        weights = torch.softmax(query @ key.transpose(-2, -1) / math.sqrt(dim // self.heads), -1)
        mixed = (weights @ value).transpose(1, 2).reshape(batch, length, dim)
        return self.out(mixed)


class _TransformerBlock(nn.Module):
    """Pre-norm transformer block with BatchNorm in place of LayerNorm (appendix I.3)."""

    def __init__(self, dim: int, heads: int, mlp_width: int) -> None:
        super().__init__()
        self.norm1 = _TokenBatchNorm(dim)
        self.attention = _Attention(dim, heads)
        self.norm2 = _TokenBatchNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_width), nn.GELU(), nn.Linear(mlp_width, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens + self.attention(self.norm1(tokens))
        return tokens + self.mlp(self.norm2(tokens))


class ViT(nn.Module):
    """The paper's ViT (appendix I.3): ``(B, C, H, W) -> (B, num_classes)`` logits.

    ``patch x patch`` patches (4x4; H and W must be multiples), a learned class token and position
    embedding, ``depth`` pre-norm blocks of width ``dim`` with BatchNorm instead of LayerNorm and
    no dropout, the class token through a final BatchNorm to a linear head.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        num_classes: int,
        patch: int = 4,
        dim: int = 256,
        depth: int = 6,
        heads: int = 8,
        mlp_width: int = 256,
    ) -> None:
        super().__init__()
        if image_size % patch:
            raise ValueError(f"image size {image_size} is not a multiple of the patch size {patch}")
        self.embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        tokens = (image_size // patch) ** 2 + 1
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.position = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.Sequential(
            *(_TransformerBlock(dim, heads, mlp_width) for _ in range(depth))
        )
        self.norm = nn.BatchNorm1d(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        patches = self.embed(images).flatten(2).transpose(1, 2)  # (B, T - 1, dim)
        cls = self.class_token.expand(patches.shape[0], -1, -1)
        tokens = self.blocks(torch.cat([cls, patches], dim=1) + self.position)
        return self.head(self.norm(tokens[:, 0]))


#: How each architecture is built from ``(in_channels, image_size, num_classes, width)``;
#: ``width`` is the architecture's own size knob (``None``: its default).
ARCHITECTURES: dict[str, Callable[[int, int, int, int | None], nn.Module]] = {
    "small_cnn": lambda c, s, k, w: SmallCNN(c, k, **({} if w is None else {"width": w})),
    "mlp": lambda c, s, k, w: MLP(c * s * s, k),
    "resnet18": lambda c, s, k, w: ResNet18(c, k, **({} if w is None else {"width": w})),
    "vit": lambda c, s, k, w: ViT(c, s, k, **({} if w is None else {"dim": w, "mlp_width": w})),
}


@dataclass(frozen=True)
class NetworkSpec:
    """One architecture with its sizes: what :func:`~taskspace.agreement.train_ensemble` trains.

    Attributes:
        architecture: a key of :data:`ARCHITECTURES` (``"small_cnn"``, ``"mlp"``, ``"resnet18"``,
            ``"vit"``).
        in_channels: image channels ``C``.
        image_size: image height = width ``H`` (square images).
        num_classes: outputs of the head (2 for a binary task).
        width: the architecture's width knob (channels of the first stage for the CNNs, token
            width for the ViT; ignored by the MLP); ``None`` for the paper's value.
    """

    architecture: str
    in_channels: int
    image_size: int
    num_classes: int = 2
    width: int | None = None

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; choose from {sorted(ARCHITECTURES)}"
            )
        for name in ("in_channels", "image_size", "num_classes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.num_classes < 2:
            raise ValueError(f"a task needs at least 2 classes, got num_classes={self.num_classes}")

    @property
    def label(self) -> str:
        """A short name for figures: ``"resnet18"`` or ``"resnet18 (width 16)"``."""
        if self.width is None or self.architecture == "mlp":
            return self.architecture
        return f"{self.architecture} (width {self.width})"

    def build(self, seed: int) -> nn.Module:
        """A freshly initialised network on the CPU, its weights drawn from ``seed`` alone.

        PyTorch's default initialisers draw from the global generator; they run inside
        :func:`torch.random.fork_rng`, seeded, so the caller's random state is left untouched and
        the weights depend only on ``seed`` (and are the same whatever device they move to).
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return ARCHITECTURES[self.architecture](
                self.in_channels, self.image_size, self.num_classes, self.width
            )

    def template(self, training: bool) -> nn.Module:
        """A weightless copy of the architecture (on the ``meta`` device) to call functionally."""
        return self.build(seed=0).to("meta").train(training)

    def check_images(self, images: torch.Tensor, name: str) -> None:
        """Raise a ``ValueError`` naming ``name`` unless ``images`` are finite float (N, C, H, H)."""
        expected = (self.in_channels, self.image_size, self.image_size)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"{name} must be (N, {', '.join(map(str, expected))}) for {self.label}, "
                f"got {tuple(images.shape)}"
            )
        if not images.is_floating_point():
            raise ValueError(f"{name} must be floating point, got {images.dtype}")
        if not torch.isfinite(images).all():
            raise ValueError(f"{name} contain NaN or infinite values")

    def as_key(self) -> dict[str, object]:
        """The fields as a plain dict (part of a cache key)."""
        return asdict(self)
