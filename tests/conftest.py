"""Shared fixtures: an isolated data search path, so no test reads or writes the user's cache;
a cache that may be read but not filled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from taskspace.cache import Stored, cached


@pytest.fixture
def data_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An empty ``TASKSPACE_DATA`` folder and an empty cache, the checkout's ``data/`` folder out of
    the search path; downloads are switched off."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    monkeypatch.setenv("TASKSPACE_DATA", str(data))
    monkeypatch.setenv("TASKSPACE_CACHE", str(cache))
    monkeypatch.setenv("TASKSPACE_OFFLINE", "1")
    monkeypatch.setattr("taskspace.data.resolve.checkout_data_dir", lambda: None)
    return data, cache


@pytest.fixture
def read_only_cache(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``read_only(module, message)``: from then on, ``module``'s calls of
    :func:`taskspace.cache.cached` return the stored entry (keyed by the same parts and code) and
    raise ``AssertionError(message)`` where they would compute. (Replacing the function that
    computes would change the code part of the key, so a test cannot check a read that way.)"""

    def read_only(module: ModuleType, message: str = "recomputed: no such entry") -> None:
        def reader(
            parts: dict[str, object], compute: Callable[[], Stored], *, folder: str, **code: object
        ) -> Stored:
            def refuse() -> Stored:
                raise AssertionError(message)

            return cached(parts, refuse, folder=folder, code=code.get("code") or compute)  # type: ignore[arg-type]

        monkeypatch.setattr(module, "cached", reader)

    return read_only
