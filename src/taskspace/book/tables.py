"""Generated tables of the introduction: the book's numbers beside the papers', run times."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat

from taskspace.book.stamps import STAMP
from taskspace.book.toc import chapter_title
from taskspace.results import load_all

__all__ = ["results_table", "timings_table"]


def results_table(results_dir: Path, chapters_dir: Path | None = None) -> str:
    """Markdown for the intro: per chapter, a table of every recorded number that has a paper
    value beside it. Notes go under each table as numbered notes (one per distinct text), so
    the table stays four narrow columns wide; values are shown to 3 significant digits.

    Args:
        results_dir: the folder of ``<chapter>.json`` results files.
        chapters_dir: where ``<chapter>.ipynb`` lives, to title each table with the chapter's
            heading (default: the parent of ``results_dir``).
    """
    chapters_dir = chapters_dir if chapters_dir is not None else Path(results_dir).parent
    sections = []
    for chapter, entries in load_all(results_dir).items():
        compared = {key: entry for key, entry in entries.items() if "paper" in entry}
        if compared:
            sections.append(_chapter_table(chapter_title(chapters_dir, chapter), compared))
    if not sections:
        return "*No results with a paper value have been recorded yet.*\n"
    return "\n".join(sections)


def _chapter_table(title: str, entries: dict[str, dict]) -> str:
    notes: list[str] = []
    rows = []
    for key, entry in entries.items():
        value = _format(entry["value"])
        if "std" in entry:
            value += f" ± {_format(entry['std'], digits=2)}"
        note = str(entry.get("note", "")).strip()
        if note and note not in notes:
            notes.append(note)
        marker = f"[{notes.index(note) + 1}]" if note else ""
        rows.append(f"| `{key}` | {value} | {_format(entry['paper'])} | {marker} |")
    lines = [f"### {title}", "", "| result | this book | paper | note |", "|---|---|---|---|"]
    lines += [*rows, ""]
    lines += [f"{i}. {note}" for i, note in enumerate(notes, start=1)]
    return "\n".join(lines) + "\n"


def timings_table(notebooks: Iterable[Path]) -> str:
    """A markdown table of each chapter's last run time at scale ``book`` (from its stamp)."""
    rows = []
    for path in map(Path, notebooks):
        seconds = nbformat.read(path, as_version=4).metadata.get(STAMP, {}).get("seconds")
        shown = f"{seconds / 60:.1f} min" if seconds is not None else "not timed"
        rows.append(f"| {path.stem} | {shown} |")
    return (
        "| chapter | run time at scale `book` (2 CPU cores) |\n|---|---|\n" + "\n".join(rows) + "\n"
    )


def _format(value: object, digits: int = 3) -> str:
    """A number to ``digits`` significant digits (integers and text unchanged)."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)
