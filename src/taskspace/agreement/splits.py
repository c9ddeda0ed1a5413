"""Adversarial train/test splits (Task Discovery §6, Eq. 6-7, Table 1, appendix F; chapter 10).

A labelled image set is split into a training and a test part so that a network trained on the
first fails on the second, without changing a pixel or a label. The split uses a second,
"spurious" binary task with a high agreement score (a discovered task, or a random network's,
appendix H):

* binary target ``tau`` (Eq. 6): training images where ``tau`` and the spurious task agree, test
  images where they disagree;
* multi-class target (Eq. 7): the classes are split into ``C1`` and ``C2``; training images where
  the indicator ``1[tau(x) in C1]`` equals the spurious label, test images where it differs.
  Eq. 6 is the case of two classes with ``C1 = {1}``.

Sizes and class balance (``balance``). Eq. 6-7 alone put into each part whatever the two tasks
give, so the parts can differ in size and in their classes' shares. The split subsamples them:

* ``"uniform"`` (default): every class has the same number of images in both parts (the smallest
  count of any class in either part): both parts are equally large and every class is equally
  frequent, as in the paper's figure 7-center (about a quarter of the images in each of the four
  groups of a binary split);
* ``"matched"``: each class has the same number of images in both parts (the smaller of its two
  counts): both parts are equally large with the same class shares, so no label shift separates
  them, but the classes need not be equally frequent. For a multi-class target and a spurious task
  that nearly decides some class, ``"uniform"`` would keep only a few images; this keeps many more;
* ``"none"``: Eq. 6-7 as written.

The random split it is compared with (:func:`random_split_like`) re-partitions *the same images*
at random with *the same number of images of every class in each part*, so the two splits differ
in nothing but which images went where. With a spurious task unrelated to the target (similarity
near 0.5) the parts each hold about half the images, as in the paper.

:func:`evaluate_split` trains ensembles on the training part with chapter 8's engine
(:func:`~taskspace.agreement.measure_agreement`, one ensemble per seed) and measures, on the test
part, the test accuracy and the agreement score (appendix F), via Proposition 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from taskspace.agreement.ensemble import TrainConfig
from taskspace.agreement.measure import AgreementRun, measure_agreement
from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.score import Proposition1, proposition1

__all__ = [
    "BALANCES",
    "FEW_IMAGES",
    "SmallSplitWarning",
    "SplitEvaluation",
    "TrainTestSplit",
    "adversarial_split",
    "evaluate_split",
    "one_sided_classes",
    "random_split_like",
    "target_groups",
]

PARTS = ("training", "test")


FEW_IMAGES = 25
"""A part with fewer images than this gets a :class:`SmallSplitWarning`: the accuracy measured on
``n`` test images has a standard error of up to ``0.5 / sqrt(n)``, above 0.1 for ``n < 25`` —
as large as the differences between splits that Table 1 is about."""


class SmallSplitWarning(UserWarning):
    """A split keeps fewer than :data:`FEW_IMAGES` images in a part (chapter 10)."""


@dataclass(frozen=True)
class TrainTestSplit:
    """A partition of chosen images of a labelled set into a training and a test part.

    Attributes:
        train: ``(N_tr,)`` int64 sorted indices (into the labelled set) of the training images.
        test: ``(N_te,)`` int64 sorted indices of the test images; disjoint from ``train``.
        n_images: ``N``, the size of the labelled set the indices point into (checked against
            the labels a split is used with), or ``None`` when unknown (a split made by hand).
    """

    train: torch.Tensor
    test: torch.Tensor
    n_images: int | None = None

    def __post_init__(self) -> None:
        for part, indices in zip(PARTS, (self.train, self.test), strict=True):
            if indices.ndim != 1 or indices.dtype != torch.int64:
                raise ValueError(
                    f"the {part} part must be (N,) int64 indices, got {indices.dtype} "
                    f"{tuple(indices.shape)}"
                )
            if indices.numel() and indices.min() < 0:
                raise ValueError(f"the {part} part holds a negative index {int(indices.min())}")
        if self.n_images is not None and self.chosen.numel() and self.chosen[-1] >= self.n_images:
            raise ValueError(
                f"the split indexes image {int(self.chosen[-1])} of a set of {self.n_images}"
            )
        if self.chosen.unique().numel() != self.chosen.numel():
            raise ValueError("the training and test parts share images (or repeat one)")

    @property
    def chosen(self) -> torch.Tensor:
        """``(N_tr + N_te,)`` int64 sorted indices of every image in either part."""
        return torch.cat([self.train, self.test]).sort().values

    def class_counts(self, labels: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
        """``(2, K)`` int64: images of every class in the training (row 0) and test part (row 1).

        Args:
            labels: ``(N,)`` int64 (or bool) labels of the whole labelled set.
            num_classes: ``K`` (default ``labels.max() + 1``).
        """
        labels = _task("labels", labels)
        k = int(labels.max()) + 1 if num_classes is None else num_classes
        return torch.stack(
            [torch.bincount(labels[part], minlength=k) for part in (self.train, self.test)]
        )


def _task(name: str, labels: torch.Tensor) -> torch.Tensor:
    """``labels`` as ``(N,)`` int64 class indices (bool and other integer types converted)."""
    if labels.ndim != 1 or labels.dtype.is_floating_point or labels.dtype.is_complex:
        raise ValueError(
            f"{name} must be (N,) class indices (int64, any integer type, or bool), got "
            f"{labels.dtype} {tuple(labels.shape)}"
        )
    if labels.numel() == 0 or labels.min() < 0:
        raise ValueError(f"{name} must be non-empty non-negative class indices")
    return labels.long()


def _checked_classes(positive_classes: Sequence[int], num_classes: int) -> list[int]:
    classes = list(positive_classes)
    if len(set(classes)) != len(classes):
        raise ValueError(f"positive_classes repeats a class: {classes}")
    if not 0 < len(classes) < num_classes:
        raise ValueError(
            f"positive_classes (C1) must hold some but not all of the {num_classes} classes, "
            f"got {classes}"
        )
    if min(classes) < 0 or max(classes) >= num_classes:
        raise ValueError(f"positive_classes {classes} must lie in 0..{num_classes - 1}")
    return classes


def target_groups(
    labels: torch.Tensor, positive_classes: Sequence[int] | None = None, num_classes: int = 2
) -> torch.Tensor:
    """``(N,)`` int64 ``1[tau(x) in C1]``: the binary side of the target that Eq. 7 correlates.

    Args:
        labels: ``(N,)`` int64 target labels in ``0 .. num_classes - 1``.
        positive_classes: ``C1``; default ``(1,)`` for a binary target (Eq. 6: the labels
            themselves), required for ``num_classes > 2``.
        num_classes: ``K``.
    """
    if positive_classes is None:
        if num_classes != 2:
            raise ValueError(
                f"a {num_classes}-class target needs positive_classes: the classes C1 of Eq. 7"
            )
        positive_classes = (1,)
    classes = _checked_classes(positive_classes, num_classes)
    return torch.isin(labels, torch.tensor(classes, device=labels.device)).long()


BALANCES = ("uniform", "matched", "none")


def _kept_counts(counts: torch.Tensor, balance: str) -> torch.Tensor:
    """``(2, K)`` images of each class to keep in each part, from the ``(2, K)`` available."""
    if balance == "uniform":
        return torch.full_like(counts, int(counts.min()))
    if balance == "matched":
        return counts.min(0).values.expand_as(counts)
    return counts


def _subsample(
    indices: torch.Tensor, labels: torch.Tensor, keep: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Sorted random ``keep[c]`` of the ``indices`` of every class ``c`` (``keep`` is ``(K,)``)."""
    picked = []
    for cls, count in enumerate(keep.tolist()):
        members = indices[labels[indices] == cls]
        picked.append(members[torch.randperm(members.numel(), generator=generator)[:count]])
    return torch.cat(picked).sort().values


