"""Student copies: the chapters without their solution cells and outputs, and a download list."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat

from taskspace.book.toc import chapter_title

__all__ = ["SOLUTION_TAG", "student_copy", "student_index"]

SOLUTION_TAG = "solution"


def student_copy(notebooks: Iterable[Path], output_dir: Path) -> list[Path]:
    """Copies of ``notebooks`` without the cells tagged ``solution`` (and without outputs)."""
    written = []
    for path in map(Path, notebooks):
        notebook = nbformat.read(path, as_version=4)
        notebook.cells = [
            cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])
        ]
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        target = Path(output_dir, path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        written.append(target)
    return written


def student_index(copies: Iterable[Path], page_dir: Path) -> str:
    """A markdown list of download links to the student ``copies``, titled with each chapter's
    heading, for a page in ``page_dir`` that includes it (Sphinx resolves the links of an
    included file from the including page)."""
    lines = []
    for copy in map(Path, copies):
        title = chapter_title(copy.parent, copy.stem)
        link = Path(copy).resolve().relative_to(Path(page_dir).resolve()).as_posix()
        lines.append(f"* {{download}}`{title} <{link}>`")
    return "\n".join(lines) + "\n"
