"""Benchmark: the N x N box-overlap matrix, forward + backward (Task2Box's training step).

For each size (N boxes in R^k) it times ``log_overlap_matrix(boxes).sum().backward()`` against the
``box-embeddings`` library computing the same matrix two ways: broadcasting ``(N, 1)`` against
``(1, N)`` boxes, and the authors' style of repeating both to ``N^2`` rows. Prints one JSON line
per size and device: median seconds of each, and the library's time divided by ours (> 1 means
ours is faster). Usage: ``python bench/boxes.py [--repeats 7] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch

from taskspace.boxes.geometry import (
    INTERSECTION_TEMPERATURE,
    VOLUME_TEMPERATURE,
    Boxes,
    log_overlap_matrix,
)

SIZES = [(150, 2), (150, 5), (1000, 2), (1000, 5)]


def library_log_overlap(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``log vol(rows ∩ cols) - log vol(rows)`` with box-embeddings at Task2Box's temperatures."""
    from box_embeddings.modules.intersection import Intersection
    from box_embeddings.modules.volume.volume import Volume
    from box_embeddings.parameterizations.box_tensor import BoxTensor

    volume = Volume(
        volume_temperature=VOLUME_TEMPERATURE, intersection_temperature=INTERSECTION_TEMPERATURE
    )
    meet = Intersection(intersection_temperature=INTERSECTION_TEMPERATURE)
    rows, cols = BoxTensor(rows), BoxTensor(cols)
    return volume(meet(rows, cols)) - volume(rows)


def library_broadcast(data: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` log-overlaps with box-embeddings, broadcasting (N, 1) against (1, N) boxes."""
    return library_log_overlap(data[:, None], data[None])


def library_repeat(data: torch.Tensor) -> torch.Tensor:
    """The same with both operands repeated to ``N^2`` boxes (the Task2Box authors' code)."""
    n, _, k = data.shape
    rows = data.unsqueeze(1).repeat(1, n, 1, 1).reshape(-1, 2, k)
    return library_log_overlap(rows, data.repeat(n, 1, 1)).reshape(n, n)


def ours(data: torch.Tensor) -> torch.Tensor:
    return log_overlap_matrix(Boxes(data[:, 0], data[:, 1]))


def seconds(fn: Callable[[torch.Tensor], torch.Tensor], data: torch.Tensor, repeats: int) -> float:
    """Median wall time of forward + backward of ``fn(data).sum()`` (one warm-up run first)."""
    times = []
    for _ in range(repeats + 1):
        leaf = data.detach().requires_grad_()
        if leaf.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(leaf).sum().backward()
        if leaf.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def random_data(n: int, k: int, device: torch.device) -> torch.Tensor:
    """``(n, 2, k)`` float32 boxes: corners ~ N(0, 1), sides ~ U(0, 1) (the model's range)."""
    gen = torch.Generator().manual_seed(n * 10 + k)
    low = torch.randn(n, k, generator=gen)
    return torch.stack((low, low + torch.rand(n, k, generator=gen)), dim=1).to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        for n, k in SIZES:
            data = random_data(n, k, device)
            timing = {
                name: seconds(fn, data, args.repeats)
                for name, fn in (
                    ("ours", ours),
                    ("library_broadcast", library_broadcast),
                    ("library_repeat", library_repeat),
                )
            }
            print(
                json.dumps(
                    {
                        "bench": "boxes.overlap_matrix.forward_backward",
                        "n": n,
                        "k": k,
                        "device": str(device),
                        "threads": torch.get_num_threads(),
                        "dtype": "float32",
                        "repeats": args.repeats,
                        "ours_s": round(timing["ours"], 6),
                        "library_broadcast_s": round(timing["library_broadcast"], 6),
                        "library_repeat_s": round(timing["library_repeat"], 6),
                        "speedup_vs_broadcast": round(
                            timing["library_broadcast"] / timing["ours"], 2
                        ),
                        "speedup_vs_repeat": round(timing["library_repeat"] / timing["ours"], 2),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
