"""Task styles name every task by one (colour, marker) pair, coloured by group."""

from __future__ import annotations

import pytest

from taskspace.plotting.taskonomy import MARKERS, task_styles

NAMES = ["a", "b", "c", "d", "e"]
GROUPS = ["x", "y", "x", "y", "x"]


def test_task_styles_share_colours_within_groups_and_never_repeat_a_pair():
    styles = task_styles(NAMES, GROUPS)
    assert list(styles) == ["a", "c", "e", "b", "d"]  # grouped, in order of first appearance
    assert styles["a"]["color"] == styles["c"]["color"] == styles["e"]["color"]
    assert styles["a"]["color"] != styles["b"]["color"]
    pairs = {(s["color"], s["marker"]) for s in styles.values()}
    assert len(pairs) == len(NAMES)
    assert [styles[n]["marker"] for n in ("a", "c", "e")] == list(MARKERS[:3])


def test_task_styles_refuse_what_they_cannot_tell_apart():
    with pytest.raises(ValueError, match="distinct"):
        task_styles(["a", "a"], ["x", "x"])
    with pytest.raises(ValueError, match="more than the markers"):
        names = [str(i) for i in range(len(MARKERS) + 1)]
        task_styles(names, ["x"] * len(names))
    with pytest.raises(ValueError, match="at most 10 groups"):
        task_styles([str(i) for i in range(11)], [str(i) for i in range(11)])
