"""Dataset statistics: the mean and diagonal variance of Task2Box's sample embeddings.

Task2Box (paper Eq. 1-2) describes a dataset ``D = {(x_i, y_i)}`` by the embeddings
``v_i = [phi(x_i), psi("A photo of a {y_i}")]`` of its samples (image embedding concatenated with
the text embedding of the label's prompt) and takes

    mu = mean_i v_i,    sigma^2 = mean_i (v_i - mu)^2    (diagonal, divided by N),

with the base representation ``e = mu`` or ``e = [mu, sigma^2]``. Here the moments are
accumulated batch by batch in float64 (:class:`RunningMoments`, Chan et al.'s pairwise update),
so a dataset never has to be held in memory, and the result equals the two-pass formula.

For datasets made of ImageNet classes, whose images cannot be downloaded here,
:func:`prototype_statistics` takes one *prototype* vector per class instead of one embedding per
image (chapter 2 uses EfficientNet's classifier weights and the label's text embedding) and
averages over a dataset's classes.

Introduced in chapter 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from taskspace.data.images import ImageDataset
from taskspace.represent.encoders import Encoder

__all__ = [
    "PROMPT",
    "Moments",
    "RunningMoments",
    "dataset_statistics",
    "embedding_statistics",
    "joint_embeddings",
    "moments",
    "prompts",
    "prototype_statistics",
    "stack_moments",
]

#: Task2Box's label prompt (supplement §9.1.1: "A photo of [CLS]").
PROMPT = "A photo of a {}"

Kind = Literal["mean", "mean_var"]


@dataclass(frozen=True)
class Moments:
    """Mean and diagonal variance of a set of vectors, or of a batch of sets.

    Attributes:
        count: ``(...)`` int64, the number of vectors of each set.
        mean: ``(..., D)`` float64.
        variance: ``(..., D)`` float64, the population variance (divided by ``count``), >= 0.
    """

    count: torch.Tensor
    mean: torch.Tensor
    variance: torch.Tensor

    def representation(self, kind: Kind = "mean") -> torch.Tensor:
        """Task2Box's base representation: ``mu`` ``(..., D)`` or ``[mu, sigma^2]`` ``(..., 2D)``."""
        if kind == "mean":
            return self.mean
        if kind == "mean_var":
            return torch.cat([self.mean, self.variance], dim=-1)
        raise ValueError(f"kind must be 'mean' or 'mean_var', got {kind!r}")


def stack_moments(items: Sequence[Moments]) -> Moments:
    """One :class:`Moments` whose first dimension runs over ``items`` (same ``D``)."""
    if not items:
        raise ValueError("stack_moments needs at least one Moments")
    return Moments(
        torch.stack([m.count for m in items]),
        torch.stack([m.mean for m in items]),
        torch.stack([m.variance for m in items]),
    )


class RunningMoments:
    """Mean and variance of vectors seen in batches, accumulated in float64.

    Each batch's own mean and sum of squared deviations are merged into the running ones with the
    pairwise update of Chan, Golub and LeVeque (1979), which is exact and does not lose precision
    the way ``E[v^2] - E[v]^2`` does.
    """

    def __init__(self) -> None:
        self.count = 0
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None

    def update(self, batch: torch.Tensor) -> None:
        """Add ``batch`` ``(B, D)`` (any float dtype; ``B`` may be 0)."""
        if batch.ndim != 2:
            raise ValueError(f"a batch of vectors must be (B, D), got shape {tuple(batch.shape)}")
        if self._mean is not None and batch.shape[1] != self._mean.shape[0]:
            raise ValueError(
                f"batch has {batch.shape[1]} dimensions, earlier ones had {self._mean.shape[0]}"
            )
        if not torch.isfinite(batch).all():
            raise ValueError("batch contains NaN or infinite values")
        if batch.shape[0] == 0:
            return
        batch = batch.double()
        n = batch.shape[0]
        batch_mean = batch.mean(0)
        batch_m2 = (batch - batch_mean).pow(2).sum(0)
        if self._mean is None:
            self.count, self._mean, self._m2 = n, batch_mean, batch_m2
            return
        total = self.count + n
        delta = batch_mean - self._mean
        self._mean = self._mean + delta * (n / total)
        self._m2 = self._m2 + batch_m2 + delta.pow(2) * (self.count * n / total)
        self.count = total

    def result(self) -> Moments:
        """The :class:`Moments` of everything seen so far (at least one vector)."""
        if self._mean is None:
            raise ValueError("no vectors were given: the moments of an empty dataset are undefined")
        count = torch.tensor(self.count, device=self._mean.device)
        return Moments(count, self._mean.clone(), self._m2 / self.count)


def moments(batches: Iterable[torch.Tensor]) -> Moments:
    """Moments of all rows of the ``(B_k, D)`` batches, streamed (chapter 2)."""
    running = RunningMoments()
    for batch in batches:
        running.update(batch)
    return running.result()


def prompts(class_names: Sequence[str], template: str = PROMPT) -> list[str]:
    """``template`` filled with each class name: ``["A photo of a Sandal", ...]``."""
    return [template.format(name) for name in class_names]


