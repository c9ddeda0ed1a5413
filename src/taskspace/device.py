"""The one place that chooses a device; every kernel else follows its inputs' device."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """CUDA when a GPU is visible, else the CPU; ``TASKSPACE_DEVICE`` overrides (e.g. ``"cpu"``)."""
    requested = os.environ.get("TASKSPACE_DEVICE")
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
