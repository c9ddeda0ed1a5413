"""Generated tables of the introduction: the book's numbers beside the papers', run times."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat

from taskspace.book.stamps import STAMP
from taskspace.book.toc import chapter_title
from taskspace.papers.headlines import HEADLINES, Headline, verdict
from taskspace.results import load_all

__all__ = ["results_table", "timings_table"]


def results_table(
    results_dir: Path,
    chapters_dir: Path | None = None,
    headlines: Sequence[Headline] = HEADLINES,
) -> str:
    """Markdown for the intro: per chapter, a table of its headline results beside the papers'.

    Each row gives what the number is, ours ± its spread, the paper's value, the data each was
    measured on, and a verdict computed from the numbers: *reproduces* (a difference within the
    larger spread) or *differs*, with the reason and a link to the section that explains it.

    Args:
        results_dir: the folder of ``<chapter>.json`` results files.
        chapters_dir: where ``<chapter>.ipynb`` lives (default: the parent of ``results_dir``),
            for the chapters' titles and the links into them.
        headlines: the rows (default: :data:`taskspace.papers.headlines.HEADLINES`).

    Raises:
        KeyError: a headline names a result its chapter did not record, or one with no paper value.
    """
    chapters_dir = chapters_dir if chapters_dir is not None else Path(results_dir).parent
    recorded = load_all(results_dir)
    sections = []
    for chapter in dict.fromkeys(headline.chapter for headline in headlines):
        if chapter not in recorded:
            continue
        rows = [_row(h, _entry(recorded, h)) for h in headlines if h.chapter == chapter]
        title = chapter_title(chapters_dir, chapter)
        sections.append(
            f"### [{title}]({chapter}.ipynb)\n\n"
            "| result | this book | paper | measured on | verdict |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )
    if not sections:
        return "*No results with a paper value have been recorded yet.*\n"
    return "\n".join(sections)


def _entry(recorded: dict[str, dict[str, dict]], headline: Headline) -> dict:
    entry = recorded[headline.chapter].get(headline.key)
    if entry is None or "paper" not in entry:
        raise KeyError(
            f"the intro's table lists {headline.key!r} of {headline.chapter}, which that chapter's "
            "results file does not hold with a paper value: re-run the chapter or fix "
            "taskspace.papers.headlines"
        )
    return entry


def _row(headline: Headline, entry: dict) -> str:
    ours = _format(entry["value"])
    if "std" in entry:
        ours += f" ± {_format(entry['std'], digits=2)}"
    paper = _format(entry["paper"])
    if headline.paper_std is not None:
        paper += f" ± {_format(headline.paper_std, digits=2)}"
    if verdict(entry["value"], entry.get("std"), entry["paper"], headline.paper_std):
        judged = "reproduces"
    else:
        why = f" ({headline.reason})" if headline.reason else ""
        judged = f"[differs]({headline.chapter}.ipynb#{headline.section}){why}"
    if headline.ours == headline.theirs:
        data = f"both: {headline.ours}"
    else:
        data = f"here: {headline.ours}; paper: {headline.theirs}"
    return f"| {headline.label} | {ours} | {paper} | {data} | {judged} |"


def timings_table(notebooks: Iterable[Path]) -> str:
    """A markdown table of each chapter's run times at scale ``book`` (from its stamp): a first
    run, which starts from an empty disk cache, and a re-run, which reuses what that cache holds.
    A first-run time measured on an older version of the chapter's code is marked."""
    rows = []
    for path in map(Path, notebooks):
        stamp_ = nbformat.read(path, as_version=4).metadata.get(STAMP, {})
        first = _minutes(stamp_.get("cold_seconds"))
        if "cold_code_hash" in stamp_ and stamp_["cold_code_hash"] != stamp_.get("code_hash"):
            first += " (before the chapter's last change)"
        again = _minutes(stamp_.get("warm_seconds"))
        rows.append(
            f"| [{chapter_title(path.parent, path.stem)}]({path.name}) | {first} | {again} |"
        )
    return (
        "| chapter | first run: empty cache | re-run: cache filled |\n|---|---|---|\n"
        + "\n".join(rows)
        + "\n"
    )


def _minutes(seconds: float | None) -> str:
    """``seconds`` as minutes for the timings table, or "not measured"."""
    return f"{seconds / 60:.1f} min" if seconds is not None else "not measured"


def _format(value: object, digits: int = 3) -> str:
    """A number to ``digits`` significant digits (integers and text unchanged)."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)
