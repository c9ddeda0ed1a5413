"""Tests of the meta-gradient benchmark (taskspace.agreement.benchmark; chapter 9)."""

from __future__ import annotations

import pytest
import torch

from taskspace.agreement import META_GRADIENTS, NetworkSpec
from taskspace.agreement.benchmark import (
    _start_peak_resident,
    _status_bytes,
    benchmark_meta_gradients,
)

INNER = NetworkSpec("small_cnn", in_channels=1, image_size=8, num_classes=2, width=3)


def _images(n: int = 48) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def test_benchmark_rows_compare_each_strategy_with_higher() -> None:
    rows = benchmark_meta_gradients(
        INNER, INNER, _images(), steps=(3,), batch_size=16, isolate=False
    )
    assert [row["strategy"] for row in rows] == list(META_GRADIENTS)
    assert rows[0]["seconds_ratio"] == 1.0 and rows[0]["gradient_difference"] == 0.0
    for row in rows:
        assert row["inner_steps"] == 3 and row["seconds"] > 0
        assert row["gradient_difference"] < 1e-5  # float32: the same gradient up to rounding
        assert row["proxy"] == rows[0]["proxy"]


def test_an_isolated_measurement_runs_in_a_fresh_process_with_the_same_result() -> None:
    isolated = benchmark_meta_gradients(
        INNER, INNER, _images(), steps=(2,), strategies=("unroll",), batch_size=16
    )
    here = benchmark_meta_gradients(
        INNER, INNER, _images(), steps=(2,), strategies=("unroll",), batch_size=16, isolate=False
    )
    assert isolated[0]["proxy"] == here[0]["proxy"]
    assert isolated[0]["peak_mb"] >= 0


def test_unknown_strategies_are_refused() -> None:
    with pytest.raises(ValueError, match="strategies must be among"):
        benchmark_meta_gradients(INNER, INNER, _images(), strategies=("adam",))


def test_the_peak_is_counted_from_the_start_of_the_run_not_from_an_earlier_peak() -> None:
    # the warm-up (or any earlier work) may have needed more memory than the run measured; a
    # peak counted as growth of the process's lifetime peak then reads 0 MB
    earlier = bytearray(256 * 2**20)
    earlier[::4096] = b"x" * len(earlier[::4096])  # touch every page: resident
    del earlier
    start = _start_peak_resident()
    if start is None:
        pytest.skip("the peak resident set can only be reset on Linux")
    assert _status_bytes("VmHWM") - start < 64 * 2**20
    during = bytearray(32 * 2**20)
    during[::4096] = b"x" * len(during[::4096])
    assert _status_bytes("VmHWM") - start >= 32 * 2**20
