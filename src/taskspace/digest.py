"""Content hashes of tensors and strings: the keys of the project's disk caches.

A cache key built from these can never return a stale result for changed inputs: the hash covers
a tensor's dtype, shape and values, or every string with its length. Used by :mod:`taskspace.cache`,
whose keys hold them (chapter 2's embeddings, chapter 4's boxes, chapter 7's map, chapters 8-10).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

__all__ = ["digest_tensor", "digest_texts"]


def digest_tensor(tensor: torch.Tensor) -> str:
    """Hex SHA-256 of a tensor's dtype, shape and values (on the CPU, contiguous)."""
    data = tensor.detach().cpu().contiguous()
    digest = hashlib.sha256(f"{data.dtype}{tuple(data.shape)}".encode())
    digest.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
    return digest.hexdigest()


def digest_texts(texts: Sequence[str]) -> str:
    """Hex SHA-256 of a sequence of strings (length-prefixed, so boundaries count)."""
    digest = hashlib.sha256(str(len(texts)).encode())
    for text in texts:
        encoded = text.encode()
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    return digest.hexdigest()
