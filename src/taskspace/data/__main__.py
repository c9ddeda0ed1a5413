"""``python -m taskspace.data``: find (or download) every data file the book reads, and say where.

Exits with status 1, after listing every problem, when a file cannot be found or is corrupted.
"""

from __future__ import annotations

import sys

from taskspace.data import all_sources
from taskspace.data.resolve import resolve


def main() -> int:
    problems = 0
    for source in all_sources():
        try:
            print(f"{source.name:45s} {resolve(source)}")
        except (OSError, ValueError) as error:
            problems += 1
            print(f"{source.name:45s} PROBLEM\n{error}\n", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
