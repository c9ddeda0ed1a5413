"""The chapters as the table of contents (``_toc.yml``) lists them, for the generated lists.

The introduction's list of parts and chapters is written from ``_toc.yml`` when the book is built
(``python -m taskspace.book toc _toc.yml``), so adding a chapter to the table of contents adds it
to every list; each chapter is titled with its notebook's first heading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

__all__ = ["Part", "chapter_title", "chapters_table", "toc_parts"]


@dataclass(frozen=True)
class Part:
    """One part of the table of contents: its caption, whether it is numbered, its pages
    (paths relative to the book's root, without suffix, e.g. ``book/03_boxes``)."""

    caption: str
    numbered: bool
    files: tuple[str, ...]


def chapter_title(chapters_dir: Path, chapter: str) -> str:
    """``"4. Taxonomies as boxes"`` from the notebook's first heading, else the file stem."""
    path = Path(chapters_dir, f"{chapter}.ipynb")
    number = chapter.split("_", 1)[0]
    if path.is_file():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and cell.source.startswith("# "):
                heading = cell.source.splitlines()[0][2:].strip()
                return f"{int(number)}. {heading}" if number.isdigit() else heading
    return chapter


def toc_parts(toc_path: Path) -> list[Part]:
    """The parts of a Jupyter Book ``_toc.yml`` (format ``jb-book``), in order."""
    toc = yaml.safe_load(Path(toc_path).read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or "parts" not in toc:
        raise ValueError(f"{toc_path}: expected a jb-book table of contents with 'parts'")
    return [
        Part(
            caption=str(part.get("caption", "")),
            numbered=bool(part.get("numbered", False)),
            files=tuple(str(chapter["file"]) for chapter in part.get("chapters", [])),
        )
        for part in toc["parts"]
    ]


def chapters_table(toc_path: Path, page_dir: Path) -> str:
    """A markdown table ``part | chapters`` of the numbered parts, each chapter a link titled
    ``"3. Boxes as sets"``, for a page in ``page_dir`` that includes it."""
    root = Path(toc_path).resolve().parent
    lines = ["| part | chapters |", "|---|---|"]
    for part in toc_parts(toc_path):
        if not part.numbered:
            continue
        links = []
        for file in part.files:
            notebook = root / f"{file}.ipynb"
            link = notebook.relative_to(Path(page_dir).resolve()).as_posix()
            links.append(f"[{chapter_title(notebook.parent, notebook.stem)}]({link})")
        lines.append(f"| {part.caption} | {' · '.join(links)} |")
    return "\n".join(lines) + "\n"
