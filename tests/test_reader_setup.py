"""A reader's setup runs every chapter: the imports are installed, the launch buttons behave."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def _top_level_imports(source: str) -> set[str]:
    """Module names a code cell imports (IPython magics and shell lines dropped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    names: set[str] = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _chapter_imports() -> dict[str, set[str]]:
    imports: dict[str, set[str]] = {}
    for chapter in CHAPTERS:
        for cell in nbformat.read(chapter, as_version=4).cells:
            if cell.cell_type == "code":
                for name in _top_level_imports(cell.source):
                    imports.setdefault(name, set()).add(chapter.stem)
    return imports


def _normalised(requirement: str) -> str:
    """The distribution name of a requirement, normalised as PEP 503 does."""
    name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_chapter_import_is_installed_by_the_readers_setup() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reader = {
        _normalised(r) for r in project["dependencies"] + project["optional-dependencies"]["book"]
    }
    providers = packages_distributions()
    missing = []
    for module, chapters in sorted(_chapter_imports().items()):
        if module in sys.stdlib_module_names or module == "taskspace":
            continue
        distributions = {_normalised(d) for d in providers.get(module, [])}
        if importlib.util.find_spec(module) is None or not distributions & reader:
            missing.append(f"{module} (imported by {', '.join(sorted(chapters))})")
    assert not missing, (
        "chapters import modules that `pip install -e .[book]` does not install: "
        + "; ".join(missing)
    )


def test_the_import_reader_sees_through_magics() -> None:
    assert _top_level_imports("%matplotlib inline\nimport numpy as np\nfrom a.b import c") == {
        "numpy",
        "a",
    }


def _load_launch_extension():
    spec = importlib.util.spec_from_file_location(
        "launch_buttons", ROOT / "book" / "_ext" / "launch_buttons.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("address", "kept"), [("", False), ("https://github.com/o/r", True)])
def test_launch_buttons_need_the_repository_address(address: str, kept: bool) -> None:
    extension = _load_launch_extension()
    buttons = {"binderhub_url": "https://mybinder.org"}
    config = SimpleNamespace(
        html_theme_options={"repository_url": address, "launch_buttons": dict(buttons)}
    )
    extension._without_address(None, config)
    assert (config.html_theme_options["launch_buttons"] == buttons) is kept


def test_the_run_page_is_in_the_table_of_contents_and_linked_from_the_intro() -> None:
    assert "book/run" in (ROOT / "_toc.yml").read_text()
    assert "(run-this-book)=" in (ROOT / "book" / "run.md").read_text()
    assert "run-this-book" in (ROOT / "book" / "intro.md").read_text()
