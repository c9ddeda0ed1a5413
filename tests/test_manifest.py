"""The data manifest: every source the book reads is in it, well-formed, and errors are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskspace.data import all_sources
from taskspace.data.manifest import (
    MANIFEST_PATH,
    ManifestError,
    load_manifest,
    manifest_entry,
    manifest_source,
    pooch_registry,
)
from taskspace.data.resolve import data_folders

ROOT = Path(__file__).resolve().parents[1]
#: The checksum list of a mirror of the upstream files, found through ``TASKSPACE_DATA``.
MIRROR_SUMS = next((f / "SHA256SUMS" for f in data_folders() if (f / "SHA256SUMS").is_file()), None)


def test_the_package_reads_the_repositorys_manifest() -> None:
    assert MANIFEST_PATH.resolve() == (ROOT / "data" / "manifest.toml").resolve()


def test_every_source_of_the_book_comes_from_the_manifest() -> None:
    for source in all_sources():
        entry = manifest_entry(source.name)
        assert (source.url, source.sha256) == (entry.url, entry.sha256), source.name
        assert source.how_to_get == entry.how_to_get
        assert entry.licence and entry.origin and entry.offline


def test_every_file_the_book_downloads_is_verified() -> None:
    registry = pooch_registry()
    for source in all_sources():
        if source.url is not None:
            entry = manifest_entry(source.name)
            assert entry.sha256 is not None or entry.content_sha256 is not None, source.name
            assert source.name in registry


@pytest.mark.skipif(
    MIRROR_SUMS is None,
    reason="no SHA256SUMS in a TASKSPACE_DATA folder: set TASKSPACE_DATA to a mirror of the "
    "upstream files (make test sets ../shared/data)",
)
def test_checksums_agree_with_the_upstream_mirror() -> None:
    assert MIRROR_SUMS is not None
    for line in MIRROR_SUMS.read_text().splitlines():
        digest, name = line.split()
        assert manifest_entry(name).sha256 == digest, name


def test_a_pattern_entry_covers_a_family_of_files() -> None:
    source = manifest_source("wordnet/index.noun", system_paths=("/x/index.noun",))
    assert source.url is None and source.system_paths == ("/x/index.noun",)
    assert "wordnet-base" in source.how_to_get


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(text)
    load_manifest.cache_clear()
    return path


GOOD = 'licence = "MIT"\norigin = "o"\noffline = "f"\nhow_to_get = "h"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('["a/b"]\n' + GOOD + 'colour = "red"\n', "unknown fields ['colour']"),
        ('["a/b"]\nlicence = "MIT"\n', "lacks ['origin', 'offline', 'how_to_get']"),
        ('["a/b"]\n' + GOOD + 'sha256 = "abc"\n', "sha256 is not a hex SHA-256"),
        ('["a/b"\n', "not valid TOML"),
    ],
)
def test_malformed_entries_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ManifestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_manifest(path)


def test_missing_manifest_and_missing_entry_are_named(tmp_path: Path) -> None:
    load_manifest.cache_clear()
    with pytest.raises(ManifestError, match="is missing"):
        load_manifest(tmp_path / "nowhere.toml")
    path = _write(tmp_path, '["a/b"]\n' + GOOD)
    assert manifest_entry("a/b", path).licence == "MIT"
    with pytest.raises(ManifestError, match="no entry for the data file 'a/c'"):
        manifest_entry("a/c", path)
