"""The :class:`Taxonomy` graph: datasets as the nodes of a hierarchy, related by containment.

Task2Box's hierarchy experiments (paper §4.1.1, §5.1) treat every node of a taxonomy as a dataset:
the set of images of the *leaf classes* under it. Dataset ``i`` is inside dataset ``j`` exactly
when node ``i`` is a descendant of node ``j``, so the ground truth the boxes must learn is the
:meth:`Taxonomy.containment_matrix`.

A :class:`Taxonomy` is a directed acyclic graph of parent -> child edges between nodes (a DAG, not
only a tree: a WordNet noun can have two hypernyms) plus the leaf classes each node holds. Leaf
classes are either nodes themselves (ImageNet: the 1000 classes are the childless WordNet synsets)
or labels below the nodes (iNaturalist: species below the order nodes).

Introduced in chapter 1 (``01_tasks_and_data.ipynb``); the hierarchies are embedded in chapter 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import torch

__all__ = ["Taxonomy", "TaxonomyError"]


class TaxonomyError(ValueError):
    """A taxonomy cannot be built: empty input, a cycle, an unknown or duplicated node."""


# --------------------------------------------------------------------------------------------
# The Taxonomy type
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """A hierarchy of ``N`` nodes (datasets) over ``L`` leaf classes.

    Build one with :meth:`from_edges`; the fields are the stored, index-based form. The
    matrices (:meth:`containment_matrix`, :meth:`tree_distance`, :meth:`leaf_matrix`) are
    computed once, cached, and returned as fresh CPU tensors; move them with ``.to(device)``.

    Attributes:
        ids: ``N`` unique node identifiers (WordNet ids such as ``"n01440764"``, taxon names).
        names: ``N`` human-readable names, in the order of ``ids``.
        edges: ``(parent, child)`` pairs of node indices (sorted and without duplicates when
            built by :meth:`from_edges`). A node may have several parents (a DAG); the graph
            has no cycle.
        leaves: ``L`` leaf-class identifiers. They may be node ids (ImageNet classes) or labels
            that are not nodes (iNaturalist species).
        leaf_edges: ``(node, leaf)`` index pairs, sorted: the node holds the leaf class directly.
            A node holds, in addition, every leaf class of its descendants.
        leaf_labels: optional integer label of each leaf class (the ImageNet class index 0..999,
            the iNaturalist species id), kept through :meth:`subtree` and
            :meth:`restrict_to_ancestors_of`; ``None`` when there is none.
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    leaves: tuple[str, ...]
    leaf_edges: tuple[tuple[int, int], ...]
    leaf_labels: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        _check_fields(self)
        # Longest distance from a root; every parent has a smaller generation than its child.
        self.__dict__["_generation"] = _generations(len(self.ids), self.edges, self.ids)
        self.__dict__["_position"] = {node: i for i, node in enumerate(self.ids)}

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple[str, str]],
        names: Mapping[str, str] | None = None,
        *,
        nodes: Sequence[str] | None = None,
        leaf_sets: Mapping[str, Iterable[str]] | None = None,
        leaves: Sequence[str] | None = None,
        leaf_labels: Mapping[str, int] | None = None,
    ) -> Taxonomy:
        """Build a taxonomy from ``(parent, child)`` id pairs.

        Args:
            edges: ``(parent_id, child_id)`` pairs; repeated pairs count once.
            names: node id -> human name; a node without one is named by its id.
            nodes: the node order. Default: the keys of ``names``, then the ids in ``edges`` in
                order of first appearance. When given, every id in ``edges`` and ``names`` must
                be in it.
            leaf_sets: node id -> the leaf classes it holds *directly*. Default: every childless
                node holds itself, so the leaf classes are the childless nodes.
            leaves: the order of the leaf classes. Default: first appearance in ``leaf_sets``,
                visited in node order. When given, it must list exactly the held leaf classes.
            leaf_labels: leaf id -> integer label, for every leaf class (or ``None``).

        Raises:
            TaxonomyError: no node at all, an id that is not a node, a node that is its own
                parent, a cycle (the message shows it), inconsistent leaves.
        """
        pairs = [(str(parent), str(child)) for parent, child in edges]
        names = dict(names or {})
        order = _node_order(pairs, names, nodes)
        position = {node: i for i, node in enumerate(order)}
        index_pairs = sorted({(position[p], position[c]) for p, c in pairs})
        held = _held_leaves(order, index_pairs, leaf_sets, position)
        leaf_order = _leaf_order(held, leaves)
        leaf_position = {leaf: i for i, leaf in enumerate(leaf_order)}
        leaf_pairs = sorted(
            {(node, leaf_position[leaf]) for node, ls in held.items() for leaf in ls}
        )
        labels = None
        if leaf_labels is not None:
            missing = [leaf for leaf in leaf_order if leaf not in leaf_labels]
            if missing:
                raise TaxonomyError(f"leaf_labels has no label for leaf classes {missing[:5]}")
            labels = tuple(int(leaf_labels[leaf]) for leaf in leaf_order)
        return cls(
            ids=tuple(order),
            names=tuple(names.get(node, node) for node in order),
            edges=tuple(index_pairs),
            leaves=tuple(leaf_order),
            leaf_edges=tuple(leaf_pairs),
            leaf_labels=labels,
        )

    # ---- sizes and look-ups ---------------------------------------------------------------

    def __len__(self) -> int:
        """The number of nodes ``N``."""
        return len(self.ids)

    def __contains__(self, node: object) -> bool:
        return node in self._position

    def __repr__(self) -> str:
        depth = self.depth
        return (
            f"Taxonomy({len(self)} nodes, {len(self.edges)} edges, {len(self.leaves)} leaf "
            f"classes, roots={[self.names[self.index(r)] for r in self.roots[:3]]}"
            f"{'...' if len(self.roots) > 3 else ''}, depth 0..{int(depth.max())})"
        )

    def index(self, node: str) -> int:
        """Position of ``node`` in :attr:`ids`; ``KeyError`` naming it if it is not a node."""
        try:
            return self._position[node]
        except KeyError:
            raise KeyError(f"unknown node {node!r} (this taxonomy has {len(self)} nodes)") from None

    def name(self, node: str) -> str:
        """Human-readable name of ``node``."""
        return self.names[self.index(node)]

    def leaf_index(self, leaf: str) -> int:
        """Position of the leaf class ``leaf`` in :attr:`leaves`; ``KeyError`` if unknown."""
        try:
            return self._leaf_position[leaf]
        except KeyError:
            raise KeyError(f"unknown leaf class {leaf!r}") from None

    @cached_property
    def _leaf_position(self) -> dict[str, int]:
        return {leaf: i for i, leaf in enumerate(self.leaves)}

    @cached_property
    def _parents(self) -> tuple[tuple[int, ...], ...]:
        out: list[list[int]] = [[] for _ in self.ids]
        for parent, child in self.edges:
            out[child].append(parent)
        return tuple(tuple(p) for p in out)

    @cached_property
    def _children(self) -> tuple[tuple[int, ...], ...]:
        out: list[list[int]] = [[] for _ in self.ids]
        for parent, child in self.edges:
            out[parent].append(child)
        return tuple(tuple(c) for c in out)

    def parents(self, node: str) -> tuple[str, ...]:
        """The direct parents of ``node`` (two or more in a DAG, none for a root)."""
        return tuple(self.ids[p] for p in self._parents[self.index(node)])

    def children(self, node: str) -> tuple[str, ...]:
        """The direct children of ``node``."""
        return tuple(self.ids[c] for c in self._children[self.index(node)])

    @property
    def roots(self) -> tuple[str, ...]:
        """Nodes without a parent, in node order."""
        return tuple(node for node, ps in zip(self.ids, self._parents, strict=True) if not ps)

    @property
    def childless(self) -> tuple[str, ...]:
        """Nodes without a child, in node order (for ImageNet: the 1000 classes)."""
        return tuple(node for node, cs in zip(self.ids, self._children, strict=True) if not cs)

    def edge_list(self) -> list[tuple[str, str]]:
        """The edges as ``(parent_id, child_id)`` pairs."""
        return [(self.ids[p], self.ids[c]) for p, c in self.edges]

    # ---- tensors ----------------------------------------------------------------------------

    @cached_property
    def _edge_tensor(self) -> torch.Tensor:
        """``(E, 2)`` long: ``(parent, child)`` rows."""
        return torch.tensor(self.edges, dtype=torch.long).reshape(-1, 2)

    @cached_property
    def _ancestors(self) -> torch.Tensor:
        return _ancestor_matrix(len(self), self._edge_tensor, self.__dict__["_generation"])

    @cached_property
    def _depth(self) -> torch.Tensor:
        return _min_depth(len(self), self._children, self.roots_index)

    @property
    def roots_index(self) -> list[int]:
        """Indices of the roots."""
        return [i for i, ps in enumerate(self._parents) if not ps]

    @property
    def depth(self) -> torch.Tensor:
        """``(N,)`` long: the fewest edges from a root down to each node (roots have depth 0).

        In a DAG a node can also be reached by longer paths (WordNet's ``max_depth``); this is
        the shortest one (WordNet's ``min_depth``).
        """
        return self._depth.clone()

    def containment_matrix(self) -> torch.Tensor:
        """``(N, N)`` bool: ``C[i, j]`` is True iff node ``i`` is a strict descendant of ``j``.

        This is Task2Box's hierarchy relation ``d(D_i, D_j) = 1 iff D_i ⊂ D_j`` (Task2Box §4.1.1). The
        diagonal is False. Computed generation by generation (all parents of a node come first),
        in ``O(E * N)`` work.
        """
        return self._ancestors.clone()

    def leaf_matrix(self) -> torch.Tensor:
        """``(N, L)`` bool: ``M[i, l]`` is True iff node ``i`` holds leaf class ``l``.

        A node holds the leaf classes it holds directly and those of all its descendants.
        """
        return self._leaf_matrix.clone()

    @cached_property
    def _leaf_matrix(self) -> torch.Tensor:
        n, n_leaves = len(self), len(self.leaves)
        reach = self._ancestors | torch.eye(n, dtype=torch.bool)  # [i, j]: i is j or below j
        pairs = torch.tensor(self.leaf_edges, dtype=torch.long).reshape(-1, 2)
        counts = torch.zeros(n_leaves, n, dtype=torch.int32)
        counts.index_add_(0, pairs[:, 1], reach[pairs[:, 0]].to(torch.int32))
        return (counts > 0).T.contiguous()

    @property
    def leaf_counts(self) -> torch.Tensor:
        """``(N,)`` long: how many leaf classes each node holds (the dataset's class count)."""
        return self._leaf_matrix.sum(dim=1)

    def leaf_set(self, node: str) -> tuple[str, ...]:
        """The leaf classes held by ``node`` (directly or below it), in leaf order."""
        row = self._leaf_matrix[self.index(node)]
        return tuple(self.leaves[k] for k in row.nonzero().flatten().tolist())

    def leaf_sets(self) -> list[tuple[str, ...]]:
        """For every node (in node order), the leaf classes it holds."""
        return [self.leaf_set(node) for node in self.ids]

    def tree_distance(self, chunk: int = 2048) -> torch.Tensor:
        """``(N, N)`` long: shortest path length between two nodes through parent-child edges.

        The path may go up and down any number of times (the graph is taken as undirected). In a
        tree this is ``depth(i) + depth(j) - 2 * depth(lowest common ancestor)``; in a DAG it can
        be shorter than the path through a common ancestor, when two nodes share a descendant.
        ``-1`` marks pairs with no path (nodes under different roots of a forest); the diagonal
        is 0. Breadth-first search from all sources at once with a sparse adjacency matrix,
        ``chunk`` sources at a time (memory ``O(chunk * N)``).
        """
        return _undirected_distances(len(self), self._edge_tensor, chunk)

    # ---- restriction --------------------------------------------------------------------------

    def subtree(self, root: str) -> Taxonomy:
        """The taxonomy of ``root`` and all its descendants, with the leaf classes they hold.

        Edges from a kept node's other parents (outside the subtree) are dropped, so ``root`` is
        the only root. Node and leaf order are kept.
        """
        r = self.index(root)
        keep = self._ancestors[:, r].clone()
        keep[r] = True
        return self._select(keep, self._leaf_matrix[r].clone())

    def restrict_to_ancestors_of(self, leaves: Iterable[str]) -> Taxonomy:
        """Keep the nodes that hold at least one of ``leaves``, and only those leaf classes.

        The kept nodes are closed upwards (an ancestor of a kept node is kept), so containment
        between kept nodes is unchanged. Node and leaf order are kept.

        Raises:
            KeyError: a leaf class that is not in this taxonomy.
            TaxonomyError: ``leaves`` is empty.
        """
        wanted = torch.zeros(len(self.leaves), dtype=torch.bool)
        for leaf in leaves:
            wanted[self.leaf_index(leaf)] = True
        if not bool(wanted.any()):
            raise TaxonomyError("restrict_to_ancestors_of needs at least one leaf class")
        keep = self._leaf_matrix[:, wanted].any(dim=1)
        return self._select(keep, wanted)

    def _select(self, keep: torch.Tensor, keep_leaves: torch.Tensor) -> Taxonomy:
        """The taxonomy induced by the nodes where ``keep`` ``(N,)`` and leaves ``(L,)`` are True."""
        kept = keep.nonzero().flatten().tolist()
        kept_leaves = keep_leaves.nonzero().flatten().tolist()
        node_map = {old: new for new, old in enumerate(kept)}
        leaf_map = {old: new for new, old in enumerate(kept_leaves)}
        edges = [
            (node_map[p], node_map[c]) for p, c in self.edges if p in node_map and c in node_map
        ]
        leaf_edges = [
            (node_map[i], leaf_map[k])
            for i, k in self.leaf_edges
            if i in node_map and k in leaf_map
        ]
        return Taxonomy(
            ids=tuple(self.ids[i] for i in kept),
            names=tuple(self.names[i] for i in kept),
            edges=tuple(sorted(edges)),
            leaves=tuple(self.leaves[k] for k in kept_leaves),
            leaf_edges=tuple(sorted(leaf_edges)),
            leaf_labels=(
                None
                if self.leaf_labels is None
                else tuple(self.leaf_labels[k] for k in kept_leaves)
            ),
        )

    # ---- display ------------------------------------------------------------------------------

    def summary(self, max_depth: int = 2, max_children: int = 8) -> str:
        """A readable outline: the counts, then the top ``max_depth`` levels below each root.

        Each line shows a node's name, its id (when it differs) and how many leaf classes it holds; at most
        ``max_children`` children are listed per node (the ones holding most leaf classes).
        """
        counts = self.leaf_counts.tolist()
        lines = [repr(self)]

        def visit(i: int, level: int) -> None:
            label = (
                self.names[i]
                if self.names[i] == self.ids[i]
                else f"{self.names[i]} ({self.ids[i]})"
            )
            lines.append(f"{'  ' * level}{label}: {counts[i]} leaf classes")
            if level >= max_depth:
                return
            children = sorted(self._children[i], key=lambda c: (-counts[c], self.ids[c]))
            for c in children[:max_children]:
                visit(c, level + 1)
            if len(children) > max_children:
                lines.append(f"{'  ' * (level + 1)}... {len(children) - max_children} more")

        for r in self.roots_index[:max_children]:
            visit(r, 0)
        if len(self.roots_index) > max_children:
            lines.append(f"... {len(self.roots_index) - max_children} more roots")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Validation and graph kernels (small functions, tested through Taxonomy)
