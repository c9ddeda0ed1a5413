"""Tests of taskspace.data.task_discovery: the authors' table of agreement scores."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from taskspace.data.resolve import DataNotFoundError
from taskspace.data.task_discovery import load_agreement_table, read_agreement_table


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_reads_task_sets_in_task_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "task_idx,task,as\n1,mlp,0.75\n0,mlp,0.5\n0,vit,1.0\n")
    table = read_agreement_table(path)
    assert list(table) == ["mlp", "vit"]
    assert torch.equal(table["mlp"], torch.tensor([0.5, 0.75], dtype=torch.float64))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("task_idx,task\n0,mlp\n", "missing column"),
        ("task_idx,task,as\n0,mlp,high\n", "line 2"),
        ("task_idx,task,as\n0,mlp,1.5\n", "not in"),
        ("task_idx,task,as\n0,mlp,0.5\n0,mlp,0.6\n", "repeated"),
    ],
)
def test_bad_tables_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_agreement_table(_write(tmp_path / "t.csv", text))


def test_the_authors_table_has_the_documented_means() -> None:
    try:
        table = load_agreement_table()
    except DataNotFoundError as error:
        pytest.skip(f"agreement_table.csv not available (set TASKSPACE_DATA): {error}")
    sizes = {name: scores.numel() for name, scores in table.items()}
    assert sizes == {"mlp": 32, "resnet18": 32, "resnet18_d8": 8, "vit": 32}
    means = {name: round(scores.mean().item(), 3) for name, scores in table.items()}
    assert means == {"mlp": 0.941, "resnet18": 0.879, "resnet18_d8": 0.931, "vit": 0.704}
