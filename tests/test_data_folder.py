"""Reading a reader's folder of images: layouts, sizes, colour, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from taskspace.data.folder import FolderError, image_files, load_image_folder, write_image_folder
from taskspace.data.images import ImageDataset


def grey_dataset(n: int = 6, size: int = 8, classes=("a", "b/c")) -> ImageDataset:
    generator = torch.Generator().manual_seed(0)
    images = (torch.rand(n, 1, size, size, generator=generator) * 255).round() / 255
    return ImageDataset(images, torch.arange(n) % len(classes), tuple(classes), "grey")


def _png(path: Path) -> None:
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(path)


def test_written_folder_reads_back_exactly(tmp_path: Path) -> None:
    dataset = grey_dataset()
    write_image_folder(dataset, tmp_path / "set")
    assert sorted(p.name for p in (tmp_path / "set").iterdir()) == ["a", "b-c"]
    back = load_image_folder(tmp_path / "set")
    assert back.class_names == ("a", "b-c") and back.name == "set"
    assert back.images.shape == (6, 1, 8, 8)
    order = [0, 2, 4, 1, 3, 5]  # sorted by class, then by file name
    assert torch.allclose(back.images, dataset.images[order], atol=1e-6)
    assert back.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_flat_folder_is_one_class_and_other_files_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((5, 5), 40 * i, dtype=np.uint8)).save(folder / f"{i}.PNG")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"junk")
    dataset = load_image_folder(folder)
    assert dataset.class_names == ("flat",) and len(dataset) == 3
    assert [p.name for p, _ in image_files(folder)] == ["0.PNG", "1.PNG", "2.PNG"]
    assert torch.allclose(dataset.images[:, 0, 0, 0], torch.tensor([0, 40, 80]) / 255)


def test_mixed_sizes_and_colours_become_one_rgb_tensor(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(np.full((10, 20), 255, dtype=np.uint8)).save(folder / "grey.png")
    colour = np.zeros((30, 30, 3), dtype=np.uint8)
    colour[..., 0] = 255
    Image.fromarray(colour).save(folder / "red.jpg", quality=100)
    dataset = load_image_folder(folder, size=16)
    assert dataset.images.shape == (2, 3, 16, 16)
    assert dataset.images.min() >= 0 and dataset.images.max() <= 1
    grey, red = dataset.images
    assert torch.allclose(grey, torch.ones_like(grey))
    assert red[0].mean() > 0.95 and red[1:].mean() < 0.05


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FolderError, match="holds no images"):
        load_image_folder(tmp_path)


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    for i in range(3):
        _png(tmp_path / f"{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(FolderError, match=r"cannot read .*broken\.png"):
        load_image_folder(tmp_path, min_images=3)


@pytest.mark.parametrize("times", [1.5, 3.0])
def test_an_oversized_image_is_named_with_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, times: float
) -> None:
    """Above Pillow's limit it warns, above twice the limit it refuses: both are refused here,
    in one line that names the file and its size (the limit lowered so the image stays small)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    _png(tmp_path / "small.png")
    side = round((10_000 * times) ** 0.5)
    Image.new("L", (side, side)).save(tmp_path / "large.png")
    with pytest.raises(FolderError, match=r"cannot read .*large\.png: too large") as caught:
        load_image_folder(tmp_path)
    message = str(caught.value)
    assert f"{side * side:,} pixels" in message and "10,000 pixels" in message
    assert "\n" not in message


def test_too_few_images_are_refused(tmp_path: Path) -> None:
    _png(tmp_path / "one.png")
    with pytest.raises(FolderError, match=r"holds 1 image.*at least 3"):
        load_image_folder(tmp_path, min_images=3)
    _png(tmp_path / "two.png")
    _png(tmp_path / "three.png")
    assert len(load_image_folder(tmp_path, min_images=3)) == 3


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"")
    with pytest.raises(FolderError, match="is not a folder"):
        load_image_folder(path)
