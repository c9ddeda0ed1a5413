"""Datasets -> one vector per dataset: the base representations of Task2Box (paper §3.1).

* :mod:`~taskspace.represent.networks` -- the pretrained networks, built offline.
* :mod:`~taskspace.represent.encoders` -- image/text encoders (EfficientNet-Lite0 + MiniLM here,
  OpenCLIP where its weights can be had), with an on-disk cache (:mod:`~taskspace.represent.cache`).

Introduced in chapter 2.
"""

from taskspace.represent.cache import EmbeddingCache
from taskspace.represent.encoders import (
    CheckpointNotFoundError,
    Encoder,
    OfflineEncoder,
    OpenCLIPEncoder,
)

__all__ = [
    "CheckpointNotFoundError",
    "EmbeddingCache",
    "Encoder",
    "OfflineEncoder",
    "OpenCLIPEncoder",
]
