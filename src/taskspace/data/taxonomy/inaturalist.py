"""iNaturalist-2018 as a :class:`Taxonomy`: classes above orders above species, and genera.

:func:`inat2018_taxonomy` -- the 57 classes and 272 orders of iNaturalist-2018 with their species,
from the task lists of Task2Vec (Achille et al., 2019); :func:`inat2018_genus_taxonomy` and
:func:`add_genus_level` -- a third level below the orders: the genera of the binomial species
names (chapter 4). Introduced in chapter 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from taskspace.data.manifest import manifest_source
from taskspace.data.resolve import resolve
from taskspace.data.taxonomy.graph import Taxonomy, TaxonomyError

__all__ = [
    "INAT2018_CLASSES",
    "INAT2018_ORDERS",
    "INAT2018_UNRANKED_ORDERS",
    "InatTask",
    "TaskFileError",
    "add_genus_level",
    "genus_of",
    "inat2018_genus_taxonomy",
    "inat2018_taxonomy",
    "read_inat_tasks",
]

#: The 272 order-level task entries of iNaturalist-2018 (271 orders and "NA")
#: (``{id, name, species_names, ...}`` entries); address and checksum in the data manifest.
INAT2018_ORDERS = manifest_source("task2vec/inat2018_tasks.json")

#: The 57 class-level tasks of iNaturalist-2018, same format.
INAT2018_CLASSES = manifest_source("task2vec/inat2018_classes_tasks.json")


class TaskFileError(ValueError):
    """A task-list JSON file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class InatTask:
    """One Task2Vec iNaturalist task: a taxon (class or order) and its species."""

    name: str
    species: tuple[str, ...]
    species_ids: tuple[int, ...] | None


