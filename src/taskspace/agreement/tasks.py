"""Tasks as labellings of a fixed set of images (Task Discovery §3.2, §5.4, appendix H; chapter 8).

* human-labelled: a group of the original classes against the rest (5-vs-5 for ten classes);
* random-labelled: a label drawn at random once per image, then fixed;
* random-network: a randomly initialised network's logit, split at its median (appendix H);
* green-pixel: one pixel's intensity in one channel, split at its median (§5.4).

The last two are *median splits of a score*: the threshold is the median over the training
images and the same threshold labels the test images, so training and test labels follow one rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from taskspace.agreement.networks import NetworkSpec

__all__ = [
    "PixelTask",
    "human_labels",
    "human_task_splits",
    "median_split",
    "random_labels",
    "random_network_scores",
    "sample_human_tasks",
]


def human_task_splits(num_classes: int = 10) -> list[tuple[int, ...]]:
    """Every way to split ``num_classes`` classes into two halves, up to swapping the halves.

    Each split is given by the half that holds class 0 (labelled 1). For 10 classes these are the
    C(10, 5) / 2 = 126 5-vs-5 tasks; ``num_classes`` must be even.
    """
    if num_classes < 2 or num_classes % 2:
        raise ValueError(f"need an even number of classes (at least 2), got {num_classes}")
    half = num_classes // 2
    return [c for c in itertools.combinations(range(num_classes), half) if c[0] == 0]


def sample_human_tasks(n_tasks: int, seed: int, num_classes: int = 10) -> list[tuple[int, ...]]:
    """``n_tasks`` distinct 5-vs-5 splits drawn at random from :func:`human_task_splits`."""
    splits = human_task_splits(num_classes)
    if not 0 < n_tasks <= len(splits):
        raise ValueError(f"n_tasks must be in 1..{len(splits)}, got {n_tasks}")
    chosen = torch.randperm(len(splits), generator=torch.Generator().manual_seed(seed))
    return [splits[i] for i in chosen[:n_tasks].tolist()]


def human_labels(class_labels: torch.Tensor, positive_classes: Sequence[int]) -> torch.Tensor:
    """``(N,)`` int64: 1 for images whose class is in ``positive_classes``, else 0.

    Args:
        class_labels: ``(N,)`` int64 original class of every image.
        positive_classes: the classes of the group labelled 1.
    """
    if class_labels.ndim != 1 or class_labels.dtype != torch.int64:
        raise ValueError(f"class_labels must be (N,) int64, got {class_labels.dtype}")
    positive = torch.as_tensor(list(positive_classes), dtype=torch.int64)
    labels = torch.isin(class_labels, positive.to(class_labels.device)).long()
    if labels.numel() and labels.min() == labels.max():
        raise ValueError(f"classes {list(positive_classes)} give every image the same label")
    return labels


def random_labels(n_images: int, seed: int, num_classes: int = 2) -> torch.Tensor:
    """``(n_images,)`` int64: an independent uniform label per image, fixed by ``seed``."""
    if n_images < 1 or num_classes < 2:
        raise ValueError(f"need n_images >= 1 and num_classes >= 2, got {n_images}, {num_classes}")
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, num_classes, (n_images,), generator=generator)


def median_split(
    train_scores: torch.Tensor, test_scores: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Label 1 where a score exceeds the median of the training scores, else 0.

    Args:
        train_scores: ``(N_tr,)`` one number per training image.
        test_scores: ``(N_te,)`` one number per test image, labelled with the same threshold.

    Returns:
        ``(N_tr,)`` and ``(N_te,)`` int64 labels. Ties at the median go to 0, so a score with many
        equal values gives an unbalanced task; an error is raised if a class is empty.
    """
    for name, scores in (("train_scores", train_scores), ("test_scores", test_scores)):
        if scores.ndim != 1 or not torch.isfinite(scores).all():
            raise ValueError(
                f"{name} must be a finite (N,) tensor, got shape {tuple(scores.shape)}"
            )
    threshold = train_scores.median()
    train = (train_scores > threshold).long()
    if train.sum() == 0 or train.sum() == train.numel():
        raise ValueError("the training scores are all equal at the median: one class is empty")
    return train, (test_scores > threshold).long()


