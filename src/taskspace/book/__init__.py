"""Tools that keep the book honest: run chapters, stamp and check them, scan the built HTML.

One module per job:

* :mod:`~taskspace.book.execute` -- run chapters with papermill (in place and stamped at scale
  ``book``);
* :mod:`~taskspace.book.stamps` -- the code hash in a chapter's metadata and the stale check;
* :mod:`~taskspace.book.pages` -- what a committed page must be: no typed result numbers, claims
  that hold, folded answers, output that fits the column, captioned figures;
* :mod:`~taskspace.book.claims` -- the report of the chapters' claims, failed ones listed;
* :mod:`~taskspace.book.pairs` -- each chapter's MyST text pair, ``book/text/<chapter>.md``;
* :mod:`~taskspace.book.tables` -- the introduction's generated tables (results, run times);
* :mod:`~taskspace.book.toc` -- the chapter lists, generated from ``_toc.yml``;
* :mod:`~taskspace.book.scan` -- the built HTML: error outputs, outside assets, browser console;
* :mod:`~taskspace.book.student` -- copies of the chapters without their solutions;
* :mod:`~taskspace.book.pdf` -- the book (or chosen chapters) as a PDF, solutions left out.

Command line (the Makefile calls these)::

    python -m taskspace.book run --scale book book/01_tasks_and_data.ipynb ...
    python -m taskspace.book run --scale fast --output-dir _build/fast book/*.ipynb
    python -m taskspace.book check book/*.ipynb          # outputs match the code? pages sound?
    python -m taskspace.book claims book/results         # which claims hold on the last run
    python -m taskspace.book pair book/*.ipynb           # write book/text/<chapter>.md pairs
    python -m taskspace.book results-table book/results  # markdown table for the intro
    python -m taskspace.book timings book/*.ipynb         # each chapter's run time at scale book
    python -m taskspace.book toc _toc.yml                # the parts and chapters, as a table
    python -m taskspace.book scan _build/html            # error outputs, external or repeated scripts
    python -m taskspace.book browser _build/html/03_boxes.html  # console errors, math rendered
    python -m taskspace.book student book/*.ipynb --output-dir _build/student
    python -m taskspace.book pdf --output book/_generated/book.pdf   # needs XeLaTeX

A chapter run at scale ``book`` is executed in place and stamped with the hash of its code cells
(``metadata.taskspace.code_hash``); :func:`check` recomputes the hash, so a notebook whose code
changed after its outputs were made is caught. Chapters are executed by papermill with the working
directory set to the notebook's folder.
"""

from __future__ import annotations

from taskspace.book.execute import run
from taskspace.book.pairs import (
    TEXT_FOLDER,
    pair_reasons,
    text_pair,
    text_pair_path,
    write_text_pairs,
)
from taskspace.book.scan import MAX_SCRIPTS, check_in_browser, console_problems, scan_html
from taskspace.book.stamps import SCALES, STAMP, check, code_hash, stale_reasons, stamp
from taskspace.book.student import SOLUTION_TAG, student_copy, student_index
from taskspace.book.tables import results_table, timings_table
from taskspace.book.toc import chapter_title, chapters_table, toc_parts

__all__ = [
    "MAX_SCRIPTS",
    "SCALES",
    "SOLUTION_TAG",
    "STAMP",
    "TEXT_FOLDER",
    "chapter_title",
    "chapters_table",
    "check",
    "check_in_browser",
    "code_hash",
    "console_problems",
    "pair_reasons",
    "results_table",
    "run",
    "scan_html",
    "stale_reasons",
    "stamp",
    "student_copy",
    "student_index",
    "text_pair",
    "text_pair_path",
    "timings_table",
    "toc_parts",
    "write_text_pairs",
]
