"""Taskonomy: transfer affinities between 25 vision tasks, and the tasks' 15 yes/no attributes.

Task2Box (paper §4.1.2, §5.2; supplement §9.1.3) embeds the 25 Taskonomy tasks as boxes so that
box overlap reproduces the *transfer affinity* of Taskonomy (Zamir et al., 2018): how well the
frozen encoder of a **source** task serves as the starting point for a **target** task, after
Taskonomy's AHP normalisation (higher = better source for that target; values in ``[0, 1]``).

This module reads the upstream affinity pickles and types in the attribute table of the Task2Box
supplement (tables 6 and 7), both with the same task order, :data:`TASK_NAMES`. Introduced in
chapter 5 (``05_taskonomy.ipynb``); the attributes are the base representation of chapter 2.

Direction, once and for all:

* :attr:`AffinityTable.values` is indexed ``[source, target]``.
* Task2Box's relation is ``d(D_i, D_j) = affinity(source j -> target i)``: a target box should lie
  inside the box of a good source. That matrix is :meth:`AffinityTable.as_target_by_source`,
  the transpose, indexed ``[target, source]``.

The pickles are downloaded files, so they are read only with :class:`RestrictedUnpickler`, which
allows the two numpy globals the files need and nothing else; plain :func:`pickle.load` is never
used on them.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, NamedTuple

import numpy as np
import torch

from taskspace.data.manifest import manifest_source
from taskspace.data.resolve import Source, resolve

__all__ = [
    "AFFINITY_BUDGETS",
    "AFFINITY_SOURCES",
    "ATTRIBUTE_QUESTIONS",
    "SOURCE_ONLY_TASKS",
    "TASKONOMY_TASKS",
    "TASK_KEYS",
    "TASK_NAMES",
    "AffinityFileError",
    "AffinityTable",
    "AttributeQuestion",
    "RestrictedUnpickler",
    "TaskAttributes",
    "TaskonomyTask",
    "affinity_source",
    "load_affinities",
    "load_raw_affinities",
    "read_affinity_pickle",
    "task_attributes",
]

# --------------------------------------------------------------------------------------------
# The 25 tasks
# --------------------------------------------------------------------------------------------


class TaskonomyTask(NamedTuple):
    """One Taskonomy task: its Task2Box name, its key in the affinity files, and its role.

    ``source_only`` is True for the three tasks that the affinity files have only as transfer
    sources, never as targets (Colorization, Inpainting, Jigsaw-Puzzle).
    """

    name: str
    key: str
    source_only: bool = False


#: The 25 tasks of Task2Box, in the order of the supplement's table 7 (and of ``SOURCES.md``).
#: Every table in this module (affinities, attributes) uses this order. The file keys are those of
#: the Taskonomy task bank (``taskbank/tools/task_dict.txt`` upstream).
TASKONOMY_TASKS: tuple[TaskonomyTask, ...] = (
    TaskonomyTask("Autoencoder", "autoencoder"),
    TaskonomyTask("Colorization", "colorization", source_only=True),
    TaskonomyTask("Curvatures", "curvature"),
    TaskonomyTask("Denoising-Autoencoder", "denoise"),
    TaskonomyTask("Depth", "rgb2depth"),
    TaskonomyTask("Edge-2D", "edge2d"),
    TaskonomyTask("Edge-3D", "edge3d"),
    TaskonomyTask("Euclidean-Distance", "rgb2mist"),
    TaskonomyTask("Inpainting", "impainting_whole", source_only=True),
    TaskonomyTask("Jigsaw-Puzzle", "jigsaw", source_only=True),
    TaskonomyTask("Keypoint-2D", "keypoint2d"),
    TaskonomyTask("Keypoint-3D", "keypoint3d"),
    TaskonomyTask("Object-Classification", "class_1000"),
    TaskonomyTask("Reshading", "reshade"),
    TaskonomyTask("Room-Layout", "room_layout"),
    TaskonomyTask("Scene-Classification", "class_places"),  # only in the 1k and 16k files
    TaskonomyTask("Segmentation-2D", "segment2d"),
    TaskonomyTask("Segmentation-3D", "segment25d"),
    TaskonomyTask("Segmentation-Semantic", "segmentsemantic_rb"),
    TaskonomyTask("Surface-Normal", "rgb2sfnorm"),
    TaskonomyTask("Vanishing-Point", "vanishing_point_well_defined"),
    TaskonomyTask("Pairwise-Nonfixated-Camera-Pose", "non_fixated_pose"),
    TaskonomyTask("Pairwise-Fixated-Camera-Pose", "fix_pose"),
    TaskonomyTask("Triplet-Fixated-Camera-Pose", "ego_motion"),
    TaskonomyTask("Point-Matching", "point_match"),
)

#: The 25 Task2Box task names, in the fixed order of :data:`TASKONOMY_TASKS`.
TASK_NAMES: tuple[str, ...] = tuple(task.name for task in TASKONOMY_TASKS)

#: Task2Box name -> key in the affinity files (e.g. ``"Depth" -> "rgb2depth"``).
TASK_KEYS: Mapping[str, str] = MappingProxyType({task.name: task.key for task in TASKONOMY_TASKS})

#: Names of the tasks that are transfer sources only (their target columns are all NaN).
SOURCE_ONLY_TASKS: tuple[str, ...] = tuple(t.name for t in TASKONOMY_TASKS if t.source_only)

# --------------------------------------------------------------------------------------------
# The affinity files
# --------------------------------------------------------------------------------------------

#: Budget -> the upstream pickle. ``"full"`` is ``all_affinities.pkl`` (the repository's default
#: file; it lacks Scene-Classification), ``"1k"`` and ``"16k"`` are the files computed with 1k and
#: 16k images for training the transfer functions (both contain all 25 tasks).
AFFINITY_SOURCES: Mapping[str, Source] = MappingProxyType(
    {
        budget: manifest_source(f"taskonomy/{file}")
        for budget, file in (
            ("full", "all_affinities.pkl"),
            ("1k", "all_affinities_1k.pkl"),
            ("16k", "all_affinities_16k.pkl"),
        )
    }
)

#: The accepted values of the ``budget`` argument.
AFFINITY_BUDGETS: tuple[str, ...] = tuple(AFFINITY_SOURCES)


def affinity_source(budget: str = "1k") -> Source:
    """The :class:`~taskspace.data.resolve.Source` of the affinity pickle for ``budget``.

    Raises:
        ValueError: ``budget`` is not one of :data:`AFFINITY_BUDGETS`.
    """
    try:
        return AFFINITY_SOURCES[budget]
    except KeyError:
        raise ValueError(
            f"unknown Taskonomy affinity budget {budget!r}; choose one of {AFFINITY_BUDGETS}"
        ) from None


class AffinityFileError(ValueError):
    """An affinity pickle loaded safely but does not hold a dict of str -> float."""


def _numpy_scalar() -> Callable[..., object]:
    """``numpy``'s ``multiarray.scalar`` without touching the deprecated ``numpy.core`` alias."""
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar
    return scalar


class RestrictedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only the globals the Taskonomy pickles use.

    Allowed: ``numpy.core.multiarray.scalar`` (spelt ``numpy._core.multiarray.scalar`` by numpy 2)
    and ``numpy.dtype``. Any other global -- ``os.system``, ``builtins.eval``, even numpy's array
    reconstructor -- raises :class:`pickle.UnpicklingError` naming it, before it can be called.
    Persistent ids are refused too (the base class does that when ``persistent_load`` is unset).
    """

    ALLOWED: frozenset[tuple[str, str]] = frozenset(
        {
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"forbidden global {module}.{name} in a Taskonomy affinity pickle: only "
                "numpy.core.multiarray.scalar and numpy.dtype are allowed. The file is not an "
                "upstream affinity file; do not load it with plain pickle."
            )
        return np.dtype if name == "dtype" else _numpy_scalar()


def _validated(content: object, origin: str) -> dict[str, float]:
    """Check that ``content`` is a dict of str -> finite-or-NaN float; return it with plain floats."""
    if not isinstance(content, dict):
        raise AffinityFileError(
            f"{origin}: expected a dict of str -> float, got {type(content).__qualname__}"
        )
    checked: dict[str, float] = {}
    for key, value in content.items():
        if not isinstance(key, str):
            raise AffinityFileError(
                f"{origin}: keys must be str, got {type(key).__qualname__} ({key!r})"
            )
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (float, np.floating)):
            raise AffinityFileError(
                f"{origin}: value of {key!r} must be a float, got {type(value).__qualname__}"
            )
        number = float(value)
        if math.isinf(number):
            raise AffinityFileError(f"{origin}: value of {key!r} is infinite ({number})")
        checked[key] = number
    return checked


def read_affinity_pickle(file: Path | str | BinaryIO) -> dict[str, float]:
    """Read one affinity pickle safely and validate it.

    Args:
        file: a path or an open binary file.

    Returns:
        ``{"src[__src2...]__target": affinity}`` with plain Python floats (finite, or NaN).

    Raises:
        pickle.UnpicklingError: the pickle references a global other than the two allowed.
        AffinityFileError: the content is not a dict of str -> finite-or-NaN float; the message
            names the offending type.
    """
    if isinstance(file, (str, Path)):
        with open(file, "rb") as handle:
            return _validated(RestrictedUnpickler(handle).load(), str(file))
    return _validated(RestrictedUnpickler(file).load(), getattr(file, "name", "<stream>"))


def load_raw_affinities(budget: str = "1k") -> dict[str, float]:
    """The whole affinity dict of one budget, every key included (found by ``resolve``).

    Keys are ``"source__target"`` for single sources (including the pseudo-sources ``self``,
    a network trained from scratch for the target, ``random``, and ``class_selected``) and
    ``"src1__src2[__...]__target"`` for the higher-order source combinations.
    """
    return read_affinity_pickle(resolve(affinity_source(budget)))


@dataclass(frozen=True, eq=False)
class AffinityTable:
    """Single-source transfer affinities between the 25 Task2Box tasks (chapter 5).

    Attributes:
        tasks: the 25 Task2Box names, in the order of :data:`TASK_NAMES`.
        values: ``(25, 25)`` float64 CPU tensor indexed ``[source, target]``: the AHP affinity of
            transferring from ``tasks[s]`` to ``tasks[t]``, in ``[0, 1]``. NaN means "no
            single-source value": the diagonal (a task is not a transfer partner of itself; the
            files do hold a ``"x__x"`` entry, kept in ``raw``), the target columns of the
            source-only tasks (:data:`SOURCE_ONLY_TASKS`), and any task a budget's file lacks
            (Scene-Classification in ``"full"``: its row and column).
        budget: which file: ``"full"``, ``"1k"`` or ``"16k"``.
        raw: the file's whole dict, read-only, higher-order and pseudo-sources included.

    Finite entries per budget: ``"full"`` 483 (24 sources x 21 targets, minus 21 diagonal),
    ``"1k"`` 528 and ``"16k"`` 528 (25 sources x 22 targets, minus 22 diagonal).
    """

    tasks: tuple[str, ...]
    values: torch.Tensor
    budget: str
    raw: Mapping[str, float] = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"AffinityTable(budget={self.budget!r}, tasks={len(self.tasks)}, "
            f"values={tuple(self.values.shape)} [source, target], finite={self.num_finite})"
        )

    def index(self, task: str) -> int:
        """Row/column of ``task`` (a Task2Box name)."""
        try:
            return self.tasks.index(task)
        except ValueError:
            raise KeyError(f"unknown Taskonomy task {task!r}; known: {self.tasks}") from None

    def affinity(self, source: str, target: str) -> float:
        """The affinity of ``source -> target`` (Task2Box names); NaN when there is none."""
        return float(self.values[self.index(source), self.index(target)])

    def as_target_by_source(self) -> torch.Tensor:
        """``(25, 25)`` float64, ``[target, source]``: Task2Box's ``d(D_i, D_j)``.

        Entry ``[i, j]`` is ``affinity(source j -> target i)`` = ``values[j, i]``, so row ``i``
        lists how well every task transfers *to* task ``i``. A fresh, contiguous tensor.
        """
        return self.values.T.contiguous()

    def finite_mask(self) -> torch.Tensor:
        """``(25, 25)`` bool, ``[source, target]``: True where ``values`` is finite."""
        return torch.isfinite(self.values)

    @property
    def num_finite(self) -> int:
        """Number of finite entries of ``values`` (483 for ``"full"``, 528 for ``"1k"``/``"16k"``)."""
        return int(self.finite_mask().sum())


def _single_source_table(raw: Mapping[str, float]) -> torch.Tensor:
    """``(25, 25)`` float64 ``[source, target]`` from the ``"source__target"`` keys of ``raw``."""
    values = torch.full((len(TASK_NAMES), len(TASK_NAMES)), math.nan, dtype=torch.float64)
    for s, source in enumerate(TASKONOMY_TASKS):
        for t, target in enumerate(TASKONOMY_TASKS):
            if s != t:
                values[s, t] = raw.get(f"{source.key}__{target.key}", math.nan)
    return values


def load_affinities(budget: str = "1k") -> AffinityTable:
    """Load the Taskonomy transfer affinities of ``budget`` as a 25 x 25 table (chapter 5).

    Args:
        budget: ``"1k"`` (default; all 25 tasks), ``"16k"`` (all 25 tasks) or ``"full"``
            (``all_affinities.pkl``; no Scene-Classification).

    Returns:
        An :class:`AffinityTable`, ``values`` indexed ``[source, target]``. Only single-source keys
        between two of the 25 tasks are used; the ``self`` / ``random`` / ``class_selected``
        sources and the higher-order combinations stay in ``raw``. Finite entries: 483 (``"full"``),
        528 (``"1k"``), 528 (``"16k"``).

    Raises:
        ValueError: unknown budget. Also :class:`~taskspace.data.resolve.DataNotFoundError`,
        :class:`~taskspace.data.resolve.ChecksumError`, :class:`pickle.UnpicklingError` and
        :class:`AffinityFileError` from finding and reading the file.
    """
    raw = load_raw_affinities(budget)
    return AffinityTable(
        tasks=TASK_NAMES,
        values=_single_source_table(raw),
        budget=budget,
        raw=MappingProxyType(raw),
    )


# --------------------------------------------------------------------------------------------
# The 15 attributes (Task2Box supplement, tables 6 and 7)
# --------------------------------------------------------------------------------------------


class AttributeQuestion(NamedTuple):
    """One yes/no attribute of supplement table 6: a short name and the paper's question."""

    short: str
    question: str


