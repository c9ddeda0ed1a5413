"""LabelLookup returns each stored image's label, whatever batch it is asked for."""

from __future__ import annotations

import pytest
import torch

from taskspace.agreement.lookup import LabelLookup


def _reference(stored: torch.Tensor, labels: torch.Tensor, asked: torch.Tensor) -> torch.Tensor:
    """The slow obvious way: compare every asked image with every stored one."""
    found = [
        labels[next(i for i in range(len(stored)) if torch.equal(stored[i], x))] for x in asked
    ]
    return torch.nn.functional.one_hot(torch.stack(found), 3).float()


def test_lookup_matches_a_loop_over_the_stored_images() -> None:
    generator = torch.Generator().manual_seed(0)
    stored = torch.rand(50, 1, 4, 4, generator=generator)
    labels = torch.randint(0, 3, (50,), generator=generator)
    lookup = LabelLookup(stored, labels, num_classes=3)
    order = torch.randperm(50, generator=generator)[:17]
    asked = stored[order]
    assert torch.equal(lookup(asked), _reference(stored, labels, asked))
    assert lookup(asked).sum(1).eq(1).all()


def test_lookup_refuses_unknown_images_and_bad_input() -> None:
    stored = torch.rand(5, 1, 2, 2)
    lookup = LabelLookup(stored, torch.tensor([0, 1, 0, 1, 1]))
    with pytest.raises(KeyError, match="not among"):
        lookup(stored[:2] + 1e-3)
    with pytest.raises(ValueError, match="shape"):
        lookup(torch.rand(2, 1, 3, 3))
    with pytest.raises(ValueError, match="int64"):
        LabelLookup(stored, torch.ones(5))
    with pytest.raises(ValueError, match="lie in"):
        LabelLookup(stored, torch.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match="twice"):
        LabelLookup(torch.cat([stored, stored[:1]]), torch.tensor([0, 1, 0, 1, 1, 1]))
