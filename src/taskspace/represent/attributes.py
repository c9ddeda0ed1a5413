"""The attribute representation of Taskonomy tasks (Task2Box §3.1, supplement tables 6-7).

A task is described by the answers to 15 yes/no questions ("Is the task generative?", "Does it
need 3D knowledge?", ...). The answers are data typed in from the paper and live in
:func:`taskspace.data.taskonomy.task_attributes`; this module presents them like the other
representations: one row vector per task.

Introduced in chapter 2; the Taskonomy boxes of chapter 5 are learned from it.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from taskspace.data.taskonomy import task_attributes

__all__ = ["AttributeVectors", "attribute_vectors"]


class AttributeVectors(NamedTuple):
    """Attribute vectors of the Taskonomy tasks.

    Attributes:
        tasks: the 25 task names, one per row.
        questions: the 15 questions' short names, one per column.
        vectors: ``(25, 15)`` float32 of 0.0 / 1.0.
    """

    tasks: tuple[str, ...]
    questions: tuple[str, ...]
    vectors: torch.Tensor


def attribute_vectors(device: torch.device | str = "cpu") -> AttributeVectors:
    """The ``(25, 15)`` 0/1 attribute representation of the Taskonomy tasks, on ``device``."""
    tasks, questions, matrix = task_attributes()
    return AttributeVectors(tasks, tuple(q.short for q in questions), matrix.to(device))
