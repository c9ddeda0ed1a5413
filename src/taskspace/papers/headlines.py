"""The headline results the introduction sets beside the papers', one row each.

Each row names a result a chapter records (``book/results/<chapter>.json``, key and the paper's
value recorded with it), says in words what it is, on which data it was measured here and in the
paper, and, for when the two differ, the one-line reason and the section of the chapter that
explains it. Whether a row *reproduces* is not written here: :func:`verdict` decides it from the
recorded numbers on every build, so a re-run that moves a result moves its verdict too.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

from taskspace.papers.task2box import HALF_RELATIONS_SPEARMAN, TASKONOMY_SPEARMAN
from taskspace.papers.task_discovery import TABLE1

__all__ = ["HEADLINES", "Headline", "verdict"]

_DIFFERENCES = "differences-from-the-paper-in-one-place"


class Headline(NamedTuple):
    """One row of the introduction's comparison with the papers."""

    chapter: str  # the chapter's file stem, e.g. "04_hierarchies"
    key: str  # the result's key in that chapter's results file
    label: str  # what the number is, in words
    ours: str  # the data (and model) it was measured on here
    theirs: str  # the data (and model) the paper measured it on
    reason: str  # why ours differs, in one line (shown when the verdict is "differs")
    section: str = _DIFFERENCES  # the heading anchor of the section that explains it
    paper_std: float | None = None  # the spread the paper prints, where it prints one


_IMAGENET = "ImageNet instrument nodes; μ of a classifier's weights + MiniLM"
_INAT = "iNaturalist-2018 classes and orders; μ of MiniLM species names"
_CLIP_IMAGENET = "ImageNet instrument datasets; μ of OpenCLIP ViT-H/14"
_CLIP_INAT = "iNaturalist + CUB datasets; μ of OpenCLIP ViT-H/14"
_TASKONOMY = "Taskonomy affinities; attribute vectors"
_FASHION = "Fashion-MNIST, MLP, 400 training images"
_CIFAR = "CIFAR-10, ResNet-18"
_PROTOCOL = "the authors' code scores transposed cells; this book, held-out pairs"
_NOVEL_SCRAMBLE = "the authors' code permutes the existing boxes before scoring novel pairs"

