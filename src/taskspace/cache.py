"""A disk cache for expensive results, keyed by a hash of everything that produced them.

A chapter's sweeps train hundreds of networks; each finished measurement is stored at once
(written atomically), so an interrupted run resumes where it stopped and an unchanged re-run
recomputes nothing. Files live under ``cache_dir() / folder`` (``"agreement"`` for chapters 8-10,
``"boxes"`` for chapter 4's Task2Box draws) and hold dicts of tensors, plain numbers and lists,
read back with ``torch.load(weights_only=True)``. Introduced in chapter 8.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from collections.abc import Callable, Mapping

import torch

from taskspace.data.resolve import atomic_write_bytes, cache_dir
from taskspace.digest import digest_tensor

__all__ = ["cache_key", "cached"]

#: Raised when the training code changes in a way that changes results, so old entries are ignored.
CODE_VERSION = 1

#: What an entry holds: tensors, plain numbers and (nested) lists and dicts of them.
Stored = dict[str, object]


def _plain(value: object) -> object:
    """``value`` with tensors replaced by their digests, ready for canonical JSON."""
    if isinstance(value, torch.Tensor):
        return {"tensor": digest_tensor(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def cache_key(parts: Mapping[str, object]) -> str:
    """A hex key for ``parts`` (numbers, strings, tensors, nested dicts and lists)."""
    text = json.dumps({"code_version": CODE_VERSION, **_plain(parts)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def cached(parts: Mapping[str, object], compute: Callable[[], Stored], *, folder: str) -> Stored:
    """``compute()``, or what an earlier call with the same ``parts`` stored in ``folder``.

    An unreadable entry (a file from another version, a damaged disk) is recomputed and
    replaced.
    """
    path = cache_dir() / folder / f"{cache_key(parts)}.pt"
    if path.is_file():
        try:
            return torch.load(path, weights_only=True)
        except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError):
            path.unlink(missing_ok=True)
    value = compute()
    buffer = io.BytesIO()
    torch.save(value, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return value
