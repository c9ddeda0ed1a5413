"""Chapter 4's analyses of its trained boxes, and the numbers it records.

Each function takes the chapter's experiments, splits and :class:`~taskspace.hierarchies.BookBoxes`
(or parts of them) and returns numbers, or a :class:`Report`: the lines the chapter prints and
the results it records (``report.record()`` writes them with :func:`taskspace.results.record`).
F1 values are recorded in per cent, mean and population std over the ``R`` draws.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import spearmanr

from taskspace import results
from taskspace.boxes.evaluate import (
    PROTOCOLS,
    RelationSplit,
    f1_curve,
    protocol_pairs,
    split_relations,
)
from taskspace.boxes.geometry import Boxes, overlap_matrix
from taskspace.boxes.losses import HIERARCHY_WEIGHTS
from taskspace.boxes.model import embed
from taskspace.boxes.sensitivity import metric_shift
from taskspace.boxes.train import TrainConfig, train_boxes
from taskspace.data.taxonomy import Taxonomy
from taskspace.display import OUTPUT_COLUMNS
from taskspace.hierarchies.batches import BOOK_EXPERIMENTS
from taskspace.hierarchies.experiment import HierarchyExperiment
from taskspace.hierarchies.scoring import ContainmentScores, neighbourhood_curves
from taskspace.papers import task2box
from taskspace.represent import cosine_similarity_matrix

__all__ = [
    "LABELS",
    "SENSITIVE",
    "ParentChildMaps",
    "Report",
    "centre_distances",
    "chance_f1",
    "chance_report",
    "chosen_thresholds",
    "describe_datasets",
    "f1_records",
    "implied_recall",
    "nearest_larger",
    "nearest_larger_is_superset",
    "pair_overlaps",
    "paper_by_protocol",
    "paper_f1",
    "parent_child_maps",
    "percent",
    "perturbation_shifts",
    "protocol_checks",
    "sensitivity_records",
    "superset_check",
    "threshold_f1_curves",
]

#: How chapter 4 names its experiments in tables and figures.
LABELS = {
    "imagenet": "ImageNet instruments",
    "inat": "iNaturalist, classes + orders",
    "inat3": "iNaturalist with genera (3 levels)",
    "inat2": "the same classes, 2 levels",
}

#: Recorded sensitivity keys (``sensitivity.<experiment>.<key>``) -> the protocol they shift.
SENSITIVE = {
    "f1_existing_5d": "held_out",
    "f1_novel_5d": "novel_both",
    "f1_novel_5d_into_existing": "novel_into_existing",
    "f1_existing_5d_authors_convention": "authors_transposed",
}

#: The paper's part (existing or novel datasets) each protocol is compared with.
_PAPER_PART = {
    "held_out": "existing",
    "authors_transposed": "existing",
    "novel_both": "novel",
    "novel_into_existing": "novel",
}

_NOVEL_BOTH = "pairs of novel and existing datasets, both directions"


@dataclass
class Report:
    """Printed lines and recorded results of one step of chapter 4.

    Attributes:
        lines: what the chapter prints (``str(report)``).
        records: result key -> keyword arguments of :func:`taskspace.results.record`
            (``value`` and optionally ``std``, ``paper``, ``note``).
    """

    lines: list[str] = field(default_factory=list)
    records: dict[str, dict[str, object]] = field(default_factory=dict)

    def __str__(self) -> str:
        """The lines, each wrapped to the page's column (continuations indented)."""
        return "\n".join(
            textwrap.fill(line, OUTPUT_COLUMNS, subsequent_indent="    ", break_long_words=False)
            if len(line) > OUTPUT_COLUMNS
            else line
            for line in self.lines
        )

    def add(self, key: str, value: object, **fields: object) -> None:
        """Add one result (``std``, ``paper``, ``note`` as in :func:`taskspace.results.record`)."""
        self.records[key] = {"value": value, **fields}

    def record(self) -> None:
        """Write every result into the chapter's results file (:func:`taskspace.results.use`)."""
        for key, entry in self.records.items():
            results.record(key, **entry)  # type: ignore[arg-type]


def percent(values: torch.Tensor) -> tuple[float, float]:
    """Mean and population std of ``(R,)`` values in ``[0, 1]``, in %."""
    return 100 * float(values.mean()), 100 * float(values.std(correction=0))


