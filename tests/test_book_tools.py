"""The book's honesty tools: code stamps, stale-output check, HTML scan, student copies."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from taskspace import book, results
from taskspace.book.install import INSTALL_TAG, install_source, repository_url, set_install_cells
from taskspace.papers.headlines import HEADLINES, Headline

ROOT = Path(__file__).resolve().parents[1]


EXERCISE = "```{admonition} Exercise\nPredict x + 1, then compute it.\n```"
ANSWER = ":::{admonition} Answer\n:class: dropdown\nIt is two, as the folded code prints.\n:::"


OPENING_BOX = (
    ":::{admonition} In this chapter\n* a goal\n\n**Reading time:** 5 minutes; "
    "{ref}`run-this-book`\n:::"
)


def exercise_cells() -> list[nbformat.NotebookNode]:
    """One exercise with its answer unit: folded code and a folded written answer."""
    return [
        nbformat.v4.new_markdown_cell(EXERCISE),
        nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution", "hide-cell"]}),
        nbformat.v4.new_markdown_cell(ANSWER, metadata={"tags": ["solution"]}),
    ]


def make_notebook(path: Path, code: str = "x = 1") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell('SCALE = "book"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("Some text"),
        nbformat.v4.new_code_cell(code),
        *exercise_cells(),
        *exercise_cells(),
        nbformat.v4.new_markdown_cell(OPENING_BOX),
    ]
    nbformat.write(notebook, path)
    return path


def test_code_hash_ignores_outputs_markdown_and_injected_parameters(tmp_path: Path) -> None:
    notebook = nbformat.read(make_notebook(tmp_path / "a.ipynb"), as_version=4)
    before = book.code_hash(notebook)
    notebook.cells[1].source = "Other text"
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    injected = nbformat.v4.new_code_cell(
        'SCALE = "fast"', metadata={"tags": ["injected-parameters"]}
    )
    notebook.cells.insert(1, injected)
    assert book.code_hash(notebook) == before
    notebook.cells[3].source = "x = 2"
    assert book.code_hash(notebook) != before


def test_stale_check_catches_unstamped_changed_and_failed_notebooks(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "a.ipynb")
    assert "never executed" in book.stale_reasons(path)[0]
    book.stamp(path, "book")
    assert book.stale_reasons(path) == []
    make_notebook(path, code="x = 2")  # new code; give it the stamp of some other code
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["taskspace"] = {"code_hash": "0" * 64, "scale": "book"}
    nbformat.write(notebook, path)
    assert "code changed" in book.stale_reasons(path)[0]
    book.stamp(path, "fast")
    assert "scale 'fast'" in book.stale_reasons(path)[0]
    book.stamp(path, "book")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].outputs = [
        nbformat.v4.new_output("error", ename="KeyError", evalue="", traceback=[])
    ]
    nbformat.write(notebook, path)
    assert "KeyError" in book.stale_reasons(path)[0]


def test_stale_check_catches_committed_stderr(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "a.ipynb")
    book.stamp(path, "book")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[2].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="fine\n"),
        nbformat.v4.new_output("stream", name="stderr", text="findfont: Font family not found\n"),
    ]
    nbformat.write(notebook, path)
    (reason,) = book.stale_reasons(path)
    assert "stderr" in reason and "cell(s) 2" in reason and "findfont" in reason
    notebook.cells[2].outputs = notebook.cells[2].outputs[:1]
    nbformat.write(notebook, path)
    assert book.stale_reasons(path) == []


def test_scan_finds_external_assets_and_error_outputs(tmp_path: Path) -> None:
    (tmp_path / "ok.html").write_text(
        '<script src="_static/mathjax/tex-chtml.js"></script><a href="https://arxiv.org">paper</a>'
    )
    assert book.scan_html(tmp_path) == []
    (tmp_path / "bad.html").write_text(
        '<link rel="stylesheet" href="https://cdn.example.org/x.css">'
        '<script defer src="//cdn.example.org/mathjax.js"></script>'
        '<div class="output traceback highlight-ipythontb">KeyError</div>'
    )
    problems = book.scan_html(tmp_path)
    assert len(problems) == 3
    assert any("cdn.example.org/x.css" in p for p in problems)
    assert any("error output" in p for p in problems)


def test_results_table_sets_headlines_beside_the_papers_with_a_computed_verdict(
    tmp_path: Path,
) -> None:
    results.use("05_demo", scale="fast", results_dir=tmp_path)
    results.record("rho.existing_5d", 0.93234, std=0.02, paper=0.94)
    results.record("rho.novel_5d", 0.5, std=0.05, paper=0.39)
    results.record("n_pairs", 500, paper=500)
    rows = (
        Headline("05_demo", "rho.existing_5d", "ρ, existing", "attributes", "attributes", ""),
        Headline(
            "05_demo",
            "rho.novel_5d",
            "ρ, novel",
            "attributes",
            "Task2Vec",
            "other input",
            "why",
            paper_std=0.02,
        ),
        Headline("05_demo", "n_pairs", "pairs", "here", "there", "", "pairs"),
    )
    table = book.results_table(tmp_path, headlines=rows)
    assert table.startswith("### [05_demo](05_demo.ipynb)\n")
    assert "| ρ, existing | 0.932 ± 0.02 | 0.94 | both: attributes | reproduces |" in table
    assert (
        "| ρ, novel | 0.5 ± 0.05 | 0.39 ± 0.02 | here: attributes; paper: Task2Vec "
        "| [differs](05_demo.ipynb#why) (other input) |"
    ) in table
    assert "| pairs | 500 | 500 | here: here; paper: there | reproduces |" in table
    assert "No results" in book.results_table(tmp_path / "empty", headlines=rows)
    missing = (Headline("05_demo", "rho.random", "ρ, random", "a", "b", ""),)
    with pytest.raises(KeyError, match=r"rho\.random"):
        book.results_table(tmp_path, headlines=missing)


def test_every_headline_of_the_intro_is_recorded_with_a_paper_value() -> None:
    table = book.results_table(ROOT / "book" / "results")
    assert table.count("\n| ") - table.count("\n| result |") == len(HEADLINES) <= 40


def test_results_table_titles_each_chapter_with_its_heading(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    results.use("05_demo", scale="fast", results_dir=tmp_path / "results")
    results.record("rho", 0.9, paper=0.94)
    (tmp_path / "05_demo.ipynb").write_text(
        nbformat.writes(
            nbformat.v4.new_notebook(
                cells=[nbformat.v4.new_markdown_cell("# Transfer between tasks")]
            )
        )
    )
    rows = (Headline("05_demo", "rho", "ρ", "a", "b", ""),)
    table = book.results_table(tmp_path / "results", headlines=rows)
    assert table.startswith("### [5. Transfer between tasks](05_demo.ipynb)\n")


def test_student_copy_drops_solutions_and_outputs(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "a.ipynb")
    (copy,) = book.student_copy([path], tmp_path / "student")
    cells = nbformat.read(copy, as_version=4).cells
    assert [c.source for c in cells] == [
        'SCALE = "book"',
        "Some text",
        "x = 1",
        EXERCISE,
        EXERCISE,
        OPENING_BOX,
    ]


def test_run_refuses_unknown_scale(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale must be one of"):
        book.run([tmp_path / "a.ipynb"], "huge")


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["book"])
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    (pip_section,) = [d["pip"] for d in conda["dependencies"] if isinstance(d, dict)]
    listed = {entry for entry in pip_section if not entry.startswith("-e")}
    assert listed == wanted
    assert "-e .[book]" in pip_section


def test_every_chapter_is_in_the_table_of_contents() -> None:
    toc = json.dumps(yaml.safe_load((ROOT / "_toc.yml").read_text()))
    for chapter in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        assert f'"book/{chapter.stem}"' in toc, f"{chapter.name} is missing from _toc.yml"


def test_stamp_records_run_time_and_drops_papermill_timestamps(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "a.ipynb")
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["papermill"] = {"start_time": "2026-01-01"}
    notebook.cells[2].metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    nbformat.write(notebook, path)
    book.stamp(path, "book", seconds=12.34)
    stamped = nbformat.read(path, as_version=4)
    assert stamped.metadata["taskspace"]["warm_seconds"] == 12.3
    assert "papermill" not in stamped.metadata
    assert "execution" not in stamped.cells[2].metadata


def test_timings_table_reads_the_stamps(tmp_path: Path) -> None:
    timed = make_notebook(tmp_path / "01_a.ipynb")
    book.stamp(timed, "book", seconds=90)
    untimed = make_notebook(tmp_path / "02_b.ipynb")
    table = book.timings_table([timed, untimed])
    assert "| [01_a](01_a.ipynb) | not measured | 1.5 min |" in table
    assert "| [02_b](02_b.ipynb) | not measured | not measured |" in table
    book.stamp(timed, "book", seconds=600, cold=True)
    assert "| [01_a](01_a.ipynb) | 10.0 min | 1.5 min |" in book.timings_table([timed])
    book.stamp(timed, "book", seconds=60)  # a re-run keeps the first run's time
    assert "| [01_a](01_a.ipynb) | 10.0 min | 1.0 min |" in book.timings_table([timed])
    notebook = nbformat.read(timed, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("x = 2"))
    nbformat.write(notebook, timed)
    book.stamp(timed, "book", seconds=30)
    assert "10.0 min (before the chapter's last change) | 0.5 min |" in book.timings_table([timed])
    book.stamp(timed, "fast", seconds=5)  # other scales are not book run times
    assert "| 10.0 min (before the chapter's last change) | 0.5 min |" in book.timings_table(
        [timed]
    )


def test_scan_finds_scripts_loaded_twice_or_by_the_dozen(tmp_path: Path) -> None:
    once = '<script src="_static/a.js?v=1"></script><script src="_static/mathjax/tex-chtml.js">'
    (tmp_path / "ok.html").write_text(once)
    assert book.scan_html(tmp_path) == []
    (tmp_path / "twice.html").write_text(
        once + '<script src="_static/other/tex-chtml.js"></script>'
    )
    (problem,) = book.scan_html(tmp_path)
    assert "twice.html" in problem and "'tex-chtml.js' loaded 2 times" in problem
    many = "".join(f'<script src="_static/m/{i}.js"></script>' for i in range(book.MAX_SCRIPTS + 1))
    (tmp_path / "twice.html").unlink()
    (tmp_path / "many.html").write_text(many)
    (problem,) = book.scan_html(tmp_path)
    assert f"loads {book.MAX_SCRIPTS + 1} scripts" in problem


CHROMIUM_LOG = """\
[1:1:1201/1.0:INFO:CONSOLE:62] "Uncaught SyntaxError: Identifier 'X' has already been declared", source: file:///b/03.html (62)
[1:1:1201/1.1:INFO:CONSOLE:1] "[PST]: Changed to auto mode using the light theme.", source: file:///b/_static/t.js (1)
[1:1:1201/1.2:INFO:CONSOLE(7)] "TypeError: e is undefined", source: file:///b/_static/m.js (7)
"""


def test_console_problems_keep_script_errors_and_unrendered_math() -> None:
    problems = book.console_problems(CHROMIUM_LOG, dom="<p>no math here</p>", page_has_math=True)
    assert len(problems) == 3
    assert "SyntaxError" in problems[0] and "03.html" in problems[0]
    assert "TypeError" in problems[1]
    assert "math is not rendered" in problems[2]
    rendered = "<mjx-container>x</mjx-container>"
    assert book.console_problems("", dom=rendered, page_has_math=True) == []
    assert book.console_problems(CHROMIUM_LOG.splitlines()[1], dom="", page_has_math=False) == []


def test_student_index_links_each_copy_under_its_chapter_title(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "03_demo.ipynb")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell("# Boxes as sets"))
    nbformat.write(notebook, path)
    copies = book.student_copy([path], tmp_path / "book" / "_generated" / "student")
    index = book.student_index(copies, page_dir=tmp_path / "book")
    assert index == "* {download}`3. Boxes as sets <_generated/student/03_demo.ipynb>`\n"


def test_text_pairs_follow_the_notebook(tmp_path: Path) -> None:
    path = make_notebook(tmp_path / "03_demo.ipynb")
    book.stamp(path, "book")
    (reason,) = book.check([path])
    assert "no text pair" in reason
    (pair,) = book.write_text_pairs([path])
    assert pair == tmp_path / "text" / "03_demo.md"
    text = pair.read_text()
    assert "Some text" in text and "x = 1" in text and "jupytext_version" not in text
    assert book.check([path]) == []
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source = "Other text"  # prose only: the outputs are still current
    nbformat.write(notebook, path)
    (reason,) = book.check([path])
    assert "out of date" in reason and "03_demo.md" in reason


def test_the_chapter_list_comes_from_the_table_of_contents(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    for stem, heading in [("01_a", "Tasks"), ("02_b", "Boxes"), ("03_c", "More")]:
        path = make_notebook(tmp_path / "book" / f"{stem}.ipynb")
        notebook = nbformat.read(path, as_version=4)
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(f"# {heading}\n\nText"))
        nbformat.write(notebook, path)
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "parts": [
            {"caption": "One", "numbered": True, "chapters": [{"file": "book/01_a"}]},
            {"caption": "Two", "numbered": True, "chapters": [{"file": "book/02_b"}]},
            {"caption": "Extras", "chapters": [{"file": "book/glossary"}]},
        ],
    }
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    table = book.chapters_table(tmp_path / "_toc.yml", page_dir=tmp_path / "book")
    assert table.splitlines()[2:] == [
        "| One | [1. Tasks](01_a.ipynb) |",
        "| Two | [2. Boxes](02_b.ipynb) |",
    ]
    toc["parts"][1]["chapters"].append({"file": "book/03_c"})  # a chapter added to the toc
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    table = book.chapters_table(tmp_path / "_toc.yml", page_dir=tmp_path / "book")
    assert "[3. More](03_c.ipynb)" in table.splitlines()[-1]


def test_the_pages_that_list_chapters_include_the_generated_list() -> None:
    for page in ("intro.md", "teaching.md"):
        assert "_generated/chapters_table.md" in (ROOT / "book" / page).read_text()
    assert "toc _toc.yml" in (ROOT / "Makefile").read_text()


def test_design_lists_the_chapters_of_the_table_of_contents() -> None:
    """DESIGN.md is not part of the book, so its chapter table is checked, not generated."""
    listed = re.findall(r"^\| `(\d\d_\w+)\.ipynb` \|", (ROOT / "DESIGN.md").read_text(), re.M)
    chapters = [
        Path(file).name
        for part in book.toc_parts(ROOT / "_toc.yml")
        if part.numbered
        for file in part.files
    ]
    assert listed == chapters


def test_install_cell_comes_first_follows_the_address_and_leaves_the_code_hash(
    tmp_path: Path,
) -> None:
    path = make_notebook(tmp_path / "01_a.ipynb")
    before = book.code_hash(nbformat.read(path, as_version=4))
    assert set_install_cells([path], "") == [path]
    cells = nbformat.read(path, as_version=4).cells
    assert INSTALL_TAG in cells[0].metadata["tags"] and "ModuleNotFoundError" in cells[0].source
    assert set_install_cells([path], "") == [], "an unchanged cell is not rewritten"
    set_install_cells([path], "https://example.org/book.git")
    notebook = nbformat.read(path, as_version=4)
    assert (
        'PACKAGE = "taskspace[book] @ git+https://example.org/book.git"' in notebook.cells[0].source
    )
    assert sum(INSTALL_TAG in c.metadata.get("tags", []) for c in notebook.cells) == 1
    assert book.code_hash(notebook) == before
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: ''\n")
    assert repository_url(config) == ""


def test_every_chapter_starts_with_the_install_cell() -> None:
    url = repository_url(ROOT / "_config.yml")
    for chapter in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        first = next(c for c in nbformat.read(chapter, as_version=4).cells if c.cell_type == "code")
        assert first.source == install_source(url), f"{chapter.name}: run make html"


def test_a_cold_cache_run_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "old.pt").write_bytes(b"")
    with pytest.raises(ValueError, match="not empty"):
        book.run([make_notebook(tmp_path / "a.ipynb")], "book", cold_cache=tmp_path / "cache")