def read_inat_tasks(path: Path) -> list[InatTask]:
    """Read a Task2Vec iNaturalist task list: a JSON list of ``{name, species_names, ...}``.

    ``species_ids``, when present, must have one integer per species name.

    Raises:
        TaskFileError: not a list, an entry without a non-empty ``name`` or with an empty or
            missing ``species_names``, or mismatched ``species_ids``; the message names the file
            and the entry.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise TaskFileError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(data, list) or not data:
        raise TaskFileError(f"{path}: expected a non-empty JSON list of tasks")
    return [_parse_task(path, i, entry) for i, entry in enumerate(data)]


def _parse_task(path: Path, i: int, entry: Any) -> InatTask:
    where = f"{path}, entry {i}"
    if not isinstance(entry, dict):
        raise TaskFileError(f"{where}: expected an object, found {type(entry).__name__}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise TaskFileError(f"{where}: missing or empty 'name'")
    where = f"{where} ({name!r})"
    species = entry.get("species_names")
    if not isinstance(species, list) or not species:
        raise TaskFileError(f"{where}: 'species_names' is missing or empty")
    if not all(isinstance(s, str) and s for s in species):
        raise TaskFileError(f"{where}: 'species_names' must hold non-empty strings")
    ids = entry.get("species_ids")
    if ids is not None and (
        not isinstance(ids, list)
        or len(ids) != len(species)
        or not all(isinstance(k, int) for k in ids)
    ):
        raise TaskFileError(f"{where}: 'species_ids' must list one integer per species name")
    return InatTask(name, tuple(species), None if ids is None else tuple(ids))


#: Order entries of the upstream list that are not a taxon: ``"NA"`` gathers 31 species whose
#: order iNaturalist-2018 did not record (30 sea snails of Gastropoda and one fungus of
#: Agaricomycetes), so it lies inside no single class.
INAT2018_UNRANKED_ORDERS = ("NA",)


def inat2018_taxonomy(skip_orders: Iterable[str] = INAT2018_UNRANKED_ORDERS) -> Taxonomy:
    """iNaturalist-2018 as Task2Vec's tasks: 57 classes above 271 orders, over 8142 species.

    Nodes are the 57 classes (in file order) then the orders (in file order), identified by their
    taxon names; the leaf classes are the species, ordered by species id (``leaf_labels`` holds
    the ids 0..8141). An order's parent is the one class whose species include all of the order's
    species. Each order holds its species directly; a class holds directly the species that none
    of its orders has, so every class holds exactly the species of its upstream entry. The
    classes are roots: the graph is a forest, and :meth:`Taxonomy.tree_distance` is -1 across
    classes.

    The upstream order list has 272 entries, but one, ``"NA"``, is not an order (see
    :data:`INAT2018_UNRANKED_ORDERS`): it is left out by default, and its 31 species stay in
    their classes (held directly). ``skip_orders=()`` keeps it, and then fails as below.

    Task2Box (§4.1.1) used iNaturalist-2021 + CUB with 47 classes and 202 orders (and 589
    families); these 2018 lists are the ones published with their species.

    Raises:
        TaskFileError: a malformed file, an order inside no class or inside several (the message
            names it), a taxon name used twice, or one species with two different ids.
    """
    classes = read_inat_tasks(resolve(INAT2018_CLASSES))
    skipped = set(skip_orders)
    orders = [o for o in read_inat_tasks(resolve(INAT2018_ORDERS)) if o.name not in skipped]
    _check_taxon_names(classes, orders)
    species_sets = {c.name: set(c.species) for c in classes}
    edges = [(_class_of(order, species_sets), order.name) for order in orders]
    covered: dict[str, set[str]] = {c.name: set() for c in classes}
    for (parent, _), order in zip(edges, orders, strict=True):
        covered[parent] |= set(order.species)
    leaf_sets = {o.name: list(o.species) for o in orders}
    for c in classes:
        direct = [s for s in c.species if s not in covered[c.name]]
        if direct:
            leaf_sets[c.name] = direct
    labels = _species_ids([*classes, *orders])
    leaves = sorted(
        {s for ls in leaf_sets.values() for s in ls}, key=lambda s: (labels.get(s, -1), s)
    )
    return Taxonomy.from_edges(
        edges,
        nodes=[t.name for t in (*classes, *orders)],
        leaf_sets=leaf_sets,
        leaves=leaves,
        leaf_labels=labels if all(s in labels for s in leaves) else None,
    )


def genus_of(species: str) -> str:
    """The genus of a binomial species name: its first word (``"Parus major"`` -> ``"Parus"``)."""
    words = species.split()
    if len(words) < 2:
        raise TaxonomyError(f"{species!r} is not a binomial 'Genus species' name")
    return words[0]


def add_genus_level(taxonomy: Taxonomy, parents: Iterable[str], min_species: int = 2) -> Taxonomy:
    """``taxonomy`` with a genus node below each of ``parents`` for its genera (chapter 4).

    The species a parent holds *directly* are grouped by genus (:func:`genus_of`); each genus
    with at least ``min_species`` of them becomes a child node holding them, and the parent
    keeps the rest directly. A genus is named by its genus; where that name is already a node
    or occurs under two parents (a homonym across kingdoms), it is ``"Genus (Parent)"``.
    Leaf classes, their order and labels are unchanged.

    Raises:
        TaxonomyError: ``min_species < 1``, or a held species name that is not binomial.
    """
    if min_species < 1:
        raise TaxonomyError(f"min_species must be >= 1, got {min_species}")
    direct = {taxonomy.ids[node]: [] for node in range(len(taxonomy))}
    for node, leaf in taxonomy.leaf_edges:
        direct[taxonomy.ids[node]].append(taxonomy.leaves[leaf])
    genera: dict[tuple[str, str], list[str]] = {}
    for parent in parents:
        for species in direct[taxonomy.ids[taxonomy.index(parent)]]:
            genera.setdefault((parent, genus_of(species)), []).append(species)
    kept = {key: species for key, species in genera.items() if len(species) >= min_species}
    uses = [genus for _, genus in kept]
    taken = set(taxonomy.ids)

    def node_id(parent: str, genus: str) -> str:
        return f"{genus} ({parent})" if genus in taken or uses.count(genus) > 1 else genus

    ids = {key: node_id(*key) for key in kept}
    for (parent, _), species in kept.items():
        moved = set(species)
        direct[parent] = [s for s in direct[parent] if s not in moved]
    leaf_sets = {node: held for node, held in direct.items() if held}
    leaf_sets.update({ids[key]: species for key, species in kept.items()})
    labels = taxonomy.leaf_labels
    return Taxonomy.from_edges(
        [*taxonomy.edge_list(), *((parent, ids[parent, genus]) for parent, genus in kept)],
        names=dict(zip(taxonomy.ids, taxonomy.names, strict=True)),
        nodes=[*taxonomy.ids, *ids.values()],
        leaf_sets=leaf_sets,
        leaves=taxonomy.leaves,
        leaf_labels=None if labels is None else dict(zip(taxonomy.leaves, labels, strict=True)),
    )


def inat2018_genus_taxonomy(min_species: int = 2) -> Taxonomy:
    """iNaturalist-2018 with three levels: class ⊃ order ⊃ genus (chapter 4).

    :func:`inat2018_taxonomy` plus, below every order, its genera with at least
    ``min_species`` species (:func:`add_genus_level`): the genus is the first word of the
    binomial species names of the Task2Vec lists. This gives the chains ``genus ⊂ order ⊂
    class`` that Task2Box's iNat + CUB taxonomy (classes, orders and families) has.
    """
    taxonomy = inat2018_taxonomy()
    orders = [taxonomy.ids[child] for _, child in taxonomy.edges]
    return add_genus_level(taxonomy, orders, min_species)


def _check_taxon_names(classes: list[InatTask], orders: list[InatTask]) -> None:
    names = [t.name for t in (*classes, *orders)]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TaskFileError(f"iNaturalist taxon names used twice: {repeated[:5]}")


def _class_of(order: InatTask, species_sets: Mapping[str, set[str]]) -> str:
    """The single class whose species include all of ``order``'s species."""
    species = set(order.species)
    holders = [name for name, held in species_sets.items() if species <= held]
    if len(holders) != 1:
        found = "no class" if not holders else f"{len(holders)} classes {holders}"
        raise TaskFileError(
            f"iNaturalist order {order.name!r}: its {len(species)} species lie inside {found}; "
            "expected exactly one"
        )
    return holders[0]


def _species_ids(tasks: Sequence[InatTask]) -> dict[str, int]:
    """Species name -> id, checked to agree across all tasks that list it."""
    ids: dict[str, int] = {}
    for task in tasks:
        if task.species_ids is None:
            continue
        for name, k in zip(task.species, task.species_ids, strict=True):
            if ids.setdefault(name, k) != k:
                raise TaskFileError(
                    f"iNaturalist species {name!r} has id {ids[name]} and, in {task.name!r}, {k}"
                )
    return ids
