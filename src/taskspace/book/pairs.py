"""Text pairs: each chapter's prose and code as MyST markdown (``book/text/<chapter>.md``).

A change to a chapter then reads, in review, as a diff of prose and code instead of JSON and PNG
bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import nbformat

__all__ = ["TEXT_FOLDER", "pair_reasons", "text_pair", "text_pair_path", "write_text_pairs"]

#: Where each chapter's text pair lives, relative to the chapter: ``book/text/<stem>.md``.
TEXT_FOLDER = "text"
_JUPYTEXT_VERSION = re.compile(r"^\s*jupytext_version:.*\n", re.M)


def text_pair_path(notebook_path: Path) -> Path:
    """``book/text/03_boxes.md`` for ``book/03_boxes.ipynb``."""
    path = Path(notebook_path)
    return path.parent / TEXT_FOLDER / f"{path.stem}.md"


def text_pair(notebook_path: Path) -> str:
    """The chapter's prose and code as a MyST markdown file (jupytext), without outputs.

    A change to a chapter then reads, in review, as a diff of prose and code instead of JSON and
    PNG bytes. The text is a function of the notebook (the notebook, executed by papermill, is
    the source); the jupytext version line is left out so the pair does not churn with it.
    """
    import jupytext

    notebook = nbformat.read(notebook_path, as_version=4)
    return _JUPYTEXT_VERSION.sub("", jupytext.writes(notebook, fmt="md:myst"))


def write_text_pairs(notebooks: Iterable[Path]) -> list[Path]:
    """Write (or refresh) the text pair of every notebook; returns the pairs written."""
    written = []
    for path in map(Path, notebooks):
        target = text_pair_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text_pair(path), encoding="utf-8")
        written.append(target)
    return written


def pair_reasons(notebook_path: Path) -> list[str]:
    """Why the text pair of ``notebook_path`` does not match it (empty when it does)."""
    target = text_pair_path(notebook_path)
    if not target.is_file():
        return [f"{notebook_path}: no text pair {target} (run: python -m taskspace.book pair)"]
    if target.read_text(encoding="utf-8") != text_pair(notebook_path):
        return [f"{target}: out of date with {notebook_path} (run: python -m taskspace.book pair)"]
    return []
