"""Labels placed next to points (chapter 2's maps): no two labels overlap where there is room."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

from taskspace.plotting.labels import label_points


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _text_box(annotation):
    renderer = annotation.figure.canvas.get_renderer()
    annotation.update_positions(renderer)
    return Text.get_window_extent(annotation, renderer)


def test_crowded_labels_do_not_overlap_each_other_or_other_points() -> None:
    # six points closer together than a label is wide, in the middle of empty axes
    points = np.array(
        [[0.0, 0.0], [0.01, 0.0], [0.0, 0.01], [0.01, 0.01], [0.005, 0.0], [0, 0.005]]
    )
    texts = ["T-shirt/top", "Shirt", "Coat", "Pullover", "tops", "clothing"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(points[:, 0], points[:, 1])
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1, 1)
    annotations = label_points(ax, points, texts)
    boxes = [_text_box(a) for a in annotations]
    assert [a.get_text() for a in annotations] == texts
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
    # every label still points at its own point, and those moved away are joined to it by a line
    assert all(np.allclose(a.xy, p) for a, p in zip(annotations, points, strict=True))
    assert any(a.arrow_patch is not None for a in annotations)
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)


def test_a_lone_point_keeps_its_label_next_to_it_without_a_line() -> None:
    _, ax = plt.subplots()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    (annotation,) = label_points(ax, np.array([[0.5, 0.5]]), ["alone"])
    assert annotation.arrow_patch is None
    assert np.hypot(*annotation.xyann) <= 5


def test_labels_avoid_obstacle_points() -> None:
    _, ax = plt.subplots()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    # an obstacle just up and right of the labelled point, where the label would go first
    obstacles = np.array([[0.5, 0.5], [0.53, 0.52]])
    (annotation,) = label_points(ax, obstacles[:1], ["label"], obstacles=obstacles)
    box = _text_box(annotation)
    assert not box.contains(*ax.transData.transform(obstacles[1]))


def test_one_text_per_point_is_required() -> None:
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="one text per point"):
        label_points(ax, np.zeros((2, 2)), ["only one"])
