"""The fused Triton box-overlap kernel against the chunked PyTorch kernel (values and gradients).

On the CPU the kernel runs in Triton's interpreter, which has to be switched on
(``TRITON_INTERPRET=1``) before ``triton`` itself is imported (its standard library is decorated at
import time); torch may have imported it already in this process, so the interpreted cases run
in one child process, which saves the kernel's values and gradients for the comparison here. On
a GPU the CUDA-marked test runs the compiled kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import torch

from taskspace.boxes.geometry import Boxes, _chosen_kernel, log_overlap_matrix

pytest.importorskip("triton")

#: The child process: every case of ``cases.pt`` through the Triton kernel, values and gradients.
CHILD = """
import sys, torch
from taskspace.boxes.triton_overlap import triton_log_overlap_matrix
cases, results = torch.load(sys.argv[1]), []
for corners, weights, temperatures in cases:
    leaves = [t.clone().requires_grad_() for t in corners]
    out = triton_log_overlap_matrix(*leaves, *temperatures)
    (out * weights).sum().backward()
    results.append((out.detach(), [leaf.grad for leaf in leaves]))
torch.save(results, sys.argv[2])
"""

#: (rows, columns, spread, (T_vol, T_int)) of the interpreted cases.
CASES = [
    ((5, 1), (3, 1), 1.0, (0.1, 1e-4)),  # fewer boxes than a tile, k = 1
    ((37, 2), (41, 2), 1.0, (0.1, 1e-4)),  # not a multiple of the tile, M != N
    ((2, 33, 5), (2, 9, 5), 1.0, (0.1, 1e-4)),  # a batch of two matrices
    ((20, 3), (20, 3), 6.0, (0.1, 1e-4)),  # mostly disjoint boxes: the volumes' tiny tails
    ((12, 2), (12, 2), 1.0, (0.5, 0.05)),  # other temperatures
]


def _boxes(shape: tuple[int, ...], seed: int, spread: float = 1.0) -> Boxes:
    """Random boxes: corners ~ N(0, spread^2), sides ~ U(0, 1); spread > 1 makes many disjoint."""
    generator = torch.Generator().manual_seed(seed)
    low = spread * torch.randn(*shape, generator=generator)
    return Boxes(low, low + torch.rand(*shape, generator=generator))


Overlap = Callable[[Boxes, Boxes], torch.Tensor]
Result = tuple[torch.Tensor, list[torch.Tensor]]


def _value_and_gradients(boxes: Boxes, others: Boxes, overlap: Overlap) -> Result:
    """``overlap(boxes, others)`` and the gradients of a random weighted sum of it."""
    leaves = [t.clone().requires_grad_() for t in (boxes.low, boxes.high, others.low, others.high)]
    out = overlap(Boxes(leaves[0], leaves[1]), Boxes(leaves[2], leaves[3]))
    (out * _weights(out.shape, out.device)).sum().backward()
    return out.detach(), [leaf.grad for leaf in leaves]


def _assert_close(result: Result, expected: Result) -> None:
    """Values to 1e-4 (they reach -60), gradients to 1e-3 (they reach 150): float32 sums in
    another order."""
    torch.testing.assert_close(result[0], expected[0], rtol=1e-5, atol=1e-4)
    for grad, expected_grad in zip(result[1], expected[1], strict=True):
        torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-3)


def _weights(shape: torch.Size, device: torch.device) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(7)).to(device)


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[torch.Tensor, list]]:
    """The Triton kernel's value and gradients for each of :data:`CASES`, in the interpreter."""
    folder = tmp_path_factory.mktemp("triton")
    cases = []
    for seed, (rows, columns, spread, temperatures) in enumerate(CASES):
        boxes, others = _boxes(rows, 2 * seed, spread), _boxes(columns, 2 * seed + 1, spread)
        weights = _weights(torch.Size((*rows[:-1], columns[-2])), torch.device("cpu"))
        cases.append(((boxes.low, boxes.high, others.low, others.high), weights, temperatures))
    torch.save(cases, folder / "cases.pt")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    command = [sys.executable, "-c", CHILD, str(folder / "cases.pt"), str(folder / "out.pt")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr  # no NaN or overflow in either branch
    return torch.load(folder / "out.pt", weights_only=True)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_interpreted_triton_kernel_matches_the_pytorch_kernel(
    interpreted: list[tuple[torch.Tensor, list]], case: int
) -> None:
    rows, columns, spread, temperatures = CASES[case]
    boxes, others = _boxes(rows, 2 * case, spread), _boxes(columns, 2 * case + 1, spread)

    def pytorch(a: Boxes, b: Boxes) -> torch.Tensor:
        return log_overlap_matrix(a, b, *temperatures, kernel="pytorch")

    expected, expected_grads = _value_and_gradients(boxes, others, pytorch)
    _assert_close(interpreted[case], (expected, expected_grads))


def test_triton_kernel_refuses_float64() -> None:
    from taskspace.boxes.triton_overlap import triton_log_overlap_matrix

    boxes = _boxes((4, 2), seed=0)
    low, high = boxes.low.double(), boxes.high.double()
    with pytest.raises(ValueError, match="float32"):
        triton_log_overlap_matrix(low, high, low, high, 0.1, 1e-4)


def test_automatic_choice_of_kernel() -> None:
    cpu = _boxes((4, 2), seed=0)
    assert _chosen_kernel("auto", cpu, cpu) == "pytorch"
    assert _chosen_kernel("triton", cpu, cpu) == "triton"
    with pytest.raises(ValueError, match="kernel must be one of"):
        _chosen_kernel("cuda", cpu, cpu)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_compiled_triton_kernel_on_cuda() -> None:
    boxes, others = (_boxes((2, n, 5), seed=n) for n in (1000, 700))
    boxes, others = (Boxes(b.low.cuda(), b.high.cuda()) for b in (boxes, others))
    assert _chosen_kernel("auto", boxes, others) == "triton"

    def pytorch(a: Boxes, b: Boxes) -> torch.Tensor:
        return log_overlap_matrix(a, b, kernel="pytorch")

    expected = _value_and_gradients(boxes, others, pytorch)
    _assert_close(_value_and_gradients(boxes, others, log_overlap_matrix), expected)