HEADLINES: Final[tuple[Headline, ...]] = (
    Headline(
        "04_hierarchies",
        "imagenet.n_datasets",
        "ImageNet instrument datasets",
        "WordNet nodes with ≥ 2 ImageNet classes",
        "the paper's selection",
        "one dataset per distinct class set",
        "taxonomy-nodes-as-datasets",
    ),
    Headline(
        "04_hierarchies",
        "imagenet.f1_existing_5d",
        "ImageNet F1 %, existing, 5-D",
        _IMAGENET,
        _CLIP_IMAGENET,
        _PROTOCOL,
        "what-does-an-f1-count-four-protocols",
    ),
    Headline(
        "04_hierarchies",
        "imagenet.f1_existing_5d_authors_convention",
        "ImageNet F1 %, existing, 5-D, the authors' scoring",
        _IMAGENET,
        _CLIP_IMAGENET,
        "other representation and training length",
        "what-does-an-f1-count-four-protocols",
    ),
    Headline(
        "04_hierarchies",
        "imagenet.f1_novel_5d",
        "ImageNet F1 %, novel, 5-D",
        _IMAGENET,
        _CLIP_IMAGENET,
        "both directions scored here, novel-inside-existing in the paper",
        "what-does-an-f1-count-four-protocols",
    ),
    Headline(
        "04_hierarchies",
        "imagenet.f1_novel_5d_into_existing",
        "ImageNet F1 %, novel inside existing, 5-D",
        _IMAGENET,
        _CLIP_IMAGENET,
        "other representation and training length",
        "what-does-an-f1-count-four-protocols",
    ),
    Headline(
        "04_hierarchies",
        "inat.f1_existing_5d",
        "iNaturalist F1 %, existing, 5-D",
        _INAT,
        _CLIP_INAT,
        "two levels and no images here; names carry little of the hierarchy",
    ),
    Headline(
        "04_hierarchies",
        "inat3.f1_existing_5d_authors_convention",
        "iNaturalist with genera, F1 %, existing, 5-D, the authors' scoring",
        _INAT + " and genera",
        _CLIP_INAT,
        "three levels for nine classes only; names carry little of the hierarchy",
    ),
    Headline(
        "04_hierarchies",
        "inat.f1_novel_5d",
        "iNaturalist F1 %, novel, 5-D",
        _INAT,
        _CLIP_INAT,
        "two levels and no images here; names carry little of the hierarchy",
    ),
    Headline(
        "05_taskonomy",
        "spearman_existing_5d",
        "Taskonomy ρ, existing tasks, 5-D",
        _TASKONOMY,
        _TASKONOMY,
        "",
        "results-for-k-2-3-5",
        paper_std=TASKONOMY_SPEARMAN["task2box_5d"].existing.std,
    ),
    Headline(
        "05_taskonomy",
        "spearman_existing_2d",
        "Taskonomy ρ, existing tasks, 2-D",
        _TASKONOMY,
        _TASKONOMY,
        "",
        "results-for-k-2-3-5",
        paper_std=TASKONOMY_SPEARMAN["task2box_2d"].existing.std,
    ),
    Headline(
        "05_taskonomy",
        "spearman_novel_5d",
        "Taskonomy ρ, novel tasks, 5-D",
        _TASKONOMY,
        _TASKONOMY,
        _NOVEL_SCRAMBLE,
        "the-novel-tasks-in-the-authors-code",
        paper_std=TASKONOMY_SPEARMAN["task2box_5d"].novel.std,
    ),
    Headline(
        "05_taskonomy",
        "spearman_novel_5d_scrambled_existing",
        "Taskonomy ρ, novel tasks, 5-D, existing boxes permuted",
        _TASKONOMY,
        _TASKONOMY,
        "permuting the existing boxes destroys what the paper's number measures",
        "the-novel-tasks-in-the-authors-code",
        paper_std=TASKONOMY_SPEARMAN["task2box_5d"].novel.std,
    ),
    Headline(
        "05_taskonomy",
        "ablation_no_overlap",
        "Taskonomy ρ without the overlap loss",
        _TASKONOMY,
        _TASKONOMY,
        "without L_E the boxes learn no relation at all",
        "which-loss-terms-matter-supplement-table-4",
    ),
    Headline(
        "05_taskonomy",
        "half_relations_5d",
        "Taskonomy ρ trained on half the relations",
        _TASKONOMY,
        _TASKONOMY,
        "",
        "half-of-the-relations-supplement-table-5",
        paper_std=HALF_RELATIONS_SPEARMAN["task2box_5d"].std,
    ),
    Headline(
        "06_baselines",
        "taskonomy.mlp.spearman_existing",
        "Taskonomy ρ of the MLP, existing",
        _TASKONOMY,
        _TASKONOMY,
        "",
        "taskonomy-predicting-transfer-affinities-table-3",
        paper_std=TASKONOMY_SPEARMAN["mlp"].existing.std,
    ),
    Headline(
        "06_baselines",
        "taskonomy.linear.spearman_novel",
        "Taskonomy ρ of the linear model, novel",
        _TASKONOMY,
        _TASKONOMY,
        "",
        "taskonomy-predicting-transfer-affinities-table-3",
        paper_std=TASKONOMY_SPEARMAN["linear"].novel.std,
    ),
    Headline(
        "06_baselines",
        "imagenet.mlp.f1_existing",
        "ImageNet F1 % of the MLP, existing",
        _IMAGENET,
        _CLIP_IMAGENET,
        "an MLP on pairs fits this hierarchy better than boxes",
        "where-the-claim-holds-and-where-it-does-not",
    ),
    Headline(
        "06_baselines",
        "imagenet.asym_euclidean.f1_existing",
        "ImageNet F1 % of the asymmetric Euclidean distance, existing",
        _IMAGENET,
        _CLIP_IMAGENET,
        "its α and threshold are chosen on training pairs here",
        "where-the-claim-holds-and-where-it-does-not",
    ),
    Headline(
        "06_baselines",
        "imagenet.linear.f1_existing",
        "ImageNet F1 % of the linear classifier, existing",
        _IMAGENET,
        _CLIP_IMAGENET,
        "a sum of two scores cannot express containment",
        "where-the-claim-holds-and-where-it-does-not",
    ),
    Headline(
        "06_baselines",
        "inat.mlp.f1_existing",
        "iNaturalist F1 % of the MLP, existing",
        _INAT,
        _CLIP_INAT,
        "names carry little of this hierarchy",
        "where-the-claim-holds-and-where-it-does-not",
    ),
    Headline(
        "07_dataset_atlas",
        "n_datasets",
        "datasets on the map",
        "cut from 3 image sources on this machine",
        "Hugging Face image datasets",
        "only datasets reachable offline",
    ),
    Headline(
        "08_agreement_score",
        "as_random_mean",
        "AS of random-labelled tasks",
        _FASHION,
        _CIFAR,
        "a small MLP interpolates less and agrees more on noise",
        "beside-the-paper",
    ),
    Headline(
        "08_agreement_score",
        "as_random_network_task",
        "AS of a random-network task",
        _FASHION,
        _CIFAR,
        "",
        "beside-the-paper",
    ),
    Headline(
        "08_agreement_score",
        "as_green_pixel",
        "AS of the green-pixel task",
        "Fashion-MNIST's centre pixel, MLP",
        "CIFAR-10 with a green pixel, ResNet-18",
        "another image set and pixel",
        "beside-the-paper",
    ),
    Headline(
        "08_agreement_score",
        "green_pixel_test_accuracy",
        "test accuracy on the green-pixel task",
        "Fashion-MNIST's centre pixel, MLP",
        "CIFAR-10 with a green pixel, ResNet-18",
        "another image set and pixel",
        "beside-the-paper",
    ),
    Headline(
        "09_task_discovery",
        "as_discovered_mean",
        "AS of the discovered tasks",
        _FASHION + ", 8 heads",
        "CIFAR-10, MLP (the authors' table)",
        "",
        "beside-the-paper",
    ),
    Headline(
        "09_task_discovery",
        "similarity_discovered_mean",
        "similarity between discovered tasks",
        _FASHION + ", 8 heads",
        _CIFAR + ", 32 heads",
        "",
        "beside-the-paper",
    ),
    Headline(
        "09_task_discovery",
        "proxy_vs_as_spearman",
        "ρ of the proxy-AS against the AS",
        _FASHION + ", 26 tasks",
        _CIFAR,
        "fewer inner steps and tasks here",
        "beside-the-paper",
    ),
    *(
        Headline(
            "10_adversarial_splits",
            f"fashion_{setting}.{split}_accuracy",
            f"{target}: test accuracy, {split.replace('_', ' ')}",
            ours,
            theirs,
            "other images, network and spurious tasks",
            "random-against-adversarial-splits-table-1",
            paper_std=TABLE1[dataset][split.split("_")[0]].std,
        )
        for setting, target, ours, dataset, theirs in (
            (
                "binary",
                "binary targets",
                "Fashion-MNIST 5-vs-5 classes, MLP",
                "CelebA",
                "CelebA blond hair, ResNet-18",
            ),
            (
                "multiclass",
                "10-class target",
                "Fashion-MNIST, MLP",
                "CIFAR-10",
                "CIFAR-10, ResNet-18",
            ),
        )
        for split in ("random_split", "adversarial")
    ),
)


def verdict(value: float, std: float | None, paper: float, paper_std: float | None) -> bool:
    """Whether ``value`` reproduces ``paper``: equal counts, or a difference within the larger
    of the two spreads (ours over draws or seeds, the paper's where it prints one)."""
    spread = max(std or 0.0, paper_std or 0.0)
    if spread == 0.0:
        return math.isclose(value, paper, rel_tol=0.0, abs_tol=1e-9)
    return abs(value - paper) <= spread
