"""Shared fixtures: an isolated data search path, so no test reads or writes the user's cache."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
