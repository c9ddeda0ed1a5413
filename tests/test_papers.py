"""The papers' tables: a few printed values, and the shapes the chapters read."""

import pytest

from taskspace.papers import task2box


def test_task2box_hierarchy_tables_hold_printed_values():
    f1 = task2box.HIERARCHY_F1
    assert f1["inat"]["task2box_5d"]["mu", "existing"] == 84.67  # table 1
    assert f1["inat"]["task2box_2d"]["mu_sigma2", "novel"] == 39.66
    assert f1["imagenet"]["task2box_5d"]["mu", "novel"] == 76.95  # table 2
    assert ("mu", "existing") not in f1["imagenet"]["kl"]  # printed as "-"
    assert set(f1["inat"]) == set(f1["imagenet"])
    for table in f1.values():
        for method, cells in table.items():
            assert all(0 < value < 100 for value in cells.values()), method
            full = method not in ("kl", "random")  # "-" or one number across columns
            assert len(cells) == (4 if full else 2), method


def test_task2box_views_serve_the_chapters():
    assert task2box.f1_row("imagenet", "kl") == (None, 5.53, None, 10.41)
    by_k = task2box.f1_by_dimension("inat")
    assert by_k["mu", "existing"] == {2: 69.23, 3: 79.66, 5: 84.67}
    assert by_k["half", "existing"][5] == 74.09  # supplement table 5
    (mean, std), novel = task2box.TASKONOMY_SPEARMAN[task2box.box_method(5)]
    assert (mean, std, novel.mean) == (0.94, 0.03, 0.39)  # table 3
    assert task2box.LOSS_ABLATION["taskonomy"]["no_distance"] == 0.62  # supplement table 4
    assert task2box.LOSS_ABLATION["inat"]["all"] == by_k["mu", "existing"][5]
    assert set(task2box.SOURCES) == {f"table_{n}" for n in range(1, 6)}


def test_task2box_names_what_is_missing():
    with pytest.raises(ValueError, match="2-, 3- and 5-D"):
        task2box.box_method(4)
    with pytest.raises(KeyError, match="tables 1 and 2 hold"):
        task2box.f1_row("cub", "mlp")
    with pytest.raises(KeyError, match="'svm' is not in"):
        task2box.f1_row("inat", "svm")
