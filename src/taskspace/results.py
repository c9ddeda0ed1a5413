"""The book's headline numbers, written by the chapters and read by the intro's comparison table.

A chapter starts with ``results.use("01_tasks_and_data", scale=SCALE)`` and then calls
``results.record("imagenet.n_nodes", 1860, paper=131, note="...")`` for each number it states.
Inside a notebook each recorded number is also *glued* (MyST-NB) under its key, so the prose
quotes it as ``{glue:text}`imagenet.n_nodes``` and cannot drift from it; ``.std`` and ``.paper``
are glued beside it when given.

A sentence that compares numbers is backed by :func:`claim` (or :func:`claim_above`,
:func:`claim_level`) beside the computation: the claim is recorded as ``claims.<name>`` with its
verdict and numbers, and when a run makes it false the cell shows an admonition saying so, right
above the sentence. ``python -m taskspace.book claims`` lists the failed ones; at scale ``book``
a chapter with a failed claim fails the build.

At scale ``book`` the numbers go to ``book/results/<chapter>.json`` (committed with the notebook);
at any other scale to ``$TASKSPACE_RESULTS_DIR`` or a scratch folder, so a quick run never
overwrites the book's results. Each file is one flat JSON object::

    {"imagenet.mlp.f1_existing": {"value": 0.54, "std": 0.02, "paper": 0.542, "note": "..."}}

Fields that were not given are omitted; a claim's entry also holds ``"numbers"``. Introduced in
chapter 1.
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

__all__ = [
    "CLAIM_PREFIX",
    "ResultsFile",
    "claim",
    "claim_above",
    "claim_level",
    "compare",
    "failed_claims",
    "glue",
    "load_all",
    "record",
    "use",
]

CLAIM_PREFIX = "claims."

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
        numbers: dict[str, float] | None = None,
    ) -> None:
        """Store ``value`` (and optionally its spread, the paper's value, a note and, for a
        claim, the numbers it was decided on) under ``key``."""
        if not key or any(c.isspace() for c in key):
            raise ValueError(f"result keys are dotted names without spaces, got {key!r}")
        entry = {"value": _plain(key, "value", value)}
        for field, given in (("std", std), ("paper", paper), ("note", note)):
            if given is not None:
                entry[field] = _plain(key, field, given)
        if numbers:
            entry["numbers"] = {
                name: _plain(f"{key}.{name}", "number", number) for name, number in numbers.items()
            }
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
    glue(key, value)
    if std is not None:
        glue(f"{key}.std", std)
    if paper is not None:
        glue(f"{key}.paper", paper)


def glue(key: str, value: object) -> None:
    """Glue ``value`` under ``key`` for the prose (``{glue:text}`key:.3f```), without showing it.

    Outside a notebook kernel (a script, a test) this does nothing. A string is glued as Markdown,
    so a verdict word such as ``"level with"`` reads as text (``{glue:md}`key```).
    """
    if not _in_kernel():
        return
    from IPython.display import Markdown
    from myst_nb import glue as myst_glue

    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    myst_glue(key, Markdown(value) if isinstance(value, str) else value, display=False)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


def compare(a: float, b: float, spread: float) -> str:
    """``"above"``, ``"below"`` or ``"level with"``: how ``a`` stands to ``b`` given ``spread``.

    A difference counts only where it exceeds ``spread`` (the chapter says how its spread is
    formed: draws, seeds, re-measurement); otherwise the two are level.
    """
    difference = float(a) - float(b)
    if abs(difference) <= float(spread):
        return "level with"
    return "above" if difference > 0 else "below"


def claim(name: str, statement: str, holds: bool, **numbers: float) -> None:
    """Record the claim ``statement`` as ``claims.<name>`` with its verdict and ``numbers``.

    When it does not hold, the cell shows an admonition (Markdown, rendered by the book) with the
    numbers, right above the sentence that makes the claim.
    """
    holds = bool(holds.item() if hasattr(holds, "item") else holds)
    if _current is None:
        raise RuntimeError(
            "no results file is open: call taskspace.results.use(chapter, scale) first"
        )
    _current.record(CLAIM_PREFIX + name, holds, note=statement, numbers=numbers)
    if not holds and _in_kernel():
        from IPython.display import display

        shown = ", ".join(f"{key} = {_format(value)}" for key, value in numbers.items())
        text = f"{statement}\n\nOn this run: {shown}."
        markdown = (
            ":::{admonition} This claim does not hold on this run\n:class: warning\n"
            f"{text}\n:::\n"
        )
        display(
            {"text/markdown": markdown, "text/plain": f"CLAIM FAILS ON THIS RUN: {text}"}, raw=True
        )


def claim_above(name: str, statement: str, high: float, low: float, spread: float) -> None:
    """Claim that ``high`` exceeds ``low`` by more than ``spread`` (see :func:`claim`)."""
    claim(
        name,
        statement,
        float(high) - float(low) > float(spread),
        high=float(high),
        low=float(low),
        spread=float(spread),
    )


def claim_level(name: str, statement: str, a: float, b: float, spread: float) -> None:
    """Claim that ``a`` and ``b`` differ by no more than ``spread`` (see :func:`claim`)."""
    claim(
        name,
        statement,
        abs(float(a) - float(b)) <= float(spread),
        a=float(a),
        b=float(b),
        spread=float(spread),
    )


def failed_claims(entries: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """The claims of one chapter's results (``{key: entry}``) that do not hold."""
    return {
        key: entry
        for key, entry in entries.items()
        if key.startswith(CLAIM_PREFIX) and entry["value"] is False
    }


def _format(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def load_all(results_dir: Path) -> dict[str, dict[str, dict[str, Scalar]]]:
    """Every chapter's results under ``results_dir``: ``{chapter: {key: entry}}``, sorted."""
    return {
        path.stem: ResultsFile(path).read() for path in sorted(Path(results_dir).glob("*.json"))
    }
