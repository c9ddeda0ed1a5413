"""The Taskonomy experiment of chapters 5 and 6: Task2Box on Taskonomy's transfer affinities.

Built on the generic protocol of :mod:`taskspace.affinities`; what is Taskonomy's lives here:

* :func:`taskonomy_experiment` -- the 25 tasks, their 1k-budget affinities as a
  ``[target, source]`` matrix, their 15 yes/no attributes (supplement table 7), trained on
  ``tanh(50 x)`` (:data:`TANH_K`, supplement Eq. 8);
* :data:`TASKONOMY_SETTINGS` -- the sizes per scale (chapters 5 and 6 read the same);
* :func:`taskonomy_splits` -- the paper's draws: 3 of 25 tasks novel, 80 / 10 / 10 % of the pairs;
* :func:`task_groups` -- a coarse family of each task, read from its attributes (for figures);
* :func:`fit_ablation` -- supplement table 4: the 5-D boxes without one loss term at a time;
* :func:`loss_jumps` -- where a training loss more than doubles in one step (chapter 5);
* :func:`baseline_predictions` -- chapter 6's regressors, additive effects and random
  predictions of the affinities on the same splits;
* ``*_records`` -- the chapters' recorded numbers, key by key (see :mod:`taskspace.results`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import torch

from taskspace.affinities import (
    AffinityExperiment,
    Scores,
    affinity_splits,
    draw_scores,
    fit_boxes,
    mean_std_finite,
    perturbation_shifts,
)
from taskspace.baselines import (
    LINEAR_HIDDEN,
    MLP_HIDDEN,
    PairConfig,
    fit_additive_effects,
    predict_pairs,
    random_relation,
    train_pair_model,
)
from taskspace.boxes.evaluate import RelationSplit
from taskspace.boxes.losses import TASKONOMY_WEIGHTS, LossWeights
from taskspace.boxes.train import History
from taskspace.data.taskonomy import load_affinities, task_attributes

__all__ = [
    "BOX_DIMS",
    "FRACTIONS",
    "HALF_FRACTIONS",
    "LOSS_VARIANTS",
    "MAP_TARGETS",
    "NOVEL_TASKS",
    "SENSITIVE_FIELDS",
    "TANH_K",
    "TASKONOMY_SETTINGS",
    "LossJumps",
    "TaskonomySettings",
    "ablation_records",
    "baseline_predictions",
    "baseline_records",
    "fit_ablation",
    "loss_jumps",
    "sensitivity_records",
    "spearman_records",
    "task_groups",
    "taskonomy_experiment",
    "taskonomy_splits",
]

#: ``k`` of the rescaling ``x' = tanh(k x)`` the boxes are trained on (supplement Eq. 8).
TANH_K = 50
#: Tasks held out as novel in each draw (paper §4).
NOVEL_TASKS = 3
#: Shares of the existing pairs for training, validation and test (supplement §9.2).
FRACTIONS = (0.8, 0.1, 0.1)
#: Supplement table 5: train on half of the pairs, validate on 10 %, test on 40 %.
HALF_FRACTIONS = (0.5, 0.1, 0.4)
#: The box dimensions of the paper's table 3.
BOX_DIMS = (2, 3, 5)
#: The targets of the paper's figure 4.
MAP_TARGETS = ("Depth", "Denoising-Autoencoder", "Surface-Normal")
#: Supplement table 4: the loss without one term at a time (the authors' Taskonomy weights).
LOSS_VARIANTS: dict[str, LossWeights] = {
    "no_overlap": replace(TASKONOMY_WEIGHTS, overlap=0.0),
    "no_distance": replace(TASKONOMY_WEIGHTS, distance=0.0),
    "no_regularization": replace(TASKONOMY_WEIGHTS, shape=0.0, volume=0.0),
}
#: The scores whose sensitivity to one rounding chapter 5 measures, and their results keys.
SENSITIVE_FIELDS: dict[str, str] = {
    "pooled_existing": "spearman_existing",
    "pooled_novel": "spearman_novel",
    "within_existing": "within_target_existing",
    "within_novel": "within_target_novel",
}


@dataclass(frozen=True)
class TaskonomySettings:
    """The sizes of the Taskonomy experiment at one scale (chapters 5 and 6).

    Attributes:
        steps: Adam steps of every Task2Box network (the authors: 3000).
        draws: random draws ``R`` (3 novel tasks each).
        perturbations: retrainings on inputs moved by one rounding (chapter 5's sensitivity).
    """

    steps: int
    draws: int
    perturbations: int


#: Per scale: ``fast`` runs in about a minute, ``book`` in minutes on two CPU cores, ``paper``
#: with the paper's 10 draws.
TASKONOMY_SETTINGS: dict[str, TaskonomySettings] = {
    "fast": TaskonomySettings(steps=150, draws=2, perturbations=1),
    "book": TaskonomySettings(steps=3000, draws=5, perturbations=2),
    "paper": TaskonomySettings(steps=3000, draws=10, perturbations=3),
}


def taskonomy_experiment(budget: str = "1k") -> AffinityExperiment:
    """Taskonomy's 25 tasks: affinities ``(25, 25)`` ``[target, source]`` of one transfer
    budget (chapter 1), attributes ``(25, 15)``, rescaled by :data:`TANH_K` (chapter 5)."""
    table = load_affinities(budget)
    _, _, attributes = task_attributes()
    return AffinityExperiment(
        tuple(table.tasks), table.as_target_by_source(), attributes, rescale_k=TANH_K
    )


def taskonomy_splits(
    experiment: AffinityExperiment,
    draws: int,
    fractions: tuple[float, float, float] = FRACTIONS,
) -> list[RelationSplit]:
    """The paper's draws: :data:`NOVEL_TASKS` novel tasks, the pairs split by ``fractions``;
    draw ``r`` is seeded by ``r`` (chapters 5 and 6 score on the same splits)."""
    return affinity_splits(experiment, draws, novel=NOVEL_TASKS, fractions=fractions)


def task_groups() -> list[str]:
    """A coarse family of each of the 25 tasks, read from its attributes (supplement table 6),
    in the order of :func:`taskonomy_experiment`'s tasks (chapter 5's figures)."""
    _, questions, attributes = task_attributes()
    groups = []
    for row in attributes:
        answers = dict(zip((q.short for q in questions), row.tolist(), strict=True))
        if answers["more_than_one_input"]:
            groups.append("several images (pose, matching)")
        elif answers["object_classification_output"] or answers["object_knowledge"]:
            groups.append("objects and scenes")
        elif answers["needs_3d"]:
            groups.append("3-D geometry")
        else:
            groups.append("2-D and generative")
    return groups


def fit_ablation(
    experiment: AffinityExperiment,
    splits: Sequence[RelationSplit],
    steps: int,
    variants: Mapping[str, LossWeights] = LOSS_VARIANTS,
    box_dim: int = 5,
) -> dict[str, Scores]:
    """Supplement table 4: ``{variant: draw scores}``, every variant's networks of all draws
    trained together as one batch, each with its own loss weights (chapter 5)."""
    r = len(splits)
    weights = tuple(w for w in variants.values() for _ in splits)
    fit = fit_boxes(
        experiment,
        [s for _ in variants for s in splits],
        box_dim,
        steps,
        weights=weights,
        description="ablation",
    )
    return {
        name: draw_scores(experiment, fit.predicted[v * r : (v + 1) * r], splits)
        for v, name in enumerate(variants)
    }


@dataclass(frozen=True)
class LossJumps:
    """Steps where a network's training loss more than doubles (chapter 5).

    Attributes:
        count: how many (step, network) jumps.
        first, last: the first and last step (1-based) whose loss is more than twice the
            step's before (``None`` without any).
        overlap_share: the smallest share of a jump that the overlap term ``L_E`` makes.
        best_step: the step each network was kept at.
        last_over_best: validation error at the last evaluation over that at the kept step.
    """

    count: int
    first: int | None
    last: int | None
    overlap_share: float | None
    best_step: list[int]
    last_over_best: list[float]


def loss_jumps(history: History, members: int) -> LossJumps:
    """Where the loss of the first ``members`` networks of ``history`` more than doubles in a
    step, and how much of each jump is the overlap term (chapter 5)."""
    losses = torch.tensor(history.losses["total"])[:, :members]  # (steps, R)
    overlap = torch.tensor(history.losses["overlap"])[:, :members]
    errors = torch.tensor(history.validation_error)[:, :members]  # (evaluations, R)
    jumps = (losses[1:] / losses[:-1] > 2).nonzero().tolist()  # [step - 1, network]
    shares = [
        float((overlap[s + 1, r] - overlap[s, r]) / (losses[s + 1, r] - losses[s, r]))
        for s, r in jumps
    ]
    best = list(history.best_step)[:members]  # type: ignore[arg-type]
    kept = [history.validation_steps.index(b) for b in best]
    return LossJumps(
        count=len(jumps),
        first=min(s for s, _ in jumps) + 2 if jumps else None,  # 1-based: loss[s + 1] jumped
        last=max(s for s, _ in jumps) + 2 if jumps else None,
        overlap_share=min(shares) if shares else None,
        best_step=best,
        last_over_best=[float(errors[-1, r] / errors[kept[r], r]) for r in range(members)],
    )


def baseline_predictions(
    experiment: AffinityExperiment,
    splits: Sequence[RelationSplit],
    regression_steps: int,
    box_steps: int,
) -> dict[str, torch.Tensor]:
    """Chapter 6's predictions of the affinities on ``splits``: ``method -> (R, N, N)``.

    ``mlp`` and ``linear``: regressors on ``[e_target, e_source]`` trained on the rescaled
    affinities of the training pairs (16 pairs a step); ``additive``: ``log x = a_target +
    b_source`` fitted on the training pairs; ``random``: uniform scores seeded by the draw;
    ``task2box_5d``: 5-D boxes, chapter 5's recipe and seeds. Entries no score reads may be NaN.
    """
    seeds = tuple(range(len(splits)))
    train = torch.stack([s.train for s in splits])  # (R, N, N)
    scored = torch.stack([s.test | s.novel_pairs for s in splits])  # the pairs the scores read
    predicted = {}
    for name, hidden in (("mlp", MLP_HIDDEN), ("linear", LINEAR_HIDDEN)):
        config = PairConfig(
            hidden=hidden, loss="mse", steps=regression_steps, batch_size=16, seeds=seeds
        )
        features = experiment.features
        model, _ = train_pair_model(features, experiment.target, train, config, description=name)
        predicted[name] = experiment.to_affinity(predict_pairs(model, features, scored))
    log_affinity = experiment.affinity.log()  # every known affinity is > 0
    predicted["additive"] = torch.stack(
        [fit_additive_effects(log_affinity, s.train).predict().exp() for s in splits]
    )
    predicted["random"] = torch.stack([random_relation(len(experiment), seed=r) for r in seeds])
    boxes = fit_boxes(experiment, splits, 5, box_steps, description="Task2Box 5-D")
    predicted["task2box_5d"] = boxes.predicted
    return predicted


Record = dict[str, float | str | None]


def _paper_note(draws: int, paper_std: float | None) -> str:
    return f"{draws} draws" + ("" if paper_std is None else f"; paper std {paper_std}")


def spearman_records(
    scores: Scores, k: int, paper: tuple[tuple[float, float], tuple[float, float]]
) -> dict[str, Record]:
    """Chapter 5's recorded rho of ``k``-D boxes: ``key -> {value, std, paper, note}``.

    Args:
        scores: the draws' scores of the ``k``-D boxes.
        k: the box dimension.
        paper: table 3's ``((mean, std) existing, (mean, std) novel)`` for ``k``.
    """
    draws = len(scores["pooled_existing"])
    (existing, existing_std), (novel, novel_std) = paper
    within_existing = mean_std_finite(scores["within_existing"])
    within_novel = mean_std_finite(scores["within_novel"])
    rows = scores["rows_existing"].mean()
    return {
        f"spearman_existing_{k}d": {
            "value": scores["pooled_existing"].mean(),
            "std": scores["pooled_existing"].std(),
            "paper": existing,
            "note": _paper_note(draws, existing_std),
        },
        f"spearman_novel_{k}d": {
            "value": scores["pooled_novel"].mean(),
            "std": scores["pooled_novel"].std(),
            "paper": novel,
            "note": _paper_note(draws, novel_std),
        },
        f"within_target_existing_{k}d": {
            "value": within_existing[0],
            "std": within_existing[1],
            "note": f"targets with >= 3 test pairs: {rows:.1f} per draw",
        },
        f"within_target_novel_{k}d": {
            "value": within_novel[0],
            "std": within_novel[1],
            "note": "novel targets ranked against all existing sources",
        },
    }


def sensitivity_records(scores: Scores, perturbed: Sequence[Scores], k: int) -> dict[str, Record]:
    """Chapter 5's sensitivity of the ``k``-D scores: per field of :data:`SENSITIVE_FIELDS`,
    the largest shift of its mean over draws when the inputs move by one rounding."""
    records: dict[str, Record] = {}
    for field, key in SENSITIVE_FIELDS.items():
        shifts = perturbation_shifts(scores[field], [p[field] for p in perturbed])
        listed = ", ".join(f"{v:+.3f}" for v in shifts.tolist())
        records[f"sensitivity.{key}_{k}d"] = {
            "value": float(shifts.abs().max()),
            "note": "largest |shift| of the mean over draws when every attribute moves by one "
            f"float32 ulp and the boxes are retrained; {len(shifts)} perturbations: {listed}",
        }
    return records


def baseline_records(
    rho: Mapping[str, Scores],
    paper: Mapping[str, tuple[tuple[float, float], tuple[float, float]]],
    methods: Sequence[str],
) -> dict[str, Record]:
    """Chapter 6's recorded rho of each baseline: pooled (with table 3's value where the paper
    has one) and within-target, on existing and novel tasks."""
    records: dict[str, Record] = {}
    for name in methods:
        given = paper.get(name)
        for column, part in enumerate(("existing", "novel")):
            pooled = rho[name][f"pooled_{part}"]
            within = mean_std_finite(rho[name][f"within_{part}"])
            pairs = "test pairs" if part == "existing" else "novel-existing pairs"
            note = f"pooled over {pairs}; {_paper_note(len(pooled), None)}"
            records[f"taskonomy.{name}.spearman_{part}"] = {
                "value": pooled.mean(),
                "std": pooled.std(),
                "paper": None if given is None else given[column][0],
                "note": note + ("" if given is None else f"; paper std {given[column][1]}"),
            }
            records[f"taskonomy.{name}.within_target_{part}"] = {
                "value": within[0],
                "std": within[1],
                "note": "mean over targets of the per-target rho (chapter 5)",
            }
    return records


def ablation_records(
    ablation: Mapping[str, Scores], paper: Mapping[str, float]
) -> dict[str, Record]:
    """Chapter 5's recorded loss ablation: pooled rho of each variant beside supplement
    table 4 (``paper``: variant -> rho)."""
    return {
        f"ablation_{name}": {
            "value": s["pooled_existing"].mean(),
            "std": s["pooled_existing"].std(),
            "paper": paper[name],
            "note": "5-D, pooled rho on held-out pairs of existing tasks",
        }
        for name, s in ablation.items()
    }