#: Supplement table 6, dimension 0..14, questions verbatim.
ATTRIBUTE_QUESTIONS: tuple[AttributeQuestion, ...] = (
    AttributeQuestion(
        "multi_scene_input",
        "Does the task input consist of multiple images depicting different scenes?",
    ),
    AttributeQuestion(
        "same_spatial_size",
        "Are the output spatial dimensions (height and width) the same as the input?",
    ),
    AttributeQuestion("geometric_output", "Does the task output contain geometric information?"),
    AttributeQuestion(
        "object_classification_output", "Does the task output contain classification of objects?"
    ),
    AttributeQuestion("needs_3d", "Does the task require 3D knowledge?"),
    AttributeQuestion("generative", "Is the task a generative task?"),
    AttributeQuestion("single_channel_output", "Is the task output a single channel output?"),
    AttributeQuestion("more_than_one_input", "Does the task have more than one input?"),
    AttributeQuestion("more_than_two_inputs", "Does the task have more than two inputs?"),
    AttributeQuestion(
        "first_order_output",
        "Is the task output the result of a first order operation (e.g. edges as opposed to "
        "curvature)?",
    ),
    AttributeQuestion(
        "generates_new_information", "Does the task require generating new information?"
    ),
    AttributeQuestion("object_knowledge", "Does the task require knowledge of objects?"),
    AttributeQuestion("color_light_knowledge", "Does the task require knowledge of colors/light?"),
    AttributeQuestion("camera_pose", "Does the task involve camera pose estimation?"),
    AttributeQuestion("pixel_alignment", "Does the task involve pixel alignment?"),
)

