"""The map of datasets: soft overlaps, Task2Box in 2-D with ``L_A``, cached on disk (chapter 7).

:func:`build_atlas` makes the map of one scale from scratch:

1. the three pools of images (:func:`~taskspace.atlas.catalogue.load_pool`), encoded once with
   chapter 2's encoder (EfficientNet-Lite0 features, unit norm; cached by content);
2. the datasets of :func:`~taskspace.atlas.catalogue.catalogue`, each a set of pool rows;
3. their ``(m, m)`` soft overlaps (:func:`~taskspace.atlas.overlap.soft_overlap_matrix`);
4. one Task2Box network, input the mean embedding ``mu`` of each dataset, trained on every pair
   with ``L_E + L_D + L_R`` (Taskonomy's multipliers: the relation is soft, as there) plus the
   size loss ``L_A`` (supplement Eq. 13) on sizes normalised by the largest dataset.

:func:`load_atlas` returns the map of a scale, building it once and keeping it in the user
cache (``<cache>/atlas/``) under a key made of the scale's settings, the encoder's identity and
the code that computes the map (:mod:`taskspace.cache`), so that a changed recipe is never
answered by a stale map. The chapter and the command ``python -m taskspace.atlas`` use the same map.

The map's image embeddings are images only (``phi(x)``), not Task2Box's image–label pairs
``[phi(x), psi(y)]``: a reader's flat folder of images has no labels, and two of our sources
share their label names ("0" .. "9"), which would make their text halves identical.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from taskspace.atlas.catalogue import MapDataset, catalogue, load_pool, pool_embeddings
from taskspace.atlas.overlap import soft_overlap_matrix, squared_norms
from taskspace.boxes.evaluate import split_relations
from taskspace.boxes.geometry import Boxes, log_volume
from taskspace.boxes.losses import TASKONOMY_WEIGHTS, LossWeights
from taskspace.boxes.model import BoxModel, embed
from taskspace.boxes.train import TrainConfig, train_boxes
from taskspace.cache import cache_dir, cache_key, load_entry, save_entry
from taskspace.device import one_thread
from taskspace.represent.encoders import OfflineEncoder

__all__ = [
    "MAP_WEIGHTS",
    "SCALES",
    "Atlas",
    "AtlasConfig",
    "atlas_path",
    "build_atlas",
    "load_atlas",
    "normalised_sizes",
    "train_map",
]

#: Task2Box's Taskonomy multipliers plus the size loss ``L_A`` (chapter 7).
MAP_WEIGHTS = replace(TASKONOMY_WEIGHTS, size=100.0)


@dataclass(frozen=True)
class AtlasConfig:
    """The settings of one scale of the map (chapter 7).

    Attributes:
        per_class: pool images per class of Fashion-MNIST, MNIST-5k and digits.
        image_size: the encoder's input size (chapter 2: 128 at scale ``book``).
        steps: Adam steps of the map's network (full batch).
        weights: loss multipliers, ``size`` being ``L_A``'s.
        seed: of the network's initialisation.
    """

    per_class: tuple[int, int, int]
    image_size: int
    steps: int
    weights: LossWeights = MAP_WEIGHTS
    seed: int = 0


#: The map at each scale of the book.
SCALES = {
    "fast": AtlasConfig(per_class=(12, 12, 12), image_size=32, steps=150),
    "book": AtlasConfig(per_class=(200, 100, 100), image_size=128, steps=3000),
    "paper": AtlasConfig(per_class=(1000, 500, 170), image_size=224, steps=3000),
}


def normalised_sizes(datasets: list[MapDataset]) -> torch.Tensor:
    """``(m,)`` float32 ``|D_i| / max_j |D_j|``: the box area ``L_A`` asks for (chapter 7)."""
    sizes = torch.tensor([d.size for d in datasets], dtype=torch.float32)
    return sizes / sizes.max()


@dataclass
class Atlas:
    """A trained map of datasets (chapter 7).

    Attributes:
        scale: the :data:`SCALES` entry it was built with.
        config: its settings.
        encoder: the encoder's image identity (a new dataset must be encoded the same way).
        names, recipes, groups: per dataset, ``m`` strings.
        members: ``m`` index tensors into ``pool``.
        pool: ``(P, D)`` unit-norm image embeddings of the pool.
        features: ``(m, D)`` each dataset's mean embedding ``mu`` (the network's input).
        overlap: ``(m, m)`` soft overlaps ``so(D_i, D_j)`` (the training target).
        thresholds: ``(m,)`` each dataset's mean pairwise distance ``t_j``.
        sizes: ``(m,)`` normalised sizes (``L_A``'s target areas).
        model: the trained network (eval mode).
    """

    scale: str
    config: AtlasConfig
    encoder: str
    names: list[str]
    recipes: list[str]
    groups: list[str]
    members: list[torch.Tensor]
    pool: torch.Tensor
    features: torch.Tensor
    overlap: torch.Tensor
    thresholds: torch.Tensor
    sizes: torch.Tensor
    model: BoxModel

    @property
    def boxes(self) -> Boxes:
        """``(m, 2)`` the datasets' boxes (one forward pass)."""
        return embed(self.model, self.features)

    @property
    def counts(self) -> torch.Tensor:
        """``(m,)`` int64 number of images of each dataset."""
        return torch.tensor([len(index) for index in self.members])

    def areas(self) -> torch.Tensor:
        """``(m,)`` the boxes' (soft) areas, on the scale of :attr:`sizes`."""
        return log_volume(self.boxes).exp()

    def state(self) -> dict:
        """Everything needed to rebuild this object, as tensors, strings and numbers."""
        return {
            "scale": self.scale,
            "config": {**asdict(self.config), "weights": asdict(self.config.weights)},
            "encoder": self.encoder,
            "names": self.names,
            "recipes": self.recipes,
            "groups": self.groups,
            "members": self.members,
            "pool": self.pool,
            "features": self.features,
            "overlap": self.overlap,
            "thresholds": self.thresholds,
            "sizes": self.sizes,
            "model": self.model.state_dict(),
            "hidden": [layer.weight.shape[-1] for layer in self.model.layers],
        }

    @classmethod
    def from_state(cls, state: dict) -> Atlas:
        """The inverse of :meth:`state`."""
        settings = dict(state["config"])
        config = AtlasConfig(
            per_class=tuple(settings["per_class"]),
            image_size=settings["image_size"],
            steps=settings["steps"],
            weights=LossWeights(**settings["weights"]),
            seed=settings["seed"],
        )
        model = BoxModel(state["features"].shape[1], 2, state["hidden"], config.seed)
        model.load_state_dict(state["model"])
        fields = {k: state[k] for k in ("scale", "encoder", "names", "recipes", "groups")}
        tensors = {k: state[k] for k in ("pool", "features", "overlap", "thresholds", "sizes")}
        return cls(
            config=config, members=list(state["members"]), model=model.eval(), **fields, **tensors
        )


def _check_scale(scale: str) -> AtlasConfig:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    return SCALES[scale]


def train_map(
    features: torch.Tensor,
    overlap: torch.Tensor,
    sizes: torch.Tensor,
    config: AtlasConfig,
    description: str = "map",
) -> BoxModel:
    """The 2-D Task2Box network fitted to every pair of ``overlap`` ``(m, m)`` with ``L_A``
    (one torch thread, so the map is the same wherever it is built; chapter 7)."""
    every_pair = split_relations(overlap, novel=0, fractions=(1.0, 0.0, 0.0), seed=0).train
    train_config = TrainConfig(
        box_dim=2, steps=config.steps, weights=config.weights, seeds=config.seed
    )
    with one_thread():
        model, _ = train_boxes(
            features,
            overlap,
            every_pair,
            config=train_config,
            sizes=sizes,
            description=description,
        )
    return model


def build_atlas(scale: str = "book", encoder: OfflineEncoder | None = None) -> Atlas:
    """Build the map of ``scale`` from the images (no disk cache of the map; chapter 7).

    Args:
        scale: ``"fast"``, ``"book"`` or ``"paper"`` (:data:`SCALES`).
        encoder: chapter 2's encoder at the scale's image size (default: a new one).
    """
    config = _check_scale(scale)
    encoder = encoder or OfflineEncoder(image_size=config.image_size)
    if getattr(encoder, "image_size", config.image_size) != config.image_size:
        raise ValueError(
            f"the {scale!r} map uses {config.image_size}-px images, the encoder {encoder.image_size}"
        )
    pool = load_pool(config.per_class)
    points = pool_embeddings(encoder, pool)
    datasets = catalogue(pool)
    members = [d.members for d in datasets]
    norms = squared_norms(points)
    with one_thread():
        overlap, thresholds = soft_overlap_matrix(points, members, norms)
    features = torch.stack([points[index].mean(0) for index in members])
    sizes = normalised_sizes(datasets)
    model = train_map(features, overlap, sizes, config)
    return Atlas(
        scale=scale,
        config=config,
        encoder=encoder.image_identity,
        names=[d.name for d in datasets],
        recipes=[d.recipe for d in datasets],
        groups=[d.group for d in datasets],
        members=members,
        pool=points,
        features=features,
        overlap=overlap,
        thresholds=thresholds,
        sizes=sizes,
        model=model,
    )


def atlas_path(scale: str = "book", encoder: OfflineEncoder | None = None) -> Path:
    """Where the map of ``scale`` is cached: ``<cache>/atlas/map-<scale>-<key>.pt``, the key
    made of the scale's settings, the encoder's identity and the code of :func:`build_atlas`
    with everything it calls (:func:`taskspace.cache.cache_key`)."""
    config = _check_scale(scale)
    encoder = encoder or OfflineEncoder(image_size=config.image_size)
    parts = {"scale": scale, "config": repr(config), "encoder": encoder.image_identity}
    return cache_dir() / "atlas" / f"map-{scale}-{cache_key(parts, build_atlas)[:16]}.pt"


def load_atlas(scale: str = "book", encoder: OfflineEncoder | None = None) -> Atlas:
    """The map of ``scale``: read from the cache, or built once and written there (chapter 7)."""
    path = atlas_path(scale, encoder)
    state = load_entry(path, map_location="cpu")
    if isinstance(state, dict):
        return Atlas.from_state(state)
    atlas = build_atlas(scale, encoder)
    save_entry(path, atlas.state())
    return atlas
