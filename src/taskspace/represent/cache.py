"""A disk cache for embeddings, keyed by the encoder and the content of its inputs.

Encoding thousands of images with a pretrained network takes minutes on a CPU; every chapter that
needs the same embeddings reads them from here instead. A key is the encoder's identity (model,
weights, preprocessing) plus the SHA-256 of the input tensor's bytes, shape and dtype (or of the
strings), so a changed input or a changed encoder can never return stale embeddings. Files are
written atomically and read with ``torch.load(weights_only=True)``.

Introduced in chapter 2.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import torch

from taskspace.data.resolve import atomic_write_bytes, cache_dir

__all__ = ["EmbeddingCache"]


class EmbeddingCache:
    """Embeddings stored as ``<root>/<encoder>/<kind>-<digest>.pt`` (default root:
    ``<taskspace cache>/embeddings``, see :func:`taskspace.data.resolve.cache_dir`)."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        """The cache folder (resolved when used, so ``TASKSPACE_CACHE`` set later is honoured)."""
        return self._root if self._root is not None else cache_dir() / "embeddings"

    def path(self, encoder: str, kind: str, digest: str) -> Path:
        """Where the embeddings of ``kind`` (``"images"``, ``"texts"``) with ``digest`` live."""
        safe = re.sub(r"[^A-Za-z0-9_.=+-]", "_", encoder)
        return self.root / safe / f"{kind}-{digest}.pt"

    def load(self, encoder: str, kind: str, digest: str) -> torch.Tensor | None:
        """The stored tensor (on the CPU), or ``None`` when there is none."""
        path = self.path(encoder, kind, digest)
        if not path.is_file():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    def save(self, encoder: str, kind: str, digest: str, value: torch.Tensor) -> None:
        """Store ``value`` (moved to the CPU) atomically."""
        buffer = io.BytesIO()
        torch.save(value.detach().cpu().contiguous(), buffer)
        atomic_write_bytes(self.path(encoder, kind, digest), buffer.getvalue())
