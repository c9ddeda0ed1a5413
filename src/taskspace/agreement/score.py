"""The agreement score (Task Discovery Eq. 1), accuracy, and Proposition 1 (appendix G); chapter 8.

Everything here works on the predicted labels of an ensemble, ``(E, N)`` int64 (network ``e``'s
label for test image ``n``), so it applies to binary and multi-class tasks alike and never needs
the networks themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = [
    "AgreementScore",
    "Proposition1",
    "accuracy",
    "agreement_score",
    "majority_vote",
    "pairwise_agreement",
    "proposition1",
]


def _check_predictions(predictions: torch.Tensor, min_networks: int = 1) -> None:
    if predictions.ndim != 2 or predictions.dtype != torch.int64:
        raise ValueError(
            "predictions must be (E, N) int64 labels, got "
            f"{predictions.dtype} {tuple(predictions.shape)}"
        )
    if predictions.shape[0] < min_networks or predictions.shape[1] == 0:
        raise ValueError(
            f"need at least {min_networks} networks and one test image, "
            f"got predictions of shape {tuple(predictions.shape)}"
        )


def _check_labels(labels: torch.Tensor, n_images: int) -> None:
    if labels.shape != (n_images,) or labels.dtype != torch.int64:
        raise ValueError(
            f"labels must be ({n_images},) int64, got {labels.dtype} {tuple(labels.shape)}"
        )


def pairwise_agreement(predictions: torch.Tensor) -> torch.Tensor:
    """``(E, E)`` float64: fraction of test images on which networks ``i`` and ``j`` agree.

    Args:
        predictions: ``(E, N)`` int64 predicted labels.
    """
    _check_predictions(predictions)
    same = predictions.unsqueeze(0) == predictions.unsqueeze(1)  # (E, E, N)
    return same.double().mean(-1).cpu()


@dataclass(frozen=True)
class AgreementScore:
    """The agreement score of one task, estimated from an ensemble.

    Attributes:
        mean: AS, the mean agreement over all pairs of distinct networks (Eq. 1), in ``[0, 1]``.
        std: standard deviation of the agreement over those pairs (0 for a single pair).
        n_pairs: how many pairs of networks it averages.
    """

    mean: float
    std: float
    n_pairs: int


def agreement_score(predictions: torch.Tensor) -> AgreementScore:
    """AS(tau; X_tr, X_te) (Eq. 1) from ``(E, N)`` predicted labels of ``E >= 2`` networks.

    The expectation over pairs of networks is the mean over the ``E (E - 1) / 2`` distinct pairs;
    the inner expectation over test images is the fraction of the ``N`` on which a pair agrees.
    Introduced in chapter 8.
    """
    _check_predictions(predictions, min_networks=2)
    matrix = pairwise_agreement(predictions)
    rows, cols = torch.triu_indices(*matrix.shape, offset=1)
    pairs = matrix[rows, cols]
    std = pairs.std().item() if pairs.numel() > 1 else 0.0
    return AgreementScore(pairs.mean().item(), std, pairs.numel())


def accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``(E,)`` float64: each network's fraction of correct labels.

    Args:
        predictions: ``(E, N)`` int64 predicted labels.
        labels: ``(N,)`` int64 labels to compare with (a task's test labels, or any ``h``).
    """
    _check_predictions(predictions)
    _check_labels(labels, predictions.shape[1])
    return (predictions == labels.to(predictions.device)).double().mean(1).cpu()


def majority_vote(predictions: torch.Tensor) -> torch.Tensor:
    """``(N,)`` int64: the most frequent label per test image (ties go to the smallest label).

    This is tau-hat of appendix G on the test images.
    """
    _check_predictions(predictions)
    votes = torch.nn.functional.one_hot(predictions).sum(0)  # (N, num_labels)
    return votes.argmax(-1)


@dataclass(frozen=True)
class Proposition1:
    """Both sides of Proposition 1 (appendix G) for one ensemble and one labelling ``h``.

    ``ACC(tau_hat) >= AS >= 2 ACC(tau_tilde) - 1``, where tau_hat labels the test images by the
    networks' majority vote and tau_tilde by ``h``.

    Attributes:
        accuracy_majority: ACC(tau_hat), the networks' mean accuracy against their majority vote.
        agreement: AS over the ensemble's pairs.
        accuracy_labels: ACC(tau_tilde), the networks' mean accuracy against ``h``.
    """

    accuracy_majority: float
    agreement: float
    accuracy_labels: float

    @property
    def lower_bound(self) -> float:
        """``2 ACC(tau_tilde) - 1``."""
        return 2 * self.accuracy_labels - 1

    @property
    def holds(self) -> bool:
        """Whether both inequalities hold (up to 1e-12 for rounding)."""
        tolerance = 1e-12
        return (
            self.accuracy_majority + tolerance >= self.agreement
            and self.agreement + tolerance >= self.lower_bound
        )


def proposition1(predictions: torch.Tensor, labels: torch.Tensor) -> Proposition1:
    """Evaluate Proposition 1's three quantities from ``(E, N)`` predictions and ``(N,)`` labels.

    With the expectations over networks taken over the ``E`` trained networks, both inequalities
    hold exactly, for binary and multi-class labels: the check is of the computation (and shows
    how much room each inequality leaves). Introduced in chapter 8.
    """
    score = agreement_score(predictions)
    return Proposition1(
        accuracy_majority=accuracy(predictions, majority_vote(predictions)).mean().item(),
        agreement=score.mean,
        accuracy_labels=accuracy(predictions, labels).mean().item(),
    )
