"""The map's evaluation, figures, placement warnings and command line on a small synthetic map.

No data file and no network: the pool's images are noisy copies of one random 8x8 pattern per
class, and a stand-in encoder turns an image into its unit-norm 8x8 thumbnail. Images near the
patterns are near the map; random colour noise is far from all of it.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from taskspace.atlas import __main__ as cli
from taskspace.atlas.build import Atlas, build_atlas
from taskspace.atlas.catalogue import Pool, held_out_datasets
from taskspace.atlas.evaluate import (
    DIRECTIONS,
    EVALUATION_SETTINGS,
    EvaluationSettings,
    area_size_spearman,
    check_kernel,
    held_out_draws,
    map_fit,
    nearest_neighbour_relations,
    place_held_out,
    relation_directions,
    size_loss_effect,
)
from taskspace.atlas.overlap import nearest_neighbour_distance
from taskspace.atlas.placement import FAR_PERCENTILE, map_spacing, place
from taskspace.boxes.evaluate import split_relations
from taskspace.boxes.geometry import Boxes, log_volume, overlap_matrix
from taskspace.boxes.losses import LossWeights
from taskspace.data.folder import write_image_folder
from taskspace.data.images import DIGIT_CLASSES, FASHION_MNIST_CLASSES, ImageDataset
from taskspace.plotting.atlas import (
    area_size_figure,
    area_table,
    catalogue_table,
    held_out_table,
    kernel_table,
    nearest_distance_histograms,
    overlap_heatmap,
    placements_table,
    training_curves,
)

PER_CLASS = 10
SIDE = 8


class ThumbnailEncoder:
    """Stand-in for chapter 2's encoder: an image's grey 8x8 thumbnail, centred, unit norm."""

    image_identity = "thumbnail-8x8"

    def __init__(self, image_size: int = 32, **_: object) -> None:
        self.image_size = image_size

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        grey = images.float().mean(1, keepdim=True)
        thumbnail = F.adaptive_avg_pool2d(grey, SIDE).flatten(1) - 0.5
        return F.normalize(thumbnail, dim=1)


def patterns(classes: int, seed: int) -> torch.Tensor:
    """``(classes, 1, 8, 8)`` one random black-and-white pattern per class."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(classes, 1, SIDE, SIDE, generator=generator) > 0.5).float()


