"""Tests of taskspace.data.taskonomy: safe loading, the 25 x 25 affinity table, the attributes."""

from __future__ import annotations

import io
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from taskspace.data.resolve import ChecksumError, DataNotFoundError, data_folders, resolve
from taskspace.data.taskonomy import (
    AFFINITY_BUDGETS,
    ATTRIBUTE_QUESTIONS,
    SOURCE_ONLY_TASKS,
    TASK_KEYS,
    TASK_NAMES,
    AffinityFileError,
    affinity_source,
    load_affinities,
    read_affinity_pickle,
    task_attributes,
)

#: The supplement's attribute tables, committed as a test fixture, checked against the paper's
#: text where a ``TASKSPACE_DATA`` folder holds it (or its sibling ``papers/`` folder does, as in
#: the mirror beside a developer's clone).
SUPPLEMENT_TABLES = Path(__file__).resolve().parent / "data" / "task2box_supplement_tables.txt"
SUPPLEMENT_NAME = "task2box-supplementary.txt"
SUPPLEMENT = next(
    (
        path
        for folder in data_folders()
        for path in (folder / SUPPLEMENT_NAME, folder.parent / "papers" / SUPPLEMENT_NAME)
        if path.is_file()
    ),
    None,
)

FINITE_PER_BUDGET = {"full": 483, "1k": 528, "16k": 528}