def paper_f1(names: Sequence[str] = BOOK_EXPERIMENTS) -> dict[str, dict]:
    """The paper's F1 (%) per box dimension for each of chapter 4's experiments (tables 1, 2 and
    supplement table 5, :func:`taskspace.papers.task2box.f1_by_dimension`): ImageNet's for
    ``"imagenet"``, iNaturalist + CUB's for every iNaturalist experiment."""
    return {n: task2box.f1_by_dimension("imagenet" if n == "imagenet" else "inat") for n in names}


def paper_by_protocol(
    paper: Mapping[str, Mapping], protocols: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Experiment -> protocol -> the paper's 5-D F1 (%) on ``mu`` that the protocol is set beside
    (existing datasets for ``held_out`` and ``authors_transposed``, novel ones otherwise)."""
    return {
        name: {p: values["mu", _PAPER_PART[p]][5] for p in protocols}
        for name, values in paper.items()
    }


def describe_datasets(experiments: Mapping[str, HierarchyExperiment], subtree: Taxonomy) -> Report:
    """How the taxonomies became datasets (chapter 4): ImageNet's WordNet subtree ``subtree``
    and its merged and non-descendant pairs, iNaturalist's datasets, every experiment's
    ``repr``; records the dataset counts beside the paper's (section 4.1.1)."""
    imagenet, inat = experiments["imagenet"], experiments["inat"]
    multi_class = int((subtree.leaf_counts >= 2).sum())
    report = Report()
    report.lines += [
        f"instrument subtree: {len(subtree)} WordNet nodes, {len(subtree.childless)} of them "
        f"ImageNet classes; {multi_class} nodes hold >= 2 classes; {len(imagenet)} distinct "
        "class sets among them",
        "merged (same classes), e.g.: "
        + "; ".join(f"{k} = {', '.join(v)}" for k, v in list(imagenet.merged.items())[:4]),
    ]
    positions = [subtree.index(node) for node in imagenet.ids]
    descendant = subtree.containment_matrix()[positions][:, positions]
    inside = imagenet.relation == 1
    report.lines.append(
        f"ImageNet: {int(inside.sum())} pairs D_i ⊂ D_j, of which "
        f"{int((inside & ~descendant).sum())} are not descendant pairs of WordNet (DAG):"
    )
    for i, j in (inside & ~descendant).nonzero().tolist():
        report.lines.append(f"   {imagenet.datasets[i]} ⊂ {imagenet.datasets[j]}")
    report.lines.append(
        f"iNaturalist: {len(inat)} datasets ({len(set(inat.groups))} classes and their orders), "
        f"{int((inat.relation == 1).sum())} pairs D_i ⊂ D_j; {len(inat.merged)} classes merged "
        "with their single order, e.g. "
        + "; ".join(f"{k} = {', '.join(v)}" for k, v in list(inat.merged.items())[:3])
    )
    report.lines += [f"{name:>8}: {e!r}" for name, e in experiments.items()]
    paper = task2box.DATASET_COUNTS
    report.add(
        "imagenet.n_datasets",
        len(imagenet),
        paper=paper["imagenet"],
        note=f"nodes under instrumentality with >= 2 ImageNet classes ({multi_class}), one per "
        "distinct class set",
    )
    report.add(
        "inat.n_datasets",
        len(inat),
        paper=paper["inat"],
        note="here iNat-2018 classes + orders, one per distinct species set; paper: iNat + CUB, "
        "47 classes + 202 orders + 589 families",
    )
    if "inat3" in experiments:
        inat3 = experiments["inat3"]
        report.add(
            "inat3.n_datasets",
            len(inat3),
            paper=paper["inat"],
            note=f"classes, orders and genera with >= 2 species of {len(set(inat3.groups))} classes",
        )
    return report


def chance_f1(experiment: HierarchyExperiment, mask: torch.Tensor) -> float:
    """F1 (%) of predicting every pair of the ``(N, N)`` bool ``mask`` inside (chapter 4)."""
    rate = float(experiment.relation[mask].mean())
    return 200 * rate / (1 + rate)


def chance_report(
    experiments: Mapping[str, HierarchyExperiment],
    splits: Mapping[str, Sequence[RelationSplit]],
    names: Sequence[str] = ("imagenet", "inat"),
) -> Report:
    """The chance level of F1 in draw 0 of each of ``names``, on existing and novel datasets."""
    report = Report()
    for name in names:
        e, split = experiments[name], splits[name][0]
        report.lines.append(
            f"{name}: chance level (every pair predicted inside) {chance_f1(e, split.test):.2f} % "
            f"on existing, {chance_f1(e, split.novel_pairs):.2f} % on novel datasets"
        )
    return report


def f1_records(
    scores: Mapping[tuple[str, str, int], ContainmentScores],
    dims: Sequence[int],
    draws: int,
    paper: Mapping[str, Mapping],
    names: Sequence[str] = ("imagenet", "inat"),
) -> Report:
    """Chapter 4's main F1 results beside the paper's tables 1, 2 and supplement table 5: per
    experiment, ``mu`` at every ``k`` of ``dims`` the paper prints (2, 3, 5), ``[mu, sigma^2]``
    at 5-D, and 5-D trained on half of the pairs."""
    where = {"imagenet": "table 2", "inat": "table 1"}
    report = Report()
    for name in names:
        for k in (k for k in dims if k in (2, 3, 5)):
            for part in ("existing", "novel"):
                mean, std = percent(getattr(scores[name, "mu", k], part))
                pairs = "test pairs of existing datasets" if part == "existing" else _NOVEL_BOTH
                report.add(
                    f"{name}.f1_{part}_{k}d",
                    mean,
                    std=std,
                    paper=paper[name]["mu", part].get(k),
                    note=f"F1 % on {pairs}, mu, {k}-D, {draws} draws; paper: {where[name]}, "
                    "mu_CLIP column",
                )
        for part in ("existing", "novel"):
            mean, std = percent(getattr(scores[name, "mu_sigma2", 5], part))
            report.add(
                f"{name}.f1_{part}_5d_mu_sigma2",
                mean,
                std=std,
                paper=paper[name]["mu_sigma2", part].get(5),
                note=f"[mu, sigma^2]; paper {where[name]} [mu, sigma^2]_CLIP column",
            )
        mean, std = percent(scores[name, "half", 5].existing)
        report.add(
            f"{name}.f1_half_relations_5d",
            mean,
            std=std,
            paper=paper[name]["half", "existing"][5],
            note="train on 50 % of existing pairs, test on 40 %; mu; paper supplement table 5",
        )
    return report


def protocol_checks(
    experiments: Mapping[str, HierarchyExperiment],
    splits: Mapping[str, Sequence[RelationSplit]],
    scores: Mapping[tuple[str, str, int], ContainmentScores],
    paper: Mapping[str, Mapping],
    draws: int,
) -> Report:
    """What the protocols count, for the 5-D boxes on ``mu`` of every experiment (chapter 4).

    Prints, per draw, the share of the transposed reading's positives that are training pairs,
    and the precision of the predictions "existing inside novel"; records F1 under the
    authors' reading and the one-way novel protocol (and, for ``inat3`` / ``inat2``, the held-out
    numbers) beside the paper's.
    """
    by_protocol = paper_by_protocol(paper, tuple(_PAPER_PART))
    report = Report()
    for name, e in experiments.items():
        s = scores[name, "mu", 5]
        trained, precision = [], []
        for r, split in enumerate(splits[name]):
            scored_positive = split.test.T & (e.relation == 1)  # the transposed reading's
            share = (scored_positive & split.train).sum() / scored_positive.sum().clamp_min(1)
            trained.append(float(share))
            other = protocol_pairs(split, "existing_into_novel") & s.predicted[r]
            hit = float((e.relation[other] == 1).double().mean()) if other.any() else float("nan")
            precision.append(hit)
        report.lines.append(
            f"{name:>8}: positives of the transposed reading that are training pairs: "
            f"{', '.join(f'{100 * t:.0f} %' for t in trained)}; precision of 'existing inside "
            f"novel': {', '.join(f'{100 * p:.0f} %' for p in precision)}"
        )
        for key, protocol in (
            ("f1_existing_5d_authors_convention", "authors_transposed"),
            ("f1_novel_5d_into_existing", "novel_into_existing"),
        ):
            mean, std = percent(s.f1[protocol])
            report.add(
                f"{name}.{key}",
                mean,
                std=std,
                paper=by_protocol[name][protocol],
                note=f"{PROTOCOLS[protocol]}; 5-D, mu, {draws} draws",
            )
        if name in ("inat3", "inat2"):
            for part in ("existing", "novel"):
                mean, std = percent(getattr(s, part))
                protocol = PROTOCOLS["held_out" if part == "existing" else "novel_both"]
                report.add(
                    f"{name}.f1_{part}_5d",
                    mean,
                    std=std,
                    paper=paper[name]["mu", part][5],
                    note=f"{protocol}; 5-D, mu, {draws} draws; paper: table 1 (iNat + CUB)",
                )
    return report


def _pooled_recall(s: ContainmentScores, kind: str) -> tuple[int, int]:
    """Found / total held-out positives of one kind, summed over the draws."""
    recall, count = getattr(s, f"recall_{kind}"), getattr(s, f"count_{kind}")
    found = int((recall.nan_to_num(0.0) * count).round().sum())
    return found, int(count.sum())


def implied_recall(
    scores: Mapping[str, ContainmentScores], labels: Mapping[str, str], draws: int
) -> Report:
    """Held-out positives that chains of training positives imply, and the others: how many of
    each the boxes find, summed over the draws (chapter 4); ``scores``: experiment -> 5-D scores."""
    report = Report([f"5-D boxes on mu, held-out positives found / all, summed over {draws} draws"])
    for name, s in scores.items():
        text = []
        for kind in ("transitive", "non_transitive"):
            found, total = _pooled_recall(s, kind)
            text.append(f"{kind.replace('_', '-')} {found}/{total}")
            implied = "implied" if kind == "transitive" else "not implied"
            report.add(
                f"{name}.recall_{kind}",
                100 * found / total if total else "none: no such held-out positive",
                note=f"% of held-out positives {implied} by chains of training positives that "
                f"the 5-D boxes (mu) predict; {found}/{total} over {draws} draws",
            )
        report.lines.append(f"{labels[name]:>36}: " + ", ".join(text))
    return report


def threshold_f1_curves(
    experiments: Mapping[str, HierarchyExperiment],
    splits: Mapping[str, Sequence[RelationSplit]],
    overlap: Mapping[str, torch.Tensor],
) -> dict[str, dict[str, torch.Tensor]]:
    """Experiment -> ``"validation"`` / ``"test"`` -> ``(R, T)`` F1 at every threshold of the
    grid (:func:`~taskspace.boxes.evaluate.f1_curve`) of the ``(R, N, N)`` ``overlap``."""
    return {
        name: {
            part: torch.stack(
                [
                    f1_curve(overlap[name][r], e.relation, getattr(s, part))
                    for r, s in enumerate(splits[name])
                ]
            )
            for part in ("validation", "test")
        }
        for name, e in experiments.items()
    }


def chosen_thresholds(scores: Mapping[str, ContainmentScores], lowest: float, draws: int) -> Report:
    """The threshold each draw chose, and how often it is the grid's ``lowest`` value."""
    report = Report()
    for name, s in scores.items():
        at_lowest = int((s.threshold == lowest).sum())
        report.lines.append(
            f"{name:>8}: thresholds chosen {s.threshold.tolist()}; at the grid's lowest value in "
            f"{at_lowest} of {draws} draws"
        )
    return report


def perturbation_shifts(
    scores: Mapping[str, ContainmentScores], perturbed: Mapping[str, Sequence[ContainmentScores]]
) -> dict[tuple[str, str], torch.Tensor]:
    """``(experiment, protocol)`` -> ``(P,)`` shift of the mean F1 (points) over the draws when
    the inputs move by one rounding (:func:`~taskspace.boxes.sensitivity.metric_shift`), for the
    protocols of :data:`SENSITIVE`; ``scores``: experiment -> the unperturbed 5-D scores."""
    shifts = {}
    for name, moved_scores in perturbed.items():
        for protocol in SENSITIVE.values():
            moved = torch.stack([p.f1[protocol] for p in moved_scores])
            shifts[name, protocol] = 100 * metric_shift(scores[name].f1[protocol], moved)
    return shifts


def sensitivity_records(shifts: Mapping[tuple[str, str], torch.Tensor], draws: int) -> Report:
    """Records the largest ``|shift|`` per experiment and protocol of :func:`perturbation_shifts`."""
    report = Report()
    for (name, protocol), shift in shifts.items():
        key = next(k for k, p in SENSITIVE.items() if p == protocol)
        report.add(
            f"sensitivity.{name}.{key}",
            float(shift.abs().max()),
            note=f"largest |shift| of the mean over {draws} draws (F1 points) when every input "
            f"moves by one float32 ulp and the boxes are retrained; {len(shift)} perturbations: "
            f"{', '.join(f'{v:+.2f}' for v in shift.tolist())}",
        )
    return report


def nearest_larger(experiment: HierarchyExperiment) -> tuple[torch.Tensor, torch.Tensor]:
    """Per dataset, the most similar (cosine of ``mu``) dataset with more classes, ``(N,)``
    indices; and the ``(N, N)`` bool matrix "``j`` has more classes than ``i``" (chapter 4)."""
    similarity = cosine_similarity_matrix(experiment.representations["mu"].double())
    counts = experiment.class_counts
    larger = counts[None, :] > counts[:, None]  # [i, j]: j has more classes
    return similarity.masked_fill(~larger, -2.0).argmax(1), larger


def nearest_larger_is_superset(experiment: HierarchyExperiment) -> tuple[float, float, int]:
    """For the datasets that have a superset: is the most similar larger dataset one of them?

    Returns:
        the hit rate, its chance level (the share of supersets among the larger datasets), and
        the number of datasets with a superset.
    """
    best, larger = nearest_larger(experiment)
    inside = experiment.relation.nan_to_num(0.0) == 1
    has_superset = inside.any(1)
    hits = inside[torch.arange(len(experiment)), best][has_superset].double().mean()
    chance = (inside.sum(1) / larger.sum(1).clamp_min(1))[has_superset].double().mean()
    return float(hits), float(chance), int(has_superset.sum())


def superset_check(experiments: Mapping[str, HierarchyExperiment]) -> Report:
    """:func:`nearest_larger_is_superset` for every experiment given, printed and recorded."""
    report = Report()
    for name, e in experiments.items():
        hits, chance, n = nearest_larger_is_superset(e)
        report.lines.append(
            f"{name}: the most similar larger dataset is a superset for {hits:.0%} of the {n} "
            f"datasets that have one (chance {chance:.0%})"
        )
        report.add(
            f"{name}.nearest_larger_is_superset",
            hits,
            note=f"no training: cosine of mu, among datasets with more classes; chance {chance:.3f}",
        )
    return report


@dataclass
class ParentChildMaps:
    """The 2-D boxes of figures 1 and 3 (:func:`parent_child_maps`), in the arguments of
    :func:`~taskspace.plotting.hierarchies.parent_child_boxes`."""

    drawn: dict[tuple[str, str], Boxes]
    names: dict[str, list[str]]
    groups: dict[str, list[str]]
    heads: dict[str, list[str]]


def _fit_map(experiment: HierarchyExperiment, shown: Sequence[int], steps: int) -> Boxes:
    """2-D boxes ``(len(shown), 2)`` fitted to *all* pairs among the datasets ``shown``: a map,
    not a prediction (seed 0, the hierarchy recipe, ``steps`` steps)."""
    relation = experiment.relation[shown][:, shown]
    everything = split_relations(relation, novel=0, fractions=(1.0, 0.0, 0.0), seed=0)
    config = TrainConfig(box_dim=2, steps=steps, weights=HIERARCHY_WEIGHTS, seeds=0)
    features = experiment.representations["mu"][shown]
    model, _ = train_boxes(
        features, relation.float(), everything.train, config=config, description="2-D map"
    )
    return embed(model, features)


def _shown(
    name: str, experiment: HierarchyExperiment, subtree: Taxonomy
) -> tuple[list[int], list[str]]:
    """The datasets drawn for experiment ``name``, and the group heads among them: ImageNet's
    top-level branches under ``instrumentality`` and their children; iNaturalist's four classes
    with the most orders (ties by name) and their orders."""
    e = experiment
    sizes = {g: e.groups.count(g) for g in set(e.groups)}
    if name == "imagenet":
        branches = [d for d in e.datasets if d in sizes and d != "instrumentality"]
        depth = subtree.depth[[subtree.index(node) for node in e.ids]]
        in_branch = [i for i, g in enumerate(e.groups) if g in branches]
        return [i for i in in_branch if depth[i] <= 2], branches
    branches = sorted(sizes, key=lambda g: (-sizes[g], g))[:4]  # ties by name, not set order
    return [i for i, g in enumerate(e.groups) if g in branches], branches


def parent_child_maps(
    experiments: Mapping[str, HierarchyExperiment],
    boxes: Mapping[tuple[str, int], Boxes],
    subtree: Taxonomy,
    steps: int,
) -> tuple[ParentChildMaps, Report]:
    """Figures 1 and 3 (chapter 4): for each experiment (ImageNet and iNaturalist), the 2-D
    boxes of draw 0's evaluation model (``boxes[name, 2]``, ``(R, N, 2)``) and a map fitted to
    all pairs among the drawn datasets for ``steps`` steps; the report says how far the map's
    children lie inside their parents."""
    maps, report = ParentChildMaps({}, {}, {}, {}), Report()
    for name, e in experiments.items():
        shown, branches = _shown(name, e, subtree)
        b, fitted = boxes[name, 2], _fit_map(e, shown, steps)
        maps.drawn[name, "evaluation model, draw 0"] = Boxes(b.low[0, shown], b.high[0, shown])
        maps.drawn[name, "map fitted to all their pairs"] = fitted
        maps.names[name] = [e.datasets[i] for i in shown]
        maps.groups[name] = [e.groups[i] for i in shown]
        maps.heads[name] = [d for d in branches if d in e.datasets]
        truth = e.relation[shown][:, shown] == 1
        inside = overlap_matrix(fitted)[truth]
        report.lines.append(
            f"{name}, 2-D map of {len(shown)} datasets ({steps} steps): mean d_box(child, parent) "
            f"{inside.mean():.2f} over {int(truth.sum())} true pairs; "
            f"{(inside > 0.9).double().mean():.0%} of children more than 90 % inside their parent"
        )
    return maps, report


def pair_overlaps(
    experiments: Mapping[str, HierarchyExperiment],
    boxes: Mapping[tuple[str, int], Boxes],
    splits: Mapping[str, Sequence[RelationSplit]],
) -> Report:
    """Mean ``d_box(child, parent)`` of draw 0's 2-D boxes over the true pairs among training,
    test and novel pairs, per experiment (chapter 4)."""
    report = Report()
    for name, e in experiments.items():
        overlap, split = overlap_matrix(boxes[name, 2])[0], splits[name][0]
        parts = {"training": split.train, "test": split.test, "novel": split.novel_pairs}
        text = []
        for part, mask in parts.items():
            pairs = mask & (e.relation == 1)
            text.append(f"{part} {float(overlap[pairs].mean()):.2f} ({int(pairs.sum())} pairs)")
        report.lines.append(
            f"{name}, 2-D evaluation model, draw 0: mean d_box(child, parent) over true pairs: "
            + ", ".join(text)
        )
    return report


def centre_distances(
    experiments: Mapping[str, HierarchyExperiment],
    boxes: Mapping[tuple[str, int], Boxes],
    neighbours: int,
) -> tuple[dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]], Report]:
    """Supplement figure 7 (chapter 4): :func:`neighbourhood_curves` of the 5-D box centres
    (``boxes[name, 5]``, ``(R, N, 5)``) up to ``neighbours`` taxonomy neighbours, and Spearman's
    rho between tree distance and centre distance over all pairs (mean over draws, recorded)."""
    curves, report = {}, Report()
    for name, e in experiments.items():
        b = boxes[name, 5]
        centres = (b.low + b.high) / 2  # (R, N, 5)
        m_max = min(neighbours, len(e) - 1)
        curves[name] = neighbourhood_curves(centres, e.tree_distance, m_max)
        _, near, control = curves[name]
        pairs = ~torch.eye(len(e), dtype=torch.bool)
        tree = e.tree_distance[pairs].numpy()
        rho = np.mean(
            [spearmanr(tree, torch.cdist(c, c)[pairs].numpy()).statistic for c in centres.double()]
        )
        report.lines.append(
            f"{name}: centre distance of the {m_max} nearest in the taxonomy {near[-1]:.3f} vs "
            f"random {control[-1]:.3f}; Spearman(tree distance, centre distance) over all pairs "
            f"{rho:.2f} (mean over draws)"
        )
        report.add(
            f"{name}.centre_vs_tree_spearman",
            rho,
            note="5-D box centres, all pairs, mean over draws",
        )
    return curves, report
