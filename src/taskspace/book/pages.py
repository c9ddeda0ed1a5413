"""What a committed chapter page must be, checked by ``make test`` beside its stale outputs.

* **Typed numbers.** A decimal number in a chapter's prose is glued from the code that computed
  it (``{glue:text}`key:.3f```), or it is a typed constant (a paper's value, a setting) listed
  with its source in ``book/typed_numbers.yml``.
* **Claims.** At scale ``book`` every claim a chapter recorded (``claims.<name>`` in its results
  file, see :mod:`taskspace.results`) holds.
* **Exercises.** At least two per chapter; each is an ``{admonition} Exercise`` cell followed by
  its answer: cells tagged ``solution`` (folded in the HTML, absent from the student copies), at
  least one of them the written answer, a folded ``Answer`` admonition.
* **Opening box.** "In this chapter" lists the learning goals, gives a reading time and links
  the page "Run this book".
* **Output width.** No printed line wider than the page's column at 1280 px.
* **Figures.** Every figure is numbered, captioned and has alt text (the cell's ``mystnb``
  metadata, which MyST-NB turns into a figure).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import yaml

from taskspace.display import OUTPUT_COLUMNS
from taskspace.results import failed_claims

__all__ = [
    "OUTPUT_COLUMNS",
    "TYPED_NUMBERS",
    "claim_problems",
    "exercise_problems",
    "figure_problems",
    "header_problems",
    "page_problems",
    "typed_number_problems",
    "width_problems",
]

TYPED_NUMBERS = "typed_numbers.yml"
SOLUTION = "solution"
EXERCISE_START = re.compile(r"^(```+|:::+)\{admonition\} Exercise\b")
ANSWER_START = re.compile(r"^(```+|:::+)\{admonition\} Answer\b.*\n:class: dropdown", re.M)
# roles whose text is not prose (glued values, references, citations) and link targets
_NOT_PROSE = re.compile(r"\{(glue|glue:\w+|ref|numref|eq|doc|cite|cite:\w+|term|download)\}`[^`]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|<[^>]*>|https?://\S+")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.]*\d)")


def _markdown_cells(notebook: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [
        (index, cell) for index, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
    ]


def typed_constants(book_dir: Path) -> dict[str, set[str]]:
    """The reviewed typed constants: ``{chapter stem: {"0.542", ...}}`` from ``typed_numbers.yml``."""
    path = Path(book_dir, TYPED_NUMBERS)
    if not path.exists():
        return {}
    try:
        listed = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(listed, dict) or not all(
        isinstance(numbers, dict | None) for numbers in listed.values()
    ):
        raise ValueError(f"{path} must map each chapter to {{number: source}}, e.g. 03_boxes: {{}}")
    return {
        chapter: {str(number) for number in (numbers or {})} for chapter, numbers in listed.items()
    }


def typed_number_problems(path: Path, allowed: set[str]) -> list[str]:
    """Decimal numbers typed into the prose of chapter ``path`` that are neither glued nor listed."""
    notebook = nbformat.read(path, as_version=4)
    problems = []
    for index, cell in _markdown_cells(notebook):
        prose = _LINK_TARGET.sub(" ", _NOT_PROSE.sub(" ", cell.source))
        for number in sorted(set(_DECIMAL.findall(prose)) - allowed, key=prose.index):
            problems.append(
                f"{path}: markdown cell {index} types the number {number}: glue it from the "
                f"code that computes it, or list it with its source under {path.stem!r} in "
                f"book/{TYPED_NUMBERS} if it is a paper's value or a setting"
            )
    return problems


def claim_problems(path: Path) -> list[str]:
    """Claims of the chapter's committed results (``results/<stem>.json``) that do not hold."""
    results = Path(path).parent / "results" / f"{Path(path).stem}.json"
    if not results.exists():
        return []
    failed = failed_claims(json.loads(results.read_text()))
    return [
        f"{path}: claim {key!r} does not hold on the committed run: {entry['note']} "
        f"({_numbers(entry)})"
        for key, entry in failed.items()
    ]


def _numbers(entry: dict) -> str:
    return ", ".join(f"{name} = {value:.4g}" for name, value in entry.get("numbers", {}).items())


