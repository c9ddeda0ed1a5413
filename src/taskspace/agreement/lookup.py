"""A fixed labelling of stored images, as a function of the image (chapter 9).

The proxy-AS (:func:`~taskspace.agreement.proxy_agreement`) draws batches of images from a pool
and asks a callable for their soft labels, ``(B, C, H, W) -> (B, K)`` probabilities: that is how
a task *network* labels images. A human- or random-labelled task is known only as one label per
stored image; :class:`LabelLookup` turns it into such a callable by finding every queried image
among the stored ones (by its exact bytes) and returning its label as a one-hot row.
"""

from __future__ import annotations

import torch

__all__ = ["LabelLookup"]


def _image_keys(images: torch.Tensor) -> list[bytes]:
    """The exact bytes of each image of ``(N, C, H, W)`` (float32 on the CPU)."""
    flat = images.detach().to("cpu", torch.float32).reshape(images.shape[0], -1).contiguous()
    return [row.numpy().tobytes() for row in flat]


class LabelLookup:
    """Labels of stored images, looked up for any batch of them.

    Args:
        images: ``(N, C, H, W)`` the labelled images (for the proxy: its whole pool).
        labels: ``(N,)`` int64 label of each image in ``0 .. num_classes - 1``.
        num_classes: ``K``, the width of the one-hot rows returned.

    Calling it on ``(B, C, H, W)`` images, each a copy of a stored one, returns ``(B, K)`` float32
    one-hot labels on the images' device. Two identical stored images must carry the same label.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int = 2) -> None:
        if images.ndim != 4 or labels.shape != (images.shape[0],) or labels.dtype != torch.int64:
            raise ValueError(
                "need (N, C, H, W) images and (N,) int64 labels, got "
                f"{tuple(images.shape)} and {labels.dtype} {tuple(labels.shape)}"
            )
        outside = labels.numel() > 0 and not 0 <= labels.min() <= labels.max() < num_classes
        if num_classes < 2 or outside:
            raise ValueError(f"labels must lie in 0..{num_classes - 1} (num_classes >= 2)")
        self.num_classes = num_classes
        self.image_shape = tuple(images.shape[1:])
        self._labels: dict[bytes, int] = {}
        for key, label in zip(_image_keys(images), labels.tolist(), strict=True):
            if self._labels.setdefault(key, label) != label:
                raise ValueError("the same image is stored twice with different labels")

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(
                f"images of shape {tuple(images.shape[1:])} asked, {self.image_shape} stored"
            )
        try:
            found = [self._labels[key] for key in _image_keys(images)]
        except KeyError:
            raise KeyError("an image was asked for that is not among the labelled ones") from None
        labels = torch.tensor(found, dtype=torch.int64, device=images.device)
        return torch.nn.functional.one_hot(labels, self.num_classes).float()
