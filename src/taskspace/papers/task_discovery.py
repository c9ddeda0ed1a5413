"""Task Discovery's published numbers (Atanov, Filatov, Yeo, Sohmshetty & Zamir, NeurIPS 2022).

Chapters 8, 9 and 10 print these beside their own results and record them as the ``paper``
value of :func:`taskspace.results.record`. Each is a :class:`PaperValue` with where it is
printed and the sentence or table cell that states it, word for word. The pages are those of
the NeurIPS version with its appendix (read from the reference list, which names the pages
citing each reference); where no citation fixes the page, the section alone is given. Unless a
value says otherwise, the paper measured it on CIFAR-10 (45K training and 5K test images) with
ResNet-18.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AS_ALL_FIXED",
    "AS_RANDOM_LABELLED",
    "AS_RANDOM_NETWORK",
    "GREEN_PIXEL_AS",
    "GREEN_PIXEL_PIXEL_RANDOMISED",
    "GREEN_PIXEL_TEST_ACCURACY",
    "N_DISCOVERED_TASKS",
    "PROXY_AS_SPEARMAN",
    "SIMILARITY_DISCOVERED",
    "SIMILARITY_RANDOM_NETWORKS",
    "TABLE1",
    "UNIFORMITY_WEIGHTS",
    "PaperValue",
]


@dataclass(frozen=True)
class PaperValue:
    """One number of the paper.

    Attributes:
        value: the number (a mean where ``std`` is given).
        where: section, figure or table, and page.
        quote: the paper's words (or table cell) that state it.
        std: the spread the paper gives with it, if any.
        setting: what it was measured on, where it is not CIFAR-10 with ResNet-18.
    """

    value: float
    where: str
    quote: str
    std: float | None = None
    setting: str = "CIFAR-10, ResNet-18"


AS_RANDOM_LABELLED = PaperValue(
    0.5,
    "§3.2, figure 1-center, page 4",
    "for which AS is close to the chance level of 0.5",
)
AS_ALL_FIXED = PaperValue(
    1.0,
    "§3.2, figure 2-right, page 4",
    "The system is fully deterministic with all three sources fixed and AS=1",
)
AS_RANDOM_NETWORK = PaperValue(
    0.85,
    "§4.4, page 7",
    "on par with human-labelled and discovered ones (≈ 0.85)",
)
SIMILARITY_RANDOM_NETWORKS = PaperValue(
    0.68,
    "§4.4, page 7",
    "32 randomly sampled networks have an average similarity of 0.68",
)
SIMILARITY_DISCOVERED = PaperValue(
    0.51,
    "§4.4, page 7",
    "The average similarity (Eq. 2) between all pairs of tasks from this set is 0.51",
)
N_DISCOVERED_TASKS = PaperValue(
    32,
    "§4.4, page 7",
    "sample 32 tasks from $T_{\\theta_e^*}$ by taking d orthogonal hyper-planes",
)
GREEN_PIXEL_AS = PaperValue(
    0.98,
    "§5.4",
    "This simple task has the AS of approximately 0.98",
)
GREEN_PIXEL_TEST_ACCURACY = PaperValue(
    0.96,
    "§5.4",
    "a network trained to solve it has a high test accuracy of 0.96",
)
GREEN_PIXEL_PIXEL_RANDOMISED = PaperValue(
    0.5,
    "§5.4",
    "drops to the chance level of 0.5 when we randomly sample p",
)
PROXY_AS_SPEARMAN = PaperValue(
    0.92,
    "appendix I.1, figure 16-right",
    "the two correlate well with Spearman’s rank correlation of 0.92",
)

#: ``lambda`` of Eq. 3 for ``d = 32`` per architecture (appendix I.2, page 28).
UNIFORMITY_WEIGHTS: dict[str, PaperValue] = {
    architecture: PaperValue(
        weight,
        "appendix I.2, page 28",
        "to 0.66 for ResNet-18, 5 for MLP and 100 for ViT",
        setting=f"CIFAR-10, {label}, d = 32",
    )
    for architecture, label, weight in (
        ("resnet18", "ResNet-18", 0.66),
        ("mlp", "MLP", 5.0),
        ("vit", "ViT", 100.0),
    )
}

_TABLE1_SETTINGS = {
    "CIFAR-10": ("0.78 ± 0.04", "0.41 ± 0.10", "10-class task, discovered tau_d"),
    "CelebA": ("0.94 ± 0.00", "0.42 ± 0.02", "hair_blonde attribute, random-network tau_d"),
    "ImageNet": ("0.59 ± 0.01", "0.29 ± 0.00", "top-1, 1000-class task, random-network tau_d"),
}


def _table1_cell(dataset: str, split: str, cell: str, setting: str) -> PaperValue:
    mean, std = (float(part) for part in cell.split(" ± "))
    where = f"Table 1 (§6.2), page 11: row {split.capitalize()}, column {dataset}"
    return PaperValue(mean, where, cell, std, setting)


#: Table 1: test accuracy on a random and an adversarial split, ``TABLE1[dataset][split]``
#: with ``split`` in ``("random", "adversarial")`` (mean and std over runs and splits).
TABLE1: dict[str, dict[str, PaperValue]] = {
    dataset: {
        "random": _table1_cell(dataset, "random", random, f"{dataset}, {setting}"),
        "adversarial": _table1_cell(dataset, "adversarial", adversarial, f"{dataset}, {setting}"),
    }
    for dataset, (random, adversarial, setting) in _TABLE1_SETTINGS.items()
}
