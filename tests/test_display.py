"""Printing within the page's column (taskspace.display)."""

from __future__ import annotations

import pytest

from taskspace.display import OUTPUT_COLUMNS, show


def test_show_wraps_each_line_to_the_column(capsys: pytest.CaptureFixture[str]) -> None:
    show("word " * 40, "short\n\nsecond paragraph")
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= OUTPUT_COLUMNS
    assert lines[1].startswith("    word"), "continuation lines are indented"
    assert lines[-3:] == ["short", "", "second paragraph"], "short lines and blank lines stay"
