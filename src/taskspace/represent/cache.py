"""A disk cache for embeddings, keyed by the encoder, its code and the content of its inputs.

Encoding thousands of images with a pretrained network takes minutes on a CPU; every chapter that
needs the same embeddings reads them from here instead. An entry's key follows the book's one
cache rule (:mod:`taskspace.cache`): the encoder's identity (model, weights, preprocessing), the
SHA-256 of the input tensor's bytes, shape and dtype (or of the strings), and the code of the
encoder's class with everything it calls -- so a changed input, encoder or encoding code can never
return stale embeddings. Files are written atomically and read with ``torch.load(weights_only=True)``.

Introduced in chapter 2.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from taskspace.cache import cache_dir, load_entry, save_entry

__all__ = ["EmbeddingCache"]


class EmbeddingCache:
    """Embeddings stored as ``<root>/<encoder>/<kind>-<key>.pt`` (default root:
    ``<taskspace cache>/embeddings``, see :func:`taskspace.cache.cache_dir`)."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        """The cache folder (resolved when used, so ``TASKSPACE_CACHE`` set later is honoured)."""
        return self._root if self._root is not None else cache_dir() / "embeddings"

    def path(self, encoder: str, kind: str, key: str) -> Path:
        """Where the embeddings of ``kind`` (``"images"``, ``"texts"``) with ``key`` live."""
        safe = re.sub(r"[^A-Za-z0-9_.=+-]", "_", encoder)
        return self.root / safe / f"{kind}-{key}.pt"

    def load(self, encoder: str, kind: str, key: str) -> torch.Tensor | None:
        """The stored tensor (on the CPU), or ``None`` when there is none."""
        stored = load_entry(self.path(encoder, kind, key), map_location="cpu")
        return stored if isinstance(stored, torch.Tensor) else None

    def save(self, encoder: str, kind: str, key: str, value: torch.Tensor) -> None:
        """Store ``value`` (moved to the CPU) atomically."""
        save_entry(self.path(encoder, kind, key), value.detach().cpu().contiguous())
