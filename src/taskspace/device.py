"""The one place that chooses a device (and the CPU thread count); every kernel else follows its
inputs' device."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch


def default_device() -> torch.device:
    """CUDA when a GPU is visible, else the CPU; ``TASKSPACE_DEVICE`` overrides (e.g. ``"cpu"``)."""
    requested = os.environ.get("TASKSPACE_DEVICE")
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch's CPU operations on one thread inside the block, then restore the count.

    Results depend on the thread count (it changes the order of floating-point sums; chapter 5),
    so work that must come out the same everywhere runs on one thread (chapters 2 and 7).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
