"""Every chapter runs end to end at scale "fast" and records its results."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from docutils.core import publish_string
from myst_parser.parsers.docutils_ import Parser

from taskspace import book
from taskspace.book.claims import claim_report

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_at_fast_scale(chapter: Path, tmp_path: Path) -> None:
    (executed,) = book.run([chapter], scale="fast", output_dir=tmp_path)
    assert executed.exists()
    recorded = json.loads((tmp_path / "results" / f"{chapter.stem}.json").read_text())
    assert recorded, f"{chapter.name} recorded no results"
    too_small = [
        output["text"]
        for cell in nbformat.read(executed, as_version=4).cells
        for output in cell.get("outputs", [])
        if "FigureTextWarning" in output.get("text", "")
    ]
    assert not too_small, f"{chapter.name} has figures too small to read: {too_small}"


FLIPPED = "This claim does not hold on this run"


@pytest.mark.notebooks
def test_a_setting_that_flips_a_claim_shows_it_on_the_page_and_in_the_report(
    tmp_path: Path,
) -> None:
    """Chapter 1 claims that the instrument nodes holding at least MIN_CLASSES ImageNet classes
    outnumber the paper's 131 datasets; with MIN_CLASSES = 3 there are 86, and the run says so."""
    chapter = next(c for c in CHAPTERS if c.stem == "01_tasks_and_data")
    (executed,) = book.run([chapter], "fast", tmp_path, parameters={"MIN_CLASSES": 3})
    shown = [
        output["data"]["text/markdown"]
        for cell in nbformat.read(executed, as_version=4).cells
        for output in cell.get("outputs", [])
        if FLIPPED in output.get("data", {}).get("text/markdown", "")
    ]
    assert len(shown) == 1, "exactly the one claim that depends on MIN_CLASSES fails"
    assert "at least 3 ImageNet classes" in shown[0] and "high = 86" in shown[0]
    settings = {"myst_enable_extensions": ["colon_fence"]}  # as the book's _config.yml
    page = publish_string(
        shown[0], parser=Parser(), writer_name="html5", settings_overrides=settings
    ).decode()
    assert 'class="admonition warning"' in page and FLIPPED in page
    report, n_failed = claim_report(tmp_path / "results")
    assert n_failed == 1
    assert "DOES NOT HOLD instrument_datasets_above_paper" in report
