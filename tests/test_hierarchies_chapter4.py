"""Tests of chapter 4's batches and analyses (taskspace.hierarchies.batches and .analysis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from taskspace import results
from taskspace.boxes.evaluate import THRESHOLDS
from taskspace.data.taxonomy import Taxonomy
from taskspace.hierarchies import (
    HIERARCHY_SETTINGS,
    BookBoxes,
    HierarchyExperiment,
    HierarchySettings,
    build_experiment,
    hierarchy_splits,
    train_book_batches,
)
from taskspace.hierarchies.analysis import (
    LABELS,
    Report,
    centre_distances,
    chance_f1,
    chosen_thresholds,
    f1_records,
    implied_recall,
    nearest_larger_is_superset,
    pair_overlaps,
    paper_by_protocol,
    paper_f1,
    parent_child_maps,
    perturbation_shifts,
    protocol_checks,
    sensitivity_records,
    superset_check,
    threshold_f1_curves,
)
from taskspace.papers import task2box
from taskspace.plotting.hierarchies import batch_table

TINY = HierarchySettings(
    steps=3,
    draws=2,
    inat_within=None,
    inat3_within=None,
    dims=(2, 5),
    perturbations=1,
    neighbours=3,
    map_steps=3,
)


def _experiment(name: str) -> HierarchyExperiment:
    """root -> {a, b}, a -> {x, y}, b -> {z, w}; other -> {u, v}: 10 datasets, one-hot classes,
    so each class's most similar larger dataset is its parent."""
    edges = [("root", "a"), ("root", "b"), ("a", "x"), ("a", "y"), ("b", "z"), ("b", "w")]
    taxonomy = Taxonomy.from_edges([*edges, ("other", "u"), ("other", "v")])
    prototypes = torch.eye(len(taxonomy.leaves))
    return build_experiment(name, taxonomy, prototypes, min_classes=1, novel=2)


