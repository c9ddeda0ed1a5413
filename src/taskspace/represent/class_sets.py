"""Datasets cut from one pool of images as sets of its classes, and how their vectors relate
(chapter 2).

A dataset here is a set of classes of a class-balanced pool ("Sandal + Sneaker", "footwear");
its samples are the pool's images of those classes, so every image is encoded once. Two datasets
are **nested** when one's classes are a proper subset of the other's, **unrelated** when they share
no class. The functions below build chapter 2's datasets, their ``[phi(x), psi(y)]`` statistics
and Task2Vec embeddings, and measure how close nested and unrelated datasets are.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import torch

from taskspace.data.images import DIGIT_CLASSES, FASHION_MNIST_CLASSES
from taskspace.represent.distances import cosine_similarity_matrix
from taskspace.represent.statistics import Moments, embedding_statistics, stack_moments
from taskspace.represent.task2vec import HeadTraining, Probe, task2vec

__all__ = [
    "FASHION_GROUPS",
    "MNIST_GROUPS",
    "TASK2VEC_SETS",
    "ClassSets",
    "class_sets",
    "covers",
    "nested_vs_unrelated",
    "pool_statistics",
    "relations",
    "superset_geometry",
    "task2vec_of_class_sets",
]

#: Datasets as sets of classes (class indices or names), by name.
ClassSets = Mapping[str, frozenset]

#: Chapter 2's named groups of Fashion-MNIST classes (beside every set of 1, 2 or 3 classes).
FASHION_GROUPS: dict[str, tuple[str, ...]] = {
    "tops": ("T-shirt/top", "Pullover", "Coat", "Shirt"),
    "footwear": ("Sandal", "Sneaker", "Ankle boot"),
    "clothing": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt"),
    "all fashion": FASHION_MNIST_CLASSES,
}
#: Chapter 2's named groups of MNIST digits.
MNIST_GROUPS: dict[str, tuple[str, ...]] = {
    "even": ("0", "2", "4", "6", "8"),
    "odd": ("1", "3", "5", "7", "9"),
    "small": ("0", "1", "2", "3", "4"),
    "large": ("5", "6", "7", "8", "9"),
    "all digits": DIGIT_CLASSES,
}
#: The Fashion-MNIST datasets that chapter 2 describes by Task2Vec, (name, classes); a scale
#: uses the first few.
TASK2VEC_SETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Sandal+Sneaker", ("Sandal", "Sneaker")),
    ("T-shirt/top+Shirt", ("T-shirt/top", "Shirt")),
    ("Trouser+Bag", ("Trouser", "Bag")),
    ("footwear", FASHION_GROUPS["footwear"]),
    ("tops", FASHION_GROUPS["tops"]),
    ("Sandal+Ankle boot", ("Sandal", "Ankle boot")),
    ("Sneaker+Ankle boot", ("Sneaker", "Ankle boot")),
    ("Pullover+Coat", ("Pullover", "Coat")),
    ("T-shirt/top+Pullover", ("T-shirt/top", "Pullover")),
    ("Coat+Shirt", ("Coat", "Shirt")),
    ("Trouser+Dress", ("Trouser", "Dress")),
    ("Sandal+Bag", ("Sandal", "Bag")),
    ("Sneaker+Shirt", ("Sneaker", "Shirt")),
    ("Dress+Ankle boot", ("Dress", "Ankle boot")),
    ("clothing", FASHION_GROUPS["clothing"]),
    ("all fashion", FASHION_GROUPS["all fashion"]),
)


def _indices(class_names: Sequence[str], members: Sequence[str]) -> frozenset[int]:
    unknown = [m for m in members if m not in class_names]
    if unknown:
        raise ValueError(f"classes {unknown} are not among the pool's classes {list(class_names)}")
    return frozenset(class_names.index(m) for m in members)


def class_sets(
    class_names: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> dict[str, frozenset[int]]:
    """Every set of 1, 2 or 3 classes, named by its classes joined with ``+``, then the named
    ``groups``: ``M`` datasets, in that order (chapter 2)."""
    sets = {
        "+".join(class_names[c] for c in combo): frozenset(combo)
        for size in (1, 2, 3)
        for combo in itertools.combinations(range(len(class_names)), size)
    }
    sets.update({name: _indices(class_names, members) for name, members in groups.items()})
    return sets


def pool_statistics(
    images: torch.Tensor, labels: torch.Tensor, text: torch.Tensor, sets: ClassSets
) -> Moments:
    """Moments ``(M, D)`` of ``[phi(x), psi(y)]`` over the pool's samples of each class set.

    Args:
        images: ``(N, D_img)`` the pool's image embeddings.
        labels: ``(N,)`` their classes.
        text: ``(classes, D_txt)`` the caption embedding of each class.
    """
    rows = [torch.isin(labels, torch.tensor(sorted(s))) for s in sets.values()]
    return stack_moments([embedding_statistics(images[r], labels[r], text) for r in rows])


def relations(sets: Sequence[frozenset]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M, M)`` bool masks: nested (one a proper subset of the other) and unrelated (disjoint)."""
    nested = torch.tensor([[a < b or b < a for b in sets] for a in sets])
    unrelated = torch.tensor([[not a & b for b in sets] for a in sets])
    return nested, unrelated