def random_network_scores(
    spec: NetworkSpec, images: torch.Tensor, seed: int, batch_size: int = 1000
) -> torch.Tensor:
    """``(N,)`` float: the logit of a randomly initialised network for each image (appendix H).

    ``spec.build(seed)`` in evaluation mode (BatchNorm with its initial statistics, so each
    image's score does not depend on the others); the logit is the difference of the two outputs
    of a two-class head. Split at the median with :func:`median_split` to get the task.
    """
    if spec.num_classes != 2:
        raise ValueError(f"a random-network task needs a two-class head, got {spec.num_classes}")
    network = spec.build(seed).to(images.device).eval()
    with torch.no_grad():
        logits = torch.cat(
            [network(images[i : i + batch_size]) for i in range(0, images.shape[0], batch_size)]
        )
    return logits[:, 1] - logits[:, 0]


@dataclass(frozen=True)
class PixelTask:
    """The "green pixel" task (§5.4): is one pixel of one channel brighter than its median?

    Attributes:
        row, col: the pixel's position.
        channel: the channel (1 is green in RGB images; 0 for grey images).
    """

    row: int
    col: int
    channel: int = 1

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """``(N,)`` the pixel's intensity in every ``(N, C, H, W)`` image."""
        _, channels, height, width = images.shape
        if not (0 <= self.channel < channels and 0 <= self.row < height and 0 <= self.col < width):
            raise ValueError(f"{self} lies outside images of shape {tuple(images.shape)}")
        return images[:, self.channel, self.row, self.col]

    def randomise_pixel(self, images: torch.Tensor, seed: int) -> torch.Tensor:
        """A copy of ``images`` with the task's pixel replaced by uniform noise in ``[0, 1]``."""
        noisy = images.clone()
        noise = _uniform(images.shape[0], seed).to(images.device)
        noisy[:, self.channel, self.row, self.col] = noise
        return noisy

    def randomise_window(self, images: torch.Tensor, size: int, seed: int) -> torch.Tensor:
        """A copy of ``images`` with the ``size x size`` square centred on the pixel (in its
        channel) replaced by uniform noise; ``size`` is odd and the square inside the image."""
        half = size // 2
        _, _, height, width = images.shape
        inside = half <= min(self.row, self.col) and self.row + half < height
        if size < 1 or size % 2 == 0 or not (inside and self.col + half < width):
            raise ValueError(f"a {size}x{size} square around {self} does not fit {images.shape}")
        rows = slice(self.row - half, self.row + half + 1)
        cols = slice(self.col - half, self.col + half + 1)
        noisy = images.clone()
        shape = noisy[:, self.channel, rows, cols].shape
        noisy[:, self.channel, rows, cols] = torch.rand(
            shape, generator=torch.Generator().manual_seed(seed)
        ).to(images.device)
        return noisy

    def neighbour_scores(self, images: torch.Tensor) -> torch.Tensor:
        """``(N,)`` the summed values of the pixel's 8 neighbours in every ``(N, C, H, W)``
        image: a rule that, on smooth images, predicts the pixel's own label (chapter 8)."""
        window = images[:, self.channel, self.row - 1 : self.row + 2, self.col - 1 : self.col + 2]
        if window.shape[1:] != (3, 3):
            raise ValueError(f"{self} has no 8 neighbours in images of shape {images.shape}")
        return window.sum((1, 2)) - self.scores(images)

    def randomise_all_but_pixel(self, images: torch.Tensor, seed: int) -> torch.Tensor:
        """A copy of ``images`` in which every value but the task's pixel is uniform noise."""
        noise = _uniform(images.numel(), seed).view(images.shape).to(images.device)
        noise[:, self.channel, self.row, self.col] = self.scores(images)
        return noise


def _uniform(count: int, seed: int) -> torch.Tensor:
    return torch.rand(count, generator=torch.Generator().manual_seed(seed))
