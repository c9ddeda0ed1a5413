"""Training many networks of one architecture at once on one labelled set (chapter 8).

The agreement score needs pairs and ensembles of networks trained on the same labelled images
from different random seeds. :func:`train_ensemble` trains ``E`` of them and returns a
:class:`TrainedEnsemble` that predicts with all ``E`` at once. Two strategies give the same
networks from the same seeds:

* ``"loop"`` — one ordinary ``nn.Module`` and optimiser per network, stepped in turn; on a CPU
  this is faster (``bench/ensemble.py`` measures it);
* ``"batched"`` — the ``E`` networks' weights stacked along a leading axis
  (:func:`torch.func.stack_module_state`, BatchNorm buffers included) and one vectorised step for
  all of them (:func:`torch.func.vmap` over :func:`torch.func.functional_call`); this is where a
  GPU's speed comes from. Adam is element-wise, so one Adam over the stacked weights is ``E``
  independent Adams.

Each network trains until its own accuracy on the whole training set (checked after every epoch,
in evaluation mode) reaches ``TrainConfig.target_train_accuracy`` (the paper trains to zero training error) or
``max_epochs`` pass; the epochs used and the accuracy reached are returned, because an
under-trained pair of networks gives a meaningless agreement.

The three sources of randomness of figure 2-right are separate switches (:class:`Stochasticity`):
the initialisation seed, the data-order seed, and whether non-deterministic GPU kernels are
allowed (a CPU is deterministic either way).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn import functional as F

from taskspace.agreement.networks import NetworkSpec

__all__ = [
    "STRATEGIES",
    "BatchedTrainer",
    "LoopTrainer",
    "Stochasticity",
    "TrainConfig",
    "TrainedEnsemble",
    "choose_strategy",
    "make_trainer",
    "stacked_logits",
    "train_ensemble",
]

STRATEGIES = ("loop", "batched")

Weights = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """How every network of an ensemble is trained (Adam, cross-entropy, no augmentation).

    Attributes:
        batch_size: images per step (the last incomplete batch of an epoch is dropped).
        learning_rate: Adam's step size.
        target_train_accuracy: stop a network once its accuracy on the whole training set
            (evaluation mode, checked after every epoch) reaches this fraction (in ``(0, 1]``).
        max_epochs: stop after this many epochs even if the target is not reached.
        eval_batch_size: images per forward pass when predicting.
    """

    batch_size: int = 64
    learning_rate: float = 1e-3
    target_train_accuracy: float = 0.99
    max_epochs: int = 100
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2 (BatchNorm), got {self.batch_size}")
        if not 0 < self.target_train_accuracy <= 1:
            raise ValueError(
                f"target_train_accuracy must be in (0, 1], got {self.target_train_accuracy}"
            )
        if self.max_epochs < 1 or self.eval_batch_size < 1 or self.learning_rate <= 0:
            raise ValueError(f"max_epochs, eval_batch_size, learning_rate must be positive: {self}")

    def as_key(self) -> dict[str, object]:
        """The fields as a plain dict (part of a cache key)."""
        return asdict(self)


@dataclass(frozen=True)
class Stochasticity:
    """Which sources of randomness differ between the networks of an ensemble (figure 2-right).

    Attributes:
        initialisation: each network starts from its own random weights (else all the same).
        data_order: each network sees its own order of minibatches (else all the same order).
        kernels: non-deterministic GPU kernels are allowed (else ``torch`` is asked for
            deterministic algorithms while training). CPU kernels are deterministic anyway; for
            bitwise-deterministic cuBLAS also set ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` before
            Python starts.
    """

    initialisation: bool = True
    data_order: bool = True
    kernels: bool = True

    def seeds(self, n_networks: int, seed: int) -> tuple[list[int], list[int]]:
        """Initialisation and data-order seeds, one of each per network, derived from ``seed``.

        A source that is switched off gives every network the first network's seed.
        """
        drawn = torch.randint(
            0, 2**62, (2, n_networks), generator=torch.Generator().manual_seed(seed)
        )
        init, order = drawn.tolist()
        return (
            init if self.initialisation else [init[0]] * n_networks,
            order if self.data_order else [order[0]] * n_networks,
        )

    def as_key(self) -> dict[str, object]:
        """The fields as a plain dict (part of a cache key)."""
        return asdict(self)


@dataclass
class TrainedEnsemble:
    """``E`` trained networks of one architecture, their weights stacked along a leading axis.

    Attributes:
        spec: the architecture.
        params: ``{name: (E, ...)}`` stacked parameters (no gradients).
        buffers: ``{name: (E, ...)}`` stacked BatchNorm running statistics.
        epochs: ``(E,)`` int64, epochs each network trained.
        train_accuracy: ``(E,)`` float64, each network's accuracy on the whole training set
            when it stopped (evaluation mode: what the stopping rule compares with the target).
        strategy: ``"loop"`` or ``"batched"``: how it was trained, and how it predicts.
    """

    spec: NetworkSpec
    params: Weights
    buffers: Weights
    epochs: torch.Tensor
    train_accuracy: torch.Tensor
    strategy: str

    def __len__(self) -> int:
        return self.epochs.shape[0]

    def logits(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """``(E, N, num_classes)`` logits of every network (evaluation mode) for ``(N, C, H, W)``.

        ``images`` are moved to the ensemble's device; the result is on that device.
        """
        self.spec.check_images(images, "images")
        return stacked_logits(
            self.spec, self.params, self.buffers, images, batch_size, self.strategy == "batched"
        )

    def predict(self, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """``(E, N)`` int64 predicted labels of every network for ``(N, C, H, W)`` images."""
        return self.logits(images, batch_size).argmax(-1)

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``(E,)`` fraction of ``labels`` (``(N,)``) each network predicts (evaluation mode)."""
        predictions = self.predict(images)
        return (predictions == labels.to(predictions.device)).double().mean(1).cpu()


def stacked_logits(
    spec: NetworkSpec,
    params: Weights,
    buffers: Weights,
    images: torch.Tensor,
    batch_size: int,
    batched: bool,
) -> torch.Tensor:
    """``(E, N, K)`` evaluation-mode logits of ``E`` stacked networks, ``batch_size`` at a time.

    ``batched``: one ``vmap`` call for all networks, else one call per network.
    """
    device = next(iter(params.values())).device
    one = _functional(spec.template(training=False))
    together = vmap(one, in_dims=(0, 0, None))
    n_networks = next(iter(params.values())).shape[0]
    chunks = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size].to(device)
            if batched:
                chunks.append(together(params, buffers, batch))
            else:
                chunks.append(
                    torch.stack(
                        [one(*_network(params, buffers, e), batch) for e in range(n_networks)]
                    )
                )
    return torch.cat(chunks, dim=1)


def _network(
    params: Weights, buffers: Weights, index: int, copy: bool = False
) -> tuple[Weights, Weights]:
    """The weights of network ``index`` of a stack (views, or copies with ``copy``)."""

    def take(value: torch.Tensor) -> torch.Tensor:
        return value[index].detach().clone() if copy else value[index]

    return (
        {name: take(value) for name, value in params.items()},
        {name: take(value) for name, value in buffers.items()},
    )


def _functional(template: nn.Module):
    """``(params, buffers, images) -> logits`` for one network, through ``template``."""

    def call(params: Weights, buffers: Weights, images: torch.Tensor) -> torch.Tensor:
        return functional_call(template, (params, buffers), (images,))

    return call


def choose_strategy(spec: NetworkSpec, device: torch.device) -> str:
    """The strategy :func:`train_ensemble` uses with ``strategy="auto"``.

    ``"batched"`` on a GPU; ``"loop"`` on a CPU, where ``bench/ensemble.py`` measured the plain
    loop faster than ``vmap`` for every architecture here at 2 and 8 networks, and at 32 for all
    but the ResNet-18 (within noise; ``bench/README.md``). ``spec`` is part of the signature so
    that a measured exception can be added without changing callers.
    """
    del spec
    return "batched" if device.type == "cuda" else "loop"


def _check_labels(labels: torch.Tensor, n_images: int, num_classes: int) -> None:
    if labels.shape != (n_images,) or labels.dtype != torch.int64:
        raise ValueError(
            f"labels must be int64 of shape ({n_images},), got {labels.dtype} {tuple(labels.shape)}"
        )
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"labels must lie in 0..{num_classes - 1}, found {labels.min()}..{labels.max()}"
        )
    counts = torch.bincount(labels.cpu(), minlength=num_classes)
    if (counts == 0).any():
        empty = torch.nonzero(counts == 0).squeeze(1).tolist()
        raise ValueError(f"classes {empty} have no training images; every class needs some")


def epoch_batches(n_images: int, batch_size: int, order: torch.Generator) -> torch.Tensor:
    """``(n_batches, batch_size)`` image indices of one epoch, in a fresh random order."""
    n_batches = n_images // batch_size
    return torch.randperm(n_images, generator=order)[: n_batches * batch_size].view(n_batches, -1)


@contextlib.contextmanager
def _kernel_determinism(deterministic: bool) -> Iterator[None]:
    """Ask for deterministic kernels (or allow non-deterministic ones) inside a ``with`` block."""
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
    )
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.backends.cudnn.deterministic = saved[2]


class LoopTrainer:
    """The ``"loop"`` strategy: ``E`` ordinary networks and Adam optimisers, stepped in turn."""

    def __init__(self, spec: NetworkSpec, init_seeds: list[int], device: torch.device, lr: float):
        self.spec = spec
        self.networks = [spec.build(seed).to(device).train() for seed in init_seeds]
        self.optimisers = [torch.optim.Adam(n.parameters(), lr=lr) for n in self.networks]

    def step(self, images: torch.Tensor, labels: torch.Tensor, active: list[bool]) -> None:
        """One Adam step of each active network ``e`` on ``images[e]`` ``(E, B, C, H, W)``."""
        for e in range(len(self.networks)):
            if active[e]:
                loss = F.cross_entropy(self.networks[e](images[e]), labels[e])
                self.optimisers[e].zero_grad(set_to_none=True)
                loss.backward()
                self.optimisers[e].step()

    def weights(self) -> tuple[Weights, Weights]:
        """The current weights, stacked ``(E, ...)`` (no gradients)."""
        params, buffers = stack_module_state(self.networks)
        return (
            {name: value.detach() for name, value in params.items()},
            {name: value.detach() for name, value in buffers.items()},
        )


class BatchedTrainer:
    """The ``"batched"`` strategy: stacked weights, one ``vmap``-ed step for all ``E`` networks.

    Adam is element-wise, so one Adam over the stacked weights is ``E`` independent Adams; the
    summed loss gives each network the gradient of its own mean loss.
    """

    def __init__(self, spec: NetworkSpec, init_seeds: list[int], device: torch.device, lr: float):
        self.spec = spec
        self.params, self.buffers = stack_module_state(
            [spec.build(seed).to(device) for seed in init_seeds]
        )
        self.optimiser = torch.optim.Adam(list(self.params.values()), lr=lr)
        self.forward = vmap(_functional(spec.template(training=True)))

    def step(self, images: torch.Tensor, labels: torch.Tensor, active: list[bool]) -> None:
        """One Adam step of every network ``e`` on ``images[e]`` (``active`` is not used: the
        networks move together, and a finished network's weights were copied when it finished)."""
        del active
        logits = self.forward(self.params, self.buffers, images)  # (E, B, K)
        losses = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none")  # (E, B)
        self.optimiser.zero_grad(set_to_none=True)
        losses.mean(1).sum().backward()
        self.optimiser.step()

    def weights(self) -> tuple[Weights, Weights]:
        """The current weights, stacked ``(E, ...)`` (no gradients)."""
        return (
            {name: value.detach() for name, value in self.params.items()},
            {name: value.detach() for name, value in self.buffers.items()},
        )


def make_trainer(
    strategy: str, spec: NetworkSpec, init_seeds: list[int], device: torch.device, lr: float
) -> LoopTrainer | BatchedTrainer:
    """A trainer of ``len(init_seeds)`` networks with the given strategy (also used by the bench)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be 'auto' or one of {STRATEGIES}, got {strategy!r}")
    trainer = BatchedTrainer if strategy == "batched" else LoopTrainer
    return trainer(spec, init_seeds, device, lr)


def _train(
    spec: NetworkSpec,
    images: torch.Tensor,
    labels: torch.Tensor,
    seeds: tuple[list[int], list[int]],
    config: TrainConfig,
    strategy: str,
) -> TrainedEnsemble:
    """Epochs until every network reaches the target; each keeps the weights it finished with."""
    init_seeds, order_seeds = seeds
    n_networks = len(init_seeds)
    trainer = make_trainer(strategy, spec, init_seeds, images.device, config.learning_rate)
    orders = [torch.Generator().manual_seed(s) for s in order_seeds]
    batch_size = min(config.batch_size, images.shape[0])
    kept: list[tuple[Weights, Weights] | None] = [None] * n_networks
    epochs = torch.full((n_networks,), config.max_epochs)
    reached = torch.zeros(n_networks, dtype=torch.float64)
    for epoch in range(1, config.max_epochs + 1):
        active = [k is None for k in kept]
        batches = torch.stack([epoch_batches(images.shape[0], batch_size, g) for g in orders])
        for index in batches.transpose(0, 1).to(images.device):  # (E, batch_size) each
            trainer.step(images[index], labels[index], active)
        params, buffers = trainer.weights()
        logits = stacked_logits(
            spec, params, buffers, images, config.eval_batch_size, strategy == "batched"
        )
        accuracy = (logits.argmax(-1) == labels).double().mean(1).cpu()
        for e in range(n_networks):
            if active[e] and (
                accuracy[e] >= config.target_train_accuracy or epoch == config.max_epochs
            ):
                kept[e] = _network(params, buffers, e, copy=True)
                epochs[e], reached[e] = epoch, accuracy[e]
        if all(k is not None for k in kept):
            break
    return TrainedEnsemble(
        spec,
        {name: torch.stack([k[0][name] for k in kept]) for name in params},
        {name: torch.stack([k[1][name] for k in kept]) for name in buffers},
        epochs=epochs,
        train_accuracy=reached,
        strategy=strategy,
    )


def train_ensemble(
    spec: NetworkSpec,
    images: torch.Tensor,
    labels: torch.Tensor,
    n_networks: int,
    seed: int,
    config: TrainConfig | None = None,
    stochasticity: Stochasticity | None = None,
    strategy: str = "auto",
) -> TrainedEnsemble:
    """Train ``n_networks`` networks of ``spec`` on ``images`` labelled ``labels`` (chapter 8).

    Args:
        spec: the architecture (``spec.num_classes`` outputs).
        images: ``(N, C, H, W)`` float training images; training happens on their device.
        labels: ``(N,)`` int64 in ``0 .. spec.num_classes - 1``; every class must occur.
        n_networks: ``E``, how many networks.
        seed: the seed every initialisation and data order is derived from (see
            :meth:`Stochasticity.seeds`).
        config: optimiser and stopping rule (default :class:`TrainConfig`).
        stochasticity: which sources of randomness differ between the networks (default: all).
        strategy: ``"loop"``, ``"batched"`` or ``"auto"`` (:func:`choose_strategy`).

    Returns:
        the :class:`TrainedEnsemble`, weights on ``images.device``.
    """
    config = config or TrainConfig()
    stochasticity = stochasticity or Stochasticity()
    if n_networks < 1:
        raise ValueError(f"n_networks must be at least 1, got {n_networks}")
    spec.check_images(images, "training images")
    _check_labels(labels, images.shape[0], spec.num_classes)
    labels = labels.to(images.device)
    if strategy == "auto":
        strategy = choose_strategy(spec, images.device)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be 'auto' or one of {STRATEGIES}, got {strategy!r}")
    with _kernel_determinism(not stochasticity.kernels):
        return _train(spec, images, labels, stochasticity.seeds(n_networks, seed), config, strategy)
