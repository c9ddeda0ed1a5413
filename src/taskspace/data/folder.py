"""A reader's own images: a folder of PNG/JPEG files as an :class:`ImageDataset` (chapter 7).

Two layouts are read:

* **flat**: ``FOLDER/*.png`` -- one class, named after the folder;
* **one sub-folder per class**: ``FOLDER/<class>/*.jpg`` -- the sub-folder names are the classes
  (images directly in ``FOLDER`` then form one more class, named after ``FOLDER``).

Files ending in ``.png``, ``.jpg`` or ``.jpeg`` (any case) are images; other files and hidden
ones (``.DS_Store``) are skipped, and deeper folders are not read. A file that cannot be read,
or an image larger than Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``,
about 89 million pixels), is a :class:`FolderError` that names the file. Images are read with Pillow,
as grey when every image is grey and as RGB otherwise, scaled to ``[0, 1]``. Images of different
sizes are resized (bilinear, with Pillow, which comes with torchvision) to ``size x size`` so
that they stack into one tensor; images of one common size are kept as they are, so an image
written by :func:`write_image_folder` and read back is the same tensor up to 8-bit rounding.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from taskspace.data.images import ImageDataset
from taskspace.progress import progress

__all__ = [
    "IMAGE_SUFFIXES",
    "FolderError",
    "image_files",
    "load_image_folder",
    "write_image_folder",
]

#: File endings read as images (compared in lower case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


class FolderError(ValueError):
    """A folder of images cannot be used; the message names the folder or file and the problem."""


def _is_image(path: Path) -> bool:
    return (
        path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES
    )


def image_files(folder: Path | str) -> list[tuple[Path, str]]:
    """``(path, class name)`` of every image in ``folder`` (flat or one sub-folder per class),
    sorted by class and file name.

    Raises:
        FolderError: ``folder`` is not a directory, or holds no image.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FolderError(f"{folder} is not a folder")
    found = [(path, folder.resolve().name) for path in sorted(folder.iterdir()) if _is_image(path)]
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += [(path, sub.name) for path in sorted(sub.iterdir()) if _is_image(path)]
    if not found:
        raise FolderError(
            f"{folder} holds no images: put PNG or JPEG files ({', '.join(IMAGE_SUFFIXES)}) in it "
            "directly, or in one sub-folder per class"
        )
    return sorted(found, key=lambda item: (item[1], item[0].name))


def _read(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that: both are refused
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                return image.copy()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise FolderError(
            f"cannot read {path}: too large ({_pixels(error)}); Pillow reads at most "
            f"{Image.MAX_IMAGE_PIXELS:,} pixels per image, so shrink it first"
        ) from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise FolderError(f"cannot read {path} as an image: {error}") from error


def _pixels(error: Exception) -> str:
    """The image's pixel count as Pillow's message states it."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    return f"{int(found.group(1)):,} pixels" if found else "too many pixels"


def load_image_folder(folder: Path | str, size: int = 128, min_images: int = 1) -> ImageDataset:
    """The images of ``folder`` as an :class:`~taskspace.data.images.ImageDataset` (chapter 7).

    Args:
        folder: flat, or one sub-folder per class (see the module docstring).
        size: side length images are resized to when their sizes differ.
        min_images: fewer images than this is an error.

    Returns:
        ``ImageDataset`` with ``images`` ``(N, C, H, W)`` in ``[0, 1]`` (``C`` = 1 for grey,
        3 for colour), one class per sub-folder, ``name`` the folder's name.

    Raises:
        FolderError: not a folder, no images, fewer than ``min_images``, or a file that cannot
            be read as an image (the message names it).
    """
    folder = Path(folder).expanduser()
    files = image_files(folder)
    if len(files) < min_images:
        raise FolderError(f"{folder} holds {len(files)} image(s); at least {min_images} are needed")
    pictures = [_read(path) for path, _ in progress(files, "reading images", total=len(files))]
    grey = all(p.mode in _GREY_MODES for p in pictures)
    scales = [_pixel_scale(p.mode) if grey else 255.0 for p in pictures]
    pictures = [p.convert("F" if grey else "RGB") for p in pictures]
    if len({p.size for p in pictures}) > 1:
        pictures = [p.resize((size, size), Image.Resampling.BILINEAR) for p in pictures]
    tensors = [
        torch.from_numpy(np.asarray(p, dtype=np.float32).copy()).div_(scale).clamp_(0, 1)
        for p, scale in zip(pictures, scales, strict=True)
    ]
    tensors = [t.unsqueeze(0) if grey else t.permute(2, 0, 1) for t in tensors]
    classes = sorted({name for _, name in files})
    labels = torch.tensor([classes.index(name) for _, name in files], dtype=torch.int64)
    return ImageDataset(torch.stack(tensors), labels, tuple(classes), folder.resolve().name)


def _pixel_scale(mode: str) -> float:
    """The value of white in an image of PIL ``mode`` after ``convert("F")`` / ``convert("RGB")``."""
    return {"I": 65535.0, "I;16": 65535.0, "F": 1.0}.get(mode, 255.0)


def write_image_folder(dataset: ImageDataset, folder: Path | str) -> Path:
    """Write ``dataset`` as 8-bit PNG files, one sub-folder per class (chapter 7).

    ``folder/<class>/<index>.png``, grey or RGB as the images are; a class name's ``/`` becomes
    ``-``. The folder may exist; files of the same names are overwritten. Returns ``folder``.
    """
    folder = Path(folder).expanduser()
    pixels = (dataset.images.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    for index, (image, label) in enumerate(zip(pixels, dataset.labels.tolist(), strict=True)):
        target = folder / dataset.class_names[label].replace("/", "-")
        target.mkdir(parents=True, exist_ok=True)
        array = image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()
        Image.fromarray(array).save(target / f"{index:05d}.png")
    return folder
