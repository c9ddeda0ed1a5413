"""The data resolver: search order, verified atomic downloads, and its error messages."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from taskspace.cache import atomic_write_bytes
from taskspace.data.resolve import (
    ChecksumError,
    DataNotFoundError,
    Source,
    resolve,
)

PAYLOAD = b"the real content\n"
GOOD = Source(
    name="demo/file.txt",
    url="https://example.invalid/file.txt",
    sha256=hashlib.sha256(PAYLOAD).hexdigest(),
    how_to_get="ask the authors",
)


class _Response:
    """What ``requests.get`` returns, as far as pooch's HTTP downloader uses it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers = {"content-length": str(len(body))}

    def raise_for_status(self) -> None:
        pass

    def iter_content(self, chunk_size: int) -> list[bytes]:
        return [self.body[i : i + chunk_size] for i in range(0, len(self.body), chunk_size)]


def _serve(monkeypatch: pytest.MonkeyPatch, body: bytes) -> list[str]:
    """Make every HTTP GET (pooch downloads with ``requests``) return ``body``; returns the list
    of URLs requested."""
    requested: list[str] = []

    def fake_get(url: str, **options: object) -> _Response:
        requested.append(url)
        return _Response(body)

    monkeypatch.setattr(requests, "get", fake_get)
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

    def refuse(url: str, **options: object) -> _Response:
        raise requests.ConnectionError("network unreachable")

    monkeypatch.setattr(requests, "get", refuse)
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


def test_a_file_dropped_into_the_checkouts_data_folder_is_found(
    data_dirs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout-data"
    (checkout / "demo").mkdir(parents=True)
    (checkout / "demo" / "file.txt").write_bytes(PAYLOAD)
    monkeypatch.setattr("taskspace.data.resolve.checkout_data_dir", lambda: checkout)
    assert resolve(GOOD) == checkout / "demo" / "file.txt"


def test_the_checkout_data_folder_is_the_repositorys() -> None:
    from taskspace.data.resolve import checkout_data_dir

    assert checkout_data_dir() == Path(__file__).resolve().parents[1] / "data"
