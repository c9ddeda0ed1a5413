"""Tests of task discovery and task similarity (taskspace.agreement.discovery; chapter 9)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch

from taskspace.agreement import (
    DiscoveryConfig,
    NetworkSpec,
    ProxyConfig,
    discover_tasks,
    mean_pairwise_similarity,
    orthogonal_heads,
    task_similarity,
    uniformity_loss,
)
from taskspace.agreement import discovery as discovery_module
from taskspace.agreement.discovery import class_directions
from taskspace.data.images import ImageDataset

ENCODER = NetworkSpec("small_cnn", in_channels=1, image_size=8, num_classes=6, width=3)
INNER = NetworkSpec("small_cnn", in_channels=1, image_size=8, num_classes=2, width=3)
CONFIG = DiscoveryConfig(
    n_heads=4,
    meta_steps=4,
    checkpoint_every=1,
    proxy=ProxyConfig(inner_steps=3, inner_lr=0.1, batch_size=16),
)
CPU = torch.device("cpu")


def _images(n: int = 64) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _discover(tmp_path: Path, folder: str, **overrides: object):
    options = {"config": CONFIG, "use_cache": False, "device": CPU, "seed": 3}
    options.update(overrides)
    return discover_tasks(ENCODER, INNER, _images(), checkpoint_dir=tmp_path / folder, **options)


def _assert_same_run(first, second) -> None:
    for name in ("proxy", "uniformity", "head"):
        assert torch.equal(first.history[name], second.history[name]), name
    for (name, a), (_, b) in zip(
        first.encoder.state_dict().items(), second.encoder.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


class _InterruptError(Exception):
    pass


def test_a_killed_run_resumes_to_the_same_result(tmp_path: Path, data_dirs) -> None:
    whole = _discover(tmp_path, "whole")
    assert whole.history["proxy"].shape == (4,)

    def kill_after_second_step(step: int, record: dict[str, float]) -> None:
        if step == 1:
            raise _InterruptError

    with pytest.raises(_InterruptError):
        _discover(tmp_path, "killed", callback=kill_after_second_step)
    steps_run: list[int] = []
    resumed = _discover(tmp_path, "killed", callback=lambda step, _: steps_run.append(step))
    assert steps_run == [2, 3]  # it continued from the checkpoint after step 1
    _assert_same_run(whole, resumed)


def test_a_longer_run_continues_a_shorter_one(tmp_path: Path, data_dirs) -> None:
    whole = _discover(tmp_path, "whole")
    short = DiscoveryConfig(**{**CONFIG.__dict__, "meta_steps": 2})
    _discover(tmp_path, "extended", config=short)
    steps_run: list[int] = []
    extended = _discover(tmp_path, "extended", callback=lambda step, _: steps_run.append(step))
    assert steps_run == [2, 3]
    _assert_same_run(whole, extended)


def test_the_result_is_cached_by_content(data_dirs) -> None:
    calls: list[int] = []
    options = {"config": CONFIG, "device": CPU, "callback": lambda step, _: calls.append(step)}
    first = discover_tasks(ENCODER, INNER, _images(), **options)
    second = discover_tasks(ENCODER, INNER, _images(), **options)
    assert calls == [0, 1, 2, 3]  # the second call read the cache
    _assert_same_run(first, second)
    discover_tasks(ENCODER, INNER, _images(), seed=1, **options)
    assert len(calls) == 8


def test_a_diverging_run_names_the_step_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, data_dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = itertools.count()
    original = discovery_module.uniformity_loss

    def diverging(embeddings: torch.Tensor, t: float = 2.0) -> torch.Tensor:
        value = original(embeddings, t)
        return value * math.nan if next(calls) == 2 else value

    monkeypatch.setattr(discovery_module, "uniformity_loss", diverging)
    with pytest.raises(FloatingPointError, match=r"meta-step 2.*after meta-step 2"):
        _discover(tmp_path, "nan")
    saved = torch.load(tmp_path / "nan" / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 2
    assert all(torch.isfinite(v).all() for v in saved["encoder"].values() if v.is_floating_point())


def test_discovered_tasks_label_by_the_sign_of_the_score(tmp_path: Path, data_dirs) -> None:
    tasks = _discover(tmp_path, "labels")
    images = _images()
    scores, labels = tasks.scores(images), tasks.labels(images)
    assert scores.shape == labels.shape == (4, 64)
    assert torch.equal(labels, (scores > 0).long())
    assert tasks.embed(images).shape == (64, 4)
    new_task = torch.nn.functional.normalize(torch.ones(1, 4), dim=1)
    assert tasks.labels(images, new_task).shape == (1, 64)
    # the final BatchNorm's statistics are the pool's: every direction splits it
    fraction = tasks.labels(images).double().mean(1)
    assert ((fraction > 0.1) & (fraction < 0.9)).all()
    with pytest.raises(ValueError, match=r"heads must be \(T, 4\)"):
        tasks.labels(images, torch.ones(2, 3))
    with pytest.raises(ValueError, match="images must be"):
        tasks.embed(images[:, :, :4])


def test_multi_class_discovery_gives_k_way_labels(tmp_path: Path, data_dirs) -> None:
    config = DiscoveryConfig(**{**CONFIG.__dict__, "n_classes": 3, "meta_steps": 1})
    inner = NetworkSpec("small_cnn", in_channels=1, image_size=8, num_classes=3, width=3)
    tasks = discover_tasks(
        ENCODER,
        inner,
        _images(),
        config=config,
        use_cache=False,
        device=CPU,
        checkpoint_dir=tmp_path / "multi",
    )
    labels = tasks.labels(_images())
    assert labels.shape == (4, 64)
    assert labels.min() >= 0 and labels.max() <= 2


def test_heads_are_orthonormal_and_reproducible() -> None:
    heads = orthogonal_heads(5, 8, seed=0)
    assert heads.shape == (5, 8)
    assert torch.allclose(heads @ heads.T, torch.eye(5), atol=1e-6)
    assert torch.equal(heads, orthogonal_heads(5, 8, seed=0))
    assert not torch.equal(heads, orthogonal_heads(5, 8, seed=1))
    with pytest.raises(ValueError, match="orthonormal heads"):
        orthogonal_heads(9, 8, seed=0)
    with pytest.raises(ValueError, match="n_heads must be at most embedding_dim"):
        DiscoveryConfig(n_heads=8, embedding_dim=4)


def test_class_directions_binary_and_at_equal_angles() -> None:
    heads = orthogonal_heads(3, 3, seed=0).double()
    binary = class_directions(heads, 2)
    assert torch.equal(binary[:, 1], heads) and torch.equal(binary[:, 0], -heads)
    five = class_directions(heads, 5)  # (3, 5, 3)
    cosines = torch.einsum("tcd,ted->tce", five, five)
    step = torch.cos(torch.tensor(2 * math.pi / 5, dtype=torch.float64))
    assert torch.allclose(cosines.diagonal(dim1=1, dim2=2), torch.ones(3, 5, dtype=torch.float64))
    assert torch.allclose(cosines[:, torch.arange(5), (torch.arange(5) + 1) % 5], step.expand(3, 5))


def test_uniformity_matches_a_loop_over_pairs() -> None:
    embeddings = torch.randn(7, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    z = embeddings / embeddings.norm(dim=1, keepdim=True)
    pairs = [
        math.exp(-2 * ((z[i] - z[j]) ** 2).sum().item()) for i in range(7) for j in range(i + 1, 7)
    ]
    expected = math.log(sum(pairs) / len(pairs))
    assert uniformity_loss(embeddings, 2.0).item() == pytest.approx(expected, rel=1e-12)


def _random_tasks(n_tasks: int, n_images: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 2, (n_tasks, n_images), generator=torch.Generator().manual_seed(seed))


def test_similarity_matches_the_definition() -> None:
    labels = _random_tasks(5, 40, 0)
    similarity = task_similarity(labels)
    for a in range(5):
        for b in range(5):
            agree = (labels[a] == labels[b]).double().mean().item()
            assert similarity[a, b].item() == pytest.approx(max(agree, 1 - agree), abs=1e-12)


def test_similarity_is_symmetric_flip_invariant_and_one_for_identical_tasks() -> None:
    labels = _random_tasks(6, 50, 1)
    similarity = task_similarity(labels)
    assert torch.equal(similarity, similarity.T)
    assert torch.allclose(similarity.diagonal(), torch.ones(6, dtype=torch.float64))
    flipped = labels.clone()
    flipped[2] = 1 - flipped[2]
    assert torch.allclose(task_similarity(flipped), similarity)
    assert (similarity >= 0.5).all()
    same = torch.stack([labels[0], labels[0], 1 - labels[0]])
    assert mean_pairwise_similarity(same) == pytest.approx(1.0)


def test_similarity_errors() -> None:
    with pytest.raises(ValueError, match="at least two tasks"):
        mean_pairwise_similarity(_random_tasks(1, 10, 0))
    with pytest.raises(ValueError, match="binary"):
        task_similarity(torch.tensor([[0, 2]]))
    with pytest.raises(ValueError, match="int64"):
        task_similarity(torch.zeros(2, 3))


def test_discovery_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"images must be \(N, 1, 8, 8\)"):
        discover_tasks(ENCODER, INNER, torch.rand(64, 3, 8, 8), config=CONFIG, use_cache=False)
    with pytest.raises(ValueError, match="n_classes=2 outputs"):
        discover_tasks(ENCODER, ENCODER, _images(), config=CONFIG, use_cache=False)
    with pytest.raises(ValueError, match="fewer than one batch"):
        discover_tasks(ENCODER, INNER, _images(8), config=CONFIG, use_cache=False)
    with pytest.raises(ValueError, match="inner_steps"):
        DiscoveryConfig(proxy=ProxyConfig(inner_steps=0))


def test_discovery_settings_build_the_pool_encoder_and_config() -> None:
    settings = discovery_module.DiscoverySettings(
        pool_per_class=3,
        n_heads=4,
        uniformity_weight=2.0,
        meta_steps=7,
        inner_steps=5,
        inner_batch=16,
        inner_lr=0.2,
    )
    assert settings.config() == DiscoveryConfig(
        n_heads=4,
        uniformity_weight=2.0,
        meta_steps=7,
        proxy=ProxyConfig(inner_steps=5, batch_size=16, inner_lr=0.2),
    )
    changed = settings.config(uniformity_weight=0.0, meta_steps=0)
    assert (changed.uniformity_weight, changed.meta_steps, changed.n_heads) == (0.0, 0, 4)
    assert settings.encoder_spec(INNER) == NetworkSpec(
        "small_cnn", in_channels=1, image_size=8, num_classes=4, width=3
    )
    source = ImageDataset(_images(60), torch.arange(60) % 3, ("a", "b", "c"))
    pool = settings.pool(source)
    assert torch.equal(torch.bincount(pool.labels), torch.tensor([3, 3, 3]))
    assert torch.equal(pool.images, settings.pool(source).images)  # the same images every time
    assert set(discovery_module.DISCOVERY_SETTINGS) == {"fast", "book", "paper"}
    paper = discovery_module.DISCOVERY_SETTINGS["paper"]  # appendix I.2, ResNet-18
    assert (paper.n_heads, paper.uniformity_weight, paper.inner_steps) == (32, 0.66, 50)
    # the paper's early stop (agreement > 0.6 for 3 steps) and Algorithm 1's fresh inner pair
    assert (paper.proxy.early_stop, paper.proxy.early_stop_patience) == (0.6, 3)
    assert not paper.config().fixed_inner_init
    for scale in ("fast", "book"):  # shortened inner loops run all their steps
        assert discovery_module.DISCOVERY_SETTINGS[scale].proxy.early_stop is None
