"""Proxy-AS: a differentiable agreement score, and its gradient three ways (chapter 9).

The agreement score of chapter 8 trains two networks to zero training error and counts how often
they agree; it has no gradient with respect to the task. Task Discovery's proxy (appendix I.1,
Algorithm 1) changes four things so that it has one:

* the two *inner* networks train on the task's SOFT labels (its probabilities), so the task's
  parameters reach the inner networks' weights through every SGD step;
* plain SGD (no optimiser state) for only ``K`` steps, fewer than an epoch, so every batch is new
  to the networks when it arrives;
* on each fresh batch, BEFORE the step on it, the two networks' agreement is measured as minus the
  cross-entropy between their predicted distributions (symmetrised here, so the proxy does not
  depend on which network is called the first);
* the proxy is the mean of these ``K`` agreements.

The last update (after the last measurement) cannot change the proxy, so it is skipped.

The meta-gradient — the proxy's gradient with respect to the task network's parameters, through
the ``K`` inner SGD steps — is computed in one of three ways (:data:`META_GRADIENTS`), all giving
the same value and gradient (tested in float64 to 1e-8):

* ``"higher"`` — the ``higher`` library, which the paper's code uses: the inner networks become
  functional modules and a differentiable SGD keeps the graph of every step;
* ``"unroll"`` — the same graph written by hand with :func:`torch.func.functional_call` and
  ``torch.autograd.grad(create_graph=True)``;
* ``"recompute"`` — exact per-step recomputation (a hand-written reverse loop: one
  :class:`torch.autograd.Function` per inner step): the forward pass keeps only each step's
  inner weights, its batch's indices and its ``(B, C)`` soft labels (the task network's
  activations are dropped too, through :func:`torch.utils.checkpoint.checkpoint`); the backward
  pass rebuilds one step's graph at a time. Memory grows with ``K`` times the inner weights,
  not ``K`` times the networks' activations; the price is one more forward
  and backward pass of the inner networks per step.

BatchNorm in the inner networks always normalises with the statistics of the batch (the networks
are in training mode for the whole inner loop, as in the paper's code); running statistics are
switched off, so that re-running a step in the backward pass cannot change any state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from taskspace.agreement.ensemble import epoch_batches
from taskspace.agreement.networks import NetworkSpec

__all__ = [
    "META_GRADIENTS",
    "ProxyConfig",
    "SoftLabels",
    "inner_batches",
    "inner_networks",
    "pair_agreement",
    "proxy_agreement",
    "soft_cross_entropy",
]

META_GRADIENTS = ("higher", "unroll", "recompute")

SoftLabels = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ProxyConfig:
    """How the two inner networks of the proxy-AS train (appendix I.1; chapter 9).

    Attributes:
        inner_steps: ``K``, SGD steps (and agreement measurements) of the inner loop; at least 1.
            With ``K = 1`` the proxy is the agreement of the initialisations and has no gradient.
        inner_lr: plain SGD's step size.
        batch_size: images per inner step (even, at least 4, with ``disjoint_halves``).
        disjoint_halves: each inner network trains on its own half of every batch (the authors'
            code); the agreement is still measured on the whole batch.
        early_stop: stop the inner loop once the two networks' 0-1 agreement on the fresh batch
            (the fraction of its images on which their predicted labels agree) exceeds this for
            ``early_stop_patience`` consecutive steps (the paper: 0.6 for 3 steps); ``None``: never.
        early_stop_patience: see ``early_stop``.
    """

    inner_steps: int = 50
    inner_lr: float = 1e-2
    batch_size: int = 512
    disjoint_halves: bool = False
    early_stop: float | None = None
    early_stop_patience: int = 3

    def __post_init__(self) -> None:
        if self.inner_steps < 1:
            raise ValueError(f"inner_steps (K) must be at least 1, got {self.inner_steps}")
        if self.inner_lr <= 0:
            raise ValueError(f"inner_lr must be positive, got {self.inner_lr}")
        smallest = 4 if self.disjoint_halves else 2
        if self.batch_size < smallest or (self.disjoint_halves and self.batch_size % 2):
            raise ValueError(
                f"batch_size must be at least {smallest} (BatchNorm)"
                + (" and even (disjoint halves)" if self.disjoint_halves else "")
                + f", got {self.batch_size}"
            )
        if self.early_stop is not None and not 0 < self.early_stop < 1:
            raise ValueError(f"early_stop must be in (0, 1) or None, got {self.early_stop}")
        if self.early_stop_patience < 1:
            raise ValueError(
                f"early_stop_patience must be positive, got {self.early_stop_patience}"
            )

    def as_key(self) -> dict[str, object]:
        """The fields as a plain dict (part of a cache key)."""
        return asdict(self)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum_c target_c log softmax(logits)_c``.

    Args:
        logits: ``(B, C)`` a network's outputs.
        target: ``(B, C)`` probabilities (rows sum to 1).
    """
    return -(target * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


def pair_agreement(logits_1: torch.Tensor, logits_2: torch.Tensor) -> torch.Tensor:
    """Differentiable agreement of two networks on one batch: minus their symmetrised
    cross-entropy, ``-(CE(p1 -> p2) + CE(p2 -> p1)) / 2``, a scalar ``<= 0``.

    Args:
        logits_1, logits_2: ``(B, C)`` the two networks' outputs on the same images.
    """
    return -0.5 * (
        soft_cross_entropy(logits_2, torch.softmax(logits_1, -1))
        + soft_cross_entropy(logits_1, torch.softmax(logits_2, -1))
    )


def _batch_statistics_only(network: nn.Module) -> nn.Module:
    """``network`` with every BatchNorm normalising by the batch's statistics and keeping none."""
    for module in network.modules():
        if isinstance(module, _BatchNorm):
            module.track_running_stats = False
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
    return network


def inner_networks(
    spec: NetworkSpec, init_seeds: Sequence[int], like: torch.Tensor
) -> list[nn.Module]:
    """The proxy's inner networks, freshly initialised from ``init_seeds``, in training mode,
    BatchNorm on batch statistics only, on the device and dtype of ``like``."""
    return [
        _batch_statistics_only(spec.build(seed)).to(like.device, like.dtype).train()
        for seed in init_seeds
    ]


def inner_batches(n_images: int, config: ProxyConfig, batch_seed: int) -> torch.Tensor:
    """``(K, B)`` int64 indices of the inner loop's batches, drawn from ``batch_seed`` alone.

    Whole epochs in random order, so no image repeats before every image was seen once.
    """
    if config.batch_size > n_images:
        raise ValueError(
            f"batch_size {config.batch_size} is larger than the pool of {n_images} images"
        )
    generator = torch.Generator().manual_seed(batch_seed)
    per_epoch = n_images // config.batch_size
    epochs = -(-config.inner_steps // per_epoch)
    batches = [epoch_batches(n_images, config.batch_size, generator) for _ in range(epochs)]
    return torch.cat(batches)[: config.inner_steps]


Logits = Callable[[int, torch.Tensor], torch.Tensor]


def _measure_and_losses(
    logits_of: Logits,
    images: torch.Tensor,
    targets: torch.Tensor | None,
    disjoint_halves: bool,
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """On one fresh batch: the agreement, the 0-1 agreement (no gradient), the two losses.

    ``logits_of(j, images)`` is inner network ``j``'s output; ``targets``: ``(B, C)`` soft labels,
    or ``None`` when no step follows (then no losses).
    """
    logits = [logits_of(j, images) for j in range(2)]
    agreement = pair_agreement(*logits)
    hard = (logits[0].argmax(-1) == logits[1].argmax(-1)).double().mean().detach()
    if targets is None:
        return agreement, hard, []
    if not disjoint_halves:
        return agreement, hard, [soft_cross_entropy(logits[j], targets) for j in range(2)]
    half = images.shape[0] // 2
    pieces = [slice(0, half), slice(half, 2 * half)]
    losses = [
        soft_cross_entropy(logits_of(j, images[pieces[j]]), targets[pieces[j]]) for j in range(2)
    ]
    return agreement, hard, losses


class _EarlyStop:
    """Counts consecutive steps whose 0-1 agreement exceeds ``config.early_stop``."""

    def __init__(self, config: ProxyConfig) -> None:
        self.threshold, self.patience, self.run = config.early_stop, config.early_stop_patience, 0

    def stop(self, hard_agreement: torch.Tensor) -> bool:
        if self.threshold is None:
            return False
        self.run = self.run + 1 if hard_agreement.item() > self.threshold else 0
        return self.run >= self.patience


class _FunctionalPair:
    """The two inner networks called functionally, their weights one flat list (network 0's,
    then network 1's), stepped by plain SGD written out (``w + (-lr) * g``, as ``higher`` does)."""

    def __init__(self, spec: NetworkSpec, config: ProxyConfig) -> None:
        self.template = _batch_statistics_only(spec.template(training=True))
        self.names = [name for name, _ in self.template.named_parameters()]
        self.config = config

    def step(
        self, flat: Sequence[torch.Tensor], images: torch.Tensor, targets: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Agreement before the step, 0-1 agreement, and the weights after one SGD step (the
        same weights when ``targets`` is ``None``). The graph of the step is kept when the
        weights require gradients (``create_graph``)."""
        count = len(self.names)
        own = [list(flat[j * count : (j + 1) * count]) for j in (0, 1)]
        weights = [dict(zip(self.names, own[j], strict=True)) for j in (0, 1)]

        def logits_of(j: int, batch: torch.Tensor) -> torch.Tensor:
            return functional_call(self.template, weights[j], (batch,))

        agreement, hard, losses = _measure_and_losses(
            logits_of, images, targets, self.config.disjoint_halves
        )
        if targets is None:
            return agreement, hard, list(flat)
        create_graph = torch.is_grad_enabled() and targets.requires_grad
        new: list[torch.Tensor] = []
        for j in (0, 1):
            grads = torch.autograd.grad(losses[j], own[j], create_graph=create_graph)
            new += [w + (-self.config.inner_lr) * g for w, g in zip(own[j], grads, strict=True)]
        return agreement, hard, new


class _RecomputedStep(torch.autograd.Function):
    """One inner step whose graph is not kept: the backward pass runs the step again.

    Saved per step: the inner weights before it, the ``(B, C)`` soft labels and the batch's
    ``(B,)`` indices into the pool of images (the batch is gathered again when needed).
    """

    @staticmethod
    def forward(ctx, pair, pool, index, targets, *flat):  # type: ignore[override]
        ctx.pair, ctx.pool = pair, pool
        ctx.save_for_backward(index, targets, *flat)
        with torch.enable_grad():
            leaves = [w.detach().requires_grad_() for w in flat]
            agreement, hard, new = pair.step(leaves, pool[index], targets.detach())
        ctx.mark_non_differentiable(hard)
        return (agreement.detach(), hard, *(w.detach() for w in new))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_agreement, _grad_hard, *grad_new):  # type: ignore[override]
        index, targets, *flat = ctx.saved_tensors
        with torch.enable_grad():
            labels = targets.detach().requires_grad_()
            leaves = [w.detach().requires_grad_() for w in flat]
            agreement, _, new = ctx.pair.step(leaves, ctx.pool[index], labels)
            grads = torch.autograd.grad(
                [agreement, *new], [labels, *leaves], [grad_agreement, *grad_new]
            )
        return (None, None, None, *grads)


def _soft_labels_checked(
    soft_labels: SoftLabels, pool: torch.Tensor, index: torch.Tensor, n_classes: int
) -> torch.Tensor:
    """``soft_labels(pool[index])``, checked to be ``(B, n_classes)``."""
    images = pool[index]
    targets = soft_labels(images)
    if targets.shape != (images.shape[0], n_classes):
        raise ValueError(
            f"soft_labels must return ({images.shape[0]}, {n_classes}) probabilities for the "
            f"inner networks' {n_classes} classes, got {tuple(targets.shape)}"
        )
    return targets


def _proxy_functional(
    soft_labels: SoftLabels,
    spec: NetworkSpec,
    networks: list[nn.Module],
    images: torch.Tensor,
    batches: torch.Tensor,
    config: ProxyConfig,
    recompute: bool,
) -> torch.Tensor:
    """The ``"unroll"`` and ``"recompute"`` strategies: one loop, two kinds of step."""
    pair = _FunctionalPair(spec, config)
    flat = [w.detach().requires_grad_(not recompute) for net in networks for w in net.parameters()]
    early = _EarlyStop(config)
    agreements = []
    for k, index in enumerate(batches):
        if k == len(batches) - 1:  # the last update cannot change the proxy
            agreement, hard, _ = pair.step(flat, images[index], None)
        elif recompute:
            targets = checkpoint(
                _soft_labels_checked,
                soft_labels,
                images,
                index,
                spec.num_classes,
                use_reentrant=False,
            )
            agreement, hard, *flat = _RecomputedStep.apply(pair, images, index, targets, *flat)
        else:
            targets = _soft_labels_checked(soft_labels, images, index, spec.num_classes)
            agreement, hard, flat = pair.step(flat, images[index], targets)
        agreements.append(agreement)
        if early.stop(hard):
            break
    return torch.stack(agreements).mean()


def _proxy_higher(
    soft_labels: SoftLabels,
    spec: NetworkSpec,
    networks: list[nn.Module],
    images: torch.Tensor,
    batches: torch.Tensor,
    config: ProxyConfig,
) -> torch.Tensor:
    """The ``"higher"`` strategy (the library the paper's code uses)."""
    import higher

    optimisers = [torch.optim.SGD(net.parameters(), lr=config.inner_lr) for net in networks]
    early = _EarlyStop(config)
    agreements = []
    with (
        higher.innerloop_ctx(networks[0], optimisers[0], copy_initial_weights=True) as (f0, d0),
        higher.innerloop_ctx(networks[1], optimisers[1], copy_initial_weights=True) as (f1, d1),
    ):
        models, steppers = (f0, f1), (d0, d1)
        for k, index in enumerate(batches):
            batch = images[index]
            last = k == len(batches) - 1
            targets = (
                None if last else _soft_labels_checked(soft_labels, images, index, spec.num_classes)
            )
            agreement, hard, losses = _measure_and_losses(
                lambda j, x: models[j](x), batch, targets, config.disjoint_halves
            )
            agreements.append(agreement)
            if early.stop(hard) or last:
                break
            for stepper, loss in zip(steppers, losses, strict=True):
                stepper.step(loss)
    return torch.stack(agreements).mean()


def proxy_agreement(
    soft_labels: SoftLabels,
    inner_spec: NetworkSpec,
    images: torch.Tensor,
    *,
    config: ProxyConfig,
    init_seeds: tuple[int, int] = (0, 1),
    batch_seed: int = 0,
    meta_gradient: str = "recompute",
) -> torch.Tensor:
    """The proxy-AS of a task given by its soft labels (appendix I.1, Algorithm 1; chapter 9).

    Two inner networks ``inner_spec.build(init_seeds[j])`` train with plain SGD on the soft labels
    of ``K = config.inner_steps`` batches drawn from ``images``; on each batch, before the step on
    it, their agreement :func:`pair_agreement` is measured; the result is the mean over the
    batches measured (fewer than ``K`` after an early stop).

    Args:
        soft_labels: ``(B, C, H, W) -> (B, inner_spec.num_classes)`` probabilities of the task,
            differentiable in the task network's parameters. With ``"recompute"`` it is called
            a second time during the backward pass, so it must be a pure function (e.g. no
            BatchNorm running-statistics updates).
        inner_spec: the inner networks' architecture (``num_classes`` = the task's classes).
        images: ``(N, C, H, W)`` the pool the inner batches are drawn from (``N >= batch_size``);
            the inner networks are built on its device and dtype.
        config: the inner loop.
        init_seeds: the two inner networks' initialisation seeds (a stored pair when fixed).
        batch_seed: the seed the batches are drawn from (:func:`inner_batches`).
        meta_gradient: one of :data:`META_GRADIENTS`; all give the same value and gradient.

    Under :func:`torch.no_grad` the proxy is only measured (no graph through the inner steps is
    kept, whatever ``meta_gradient`` says): the quick way to score many fixed tasks.

    Returns:
        a scalar tensor ``<= 0`` whose ``backward()`` reaches the parameters used by
        ``soft_labels`` (no gradient when ``K = 1``: then only the initialisations are compared).
    """
    if meta_gradient not in META_GRADIENTS:
        raise ValueError(f"meta_gradient must be one of {META_GRADIENTS}, got {meta_gradient!r}")
    if len(init_seeds) != 2:
        raise ValueError(f"init_seeds must be a pair of seeds, got {init_seeds!r}")
    inner_spec.check_images(images, "images")
    batches = inner_batches(images.shape[0], config, batch_seed).to(images.device)
    networks = inner_networks(inner_spec, init_seeds, images)
    if not torch.is_grad_enabled():  # measuring only: the inner networks still need gradients

        def labels_only(batch: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return soft_labels(batch)

        with torch.enable_grad():
            proxy = _proxy_functional(
                labels_only, inner_spec, networks, images, batches, config, False
            )
        return proxy.detach()
    if meta_gradient == "higher":
        return _proxy_higher(soft_labels, inner_spec, networks, images, batches, config)
    recompute = meta_gradient == "recompute"
    return _proxy_functional(soft_labels, inner_spec, networks, images, batches, config, recompute)
