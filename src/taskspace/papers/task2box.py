"""TASK2BOX's published numbers (Daroya, Sun & Maji, CVPR 2024), each table once.

Chapters 4 (hierarchies), 5 (Taskonomy) and 6 (baselines) compare their results with these
tables; they read them from here. Where each table is printed:

* **Table 1** (main paper, section 5.1): F1 (%) of predicting "dataset i is inside dataset j" on
  iNaturalist + CUB, for existing datasets (held-out pairs) and novel datasets.
* **Table 2** (main paper, section 5.1): the same on ImageNet's instrument-related datasets.
* **Table 3** (main paper, section 5.2): Spearman's rho between predicted and measured
  Taskonomy transfer affinities, mean and std, existing and novel tasks.
* **Supplement table 4** (supplement, section 7): the loss ablation, 5-D boxes on mu_CLIP.
* **Supplement table 5** (supplement, section 7): trained on only 50 % of the relations between
  existing datasets.

F1 values are in per cent, as printed; rho values as printed (two decimals). Only the CLIP
columns of tables 1, 2 and 5 are kept (``mu`` = mu_CLIP, ``mu_sigma2`` = [mu, sigma^2]_CLIP): the
book computes no Task2Vec (FIM) representation of these hierarchies. A cell the paper prints as
"-" is absent. Method keys: ``task2box_2d`` / ``task2box_3d`` / ``task2box_5d`` (see
:func:`box_method`), ``mlp``, ``linear``, ``kl``, ``asym_cosine``, ``asym_euclidean``,
``random``.

Checked against the text of the paper and its supplement: tables 1, 3, 4 and 5 number for number.
Table 2 is missing from the stored text of the main paper; its values were transcribed from the
printed table. Supplement table 5's column headers are garbled in the stored text; its first
group of columns is read as iNaturalist + CUB and its second as ImageNet, the order of tables 1
and 2 and of supplement table 4 (iNat + CUB 84.67, ImageNet 90.58).
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

__all__ = [
    "COLUMNS",
    "HALF_RELATIONS_F1",
    "HALF_RELATIONS_SPEARMAN",
    "HIERARCHY_F1",
    "LOSS_ABLATION",
    "SOURCES",
    "TASKONOMY_SPEARMAN",
    "MeanStd",
    "Spearman",
    "box_method",
    "f1_by_dimension",
    "f1_row",
]

Hierarchy = Literal["inat", "imagenet"]
Feature = Literal["mu", "mu_sigma2"]
Part = Literal["existing", "novel"]
Cell = tuple[Feature, Part]

SOURCES: Final[dict[str, str]] = {
    "table_1": "TASK2BOX, table 1 (main paper, section 5.1): F1 %, iNaturalist + CUB",
    "table_2": "TASK2BOX, table 2 (main paper, section 5.1): F1 %, ImageNet instruments",
    "table_3": "TASK2BOX, table 3 (main paper, section 5.2): Spearman's rho, Taskonomy",
    "table_4": "TASK2BOX, supplement table 4 (section 7): loss ablation, 5-D boxes on mu_CLIP",
    "table_5": "TASK2BOX, supplement table 5 (section 7): trained on 50 % of the relations",
}
"""Where each table is printed, keyed ``table_N``; cite these strings beside a comparison."""


class MeanStd(NamedTuple):
    """A value printed as "mean ± std" (over the paper's random draws)."""

    mean: float
    std: float


class Spearman(NamedTuple):
    """One row of table 3: rho on existing and on novel Taskonomy tasks."""

    existing: MeanStd
    novel: MeanStd


def box_method(k: int) -> str:
    """The method key of TASK2BOX with ``k``-D boxes (``task2box_5d``), as the tables spell it."""
    if k not in (2, 3, 5):
        raise ValueError(f"the paper's tables print 2-, 3- and 5-D boxes only, not {k}-D")
    return f"task2box_{k}d"


def _row(
    existing: tuple[float | None, float | None], novel: tuple[float | None, float | None]
) -> dict[Cell, float]:
    """One method's CLIP cells from (mu, [mu, sigma^2]) pairs; ``None`` = printed as "-"."""
    cells: dict[Cell, float] = {}
    for part, values in (("existing", existing), ("novel", novel)):
        for feature, value in zip(("mu", "mu_sigma2"), values, strict=True):
            if value is not None:
                cells[feature, part] = value
    return cells


HIERARCHY_F1: Final[dict[Hierarchy, dict[str, dict[Cell, float]]]] = {
    "inat": {  # table 1
        "task2box_2d": _row((69.23, 67.84), (50.07, 39.66)),
        "task2box_3d": _row((79.66, 79.35), (70.04, 64.53)),
        "task2box_5d": _row((84.67, 82.41), (73.79, 72.11)),
        "mlp": _row((45.25, 61.45), (39.06, 44.54)),
        "linear": _row((4.40, 3.11), (4.77, 5.87)),
        "kl": _row((None, 6.58), (None, 5.90)),
        "asym_cosine": _row((9.29, 11.54), (1.47, 1.47)),
        "asym_euclidean": _row((1.71, 1.71), (1.47, 1.47)),
        "random": _row((2.06, None), (1.49, None)),
    },
    "imagenet": {  # table 2
        "task2box_2d": _row((62.72, 63.33), (47.76, 48.35)),
        "task2box_3d": _row((83.12, 82.79), (73.06, 66.48)),
        "task2box_5d": _row((90.58, 88.48), (76.95, 78.84)),
        "mlp": _row((54.20, 60.43), (62.24, 64.56)),
        "linear": _row((9.84, 8.33), (11.89, 11.87)),
        "kl": _row((None, 5.53), (None, 10.41)),
        "asym_cosine": _row((4.28, 4.28), (4.52, 4.52)),
        "asym_euclidean": _row((3.73, 3.73), (4.52, 4.52)),
        "random": _row((3.64, None), (5.02, None)),
    },
}
"""Tables 1 and 2: ``HIERARCHY_F1[hierarchy][method][feature, part]`` = F1 %.

``random`` is one number per part, printed across the feature columns; it is stored under
``mu``. The KL divergence needs a distribution, so it has no ``mu`` cell.
"""

TASKONOMY_SPEARMAN: Final[dict[str, Spearman]] = {  # table 3
    "task2box_2d": Spearman(MeanStd(0.85, 0.06), MeanStd(0.12, 0.21)),
    "task2box_3d": Spearman(MeanStd(0.93, 0.02), MeanStd(0.48, 0.24)),
    "task2box_5d": Spearman(MeanStd(0.94, 0.03), MeanStd(0.39, 0.22)),
    "mlp": Spearman(MeanStd(0.88, 0.06), MeanStd(0.31, 0.18)),
    "linear": Spearman(MeanStd(0.75, 0.11), MeanStd(0.40, 0.24)),
    "random": Spearman(MeanStd(0.05, 0.14), MeanStd(0.15, 0.07)),
}
"""Table 3: ``TASKONOMY_SPEARMAN[method]`` = rho (mean, std) on existing and novel tasks."""

LOSS_ABLATION: Final[dict[str, dict[str, float]]] = {  # supplement table 4
    "inat": {"all": 84.67, "no_overlap": 4.60, "no_distance": 84.56, "no_regularization": 84.21},
    "imagenet": {
        "all": 90.58,
        "no_overlap": 3.25,
        "no_distance": 89.02,
        "no_regularization": 89.76,
    },
    "taskonomy": {"all": 0.94, "no_overlap": 0.26, "no_distance": 0.62, "no_regularization": 0.93},
}
"""Supplement table 4, 5-D boxes: F1 % (``inat``, ``imagenet``) or rho (``taskonomy``) with all
loss terms and without the overlap term L_E, the distance term L_D or the regularisation L_R."""

HALF_RELATIONS_F1: Final[dict[Hierarchy, dict[str, dict[Feature, float]]]] = {  # supp. table 5
    "inat": {
        "task2box_2d": {"mu": 51.94, "mu_sigma2": 51.07},
        "task2box_3d": {"mu": 67.26, "mu_sigma2": 66.68},
        "task2box_5d": {"mu": 74.09, "mu_sigma2": 72.89},
        "mlp": {"mu": 45.44, "mu_sigma2": 52.24},
        "linear": {"mu": 12.75, "mu_sigma2": 10.47},
    },
    "imagenet": {
        "task2box_2d": {"mu": 53.52, "mu_sigma2": 51.78},
        "task2box_3d": {"mu": 63.78, "mu_sigma2": 65.38},
        "task2box_5d": {"mu": 68.11, "mu_sigma2": 68.60},
        "mlp": {"mu": 43.42, "mu_sigma2": 55.08},
        "linear": {"mu": 3.53, "mu_sigma2": 5.63},
    },
}
"""Supplement table 5: F1 % on existing datasets when trained on 50 % of their relations."""

HALF_RELATIONS_SPEARMAN: Final[dict[str, MeanStd]] = {  # supplement table 5, Taskonomy column
    "task2box_2d": MeanStd(0.82, 0.06),
    "task2box_3d": MeanStd(0.90, 0.02),
    "task2box_5d": MeanStd(0.92, 0.03),
    "mlp": MeanStd(0.77, 0.06),
    "linear": MeanStd(0.70, 0.05),
}
"""Supplement table 5: Taskonomy rho (existing tasks) when trained on 50 % of the relations."""

COLUMNS: Final[tuple[Cell, ...]] = (
    ("mu", "existing"),
    ("mu_sigma2", "existing"),
    ("mu", "novel"),
    ("mu_sigma2", "novel"),
)
"""The order of :func:`f1_row`'s values: the CLIP columns of tables 1 and 2, left to right."""


def f1_row(hierarchy: Hierarchy, method: str) -> tuple[float | None, ...]:
    """One method's F1 % of table 1 or 2 in :data:`COLUMNS` order (``None`` = "-").

    Chapter 6 prints its baselines beside this row.
    """
    cells = _method_cells(hierarchy, method)
    return tuple(cells.get(cell) for cell in COLUMNS)


def f1_by_dimension(hierarchy: Hierarchy) -> dict[tuple[str, Part], dict[int, float]]:
    """TASK2BOX's F1 % per box dimension ``k``, the shape chapter 4 compares with.

    Keys ``(feature, part)`` hold tables 1 / 2 (``{k: F1}`` for k = 2, 3, 5); the key
    ``("half", "existing")`` holds supplement table 5's mu column (trained on half of the pairs).
    """
    cells = {box_method(k): _method_cells(hierarchy, box_method(k)) for k in (2, 3, 5)}
    shaped: dict[tuple[str, Part], dict[int, float]] = {
        cell: {k: cells[box_method(k)][cell] for k in (2, 3, 5)} for cell in COLUMNS
    }
    half = HALF_RELATIONS_F1[hierarchy]
    shaped["half", "existing"] = {k: half[box_method(k)]["mu"] for k in (2, 3, 5)}
    return shaped


def _method_cells(hierarchy: str, method: str) -> dict[Cell, float]:
    """``HIERARCHY_F1[hierarchy][method]`` with an error that names what the tables hold."""
    if hierarchy not in HIERARCHY_F1:
        raise KeyError(
            f"no F1 table for hierarchy {hierarchy!r}; tables 1 and 2 hold {list(HIERARCHY_F1)}"
        )
    table = HIERARCHY_F1[hierarchy]  # type: ignore[index]
    if method not in table:
        raise KeyError(
            f"method {method!r} is not in the paper's table for {hierarchy}: {list(table)}"
        )
    return table[method]