# --------------------------------------------------------------------------------------------


def _check_fields(tax: Taxonomy) -> None:
    """Raise :class:`TaxonomyError` when the stored fields are inconsistent."""
    n, n_leaves = len(tax.ids), len(tax.leaves)
    if n == 0:
        raise TaxonomyError("a taxonomy needs at least one node; the input is empty")
    if len(tax.names) != n:
        raise TaxonomyError(f"{n} ids but {len(tax.names)} names")
    _check_unique(tax.ids, "node id")
    _check_unique(tax.leaves, "leaf class")
    for parent, child in tax.edges:
        if not (0 <= parent < n and 0 <= child < n):
            raise TaxonomyError(f"edge ({parent}, {child}) refers to a node outside 0..{n - 1}")
        if parent == child:
            raise TaxonomyError(f"node {tax.ids[parent]!r} is its own parent")
    held = [False] * n_leaves
    for node, leaf in tax.leaf_edges:
        if not (0 <= node < n and 0 <= leaf < n_leaves):
            raise TaxonomyError(f"leaf edge ({node}, {leaf}) is out of range")
        held[leaf] = True
    orphans = [tax.leaves[k] for k, h in enumerate(held) if not h]
    if orphans:
        raise TaxonomyError(f"leaf classes held by no node: {orphans[:5]}")
    if tax.leaf_labels is not None and len(tax.leaf_labels) != n_leaves:
        raise TaxonomyError(f"{n_leaves} leaf classes but {len(tax.leaf_labels)} leaf labels")


