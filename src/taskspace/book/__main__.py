"""``python -m taskspace.book``: the commands the Makefile calls (see :mod:`taskspace.book`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from taskspace import book
from taskspace.book.execute import run
from taskspace.book.pairs import write_text_pairs
from taskspace.book.scan import check_in_browser, scan_html
from taskspace.book.stamps import SCALES, check
from taskspace.book.student import student_copy, student_index
from taskspace.book.tables import results_table, timings_table
from taskspace.book.toc import chapters_table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m taskspace.book", description=book.__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="execute chapters with papermill")
    run_cmd.add_argument("--scale", choices=SCALES, required=True)
    run_cmd.add_argument("--output-dir", type=Path)
    run_cmd.add_argument("notebooks", nargs="+", type=Path)
    check_cmd = commands.add_parser("check", help="fail when committed outputs are stale")
    check_cmd.add_argument("notebooks", nargs="+", type=Path)
    table_cmd = commands.add_parser("results-table", help="print the intro's comparison table")
    table_cmd.add_argument("results_dir", type=Path)
    timings_cmd = commands.add_parser("timings", help="print the chapters' run-time table")
    timings_cmd.add_argument("notebooks", nargs="+", type=Path)
    scan_cmd = commands.add_parser("scan", help="fail on error outputs or external assets")
    scan_cmd.add_argument("html_dir", type=Path)
    pair_cmd = commands.add_parser("pair", help="write each chapter's MyST text pair")
    pair_cmd.add_argument("notebooks", nargs="+", type=Path)
    browser_cmd = commands.add_parser("browser", help="load pages in headless Chromium")
    browser_cmd.add_argument("pages", nargs="+", type=Path)
    student_cmd = commands.add_parser("student", help="write copies without solution cells")
    student_cmd.add_argument("--output-dir", type=Path, required=True)
    student_cmd.add_argument("notebooks", nargs="+", type=Path)
    student_cmd.add_argument(
        "--index", type=Path, help="also write a markdown list of download links to this file"
    )
    toc_cmd = commands.add_parser("toc", help="print the parts and chapters of _toc.yml")
    toc_cmd.add_argument("toc", type=Path)
    toc_cmd.add_argument(
        "--page-dir", type=Path, default=Path("book"), help="folder of the including page"
    )
    args = parser.parse_args(argv)

    if args.command == "run":
        run(args.notebooks, args.scale, args.output_dir)
        return 0
    if args.command == "results-table":
        sys.stdout.write(results_table(args.results_dir))
        return 0
    if args.command == "toc":
        sys.stdout.write(chapters_table(args.toc, args.page_dir))
        return 0
    if args.command == "timings":
        sys.stdout.write(timings_table(args.notebooks))
        return 0
    if args.command == "pair":
        for path in write_text_pairs(args.notebooks):
            print(path)
        return 0
    if args.command == "student":
        copies = student_copy(args.notebooks, args.output_dir)
        if args.index:
            # the teachers' page, which includes the list, sits beside the chapters
            page_dir = Path(args.notebooks[0]).parent
            args.index.write_text(student_index(copies, page_dir=page_dir))
        for path in copies:
            print(path)
        return 0
    if args.command == "browser":
        problems = [p for page in args.pages for p in check_in_browser(page)]
    elif args.command == "check":
        problems = check(args.notebooks)
    else:
        problems = scan_html(args.html_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and args.command == "check":
        print("Re-run them at scale 'book': make book", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
