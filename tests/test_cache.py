"""The one cache rule: keys from inputs, settings and the code that computes an entry."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from taskspace.cache import cache_key, cached, code_digest, load_entry

TRAIN = '''
"""Trains."""

from .helper import scale


def fit(x):
    """Fit {doc}."""
    y = scale(x)  # {comment}
    return {{"y": y + {offset}}}
'''

HELPER = """
FACTOR = {factor}


def scale(x):
    return x * FACTOR
"""

OTHER = """
def unrelated():
    return {value}
"""

RUN = """
def runner(step, x):
    def compute():
        return step(x)

    return compute
"""


def _package(
    root: Path,
    name: str,
    *,
    offset: int = 1,
    doc: str = "a line",
    comment: str = "scale first",
    factor: int = 2,
    other: int = 0,
    layout: str = "",
) -> object:
    """A tiny package ``name`` in ``root`` (imported), whose ``train.fit`` calls ``helper.scale``."""
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    train = TRAIN.format(doc=doc, comment=comment, offset=offset)
    (folder / "train.py").write_text(train.replace("y + ", "y  +  ") if layout else train)
    (folder / "helper.py").write_text(HELPER.format(factor=factor))
    (folder / "other.py").write_text(OTHER.format(value=other))
    (folder / "run.py").write_text(RUN)
    sys.path.insert(0, str(root))
    try:
        importlib.import_module(f"{name}.other")
        importlib.import_module(f"{name}.run")
        return importlib.import_module(f"{name}.train").fit
    finally:
        sys.path.remove(str(root))


def test_a_changed_line_of_the_function_or_a_callee_changes_the_key(tmp_path: Path) -> None:
    base = code_digest(_package(tmp_path, "pkg_base"))
    assert code_digest(_package(tmp_path, "pkg_same")) == base  # another name, the same code
    assert code_digest(_package(tmp_path, "pkg_line", offset=2)) != base
    assert code_digest(_package(tmp_path, "pkg_callee", factor=3)) != base


def test_comments_docstrings_layout_and_unrelated_modules_keep_the_key(tmp_path: Path) -> None:
    base = code_digest(_package(tmp_path, "pkg_base"))
    assert code_digest(_package(tmp_path, "pkg_comment", comment="other words")) == base
    assert code_digest(_package(tmp_path, "pkg_doc", doc="in other words")) == base
    assert code_digest(_package(tmp_path, "pkg_layout", layout="spaces")) == base
    assert code_digest(_package(tmp_path, "pkg_other", other=7)) == base


def _runner(fit: object, x: object) -> object:
    """The package's ``run.runner(fit, x)``: a closure like a chapter's ``compute``."""
    module = sys.modules[fit.__module__.replace(".train", ".run")]  # type: ignore[attr-defined]
    return module.runner(fit, x)


def test_a_closure_is_keyed_by_the_package_functions_it_holds(tmp_path: Path) -> None:
    first = _runner(_package(tmp_path, "pkg_first"), 1)
    second = _runner(_package(tmp_path, "pkg_second", factor=5), 1)
    again = _runner(_package(tmp_path, "pkg_third"), 1)
    assert code_digest(first) != code_digest(second)
    assert code_digest(first) == code_digest(again)


def test_cached_computes_once_and_misses_when_the_code_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path / "cache"))
    computed: list[str] = []
    first = _package(tmp_path, "pkg_one")
    changed = _package(tmp_path, "pkg_two", offset=4)

    def run(fit: object) -> torch.Tensor:
        compute = _runner(fit, torch.ones(2))

        def counted() -> dict[str, object]:
            computed.append(fit.__module__)  # type: ignore[attr-defined]
            return compute()  # type: ignore[operator]

        return cached({"x": torch.ones(2)}, counted, folder="test", code=compute)["y"]

    assert torch.equal(run(first), torch.full((2,), 3.0))
    assert torch.equal(run(first), torch.full((2,), 3.0))
    assert torch.equal(run(changed), torch.full((2,), 6.0))
    assert computed == ["pkg_one.train", "pkg_two.train"]


def test_the_key_covers_tensors_by_content_dtype_and_shape() -> None:
    a = torch.zeros(3)
    assert cache_key({"x": a}) == cache_key({"x": a.clone()})
    assert cache_key({"x": a}) != cache_key({"x": a + 1})
    assert cache_key({"x": a}) != cache_key({"x": a.double()})
    assert cache_key({"x": a}) != cache_key({"x": a.reshape(3, 1)})


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_key_covers_the_device_type() -> None:
    a = torch.zeros(3)
    assert cache_key({"x": a}) != cache_key({"x": a.cuda()})


#: One writer: a process that stores an entry under the key every writer computes.
WRITER = """
import os, torch
from taskspace.cache import cached
value = {"x": torch.arange(200_000) * os.getpid()}
cached({"same": "entry"}, lambda: value, folder="race", code=cached)
print(os.getpid())
"""


def test_concurrent_writers_leave_one_readable_entry(tmp_path: Path) -> None:
    env = {**os.environ, "TASKSPACE_CACHE": str(tmp_path)}
    command = [sys.executable, "-c", WRITER]
    writers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE) for _ in range(4)]
    pids = {int(writer.communicate(timeout=300)[0]) for writer in writers}
    assert [writer.returncode for writer in writers] == [0, 0, 0, 0]
    (entry,) = (tmp_path / "race").iterdir()  # one file, no temporary left behind
    stored = load_entry(entry)
    assert isinstance(stored, dict) and stored["x"].shape == (200_000,)
    assert int(stored["x"][1]) in pids


def test_an_unreadable_entry_is_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path))
    cached({"k": 1}, lambda: {"v": 1}, folder="bad")
    (entry,) = (tmp_path / "bad").iterdir()
    entry.write_bytes(b"not a torch file")
    assert cached({"k": 1}, lambda: {"v": 2}, folder="bad") == {"v": 2}


def test_joblib_would_miss_a_callee_change(tmp_path: Path) -> None:
    """What :mod:`taskspace.cache` adds to ``joblib.Memory``: the code of the callees."""
    joblib = pytest.importorskip("joblib")
    from joblib.func_inspect import get_func_code

    base, callee = _package(tmp_path, "pkg_j1"), _package(tmp_path, "pkg_j2", factor=9)
    assert get_func_code(base)[0] == get_func_code(callee)[0]  # joblib sees the same code
    assert code_digest(base) != code_digest(callee)
    assert joblib is not None
