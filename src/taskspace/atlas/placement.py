"""Place a new dataset on the map: one forward pass, no re-training (Task2Box §5.3; chapter 7).

A new dataset's images are encoded as the map's were, their mean embedding ``mu`` goes through
the map's network, and out comes its box. Its overlaps with the boxes of the map are the
*predicted* relations,

    d_box(new, D)  = share of the new box inside D's box   ("D contains it"),
    d_box(D, new)  = share of D's box inside the new box   ("it contains D"),

and, because the map keeps its datasets' embeddings, the *measured* soft overlaps ``so(new, D)``
and ``so(D, new)`` are computed beside them, so a reader sees how far to trust the picture.

Two warnings come with a placement (:attr:`Placement.warnings`, printed by
:meth:`Placement.report`):

* **far from the map**: soft overlap's threshold is generous (the *mean* distance inside a
  dataset), so images unlike anything on the map -- random noise, colour photographs -- can still
  measure "inside" a broad dataset. The map's own images say how near is near: each lies at some
  distance from its nearest other image on the map. When the median distance from a new image to
  its nearest image on the map exceeds the :data:`FAR_PERCENTILE`-th percentile of those
  distances (farther than 99 % of the map's own images lie from theirs), the new dataset is far
  from every dataset on the map and its relations compare it with datasets unlike it;
* **the small map**: at scale ``fast`` (:data:`SMALL_MAPS`) the map is the quick test map (few,
  small images per class and briefly trained boxes: :data:`~taskspace.atlas.build.SCALES`), on
  which a folder of sneakers "contains" MNIST's 4s, predicted and measured: it does not say
  which datasets a new one contains.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from taskspace.atlas.build import Atlas, load_atlas
from taskspace.atlas.overlap import nearest_neighbour_distance, soft_overlaps_with
from taskspace.boxes.geometry import Boxes, log_volume, overlap_matrix
from taskspace.boxes.model import embed
from taskspace.represent.encoders import OfflineEncoder, check_images

__all__ = [
    "FAR_PERCENTILE",
    "MIN_IMAGES",
    "SMALL_MAPS",
    "Placement",
    "Relation",
    "map_spacing",
    "place",
    "place_embeddings",
]

#: Fewest images a dataset needs to be placed: its mean and spread are too noisy below this.
MIN_IMAGES = 10
#: A new dataset is far from the map when the median distance from its images to their nearest
#: image on the map exceeds this percentile of the map's own images' nearest-other distances.
FAR_PERCENTILE = 99.0
#: Scales whose map is too small and too briefly trained for its "contains" direction.
SMALL_MAPS = ("fast",)
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
        scale: the map's scale (:data:`~taskspace.atlas.build.SCALES`).
        distance: the median, over the new images, of the distance to the nearest image on
            the map.
        far_distance: the :data:`FAR_PERCENTILE`-th percentile of the map's own images'
            distances to their nearest other image (:func:`map_spacing`): beyond it, far.
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
    scale: str
    distance: float
    far_distance: float

    @property
    def far(self) -> bool:
        """Whether the new images lie farther from the map than its own images lie apart."""
        return self.distance > self.far_distance

    @property
    def warnings(self) -> list[str]:
        """What to keep in mind when reading the placement, one line each (may be empty)."""
        lines = []
        if self.far:
            lines.append(
                f"warning: these images are far from every dataset on the map: the median "
                f"distance from one of them to its nearest image on the map is "
                f"{self.distance:.2f}, farther than {FAR_PERCENTILE:.0f} % of the map's own "
                f"images lie from their nearest neighbour ({self.far_distance:.2f}); the "
                "relations below compare them with datasets unlike them"
            )
        if self.scale in SMALL_MAPS:
            lines.append(
                f"note: this is the small {self.scale!r} map (a test map: few small images "
                "per class, briefly trained boxes): which datasets the new one contains is not "
                "meaningful on it; place it on the 'book' map for that"
            )
        return lines

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
            *self.warnings,
            f"{self.name}: {self.size} images, placed on the {self.scale!r} map of "
            f"{len(self.names)} datasets",
            f"box [{low[0]:.3f}, {high[0]:.3f}] x [{low[1]:.3f}, {high[1]:.3f}], area "
            f"{self.area:.3f}",
            f"  (the map's size scale reads about {self.estimated_size:.0f} images)",
        ]
        for title, relations, direction in (
            ("Datasets that contain it most", self.containers(top), "d_box(new, D)"),
            ("Datasets it contains most", self.contained(top), "d_box(D, new)"),
        ):
            lines.append(f"{title} (predicted {direction}; measured so):")
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
    spacing = map_spacing(atlas)
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
        scale=atlas.scale,
        distance=float(nearest_neighbour_distance(embeddings, atlas.pool).median()),
        far_distance=float(torch.quantile(spacing.double(), FAR_PERCENTILE / 100)),
    )


def map_spacing(atlas: Atlas) -> torch.Tensor:
    """``(P,)`` each image of the map's pool: its distance to the nearest other pool image
    (how near "near" is on this map; chapter 7)."""
    return nearest_neighbour_distance(atlas.pool, atlas.pool, leave_one_out=True)
