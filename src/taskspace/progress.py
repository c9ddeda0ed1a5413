"""Progress bars for long loops: shown to a person, silent under tests and ``make book``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypeVar

from tqdm.std import tqdm

T = TypeVar("T")


def is_quiet() -> bool:
    """True when ``TASKSPACE_QUIET`` is set to a true value (the chapter runner sets it)."""
    return os.environ.get("TASKSPACE_QUIET", "").strip().lower() in {"1", "true", "yes", "on"}


def progress(iterable: Iterable[T], description: str = "", total: int | None = None) -> Iterable[T]:
    """``iterable`` wrapped in a text progress bar, unless quiet."""
    return tqdm(iterable, desc=description, total=total, disable=is_quiet(), leave=False)
