"""The data manifest: where every outside file comes from, its licence and its checksum.

``data/manifest.toml`` (at the top of the repository; the package holds a link to it) has one
table per file, keyed by the file's name under a data folder (``"taskonomy/all_affinities_1k.pkl"``)
or by a pattern for a family of files (``"wordnet/*"``). The loaders build their
:class:`~taskspace.data.resolve.Source` with :func:`manifest_source`, so addresses and checksums
live in one reviewed file, not in the code, and :func:`pooch_registry` is the ``pooch`` registry
of everything that can be downloaded. Introduced in chapter 1.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from taskspace.data.resolve import Source

__all__ = [
    "MANIFEST_PATH",
    "ManifestEntry",
    "ManifestError",
    "load_manifest",
    "manifest_entry",
    "manifest_source",
    "pooch_registry",
]

#: The manifest as the package sees it (a link to ``data/manifest.toml`` in a checkout).
MANIFEST_PATH = Path(__file__).resolve().parent / "manifest.toml"

_REQUIRED = ("licence", "origin", "offline", "how_to_get")
_OPTIONAL = ("url", "sha256", "content_sha256")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ManifestError(ValueError):
    """The manifest is malformed, or lacks the file asked for; the message names the entry."""


@dataclass(frozen=True)
class ManifestEntry:
    """One table of the manifest (see ``data/manifest.toml`` for the meaning of each field)."""

    name: str
    licence: str
    origin: str
    offline: str
    how_to_get: str
    url: str | None = None
    sha256: str | None = None
    content_sha256: str | None = None


def _entry(name: str, table: Mapping[str, object], path: Path) -> ManifestEntry:
    """Check one table and turn it into a :class:`ManifestEntry`; errors name the entry."""
    unknown = set(table) - set(_REQUIRED) - set(_OPTIONAL)
    missing = [field for field in _REQUIRED if not table.get(field)]
    if unknown or missing:
        raise ManifestError(
            f"{path}: entry {name!r} has unknown fields {sorted(unknown)} or lacks {missing}"
        )
    for field in ("sha256", "content_sha256"):
        value = table.get(field)
        if value is not None and not (isinstance(value, str) and _SHA256.fullmatch(value)):
            raise ManifestError(f"{path}: entry {name!r}: {field} is not a hex SHA-256: {value!r}")
    if not all(isinstance(value, str) for value in table.values()):
        raise ManifestError(f"{path}: entry {name!r}: every field must be a string")
    return ManifestEntry(name=name, **table)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4)
def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, ManifestEntry]:
    """Every entry of the manifest at ``path``, by name (patterns such as ``"wordnet/*"`` too).

    Raises:
        ManifestError: the file is missing, is not TOML, or has a malformed entry.
    """
    try:
        tables = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ManifestError(
            f"the data manifest {path} is missing: reinstall the package, or restore "
            "data/manifest.toml in the repository"
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"the data manifest {path} is not valid TOML: {error}") from error
    return {name: _entry(name, table, Path(path)) for name, table in tables.items()}


def manifest_entry(name: str, path: Path = MANIFEST_PATH) -> ManifestEntry:
    """The entry for the file ``name``: its own table, else the first matching pattern."""
    entries = load_manifest(path)
    if name in entries:
        return entries[name]
    for pattern, entry in entries.items():
        if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(name, pattern):
            return entry
    raise ManifestError(f"{path} has no entry for the data file {name!r}: add one")


def manifest_source(
    name: str,
    *,
    system_paths: tuple[str, ...] = (),
    verify: Callable[[Path], None] | None = None,
) -> Source:
    """The :class:`~taskspace.data.resolve.Source` of ``name``: address, SHA-256 and advice from
    the manifest; where a system package puts the file, and any extra check, from the caller."""
    entry = manifest_entry(name)
    return Source(
        name=name,
        url=entry.url,
        sha256=entry.sha256,
        system_paths=system_paths,
        how_to_get=entry.how_to_get,
        verify=verify,
    )


def pooch_registry(path: Path = MANIFEST_PATH) -> dict[str, str | None]:
    """``{name: "sha256:<hex>"}`` for every file with an address and a checksum (pooch's
    registry format); a file verified by its decompressed content maps to ``None``."""
    return {
        name: f"sha256:{entry.sha256}" if entry.sha256 else None
        for name, entry in load_manifest(path).items()
        if entry.url is not None and not any(c in name for c in "*?[")
    }