@pytest.fixture(scope="module")
def book(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, HierarchyExperiment], BookBoxes]:
    """Chapter 4's batches at tiny sizes on four copies of the toy hierarchy."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKSPACE_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setenv("TASKSPACE_QUIET", "1")
        experiments = {name: _experiment(name) for name in ("imagenet", "inat", "inat3", "inat2")}
        return experiments, train_book_batches(experiments, TINY)


def test_the_settings_grow_with_the_scale() -> None:
    fast, book, paper = (HIERARCHY_SETTINGS[s] for s in ("fast", "book", "paper"))
    assert fast.steps < book.steps < paper.steps and paper.dims[-1] == 16
    assert book.inat_within is None and len(book.inat3_within or ()) == 9
    assert [run.name for run in book.runs()][:4] == [
        "imagenet 2-D mu",
        "imagenet 3-D mu",
        "imagenet 5-D mu",
        "imagenet 5-D mu_sigma2",
    ]


def test_train_book_batches_scores_every_part_of_every_batch(
    book: tuple[dict[str, HierarchyExperiment], BookBoxes],
) -> None:
    experiments, trained = book
    n = len(experiments["imagenet"])
    assert [run.name for run in trained.runs] == [run.name for run in TINY.runs()]
    assert set(trained.scores) >= {("imagenet", "mu", 2), ("inat", "half", 5), ("inat2", "mu", 5)}
    assert trained.scores["inat", "mu_sigma2", 5].existing.shape == (2,)
    assert trained.boxes["inat", 2].low.shape == (2, n, 2)
    assert set(trained.overlap5) == set(trained.histories) == set(experiments)
    assert trained.overlap5["imagenet"].shape == (2, n, n)
    assert {name: len(p) for name, p in trained.perturbed.items()} == {"imagenet": 1, "inat": 1}
    assert set(trained.seconds) == set(experiments)
    table = batch_table(trained.runs, trained.seconds)
    assert len(table.rows) == len(trained.runs) + len(experiments)
    assert table.rows[1][1:] == ("6", "draws, half, perturbed 1")  # imagenet 5-D: 3 parts of 2


def test_the_paper_values_come_from_the_papers_tables() -> None:
    paper = paper_f1()
    assert paper["inat3"] == task2box.f1_by_dimension("inat")
    assert paper["imagenet"]["mu", "existing"][5] == 90.58
    by_protocol = paper_by_protocol(paper, ("held_out", "novel_into_existing"))
    assert by_protocol["inat2"] == {"held_out": 84.67, "novel_into_existing": 73.79}


def test_the_records_name_every_result_with_the_papers_value(
    book: tuple[dict[str, HierarchyExperiment], BookBoxes],
) -> None:
    experiments, trained = book
    main = f1_records(trained.scores, TINY.dims, 2, paper_f1())
    assert main.records["imagenet.f1_existing_5d"]["paper"] == 90.58
    assert main.records["inat.f1_novel_2d"]["paper"] == 50.07
    assert main.records["inat.f1_half_relations_5d"]["paper"] == 74.09
    assert "imagenet.f1_existing_3d" not in main.records  # not trained at these sizes
    scores5 = {name: trained.scores[name, "mu", 5] for name in experiments}
    value = main.records["imagenet.f1_existing_5d"]["value"]
    assert value == pytest.approx(100 * float(scores5["imagenet"].existing.mean()))
    checks = protocol_checks(
        experiments,
        {n: hierarchy_splits(e, 2) for n, e in experiments.items()},
        trained.scores,
        paper_f1(),
        2,
    )
    assert {"inat3.f1_existing_5d", "imagenet.f1_novel_5d_into_existing"} <= set(checks.records)
    assert len(checks.lines) == len(experiments)
    recall = implied_recall(scores5, LABELS, 2)
    assert len(recall.records) == 2 * len(experiments) and len(recall.lines) == 5
    shifts = perturbation_shifts(scores5, trained.perturbed)
    assert set(shifts) == {
        (n, p)
        for n in ("imagenet", "inat")
        for p in ("held_out", "novel_both", "novel_into_existing", "authors_transposed")
    }
    moved = sensitivity_records(shifts, 2).records["sensitivity.inat.f1_novel_5d"]
    assert moved["value"] == float(shifts["inat", "novel_both"].abs().max()) >= 0
    lowest = chosen_thresholds(scores5, min(THRESHOLDS), 2)
    assert lowest.lines[0].startswith("imagenet: thresholds chosen")


def test_curves_maps_and_centres_have_the_documented_shapes(
    book: tuple[dict[str, HierarchyExperiment], BookBoxes],
) -> None:
    experiments, trained = book
    splits = {name: hierarchy_splits(e, 2) for name, e in experiments.items()}
    curves = threshold_f1_curves(experiments, splits, trained.overlap5)
    assert curves["inat3"]["test"].shape == (2, len(THRESHOLDS))
    pictured = {"inat": experiments["inat"]}  # groups by root: the largest first
    maps, report = parent_child_maps(pictured, trained.boxes, Taxonomy.from_edges([("r", "c")]), 3)
    assert maps.drawn["inat", "map fitted to all their pairs"].low.shape == (10, 2)
    assert maps.heads["inat"] == ["root", "other"] and len(report.lines) == 1
    assert pair_overlaps(pictured, trained.boxes, splits).lines[0].startswith("inat, 2-D")
    near, centres = centre_distances(pictured, trained.boxes, neighbours=3)
    assert [c.shape for c in near["inat"]] == [(3,)] * 3
    assert set(centres.records) == {"inat.centre_vs_tree_spearman"}


def test_the_representation_alone_finds_the_parents() -> None:
    e = _experiment("toy")
    hits, chance, n = nearest_larger_is_superset(e)
    # leaves x..w: 2 supersets among 4 larger; u, v: 1 of 4; a, b: the root, their only larger
    assert (hits, n) == (1.0, 8) and chance == pytest.approx((4 * 0.5 + 2 * 0.25 + 2) / 8)
    report = superset_check({"toy": e})
    assert report.records["toy.nearest_larger_is_superset"]["value"] == 1.0
    everything = ~torch.eye(len(e), dtype=torch.bool)
    rate = float((e.relation[everything] == 1).double().mean())
    assert chance_f1(e, everything) == pytest.approx(200 * rate / (1 + rate))


def test_a_report_prints_its_lines_and_records_its_results(tmp_path: Path) -> None:
    report = Report(["one", "two"])
    report.add("x.value", 1.5, std=0.5, paper=2.0, note="a note")
    assert str(report) == "one\ntwo"
    results.use("test_chapter", scale="fast", results_dir=tmp_path)
    report.record()
    stored = json.loads((tmp_path / "test_chapter.json").read_text())
    assert stored == {"x.value": {"value": 1.5, "std": 0.5, "paper": 2.0, "note": "a note"}}