def _binary_spurious(labels: torch.Tensor, spurious: torch.Tensor) -> torch.Tensor:
    """``spurious`` as ``(N,)`` int64 0/1 labels of the same images as ``labels``."""
    spurious = _task("spurious", spurious)
    if labels.shape != spurious.shape:
        raise ValueError(
            f"labels and spurious must label the same images: got {labels.numel()} and "
            f"{spurious.numel()} labels"
        )
    if spurious.max() > 1:
        raise ValueError(f"spurious must be a binary task (0/1), found label {spurious.max()}")
    return spurious


def one_sided_classes(
    labels: torch.Tensor, spurious: torch.Tensor, num_classes: int | None = None
) -> list[int]:
    """The classes of a target whose images the spurious task labels all alike (chapter 10).

    Eq. 6 and Eq. 7 put all images of such a class into one part, whatever ``C1`` is (the class
    lies wholly in ``C1`` or in ``C2``, and ``tau_d`` is constant on it), so the other part has
    none of them and :func:`adversarial_split` refuses the spurious task; an empty list means it
    can split this target. A class without any image counts as one-sided.

    Args:
        labels: ``(N,)`` int64 (or bool) target labels in ``0 .. K - 1``.
        spurious: ``(N,)`` int64 (or bool) binary labels of the spurious task.
        num_classes: ``K`` (default ``labels.max() + 1``).

    Returns:
        the one-sided classes, in increasing order.
    """
    labels = _task("labels", labels).cpu()
    spurious = _binary_spurious(labels, spurious).cpu()
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    images = torch.bincount(labels, minlength=k)
    ones = torch.bincount(labels, weights=spurious.double(), minlength=k).long()
    return torch.nonzero((ones == 0) | (ones == images)).squeeze(1).tolist()


