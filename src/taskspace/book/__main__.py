"""``python -m taskspace.book``: the commands the Makefile calls (see :mod:`taskspace.book`)."""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path

from taskspace import book
from taskspace.book.claims import claim_report
from taskspace.book.execute import run
from taskspace.book.install import repository_url, set_install_cells
from taskspace.book.pairs import write_text_pairs
from taskspace.book.pdf import build, check_pdf, download_note, stage
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
    run_cmd.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a setting of the parameters cell (VALUE is a Python literal)",
    )
    run_cmd.add_argument(
        "--cold-cache", type=Path, help="run on this empty cache folder: cold-cache run times"
    )
    run_cmd.add_argument("notebooks", nargs="+", type=Path)
    install_cmd = commands.add_parser(
        "install-cells", help="write each chapter's first cell, which installs the package"
    )
    install_cmd.add_argument("config", type=Path, help="the book's _config.yml")
    install_cmd.add_argument("notebooks", nargs="+", type=Path)
    claims_cmd = commands.add_parser("claims", help="print the chapters' claims, failed ones first")
    claims_cmd.add_argument("results_dir", type=Path)
    claims_cmd.add_argument("--enforce", action="store_true", help="exit 1 when a claim fails")
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
    pdf_cmd = commands.add_parser("pdf", help="build the book (or chosen chapters) as a PDF")
    pdf_cmd.add_argument("--output", type=Path, required=True)
    pdf_cmd.add_argument("chapters", nargs="*", type=Path, help="default: the whole book")
    pdf_cmd.add_argument("--expect-heading", help="fail unless the PDF's text holds this heading")
    pdf_cmd.add_argument("--expect-figures", type=int, default=0, help="at least this many images")
    note_cmd = commands.add_parser("pdf-note", help="print the teachers' page's PDF line")
    note_cmd.add_argument("pdf", type=Path)
    args = parser.parse_args(argv)

    if args.command == "run":
        parameters = {name: _literal(value) for name, value in args.parameter}
        executed = run(args.notebooks, args.scale, args.output_dir, args.cold_cache, parameters)
        results_dir = (
            Path(args.output_dir, "results") if args.output_dir else executed[0].parent / "results"
        )
        report, n_failed = claim_report(results_dir, [path.stem for path in executed])
        sys.stdout.write(report)
        if n_failed and args.scale == "book":
            print(
                f"{n_failed} claim(s) do not hold at scale 'book': the pages would state "
                "what their outputs contradict",
                file=sys.stderr,
            )
            return 1
        return 0
    if args.command == "install-cells":
        changed = set_install_cells(args.notebooks, repository_url(args.config))
        for path in write_text_pairs(changed):
            print(path)
        return 0
    if args.command == "claims":
        report, n_failed = claim_report(args.results_dir)
        sys.stdout.write(report)
        return 1 if n_failed and args.enforce else 0
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
    if args.command == "pdf":
        return _pdf(args)
    if args.command == "pdf-note":
        sys.stdout.write(download_note(args.pdf))
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


def _literal(text: str) -> object:
    """A command-line value as Python reads it (``10`` -> 10, ``'a'`` -> "a"); else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _pdf(args: argparse.Namespace) -> int:
    """Stage and build the PDF; with expectations given, check its pages too."""
    staging = args.output.parent / f"{args.output.stem}-source"
    try:
        pdf = build(stage(Path.cwd(), staging, args.chapters), args.output)
        if args.expect_heading:
            pages = check_pdf(pdf, args.expect_heading, args.expect_figures)
            print(f"{pdf}: {pages.n_pages} pages, {pages.n_images} images, heading found")
    except (RuntimeError, AssertionError) as error:
        print(error, file=sys.stderr)
        return 1
    print(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
