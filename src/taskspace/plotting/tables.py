"""Tables for the book: a notebook shows them as real (HTML) tables, a terminal as aligned text.

A chapter builds a :class:`Table` from rows of cells and leaves it as the last expression of a
cell. Jupyter renders it through ``_repr_markdown_`` (the built book turns that into an HTML
table that wraps at any page width); ``print(table)`` gives the same table as aligned text.
Numbers are formatted by the caller (:func:`mean_std` for the usual "mean ± std") so that the
table shows exactly the digits the prose quotes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Table", "mean_std"]


def mean_std(values: Sequence[float] | np.ndarray, digits: int = 2) -> str:
    """``"0.87 ± 0.06"``: the mean and population std of the finite ``values`` (R,).

    NaNs (a draw where a score is undefined) are left out; with no finite value the cell reads
    ``"–"``.
    """
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return "–"
    return f"{finite.mean():.{digits}f} ± {finite.std():.{digits}f}"


def _cell(value: object, digits: int) -> str:
    if isinstance(value, float | np.floating):
        return "–" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


@dataclass(frozen=True)
class Table:
    """A table of text cells: ``columns`` (C,) headers, ``rows`` (R, C) cells.

    Build it with :meth:`from_rows`; numbers left as floats are printed with ``digits`` decimals.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError("a table needs at least one column")
        for number, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"row {number} has {len(row)} cells for {len(self.columns)} columns "
                    f"{list(self.columns)}"
                )

    @classmethod
    def from_rows(
        cls, rows: Sequence[Mapping[str, object]], digits: int = 2, caption: str = ""
    ) -> Table:
        """One row per mapping, the columns in the order of the first row's keys.

        Every row must have the same keys: a missing or extra cell is named in the error.
        """
        if not rows:
            raise ValueError("a table needs at least one row")
        columns = tuple(rows[0])
        for number, row in enumerate(rows):
            if set(row) != set(columns):
                missing, extra = set(columns) - set(row), set(row) - set(columns)
                raise ValueError(
                    f"row {number} does not match the first row's columns: "
                    f"missing {sorted(missing)}, extra {sorted(extra)}"
                )
        cells = tuple(tuple(_cell(row[c], digits) for c in columns) for row in rows)
        return cls(columns, cells, caption)

    def _repr_markdown_(self) -> str:
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        lines = [line(self.columns), "|" + "---|" * len(self.columns)]
        lines += [line(row) for row in self.rows]
        if self.caption:
            lines = [f"**{self.caption}**", "", *lines]
        return "\n".join(lines)

    def __str__(self) -> str:
        widths = [
            max(len(cell) for cell in column)
            for column in zip(self.columns, *self.rows, strict=True)
        ]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

        lines = [line(self.columns), "  ".join("-" * w for w in widths)]
        lines += [line(row) for row in self.rows]
        if self.caption:
            lines = [self.caption, *lines]
        return "\n".join(line.rstrip() for line in lines)

    def __repr__(self) -> str:
        return str(self)