def _check_classes_present(labels: torch.Tensor, num_classes: int) -> None:
    """A target to split needs two classes or more, each with an image."""
    counts = torch.bincount(labels, minlength=num_classes)
    present = torch.nonzero(counts).squeeze(1).tolist()
    if len(present) < 2:
        raise ValueError(
            f"the target gives all {labels.numel()} images the same label {present[0]}: a "
            "target with one class has nothing to tell apart, so there is nothing to split"
        )
    if len(present) < num_classes:
        missing = sorted(set(range(num_classes)) - set(present))
        raise ValueError(
            f"the target has no image of classes {missing} (num_classes = {num_classes}): "
            "neither part could hold them; relabel the classes 0..K-1 or pass num_classes"
        )


def _check_no_empty_class(split: TrainTestSplit, labels: torch.Tensor, num_classes: int) -> None:
    counts = split.class_counts(labels, num_classes)
    for part, row in zip(PARTS, counts, strict=True):
        empty = torch.nonzero(row == 0).squeeze(1).tolist()
        if empty:
            raise ValueError(
                f"the split leaves classes {empty} without images in the {part} part: the "
                "spurious task gives all their images the same label; choose another spurious "
                "task (or other classes C1)"
            )


def _warn_if_small(split: TrainTestSplit, available: int) -> None:
    """A :class:`SmallSplitWarning` when a part keeps fewer than :data:`FEW_IMAGES` images."""
    n_train, n_test = len(split.train), len(split.test)
    if min(n_train, n_test) < FEW_IMAGES:
        warnings.warn(
            f"the split keeps only {n_train} training and {n_test} test "
            f"images of {available}: a test accuracy on n < {FEW_IMAGES} images has a "
            f"standard error of up to 0.5/sqrt(n) > 0.1; use more images, another spurious "
            f"task, or balance='matched' (uniform balance keeps the rarest class's count)",
            SmallSplitWarning,
            stacklevel=3,
        )


