"""Place a new dataset on the map: one forward pass, no re-training (Task2Box §5.3; chapter 7).

A new dataset's images are encoded as the map's were, their mean embedding ``mu`` goes through
the map's network, and out comes its box. Its overlaps with the boxes of the map are the
*predicted* relations,

    d_box(new, D)  = share of the new box inside D's box   ("D contains it"),
    d_box(D, new)  = share of D's box inside the new box   ("it contains D"),

and, because the map keeps its datasets' embeddings, the *measured* soft overlaps ``so(new, D)``
and ``so(D, new)`` are computed beside them, so a reader sees how far to trust the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from taskspace.atlas.build import Atlas, load_atlas
from taskspace.atlas.overlap import soft_overlaps_with
from taskspace.boxes.geometry import Boxes, log_volume, overlap_matrix
from taskspace.boxes.model import embed
from taskspace.represent.encoders import OfflineEncoder, check_images

__all__ = ["MIN_IMAGES", "Placement", "Relation", "place", "place_embeddings"]

#: Fewest images a dataset needs to be placed: its mean and spread are too noisy below this.
MIN_IMAGES = 10
#: Predicted overlaps closer than this count as equal when ranking (then the smaller box first).
_TIE = 0.01


@dataclass(frozen=True)
class Relation:
    """One map dataset's relation to the placed dataset (chapter 7).

    Attributes:
        name: the map dataset.
        predicted: the boxes' ``d_box`` in the direction asked for, in ``[0, 1]``.
        measured: the soft overlap in the same direction, in ``[0, 1]``.
    """

    name: str
    predicted: float
    measured: float


@dataclass(frozen=True)
class Placement:
    """Where a new dataset lands on the map, and its relations to every map dataset (ch. 7).

    Attributes:
        name: the new dataset's name.
        size: its number of images.
        box: its ``(2,)`` box.
        names: the ``m`` map datasets.
        areas: ``(m,)`` the map boxes' areas (for ranking ties).
        inside: ``(m,)`` predicted ``d_box(new, D_j)``: how much of the new box lies in ``D_j``'s.
        contains: ``(m,)`` predicted ``d_box(D_j, new)``.
        measured_inside: ``(m,)`` ``so(new, D_j)``.
        measured_contains: ``(m,)`` ``so(D_j, new)``.
        size_scale: the number of images a box of area 1 stands for (the map's largest dataset).
    """

    name: str
    size: int
    box: Boxes
    names: tuple[str, ...]
    areas: torch.Tensor
    inside: torch.Tensor
    contains: torch.Tensor
    measured_inside: torch.Tensor
    measured_contains: torch.Tensor
    size_scale: int

    @property
    def area(self) -> float:
        """The new box's (soft) area."""
        return float(log_volume(self.box).exp())

    @property
    def estimated_size(self) -> float:
        """The number of images the map's size scale reads off the new box's area (``L_A``)."""
        return self.area * self.size_scale

    def _ranked(self, predicted: torch.Tensor, measured: torch.Tensor, top: int) -> list[Relation]:
        # by predicted overlap, equal ones (within _TIE) with the tightest box first
        order = sorted(
            range(len(self.names)),
            key=lambda j: (-round(float(predicted[j]) / _TIE), float(self.areas[j])),
        )
        return [
            Relation(self.names[j], float(predicted[j]), float(measured[j])) for j in order[:top]
        ]

    def containers(self, top: int = 5) -> list[Relation]:
        """The ``top`` map datasets whose boxes contain most of the new box."""
        return self._ranked(self.inside, self.measured_inside, top)

    def contained(self, top: int = 5) -> list[Relation]:
        """The ``top`` map datasets whose boxes lie most inside the new box."""
        return self._ranked(self.contains, self.measured_contains, top)

    def report(self, top: int = 5) -> str:
        """The placement in words: the box, the top relations both ways, predicted vs measured."""
        low, high = self.box.low.tolist(), self.box.high.tolist()
        lines = [
            f"{self.name}: {self.size} images, placed on a map of {len(self.names)} datasets",
            f"box [{low[0]:.3f}, {high[0]:.3f}] x [{low[1]:.3f}, {high[1]:.3f}], area "
            f"{self.area:.3f} (the map's size scale reads about {self.estimated_size:.0f} images)",
        ]
        for title, relations, direction in (
            ("Datasets that contain it most", self.containers(top), "d_box(new, D)"),
            ("Datasets it contains most", self.contained(top), "d_box(D, new)"),
        ):
            lines.append(f"{title} (predicted {direction}; measured soft overlap):")
            width = max(len(r.name) for r in relations)
            lines += [
                f"  {rank}. {r.name:<{width}}  {r.predicted:.2f}  (measured {r.measured:.2f})"
                for rank, r in enumerate(relations, 1)
            ]
        return "\n".join(lines)


def place(
    images: torch.Tensor,
    atlas: Atlas | None = None,
    name: str = "new dataset",
    scale: str = "book",
    encoder: OfflineEncoder | None = None,
) -> Placement:
    """Place a dataset of ``images`` on the map (chapter 7).

    Args:
        images: ``(N, C, H, W)`` in ``[0, 1]`` (grey or RGB, any size), ``N >= MIN_IMAGES``.
        atlas: the map (default: :func:`~taskspace.atlas.build.load_atlas` of ``scale``).
        name: what to call the new dataset.
        scale: which map to load when ``atlas`` is not given.
        encoder: chapter 2's encoder at the map's image size (default: a new one).

    Raises:
        ValueError: malformed images, fewer than :data:`MIN_IMAGES`, or an encoder that is not
            the map's.
    """
    check_images(images)
    _check_count(len(images), name)
    atlas = atlas if atlas is not None else load_atlas(scale)
    encoder = encoder or OfflineEncoder(image_size=atlas.config.image_size)
    if encoder.image_identity != atlas.encoder:
        raise ValueError(
            f"the map was made with encoder {atlas.encoder}, not {encoder.image_identity}"
        )
    return place_embeddings(encoder.encode_images(images), atlas, name)


def _check_count(count: int, name: str) -> None:
    if count < MIN_IMAGES:
        raise ValueError(
            f"{name!r} has {count} images; placing a dataset needs at least {MIN_IMAGES}"
        )


def place_embeddings(
    embeddings: torch.Tensor, atlas: Atlas, name: str = "new dataset"
) -> Placement:
    """Place a dataset given its images' embeddings ``(N, D)`` (encoded as the map's were,
    :attr:`Atlas.encoder`; unit norm), ``N >= MIN_IMAGES`` (chapter 7)."""
    if embeddings.ndim != 2 or embeddings.shape[1] != atlas.pool.shape[1]:
        raise ValueError(
            f"embeddings must be (N, {atlas.pool.shape[1]}), got {tuple(embeddings.shape)}"
        )
    _check_count(len(embeddings), name)
    embeddings = embeddings.to(atlas.pool)
    box = embed(atlas.model, embeddings.mean(0, keepdim=True))
    boxes = atlas.boxes
    measured_inside, measured_contains = soft_overlaps_with(
        embeddings, atlas.pool, atlas.members, atlas.thresholds
    )
    return Placement(
        name=name,
        size=len(embeddings),
        box=box[0],
        names=tuple(atlas.names),
        areas=log_volume(boxes).exp(),
        inside=overlap_matrix(box, boxes)[0],
        contains=overlap_matrix(boxes, box)[:, 0],
        measured_inside=measured_inside,
        measured_contains=measured_contains,
        size_scale=int(atlas.counts.max()),
    )
