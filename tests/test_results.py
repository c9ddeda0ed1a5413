"""The results registry: what is written, where, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from taskspace import results


def test_record_writes_flat_dotted_keys_with_optional_fields(tmp_path: Path) -> None:
    results.use("01_demo", scale="fast", results_dir=tmp_path)
    results.record("imagenet.n_nodes", np.int64(7), paper=131, note="WordNet 3.0")
    results.record("as.mean", torch.tensor(0.5), std=0.25)
    stored = json.loads((tmp_path / "01_demo.json").read_text())
    assert stored == {
        "as.mean": {"value": 0.5, "std": 0.25},
        "imagenet.n_nodes": {"value": 7, "paper": 131, "note": "WordNet 3.0"},
    }
    assert isinstance(stored["imagenet.n_nodes"]["value"], int)


def test_use_starts_a_fresh_file(tmp_path: Path) -> None:
    results.use("01_demo", scale="fast", results_dir=tmp_path)
    results.record("old", 1)
    results.use("01_demo", scale="fast", results_dir=tmp_path)
    results.record("new", 2)
    assert set(results.load_all(tmp_path)["01_demo"]) == {"new"}


@pytest.mark.parametrize(
    ("value", "error"), [(float("nan"), ValueError), (float("inf"), ValueError), ([1], TypeError)]
)
def test_non_numbers_are_refused(tmp_path: Path, value: object, error: type) -> None:
    results.use("01_demo", scale="fast", results_dir=tmp_path)
    with pytest.raises(error, match="'bad'"):
        results.record("bad", value)  # type: ignore[arg-type]


def test_key_with_spaces_is_refused(tmp_path: Path) -> None:
    results.use("01_demo", scale="fast", results_dir=tmp_path)
    with pytest.raises(ValueError, match="dotted names"):
        results.record("two words", 1)


def test_scales_other_than_book_never_write_into_the_book(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKSPACE_RESULTS_DIR", raising=False)
    assert results.default_results_dir("book") == tmp_path / "results"
    assert tmp_path not in results.default_results_dir("fast").parents
    monkeypatch.setenv("TASKSPACE_RESULTS_DIR", str(tmp_path / "elsewhere"))
    assert results.default_results_dir("book") == tmp_path / "elsewhere"