def adversarial_split(
    labels: torch.Tensor,
    spurious: torch.Tensor,
    *,
    positive_classes: Sequence[int] | None = None,
    num_classes: int | None = None,
    balance: str = "uniform",
    seed: int = 0,
) -> TrainTestSplit:
    """Split a labelled image set adversarially with a high-AS spurious task (Eq. 6, Eq. 7).

    Training part: images where ``1[labels in C1]`` equals ``spurious``; test part: images where
    it differs. For a binary target ``C1 = {1}`` and this is Eq. 6 (target = spurious on the
    training part, target = 1 - spurious on the test part). Introduced in chapter 10.

    Args:
        labels: ``(N,)`` target labels ``tau(x)`` in ``0 .. K - 1``: int64, any integer type,
            or bool (a binary target such as ``digits >= 5``).
        spurious: ``(N,)`` binary labels ``tau_d(x)`` of the high-AS task (integer or bool).
        positive_classes: ``C1`` of Eq. 7; required for a target with ``K > 2`` (a binary target
            defaults to ``C1 = {1}``, Eq. 6).
        num_classes: ``K`` (default ``labels.max() + 1``).
        balance: ``"uniform"``, ``"matched"`` or ``"none"``: how the parts are subsampled (see
            the module's docstring).
        seed: which images the subsampling keeps.

    Returns:
        the :class:`TrainTestSplit` (indices into ``labels``, on the CPU). A part with fewer
        than :data:`FEW_IMAGES` images gets a :class:`SmallSplitWarning`.

    Raises:
        ValueError: mismatched lengths, a non-binary spurious task, a target with one class (or
            a class without images), a spurious task equal to the target side
            ``1[labels in C1]`` or to its flip (one part would be empty), or a class left
            without images in either part.
    """
    labels = _task("labels", labels).cpu()
    spurious = _binary_spurious(labels, spurious).cpu()
    if balance not in BALANCES:
        raise ValueError(f"balance must be one of {BALANCES}, got {balance!r}")
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    if labels.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1}, found {labels.max()}")
    _check_classes_present(labels, k)
    same = target_groups(labels, positive_classes, k) == spurious
    if same.all() or not same.any():
        kind = "equals" if same.all() else "is the flip of"
        empty = "test" if same.all() else "training"
        raise ValueError(
            f"the spurious task {kind} the target{'' if k == 2 else ' side 1[tau in C1]'}: "
            f"the {empty} part would be empty; use a spurious task that differs from the target"
        )
    everything = torch.arange(labels.numel())
    split = TrainTestSplit(everything[same], everything[~same])
    _check_no_empty_class(split, labels, k)
    keep = _kept_counts(split.class_counts(labels, k), balance)
    generator = torch.Generator().manual_seed(seed)
    kept = TrainTestSplit(
        _subsample(split.train, labels, keep[0], generator),
        _subsample(split.test, labels, keep[1], generator),
        n_images=labels.numel(),
    )
    _warn_if_small(kept, labels.numel())
    return kept


def random_split_like(split: TrainTestSplit, labels: torch.Tensor, seed: int) -> TrainTestSplit:
    """A random partition of ``split``'s images with the same class counts in each part.

    For every class, the images of that class in either part are shuffled and the first as many
    as ``split`` has in its training part go to the training part: Table 1's random baseline, on
    the same images, with the same sizes and class balance. Introduced in chapter 10.

    Args:
        split: the split to match (e.g. from :func:`adversarial_split`); neither part empty.
        labels: ``(N,)`` int64 (or bool) target labels of the whole labelled set the split's
            indices point into (``N = split.n_images`` where the split knows it).
        seed: the random partition.
    """
    labels = _task("labels", labels).cpu()
    if split.n_images is not None and labels.numel() != split.n_images:
        raise ValueError(
            f"the split was made for a set of {split.n_images} images, got labels of "
            f"{labels.numel()}: pass the labels the split was made from"
        )
    if not len(split.train) or not len(split.test):
        raise ValueError(
            f"the split to match has {len(split.train)} training and {len(split.test)} test "
            "images: a random split like it needs images in both parts"
        )
    chosen = split.chosen
    if chosen.max() >= labels.numel():
        raise ValueError(f"the split indexes image {chosen.max()} of only {labels.numel()}")
    generator = torch.Generator().manual_seed(seed)
    train_counts = split.class_counts(labels)[0]
    train, test = [], []
    for cls, n_train in enumerate(train_counts.tolist()):
        members = chosen[labels[chosen] == cls]
        members = members[torch.randperm(members.numel(), generator=generator)]
        train.append(members[:n_train])
        test.append(members[n_train:])
    return TrainTestSplit(
        torch.cat(train).sort().values, torch.cat(test).sort().values, n_images=labels.numel()
    )


