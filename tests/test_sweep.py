"""Tests of taskspace.sweep: the split of jobs, 1 vs 2 gloo processes, a killed rank and a rerun,
and that the chapters' own calls find the sweep's results in the cache."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

import taskspace.agreement.discovery as discovery_module
import taskspace.agreement.measure as measure_module
import taskspace.hierarchies.training as hierarchies_training
from taskspace.agreement import (
    DiscoveryConfig,
    NetworkSpec,
    ProxyConfig,
    TrainConfig,
    discover_tasks,
)
from taskspace.agreement.discovery import DISCOVERY_SETTINGS, DiscoverySettings
from taskspace.agreement.experiments import measure_kinds
from taskspace.agreement.recipes import (
    AGREEMENT_SETTINGS,
    human_tasks,
    random_tasks,
    sample_test,
    sample_train,
)
from taskspace.cache import cache_key
from taskspace.device import default_device
from taskspace.hierarchies import (
    BOOK_EXPERIMENTS,
    HIERARCHY_SETTINGS,
    BoxRun,
    HierarchyExperiment,
    HierarchySettings,
    inclusion_relation,
    train_book_batches,
)
from taskspace.sweep import (
    Job,
    agreement_jobs,
    assigned_jobs,
    boxes_jobs,
    dataset_pools,
    discovery_jobs,
    run_sweep,
)
from taskspace.sweep.__main__ import _discovery, _parser, main

# A tiny agreement sweep: 2 human + 2 random tasks, an MLP on 100 of scikit-learn's digits.
TINY = ["agreement", "--dataset", "digits", "--architecture", "mlp", "--n-train", "100"]
TINY += ["--n-test", "100", "--human", "2", "--random", "2", "--batch-size", "32"]
TINY += ["--max-epochs", "3"]
N_JOBS = 4


@pytest.fixture
def one_thread():
    """Run with one torch thread (as the sweep sets it) and restore the count afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _isolated_cache(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    monkeypatch.setenv("TASKSPACE_CACHE", str(folder))
    monkeypatch.setenv("TASKSPACE_QUIET", "1")
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stored_results(cache: Path) -> dict[Path, int]:
    """The agreement cache's entries and their modification times."""
    return {p: p.stat().st_mtime_ns for p in (cache / "agreement").glob("*.pt")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The tiny sweep in this process (no torchrun): its summary and its cache folder."""
    folder = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as patch:
        cache = _isolated_cache(patch, folder / "cache")
        threads = torch.get_num_threads()
        try:
            main([*TINY, "--summary", str(folder / "summary.json")])
        finally:
            torch.set_num_threads(threads)
    return json.loads((folder / "summary.json").read_text()), cache


def test_jobs_are_split_deterministically_and_completely() -> None:
    jobs = [Job(f"job {i}", dict) for i in range(7)]
    parts = [assigned_jobs(jobs, rank, 3) for rank in range(3)]
    assert [[j.name for j in part] for part in parts] == [
        ["job 0", "job 3", "job 6"],
        ["job 1", "job 4"],
        ["job 2", "job 5"],
    ]
    assert assigned_jobs(jobs, 0, 1) == jobs
    with pytest.raises(ValueError, match="rank"):
        assigned_jobs(jobs, 3, 3)


def test_bad_sizes_and_representations_are_refused() -> None:
    train_pool, test_pool = dataset_pools("digits")
    spec, config = NetworkSpec("mlp", 1, 8), TrainConfig()
    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match="at least 10 images"):
        agreement_jobs(train_pool, test_pool, [spec], [5], 100, 1, 1, config, cpu)
    with pytest.raises(ValueError, match="at least one task"):
        agreement_jobs(train_pool, test_pool, [spec], [100], 100, 0, 0, config, cpu)
    with pytest.raises(ValueError, match="no representation 'sigma'"):
        boxes_jobs({"tiny": _tiny_hierarchy()}, [BoxRun("tiny", 2, "sigma", 2)], 5, cpu)
    with pytest.raises(ValueError, match=r"no experiment named \['inat'\]"):
        boxes_jobs({"tiny": _tiny_hierarchy()}, [BoxRun("inat", 2, "mu", 2)], 5, cpu)


def test_repeated_job_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unique.*'a'"):
        run_sweep([Job("a", dict), Job("a", dict)], tmp_path / "s.json", {})


def test_one_process_summary(reference: tuple[dict, Path]) -> None:
    summary, cache = reference
    assert summary["settings"]["dataset"] == "digits"
    assert len(summary["jobs"]) == N_JOBS == len(_stored_results(cache))
    for name, row in summary["jobs"].items():
        assert 0 <= row["as"] <= 1 and 0 <= row["test_accuracy"] <= 1, name
        assert row["epochs_max"] <= 3


def test_two_gloo_processes_under_torchrun_give_the_same_summary(
    reference: tuple[dict, Path], tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TASKSPACE_CACHE": str(tmp_path / "cache"),  # nothing to reuse: both ranks compute
        "TASKSPACE_QUIET": "1",
        "GLOO_SOCKET_IFNAME": "lo",
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    command += ["--master_addr=127.0.0.1", f"--master_port={_free_port()}"]
    command += ["-m", "taskspace.sweep", *TINY, "--summary", str(tmp_path / "summary.json")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((tmp_path / "summary.json").read_text()) == reference[0]
    assert len(_stored_results(tmp_path / "cache")) == N_JOBS


def _kill_self(job: Job) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _rank(rank: int, world_size: int, port: int, argv: list[str], kill_rank: int | None) -> None:
    """One process of a sweep started the way torchrun starts it (its environment variables)."""
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        GLOO_SOCKET_IFNAME="lo",
    )
    main(argv, after_job=_kill_self if rank == kill_rank else None)


def test_a_killed_rank_then_a_rerun_finishes_with_the_same_summary(
    reference: tuple[dict, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: None
) -> None:
    cache = _isolated_cache(monkeypatch, tmp_path / "cache")
    summary = tmp_path / "summary.json"
    argv = [*TINY, "--summary", str(summary)]
    with pytest.raises(mp.ProcessExitedException, match="signal SIGKILL"):
        mp.spawn(_rank, args=(2, _free_port(), argv, 1), nprocs=2)
    finished = _stored_results(cache)
    assert not summary.exists()
    assert 1 <= len(finished) < N_JOBS  # rank 1 died after its first job, before its second

    main(argv)  # the rerun, in this process: the cache, not the partition, carries the work
    assert json.loads(summary.read_text()) == reference[0]
    after = _stored_results(cache)
    assert len(after) == N_JOBS
    assert all(after[path] == mtime for path, mtime in finished.items())  # not recomputed


RECOMPUTED = "recomputed: the cache key differs from the sweep's"


def test_chapter_8_reads_every_agreement_job_from_the_cache(
    reference: tuple[dict, Path], monkeypatch: pytest.MonkeyPatch, read_only_cache: Callable
) -> None:
    _isolated_cache(monkeypatch, reference[1])
    read_only_cache(measure_module, RECOMPUTED)
    train_pool, test_pool = dataset_pools("digits")
    measured = measure_kinds(  # chapter 8's call, with the tiny sweep's settings
        NetworkSpec("mlp", in_channels=1, image_size=8),
        {"human": human_tasks(2), "random": random_tasks(2)},
        sample_train(train_pool, 100),
        sample_test(test_pool, 100),
        config=TrainConfig(batch_size=32, max_epochs=3),
        device=default_device(),
    )
    rows = reference[0]["jobs"]
    assert len(rows) == N_JOBS
    for kind, scores in measured.items():
        for task, score in zip(scores.tasks, scores.agreement, strict=True):
            assert score == rows[f"mlp N=100 {kind} {task}"]["as"]


def _dummy_run(parts: dict[str, object], keys: list[str]) -> dict[str, torch.Tensor]:
    """A stored run (2 networks predicting 0 everywhere) that records its cache key."""
    keys.append(cache_key(parts))
    n_test = parts["test_sets"]["test"].shape[0]  # type: ignore[index]
    return {
        "predictions/test": torch.zeros(2, n_test, dtype=torch.int64),
        "train_accuracy": torch.ones(2),
        "epochs": torch.ones(2, dtype=torch.int64),
    }


def test_every_agreement_job_has_the_cache_key_of_chapter_8s_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys: dict[str, list[str]] = {"sweep": [], "chapter": []}
    train_pool, test_pool = dataset_pools("digits")
    specs = [NetworkSpec("mlp", 1, 8), NetworkSpec("small_cnn", 1, 8, width=4)]
    config, device = TrainConfig(batch_size=32, max_epochs=3), torch.device("cpu")
    sizes, n_test, n_human, n_random = (50, 100), 60, 3, 2

    def sweep_key(parts: dict[str, object], compute: object, folder: str) -> dict:
        return _dummy_run(parts, keys["sweep"])

    monkeypatch.setattr(measure_module, "cached", sweep_key)
    jobs = agreement_jobs(
        train_pool, test_pool, specs, sizes, n_test, n_human, n_random, config, device
    )
    for job in jobs:
        job.run()

    def chapter_key(parts: dict[str, object], compute: object, folder: str) -> dict:
        return _dummy_run(parts, keys["chapter"])

    monkeypatch.setattr(measure_module, "cached", chapter_key)
    tasks = {"human": human_tasks(n_human), "random": random_tasks(n_random)}
    for spec in specs:  # chapter 8's architecture comparison and size sweep, written the same way
        for n_images in sizes:
            train = sample_train(train_pool, n_images)
            measure_kinds(
                spec, tasks, train, sample_test(test_pool, n_test), config=config, device=device
            )
    assert len(jobs) == len(specs) * len(sizes) * (n_human + n_random)
    assert keys["sweep"] == keys["chapter"]
    assert len(set(keys["sweep"])) == len(jobs)  # one entry per job, none shared by accident


def test_the_agreement_commands_defaults_are_chapter_8s_scale_paper() -> None:
    args = _parser().parse_args(["agreement"])
    paper_scale = AGREEMENT_SETTINGS["paper"]
    assert args.dataset == paper_scale.dataset == "fashion-mnist"
    assert args.architecture == [paper_scale.architecture] and args.width == paper_scale.width
    assert args.n_train == [paper_scale.n_train] and args.n_test == paper_scale.n_test
    assert (args.human, args.random) == (paper_scale.n_human, paper_scale.n_random)
    config = TrainConfig(batch_size=args.batch_size, max_epochs=args.max_epochs)
    assert config == paper_scale.config


def test_discovery_jobs_store_what_chapter_9_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: None, read_only_cache: Callable
) -> None:
    _isolated_cache(monkeypatch, tmp_path / "cache")
    train_pool, _ = dataset_pools("digits")
    spec = NetworkSpec("mlp", 1, 8)
    settings = DiscoverySettings(
        pool_per_class=2,
        n_heads=2,
        uniformity_weight=1.0,
        meta_steps=3,
        inner_steps=2,
        inner_batch=8,
        inner_lr=0.1,
    )
    device = torch.device("cpu")
    jobs = discovery_jobs(train_pool, spec, settings, [0.0, 5.0], [0], device)
    assert [job.name for job in jobs] == ["discovery lambda=0 seed=0", "discovery lambda=5 seed=0"]
    rows = [job.run() for job in jobs]
    assert all(row["meta_steps"] == 3 for row in rows)
    assert all(torch.isfinite(torch.tensor(list(row.values()))).all() for row in rows)

    read_only_cache(discovery_module, RECOMPUTED)
    found = settings.discover(train_pool, spec, uniformity_weight=5.0, device=device)
    proxy_history = found.history["proxy"]  # 3 steps: a "fifth" is one step
    assert proxy_history[0].item() == rows[1]["proxy_first_fifth"]
    assert proxy_history[-1].item() == rows[1]["proxy_last_fifth"]


class _KeyTakenError(Exception):
    """Stops a discovery once its cache key is known."""


def test_the_sweep_and_the_chapters_settings_give_one_cache_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys: list[str] = []

    def record_key(parts: dict[str, object], compute: object, folder: str) -> None:
        keys.append(cache_key(parts))
        raise _KeyTakenError

    monkeypatch.setattr(discovery_module, "cached", record_key)
    train_pool, _ = dataset_pools("digits")
    spec = NetworkSpec("mlp", 1, 8)
    device = torch.device("cpu")
    settings = DISCOVERY_SETTINGS["fast"]
    runs = [  # the sweep's job at the chapter's lambda and at another; the chapters' call
        *(job.run for job in discovery_jobs(train_pool, spec, settings, [1.0, 5.0], [0], device)),
        lambda: settings.discover(train_pool, spec, device=device),
        lambda: settings.discover(train_pool, spec, uniformity_weight=5.0, device=device),
        lambda: discover_tasks(  # the settings written out, as chapter 9 used to
            NetworkSpec("mlp", 1, 8, num_classes=4),
            spec,
            train_pool.sample(per_class=20, seed=2).images,
            config=DiscoveryConfig(
                n_heads=4,
                uniformity_weight=1.0,
                meta_steps=4,
                proxy=ProxyConfig(inner_steps=3, batch_size=32, inner_lr=0.1),
            ),
            seed=0,
            device=device,
        ),
    ]
    for run in runs:
        with pytest.raises(_KeyTakenError):
            run()
    sweep_key, other_lambda_key, chapter_key, chapter_other_lambda_key, written_out_key = keys
    assert sweep_key == chapter_key == written_out_key
    assert other_lambda_key == chapter_other_lambda_key != chapter_key


def test_the_discovery_commands_defaults_are_chapter_9s_scale_paper() -> None:
    assert _parser().parse_args(["discovery"]).dataset == AGREEMENT_SETTINGS["paper"].dataset
    args = _parser().parse_args(["discovery", "--dataset", "digits"])
    (job,) = _discovery(args, torch.device("cpu"))
    settings, _, spec, uniformity_weight, seed, *_ = job.run.args  # type: ignore[attr-defined]
    assert settings == DISCOVERY_SETTINGS["paper"]
    assert uniformity_weight == DISCOVERY_SETTINGS["paper"].uniformity_weight and seed == 0
    assert spec == NetworkSpec("resnet18", 1, 8)


def _tiny_hierarchy() -> HierarchyExperiment:
    """Ten nested and overlapping sets of eight classes, random 6-D features."""
    sets = [(0,), (1,), (2, 3), (0, 1), (0, 1, 2), (4, 5), (4, 5, 6), (6, 7), (2, 3, 4), (7,)]
    membership = torch.zeros(len(sets), 8, dtype=torch.bool)
    for i, members in enumerate(sets):
        membership[i, list(members)] = True
    features = torch.randn(len(sets), 6, generator=torch.Generator().manual_seed(0))
    names = [str(s) for s in sets]
    return HierarchyExperiment(
        name="tiny",
        datasets=names,
        ids=names,
        relation=inclusion_relation(membership),
        representations={"mu": features},
        variance=features.abs(),
        tree_distance=torch.zeros(len(sets), len(sets), dtype=torch.long),
        groups=names,
        class_counts=membership.sum(1),
        novel=2,
    )


def test_boxes_jobs_train_each_batch_once_and_the_chapter_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: None, read_only_cache: Callable
) -> None:
    _isolated_cache(monkeypatch, tmp_path / "cache")
    tiny = _tiny_hierarchy()
    runs = [
        BoxRun("tiny", 2, "mu", 2),
        BoxRun("tiny", 5, "mu", 2, sensitivity=True, perturbations=1),
    ]
    jobs = boxes_jobs({"tiny": tiny}, runs, 5, torch.device("cpu"))
    assert [job.name for job in jobs] == ["tiny 2-D mu", "tiny 5-D mu"]
    rows = [job.run() for job in jobs]
    assert [row["networks"] for row in rows] == [2, 6]  # draws; draws + half + perturbed
    assert all(row["draws"] == 2 and 0 <= row["f1_existing_mean"] <= 1 for row in rows)
    read_only_cache(hierarchies_training, RECOMPUTED)
    assert [job.run() for job in jobs] == rows  # from the cache
    # the chapter's call of the same batch (chapter 4's BoxRun.train) reads the sweep's entry
    overlap, boxes, history = runs[1].train(tiny, 5)
    assert overlap.shape == (6, 10, 10) and boxes.low.shape == (6, 10, 5)
    assert len(history.losses["total"]) == 5


class _TinyHierarchies(HierarchySettings):
    """Chapter 4's settings with every experiment replaced by a shifted tiny hierarchy."""

    def experiments(
        self, names: Sequence[str] = BOOK_EXPERIMENTS
    ) -> dict[str, HierarchyExperiment]:
        tiny, experiments = _tiny_hierarchy(), {}
        for i, name in enumerate(names):  # different inputs: different batches
            mu = tiny.representations["mu"] + i
            both = {"mu": mu, "mu_sigma2": torch.cat([mu, tiny.variance], dim=1)}
            experiments[name] = replace(tiny, name=name, representations=both)
        return experiments


def test_every_boxes_job_is_a_batch_of_chapter_4_at_scale_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: None, read_only_cache: Callable
) -> None:
    """The boxes command's defaults are chapter 4's scale paper: every batch the chapter's
    own call trains there is read from the entries the sweep wrote, and none is left over."""
    cache = _isolated_cache(monkeypatch, tmp_path / "cache")
    paper = HIERARCHY_SETTINGS["paper"]
    tiny = _TinyHierarchies(**{**asdict(paper), "steps": 3})  # every size but the steps
    monkeypatch.setitem(HIERARCHY_SETTINGS, "paper", tiny)
    main(["boxes", "--summary", str(tmp_path / "summary.json")])
    jobs = json.loads((tmp_path / "summary.json").read_text())["jobs"]
    written = sorted((cache / "boxes").glob("*.pt"))
    assert len(written) == len(jobs) == len(paper.runs()) > 10
    read_only_cache(hierarchies_training, RECOMPUTED)
    trained = train_book_batches(tiny.experiments(), tiny, default_device())
    assert [run.name for run in trained.runs] == list(jobs)
    assert sorted((cache / "boxes").glob("*.pt")) == written
    assert set(trained.perturbed) == {"imagenet", "inat"}
