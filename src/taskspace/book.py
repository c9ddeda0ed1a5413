"""Tools that keep the book honest: run chapters, stamp and check them, scan the built HTML.

Command line (the Makefile calls these)::

    python -m taskspace.book run --scale book book/01_tasks_and_data.ipynb ...
    python -m taskspace.book run --scale fast --output-dir _build/fast book/*.ipynb
    python -m taskspace.book check book/*.ipynb          # outputs match the code? text pairs?
    python -m taskspace.book pair book/*.ipynb           # write book/text/<chapter>.md pairs
    python -m taskspace.book results-table book/results  # markdown table for the intro
    python -m taskspace.book timings book/*.ipynb         # each chapter's run time at scale book
    python -m taskspace.book scan _build/html            # error outputs, external or repeated scripts
    python -m taskspace.book browser _build/html/03_boxes.html  # console errors, math rendered
    python -m taskspace.book student book/*.ipynb --output-dir _build/student

A chapter run at scale ``book`` is executed in place and stamped with the hash of its code cells
(``metadata.taskspace.code_hash``); :func:`check` recomputes the hash, so a notebook whose code
changed after its outputs were made is caught. Chapters are executed by papermill with the working
directory set to the notebook's folder.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import nbformat

from taskspace.results import load_all

SCALES = ("fast", "book", "paper")
STAMP = "taskspace"
SOLUTION_TAG = "solution"


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 of the notebook's code cells (papermill's injected-parameters cell excluded)."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        if cell.cell_type != "code" or "injected-parameters" in cell.metadata.get("tags", []):
            continue
        source = "\n".join(line.rstrip() for line in cell.source.strip().splitlines())
        digest.update(source.encode() + b"\x00")
    return digest.hexdigest()


def run(notebooks: Sequence[Path], scale: str, output_dir: Path | None = None) -> list[Path]:
    """Execute each notebook at ``scale`` with papermill; returns the executed files.

    At scale ``book`` without ``output_dir`` the notebooks are executed in place and stamped.
    Otherwise the executed copies go to ``output_dir`` and results to ``output_dir/results``.
    """
    import papermill

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    in_place = scale == "book" and output_dir is None
    if not in_place and output_dir is None:
        raise ValueError(f"scale {scale!r} needs an output_dir (only 'book' runs in place)")
    env = {"TASKSPACE_QUIET": "1"}  # progress bars are for people, not for committed outputs
    if not in_place:
        env["TASKSPACE_RESULTS_DIR"] = str(Path(output_dir, "results").resolve())
    executed = []
    with _environment(env):
        for notebook in map(Path, notebooks):
            target = notebook if in_place else Path(output_dir, notebook.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            print(f"[taskspace] {notebook} at scale {scale!r} -> {target}", flush=True)
            started = time.perf_counter()
            papermill.execute_notebook(
                str(notebook),
                str(target),
                parameters={} if scale == "book" else {"SCALE": scale},
                cwd=str(notebook.resolve().parent),
                kernel_name="python3",
                progress_bar=False,
            )
            if in_place:
                stamp(target, scale, seconds=time.perf_counter() - started)
                write_text_pairs([target])
            executed.append(target)
    return executed


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables inside a ``with`` block (papermill's kernel inherits them)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def stamp(path: Path, scale: str, seconds: float | None = None) -> None:
    """Write the code hash, scale and run time of this run into the notebook's metadata.

    Papermill's per-cell timestamps are dropped, so re-running an unchanged chapter changes
    nothing but what its code computes.
    """
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    notebook.metadata[STAMP] = {"code_hash": code_hash(notebook), "scale": scale}
    if seconds is not None:
        notebook.metadata[STAMP]["seconds"] = round(seconds, 1)
    nbformat.write(notebook, path)


def stale_reasons(path: Path) -> list[str]:
    """Why the committed outputs of ``path`` do not belong to its code (empty when they do)."""
    notebook = nbformat.read(path, as_version=4)
    stamp_ = notebook.metadata.get(STAMP)
    if not stamp_:
        return [f"{path}: never executed by `make book` (no {STAMP!r} stamp in its metadata)"]
    reasons = []
    if stamp_.get("scale") != "book":
        reasons.append(f"{path}: outputs come from scale {stamp_.get('scale')!r}, not 'book'")
    if stamp_.get("code_hash") != code_hash(notebook):
        reasons.append(f"{path}: code changed since its outputs were made")
    outputs = [
        (index, output)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    ]
    errors = [
        output.get("ename", "error") for _, output in outputs if output.output_type == "error"
    ]
    if errors:
        reasons.append(f"{path}: committed outputs contain errors: {', '.join(errors)}")
    stderr = sorted({index for index, output in outputs if output.get("name") == "stderr"})
    if stderr:
        first = next(o for i, o in outputs if i == stderr[0] and o.get("name") == "stderr")
        reasons.append(
            f"{path}: committed outputs contain stderr (warnings) in cell(s) "
            f"{', '.join(map(str, stderr))}, e.g. {first.text.strip().splitlines()[0][:120]!r}"
        )
    return reasons


def check(notebooks: Iterable[Path]) -> list[str]:
    """Stale-output reasons for all ``notebooks``, and text pairs that no longer match them."""
    paths = [Path(path) for path in notebooks]
    return [reason for path in paths for reason in stale_reasons(path) + pair_reasons(path)]


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
            sections.append(_chapter_table(_chapter_title(chapters_dir, chapter), compared))
    if not sections:
        return "*No results with a paper value have been recorded yet.*\n"
    return "\n".join(sections)


def _chapter_title(chapters_dir: Path, chapter: str) -> str:
    """``"4. Taxonomies as boxes"`` from the notebook's first heading, else the file stem."""
    path = Path(chapters_dir, f"{chapter}.ipynb")
    number = chapter.split("_", 1)[0]
    if path.is_file():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and cell.source.startswith("# "):
                heading = cell.source.splitlines()[0][2:].strip()
                return f"{int(number)}. {heading}" if number.isdigit() else heading
    return chapter


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


