"""One agreement measurement end to end: train an ensemble, predict, keep what the book needs.

:func:`measure_agreement` trains ``E`` networks on a labelled training set, predicts the test
images (and any other image sets, e.g. perturbed test images), measures the training accuracy
reached, and caches all of it on disk under a key derived from its inputs (see
:mod:`~taskspace.cache`). Introduced in chapter 8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from taskspace.agreement.ensemble import (
    Stochasticity,
    TrainConfig,
    choose_strategy,
    train_ensemble,
)
from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.score import AgreementScore, accuracy, agreement_score
from taskspace.cache import Stored, cached
from taskspace.device import default_device

__all__ = ["AgreementRun", "measure_agreement"]


@dataclass(frozen=True)
class AgreementRun:
    """What training ``E`` networks on one task produced (all tensors on the CPU).

    Attributes:
        predictions: ``(E, N_te)`` int64 labels predicted for the test images.
        train_accuracy: ``(E,)`` accuracy on the whole training set after training (evaluation
            mode) — the paper trains to 1.0; report it next to every AS.
        epochs: ``(E,)`` int64 epochs each network trained.
        other_predictions: ``{name: (E, N_k)}`` predicted labels for other image sets.
    """

    predictions: torch.Tensor
    train_accuracy: torch.Tensor
    epochs: torch.Tensor
    other_predictions: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def score(self) -> AgreementScore:
        """The agreement score over the ensemble's pairs (needs ``E >= 2``)."""
        return agreement_score(self.predictions)

    def test_accuracy(self, labels: torch.Tensor, on: str | None = None) -> torch.Tensor:
        """``(E,)`` accuracy against ``labels`` on the test images (or ``other_predictions[on]``)."""
        return accuracy(self.predictions if on is None else self.other_predictions[on], labels)


def _train_and_predict(
    spec: NetworkSpec,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_sets: Mapping[str, torch.Tensor],
    n_networks: int,
    seed: int,
    config: TrainConfig,
    stochasticity: Stochasticity,
    strategy: str,
) -> Stored:
    ensemble = train_ensemble(
        spec, train_images, train_labels, n_networks, seed, config, stochasticity, strategy
    )
    stored: Stored = {
        "train_accuracy": ensemble.train_accuracy,
        "epochs": ensemble.epochs,
    }
    for name, images in test_sets.items():
        stored[f"predictions/{name}"] = ensemble.predict(images, config.eval_batch_size).cpu()
    return stored


def measure_agreement(
    spec: NetworkSpec,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    *,
    n_networks: int = 2,
    seed: int = 0,
    config: TrainConfig | None = None,
    stochasticity: Stochasticity | None = None,
    strategy: str = "auto",
    other_test_sets: Mapping[str, torch.Tensor] | None = None,
    device: torch.device | None = None,
    use_cache: bool = True,
) -> AgreementRun:
    """Train ``n_networks`` networks on ``(train_images, train_labels)`` and predict test images.

    Args:
        spec: the architecture.
        train_images: ``(N_tr, C, H, W)`` float images.
        train_labels: ``(N_tr,)`` int64 labels of the task on them.
        test_images: ``(N_te, C, H, W)``: the images the agreement is measured on (no labels
            needed).
        n_networks: ``E``; 2 is the paper's AS, more give its spread and Proposition 1's majority.
        seed: where all initialisation and data-order seeds come from.
        config, stochasticity, strategy: see :func:`~taskspace.agreement.train_ensemble`.
        other_test_sets: ``{name: (N_k, C, H, W)}`` further images to predict.
        device: where to train (default :func:`~taskspace.default_device`).
        use_cache: reuse (and store) the result on disk, keyed by all of the above.
    """
    config = config or TrainConfig()
    stochasticity = stochasticity or Stochasticity()
    device = device or default_device()
    if strategy == "auto":
        strategy = choose_strategy(spec, device)
    test_sets = {"test": test_images, **(other_test_sets or {})}
    parts = {
        "spec": spec.as_key(),
        "config": config.as_key(),
        "stochasticity": stochasticity.as_key(),
        "n_networks": n_networks,
        "seed": seed,
        "strategy": strategy,
        "device": device.type,
        "train_images": train_images,
        "train_labels": train_labels,
        "test_sets": test_sets,
    }

    def compute() -> Stored:
        return _train_and_predict(
            spec,
            train_images.to(device),
            train_labels.to(device),
            test_sets,
            n_networks,
            seed,
            config,
            stochasticity,
            strategy,
        )

    stored = cached(parts, compute, folder="agreement") if use_cache else compute()
    return AgreementRun(
        predictions=stored["predictions/test"],
        train_accuracy=stored["train_accuracy"],
        epochs=stored["epochs"],
        other_predictions={
            name: stored[f"predictions/{name}"] for name in test_sets if name != "test"
        },
    )
