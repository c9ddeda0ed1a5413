"""Discovering a set of dissimilar tasks with a high agreement score (Task Discovery §4, Eq. 2-5,
Algorithm 1, appendices C and I.2; chapter 9).

A *task encoder* ``e(x)`` maps an image to ``R^d`` (a backbone, a linear map without bias, a
BatchNorm whose bias stays 0). Every unit vector ``w`` in ``R^d`` is then a task,
``x -> [w . e(x) > 0]``: the tasks are the hyper-planes through the origin. Discovery trains the
encoder so that these tasks have a high proxy-AS (:func:`~taskspace.agreement.proxy_agreement`)
while the embeddings spread uniformly over the sphere (Wang & Isola's uniformity loss, Eq. 5), so
that orthogonal hyper-planes give dissimilar tasks (Eq. 2):

* ``d`` fixed orthonormal heads (rows of a random orthogonal matrix); each meta-step samples one,
  whose soft labels are ``softmax(temperature * [-w . e(x), w . e(x)])`` (class 1 on the positive
  side of the hyper-plane);
* the meta-loss is ``-proxy-AS + lambda * L_unif``; Adam on the encoder. The uniformity loss is
  taken on one batch per meta-step drawn for it (the paper's code accumulates it over the
  inner loop's batches): the same expectation, one encoder pass;
* multi-class tasks (appendix C): ``n_classes`` directions at angles ``2 pi / n_classes`` in the
  plane of two consecutive heads; the label is the nearest direction.

:func:`discover_tasks` runs the meta-optimisation with atomic checkpoints (a killed run resumes
to the same result: all randomness of meta-step ``s`` is drawn from ``(seed, s)``) and a
content-keyed result cache. At the end the encoder's BatchNorm running statistics are set to
the averages over the images (:func:`recalibrate_batchnorm`): during meta-training BatchNorm
normalises by each batch, and a moving average over a few hundred meta-steps would lag behind
the moving weights, tilting every hyper-plane task towards one class in evaluation mode.
:func:`task_similarity` compares any set of binary tasks.

:data:`DISCOVERY_SETTINGS` holds chapter 9's discovery per scale (:class:`DiscoverySettings`:
its pool, its encoder, its :class:`DiscoveryConfig`); chapter 10 and the sweep
(:func:`~taskspace.sweep.jobs.discovery_jobs`) run it through :meth:`DiscoverySettings.discover`,
so all three compute the same cache key and share one result.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn
from torch.func import functional_call
from tqdm.std import tqdm

from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.proxy import META_GRADIENTS, ProxyConfig, proxy_agreement
from taskspace.cache import Stored, cache_dir, cache_key, cached, save_entry
from taskspace.data.images import ImageDataset
from taskspace.device import default_device
from taskspace.progress import is_quiet

__all__ = [
    "DISCOVERY_SETTINGS",
    "DiscoveredTasks",
    "DiscoveryConfig",
    "DiscoverySettings",
    "TaskEncoder",
    "class_directions",
    "discover_tasks",
    "mean_pairwise_similarity",
    "orthogonal_heads",
    "recalibrate_batchnorm",
    "task_similarity",
    "uniformity_loss",
]


@dataclass(frozen=True)
class DiscoveryConfig:
    """The meta-optimisation of :func:`discover_tasks` (§4.3, appendix I.2; chapter 9).

    Attributes:
        n_heads: ``d`` fixed orthonormal heads, one sampled per meta-step (the paper: 32).
        temperature: the heads' logits are ``temperature * w . e(x)`` (the paper's code: 5).
        uniformity_weight: ``lambda`` of Eq. 3 (the paper: 0.66 ResNet-18, 5 MLP, 100 ViT).
        uniformity_t: ``t`` of the uniformity loss (Eq. 5; 2 as in the paper's code).
        meta_steps: meta-optimisation steps (outer loop).
        meta_lr: Adam's step size on the encoder.
        n_classes: 2 for binary tasks; more for appendix C's multi-class tasks.
        proxy: the inner loop of the proxy-AS (its ``batch_size`` is also the uniformity batch).
        checkpoint_every: write a checkpoint every this many meta-steps (and at the end).
        embedding_dim: the encoder's output dimension; ``None``: ``n_heads`` (the paper).
        fixed_inner_init: use one stored pair of inner initialisations at every meta-step (the
            authors' code) instead of a fresh pair per meta-step (Algorithm 1).
    """

    n_heads: int = 32
    temperature: float = 5.0
    uniformity_weight: float = 5.0
    uniformity_t: float = 2.0
    meta_steps: int = 1000
    meta_lr: float = 1e-3
    n_classes: int = 2
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    checkpoint_every: int = 25
    embedding_dim: int | None = None
    fixed_inner_init: bool = False

    def __post_init__(self) -> None:
        if self.n_heads < 1 or self.meta_steps < 0 or self.checkpoint_every < 1:
            raise ValueError(
                "n_heads and checkpoint_every must be positive and meta_steps >= 0, got "
                f"{self.n_heads}, {self.checkpoint_every}, {self.meta_steps}"
            )
        if self.n_heads > self.dim:
            raise ValueError(
                f"{self.n_heads} orthogonal heads do not fit in a {self.dim}-dimensional "
                "embedding: n_heads must be at most embedding_dim"
            )
        if self.n_classes < 2 or (self.n_classes > 2 and self.n_heads < 2):
            raise ValueError(
                f"n_classes must be at least 2 (multi-class tasks need n_heads >= 2), got "
                f"n_classes={self.n_classes}, n_heads={self.n_heads}"
            )
        if self.temperature <= 0 or self.meta_lr <= 0 or self.uniformity_weight < 0:
            raise ValueError(f"temperature, meta_lr must be positive, lambda >= 0: {self}")

    @property
    def dim(self) -> int:
        """The embedding dimension ``d``."""
        return self.n_heads if self.embedding_dim is None else self.embedding_dim

    def as_key(self) -> dict[str, object]:
        """The fields as a plain dict (part of a cache key)."""
        return asdict(self)


class TaskEncoder(nn.Module):
    """``e(x)``: backbone -> Linear (no bias) -> BatchNorm1d with its bias frozen at 0 (Eq. 4).

    ``forward(images (N, C, H, W)) -> (N, d)``. The backbone is ``spec.build(seed)``: its head's
    ``spec.num_classes`` outputs are the features the linear map projects to ``R^d``.
    """

    def __init__(self, spec: NetworkSpec, dim: int, seed: int) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = spec.build(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.projection = nn.Linear(spec.num_classes, dim, bias=False)
        self.norm = nn.BatchNorm1d(dim)
        self.norm.bias.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.norm(self.projection(self.backbone(images)))


def orthogonal_heads(n_heads: int, dim: int, seed: int) -> torch.Tensor:
    """``(n_heads, dim)`` orthonormal rows of a random orthogonal matrix (Haar), from ``seed``."""
    if not 0 < n_heads <= dim:
        raise ValueError(f"cannot have {n_heads} orthonormal heads in {dim} dimensions")
    gaussian = torch.randn(
        dim, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    q, r = torch.linalg.qr(gaussian)
    return (q * torch.sign(torch.diagonal(r))).T[:n_heads].float()


def class_directions(heads: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``(T, n_classes, d)``: the class vectors of each task; label = argmax of ``v_c . e(x)``.

    Binary: ``[-w, w]`` (class 1 where ``w . e(x) > 0``). Multi-class (appendix C): unit vectors
    at angles ``2 pi c / n_classes`` in the plane of head ``t`` and head ``t + 1`` (cyclically),
    so on a uniform embedding the classes are balanced.

    Args:
        heads: ``(T, d)`` unit vectors (``T >= 2`` orthonormal ones for multi-class).
    """
    if heads.ndim != 2:
        raise ValueError(f"heads must be (T, d), got shape {tuple(heads.shape)}")
    if n_classes == 2:
        return torch.stack([-heads, heads], dim=1)
    if heads.shape[0] < 2:
        raise ValueError("multi-class tasks need at least two heads (a plane to rotate in)")
    angles = (
        2 * math.pi * torch.arange(n_classes, dtype=heads.dtype, device=heads.device) / n_classes
    )
    partner = heads.roll(-1, dims=0)
    return (
        torch.cos(angles)[None, :, None] * heads[:, None]
        + torch.sin(angles)[None, :, None] * partner[:, None]
    )


def uniformity_loss(embeddings: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """Wang & Isola's uniformity (Eq. 5): ``log mean_{i<j} exp(-t ||z_i - z_j||^2)`` of the
    L2-normalised ``(B, d)`` embeddings; lowest when they spread evenly over the sphere."""
    if embeddings.ndim != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"need (B, d) embeddings with B >= 2, got {tuple(embeddings.shape)}")
    z = nn.functional.normalize(embeddings, dim=1)
    squared = (2 - 2 * z @ z.T).clamp_min(0)  # ||z_i - z_j||^2 for unit vectors
    i, j = torch.triu_indices(z.shape[0], z.shape[0], offset=1, device=z.device)
    return torch.logsumexp(-t * squared[i, j], dim=0) - math.log(i.numel())


def task_similarity(labels: torch.Tensor) -> torch.Tensor:
    """``(T, T)`` similarity of binary tasks, ``max(agree, 1 - agree)`` (Eq. 2; chapter 9).

    Args:
        labels: ``(T, N)`` int64 in {0, 1}: task ``t``'s label of image ``n``.

    Returns:
        float64, symmetric, 1 on the diagonal; a label flip is the same task (0.5 is the least).
    """
    if labels.ndim != 2 or labels.dtype != torch.int64 or labels.shape[1] == 0:
        raise ValueError(
            f"labels must be (T, N) int64 with N >= 1, got {labels.dtype} {tuple(labels.shape)}"
        )
    if labels.numel() and (labels.min() < 0 or labels.max() > 1):
        raise ValueError("task_similarity compares binary tasks: labels must be 0 or 1")
    ones = labels.double()
    agree = (ones @ ones.T + (1 - ones) @ (1 - ones).T) / labels.shape[1]
    return torch.maximum(agree, 1 - agree)


def mean_pairwise_similarity(labels: torch.Tensor) -> float:
    """Mean of the off-diagonal of :func:`task_similarity` over ``(T, N)`` labels, ``T >= 2``."""
    if labels.ndim != 2 or labels.shape[0] < 2:
        raise ValueError(
            f"a mean pairwise similarity needs at least two tasks, got labels of shape {tuple(labels.shape)}"
        )
    similarity = task_similarity(labels)
    count = labels.shape[0]
    return ((similarity.sum() - similarity.diagonal().sum()) / (count * (count - 1))).item()


@dataclass
class DiscoveredTasks:
    """The result of :func:`discover_tasks` (chapter 9).

    Attributes:
        encoder: the trained :class:`TaskEncoder`, in evaluation mode.
        heads: ``(d_heads, d)`` the orthonormal heads it was trained with (unit vectors ``w``).
        history: per meta-step ``"proxy"`` ``(S,)``, ``"uniformity"`` ``(S,)``, ``"head"``
            ``(S,)`` int64.
        n_classes: 2 for binary tasks, else appendix C's multi-class tasks.
    """

    encoder: TaskEncoder
    heads: torch.Tensor
    history: dict[str, torch.Tensor] = field(default_factory=dict)
    n_classes: int = 2

    def embed(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """``(N, d)`` embeddings of ``(N, C, H, W)`` images (evaluation mode, no gradient), on
        ``images``' device."""
        spec = self.encoder.spec
        spec.check_images(images, "images")
        device = next(self.encoder.parameters()).device
        self.encoder.eval()
        with torch.no_grad():
            chunks = [
                self.encoder(images[i : i + batch_size].to(device))
                for i in range(0, images.shape[0], batch_size)
            ]
        return torch.cat(chunks).to(images.device)

    def scores(self, images: torch.Tensor, heads: torch.Tensor | None = None) -> torch.Tensor:
        """``(T, N)`` ``w_t . e(x)`` for heads ``(T, d)`` (default: :attr:`heads`)."""
        heads = self._heads(heads, images)
        return heads @ self.embed(images).T

    def labels(self, images: torch.Tensor, heads: torch.Tensor | None = None) -> torch.Tensor:
        """``(T, N)`` int64 labels: binary ``[w_t . e(x) > 0]``; multi-class the nearest of
        :func:`class_directions`."""
        heads = self._heads(heads, images)
        if self.n_classes == 2:
            return (heads @ self.embed(images).T > 0).long()
        logits = torch.einsum(
            "tcd,nd->tnc", class_directions(heads, self.n_classes), self.embed(images)
        )
        return logits.argmax(-1)

    def _heads(self, heads: torch.Tensor | None, images: torch.Tensor) -> torch.Tensor:
        heads = self.heads if heads is None else heads
        dim = self.heads.shape[1]
        if heads.ndim != 2 or heads.shape[1] != dim:
            raise ValueError(f"heads must be (T, {dim}), got shape {tuple(heads.shape)}")
        return heads.to(images.device, images.dtype)


def recalibrate_batchnorm(module: nn.Module, images: torch.Tensor, batch_size: int) -> None:
    """Set every BatchNorm's running statistics of ``module`` to the average over ``images``
    ``(N, C, H, W)`` (in batches, training-mode forward, no gradient), so that evaluation mode
    normalises like the population instead of like a slow moving average of the training steps."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches
    module.train()
    with torch.no_grad():
        for start in range(0, images.shape[0] - batch_size + 1, batch_size):
            module(images[start : start + batch_size])
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum


def _derived_seed(*parts: object) -> int:
    """A 62-bit seed that depends only on ``parts`` (e.g. ``(seed, step, purpose)``)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 2


def _soft_labels_of(
    encoder: TaskEncoder, directions: torch.Tensor, temperature: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``images -> (B, n_classes)`` probabilities of one task; a pure function of the encoder's
    parameters (BatchNorm uses the batch's statistics and the running ones are left alone, so
    recomputing it in the backward pass changes nothing)."""
    params = dict(encoder.named_parameters())
    buffers = dict(encoder.named_buffers())

    def soft_labels(images: torch.Tensor) -> torch.Tensor:
        copies = {name: value.clone() for name, value in buffers.items()}
        embedding = functional_call(encoder, (params, copies), (images,))
        return torch.softmax(temperature * embedding @ directions.T, dim=-1)

    return soft_labels


@dataclass
class _State:
    """Where a run stands: meta-steps done and the history so far (a checkpoint also holds the
    encoder's and Adam's states)."""

    step: int
    history: dict[str, list[float]]


def _save_checkpoint(
    path: Path, encoder: TaskEncoder, optimiser: torch.optim.Optimizer, state: _State
) -> None:
    save_entry(
        path,
        {
            "step": state.step,
            "encoder": encoder.state_dict(),
            "optimiser": optimiser.state_dict(),
            "history": state.history,
        },
    )


def _load_checkpoint(
    path: Path, encoder: TaskEncoder, optimiser: torch.optim.Optimizer, meta_steps: int
) -> _State:
    """The state saved at ``path`` loaded into ``encoder`` and ``optimiser`` (a fresh state when
    there is none, or it is from further than ``meta_steps``)."""
    fresh = _State(0, {"proxy": [], "uniformity": [], "head": []})
    if not path.is_file():
        return fresh
    saved = torch.load(path, weights_only=True, map_location=next(encoder.parameters()).device)
    if saved["step"] > meta_steps:
        return fresh
    encoder.load_state_dict(saved["encoder"])
    optimiser.load_state_dict(saved["optimiser"])
    return _State(saved["step"], saved["history"])


class _MetaStep:
    """One meta-step ``s``: every random choice is drawn from ``(seed, s)``."""

    def __init__(
        self,
        encoder: TaskEncoder,
        directions: torch.Tensor,
        inner_spec: NetworkSpec,
        images: torch.Tensor,
        config: DiscoveryConfig,
        seed: int,
        meta_gradient: str,
    ) -> None:
        self.encoder, self.directions, self.inner_spec = encoder, directions, inner_spec
        self.images, self.config = images, config
        self.seed, self.meta_gradient = seed, meta_gradient
        self.optimiser = torch.optim.Adam(
            [p for p in encoder.parameters() if p.requires_grad], lr=config.meta_lr
        )

    def __call__(self, step: int) -> tuple[float, float, int]:
        """Update the encoder; return the proxy-AS, the uniformity loss and the head used."""
        config = self.config
        generator = torch.Generator().manual_seed(_derived_seed(self.seed, step))
        head = int(torch.randint(self.directions.shape[0], (1,), generator=generator))
        batch_seed = int(torch.randint(2**62, (1,), generator=generator))
        init = torch.randint(2**62, (2,), generator=generator).tolist()
        if config.fixed_inner_init:
            init = [_derived_seed(self.seed, "inner", j) for j in (0, 1)]
        uniform_batch = torch.randperm(self.images.shape[0], generator=generator)[
            : config.proxy.batch_size
        ]
        self.encoder.train()
        proxy = proxy_agreement(
            _soft_labels_of(self.encoder, self.directions[head], config.temperature),
            self.inner_spec,
            self.images,
            config=config.proxy,
            init_seeds=(init[0], init[1]),
            batch_seed=batch_seed,
            meta_gradient=self.meta_gradient,
        )
        uniformity = uniformity_loss(
            self.encoder(self.images[uniform_batch.to(self.images.device)]), config.uniformity_t
        )
        loss = -proxy + config.uniformity_weight * uniformity
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        finite = torch.isfinite(loss) and all(
            torch.isfinite(p.grad).all() for p in self.encoder.parameters() if p.grad is not None
        )
        if not finite:
            raise FloatingPointError(
                f"task discovery diverged at meta-step {step}: proxy-AS {proxy.item():.4g}, "
                f"uniformity {uniformity.item():.4g} (or a non-finite gradient)"
            )
        self.optimiser.step()
        return proxy.item(), uniformity.item(), head


def _checkpoint_path(
    parts: dict[str, object], checkpoint_dir: Path | None, build: Callable[[], TaskEncoder]
) -> Path:
    """Where a run's checkpoint lives: keyed by everything but its length, so a longer run
    continues a shorter one, and by the code of the encoder (``build``) and of the meta-steps."""
    key = cache_key({"kind": "task-discovery-checkpoint", **parts}, (build, _run, _MetaStep))
    folder = checkpoint_dir if checkpoint_dir is not None else cache_dir() / "discovery" / key
    return folder / "checkpoint.pt"


def _run(
    encoder: TaskEncoder,
    meta_step: _MetaStep,
    config: DiscoveryConfig,
    path: Path,
    callback: Callable[[int, dict[str, float]], None] | None,
) -> dict[str, torch.Tensor]:
    """The meta-optimisation from the last checkpoint at ``path`` to ``config.meta_steps``."""
    state = _load_checkpoint(path, encoder, meta_step.optimiser, config.meta_steps)
    bar = tqdm(
        range(state.step, config.meta_steps),
        desc="task discovery",
        initial=state.step,
        total=config.meta_steps,
        disable=is_quiet(),
        leave=False,
    )
    saved = state.step
    for step in bar:
        try:
            proxy, uniformity, head = meta_step(step)
        except FloatingPointError as error:
            raise FloatingPointError(
                f"{error}; the last good checkpoint (after meta-step {saved}) is kept at {path}"
            ) from error
        for name, value in (("proxy", proxy), ("uniformity", uniformity), ("head", head)):
            state.history[name].append(value)
        state.step = step + 1
        recent = state.history["proxy"][-20:]
        bar.set_postfix(proxy=f"{sum(recent) / len(recent):.3f}")
        if state.step % config.checkpoint_every == 0 or state.step == config.meta_steps:
            _save_checkpoint(path, encoder, meta_step.optimiser, state)
            saved = state.step
        if callback is not None:
            callback(step, {"proxy": proxy, "uniformity": uniformity, "head": head})
    return {
        "proxy": torch.tensor(state.history["proxy"], dtype=torch.float64),
        "uniformity": torch.tensor(state.history["uniformity"], dtype=torch.float64),
        "head": torch.tensor(state.history["head"], dtype=torch.int64),
    }


def discover_tasks(
    encoder_spec: NetworkSpec,
    inner_spec: NetworkSpec,
    images: torch.Tensor,
    *,
    config: DiscoveryConfig,
    seed: int = 0,
    meta_gradient: str = "recompute",
    device: torch.device | None = None,
    use_cache: bool = True,
    checkpoint_dir: Path | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> DiscoveredTasks:
    """Train a task encoder whose hyper-plane tasks have a high proxy-AS and are dissimilar
    (§4.3, Algorithm 1; chapter 9).

    Args:
        encoder_spec: the backbone of :class:`TaskEncoder` (``num_classes`` = its features).
        inner_spec: the proxy's two inner networks (``num_classes`` = ``config.n_classes``).
        images: ``(N, C, H, W)`` unlabelled images the tasks are discovered on.
        config: the meta-optimisation.
        seed: the encoder's initialisation, the heads, and every meta-step's random choices.
        meta_gradient: how the proxy's gradient is computed (:data:`META_GRADIENTS`).
        device: where to run (default :func:`~taskspace.default_device`).
        use_cache: reuse (and store) the result on disk, keyed by all of the above.
        checkpoint_dir: where the checkpoint is written (default: under the cache folder, keyed
            by the inputs); a run finds its checkpoint there and resumes.
        callback: ``callback(step, {"proxy", "uniformity", "head"})`` after every meta-step.

    Returns:
        the :class:`DiscoveredTasks`, encoder on ``device``, in evaluation mode.
    """
    if meta_gradient not in META_GRADIENTS:
        raise ValueError(f"meta_gradient must be one of {META_GRADIENTS}, got {meta_gradient!r}")
    encoder_spec.check_images(images, "images")
    inner_spec.check_images(images, "images")
    if inner_spec.num_classes != config.n_classes:
        raise ValueError(
            f"the inner networks need n_classes={config.n_classes} outputs, "
            f"got inner_spec.num_classes={inner_spec.num_classes}"
        )
    if images.shape[0] < config.proxy.batch_size:
        raise ValueError(
            f"{images.shape[0]} images are fewer than one batch of {config.proxy.batch_size}"
        )
    device = device or default_device()
    heads = orthogonal_heads(config.n_heads, config.dim, _derived_seed(seed, "heads"))
    parts: dict[str, object] = {
        "encoder_spec": encoder_spec.as_key(),
        "inner_spec": inner_spec.as_key(),
        "config": {
            k: v for k, v in config.as_key().items() if k not in ("meta_steps", "checkpoint_every")
        },
        "seed": seed,
        "meta_gradient": meta_gradient,
        "device": device.type,
        "images": images,
    }

    def build() -> TaskEncoder:
        return TaskEncoder(encoder_spec, config.dim, seed).to(device, images.dtype)

    def compute() -> Stored:
        encoder = build()
        pool = images.to(device)
        directions = class_directions(heads, config.n_classes).to(device, images.dtype)
        meta_step = _MetaStep(encoder, directions, inner_spec, pool, config, seed, meta_gradient)
        history = _run(
            encoder, meta_step, config, _checkpoint_path(parts, checkpoint_dir, build), callback
        )
        recalibrate_batchnorm(encoder, pool, config.proxy.batch_size)
        stored: Stored = {f"history/{k}": v for k, v in history.items()}
        stored.update({f"encoder/{k}": v.cpu() for k, v in encoder.state_dict().items()})
        return stored

    result_parts = {"kind": "task-discovery", **parts, "meta_steps": config.meta_steps}
    stored = cached(result_parts, compute, folder="agreement") if use_cache else compute()
    encoder = build()
    encoder.load_state_dict(
        {k.removeprefix("encoder/"): v for k, v in stored.items() if k.startswith("encoder/")}
    )
    return DiscoveredTasks(
        encoder=encoder.eval(),
        heads=heads,
        history={
            k.removeprefix("history/"): v for k, v in stored.items() if k.startswith("history/")
        },
        n_classes=config.n_classes,
    )


@dataclass(frozen=True)
class DiscoverySettings:
    """One scale of chapter 9's discovery run, reused by chapter 10 and the sweep.

    Attributes:
        pool_per_class: the unlabelled pool is ``source.sample(per_class=pool_per_class,
            seed=pool_seed)`` of a training split (class-balanced; its labels are never used).
        n_heads: ``d``, the tasks found (and the encoder backbone's outputs).
        uniformity_weight: ``lambda`` of Eq. 3.
        meta_steps: meta-optimisation steps.
        inner_steps, inner_batch, inner_lr: the proxy-AS's inner loop (:class:`ProxyConfig`).
        pool_seed: which images form the pool.
        early_stop: the inner loop's early stop (``ProxyConfig.early_stop``; the paper: 0.6 for
            3 steps); ``None``: all ``inner_steps`` are taken.
    """

    pool_per_class: int
    n_heads: int
    uniformity_weight: float
    meta_steps: int
    inner_steps: int
    inner_batch: int
    inner_lr: float
    pool_seed: int = 2
    early_stop: float | None = None

    @property
    def proxy(self) -> ProxyConfig:
        """The proxy-AS's inner loop."""
        return ProxyConfig(
            inner_steps=self.inner_steps,
            batch_size=self.inner_batch,
            inner_lr=self.inner_lr,
            early_stop=self.early_stop,
        )

    def config(
        self, uniformity_weight: float | None = None, meta_steps: int | None = None
    ) -> DiscoveryConfig:
        """The :class:`DiscoveryConfig`, with ``lambda`` or the length changed where given."""
        return DiscoveryConfig(
            n_heads=self.n_heads,
            uniformity_weight=self.uniformity_weight
            if uniformity_weight is None
            else uniformity_weight,
            meta_steps=self.meta_steps if meta_steps is None else meta_steps,
            proxy=self.proxy,
        )

    def pool(self, source: ImageDataset) -> ImageDataset:
        """The ``(10 * pool_per_class)`` pool images the tasks are discovered on."""
        return source.sample(per_class=self.pool_per_class, seed=self.pool_seed)

    def encoder_spec(self, inner_spec: NetworkSpec) -> NetworkSpec:
        """The task encoder's backbone: the inner networks' architecture with ``n_heads``
        outputs."""
        return replace(inner_spec, num_classes=self.n_heads)

    def discover(
        self,
        source: ImageDataset,
        inner_spec: NetworkSpec,
        *,
        uniformity_weight: float | None = None,
        meta_steps: int | None = None,
        seed: int = 0,
        meta_gradient: str = "recompute",
        device: torch.device | None = None,
    ) -> DiscoveredTasks:
        """:func:`discover_tasks` on :meth:`pool` ``(source)`` with these settings (cached).

        Args:
            source: the training split the pool is drawn from.
            inner_spec: the proxy's inner networks (binary).
            uniformity_weight, meta_steps: override the settings' ``lambda`` and length.
            seed, meta_gradient, device: as for :func:`discover_tasks`.
        """
        return discover_tasks(
            self.encoder_spec(inner_spec),
            inner_spec,
            self.pool(source).images,
            config=self.config(uniformity_weight, meta_steps),
            seed=seed,
            meta_gradient=meta_gradient,
            device=device,
        )


#: Chapter 9's discovery per scale (chapter 10 uses the same tasks; the sweep's defaults are
#: ``"paper"``): ``"book"`` is a short run on two CPU cores, ``"paper"`` the paper's ResNet-18
#: setting (appendix I.2: ``d = 32``, ``lambda = 0.66``, ``K = 50`` inner steps of 512 images,
#: stopped early once the inner pair agrees on more than 0.6 of a batch for 3 steps; like
#: Algorithm 1, a fresh inner pair every meta-step).
DISCOVERY_SETTINGS: dict[str, DiscoverySettings] = {
    "fast": DiscoverySettings(
        pool_per_class=20,
        n_heads=4,
        uniformity_weight=1.0,
        meta_steps=4,
        inner_steps=3,
        inner_batch=32,
        inner_lr=0.1,
    ),
    "book": DiscoverySettings(
        pool_per_class=300,
        n_heads=8,
        uniformity_weight=1.0,
        meta_steps=120,
        inner_steps=10,
        inner_batch=64,
        inner_lr=0.1,
    ),
    "paper": DiscoverySettings(
        pool_per_class=4500,
        n_heads=32,
        uniformity_weight=0.66,
        meta_steps=10000,
        inner_steps=50,
        inner_batch=512,
        inner_lr=0.01,
        early_stop=0.6,
    ),
}