# Supplement table 7, typed in from the paper: one row per task, dimensions 0..14 left to right.
# The extracted text of the table is clean (25 rows of 15 tab-separated 0/1 values; all rows are
# distinct). Rows that look odd against the questions are kept exactly as printed:
# * Curvatures has dimension 9 ("first order operation") = 1, although the question's own example
#   names curvature as NOT first order (Edge-2D, the other example, has 0); Segmentation-Semantic
#   also has dimension 9 = 1.
# * Depth has dimension 13 ("camera pose estimation") = 1.
# * Segmentation-3D has dimensions 7 and 8 (more than one / two inputs) = 1, matching the paper's
#   description "based on both the image and depth image and surface normals".
_ATTRIBUTE_ROWS: tuple[tuple[str, str], ...] = (
    #                                    dimension 0 1 2 3 4 5 6 7 8 9 10-14
    ("Autoencoder", "0 1 0 0 0 1 0 0 0 0 0 0 0 0 0"),
    ("Colorization", "0 1 0 0 0 1 0 0 0 0 1 0 1 0 0"),
    ("Curvatures", "0 1 1 0 1 0 0 0 0 1 0 0 0 0 0"),
    ("Denoising-Autoencoder", "0 1 0 0 0 1 0 0 0 0 1 0 0 0 0"),
    ("Depth", "0 1 1 0 1 0 1 0 0 0 0 0 0 1 0"),
    ("Edge-2D", "0 1 1 0 0 0 1 0 0 0 0 0 0 0 0"),
    ("Edge-3D", "0 1 1 0 1 0 1 0 0 0 0 1 0 0 0"),
    ("Euclidean-Distance", "0 1 1 0 1 0 1 0 0 0 0 0 0 0 0"),
    ("Inpainting", "0 1 0 0 0 1 0 0 0 0 1 1 1 0 0"),
    ("Jigsaw-Puzzle", "0 0 0 0 0 0 1 0 0 0 0 0 0 0 0"),
    ("Keypoint-2D", "0 1 0 0 0 0 1 0 0 0 0 0 0 0 0"),
    ("Keypoint-3D", "0 1 0 0 1 0 1 0 0 0 0 0 0 0 0"),
    ("Object-Classification", "0 0 0 1 0 0 1 0 0 0 0 1 0 0 0"),
    ("Reshading", "0 1 1 0 1 0 1 0 0 0 0 0 1 0 0"),
    ("Room-Layout", "0 0 1 0 1 0 1 0 0 0 0 0 0 1 0"),
    ("Scene-Classification", "0 0 0 1 0 0 1 0 0 0 0 0 0 0 0"),
    ("Segmentation-2D", "0 1 0 0 0 0 0 0 0 0 0 0 0 0 0"),
    ("Segmentation-3D", "0 1 0 0 1 0 0 1 1 0 0 0 0 0 0"),
    ("Segmentation-Semantic", "0 1 0 1 0 0 0 0 0 1 0 1 0 0 0"),
    ("Surface-Normal", "0 1 1 0 1 0 0 0 0 0 0 0 0 0 0"),
    ("Vanishing-Point", "0 0 1 0 1 0 1 0 0 0 0 0 0 0 0"),
    ("Pairwise-Nonfixated-Camera-Pose", "1 0 1 0 1 0 1 1 0 0 0 0 0 1 0"),
    ("Pairwise-Fixated-Camera-Pose", "1 0 1 0 1 0 1 1 0 0 0 0 0 1 1"),
    ("Triplet-Fixated-Camera-Pose", "1 0 1 0 1 0 1 1 1 0 0 0 0 1 1"),
    ("Point-Matching", "1 0 0 0 0 0 1 1 0 0 0 0 0 0 1"),
)