@dataclass(frozen=True)
class SplitEvaluation:
    """Ensembles trained on a split's training part, measured on its test part (one per seed).

    Attributes:
        runs: one :class:`~taskspace.agreement.AgreementRun` per seed (predictions on the test
            part, training accuracy reached, epochs).
        checks: Proposition 1 for each run against the test part's target labels.
    """

    runs: tuple[AgreementRun, ...]
    checks: tuple[Proposition1, ...]

    @property
    def accuracy(self) -> torch.Tensor:
        """``(S,)`` float64: test accuracy per seed (mean over the ensemble's networks)."""
        return torch.tensor([check.accuracy_labels for check in self.checks], dtype=torch.float64)

    @property
    def agreement(self) -> torch.Tensor:
        """``(S,)`` float64: AS on the test part per seed (mean over the ensemble's pairs)."""
        return torch.tensor([check.agreement for check in self.checks], dtype=torch.float64)

    @property
    def train_accuracy(self) -> torch.Tensor:
        """``(S,)`` float64: the lowest training accuracy any network of each seed reached."""
        return torch.stack([run.train_accuracy.min() for run in self.runs]).double()


def evaluate_split(
    spec: NetworkSpec,
    images: torch.Tensor,
    labels: torch.Tensor,
    split: TrainTestSplit,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    n_networks: int = 2,
    config: TrainConfig | None = None,
    device: torch.device | None = None,
    use_cache: bool = True,
) -> SplitEvaluation:
    """Train on ``split.train``, test on ``split.test``: accuracy and AS per seed (chapter 10).

    Each seed trains an ensemble of ``n_networks`` networks with
    :func:`~taskspace.agreement.measure_agreement` (cached) on the training part labelled by
    ``labels``; on the test part it measures the networks' accuracy against ``labels`` and
    their agreement (appendix F), both through :func:`~taskspace.agreement.proposition1`.

    Args:
        spec: the architecture (``spec.num_classes`` must cover the labels).
        images: ``(N, C, H, W)`` the whole labelled set.
        labels: ``(N,)`` int64 (or bool) target labels.
        split: which images train and which test.
        seeds: one ensemble per seed; their spread is the spread over training runs.
        n_networks: ``E >= 2`` networks per ensemble (the AS needs a pair).
        config, device, use_cache: as for :func:`~taskspace.agreement.measure_agreement`.
    """
    labels = _task("labels", labels)
    if images.shape[0] != labels.numel():
        raise ValueError(f"{images.shape[0]} images but {labels.numel()} labels")
    if n_networks < 2 or not seeds:
        raise ValueError(f"need n_networks >= 2 and at least one seed, got {n_networks}, {seeds}")
    test_labels = labels[split.test]
    runs = tuple(
        measure_agreement(
            spec,
            images[split.train],
            labels[split.train],
            images[split.test],
            n_networks=n_networks,
            seed=seed,
            config=config,
            device=device,
            use_cache=use_cache,
        )
        for seed in seeds
    )
    return SplitEvaluation(runs, tuple(proposition1(run.predictions, test_labels) for run in runs))
