"""Stamps: which code made a chapter's committed outputs, and whether they are stale.

A chapter run at scale ``book`` is stamped with the hash of its code cells
(``metadata.taskspace.code_hash``), its scale and its run time; :func:`check` recomputes the hash,
so a notebook whose code changed after its outputs were made is caught, as are committed errors,
committed stderr and text pairs that no longer match their notebook.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import nbformat

from taskspace.book.install import INSTALL_TAG
from taskspace.book.pages import page_problems
from taskspace.book.pairs import pair_reasons

__all__ = ["SCALES", "STAMP", "check", "code_hash", "stale_reasons", "stamp"]

SCALES = ("fast", "book", "paper")
STAMP = "taskspace"


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 of the notebook's code cells (papermill's injected-parameters cell and the cell
    that installs the package, :mod:`.install`, excluded)."""
    digest = hashlib.sha256()
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "injected-parameters" in tags or INSTALL_TAG in tags:
            continue
        source = "\n".join(line.rstrip() for line in cell.source.strip().splitlines())
        digest.update(source.encode() + b"\x00")
    return digest.hexdigest()


def stamp(path: Path, scale: str, seconds: float | None = None, cold: bool = False) -> None:
    """Write the code hash, scale and run time of this run into the notebook's metadata
    (``cold``: the run started from an empty disk cache, as a reader's first run does).

    The run time is kept per kind of run: ``cold_seconds`` (with the code hash it was measured
    on, ``cold_code_hash``) and ``warm_seconds``; a run of one kind keeps the other kind's last
    measurement, so re-running a chapter on a filled cache keeps its first-run time. Papermill's
    per-cell timestamps are dropped, so re-running an unchanged chapter changes nothing but what
    its code computes.
    """
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    kept = {
        key: value
        for key, value in notebook.metadata.get(STAMP, {}).items()
        if key in ("cold_seconds", "cold_code_hash", "warm_seconds")
    }
    notebook.metadata[STAMP] = {"code_hash": code_hash(notebook), "scale": scale, **kept}
    if seconds is not None and scale == "book":
        if cold:
            notebook.metadata[STAMP]["cold_seconds"] = round(seconds, 1)
            notebook.metadata[STAMP]["cold_code_hash"] = notebook.metadata[STAMP]["code_hash"]
        else:
            notebook.metadata[STAMP]["warm_seconds"] = round(seconds, 1)
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
    """Stale-output reasons for all ``notebooks``, text pairs that no longer match them, and what
    their pages break (typed numbers, failed claims, exercises, width, figures: :mod:`.pages`)."""
    paths = [Path(path) for path in notebooks]
    return [
        reason
        for path in paths
        for reason in stale_reasons(path) + pair_reasons(path) + page_problems(path)
    ]
