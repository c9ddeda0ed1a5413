"""Styles for scatter plots with one series per Taskonomy task (chapter 5).

Twenty-five tasks are too many for one colour each: :func:`task_styles` gives every task its
group's colour and, within the group, its own marker, so that each (colour, marker) pair names
exactly one task and the legend stays unambiguous.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt

__all__ = ["MARKERS", "task_styles"]

#: Markers given to the tasks of one group, in order (a group may have at most this many tasks).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def task_styles(names: Sequence[str], groups: Sequence[str]) -> dict[str, dict[str, object]]:
    """``{name: {"color": ..., "marker": ...}}`` for ``ax.scatter(..., **styles[name])``.

    Args:
        names: ``N`` distinct task names.
        groups: ``N`` group names; one ``tab10`` colour per group, in order of first appearance.

    Returns:
        the styles, ordered by group (as the groups first appear) and, within a group, as
        ``names``: iterate over it to build a legend grouped by colour.
    """
    if len(names) != len(groups) or len(set(names)) != len(names):
        raise ValueError(f"need N distinct names and N groups, got {len(names)} and {len(groups)}")
    keys = list(dict.fromkeys(groups))
    if len(keys) > 10:
        raise ValueError(f"at most 10 groups (tab10 colours), got {len(keys)}")
    cmap = plt.get_cmap("tab10")
    styles: dict[str, dict[str, object]] = {}
    for g, key in enumerate(keys):
        members = [name for name, group in zip(names, groups, strict=True) if group == key]
        if len(members) > len(MARKERS):
            raise ValueError(f"group {key!r} has {len(members)} tasks, more than the markers")
        for name, marker in zip(members, MARKERS, strict=False):
            styles[name] = {"color": cmap(g), "marker": marker}
    return styles