_EXTERNAL = re.compile(
    r"<(script|link|img|iframe)\b[^>]*?\b(src|href)\s*=\s*[\"']((?:https?:)?//[^\"']+)", re.I
)
_ERROR_OUTPUT = re.compile(r"class=\"[^\"]*\b(traceback|output error)\b", re.I)
_SCRIPT = re.compile(r"<script\b[^>]*?\bsrc\s*=\s*[\"']([^\"'?#]+)", re.I)
#: A page that loads more scripts than this has picked up a library's whole tree (MathJax's
#: ``es5`` folder once put 70 scripts on every page).
MAX_SCRIPTS = 25


def scan_html(html_dir: Path) -> list[str]:
    """Problems in a built book: error outputs, scripts/styles/images loaded from elsewhere,
    scripts loaded twice, and pages loading more than :data:`MAX_SCRIPTS` scripts."""
    problems = []
    pages = sorted(p for p in Path(html_dir).rglob("*.html") if "_static" not in p.parts)
    if not pages:
        return [f"{html_dir}: no HTML pages (was the book built?)"]
    for page in pages:
        text = page.read_text(errors="replace")
        for match in _EXTERNAL.finditer(text):
            problems.append(f"{page}: external <{match[1]} {match[2]}={html.unescape(match[3])}>")
        if _ERROR_OUTPUT.search(text):
            problems.append(f"{page}: shows an error output")
        problems.extend(f"{page}: {problem}" for problem in _script_problems(text))
    return problems


def _script_problems(page_text: str) -> list[str]:
    """Scripts a page loads twice (by file name, so two copies of one library count too), and a
    count above :data:`MAX_SCRIPTS`."""
    sources = [html.unescape(match[1]) for match in _SCRIPT.finditer(page_text)]
    names = [source.rsplit("/", 1)[-1] for source in sources]
    problems = [
        f"script {name!r} loaded {names.count(name)} times"
        for name in sorted(set(names))
        if names.count(name) > 1
    ]
    if len(sources) > MAX_SCRIPTS:
        problems.append(f"loads {len(sources)} scripts (more than {MAX_SCRIPTS})")
    return problems


_CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\]? \"(.*)\", source: (\S*)")
#: Console messages that mean a script failed (Chromium's log does not print the level).
_CONSOLE_ERROR = re.compile(r"Uncaught|\b\w*Error\b|Failed to load")


def console_problems(chromium_log: str, dom: str, page_has_math: bool) -> list[str]:
    """Problems in what headless Chromium saw of one page: script errors in its console log
    (``--enable-logging=stderr``), and math that MathJax left unrendered in the final DOM."""
    problems = [
        f"console: {match[1]} ({match[2]})"
        for match in _CONSOLE.finditer(chromium_log)
        if _CONSOLE_ERROR.search(match[1])
    ]
    if page_has_math and "mjx-container" not in dom:
        problems.append("math is not rendered (no mjx-container in the page after loading)")
    return problems


def check_in_browser(page: Path, browser: str = "chromium", seconds: int = 10) -> list[str]:
    """Load ``page`` in headless ``browser`` and return :func:`console_problems`."""
    import subprocess

    page = Path(page).resolve()
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--virtual-time-budget={seconds * 1000}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=seconds * 6,
        check=False,
    )
    has_math = 'class="math' in page.read_text(errors="replace")
    return [f"{page}: {p}" for p in console_problems(done.stderr, done.stdout, has_math)]


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
        title = _chapter_title(copy.parent, copy.stem)
        link = Path(copy).resolve().relative_to(Path(page_dir).resolve()).as_posix()
        lines.append(f"* {{download}}`{title} <{link}>`")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m taskspace.book", description=__doc__.split("\n")[0]
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
    args = parser.parse_args(argv)

    if args.command == "run":
        run(args.notebooks, args.scale, args.output_dir)
        return 0
    if args.command == "results-table":
        sys.stdout.write(results_table(args.results_dir))
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
