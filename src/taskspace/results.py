"""The book's headline numbers, written by the chapters and read by the intro's comparison table.

A chapter starts with ``results.use("01_tasks_and_data", scale=SCALE)`` and then calls
``results.record("imagenet.n_nodes", 1860, paper=131, note="...")`` for each number it states.
At scale ``book`` the numbers go to ``book/results/<chapter>.json`` (committed with the notebook);
at any other scale to ``$TASKSPACE_RESULTS_DIR`` or a scratch folder, so a quick run never
overwrites the book's results. Each file is one flat JSON object::

    {"imagenet.mlp.f1_existing": {"value": 0.54, "std": 0.02, "paper": 0.542, "note": "..."}}

Fields that were not given are omitted. Introduced in chapter 1.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from taskspace.cache import atomic_write_bytes

__all__ = ["ResultsFile", "load_all", "record", "use"]

Scalar = float | int | bool | str


@dataclass
class ResultsFile:
    """The results of one chapter: a JSON file rewritten atomically after each record."""

    path: Path

    def read(self) -> dict[str, dict[str, Scalar]]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def record(
        self,
        key: str,
        value: Scalar,
        std: float | None = None,
        paper: Scalar | None = None,
        note: str | None = None,
    ) -> None:
        """Store ``value`` (and optionally its spread, the paper's value and a note) under ``key``."""
        if not key or any(c.isspace() for c in key):
            raise ValueError(f"result keys are dotted names without spaces, got {key!r}")
        entry = {"value": _plain(key, "value", value)}
        for field, given in (("std", std), ("paper", paper), ("note", note)):
            if given is not None:
                entry[field] = _plain(key, field, given)
        table = self.read()
        table[key] = entry
        text = json.dumps(dict(sorted(table.items())), indent=1, allow_nan=False) + "\n"
        atomic_write_bytes(self.path, text.encode())


def _plain(key: str, field: str, value: object) -> Scalar:
    """A JSON-ready Python scalar from a Python, NumPy or 0-d torch value; NaN is refused."""
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if not math.isfinite(float(value)):
            raise ValueError(f"result {key!r}: {field} is {value}; refusing to record a non-number")
        return float(value)
    raise TypeError(f"result {key!r}: {field} must be a number, bool or string, not {type(value)}")


def default_results_dir(scale: str) -> Path:
    """``$TASKSPACE_RESULTS_DIR`` if set; else ``results/`` beside the notebook at scale ``book``,
    and a scratch folder at other scales."""
    configured = os.environ.get("TASKSPACE_RESULTS_DIR")
    if configured:
        return Path(configured)
    if scale == "book":
        return Path.cwd() / "results"
    return Path(tempfile.gettempdir()) / "taskspace-results" / scale


_current: ResultsFile | None = None


def use(chapter: str, scale: str, results_dir: Path | None = None) -> None:
    """Start a fresh results file for ``chapter`` (a notebook's file stem) and make it current."""
    global _current
    folder = results_dir if results_dir is not None else default_results_dir(scale)
    _current = ResultsFile(folder / f"{chapter}.json")
    _current.path.unlink(missing_ok=True)


def record(
    key: str,
    value: Scalar,
    std: float | None = None,
    paper: Scalar | None = None,
    note: str | None = None,
) -> None:
    """Record a headline number in the current chapter's file (see :func:`use`)."""
    if _current is None:
        raise RuntimeError(
            "no results file is open: call taskspace.results.use(chapter, scale) first"
        )
    _current.record(key, value, std=std, paper=paper, note=note)


def load_all(results_dir: Path) -> dict[str, dict[str, dict[str, Scalar]]]:
    """Every chapter's results under ``results_dir``: ``{chapter: {key: entry}}``, sorted."""
    return {
        path.stem: ResultsFile(path).read() for path in sorted(Path(results_dir).glob("*.json"))
    }