def _check_labels(labels: torch.Tensor, n: int, num_classes: int) -> None:
    if labels.shape != (n,) or labels.dtype != torch.int64:
        raise ValueError(
            f"labels must be int64 of shape ({n},), got {labels.dtype} {tuple(labels.shape)}"
        )
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1} (one text embedding per class), found "
            f"{labels.min().item()}..{labels.max().item()}"
        )


def joint_embeddings(
    image_embeddings: torch.Tensor,
    labels: torch.Tensor,
    class_embeddings: torch.Tensor,
    chunk: int = 4096,
) -> Iterator[torch.Tensor]:
    """Batches ``(<= chunk, D_img + D_txt)`` of ``[phi(x_i), psi(y_i)]``, built chunk by chunk.

    Args:
        image_embeddings: ``(N, D_img)``, one row per sample.
        labels: ``(N,)`` int64 class of each sample.
        class_embeddings: ``(C, D_txt)``, the text embedding of each class's prompt.
    """
    if image_embeddings.ndim != 2 or class_embeddings.ndim != 2:
        raise ValueError(
            "image_embeddings must be (N, D_img) and class_embeddings (C, D_txt), got "
            f"{tuple(image_embeddings.shape)} and {tuple(class_embeddings.shape)}"
        )
    _check_labels(labels, image_embeddings.shape[0], class_embeddings.shape[0])
    class_embeddings = class_embeddings.to(image_embeddings.device)
    for start in range(0, image_embeddings.shape[0], chunk):
        rows = slice(start, start + chunk)
        text = class_embeddings[labels[rows].to(class_embeddings.device)]
        yield torch.cat([image_embeddings[rows], text.to(image_embeddings.dtype)], dim=1)


def embedding_statistics(
    image_embeddings: torch.Tensor,
    labels: torch.Tensor,
    class_embeddings: torch.Tensor,
    chunk: int = 4096,
) -> Moments:
    """Moments ``(D_img + D_txt,)`` of ``[phi(x_i), psi(y_i)]`` from precomputed embeddings.

    Use it to describe many datasets drawn from one encoded pool of images: select the pool's rows
    of each dataset, without encoding any image twice (chapter 2).
    """
    return moments(joint_embeddings(image_embeddings, labels, class_embeddings, chunk))


def dataset_statistics(
    encoder: Encoder, dataset: ImageDataset, template: str = PROMPT, batch_size: int = 256
) -> Moments:
    """Moments ``(D_img + D_txt,)`` of a dataset's ``[phi(x_i), psi(prompt(y_i))]`` (paper Eq. 1-2).

    The images are encoded ``batch_size`` at a time and folded into the running moments, so memory
    does not grow with the dataset; the text of each class is encoded once.
    """
    class_embeddings = encoder.encode_texts(prompts(dataset.class_names, template))

    def batches() -> Iterator[torch.Tensor]:
        for start in range(0, len(dataset), batch_size):
            rows = slice(start, start + batch_size)
            yield from joint_embeddings(
                encoder.encode_images(dataset.images[rows]), dataset.labels[rows], class_embeddings
            )

    return moments(batches())


def prototype_statistics(membership: torch.Tensor, prototypes: torch.Tensor) -> Moments:
    """Moments over the classes of each dataset, one prototype vector per class (chapter 2).

    Args:
        membership: ``(M, L)`` bool, ``membership[m, l]`` when dataset ``m`` holds class ``l``
            (e.g. :meth:`taskspace.data.taxonomy.Taxonomy.leaf_matrix`).
        prototypes: ``(L, D)`` one vector per class, e.g. ``[w_l, psi("A photo of a {l}")]``.

    Returns:
        :class:`Moments` with ``count`` ``(M,)`` (classes per dataset), ``mean`` and ``variance``
        ``(M, D)`` float64: every class weighs the same, as if each had the same number of images.
        Computed as ``E[p^2] - E[p]^2`` in float64, clamped at 0.
    """
    if membership.ndim != 2 or membership.dtype != torch.bool:
        raise ValueError(
            f"membership must be an (M, L) bool matrix, got {membership.dtype} {tuple(membership.shape)}"
        )
    if prototypes.ndim != 2 or prototypes.shape[0] != membership.shape[1]:
        raise ValueError(
            f"prototypes must be (L, D) with L = {membership.shape[1]} classes, got {tuple(prototypes.shape)}"
        )
    if not torch.isfinite(prototypes).all():
        raise ValueError("prototypes contain NaN or infinite values")
    count = membership.sum(1)
    if (count == 0).any():
        empty = torch.nonzero(count == 0).squeeze(1)[:5].tolist()
        raise ValueError(f"datasets with no classes (rows {empty}): their moments are undefined")
    weights = membership.to(device=prototypes.device, dtype=torch.float64)
    weights = weights / count.to(weights.device).unsqueeze(1)
    p = prototypes.double()
    mean = weights @ p
    variance = (weights @ p.pow(2) - mean.pow(2)).clamp_min(0)
    return Moments(count.to(prototypes.device), mean, variance)