def noisy_copies(
    templates: torch.Tensor, per_class: int, size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` noisy copies of each pattern at ``size`` px ``(n, 1, size, size)``, and
    their labels ``(n,)``, class by class."""
    generator = torch.Generator().manual_seed(seed)
    images = templates.repeat_interleave(per_class, 0)
    images = F.interpolate(images, size=size, mode="nearest")
    images = (images + 0.05 * torch.randn(images.shape, generator=generator)).clamp(0, 1)
    labels = torch.arange(len(templates)).repeat_interleave(per_class)
    return images, labels


def synthetic_pool() -> Pool:
    sources = []
    for seed, (classes, size) in enumerate(
        ((FASHION_MNIST_CLASSES, 28), (DIGIT_CLASSES, 28), (DIGIT_CLASSES, 8))
    ):
        images, labels = noisy_copies(patterns(len(classes), seed), PER_CLASS, size, seed)
        sources.append(ImageDataset(images, labels, classes))
    offsets = torch.tensor([0, *(len(s) for s in sources)]).cumsum(0).tolist()
    return Pool(tuple(sources), tuple(offsets))


@pytest.fixture(scope="module")
def pool() -> Pool:
    return synthetic_pool()


@pytest.fixture(scope="module")
def atlas(pool: Pool) -> Atlas:
    """The map built by :func:`~taskspace.atlas.build.build_atlas` from the synthetic pool and
    the thumbnail encoder (scale ``fast``'s settings, labelled ``book``: no warning of the
    small map unless a test asks for it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("taskspace.atlas.build.load_pool", lambda per_class: pool)
        built = build_atlas("fast", encoder=ThumbnailEncoder())
    return dataclasses.replace(built, scale="book")


# --- chapter 7's evaluation ---------------------------------------------------------------


def test_settings_exist_for_every_scale_of_the_map() -> None:
    from taskspace.atlas.build import SCALES

    assert set(EVALUATION_SETTINGS) == set(SCALES)
    for settings in EVALUATION_SETTINGS.values():
        assert settings.draws >= 2 and settings.novel >= 1 and settings.kernel_check >= 2


def test_kernel_check_finds_the_map_exact(atlas: Atlas) -> None:
    check = check_kernel(atlas, 5)
    smallest = sorted(atlas.counts.tolist())[:5]
    assert len(check.datasets) == 5 and check.images == sum(smallest)
    assert check.overlap_error < 1e-6 and check.threshold_error < 1e-5 and check.identical
    assert check.distances == int(atlas.counts.sum()) * len(atlas.pool)
    table = str(kernel_table(check, len(atlas.names)))
    assert "5 smallest datasets (25 pairs" in table and "identical to the map's: True" in table
    with pytest.raises(ValueError, match="count"):
        check_kernel(atlas, 0)


def test_kernel_check_sees_a_wrong_map(atlas: Atlas) -> None:
    i, j = torch.argsort(atlas.counts, stable=True)[:2].tolist()
    wrong = atlas.overlap.clone()
    wrong[i, j] += 0.5
    check = check_kernel(dataclasses.replace(atlas, overlap=wrong), 2)
    assert check.overlap_error == pytest.approx(0.5) and not check.identical


def test_map_fit_is_perfect_for_boxes_that_are_the_target(atlas: Atlas) -> None:
    boxes = atlas.boxes
    rho, error = map_fit(boxes, atlas.overlap)
    assert -1 <= rho <= 1 and error >= 0
    own = overlap_matrix(boxes)
    rho_self, error_self = map_fit(boxes, own)
    assert rho_self == pytest.approx(1.0) and error_self == 0
    with pytest.raises(ValueError):
        map_fit(boxes, atlas.overlap[:3, :3])


def test_area_size_spearman_per_network() -> None:
    counts = torch.tensor([10, 20, 40, 80])
    low = torch.zeros(2, 4, 2)
    side = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    boxes = Boxes(low, low + side[..., None])
    rhos = area_size_spearman(boxes, counts)
    assert rhos.shape == (2,) and rhos.tolist() == pytest.approx([1.0, -1.0])
    assert float(area_size_spearman(Boxes(low[0], low[0] + side[0, :, None]), counts)) == 1.0
    with pytest.raises(ValueError):
        area_size_spearman(boxes, counts[:3])


def test_nearest_neighbour_relations_copy_the_nearest_existing_dataset() -> None:
    features = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.9, 0.1]])
    target = torch.arange(16, dtype=torch.float32).reshape(4, 4)
    split = split_relations(target, novel=[3], fractions=(1.0, 0.0, 0.0))
    guess = nearest_neighbour_relations(features, target, split)
    existing = [0, 1, 2]
    assert torch.equal(guess[3, existing], target[1, existing])  # dataset 1 is nearest
    assert torch.equal(guess[existing, 3], target[existing, 1])
    assert torch.equal(guess[:3, :3], target[:3, :3]) and guess[3, 3] == target[3, 3]
    masks = relation_directions(split)
    assert tuple(masks) == DIRECTIONS
    assert masks["new inside D"][3, existing].all() and not masks["new inside D"][existing, 3].any()
    assert torch.equal(masks["both"], masks["new inside D"] | masks["D inside new"])


def test_held_out_draws_train_every_variant_side_by_side(atlas: Atlas) -> None:
    settings = EvaluationSettings(draws=2, novel=4, steps=5, kernel_check=2)
    weights = {"with": atlas.config.weights, "without": LossWeights(size=0.0)}
    draws = held_out_draws(atlas, settings, weights)
    m = len(atlas.names)
    assert draws.variants == ("with", "without") and len(draws.splits) == 2
    assert draws.boxes.low.shape == (4, m, 2)
    assert draws.networks("without") == slice(2, 4)
    assert set(draws.scores) == {"with", "without", "nearest neighbour"}
    for per_direction in draws.scores.values():
        assert tuple(per_direction) == DIRECTIONS
        assert all(v.shape == (2,) for v in per_direction.values())
    assert [len(s.novel) for s in draws.splits] == [4, 4]
    assert not torch.equal(draws.splits[0].novel, draws.splits[1].novel)
    table = held_out_table(draws)
    assert table.columns == ("method", *DIRECTIONS) and len(table.rows) == 3
    figure = training_curves(draws)
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["with", "without"]
    effect = size_loss_effect(draws, "with", atlas)
    assert np.array_equal(effect.heldout, draws.scores["with"]["both"])
    assert all(v.shape == (2,) for v in vars(effect).values())
    boxes = draws.boxes[draws.networks("with")]
    areas = log_volume(boxes).exp()
    i, j = atlas.names.index("Fashion 10%"), atlas.names.index("Fashion")
    assert np.allclose(effect.sample_ratio, (areas[:, i] / areas[:, j]).detach().numpy())
    assert np.allclose(effect.area_error, (areas - atlas.sizes).abs().mean(1).detach().numpy())
    assert (effect.area_error >= 0).all() and (np.abs(effect.area_size) <= 1).all()


def test_held_out_classes_are_placed_and_scored(atlas: Atlas, pool: Pool) -> None:
    held_out = held_out_datasets(pool)
    placements = place_held_out(atlas, held_out)
    assert [p.name for p in placements] == [d.name for d in held_out]
    for p in placements:
        # each digits class lies in: digits, (even or odd), maybe round/straight, two mixtures
        assert 4 <= p.supersets <= 6 and 0 <= p.found <= min(p.supersets, 5)
        assert p.recall == p.found / p.supersets and -1 <= p.rho <= 1
    table = placements_table(placements)
    assert len(table.rows) == len(held_out) and "supersets in top 5" in table.columns


def test_chapter_tables_and_figures(atlas: Atlas) -> None:
    table = catalogue_table(atlas)
    assert len(table.rows) == len(atlas.names) == 50
    assert table.columns == ("#", "dataset", "group", "images", "recipe")
    assert [row[0] for row in table.rows[:2]] == ["1", "2"]
    areas = area_table(atlas, ["Fashion 10%", "Fashion"])
    assert [row[0] for row in areas.rows] == ["Fashion 10%", "Fashion"]
    assert areas.rows[1][1] == str(int(atlas.counts[atlas.names.index("Fashion")]))
    figure = area_size_figure(atlas.boxes, atlas.counts, atlas.groups)
    assert figure.axes[0].get_title().startswith("area vs size: Spearman")
    histograms = nearest_distance_histograms(atlas, "MNIST: 3", ["MNIST: 8", "Fashion"])
    assert len(histograms.axes) == 2 and "so = " in histograms.axes[0].get_title()
    three = nearest_distance_histograms(atlas, "MNIST: 3", ["MNIST: 8", "Fashion", "MNIST"])
    assert len(three.axes) == 3  # a 2 x 2 grid, the empty panel removed
    heatmap = overlap_heatmap(atlas)
    names = [t.get_text() for t in heatmap.axes[0].texts]
    assert names[0] == "pools 1–3" and names[-1].startswith("mixtures")
    assert heatmap.axes[0].get_images()[0].get_array().shape == (50, 50)
    with pytest.raises(ValueError, match="not on the map"):
        nearest_distance_histograms(atlas, "MNIST: 3", ["nowhere"])


# --- placing a folder: how far is far, and the small map ------------------------------------


def test_map_spacing_leaves_each_image_out(atlas: Atlas) -> None:
    spacing = map_spacing(atlas)
    brute = torch.cdist(atlas.pool.double(), atlas.pool.double())
    brute.fill_diagonal_(torch.inf)
    assert torch.allclose(spacing.double(), brute.amin(1), atol=1e-4)  # float32 expansion
    assert (spacing > 0).all()


def test_images_near_the_map_are_not_far_and_noise_is(atlas: Atlas, pool: Pool) -> None:
    encoder = ThumbnailEncoder()
    fresh, _ = noisy_copies(patterns(10, 1)[:5], 4, 28, seed=99)  # new copies of MNIST patterns
    near = place(fresh, atlas, "fresh copies", encoder=encoder)
    assert not near.far and near.distance <= near.far_distance
    assert not any(line.startswith("warning") for line in near.warnings)
    noise = torch.rand(20, 3, 28, 28, generator=torch.Generator().manual_seed(0))
    far = place(noise, atlas, "noise", encoder=encoder)
    assert far.far and far.distance > far.far_distance
    report = far.report()
    assert report.splitlines()[0].startswith("warning: these images are far from every dataset")
    assert f"{FAR_PERCENTILE:.0f} %" in report and f"{far.far_distance:.2f}" in report
    spacing = map_spacing(atlas).double()
    assert far.far_distance == pytest.approx(float(spacing.quantile(FAR_PERCENTILE / 100)))
    nearest = nearest_neighbour_distance(encoder.encode_images(noise), atlas.pool)
    assert far.distance == pytest.approx(float(nearest.median()))


def test_the_small_map_says_its_contains_direction_is_not_meaningful(
    atlas: Atlas,
) -> None:
    images, _ = noisy_copies(patterns(10, 1)[:3], 4, 28, seed=5)
    encoder = ThumbnailEncoder()
    on_book = place(images, atlas, "mine", encoder=encoder)
    assert not any("small" in line for line in on_book.warnings)
    on_fast = place(images, dataclasses.replace(atlas, scale="fast"), "mine", encoder=encoder)
    assert any("small 'fast' map" in line for line in on_fast.warnings)
    assert "not meaningful" in on_fast.report()


@pytest.fixture
def command(atlas: Atlas, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Atlas]:
    """``python -m taskspace.atlas place`` on the synthetic map: ``maps[scale]`` is served."""
    maps = {"book": atlas, "fast": dataclasses.replace(atlas, scale="fast")}
    monkeypatch.setenv("TASKSPACE_QUIET", "1")
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "load_atlas", lambda scale: maps[scale])
    monkeypatch.setattr(cli, "atlas_path", lambda scale: tmp_path / "cached-map.pt")
    monkeypatch.setattr("taskspace.atlas.placement.OfflineEncoder", ThumbnailEncoder)
    return maps


def write_folder(folder: Path, images: torch.Tensor) -> Path:
    return write_image_folder(
        ImageDataset(images, torch.zeros(len(images), dtype=torch.int64), ("x",)), folder
    )


def test_command_warns_on_noise_and_on_the_small_map(
    command: dict[str, Atlas], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    noise = write_folder(tmp_path / "noise", torch.rand(12, 3, 28, 28))
    assert cli.main(["place", str(noise)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("warning: these images are far from every dataset on the map")
    assert "small 'fast' map" not in printed
    fresh, _ = noisy_copies(patterns(10, 0)[:4], 3, 28, seed=7)  # like Fashion's patterns
    near = write_folder(tmp_path / "near", fresh)
    assert cli.main(["place", str(near), "--scale", "fast"]) == 0
    printed = capsys.readouterr().out
    assert "far from every dataset" not in printed
    assert printed.startswith("note: this is the small 'fast' map")


def big_png(path: Path, width: int, height: int) -> Path:
    """A valid all-black 8-bit grey PNG of ``width x height`` pixels, written row by row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer, row = zlib.compressobj(1), bytes(width + 1)  # filter byte 0, then the pixels
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
    return path


def test_an_oversized_image_stops_the_command_in_one_line(tmp_path: Path) -> None:
    """A 15,000 x 15,000 PNG (Pillow's decompression-bomb error): one line, status 2, nothing
    written -- not even the map's cache."""
    folder = write_folder(tmp_path / "mine", torch.rand(12, 1, 28, 28))
    big_png(folder / "x" / "huge.png", 15_000, 15_000)
    out = tmp_path / "map.png"
    result = subprocess.run(
        [sys.executable, "-m", "taskspace.atlas", "place", str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "TASKSPACE_CACHE": str(tmp_path / "cache"), "TASKSPACE_QUIET": "1"},
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("error: cannot read") and "huge.png: too large" in lines[0]
    assert "225,000,000 pixels" in lines[0]
    assert not out.exists() and not (tmp_path / "cache").exists()