@pytest.fixture(scope="module")
def affinity_paths() -> dict[str, Path]:
    """Local, verified paths of the three pickles (no download is attempted)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKSPACE_OFFLINE", "1")
        try:
            return {budget: resolve(affinity_source(budget)) for budget in AFFINITY_BUDGETS}
        except DataNotFoundError as error:
            pytest.skip(f"Taskonomy affinity pickles not available (set TASKSPACE_DATA): {error}")


@pytest.fixture(scope="module")
def tables(affinity_paths):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASKSPACE_OFFLINE", "1")
        return {budget: load_affinities(budget) for budget in AFFINITY_BUDGETS}


# ----------------------------------------------------------------------------- safe loading


def _load(data: bytes) -> dict[str, float]:
    return read_affinity_pickle(io.BytesIO(data))


def test_rejects_os_system_global():
    # GLOBAL 'os system' then STOP: a bare reference, never called, even by a plain unpickler.
    payload = b"\x80\x02cos\nsystem\nq\x00."
    with pytest.raises(pickle.UnpicklingError, match=r"forbidden global os\.system"):
        _load(payload)


def test_rejects_reduce_payload_before_calling_it():
    class Evil:
        def __reduce__(self):
            return (os.getpid, ())  # harmless if it ever ran; it must not even be looked up

    payload = pickle.dumps({"a__b": Evil()}, protocol=4)  # STACK_GLOBAL 'posix getpid' (or 'nt')
    with pytest.raises(pickle.UnpicklingError, match=r"forbidden global (posix|nt|os)\.getpid"):
        _load(payload)


def test_rejects_numpy_arrays_and_builtins():
    with pytest.raises(pickle.UnpicklingError, match=r"_reconstruct"):
        _load(pickle.dumps({"a__b": np.arange(3)}, protocol=4))
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        _load(b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94.")


def test_accepts_numpy_scalars_and_nan():
    content = {"a__b": np.float64(0.25), "b__a": math.nan, "c__a": 0.5}
    loaded = _load(pickle.dumps(content, protocol=3))  # numpy 2 writes numpy._core.multiarray
    assert loaded["a__b"] == 0.25 and loaded["c__a"] == 0.5
    assert math.isnan(loaded["b__a"])
    assert all(type(value) is float for value in loaded.values())


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"a__b": "0.5"}, "str"),
        ({"a__b": 1}, "int"),
        ({"a__b": True}, "bool"),
        ({1: 0.5}, "int"),
        ([("a__b", 0.5)], "list"),
        ({"a__b": math.inf}, "infinite"),
    ],
)
def test_validation_names_the_wrong_type(content, named):
    with pytest.raises(AffinityFileError, match=named):
        _load(pickle.dumps(content, protocol=3))


def test_accepts_real_files(affinity_paths):
    for path in affinity_paths.values():
        raw = read_affinity_pickle(path)
        assert len(raw) > 600
        assert all(type(value) is float and math.isfinite(value) for value in raw.values())


def test_checksum_mismatch_on_corrupted_copy(affinity_paths, tmp_path, monkeypatch):
    data = bytearray(affinity_paths["1k"].read_bytes())
    data[len(data) // 2] ^= 0x01
    corrupted = tmp_path / "data" / "taskonomy" / "all_affinities_1k.pkl"
    corrupted.parent.mkdir(parents=True)
    corrupted.write_bytes(bytes(data))
    monkeypatch.setenv("TASKSPACE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TASKSPACE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TASKSPACE_OFFLINE", "1")
    with pytest.raises(ChecksumError, match=r"all_affinities_1k\.pkl"):
        load_affinities("1k")


def test_unknown_budget():
    with pytest.raises(ValueError, match="budget"):
        affinity_source("2k")


# ----------------------------------------------------------------------------- the table


def test_table_shape_and_counts(tables):
    for budget, table in tables.items():
        assert table.tasks == TASK_NAMES and len(table.tasks) == 25
        assert table.values.shape == (25, 25) and table.values.dtype == torch.float64
        assert table.num_finite == FINITE_PER_BUDGET[budget], budget
        finite = table.values[table.finite_mask()]
        assert bool(((finite >= 0) & (finite <= 1)).all())


def test_nan_pattern(tables):
    source_only = [TASK_NAMES.index(name) for name in SOURCE_ONLY_TASKS]
    assert SOURCE_ONLY_TASKS == ("Colorization", "Inpainting", "Jigsaw-Puzzle")
    for budget, table in tables.items():
        values = table.values
        assert bool(torch.isnan(values.diagonal()).all())
        assert bool(torch.isnan(values[:, source_only]).all()), "source-only targets are NaN"
        expected_nan = torch.eye(25, dtype=torch.bool)
        expected_nan[:, source_only] = True
        if budget == "full":  # no Scene-Classification in all_affinities.pkl
            scene = TASK_NAMES.index("Scene-Classification")
            expected_nan[scene, :] = True
            expected_nan[:, scene] = True
        assert torch.equal(torch.isnan(values), expected_nan), budget


def test_direction_source_then_target(tables):
    table = tables["1k"]
    denoise, auto = TASK_NAMES.index("Denoising-Autoencoder"), TASK_NAMES.index("Autoencoder")
    forward = table.raw["denoise__autoencoder"]  # source denoise -> target autoencoder
    backward = table.raw["autoencoder__denoise"]
    assert forward != backward
    assert table.values[denoise, auto].item() == forward
    assert table.values[auto, denoise].item() == backward
    assert table.affinity("Denoising-Autoencoder", "Autoencoder") == forward
    # Task2Box's d(D_i, D_j) = affinity(source j -> target i)
    assert table.as_target_by_source()[auto, denoise].item() == forward
    # a source-only task as source is finite, as target NaN
    assert math.isfinite(table.affinity("Jigsaw-Puzzle", "Depth"))
    assert math.isnan(table.affinity("Depth", "Jigsaw-Puzzle"))


def test_every_single_source_key_lands_in_place(tables):
    for table in tables.values():
        for s, source in enumerate(TASK_NAMES):
            for t, target in enumerate(TASK_NAMES):
                key = f"{TASK_KEYS[source]}__{TASK_KEYS[target]}"
                if s != t and key in table.raw:
                    assert table.values[s, t].item() == table.raw[key]


def test_diagonal_and_higher_order_keys_stay_in_raw(tables):
    table = tables["1k"]
    assert "rgb2depth__rgb2depth" in table.raw  # the file has it; the table leaves it NaN
    assert any(key.count("__") >= 2 for key in table.raw)
    assert "self__rgb2depth" in table.raw and "random__rgb2depth" in table.raw


# ----------------------------------------------------------------------------- attributes

# Rows read off supplement table 7 by hand, so the check does not depend on the parser below.
SPOT_ROWS = {
    "Autoencoder": "010001000000000",
    "Jigsaw-Puzzle": "000000100000000",
    "Segmentation-3D": "010010011000000",
    "Triplet-Fixated-Camera-Pose": "101010111000011",
    "Point-Matching": "100000110000001",
}


def _bits(row: str) -> list[float]:
    return [float(bit) for bit in row]


def test_attributes_shape_and_spot_rows():
    tasks, questions, matrix = task_attributes()
    assert tasks == TASK_NAMES
    assert len(questions) == 15 and matrix.shape == (25, 15)
    assert matrix.dtype == torch.float32
    assert set(matrix.unique().tolist()) == {0.0, 1.0}
    assert len({tuple(row) for row in matrix.tolist()}) == 25, "every task has a distinct row"
    for name, row in SPOT_ROWS.items():
        assert matrix[tasks.index(name)].tolist() == _bits(row), name


def _supplement_tables(text: str) -> tuple[list[str], dict[str, str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Dimension\t"))
    questions = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        dimension, question = line.split("\t")
        assert int(dimension) == len(questions)
        questions.append(question)
    start = next(i for i, line in enumerate(lines) if line.startswith("Task Name\t"))
    assert lines[start].split("\t")[1:] == [str(k) for k in range(15)]
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        name, *bits = line.split("\t")
        assert len(bits) == 15, line
        rows[name] = "".join(bits)
    return questions, rows


def test_attributes_equal_the_paper():
    questions, rows = _supplement_tables(SUPPLEMENT_TABLES.read_text(encoding="utf-8"))
    tasks, typed_questions, matrix = task_attributes()
    assert [q.question for q in typed_questions] == questions
    assert list(rows) == list(tasks), "same tasks, same order as table 7"
    for i, name in enumerate(tasks):
        assert matrix[i].tolist() == _bits(rows[name]), name
    assert {name: rows[name] for name in SPOT_ROWS} == SPOT_ROWS


@pytest.mark.skipif(
    SUPPLEMENT is None,
    reason=f"the paper's text ({SUPPLEMENT_NAME}) is in no TASKSPACE_DATA folder nor its sibling "
    "papers/: set TASKSPACE_DATA (make test sets ../shared/data)",
)
def test_committed_tables_are_the_papers():
    assert SUPPLEMENT is not None
    paper = _supplement_tables(SUPPLEMENT.read_text(encoding="utf-8"))
    assert _supplement_tables(SUPPLEMENT_TABLES.read_text(encoding="utf-8")) == paper


def test_question_short_names_are_identifiers():
    shorts = [q.short for q in ATTRIBUTE_QUESTIONS]
    assert len(set(shorts)) == 15 and all(s.isidentifier() for s in shorts)
