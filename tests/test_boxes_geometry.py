"""Box geometry kernels against the ``box-embeddings`` library, and their defining properties."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from taskspace.boxes.geometry import (
    Boxes,
    intersection,
    log_overlap,
    log_overlap_matrix,
    log_volume,
    overlap_matrix,
)

be_box = pytest.importorskip("box_embeddings.parameterizations.box_tensor")
be_volume = pytest.importorskip("box_embeddings.modules.volume.volume")
be_intersection = pytest.importorskip("box_embeddings.modules.intersection")

DTYPES = [torch.float32, torch.float64]
# (rtol, atol) for values and for gradients, per dtype
TOLERANCE = {torch.float32: (1e-5, 1e-5), torch.float64: (1e-10, 1e-10)}
# The three volumes: hard, soft, Bessel-approximate (volume_temperature, intersection_temperature)
VOLUMES = [(0.0, 0.0), (0.1, 0.0), (0.1, 1e-4), (1.0, 0.05)]


def random_boxes(n: int, k: int, dtype: torch.dtype, seed: int, spread: float = 2.0) -> Boxes:
    """``n`` boxes in ``R^k``: corners ~ N(0, spread^2), sides ~ U(0.05, 2), as leaf tensors."""
    gen = torch.Generator().manual_seed(seed)
    low = (spread * torch.randn(n, k, generator=gen, dtype=dtype)).requires_grad_()
    size = (0.05 + 1.95 * torch.rand(n, k, generator=gen, dtype=dtype)).requires_grad_()
    return Boxes.from_corner_and_size(low, size)


def library_boxes(boxes: Boxes) -> be_box.BoxTensor:
    return be_box.BoxTensor(boxes.as_tensor())


def library_log_overlap(a: Boxes, b: Boxes, volume_t: float, intersection_t: float):
    volume = be_volume.Volume(volume_temperature=volume_t, intersection_temperature=intersection_t)
    meet = be_intersection.Intersection(intersection_temperature=intersection_t)
    left, right = library_boxes(a), library_boxes(b)
    return volume(meet(left, right)) - volume(left)


def grads_of(value: torch.Tensor, *leaves: torch.Tensor, seed: int = 1) -> list[torch.Tensor]:
    """Gradients of a random linear functional of ``value`` (so every entry matters)."""
    weights = torch.randn(value.shape, generator=torch.Generator().manual_seed(seed))
    return list(torch.autograd.grad((value * weights.to(value)).sum(), leaves, retain_graph=True))


# --------------------------------------------------------------------------------------------
# Agreement with box-embeddings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("volume_t", "intersection_t"), VOLUMES)
def test_log_volume_matches_library(dtype, volume_t, intersection_t):
    boxes = random_boxes(30, 4, dtype, seed=0)
    ours = log_volume(boxes, volume_t, intersection_t)
    theirs = be_volume.Volume(volume_temperature=volume_t, intersection_temperature=intersection_t)(
        library_boxes(boxes)
    )
    rtol, atol = TOLERANCE[dtype]
    torch.testing.assert_close(ours, theirs, rtol=rtol, atol=atol)
    leaves = (boxes.low, boxes.high)
    for mine, ref in zip(grads_of(ours, *leaves), grads_of(theirs, *leaves), strict=True):
        torch.testing.assert_close(mine, ref, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("temperature", [0.0, 1e-4, 0.3])
def test_intersection_matches_library(dtype, temperature):
    a, b = random_boxes(20, 3, dtype, seed=1), random_boxes(20, 3, dtype, seed=2)
    ours = intersection(a, b, temperature).as_tensor()
    theirs = be_intersection.Intersection(intersection_temperature=temperature)(
        library_boxes(a), library_boxes(b)
    )
    theirs = torch.stack((theirs.z, theirs.Z), dim=-2)
    rtol, atol = TOLERANCE[dtype]
    torch.testing.assert_close(ours, theirs, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("chunk_size", [None, 1, 7])
def test_overlap_matrix_matches_library_values_and_gradients(dtype, k, chunk_size):
    boxes, others = random_boxes(23, k, dtype, seed=3), random_boxes(17, k, dtype, seed=4)
    ours = log_overlap_matrix(boxes, others, 0.1, 1e-4, chunk_size=chunk_size)
    theirs = library_log_overlap(boxes[:, None], others[None], 0.1, 1e-4)
    assert ours.shape == (23, 17)
    rtol, atol = TOLERANCE[dtype]
    torch.testing.assert_close(ours, theirs, rtol=rtol, atol=atol)
    leaves = (boxes.low, boxes.high, others.low, others.high)
    scale = max(g.abs().max().item() for g in grads_of(theirs, *leaves))
    for mine, ref in zip(grads_of(ours, *leaves), grads_of(theirs, *leaves), strict=True):
        torch.testing.assert_close(mine, ref, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize("dtype", DTYPES)
def test_square_overlap_matrix_sums_gradients_of_both_roles(dtype):
    """With ``others`` omitted, each box is a row and a column; both gradients must arrive."""
    low = torch.randn(12, 3, generator=torch.Generator().manual_seed(5), dtype=dtype)
    size = torch.rand(12, 3, generator=torch.Generator().manual_seed(6), dtype=dtype) + 0.1
    low.requires_grad_()
    boxes = Boxes.from_corner_and_size(low, size)
    ours = log_overlap_matrix(boxes, chunk_size=5)
    theirs = library_log_overlap(boxes[:, None], boxes[None], 0.1, 1e-4)
    rtol, atol = TOLERANCE[dtype]
    torch.testing.assert_close(ours, theirs, rtol=rtol, atol=atol)
    (mine,), (ref,) = grads_of(ours, low), grads_of(theirs, low)
    torch.testing.assert_close(mine, ref, rtol=rtol, atol=atol * ref.abs().max().item())


def test_overlap_matrix_passes_gradcheck():
    a = random_boxes(5, 2, torch.float64, seed=7)
    b = random_boxes(4, 2, torch.float64, seed=8)

    def fn(low_a, high_a, low_b, high_b):
        return log_overlap_matrix(Boxes(low_a, high_a), Boxes(low_b, high_b), 0.5, 0.05, 2)

    inputs = tuple(t.detach().requires_grad_() for t in (a.low, a.high, b.low, b.high))
    assert torch.autograd.gradcheck(fn, inputs)


def test_batched_overlap_matrix_is_one_matrix_per_batch_entry():
    """``(R, N, k)`` boxes (R networks trained together) give R independent matrices."""
    a, b = (
        random_boxes(3 * 6, 2, torch.float64, seed=12),
        random_boxes(3 * 4, 2, torch.float64, seed=13),
    )
    batched_a = Boxes(a.low.reshape(3, 6, 2), a.high.reshape(3, 6, 2))
    batched_b = Boxes(b.low.reshape(3, 4, 2), b.high.reshape(3, 4, 2))
    batched = log_overlap_matrix(batched_a, batched_b, chunk_size=4)
    one_by_one = torch.stack([log_overlap_matrix(batched_a[r], batched_b[r]) for r in range(3)])
    torch.testing.assert_close(batched, one_by_one)
    leaves = (a.low, a.high, b.low, b.high)
    for mine, ref in zip(grads_of(batched, *leaves), grads_of(one_by_one, *leaves), strict=True):
        torch.testing.assert_close(mine, ref)


def test_log_overlap_broadcasts_like_the_matrix():
    a, b = random_boxes(6, 3, torch.float64, seed=9), random_boxes(4, 3, torch.float64, seed=10)
    torch.testing.assert_close(log_overlap(a[:, None], b[None]), log_overlap_matrix(a, b))
    torch.testing.assert_close(overlap_matrix(a, b), log_overlap_matrix(a, b).exp())


# --------------------------------------------------------------------------------------------
# What d_box means
# --------------------------------------------------------------------------------------------


def box(low: list[float], high: list[float]) -> Boxes:
    return Boxes(
        torch.tensor([low], dtype=torch.float64), torch.tensor([high], dtype=torch.float64)
    )


def test_containment_gives_one_and_the_reverse_gives_the_volume_ratio():
    inner, outer = box([1.0, 1.0], [2.0, 3.0]), box([0.0, 0.0], [4.0, 5.0])
    both = Boxes(torch.cat([inner.low, outer.low]), torch.cat([inner.high, outer.high]))
    d = overlap_matrix(both)
    assert d[0, 1].item() == pytest.approx(1.0, abs=1e-3)
    ratio = log_volume(inner).exp() / log_volume(outer).exp()
    assert d[1, 0].item() == pytest.approx(ratio.item(), rel=1e-3)
    assert d[1, 0].item() == pytest.approx(2 / 20, rel=0.02)  # the hard volumes' ratio


def test_disjoint_boxes_give_nearly_zero():
    a, b = box([0.0, 0.0], [1.0, 1.0]), box([3.0, 0.0], [4.0, 1.0])
    assert overlap_matrix(a, b).item() < 1e-8  # exp(-gap / T_vol) = exp(-20)
    assert overlap_matrix(b, a).item() < 1e-8


def test_hard_boxes_have_no_gradient_when_disjoint_and_soft_boxes_do():
    centre = torch.tensor([[3.0, 0.5]], dtype=torch.float64, requires_grad=True)
    a = Boxes(centre - 0.5, centre + 0.5)
    b = box([0.0, 0.0], [1.0, 1.0])
    (hard,) = torch.autograd.grad(log_overlap(a, b, 0.0, 0.0).sum(), centre)
    (soft,) = torch.autograd.grad(log_overlap(a, b).sum(), centre)
    assert torch.all(hard == 0)
    assert soft[0, 0] < 0  # moving a towards b (decreasing x) increases the overlap


finite = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False)
side = st.floats(min_value=0.05, max_value=4.0, allow_nan=False)


@st.composite
def box_pairs(draw: st.DrawFn) -> tuple[Boxes, Boxes]:
    k = draw(st.integers(min_value=1, max_value=5))
    values = [draw(st.lists(strategy, min_size=k, max_size=k)) for strategy in (finite, side) * 2]
    low_a, size_a, low_b, size_b = (torch.tensor([v], dtype=torch.float64) for v in values)
    return Boxes.from_corner_and_size(low_a, size_a), Boxes.from_corner_and_size(low_b, size_b)


@settings(max_examples=200, deadline=None)
@given(box_pairs())
def test_overlap_lies_in_unit_interval(pair):
    a, b = pair
    d = overlap_matrix(a, b).item()
    assert 0.0 <= d <= 1.0 + 1e-12


@settings(max_examples=200, deadline=None)
@given(box_pairs(), st.lists(st.floats(min_value=0.0, max_value=3.0), min_size=2, max_size=2))
def test_growing_the_outer_box_never_lowers_the_overlap(pair, growth):
    a, b = pair
    grown = Boxes(b.low - growth[0], b.high + growth[1])
    assert overlap_matrix(a, grown).item() >= overlap_matrix(a, b).item() - 1e-12


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_boxes_reject_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        Boxes(torch.tensor([[float("nan"), 0.0]]), torch.ones(1, 2))
    with pytest.raises(ValueError, match="same shape"):
        Boxes(torch.zeros(3, 2), torch.ones(3, 3))
    with pytest.raises(TypeError, match="floating-point"):
        Boxes(torch.zeros(3, 2, dtype=torch.long), torch.ones(3, 2, dtype=torch.long))


def test_kernels_reject_mismatched_boxes_and_temperatures():
    a, b = random_boxes(3, 2, torch.float64, seed=0), random_boxes(3, 3, torch.float64, seed=0)
    with pytest.raises(ValueError, match="dimension"):
        log_overlap_matrix(a, b)
    with pytest.raises(ValueError, match="positive temperatures"):
        log_overlap_matrix(a, intersection_temperature=0.0)
    with pytest.raises(ValueError, match="temperatures must be >= 0"):
        log_volume(a, volume_temperature=float("nan"))
    with pytest.raises(ValueError, match="same batch shape"):
        log_overlap_matrix(a[None], a)


# --------------------------------------------------------------------------------------------
# CUDA
# --------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_overlap_matrix_on_cuda_matches_cpu():
    cpu = random_boxes(300, 5, torch.float64, seed=11)
    device = torch.device("cuda")
    gpu = Boxes(cpu.low.detach().to(device).requires_grad_(), cpu.high.detach().to(device))
    on_gpu = log_overlap_matrix(gpu, chunk_size=64)
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), log_overlap_matrix(cpu).detach())
    (grad_gpu,) = grads_of(on_gpu, gpu.low)
    (grad_cpu,) = grads_of(log_overlap_matrix(cpu), cpu.low)
    torch.testing.assert_close(grad_gpu.cpu(), grad_cpu)
