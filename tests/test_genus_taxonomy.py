"""A genus level below chosen nodes, from binomial species names (chapter 4)."""

from __future__ import annotations

import pytest

from taskspace.data.taxonomy import Taxonomy, TaxonomyError, add_genus_level, genus_of


def two_orders() -> Taxonomy:
    """class C -> orders O1, O2. O1 holds Parus major, Parus minor, Sitta europaea; O2 holds
    Chloris chloris, Chloris sinica (a genus name also used in O1's toy homonym below) and
    O1 also holds Chloris x; C holds one species directly."""
    return Taxonomy.from_edges(
        [("C", "O1"), ("C", "O2")],
        nodes=["C", "O1", "O2"],
        leaf_sets={
            "O1": ["Parus major", "Parus minor", "Sitta europaea", "Chloris x", "Chloris y"],
            "O2": ["Chloris chloris", "Chloris sinica"],
            "C": ["Lonely species"],
        },
    )


def test_genera_with_enough_species_become_nodes_below_their_order() -> None:
    base = two_orders()
    t = add_genus_level(base, ["O1", "O2"], min_species=2)
    assert set(t.ids) == {"C", "O1", "O2", "Parus", "Chloris (O1)", "Chloris (O2)"}
    assert t.parents("Parus") == ("O1",)
    assert set(t.leaf_set("Parus")) == {"Parus major", "Parus minor"}
    assert set(t.leaf_set("Chloris (O2)")) == {"Chloris chloris", "Chloris sinica"}
    assert "Sitta" not in t  # one species only: it stays in its order
    for node in ("C", "O1", "O2"):  # every old node keeps exactly its species
        assert set(t.leaf_set(node)) == set(base.leaf_set(node))
    assert t.leaves == base.leaves
    chain = t.containment_matrix()
    assert chain[t.index("Parus"), t.index("C")]  # genus ⊂ order ⊂ class
    only_big = add_genus_level(base, ["O1"], min_species=3)
    assert set(only_big.ids) == {"C", "O1", "O2"}


def test_bad_species_names_and_sizes_are_refused() -> None:
    assert genus_of("Parus major") == "Parus"
    with pytest.raises(TaxonomyError, match="binomial"):
        genus_of("Parus")
    with pytest.raises(TaxonomyError, match="min_species"):
        add_genus_level(two_orders(), ["O1"], min_species=0)
