"""The first code cell of every chapter: install the book's package where it is missing.

A chapter opened on Colab or Binder (the launch buttons), or downloaded into a fresh Jupyter,
has no ``taskspace``. Its first code cell installs it with pip from the book's repository, whose
address the publisher keeps once, as ``repository.url`` in ``_config.yml``; ``make html``
rewrites the cell from there. Offline, or with no address set, the cell stops with what to do
instead. Where the package is installed (every run of ``make``) the cell does nothing.

The cell is tagged ``install-package``: it is not part of a chapter's code hash, so changing the
address does not make the committed outputs stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat
import yaml

__all__ = ["INSTALL_TAG", "install_source", "repository_url", "set_install_cells"]

INSTALL_TAG = "install-package"

_HEADER = (
    "# Colab, Binder or a fresh Jupyter: install the package `taskspace` where it is missing.\n"
)
_CHECK = 'if importlib.util.find_spec("taskspace") is None:\n'


def install_source(url: str) -> str:
    """The cell's code for the repository at ``url`` ("" when the book has none)."""
    if not url:
        return (
            _HEADER
            + "import importlib.util\n\n"
            + _CHECK
            + (
                "    raise ModuleNotFoundError(\n"
                '        "this chapter needs the package `taskspace`: install it as the page "\n'
                "        \"'Run this book' says (pip install -e '.[book]' in a copy of the book)\"\n"
                "    )\n"
            ).rstrip("\n")
        )
    return (
        _HEADER
        + "import importlib.util\nimport subprocess\nimport sys\n\n"
        + f'PACKAGE = "taskspace[book] @ git+{url}"\n'
        + _CHECK
        + '    command = [sys.executable, "-m", "pip", "install", "--quiet", PACKAGE]\n'
        + "    if subprocess.run(command).returncode != 0:  # offline, or a wrong address\n"
        + "        raise ModuleNotFoundError(\n"
        + '            f"pip could not install {PACKAGE} (it needs the internet): "\n'
        + "            \"install it as the page 'Run this book' says\"\n"
        + "        )"
    )


def repository_url(config: Path) -> str:
    """``repository.url`` of the book's ``_config.yml`` ("" when unset)."""
    settings = yaml.safe_load(Path(config).read_text()) or {}
    return str((settings.get("repository") or {}).get("url") or "").strip()


def set_install_cells(notebooks: Iterable[Path], url: str) -> list[Path]:
    """Make the first code cell of each notebook the install cell for ``url``; returns the
    notebooks that changed (an unchanged notebook is not rewritten)."""
    changed = []
    for path in map(Path, notebooks):
        notebook = nbformat.read(path, as_version=4)
        source = install_source(url)
        present = [c for c in notebook.cells if INSTALL_TAG in c.metadata.get("tags", [])]
        if present and present[0].source == source:
            continue
        if present:
            present[0].source = source
        else:
            first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
            cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INSTALL_TAG, "hide-cell"]})
            notebook.cells.insert(first_code, cell)
        nbformat.write(notebook, path)
        changed.append(path)
    return changed
