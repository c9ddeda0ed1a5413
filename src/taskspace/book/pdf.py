"""The book as one PDF, for print and offline reading (``make pdf``).

Jupyter Book 1's LaTeX builder (``jupyter-book build --builder pdflatex``, with XeLaTeX so that
Greek letters and symbols in the text need no escaping) turns the committed chapters, with their
outputs, into ``book.pdf``. The exercises' solutions stay out: the book is staged in a folder of
its own whose chapters lack the cells tagged ``solution``, and built from there, so the sources
are never touched. A chosen subset of chapters builds the same way (``make test`` builds one and
checks its pages with :func:`inspect_pdf`).

Command line::

    python -m taskspace.book pdf --output book/_generated/book.pdf
    python -m taskspace.book pdf --output _build/pdf-check/03.pdf book/03_boxes.ipynb \\
        --expect-heading "Boxes as sets" --expect-figures 3
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from taskspace.book.install import INSTALL_TAG
from taskspace.book.student import SOLUTION_TAG

#: What a staged book needs besides its pages: the bibliography and the local Sphinx extensions.
SUPPORT = ("references.bib", "_ext", "_generated")
#: Settings of the HTML build that mean nothing in LaTeX (the local MathJax).
HTML_ONLY = ("html_static_path", "mathjax_path")


def _toc_for(chapters: Sequence[Path], toc: dict) -> dict:
    """The table of contents of the whole book, or of its root page and the chosen chapters.

    The root page (the introduction) stays in either case: it holds the bibliography that the
    chapters' citations point to.
    """
    if not chapters:
        return toc
    pages = [{"file": f"book/{Path(c).stem}"} for c in chapters]
    return {"format": "jb-book", "root": toc["root"], "chapters": pages}


def _pages(toc: dict) -> list[str]:
    """Every page a table of contents names (``book/<stem>``), root first."""
    pages = [toc["root"]]
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        pages.extend(entry["file"] for entry in part.get("chapters", []))
    return pages


def without_solutions(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` with its ``solution`` cells and its package-installing cell removed (neither
    belongs on paper); every other cell keeps its outputs."""
    left_out = {SOLUTION_TAG, INSTALL_TAG}
    notebook.cells = [
        cell for cell in notebook.cells if not left_out & set(cell.metadata.get("tags", []))
    ]
    return notebook


def stage(root: Path, staging: Path, chapters: Sequence[Path] = ()) -> Path:
    """Copy the book under ``root`` into ``staging`` ready for the LaTeX builder; returns it.

    Chapters lose their ``solution`` cells; with ``chapters`` given, only those are staged (the
    first becomes the root page). The HTML-only settings of ``_config.yml`` are left out.
    """
    config = yaml.safe_load((root / "_config.yml").read_text())
    toc = _toc_for(chapters, yaml.safe_load((root / "_toc.yml").read_text()))
    sphinx = config.get("sphinx", {}).get("config", {})
    for key in HTML_ONLY:
        sphinx.pop(key, None)
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "book").mkdir(parents=True)
    (staging / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (staging / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    for name in SUPPORT:
        source = root / "book" / name
        if source.is_dir():
            shutil.copytree(source, staging / "book" / name)
        elif source.is_file():
            shutil.copy2(source, staging / "book" / name)
    # the teachers' page's link to the PDF is for the web; a first build has no note yet
    note = staging / "book" / "_generated" / "pdf_note.md"
    note.parent.mkdir(parents=True, exist_ok=True)
    if not note.exists():
        note.write_text("")
    for page in _pages(toc):
        notebook = root / f"{page}.ipynb"
        if notebook.is_file():
            staged = without_solutions(nbformat.read(notebook, as_version=4))
            nbformat.write(staged, staging / f"{page}.ipynb")
        else:
            shutil.copy2(root / f"{page}.md", staging / f"{page}.md")
    return staging


def build(staging: Path, output: Path) -> Path:
    """Build the staged book with Jupyter Book's LaTeX builder and copy the PDF to ``output``.

    Raises ``RuntimeError`` with the end of the build's log when LaTeX fails or is missing.
    """
    if shutil.which("xelatex") is None or shutil.which("latexmk") is None:
        raise RuntimeError(
            "the PDF needs XeLaTeX and latexmk (TeX Live): on Debian, `make pdf` installs them "
            "as root, or run `apt-get install texlive-xetex texlive-latex-extra "
            "texlive-fonts-recommended latexmk fonts-freefont-otf`"
        )
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    done = subprocess.run(
        [str(jupyter_book), "build", str(staging), "--builder", "pdflatex"],
        capture_output=True,
        text=True,
        check=False,
    )
    built = sorted((staging / "_build" / "latex").glob("*.pdf"))
    if done.returncode != 0 or not built:
        log = (done.stdout + done.stderr)[-4000:]
        raise RuntimeError(f"the LaTeX build of {staging} failed:\n{log}")
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(built[0], output)
    return output


@dataclass(frozen=True)
class PdfPages:
    """What a PDF holds: its page count, its text and how many images it draws."""

    n_pages: int
    text: str
    n_images: int


def inspect_pdf(path: Path) -> PdfPages:
    """Read ``path``'s pages: their number, their text and the images placed on them."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return PdfPages(
        n_pages=len(reader.pages),
        text=text,
        n_images=sum(len(page.images) for page in reader.pages),
    )


def check_pdf(path: Path, heading: str, min_figures: int, min_pages: int = 2) -> PdfPages:
    """Fail with a message naming what is missing unless ``path`` has the pages, heading, figures."""
    pages = inspect_pdf(path)
    problems = []
    if pages.n_pages < min_pages:
        problems.append(f"{pages.n_pages} pages (expected at least {min_pages})")
    if "".join(heading.split()) not in "".join(pages.text.split()):  # PDF text loses some spaces
        problems.append(f"no heading {heading!r} in its text")
    if pages.n_images < min_figures:
        problems.append(f"{pages.n_images} images (expected at least {min_figures})")
    if problems:
        raise AssertionError(f"{path}: " + "; ".join(problems))
    return pages


def download_note(pdf: Path) -> str:
    """The teachers' page's line about the PDF: a download link where ``pdf`` was built.

    The link is relative to the page that includes the line, which sits beside ``pdf``'s folder.
    """
    if pdf.is_file():
        target = f"{pdf.parent.name}/{pdf.name}"
        return f"{{download}}`The whole book as a PDF <{target}>` (without the solutions).\n"
    return (
        "The whole book is also a PDF (without the solutions): `make pdf` builds it, with TeX "
        "Live, and the next `make html` links it here.\n"
    )