class TaskAttributes(NamedTuple):
    """The attribute base representation of the Taskonomy tasks (supplement tables 6 and 7).

    Unpacks as ``tasks, questions, matrix``.

    Attributes:
        tasks: the 25 Task2Box names, in the order of :data:`TASK_NAMES` (= the affinity table's).
        questions: the 15 :class:`AttributeQuestion` of table 6, in dimension order.
        matrix: ``(25, 15)`` float32 tensor of 0.0 / 1.0; ``matrix[i, k] = 1`` when the answer to
            question ``k`` for task ``i`` is yes.
    """

    tasks: tuple[str, ...]
    questions: tuple[AttributeQuestion, ...]
    matrix: torch.Tensor


def task_attributes() -> TaskAttributes:
    """The 15 yes/no attributes of each of the 25 Taskonomy tasks, as in the paper (chapter 2).

    Returns:
        :class:`TaskAttributes`: ``tasks`` (25 names), ``questions`` (15), ``matrix`` ``(25, 15)``
        float32 of 0/1 -- a fresh tensor on each call, on the CPU.
    """
    rows = dict(_ATTRIBUTE_ROWS)
    matrix = torch.tensor(
        [[float(bit) for bit in rows[name].split()] for name in TASK_NAMES], dtype=torch.float32
    )
    return TaskAttributes(tasks=TASK_NAMES, questions=ATTRIBUTE_QUESTIONS, matrix=matrix)
