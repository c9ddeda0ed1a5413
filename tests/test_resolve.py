"""The data resolver: search order, verified atomic downloads, and its error messages."""

from __future__ import annotations

import hashlib
import io
import urllib.request
from pathlib import Path

import pytest

from taskspace.data.resolve import (
    ChecksumError,
    DataNotFoundError,
    Source,
    atomic_write_bytes,
    resolve,
)

PAYLOAD = b"the real content\n"
GOOD = Source(
    name="demo/file.txt",
    url="https://example.invalid/file.txt",
    sha256=hashlib.sha256(PAYLOAD).hexdigest(),
    how_to_get="ask the authors",
)


def _serve(monkeypatch: pytest.MonkeyPatch, body: bytes) -> list[str]:
    """Make urlopen return ``body``; returns the list of URLs requested."""
    requested: list[str] = []

    def fake_urlopen(url: str, timeout: float) -> io.BytesIO:
        requested.append(url)
        return io.BytesIO(body)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    return requested


def test_finds_file_in_taskspace_data_before_the_cache(data_dirs: tuple[Path, Path]) -> None:
    data, cache = data_dirs
    for folder in (data, cache):
        (folder / "demo").mkdir(parents=True)
        (folder / "demo" / "file.txt").write_bytes(PAYLOAD)
    assert resolve(GOOD) == data / "demo" / "file.txt"


def test_system_path_is_used_when_search_folders_lack_the_file(
    data_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    system = tmp_path / "usr-share" / "file.txt"
    system.parent.mkdir()
    system.write_bytes(PAYLOAD)
    source = Source(name=GOOD.name, sha256=GOOD.sha256, system_paths=(str(system),))
    assert resolve(source) == system


def test_missing_file_offline_names_every_place_and_the_remedy(
    data_dirs: tuple[Path, Path],
) -> None:
    data, cache = data_dirs
    with pytest.raises(DataNotFoundError) as error:
        resolve(GOOD)
    message = str(error.value)
    assert str(data / "demo" / "file.txt") in message
    assert str(cache / "demo" / "file.txt") in message
    assert "TASKSPACE_OFFLINE" in message
    assert "ask the authors" in message


def test_download_is_verified_and_cached(
    data_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cache = data_dirs
    monkeypatch.delenv("TASKSPACE_OFFLINE")
    requested = _serve(monkeypatch, PAYLOAD)
    path = resolve(GOOD)
    assert path == cache / "demo" / "file.txt"
    assert path.read_bytes() == PAYLOAD
    assert resolve(GOOD) == path
    assert requested == [GOOD.url]  # the second call found the cached file


def test_checksum_mismatch_on_download_leaves_no_file(
    data_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cache = data_dirs
    monkeypatch.delenv("TASKSPACE_OFFLINE")
    _serve(monkeypatch, b"tampered")
    with pytest.raises(ChecksumError, match="SHA-256"):
        resolve(GOOD)
    leftovers = list(cache.rglob("*")) if cache.exists() else []
    assert [p for p in leftovers if p.is_file()] == []


def test_local_file_with_wrong_checksum_is_named(data_dirs: tuple[Path, Path]) -> None:
    data, _ = data_dirs
    (data / "demo").mkdir()
    (data / "demo" / "file.txt").write_bytes(b"other version")
    with pytest.raises(ChecksumError, match=r"file\.txt"):
        resolve(GOOD)


def test_failed_download_is_reported(
    data_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TASKSPACE_OFFLINE")

    def refuse(url: str, timeout: float) -> io.BytesIO:
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(DataNotFoundError, match="network unreachable"):
        resolve(GOOD)


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"

    def chunks():
        yield b"half"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, chunks())
    assert list(tmp_path.iterdir()) == []
    atomic_write_bytes(target, b"whole")
    assert target.read_bytes() == b"whole"
