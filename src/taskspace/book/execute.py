"""Running chapters with papermill: in place and stamped at scale ``book``, copies otherwise.

Chapters are executed with the working directory set to the notebook's folder and progress bars
quiet; at scale ``book`` each is stamped and its text pair rewritten.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from taskspace.book.pairs import write_text_pairs
from taskspace.book.stamps import SCALES, stamp

__all__ = ["run"]


def run(
    notebooks: Sequence[Path],
    scale: str,
    output_dir: Path | None = None,
    cold_cache: Path | None = None,
    parameters: dict[str, object] | None = None,
) -> list[Path]:
    """Execute each notebook at ``scale`` with papermill; returns the executed files.

    At scale ``book`` without ``output_dir`` the notebooks are executed in place and stamped.
    Otherwise the executed copies go to ``output_dir`` and results to ``output_dir/results``.
    With ``cold_cache`` (a folder that must be empty or absent) the chapters run, in the order
    given, on that fresh disk cache instead of the user's, and their stamps say that their run
    times are cold-cache times. ``parameters`` override settings of the chapters' ``parameters``
    cells (papermill), e.g. ``{"MIN_CLASSES": 10}``; at scale ``book`` they need ``output_dir``,
    so that the committed chapters keep the book's settings.
    """
    import papermill

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    in_place = scale == "book" and output_dir is None
    if in_place and parameters:
        raise ValueError(
            "changed parameters need an output_dir: the committed chapters keep theirs"
        )
    if not in_place and output_dir is None:
        raise ValueError(f"scale {scale!r} needs an output_dir (only 'book' runs in place)")
    # Progress bars are for people, not for committed outputs: ours, and transformers' "Loading
    # weights" bar, which a first (cold-cache) run of chapters 2 and 4 would write to stderr.
    # A matplotlib backend chosen in the shell (MPLBACKEND=Agg for scripts) would keep the kernel
    # from showing figures: the chapters' figures need Jupyter's inline backend.
    env: dict[str, str | None] = {
        "TASKSPACE_QUIET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "MPLBACKEND": None,
    }
    if cold_cache is not None:
        if Path(cold_cache).exists() and any(Path(cold_cache).iterdir()):
            raise ValueError(f"the cold cache {cold_cache} is not empty: give an empty folder")
        env["TASKSPACE_CACHE"] = str(Path(cold_cache).resolve())
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
                parameters=({} if scale == "book" else {"SCALE": scale}) | (parameters or {}),
                cwd=str(notebook.resolve().parent),
                kernel_name="python3",
                progress_bar=False,
            )
            if in_place:
                seconds = time.perf_counter() - started
                stamp(target, scale, seconds=seconds, cold=cold_cache is not None)
                write_text_pairs([target])
            executed.append(target)
    return executed


@contextlib.contextmanager
def _environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (``None``: unset) environment variables inside a ``with`` block (papermill's kernel
    inherits them)."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
