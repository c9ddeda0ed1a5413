"""Training Task2Box: full-batch Adam on the known relations, seeded and resumable (chapter 5).

One step = every training dataset through the network at once (BatchNorm sees the whole set),
the ``N x N`` overlap matrix, the loss on the training pairs, one Adam update. The only
randomness is the network's initialisation, drawn from ``config.seeds`` with explicit
generators, so a run is a function of its inputs, its config and the number of torch threads
(fix that too: it changes the order of floating-point sums).

``R`` networks can train side by side (``config.seeds`` a tuple of ``R`` seeds, inputs with a
leading ``R`` axis: ``R`` random draws, or ``R`` loss variants via a tuple of weights). Each keeps
its own weights, BatchNorm statistics, Adam moments and early-stopping state; the batch only
shares the arithmetic (on 2 CPU cores this is several times faster than ``R`` separate runs).

With a ``checkpoint`` path the state (networks, optimiser, history, best validation state) is
written atomically every ``config.checkpoint_every`` steps and at the end; calling again with the
same inputs and path resumes where it stopped (or returns at once when the run is complete).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from taskspace.boxes.evaluate import RelationSplit
from taskspace.boxes.geometry import (
    INTERSECTION_TEMPERATURE,
    VOLUME_TEMPERATURE,
    Boxes,
    overlap_matrix,
)
from taskspace.boxes.losses import TASKONOMY_WEIGHTS, LossTerms, LossWeights, task2box_loss
from taskspace.boxes.model import HIDDEN_SIZES, BoxModel, embed
from taskspace.cache import cache_key, save_entry
from taskspace.progress import progress

__all__ = ["History", "TrainConfig", "train_boxes", "train_on_splits", "validation_error"]

_TERMS = LossTerms._fields


@dataclass(frozen=True)
class TrainConfig:
    """How to train (authors' Taskonomy settings by default; chapter 5).

    Attributes:
        box_dim: ``k``.
        steps: Adam steps (full batch); the authors use 3000 for Taskonomy, 1350 for hierarchies.
        learning_rate: Adam's learning rate (1e-3).
        weights: the loss multipliers, or a tuple of one per network (``len(seeds)`` of them).
        hidden: widths of the network's hidden layers.
        seeds: an ``int`` for one network; a tuple of ``R`` ints for ``R`` networks side by side.
        eval_every: steps between validation evaluations (when validation pairs are given).
        patience: early stopping: a network stops improving after this many validation
            evaluations without a new best; training ends when all have, and each network is
            returned at its best. ``None`` trains all ``steps`` and returns the last state.
        checkpoint_every: steps between checkpoints (when a checkpoint path is given).
        volume_temperature, intersection_temperature: of the box overlap.
    """

    box_dim: int = 2
    steps: int = 3000
    learning_rate: float = 1e-3
    weights: LossWeights | tuple[LossWeights, ...] = TASKONOMY_WEIGHTS
    hidden: tuple[int, ...] = HIDDEN_SIZES
    seeds: int | tuple[int, ...] = 0
    eval_every: int = 50
    patience: int | None = None
    checkpoint_every: int = 500
    volume_temperature: float = VOLUME_TEMPERATURE
    intersection_temperature: float = INTERSECTION_TEMPERATURE

    def __post_init__(self) -> None:
        if min(self.box_dim, self.steps, self.eval_every, self.checkpoint_every) < 1:
            raise ValueError(f"box_dim, steps, eval_every, checkpoint_every must be >= 1: {self}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if isinstance(self.weights, tuple) and (
            isinstance(self.seeds, int) or len(self.weights) != len(self.seeds)
        ):
            raise ValueError("a tuple of weights needs a tuple of seeds of the same length")

    def keeping_best(self) -> TrainConfig:
        """This config with a patience longer than the run: all ``steps`` are trained, and
        each network is returned at its step of lowest validation error (chapters 4, 5)."""
        return replace(self, patience=self.steps // self.eval_every + 1)

    @property
    def members(self) -> int | None:
        """``R`` when several networks train side by side, ``None`` for one network."""
        return None if isinstance(self.seeds, int) else len(self.seeds)


@dataclass
class History:
    """What happened in training (chapter 5).

    Each recorded value is a ``float`` for one network and a list of ``R`` floats for ``R``
    networks, so ``torch.tensor(history.losses["total"])`` is ``(steps,)`` or ``(steps, R)``.

    Attributes:
        losses: ``{"total", "overlap", "distance", "regularization", "size"}`` -> the weighted
            value of each term at each step.
        validation_steps: the steps (1-based) after which the validation error was measured.
        validation_error: mean squared error of ``d_box`` on the validation pairs at those steps.
        best_step: step of the lowest validation error (per network; ``None`` without
            validation).
        stopped_early: whether patience ran out (for every network) before ``config.steps``.
    """

    losses: dict[str, list[Any]] = field(default_factory=lambda: {t: [] for t in _TERMS})
    validation_steps: list[int] = field(default_factory=list)
    validation_error: list[Any] = field(default_factory=list)
    best_step: int | list[int] | None = None
    stopped_early: bool = False

    @property
    def steps(self) -> int:
        """Number of steps taken."""
        return len(self.losses["total"])


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.where(mask, values, 0.0).sum((-2, -1)) / mask.sum((-2, -1))


def validation_error(
    model: BoxModel,
    features: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    config: TrainConfig,
) -> torch.Tensor:
    """Mean squared error of ``d_box`` (eval mode) against ``target`` on the ``mask`` pairs.

    Returns:
        a 0-d tensor (one network) or ``(R,)`` (one per network).
    """
    predicted = overlap_matrix(
        embed(model, features), None, config.volume_temperature, config.intersection_temperature
    )
    return _masked_mean((predicted - target).pow(2), mask)


def _check_inputs(
    features: torch.Tensor,
    target: torch.Tensor,
    masks: dict[str, torch.Tensor | None],
    config: TrainConfig,
) -> None:
    layout = "(N, d)" if config.members is None else f"(R={config.members}, N, d)"
    batch = () if config.members is None else (config.members,)
    if (
        features.dim() != len(batch) + 2
        or features.shape[:-2] != batch
        or not features.is_floating_point()
        or features.shape[-2] < 2
    ):
        raise ValueError(
            f"features must be a floating tensor {layout} with N >= 2 for seeds={config.seeds}, "
            f"got {features.dtype} {tuple(features.shape)}"
        )
    n = features.shape[-2]
    if target.shape != (*batch, n, n):
        raise ValueError(f"target must be {(*batch, n, n)}, got {tuple(target.shape)}")
    for name, mask in masks.items():
        if mask is None:
            continue
        if mask.dtype != torch.bool or mask.shape != target.shape:
            raise ValueError(
                f"{name} must be a bool tensor {tuple(target.shape)}, "
                f"got {mask.dtype} {tuple(mask.shape)}"
            )
        if mask.diagonal(dim1=-2, dim2=-1).any():
            raise ValueError(
                f"{name} contains diagonal pairs (i, i); a dataset is not its own pair"
            )
        if not torch.isfinite(target[mask]).all():
            raise ValueError(f"{name} selects pairs whose target is NaN or infinite (unknown)")
        if not mask.any(-1).any(-1).all():
            raise ValueError(f"{name} selects no pairs (for at least one network)")


def _fingerprint(config: TrainConfig, *tensors: torch.Tensor | None) -> str:
    """The key of a run: its inputs, its config (``steps`` excluded: a run can be extended) and
    the code of :func:`train_boxes` with all it calls (:func:`taskspace.cache.cache_key`)."""
    return cache_key(
        {"config": repr(replace(config, steps=1)), "inputs": list(tensors)}, train_boxes
    )


def _load(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != fingerprint:
        raise ValueError(
            f"checkpoint {path} belongs to another run (different data, config or code); "
            "delete it or choose another path"
        )
    return state


@dataclass
class _Best:
    """Per-network early-stopping state: lowest error, evaluations since, and that state."""

    error: torch.Tensor  # (R',) with R' = 1 for one network
    since: torch.Tensor  # (R',) long
    state: dict[str, torch.Tensor] | None = None

    def update(self, error: torch.Tensor, model: BoxModel) -> torch.Tensor:
        """Record a validation evaluation; returns the (R',) bool mask of improved networks."""
        error = error.reshape(-1).to(self.error)
        improved = error <= self.error
        self.error = torch.where(improved, error, self.error)
        self.since = torch.where(improved, 0, self.since + 1)
        current = model.state_dict()
        if self.state is None:
            self.state = {name: value.clone() for name, value in current.items()}
        for name, value in current.items():  # every tensor has the networks' axis first
            self.state[name][improved] = value[improved]
        return improved


def train_boxes(
    features: torch.Tensor,
    target: torch.Tensor,
    train_mask: torch.Tensor,
    val_mask: torch.Tensor | None = None,
    config: TrainConfig | None = None,
    sizes: torch.Tensor | None = None,
    checkpoint: Path | str | None = None,
    description: str = "Task2Box",
) -> tuple[BoxModel, History]:
    """Fit a :class:`~taskspace.boxes.model.BoxModel` so that ``d_box`` reproduces ``target``.

    Shapes are for one network; with ``config.seeds`` a tuple of ``R`` seeds every input gets a
    leading ``R`` axis (one set of datasets and pairs per network, e.g. one random draw each).

    Args:
        features: ``(N, d)`` base vectors of the training ("existing") datasets.
        target: ``(N, N)`` relation ``d(D_i, D_j)`` to reproduce, NaN where unknown.
        train_mask: ``(N, N)`` bool, the pairs to train on (finite, off the diagonal).
        val_mask: ``(N, N)`` bool validation pairs, or ``None``. Measured every
            ``config.eval_every`` steps; needed for early stopping (``config.patience``).
        config: see :class:`TrainConfig` (default: ``TrainConfig()``).
        sizes: ``(N,)`` normalised dataset sizes for ``L_A`` (when a size weight is > 0).
        checkpoint: file to write the training state to, atomically; resumed if it exists.
        description: label of the progress bar.

    Returns:
        The network(s) in eval mode (on ``features``' device and dtype; each at its best on
        validation when early stopping is on) and the :class:`History`.

    Raises:
        ValueError: malformed inputs (shapes, NaN targets inside a mask, diagonal pairs, no
            training pair), early stopping without validation pairs, or a checkpoint from
            another run.
    """
    config = TrainConfig() if config is None else config
    _check_inputs(features, target, {"train_mask": train_mask, "val_mask": val_mask}, config)
    if config.patience is not None and val_mask is None:
        raise ValueError("early stopping (config.patience) needs validation pairs (val_mask)")
    model = BoxModel(features.shape[-1], config.box_dim, config.hidden, config.seeds).to(features)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=True)
    members = config.members or 1
    history = History()
    best = _Best(features.new_full((members,), torch.inf), features.new_zeros(members).long())
    fingerprint = _fingerprint(config, features, target, train_mask, val_mask, sizes)
    path = None if checkpoint is None else Path(checkpoint)
    saved = None if path is None else _load(path, fingerprint)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        history = History(**saved["history"])
        best = _Best(**{key: saved["best"][key] for key in ("error", "since", "state")})

    def save() -> None:
        if path is None:
            return
        state = {
            "fingerprint": fingerprint,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "history": asdict(history),
            "best": {"error": best.error, "since": best.since, "state": best.state},
        }
        save_entry(path, state)

    goal = target.nan_to_num(0.0)  # NaN only outside the masks, where it is never read
    end = history.steps if history.stopped_early else config.steps
    remaining = range(history.steps, end)
    for step in progress(remaining, description, total=len(remaining)):
        model.train()
        terms = task2box_loss(
            model(features),
            goal,
            train_mask,
            config.weights,
            sizes,
            config.volume_temperature,
            config.intersection_temperature,
        )
        optimizer.zero_grad(set_to_none=True)
        terms.total.sum().backward()
        optimizer.step()
        for name, value in zip(_TERMS, torch.stack(terms).tolist(), strict=True):
            history.losses[name].append(value)
        done = step + 1 == config.steps
        if val_mask is not None and ((step + 1) % config.eval_every == 0 or done):
            error = validation_error(model, features, goal, val_mask, config)
            history.validation_steps.append(step + 1)
            history.validation_error.append(error.tolist())
            improved = best.update(error, model)
            steps = torch.as_tensor(history.best_step if history.best_step is not None else 0)
            best_step = torch.where(improved, step + 1, steps.reshape(-1))
            history.best_step = best_step.tolist() if config.members else int(best_step)
            history.stopped_early = config.patience is not None and bool(
                (best.since >= config.patience).all()
            )
        if (step + 1) % config.checkpoint_every == 0 or done or history.stopped_early:
            save()
        if history.stopped_early:
            break
    if config.patience is not None and best.state is not None:
        model.load_state_dict(best.state)
    return model.eval(), history


def train_on_splits(
    features: torch.Tensor,
    target: torch.Tensor,
    splits: Sequence[RelationSplit],
    config: TrainConfig,
    validation: bool = False,
    description: str = "Task2Box",
    sizes: torch.Tensor | None = None,
) -> tuple[BoxModel, Boxes, History]:
    """One network per split, side by side, on its existing datasets; boxes of all (ch. 5, 6).

    Network ``r`` sees only the existing datasets of ``splits[r]`` and its training pairs (and,
    with ``validation``, its validation pairs for ``config.patience``); afterwards every dataset,
    novel ones included, is embedded by one forward pass.

    Args:
        features: ``(N, d)`` base vectors of all datasets, or ``(R, N, d)``: one set per
            network (e.g. inputs perturbed by rounding noise, chapter 4).
        target: ``(N, N)`` relation to reproduce (NaN where unknown).
        splits: ``R`` splits with the same number of existing datasets (``split_relations``
            with a fixed ``novel`` count).
        config: ``config.seeds`` holds ``R`` seeds.
        validation: pass each split's validation pairs to :func:`train_boxes`.
        sizes: ``(N,)`` normalised dataset sizes for ``L_A`` (chapter 7), or ``None``.

    Returns:
        The ``R`` networks, the boxes ``(R, N, k)`` of all datasets and the :class:`History`.
    """
    if config.members != len(splits):
        raise ValueError(f"{len(splits)} splits need {len(splits)} seeds, got {config.seeds}")
    per_network = features.expand(len(splits), -1, -1) if features.dim() == 2 else features
    if per_network.shape[0] != len(splits):
        raise ValueError(f"features (R, N, d) need R = {len(splits)}, got {tuple(features.shape)}")
    model, history = train_boxes(
        torch.stack([x[s.existing] for x, s in zip(per_network, splits, strict=True)]),  # (R, E, d)
        torch.stack([s.block(target) for s in splits]),  # (R, E, E)
        torch.stack([s.block(s.train) for s in splits]),
        torch.stack([s.block(s.validation) for s in splits]) if validation else None,
        config=config,
        sizes=None if sizes is None else torch.stack([sizes[s.existing] for s in splits]),
        description=description,
    )
    return model, embed(model, per_network), history
