"""The PDF's staging: solutions out, outputs kept, the chosen chapters only."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from taskspace.book import pdf as book_pdf


def _tiny_book(root: Path) -> Path:
    (root / "book").mkdir(parents=True)
    config = {
        "title": "T",
        "sphinx": {"config": {"mathjax_path": "m.js", "nb_output_stderr": "show"}},
    }
    (root / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "parts": [{"chapters": [{"file": "book/01_a"}, {"file": "book/02_b"}]}],
    }
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))
    (root / "book" / "intro.md").write_text("# Intro\n")
    (root / "book" / "references.bib").write_text("")
    for stem in ("01_a", "02_b"):
        shown = nbformat.v4.new_code_cell(
            "x = 1", outputs=[nbformat.v4.new_output("stream", text="1")]
        )
        answer = nbformat.v4.new_code_cell(
            "answer = 42", metadata={"tags": ["solution", "hide-cell"]}
        )
        notebook = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell("# A"), shown, answer]
        )
        nbformat.write(notebook, root / "book" / f"{stem}.ipynb")
    return root


def test_stage_drops_solutions_and_keeps_outputs(tmp_path: Path) -> None:
    staged = book_pdf.stage(_tiny_book(tmp_path / "src"), tmp_path / "staged")
    notebook = nbformat.read(staged / "book" / "01_a.ipynb", as_version=4)
    assert [cell.source for cell in notebook.cells] == ["# A", "x = 1"]
    assert notebook.cells[1].outputs[0]["text"] == "1"
    assert (staged / "book" / "intro.md").is_file() and (staged / "book" / "02_b.ipynb").is_file()
    config = yaml.safe_load((staged / "_config.yml").read_text())
    assert config["sphinx"]["config"] == {"nb_output_stderr": "show"}  # MathJax is HTML-only


def test_stage_of_chosen_chapters_keeps_the_root_page(tmp_path: Path) -> None:
    staged = book_pdf.stage(
        _tiny_book(tmp_path / "src"), tmp_path / "staged", [Path("book/02_b.ipynb")]
    )
    toc = yaml.safe_load((staged / "_toc.yml").read_text())
    assert toc == {"format": "jb-book", "root": "book/intro", "chapters": [{"file": "book/02_b"}]}
    assert not (staged / "book" / "01_a.ipynb").exists()


def test_build_without_latex_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(book_pdf.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install texlive-xetex"):
        book_pdf.build(tmp_path, tmp_path / "book.pdf")


def test_check_pdf_names_what_is_missing(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as file:
        writer.write(file)
    with pytest.raises(AssertionError, match=r"1 pages .*no heading 'Boxes as sets'.*0 images"):
        book_pdf.check_pdf(path, "Boxes as sets", min_figures=1)


def test_download_note_links_the_pdf_only_where_it_was_built(tmp_path: Path) -> None:
    pdf = tmp_path / "_generated" / "book.pdf"
    assert "make pdf" in book_pdf.download_note(pdf)
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF")
    assert "<_generated/book.pdf>" in book_pdf.download_note(pdf)
