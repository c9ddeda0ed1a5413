"""What a committed page must be (taskspace.book.pages) and the claims behind its sentences."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from taskspace import results
from taskspace.book import pages, student_copy
from taskspace.book.claims import claim_report

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
EXERCISE = "```{admonition} Exercise\nPredict x + 1, then compute it.\n```"
ANSWER = ":::{admonition} Answer\n:class: dropdown\nIt is two, as the folded code prints.\n:::"


def write(path: Path, *cells: nbformat.NotebookNode) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = list(cells)
    nbformat.write(notebook, path)
    return path


def markdown(text: str, *tags: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": list(tags)} if tags else {})


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(text, metadata={"tags": list(tags)} if tags else {})


def test_a_typed_decimal_fails_unless_glued_or_listed(tmp_path: Path) -> None:
    path = write(tmp_path / "03_demo.ipynb", markdown("The F1 is 0.542, against 0.61 here."))
    problems = pages.typed_number_problems(path, allowed=set())
    assert [re.search(r"number (\S+):", p).group(1) for p in problems] == ["0.542", "0.61"]
    assert pages.typed_number_problems(path, allowed={"0.542", "0.61"}) == []
    glued = write(
        tmp_path / "04_demo.ipynb",
        markdown("The F1 is {glue:text}`f1:.3f` ([Table 2](https://x.org/v1.5))."),
    )
    assert pages.typed_number_problems(glued, allowed=set()) == []


def test_typed_constants_are_read_per_chapter(tmp_path: Path) -> None:
    (tmp_path / pages.TYPED_NUMBERS).write_text('03_demo:\n  "0.542": paper, Table 2\n04_x: {}\n')
    assert pages.typed_constants(tmp_path) == {"03_demo": {"0.542"}, "04_x": set()}


def test_exercises_need_a_folded_tagged_answer(tmp_path: Path) -> None:
    def good() -> list[nbformat.NotebookNode]:
        return [
            markdown(EXERCISE),
            code("y = 2", "solution", "hide-cell"),
            markdown(ANSWER, "solution"),
        ]

    path = write(tmp_path / "a.ipynb", *good(), *good())
    assert pages.exercise_problems(path) == []
    leaked = write(
        tmp_path / "b.ipynb",
        *good(),
        markdown(EXERCISE),
        code("y = 2", "solution", "hide-cell"),
        markdown("It is two: the answer, untagged."),
    )
    (problem,) = pages.exercise_problems(leaked)
    assert "no written answer" in problem
    thought_only = write(
        tmp_path / "c.ipynb", *good(), markdown(EXERCISE), markdown(ANSWER, "solution")
    )
    assert pages.exercise_problems(thought_only) == []
    one = write(tmp_path / "d.ipynb", *good())
    assert "1 exercise(s)" in pages.exercise_problems(one)[0]


def test_wide_printed_lines_are_found_rich_outputs_are_not(tmp_path: Path) -> None:
    cell = code("print(...)")
    cell.outputs = [
        nbformat.v4.new_output("stream", text="short\n" + "x" * (pages.OUTPUT_COLUMNS + 1)),
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<table/>", "text/plain": "y" * 200}
        ),
    ]
    path = write(tmp_path / "a.ipynb", cell)
    (problem,) = pages.width_problems(path)
    assert "1 line(s) wider than 78" in problem
    cell.outputs = cell.outputs[1:]
    assert pages.width_problems(write(tmp_path / "b.ipynb", cell)) == []


def test_figures_need_caption_name_and_alt_text(tmp_path: Path) -> None:
    cell = code("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})]
    (problem,) = pages.figure_problems(write(tmp_path / "a.ipynb", cell))
    assert "figure.caption, figure.name, image.alt" in problem
    cell.metadata["mystnb"] = {
        "figure": {"caption": "Boxes.", "name": "fig-boxes"},
        "image": {"alt": "Two boxes"},
    }
    assert pages.figure_problems(write(tmp_path / "b.ipynb", cell)) == []


def test_claims_are_recorded_with_numbers_and_failed_ones_reported(tmp_path: Path) -> None:
    results.use("05_demo", scale="fast", results_dir=tmp_path / "results")
    results.claim_above("five_beats_three", "5-D beats 3-D", high=0.61, low=0.55, spread=0.02)
    results.claim_level("level_seeds", "the seeds are level", a=0.61, b=0.55, spread=0.02)
    recorded = json.loads((tmp_path / "results" / "05_demo.json").read_text())
    assert recorded["claims.five_beats_three"] == {
        "value": True,
        "note": "5-D beats 3-D",
        "numbers": {"high": 0.61, "low": 0.55, "spread": 0.02},
    }
    report, n_failed = claim_report(tmp_path / "results")
    assert n_failed == 1
    assert "05_demo: 1 of 2 claims hold" in report
    assert "DOES NOT HOLD level_seeds: the seeds are level (a = 0.61, b = 0.55" in report
    chapter = write(tmp_path / "05_demo.ipynb", markdown("text"))
    (problem,) = pages.claim_problems(chapter)
    assert "'claims.level_seeds' does not hold" in problem


@pytest.mark.parametrize(
    ("a", "b", "verdict"), [(0.9, 0.8, "above"), (0.8, 0.9, "below"), (0.85, 0.86, "level with")]
)
def test_compare_calls_a_difference_inside_the_spread_level(
    a: float, b: float, verdict: str
) -> None:
    assert results.compare(a, b, spread=0.02) == verdict


def _answer_sentences(notebook: nbformat.NotebookNode) -> list[str]:
    """Sentences of at least six words from the chapter's written answers (markdown cells
    tagged solution); the solution code goes with its cells, and may share lines with the text."""
    sentences = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown" or "solution" not in cell.metadata.get("tags", []):
            continue
        text = re.sub(r"^(:::+|```+).*$|^:class:.*$", " ", cell.source, flags=re.M)
        pieces = re.split(r"(?<=[.!?:;])\s+|\n\s*\n", text)
        sentences += [" ".join(p.split()) for p in pieces if len(p.split()) >= 6]
    return sentences


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_student_copies_hold_no_sentence_of_an_answer(chapter: Path, tmp_path: Path) -> None:
    assert not pages.exercise_problems(chapter), pages.exercise_problems(chapter)
    (copy,) = student_copy([chapter], tmp_path)
    copied = nbformat.read(copy, as_version=4)
    text = " ".join(" ".join(cell.source.split()) for cell in copied.cells)
    leaked = [
        sentence
        for sentence in _answer_sentences(nbformat.read(chapter, as_version=4))
        if sentence in text
    ]
    assert not leaked, f"{chapter.name}: the student copy gives answers away: {leaked[:3]}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_committed_outputs_fit_the_column(chapter: Path) -> None:
    assert not pages.width_problems(chapter), "\n".join(pages.width_problems(chapter))


@pytest.mark.parametrize("text", ["03_demo: {}\n<<<<<<< HEAD\n04_x: {}\n", "03_demo: [0.5]\n"])
def test_a_malformed_list_of_typed_constants_is_named(tmp_path: Path, text: str) -> None:
    (tmp_path / pages.TYPED_NUMBERS).write_text(text)
    with pytest.raises(ValueError, match=r"typed_numbers\.yml"):
        pages.typed_constants(tmp_path)


def test_a_figure_cell_shows_one_image_and_nothing_else_rich(tmp_path: Path) -> None:
    cell = code("plot()")
    cell.metadata["mystnb"] = {
        "figure": {"caption": "Boxes.", "name": "fig-boxes"},
        "image": {"alt": "Two boxes"},
    }
    (problem,) = pages.figure_problems(write(tmp_path / "a.ipynb", cell))
    assert "shows 0 image(s)" in problem, "a figure cell whose figure did not show"
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result", data={"text/markdown": "| a |"}, execution_count=1
        ),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"}),
    ]
    (problem,) = pages.figure_problems(write(tmp_path / "b.ipynb", cell))
    assert "1 table(s)" in problem


def test_the_opening_box_needs_goals_reading_time_and_the_run_page(tmp_path: Path) -> None:
    box = (
        ":::{admonition} In this chapter\n**You will learn to**\n\n* draw a box;\n\n"
        "**Reading time:** 20 minutes. How to run it: {ref}`run-this-book`.\n:::"
    )
    assert pages.header_problems(write(tmp_path / "a.ipynb", markdown(box))) == []
    (problem,) = pages.header_problems(
        write(tmp_path / "b.ipynb", markdown(box.replace("Reading time", "Time")))
    )
    assert "has no reading time" in problem
    assert (
        "no 'In this chapter' box"
        in pages.header_problems(write(tmp_path / "c.ipynb", markdown("# Title")))[0]
    )
