"""The Task Discovery authors' agreement scores of their discovered tasks (chapter 9).

The authors' repository (EPFL-VILAB/TaskDiscovery, MIT licence) ships
``assets/tasks/agreement_table.csv``: one row per discovered task with columns
``task_idx, task, as``, where ``task`` names the task set — ``resnet18``, ``mlp`` and ``vit``
(32 tasks each, the paper's main setting, d = 32) and ``resnet18_d8`` (8 tasks, d = 8) — and ``as``
is the task's agreement score on CIFAR-10 (45k / 5k split, networks of the same architecture).
Chapter 9 puts these numbers beside its own; the file is found through
:func:`~taskspace.data.resolve.resolve`, never committed.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from taskspace.data.manifest import manifest_source
from taskspace.data.resolve import resolve

__all__ = ["AGREEMENT_TABLE_SOURCE", "load_agreement_table", "read_agreement_table"]

#: The authors' per-task agreement scores (see the module docstring); address and checksum in
#: the data manifest.
AGREEMENT_TABLE_SOURCE = manifest_source("task-discovery/agreement_table.csv")


def read_agreement_table(path: Path) -> dict[str, torch.Tensor]:
    """``{task set: (T,) float64 AS of its tasks, ordered by task_idx}`` from the CSV at ``path``.

    Raises:
        ValueError: a missing column, a malformed or out-of-range AS, or a repeated task index.
    """
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"task_idx", "task", "as"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
        rows: dict[str, dict[int, float]] = {}
        for line, row in enumerate(reader, start=2):
            try:
                index, score = int(row["task_idx"]), float(row["as"])
            except ValueError as error:
                raise ValueError(f"{path}, line {line}: {error}") from error
            if not (math.isfinite(score) and 0.0 <= score <= 1.0):
                raise ValueError(f"{path}, line {line}: AS {score} is not in [0, 1]")
            tasks = rows.setdefault(row["task"], {})
            if index in tasks:
                raise ValueError(f"{path}, line {line}: task {row['task']} #{index} repeated")
            tasks[index] = score
    return {
        name: torch.tensor([scores[i] for i in sorted(scores)], dtype=torch.float64)
        for name, scores in sorted(rows.items())
    }


def load_agreement_table() -> dict[str, torch.Tensor]:
    """The authors' table, found (or downloaded and verified) by :func:`resolve`.

    Returns ``{"mlp": (32,), "resnet18": (32,), "resnet18_d8": (8,), "vit": (32,)}`` float64.
    """
    return read_agreement_table(resolve(AGREEMENT_TABLE_SOURCE))
