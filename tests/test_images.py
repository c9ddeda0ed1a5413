"""Image datasets: validation, subsets and splits on synthetic data; loaders on the real files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch

from taskspace.data.images import (
    ImageDataset,
    _parse_idx,
    load_cifar10,
    load_digits,
    load_fashion_mnist,
    load_mnist5k,
)
from taskspace.data.resolve import DataNotFoundError

FASHION_SYSTEM = Path("/usr/share/datasets/fashion-mnist")


def tiny(per_class: int = 6, classes: int = 3) -> ImageDataset:
    labels = torch.arange(classes).repeat_interleave(per_class)
    images = torch.rand(len(labels), 1, 4, 4, generator=torch.Generator().manual_seed(0))
    return ImageDataset(images, labels, tuple(f"c{i}" for i in range(classes)), "tiny")


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (torch.rand(4, 4, 4), torch.zeros(4, dtype=torch.int64), "must be .N, C, H, W."),
        (torch.full((2, 1, 2, 2), float("nan")), torch.tensor([0, 1]), "NaN"),
        (torch.full((2, 1, 2, 2), 2.0), torch.tensor([0, 1]), r"\[0, 1\]"),
        (torch.rand(2, 1, 2, 2), torch.tensor([0, 0]), "no images: b"),
        (torch.rand(2, 1, 2, 2), torch.tensor([0, 5]), "labels must lie"),
        (torch.rand(2, 1, 2, 2), torch.tensor([0.0, 1.0]), "int64"),
        (torch.rand(3, 1, 2, 2), torch.tensor([0, 1]), "labels must be"),
    ],
)
def test_bad_datasets_are_named(images: torch.Tensor, labels: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImageDataset(images, labels, ("a", "b"), "bad")


def test_subset_classes_relabels_in_the_given_order() -> None:
    data = tiny()
    subset = data.subset_classes(["c2", 0])
    assert subset.class_names == ("c2", "c0")
    assert len(subset) == 12
    assert torch.equal(subset.images[subset.labels == 0], data.images[data.labels == 2])
    with pytest.raises(KeyError, match="no class 'zebra'"):
        data.subset_classes(["zebra"])


def test_split_is_stratified_disjoint_and_deterministic() -> None:
    data = tiny(per_class=10)
    train, test = data.split(0.3, seed=1)
    assert test.class_counts().tolist() == [3, 3, 3]
    assert len(train) + len(test) == len(data)
    train_rows = {tuple(r.flatten().tolist()) for r in train.images}
    assert all(tuple(r.flatten().tolist()) not in train_rows for r in test.images)
    again, _ = data.split(0.3, seed=1)
    other, _ = data.split(0.3, seed=2)
    assert torch.equal(again.images, train.images)
    assert not torch.equal(other.images, train.images)


def test_sample_is_balanced_and_checks_class_sizes() -> None:
    data = tiny(per_class=5)
    assert data.sample(2, seed=0).class_counts().tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="fewer than the 9"):
        data.sample(9, seed=0)


def test_idx_parser_names_malformed_files(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    header = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big")
    assert _parse_idx(header + b"abc", path, expected_ndim=1).tolist() == [97, 98, 99]
    with pytest.raises(ValueError, match="holds 2 bytes"):
        _parse_idx(header + b"ab", path, expected_ndim=1)
    with pytest.raises(ValueError, match="magic"):
        _parse_idx(b"\x01\x02\x03\x04", path, expected_ndim=1)
    with pytest.raises(ValueError, match="expected 3"):
        _parse_idx(header + b"abc", path, expected_ndim=3)


def test_corrupted_gzip_is_reported_with_its_path(data_dirs: tuple[Path, Path]) -> None:
    data, _ = data_dirs
    folder = data / "fashion-mnist"
    folder.mkdir()
    good = gzip.compress(b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"\x01\x02")
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(ValueError, match="not a valid gzip file") as error:
        load_fashion_mnist("train")
    assert "train-images-idx3-ubyte.gz" in str(error.value)


def test_wrong_content_is_rejected_even_if_valid_gzip(data_dirs: tuple[Path, Path]) -> None:
    data, _ = data_dirs
    folder = data / "fashion-mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"not fashion"))
    with pytest.raises(ValueError, match="decompressed data has SHA-256"):
        load_fashion_mnist("test")


def test_cifar10_offline_says_where_it_looked(data_dirs: tuple[Path, Path]) -> None:
    data, _ = data_dirs
    with pytest.raises(DataNotFoundError, match=str(data / "cifar10")):
        load_cifar10("train")


@pytest.mark.system_data
@pytest.mark.skipif(not FASHION_SYSTEM.is_dir(), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist() -> None:
    test = load_fashion_mnist("test")
    assert test.images.shape == (10_000, 1, 28, 28)
    assert test.class_counts().tolist() == [1000] * 10
    assert 0.2 < test.images.mean().item() < 0.4  # mostly dark background, bright garments


def test_real_mnist5k_and_digits() -> None:
    mnist = load_mnist5k()
    assert mnist.images.shape == (5000, 1, 28, 28)
    assert mnist.class_counts().sum().item() == 5000
    assert mnist.class_counts().min().item() > 400
    digits = load_digits()
    assert digits.images.shape == (1797, 1, 8, 8)
    assert digits.images.max().item() == 1.0


def test_image_grid_rows_hold_one_class_each() -> None:
    from taskspace.plotting import image_grid

    labels = torch.arange(3).repeat(5)  # classes interleaved: 0, 1, 2, 0, 1, 2, ...
    images = (labels.float() / 2).view(-1, 1, 1, 1).expand(-1, 1, 2, 2).clone()
    data = ImageDataset(images, labels, ("a", "b", "c"), "interleaved")  # class c is c / 2
    figure = image_grid(data, per_class=3, seed=0)
    rows = [
        [ax.images[0].get_array().mean() for ax in figure.axes[3 * r : 3 * r + 3]] for r in range(3)
    ]
    assert rows == [[0.0] * 3, [0.5] * 3, [1.0] * 3]
