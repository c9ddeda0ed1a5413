"""The disk cache: one folder, atomic files, and keys made of what produced each entry.

Every expensive result the book stores -- chapter 2's embeddings, chapter 4's boxes, chapter 7's
map, chapters 8-10's networks, measurements and discoveries, and the resumable checkpoints of
Task2Box and task discovery -- lives under :func:`cache_dir` and follows one rule: an entry's key
is the SHA-256 of

* the **inputs** -- tensors by content (:func:`~taskspace.digest.digest_tensor`: dtype, shape and
  values) and device type, strings, numbers and nested lists and dicts of them;
* the **settings** (the same, usually a config's ``as_key()`` or ``repr``);
* the **code** that computes it: the function passed in and every function and class of the
  package it reaches (called by name, named in a type hint, or held by a closure), transitively
  (:func:`code_digest`). Each is hashed as its syntax tree without docstrings, so a comment, a
  docstring or a reformatting keeps the key, a changed line of code changes it, and a change in a
  module the code never reaches leaves it alone. Immutable constants the code names (numbers,
  strings, tuples, frozen dataclasses) count with their values.

So an unchanged re-run recomputes nothing, an interrupted sweep resumes where it stopped, and a
changed recipe is never answered by a stale entry. The code of other libraries (torch, the
Python version) is not part of the key. The code is read from the source files: a process that
imported a module before it was edited runs the old code, so restart (or reload) after editing.

Files are written through a temporary file in the same folder and a rename
(:func:`atomic_write_bytes`): a reader never sees half a file, an interrupted write leaves
nothing, and several processes that compute the same entry at once (the ranks of a ``torchrun``
sweep) leave one whole file. Entries are read with ``torch.load(weights_only=True)``; an
unreadable one is recomputed.

Why not ``joblib.Memory``, which hashes a function's arguments and its code: it hashes the source
text of the decorated function only, so a change in a function it calls (the training loop under
a measurement) returns stale results while a changed comment discards the whole function's
entries; the tensors a closure captures are not arguments and are not hashed at all, and torch
tensors are hashed as pickles rather than by dtype, shape, values and device; and a code change
clears the function's folder, which, under ``torchrun``, can remove what another rank is writing.

Introduced in chapter 2 (embeddings); used by chapters 4 and 7-10.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import hashlib
import inspect
import io
import json
import os
import pickle
import re
import sys
import tempfile
import textwrap
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import torch

from taskspace.digest import digest_tensor

__all__ = [
    "atomic_write_bytes",
    "cache_dir",
    "cache_key",
    "cached",
    "code_digest",
    "load_entry",
    "save_entry",
]

#: What an entry holds: tensors, plain numbers and (nested) lists and dicts of them.
Stored = dict[str, object]

_PACKAGE = __name__.partition(".")[0]
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def cache_dir() -> Path:
    """The user cache folder: ``$TASKSPACE_CACHE`` or ``~/.cache/taskspace``."""
    configured = os.environ.get("TASKSPACE_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "taskspace"


def atomic_write_bytes(path: Path, chunks: Iterator[bytes] | bytes) -> None:
    """Write ``chunks`` to ``path`` through a temporary file in the same folder and a rename.

    A reader never sees a half-written file, an interrupted write leaves nothing behind, and
    concurrent writers of one path each rename a whole file of their own (the last one stays).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                out.write(chunk)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_entry(path: Path, value: object) -> None:
    """``torch.save(value)`` to ``path`` atomically (tensors, numbers, lists, dicts)."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_entry(path: Path, map_location: str | torch.device | None = None) -> object | None:
    """What :func:`save_entry` wrote at ``path``, or ``None`` when there is no readable file
    (an unreadable one -- another version's format, a damaged disk -- is removed)."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError):
        path.unlink(missing_ok=True)
        return None


# --- the code part of a key -------------------------------------------------------------------


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` with the docstring of every module, class and function removed (in place)."""
    for node in ast.walk(tree):
        kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        if isinstance(node, kinds) and node.body:
            first = node.body[0]
            is_text = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if is_text and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return tree


def _bytecode_text(code: types.CodeType) -> str:
    """A stand-in for source that cannot be read: instructions, names and constants."""
    consts = [
        _bytecode_text(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts
    ]
    return f"{code.co_code.hex()}|{code.co_names}|{consts}"


@functools.cache
def _syntax_digest(obj: types.CodeType | type) -> str:
    """SHA-256 of the syntax tree of a function's code or a class, without docstrings, comments
    or layout (memoised by code object, so a closure made anew on every call costs nothing)."""
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        text = ast.dump(_without_docstrings(ast.parse(source)), annotate_fields=False)
    except (OSError, TypeError, SyntaxError):  # no file (a REPL), or a lambda inside a line
        text = _bytecode_text(obj) if isinstance(obj, types.CodeType) else obj.__qualname__
    return hashlib.sha256(text.encode()).hexdigest()


def _code_names(code: types.CodeType) -> set[str]:
    """Every global or attribute name used by ``code`` and the code nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _hint_names(annotations: Mapping[str, object]) -> set[str]:
    """The identifiers in type hints (strings under ``from __future__ import annotations``)."""
    return {name for hint in annotations.values() for name in _NAME.findall(str(hint))}


def _unwrap(obj: object) -> object:
    """The function behind a method, property, partial, or decorated wrapper."""
    for _ in range(10):
        if isinstance(obj, staticmethod | classmethod | types.MethodType):
            obj = obj.__func__
        elif isinstance(obj, property):
            obj = obj.fget
        elif isinstance(obj, functools.partial):
            obj = obj.func
        elif hasattr(obj, "__wrapped__"):
            obj = obj.__wrapped__
        else:
            break
    return obj


def _constant_text(value: object) -> str | None:
    """A stable text of an immutable constant, or ``None`` for anything else."""
    if value is None or isinstance(value, bool | int | float | complex | str | bytes | enum.Enum):
        return repr(value)
    if isinstance(value, tuple | frozenset):
        items = [_constant_text(v) for v in value]
        return None if None in items else f"{type(value).__name__}({sorted(items)})"
    frozen = dataclasses.is_dataclass(value) and value.__dataclass_params__.frozen
    if frozen and not isinstance(value, type) and " at 0x" not in repr(value):
        return repr(value)
    return None


class _CodeWalk:
    """The package code reachable from some functions; see :func:`code_digest`."""

    def __init__(self, roots: set[str]) -> None:
        self.roots = roots
        self.seen: set[int] = set()
        self.parts: list[str] = []
        self.pending: list[object] = []

    def _ours(self, obj: object) -> bool:
        """In the package (or the caller's), and not this module: storing is not computing."""
        module = getattr(obj, "__module__", None)
        return (
            isinstance(module, str)
            and module != __name__
            and module.partition(".")[0] in self.roots
        )

    def _label(self, obj: object) -> str:
        module = obj.__module__.partition(".")[2]  # without the root: a renamed copy is equal
        return f"{module}:{getattr(obj, '__qualname__', '?')}"

    def visit(self, obj: object) -> None:
        obj = _unwrap(obj)
        if not isinstance(obj, type | types.FunctionType):
            obj = type(obj)  # an object a closure holds: its class's code is called on it
        if id(obj) in self.seen or not self._ours(obj):
            return
        self.seen.add(id(obj))
        if isinstance(obj, type):
            self._visit_class(obj)
        else:
            self._visit_function(obj)

    def _visit_function(self, function: types.FunctionType) -> None:
        self.parts.append(f"{self._label(function)}={_syntax_digest(function.__code__)}")
        names = _code_names(function.__code__) | _hint_names(function.__annotations__)
        self._follow(names, function.__globals__)
        for cell in function.__closure__ or ():
            try:
                self.pending.append(cell.cell_contents)
            except ValueError:  # an empty cell
                continue

    def _visit_class(self, cls: type) -> None:
        self.parts.append(f"{self._label(cls)}={_syntax_digest(cls)}")
        self.pending.extend(cls.__bases__)
        namespace = vars(sys.modules[cls.__module__])
        self._follow(_hint_names(inspect.get_annotations(cls)), namespace)
        self.pending.extend(vars(cls).values())

    def _follow(self, names: set[str], namespace: Mapping[str, object]) -> None:
        """Queue what ``names`` mean in ``namespace``: package functions and classes, the
        attributes of package modules, and the values of immutable constants."""
        for name in sorted(names):
            if name not in namespace:
                continue
            value = namespace[name]
            if isinstance(value, types.ModuleType):
                if value.__name__.partition(".")[0] in self.roots:
                    self._follow(names - {name}, vars(value))
                continue
            text = _constant_text(value)
            if text is not None:
                self.parts.append(f"{name}:={text}")
            else:
                self.pending.append(value)

    def run(self, functions: Iterable[object]) -> str:
        self.pending.extend(functions)
        while self.pending:
            self.visit(self.pending.pop())
        return hashlib.sha256("\n".join(sorted(set(self.parts))).encode()).hexdigest()


def code_digest(*functions: Callable[..., object] | type) -> str:
    """SHA-256 of the code of ``functions`` and of every package function and class they reach.

    Followed: names a function uses (calls, attributes of package modules, type hints), the
    functions and classes its closure holds (and the classes of the objects it holds), and for a
    class its bases, methods and field types -- within the ``taskspace`` package and the top-level package each of ``functions``
    belongs to, except this module (storing an entry is not computing it). Each is hashed as its syntax tree without docstrings (comments and layout are not
    in the tree), under its module and qualified name; immutable constants the code names count
    with their values. Chapter 2.
    """
    roots = {_PACKAGE} | {
        str(getattr(_unwrap(f), "__module__", "") or "").partition(".")[0] for f in functions
    }
    return _CodeWalk(roots - {""}).run(functions)


# --- keys and entries --------------------------------------------------------------------------


def _plain(value: object) -> object:
    """``value`` with tensors replaced by their digests and device types, ready for JSON."""
    if isinstance(value, torch.Tensor):
        return {"tensor": digest_tensor(value), "device": value.device.type}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def cache_key(
    parts: Mapping[str, object],
    code: Callable[..., object] | type | tuple[Callable[..., object] | type, ...] = (),
) -> str:
    """A hex key for ``parts`` (numbers, strings, tensors, nested dicts and lists) and the
    :func:`code_digest` of ``code`` (one function or class, or a tuple of them)."""
    functions = code if isinstance(code, tuple) else (code,)
    plain = {"parts": _plain(parts), "code": code_digest(*functions) if functions else None}
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()


def cached(
    parts: Mapping[str, object],
    compute: Callable[[], Stored],
    *,
    folder: str,
    code: Callable[..., object] | type | tuple[Callable[..., object] | type, ...] | None = None,
) -> Stored:
    """``compute()``, or what an earlier call with the same ``parts`` and code stored.

    The entry is ``cache_dir() / folder / <key>.pt``, its key :func:`cache_key` of ``parts``
    and of the code of ``code`` (default: ``compute`` itself, with everything it calls). An
    unreadable entry is recomputed and replaced.
    """
    path = cache_dir() / folder / f"{cache_key(parts, compute if code is None else code)}.pt"
    stored = load_entry(path)
    if stored is not None:
        return stored  # type: ignore[return-value]
    value = compute()
    save_entry(path, value)
    return value
