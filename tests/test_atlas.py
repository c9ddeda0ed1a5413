"""The map of datasets: catalogue, the cached map, placing a held-out dataset, the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from taskspace.atlas import __main__ as cli
from taskspace.atlas.build import Atlas, atlas_path, load_atlas, normalised_sizes
from taskspace.atlas.catalogue import Pool, catalogue, held_out_datasets, load_pool
from taskspace.atlas.placement import MIN_IMAGES, place, place_embeddings
from taskspace.data.folder import load_image_folder, write_image_folder
from taskspace.data.images import (
    DIGIT_CLASSES,
    FASHION_MNIST_CLASSES,
    ImageDataset,
    load_fashion_mnist,
)

FASHION_SYSTEM = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(
    not FASHION_SYSTEM.is_dir(), reason="apt-get install dataset-fashion-mnist"
)


def synthetic_pool(per_class: int = 3) -> Pool:
    def source(classes: tuple[str, ...], size: int) -> ImageDataset:
        n = per_class * len(classes)
        images = torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(size))
        return ImageDataset(images, torch.arange(n) % len(classes), classes)

    sources = (
        source(FASHION_MNIST_CLASSES, 28),
        source(DIGIT_CLASSES, 28),
        source(DIGIT_CLASSES, 8),
    )
    offsets = torch.tensor([0, *(len(s) for s in sources)]).cumsum(0).tolist()
    return Pool(sources, tuple(offsets))


def test_catalogue_has_named_distinct_datasets_with_recipes() -> None:
    pool = synthetic_pool()
    datasets = catalogue(pool)
    assert len(datasets) >= 40
    assert len({d.name for d in datasets}) == len(datasets)
    assert all(d.recipe and d.group for d in datasets)
    for d in datasets:
        assert d.members.dtype == torch.int64 and torch.equal(d.members, d.members.sort().values)
        assert d.members.unique().numel() == d.size >= 2
        assert int(d.members.min()) >= 0 and int(d.members.max()) < len(pool)
    sets = {d.name: set(d.members.tolist()) for d in datasets}
    assert (
        sets["Fashion: Sandal"] < sets["Fashion: footwear"] < sets["Fashion"] < sets["everything"]
    )
    assert sets["Fashion 10%"] < sets["Fashion 25%"] < sets["Fashion 50%"] < sets["Fashion"]
    assert sets["MNIST: 3"] < sets["MNIST: odd"] and not sets["MNIST: 3"] & sets["MNIST: even"]
    assert sets["handwritten digits"] == sets["MNIST"] | sets["digits"]
    assert {d.group for d in datasets} == {
        "Fashion-MNIST",
        "MNIST",
        "digits",
        "samples",
        "mixtures",
    }


def test_held_out_digit_classes_are_not_on_the_map() -> None:
    pool = synthetic_pool()
    on_map = {frozenset(d.members.tolist()) for d in catalogue(pool)}
    held_out = held_out_datasets(pool)
    assert [d.name for d in held_out] == [f"digits: {c}" for c in DIGIT_CLASSES]
    assert all(frozenset(d.members.tolist()) not in on_map for d in held_out)
    assert torch.equal(pool.images(held_out[3].members), pool.sources[2].images[3::10])
    with pytest.raises(ValueError, match="one source"):
        pool.images(torch.tensor([0, len(pool) - 1]))


def test_normalised_sizes_scale_the_largest_to_one() -> None:
    datasets = catalogue(synthetic_pool())
    sizes = normalised_sizes(datasets)
    assert sizes.max() == 1 and sizes[[d.name for d in datasets].index("everything")] == 1
    assert torch.allclose(
        sizes * max(d.size for d in datasets), torch.tensor([float(d.size) for d in datasets])
    )


@pytest.fixture(scope="module")
def fast_map(tmp_path_factory: pytest.TempPathFactory) -> Atlas:
    """The scale-"fast" map, built once into a private cache."""
    cache = tmp_path_factory.mktemp("cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("TASKSPACE_CACHE", str(cache))
    patch.setenv("TASKSPACE_QUIET", "1")
    yield load_atlas("fast")
    patch.undo()


@pytest.fixture(scope="module")
def fast_pool(fast_map: Atlas) -> Pool:
    return load_pool(fast_map.config.per_class)


@needs_fashion
@pytest.mark.system_data
def test_map_is_cached_and_reloads_identically(fast_map: Atlas) -> None:
    path = atlas_path("fast")
    assert path.is_file()
    again = load_atlas("fast")  # from the cache
    assert again.names == fast_map.names and torch.equal(again.overlap, fast_map.overlap)
    assert torch.equal(again.boxes.low, fast_map.boxes.low)
    assert (fast_map.overlap.diagonal() == 1).all() and fast_map.overlap.shape == (50, 50)
    assert torch.allclose(
        fast_map.features, torch.stack([fast_map.pool[m].mean(0) for m in fast_map.members])
    )


def true_supersets(atlas: Atlas, members: torch.Tensor) -> set[str]:
    rows = set(members.tolist())
    return {
        name for name, m in zip(atlas.names, atlas.members, strict=True) if rows <= set(m.tolist())
    }


@needs_fashion
@pytest.mark.system_data
def test_held_out_dataset_is_placed_inside_its_supersets(
    fast_map: Atlas, fast_pool: Pool, tmp_path: Path
) -> None:
    """A digits class the map never saw, written as PNGs, read back and placed."""
    pool = fast_pool
    held_out = next(d for d in held_out_datasets(pool) if d.name == "digits: 3")
    folder = tmp_path / "threes"
    write_image_folder(
        ImageDataset(
            pool.images(held_out.members), torch.zeros(held_out.size, dtype=torch.int64), ("3",)
        ),
        folder,
    )
    images = load_image_folder(folder).images
    placement = place(images, fast_map, name="threes")
    supersets = true_supersets(fast_map, held_out.members)
    assert supersets == {"digits", "digits: odd", "handwritten digits", "everything"}
    names = list(fast_map.names)
    measured = {names[j] for j in torch.nonzero(placement.measured_inside == 1).squeeze(1).tolist()}
    assert supersets <= measured  # exact: each image's twin is in the superset
    top = [r.name for r in placement.containers(5)]
    assert top[0] in supersets and len(supersets & set(top)) >= 2
    inside = placement.inside
    is_superset = torch.tensor([n in supersets for n in names])
    assert inside[is_superset].mean() > inside[~is_superset].mean() + 0.1
    # the pool's own embeddings (no 8-bit PNG round trip) place it in the same spot; an image
    # may cross a threshold
    direct = place_embeddings(fast_map.pool[held_out.members], fast_map, "threes")
    assert torch.allclose(direct.box.low, placement.box.low, atol=0.02)
    difference = (direct.measured_inside - placement.measured_inside).abs().max()
    assert difference <= 1 / held_out.size + 1e-6


@needs_fashion
@pytest.mark.system_data
def test_noise_is_far_from_the_real_map_and_unseen_images_are_not(fast_map: Atlas) -> None:
    """Random colour noise measures "inside" broad datasets by soft overlap, yet lies farther
    from the map than its own images lie apart; Fashion-MNIST test images do not."""
    noise = torch.rand(40, 3, 28, 28, generator=torch.Generator().manual_seed(0))
    far = place(noise, fast_map, "noise")
    assert far.far and far.warnings[0].startswith("warning: these images are far")
    unseen = load_fashion_mnist("test").subset_classes(["Sneaker"]).images[:40]
    near = place(unseen, fast_map, "sneakers")
    assert not near.far and near.distance < far.distance
    assert [line.split(":")[0] for line in near.warnings] == ["note"]  # the small map


@needs_fashion
@pytest.mark.system_data
def test_command_line_places_a_folder_and_draws_the_map(
    fast_pool: Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digits = fast_pool.sources[2].subset_classes(["3", "7"])
    write_image_folder(digits, tmp_path / "mine")
    out = tmp_path / "map.png"
    assert (
        cli.main(
            ["place", str(tmp_path / "mine"), "--scale", "fast", "--out", str(out), "--top", "3"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "Datasets that contain it most" in printed and "Datasets it contains most" in printed
    assert printed.count("(measured") == 6 and f"map written to {out}" in printed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_fashion
@pytest.mark.system_data
def test_command_line_fails_cleanly_and_writes_nothing(
    fast_pool: Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "map.png"
    digits = fast_pool.sources[2]
    few = tmp_path / "few"
    n = MIN_IMAGES - 1
    write_image_folder(
        ImageDataset(digits.images[:n], torch.zeros(n, dtype=torch.int64), ("x",)), few
    )
    broken = tmp_path / "broken"
    write_image_folder(digits, broken)
    (broken / "3" / "zzz.png").write_bytes(b"truncated")
    cases = {
        str(tmp_path / "missing"): "is not a folder",
        str(few): f"at least {MIN_IMAGES}",
        str(broken): "cannot read .*zzz.png",
    }
    for folder, message in cases.items():
        assert cli.main(["place", folder, "--scale", "fast", "--out", str(out)]) == 2
        assert re.search(message, capsys.readouterr().err)
        assert not out.exists()
    assert cli.main(["place", str(broken), "--out", str(tmp_path / "no" / "map.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_module_runs_as_a_command(tmp_path: Path) -> None:
    """``python -m taskspace.atlas`` itself: an empty folder is refused before any map is built."""
    result = subprocess.run(
        [sys.executable, "-m", "taskspace.atlas", "place", str(tmp_path), "--scale", "fast"],
        capture_output=True,
        text=True,
        env={**os.environ, "TASKSPACE_CACHE": str(tmp_path / "cache")},
        check=False,
    )
    assert result.returncode == 2 and "holds no images" in result.stderr
    assert not (tmp_path / "cache").exists()
