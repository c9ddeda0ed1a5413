"""What a chapter prints: lines that fit the book's text column.

The built book shows printed output in a column :data:`OUTPUT_COLUMNS` characters wide at a
1280 px window (measured in headless Chromium: 672 px at 8.43 px a character, less the block's
padding); a longer line is cut off on the page. :func:`show` prints anything wrapped to it, and
the stale check (:mod:`taskspace.book.pages`) fails on committed output that is wider.
Introduced in chapter 1.
"""

from __future__ import annotations

import textwrap

__all__ = ["OUTPUT_COLUMNS", "show"]

OUTPUT_COLUMNS = 78


def show(*things: object, columns: int = OUTPUT_COLUMNS) -> None:
    """Print each of ``things`` (its ``str``) on lines of at most ``columns`` characters; each
    line of its text is wrapped on its own, continuation lines indented by four spaces."""
    for thing in things:
        for line in str(thing).splitlines() or [""]:
            print(textwrap.fill(line, columns, subsequent_indent="    ") if line.strip() else line)
