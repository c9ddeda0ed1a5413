"""Find a data file by name: local folders first, then a verified download.

Every file the book reads from outside the repository is described by a :class:`Source` and found
by :func:`resolve`, which looks, in order, in

1. the folders listed in the environment variable ``TASKSPACE_DATA`` (``os.pathsep``-separated;
   CI points it at ``../shared/data``, a mirror of the upstream files),
2. the repository's ``data/`` folder, in a checkout (a reader may drop files there),
3. the user cache (``TASKSPACE_CACHE``, default ``~/.cache/taskspace``),
4. well-known system locations (for example Debian's ``/usr/share/datasets/fashion-mnist``),
5. the upstream address -- unless ``TASKSPACE_OFFLINE=1`` -- downloaded by ``pooch`` into the
   cache, which verifies the SHA-256 and moves the file into place only when it matches, so no
   partial file is ever left.

The addresses and checksums come from the data manifest (:mod:`taskspace.data.manifest`). If
nothing works, a :class:`DataNotFoundError` lists every place tried and how to get the file.
Introduced in chapter 1.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from taskspace.cache import cache_dir

__all__ = [
    "ChecksumError",
    "DataNotFoundError",
    "Source",
    "data_folders",
    "is_offline",
    "resolve",
    "search_folders",
    "sha256_of_file",
]

_CHUNK = 1 << 20


class DataNotFoundError(FileNotFoundError):
    """A data source could not be found anywhere; the message says where we looked and what to do."""


class ChecksumError(ValueError):
    """A file's SHA-256 does not match the one published for it."""


@dataclass(frozen=True)
class Source:
    """One upstream data file.

    Attributes:
        name: relative path that identifies the file, e.g. ``"taskonomy/all_affinities_1k.pkl"``.
            It is looked up under every folder of the search path and stored under the cache.
        url: upstream address, or ``None`` when the file cannot be downloaded (package data).
        sha256: expected SHA-256 of the file's bytes, or ``None`` when the file is verified
            another way (see ``verify``).
        system_paths: absolute paths where a system package installs the file.
        how_to_get: a sentence telling a person how to obtain the file by hand.
        verify: optional extra check ``verify(path)`` that raises on a bad file (used where a
            system package ships a re-compressed copy whose bytes differ from upstream).
    """

    name: str
    url: str | None = None
    sha256: str | None = None
    system_paths: tuple[str, ...] = ()
    how_to_get: str = ""
    verify: Callable[[Path], None] | None = field(default=None, compare=False)


def is_offline() -> bool:
    """True when ``TASKSPACE_OFFLINE`` is set to a true value (no downloads are attempted)."""
    return os.environ.get("TASKSPACE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def checkout_data_dir() -> Path | None:
    """The repository's ``data/`` folder when the package runs from a checkout, else ``None``."""
    root = Path(__file__).resolve().parents[3]
    folder = root / "data"
    is_checkout = (root / "pyproject.toml").is_file() and (folder / "manifest.toml").is_file()
    return folder if is_checkout else None


def data_folders() -> list[Path]:
    """The folders listed in ``$TASKSPACE_DATA`` (``os.pathsep``-separated), in order."""
    folders = [Path(p).expanduser() for p in os.environ.get("TASKSPACE_DATA", "").split(os.pathsep)]
    return [f for f in folders if str(f) not in {"", "."}]


def search_folders() -> list[Path]:
    """The folders searched before system locations: ``$TASKSPACE_DATA`` entries, the checkout's
    ``data/`` folder, then the cache."""
    checkout = checkout_data_dir()
    return [*data_folders(), *([checkout] if checkout else []), cache_dir()]


def sha256_of_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check(source: Source, path: Path) -> None:
    """Raise :class:`ChecksumError` (or the ``verify`` hook's error) when ``path`` is not ``source``."""
    if source.sha256 is not None:
        actual = sha256_of_file(path)
        if actual != source.sha256:
            raise ChecksumError(
                f"{path}: SHA-256 is {actual}, but {source.name} should have {source.sha256}. "
                "The file is corrupted or is another version; delete it and fetch it again."
            )
    if source.verify is not None:
        source.verify(path)


def _download(source: Source, destination: Path) -> None:
    """Download ``source.url`` to ``destination`` with ``pooch``, verified before it is kept.

    pooch streams into a temporary file beside ``destination``, checks the SHA-256 and only then
    moves the file into place; a file with an extra ``verify`` check is removed when it fails.

    Raises:
        ChecksumError: the downloaded bytes are not the published file.
        OSError: the download failed (no network, HTTP error, ...).
    """
    import pooch
    import requests

    assert source.url is not None
    destination.parent.mkdir(parents=True, exist_ok=True)
    known_hash = f"sha256:{source.sha256}" if source.sha256 else None
    pooch.get_logger().setLevel("WARNING")  # no "Downloading ..." lines in executed chapters
    try:
        pooch.retrieve(
            source.url,
            known_hash=known_hash,
            fname=destination.name,
            path=destination.parent,
            progressbar=False,
        )
    except ValueError as error:  # pooch: the hash of the downloaded file does not match
        raise ChecksumError(
            f"the download of {source.name} from {source.url} has the wrong SHA-256, so it is "
            f"not the published file and was deleted ({error})"
        ) from error
    except requests.RequestException as error:
        raise OSError(str(error)) from error
    try:
        _check(source, destination)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise


def resolve(source: Source) -> Path:
    """Return a local, verified path for ``source``, downloading it into the cache if needed.

    Raises:
        ChecksumError: a file was found (or downloaded) but its checksum is wrong; a downloaded
            file is removed, a file found locally is left where it is and named in the message.
        DataNotFoundError: the file is nowhere and cannot be downloaded; the message lists each
            place tried and how to obtain the file.
    """
    tried: list[str] = []
    candidates = [folder / source.name for folder in search_folders()]
    candidates += [Path(p) for p in source.system_paths]
    for candidate in candidates:
        if candidate.is_file():
            _check(source, candidate)
            return candidate
        tried.append(f"  - {candidate} (not there)")

    cached = cache_dir() / source.name
    if source.url is None:
        tried.append("  - no upstream address: this file cannot be downloaded")
    elif is_offline():
        tried.append(f"  - download from {source.url} skipped: TASKSPACE_OFFLINE is set")
    else:
        try:
            _download(source, cached)
            return cached
        except ChecksumError:
            raise
        except OSError as error:
            tried.append(f"  - download from {source.url} failed: {error}")

    hint = f"\nHow to get it: {source.how_to_get}" if source.how_to_get else ""
    raise DataNotFoundError(
        f"Could not find data file {source.name!r}. Looked in:\n"
        + "\n".join(tried)
        + "\nSet TASKSPACE_DATA to a folder that holds it (as <folder>/"
        + f"{source.name}), or allow the download by unsetting TASKSPACE_OFFLINE.{hint}"
    )
