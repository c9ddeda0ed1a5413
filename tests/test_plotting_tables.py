"""Tables render the cells they are given, as markdown and as aligned text, and refuse ragged rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from taskspace.plotting.tables import Table, mean_std


def test_mean_std_skips_nan_and_marks_empty() -> None:
    assert mean_std([1.0, 3.0, math.nan]) == "2.00 ± 1.00"
    assert mean_std(np.array([0.5]), digits=1) == "0.5 ± 0.0"
    assert mean_std([math.nan]) == "–"


def test_markdown_has_a_header_a_rule_and_one_line_per_row() -> None:
    table = Table.from_rows(
        [{"k": 2, "rho": 0.8712, "note": "a|b"}, {"k": 5, "rho": math.nan, "note": ""}],
        caption="Spearman",
    )
    lines = table._repr_markdown_().splitlines()
    assert lines[0] == "**Spearman**"
    assert lines[2:] == [
        "| k | rho | note |",
        "|---|---|---|",
        "| 2 | 0.87 | a\\|b |",
        "| 5 | – |  |",
    ]


def test_text_columns_are_aligned() -> None:
    table = Table.from_rows([{"name": "boxes", "F1": 60.6}, {"name": "MLP", "F1": 7.25}], digits=1)
    lines = str(table).splitlines()
    assert lines == ["name   F1", "-----  ----", "boxes  60.6", "MLP    7.2"]
    assert repr(table) == str(table)


def test_ragged_rows_are_named() -> None:
    with pytest.raises(ValueError, match=r"row 1 .* missing \['b'\], extra \['c'\]"):
        Table.from_rows([{"a": 1, "b": 2}, {"a": 1, "c": 2}])
    with pytest.raises(ValueError, match="row 0 has 1 cells for 2 columns"):
        Table(("a", "b"), (("x",),))
    with pytest.raises(ValueError, match="at least one row"):
        Table.from_rows([])