def exercise_problems(path: Path, minimum: int = 2) -> list[str]:
    """Exercises without a folded, tagged answer, and chapters with fewer than ``minimum``."""
    notebook = nbformat.read(path, as_version=4)
    cells = notebook.cells
    starts = [
        i
        for i, cell in enumerate(cells)
        if cell.cell_type == "markdown" and EXERCISE_START.match(cell.source.lstrip())
    ]
    problems = []
    if len(starts) < minimum:
        problems.append(f"{path}: {len(starts)} exercise(s); every chapter has at least {minimum}")
    for start in starts:
        answer = []
        for cell in cells[start + 1 :]:
            if SOLUTION not in cell.metadata.get("tags", []):
                break
            answer.append(cell)
        written = [c for c in answer if c.cell_type == "markdown" and ANSWER_START.search(c.source)]
        if not written:
            problems.append(
                f"{path}: the exercise in cell {start} has no written answer right after it (a "
                f"markdown cell tagged {SOLUTION!r} holding an 'Answer' admonition with "
                f"':class: dropdown')"
            )
        unfolded = [
            c
            for c in answer
            if c.cell_type == "code" and "hide-cell" not in c.metadata.get("tags", [])
        ]
        if unfolded:
            problems.append(
                f"{path}: the answer to the exercise in cell {start} has code not tagged 'hide-cell'"
            )
    return problems


def _printed_text(output: nbformat.NotebookNode) -> str:
    """The monospace text an output shows on the page ("" for rich outputs: tables, figures)."""
    if output.output_type == "stream":
        return output.text
    data = output.get("data", {})
    if set(data) & {"text/html", "text/markdown", "image/png", "image/svg+xml", "text/latex"}:
        return ""
    return data.get("text/plain", "")


def width_problems(path: Path, columns: int = OUTPUT_COLUMNS) -> list[str]:
    """Printed output lines wider than ``columns`` characters (cut off on the page)."""
    notebook = nbformat.read(path, as_version=4)
    problems = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            wide = [line for line in _printed_text(output).splitlines() if len(line) > columns]
            if wide:
                problems.append(
                    f"{path}: cell {index} prints {len(wide)} line(s) wider than {columns} "
                    f"characters, e.g. {wide[0][: columns + 10]!r}…"
                )
    return problems


def figure_problems(path: Path) -> list[str]:
    """Figures without caption, name or alt text, and figure cells that do not show exactly one
    image and nothing else rich (a table beside it would be numbered as the same figure)."""
    notebook = nbformat.read(path, as_version=4)
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        rich = [
            o
            for o in outputs
            if set(o.get("data", {})) & {"text/html", "text/markdown"}
            or (o.output_type == "execute_result" and "image/png" not in o.get("data", {}))
        ]
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        image = cell.metadata.get("mystnb", {}).get("image", {})
        if not images and not figure:
            continue
        missing = [
            field
            for field, given in (
                ("figure.caption", figure.get("caption")),
                ("figure.name", figure.get("name")),
                ("image.alt", image.get("alt")),
            )
            if not given
        ]
        if missing:
            problems.append(
                f"{path}: the figure of cell {index} has no {', '.join(missing)} in its "
                "mystnb metadata"
            )
        if len(images) != 1 or rich:
            problems.append(
                f"{path}: cell {index} is a figure cell but shows {len(images)} image(s) and "
                f"{len(rich)} table(s) or other value(s); a figure cell shows one image"
            )
    return problems


def header_problems(path: Path) -> list[str]:
    """A chapter's opening box ("In this chapter") lacks its learning goals as a list, its
    reading time or its link to the page "Run this book"."""
    notebook = nbformat.read(path, as_version=4)
    box = next(
        (
            c.source
            for c in notebook.cells
            if c.cell_type == "markdown" and "In this chapter" in c.source
        ),
        None,
    )
    if box is None:
        return [f"{path}: no 'In this chapter' box (learning goals, reading time, how to run it)"]
    wanted = {
        "learning goals as a list": re.search(r"^\* ", box, re.M),
        "reading time": re.search(r"(?i)reading time", box),
        "link to the page 'Run this book'": "run-this-book" in box,
    }
    return [
        f"{path}: the 'In this chapter' box has no {what}" for what, ok in wanted.items() if not ok
    ]


def page_problems(path: Path) -> list[str]:
    """Everything above for one committed chapter."""
    path = Path(path)
    allowed = typed_constants(path.parent).get(path.stem, set())
    return (
        typed_number_problems(path, allowed)
        + claim_problems(path)
        + exercise_problems(path)
        + header_problems(path)
        + width_problems(path)
        + figure_problems(path)
    )