def _check_unique(items: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise TaxonomyError(f"{what} {item!r} appears twice")
        seen.add(item)


def _node_order(
    pairs: list[tuple[str, str]], names: Mapping[str, str], nodes: Sequence[str] | None
) -> list[str]:
    """The node ids in order; checks that every mentioned id is a node."""
    if nodes is None:
        order = list(dict.fromkeys([*names, *(x for pair in pairs for x in pair)]))
    else:
        order = [str(node) for node in nodes]
        known = set(order)
        for where, ids in (("edges", [x for pair in pairs for x in pair]), ("names", names)):
            unknown = [x for x in ids if x not in known]
            if unknown:
                raise TaxonomyError(f"{where} mention unknown nodes {sorted(set(unknown))[:5]}")
    if not order:
        raise TaxonomyError("a taxonomy needs at least one node; the input is empty")
    return order


def _held_leaves(
    order: list[str],
    index_pairs: list[tuple[int, int]],
    leaf_sets: Mapping[str, Iterable[str]] | None,
    position: Mapping[str, int],
) -> dict[int, list[str]]:
    """Node index -> the leaf classes it holds directly."""
    if leaf_sets is None:
        has_child = {parent for parent, _ in index_pairs}
        return {i: [node] for i, node in enumerate(order) if i not in has_child}
    unknown = [node for node in leaf_sets if node not in position]
    if unknown:
        raise TaxonomyError(f"leaf_sets mention unknown nodes {unknown[:5]}")
    held = {position[node]: [str(leaf) for leaf in ls] for node, ls in leaf_sets.items()}
    return dict(sorted(held.items()))


def _leaf_order(held: Mapping[int, list[str]], leaves: Sequence[str] | None) -> list[str]:
    found = list(dict.fromkeys(leaf for ls in held.values() for leaf in ls))
    if leaves is None:
        return found
    order = [str(leaf) for leaf in leaves]
    if set(order) != set(found) or len(order) != len(found):
        extra, missing = set(order) - set(found), set(found) - set(order)
        raise TaxonomyError(
            f"leaves must list each held leaf class once; not held: {sorted(extra)[:5]}, "
            f"not listed: {sorted(missing)[:5]}"
        )
    return order


def _generations(n: int, edges: Sequence[tuple[int, int]], ids: Sequence[str]) -> torch.Tensor:
    """``(N,)`` long: longest path from a root to each node (Kahn's algorithm).

    Raises :class:`TaxonomyError` showing one cycle when the edges are not acyclic.
    """
    children: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for parent, child in edges:
        children[parent].append(child)
        indegree[child] += 1
    generation = [0] * n
    ready = [i for i in range(n) if indegree[i] == 0]
    done = 0
    while ready:
        node = ready.pop()
        done += 1
        for child in children[node]:
            generation[child] = max(generation[child], generation[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if done < n:
        cycle = _find_cycle(edges, [i for i in range(n) if indegree[i] > 0])
        raise TaxonomyError("the edges contain a cycle: " + " -> ".join(ids[i] for i in cycle))
    return torch.tensor(generation, dtype=torch.long)


def _find_cycle(edges: Sequence[tuple[int, int]], blocked: list[int]) -> list[int]:
    """One cycle among the ``blocked`` nodes (those Kahn's algorithm could not order).

    Every blocked node has a blocked parent, so walking up from any of them must repeat a node.
    """
    inside = set(blocked)
    parent_of: dict[int, int] = {}
    for parent, child in edges:
        if parent in inside and child in inside:
            parent_of.setdefault(child, parent)
    path, seen = [blocked[0]], {blocked[0]: 0}
    while True:
        nxt = parent_of[path[-1]]
        if nxt in seen:
            cycle = path[seen[nxt] :][::-1]  # parent -> child order
            return [*cycle, cycle[0]]
        seen[nxt] = len(path)
        path.append(nxt)


def _ancestor_matrix(n: int, edges: torch.Tensor, generation: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` bool ``A[i, j]``: ``j`` is a strict ancestor of ``i``.

    ``edges`` is ``(E, 2)`` of ``(parent, child)``. Nodes are filled generation by generation;
    all parents of a node lie in earlier generations, so their rows are final when read.
    """
    ancestors = torch.zeros(n, n, dtype=torch.bool)
    if edges.numel() == 0:
        return ancestors
    parent, child = edges[:, 0], edges[:, 1]
    edge_generation = generation[child]
    for g in range(1, int(generation.max()) + 1):
        selected = edge_generation == g
        p, c = parent[selected], child[selected]
        rows = ancestors[p].to(torch.int32)  # (E_g, N): the parents' ancestors ...
        rows[torch.arange(len(p)), p] = 1  # ... and the parents themselves
        targets, slot = torch.unique(c, return_inverse=True)
        merged = torch.zeros(len(targets), n, dtype=torch.int32).index_add_(0, slot, rows)
        ancestors[targets] = merged > 0
    return ancestors


def _min_depth(n: int, children: Sequence[Sequence[int]], roots: list[int]) -> torch.Tensor:
    """``(N,)`` long: breadth-first distance from the nearest root, following child edges."""
    depth = [-1] * n
    frontier = list(roots)
    for r in roots:
        depth[r] = 0
    level = 0
    while frontier:
        level += 1
        nxt = []
        for node in frontier:
            for child in children[node]:
                if depth[child] < 0:
                    depth[child] = level
                    nxt.append(child)
        frontier = nxt
    return torch.tensor(depth, dtype=torch.long)


def _undirected_distances(n: int, edges: torch.Tensor, chunk: int) -> torch.Tensor:
    """``(N, N)`` long hop distances in the undirected graph of ``edges`` ``(E, 2)``; -1: none."""
    distance = torch.full((n, n), -1, dtype=torch.long)
    if edges.numel():
        both = torch.cat([edges, edges.flip(1)]).T  # (2, 2E): each edge in both directions
        adjacency = torch.sparse_coo_tensor(
            both, torch.ones(both.shape[1]), (n, n), check_invariants=True
        ).coalesce()
    for start in range(0, n, chunk):
        sources = torch.arange(start, min(start + chunk, n))
        reached = torch.zeros(n, len(sources), dtype=torch.bool)  # [node, source]
        reached[sources, torch.arange(len(sources))] = True
        distance[sources, sources] = 0
        frontier, step = reached.clone(), 0
        while edges.numel() and bool(frontier.any()):
            step += 1
            frontier = (torch.sparse.mm(adjacency, frontier.float()) > 0) & ~reached
            reached |= frontier
            node, source = frontier.nonzero(as_tuple=True)
            distance[sources[source], node] = step
    return distance
