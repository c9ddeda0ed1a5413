"""Every chapter runs end to end at scale "fast" and records its results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskspace import book

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_at_fast_scale(chapter: Path, tmp_path: Path) -> None:
    (executed,) = book.run([chapter], scale="fast", output_dir=tmp_path)
    assert executed.exists()
    recorded = json.loads((tmp_path / "results" / f"{chapter.stem}.json").read_text())
    assert recorded, f"{chapter.name} recorded no results"