def nested_vs_unrelated(
    vectors: torch.Tensor, nested: torch.Tensor, unrelated: torch.Tensor
) -> dict[str, float]:
    """Mean cosine similarity of the vectors ``(M, D)`` over the nested pairs and over the
    unrelated pairs (``(M, M)`` masks)."""
    similarity = cosine_similarity_matrix(vectors)
    return {
        "nested": similarity[nested].mean().item(),
        "unrelated": similarity[unrelated].mean().item(),
    }


def superset_geometry(stats: Moments, sets: ClassSets, groups: Sequence[str]) -> dict[str, float]:
    """Where a named group's mean lies relative to its one-class subsets (chapter 2, the
    supplement's figure 8).

    For each group in ``groups`` and each of its classes: is the group's ``mu`` outside the
    class's box ``mu +- sigma``, and in what fraction of the ``D`` dimensions; how much larger the
    group's total variance is; how far the group's ``mu`` is from the mean of its classes' ``mu``.

    Args:
        stats: ``(M, D)`` moments of the datasets ``sets``, in their order.

    Returns:
        the share of (group, class) pairs whose box misses the group's mean, the mean fraction
        of dimensions outside, the smallest variance ratio and the largest centroid gap.
    """
    names = list(sets)
    outside_box, outside_dims, variance_ratio, centroid_gap = [], [], [], []
    for group in groups:
        g = names.index(group)
        members = [names.index(n) for n, s in sets.items() if len(s) == 1 and s < sets[group]]
        low = stats.mean[members] - stats.variance[members].sqrt()
        high = stats.mean[members] + stats.variance[members].sqrt()
        outside = (stats.mean[g] < low) | (stats.mean[g] > high)  # (subsets, D)
        outside_box += outside.any(1).tolist()
        outside_dims += outside.double().mean(1).tolist()
        variance_ratio.append(
            (stats.variance[g].sum() / stats.variance[members].sum(1).mean()).item()
        )
        centroid_gap.append((stats.mean[g] - stats.mean[members].mean(0)).abs().max().item())
    return {
        "superset_mean_outside_subset_box": sum(outside_box) / len(outside_box),
        "fraction_of_dims_outside": sum(outside_dims) / len(outside_dims),
        "variance_ratio_min": min(variance_ratio),
        "centroid_gap_max": max(centroid_gap),
    }


def covers(sets: Sequence[frozenset]) -> list[tuple[int, int]]:
    """``(i, j)`` where set ``i`` lies inside set ``j`` with no set of the list in between: the
    arrows of a map of nested datasets (chapter 2)."""
    inside = [(i, j) for i, a in enumerate(sets) for j, b in enumerate(sets) if a < b]
    return [
        (i, j) for i, j in inside if not any(sets[i] < sets[k] < sets[j] for k in range(len(sets)))
    ]


def task2vec_of_class_sets(
    probe: Probe,
    images: torch.Tensor,
    labels: torch.Tensor,
    class_names: Sequence[str],
    sets: Sequence[tuple[str, Sequence[str]]],
    *,
    features: torch.Tensor | None = None,
    seed: int = 0,
    max_samples: int = 10_000,
    training: HeadTraining | None = None,
) -> torch.Tensor:
    """``(S, filters)`` Task2Vec embeddings of the datasets ``sets`` cut from one pool (chapter 2).

    Each dataset is the pool's images of its classes, relabelled ``0 .. len(classes) - 1`` in the
    order the set names them, and goes through :func:`~taskspace.represent.task2vec.task2vec`.

    Args:
        images: ``(N, C, H, W)`` the pool.
        labels: ``(N,)`` its classes, indices into ``class_names``.
        sets: ``S`` (name, class names) pairs.
        features: optional ``(N, F)`` the probe's features of the pool (skips its trunk).
        seed, max_samples, training: as for :func:`~taskspace.represent.task2vec.task2vec`
            (``None``: the Task2Vec code's head training).
    """
    embeddings = []
    for _, members in sets:
        classes = torch.tensor([class_names.index(m) for m in members])
        rows = torch.isin(labels, classes)
        relabel = torch.full((len(class_names),), -1).index_put_(
            (classes,), torch.arange(len(classes))
        )
        embeddings.append(
            task2vec(
                probe,
                images[rows],
                relabel[labels[rows]],
                seed=seed,
                features=None if features is None else features[rows],
                max_samples=max_samples,
                training=training or HeadTraining(),
            )
        )
    return torch.stack(embeddings)
