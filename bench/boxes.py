"""Benchmark: the N x N box-overlap matrix, forward + backward (Task2Box's training step).

For each size (N boxes in R^k) it measures ``log_overlap_matrix(boxes).sum().backward()`` against
the ``box-embeddings`` library computing the same matrix two ways: broadcasting ``(N, 1)`` against
``(1, N)`` boxes, and the authors' style of repeating both to ``N^2`` rows. On a GPU this
project's kernel is measured twice: the fused Triton kernel (``ours``, what ``kernel="auto"``
picks there) and the chunked PyTorch one (``ours_pytorch``).

Every (implementation, size) runs in a fresh process (so the CPU peak is its own): one warm-up,
then ``--repeats`` timed runs. Time: the median, with the quartiles and the extremes as spread.
Peak memory: on a CPU the process's peak resident set (``ru_maxrss``) during the warm-up and the
runs minus its resident set before them (after the boxes exist; ``null`` when the runs never
rose above the process's earlier peak, from importing torch: then it is below that resolution),
on a GPU ``torch.cuda.max_memory_allocated`` above what was allocated before. A process may hold at most ``--memory-limit-gb`` (``RLIMIT_DATA`` on
the CPU, a shared machine); a run that needs more is reported as ``"out of memory"``.

Prints one JSON line per size and device: each implementation's numbers, the library's median
time over ours (``speedup_vs_*``, > 1: ours is faster) and the library's peak over ours
(``memory_ratio_vs_*``), and the load average of the machine while it ran. Usage::

    python bench/boxes.py [--repeats 7] [--threads 1] [--sizes 150x2 5000x5] [--memory-limit-gb 6]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import torch

from taskspace.boxes.geometry import (
    INTERSECTION_TEMPERATURE,
    VOLUME_TEMPERATURE,
    Boxes,
    log_overlap_matrix,
)

SIZES = [(150, 2), (150, 5), (1000, 2), (1000, 5), (5000, 2), (5000, 5), (10000, 2)]


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
    """This project's kernel as the model calls it (``kernel="auto"``: Triton on CUDA)."""
    return log_overlap_matrix(Boxes(data[:, 0], data[:, 1]))


def ours_pytorch(data: torch.Tensor) -> torch.Tensor:
    """The chunked PyTorch kernel (the same as ``ours`` on a CPU)."""
    return log_overlap_matrix(Boxes(data[:, 0], data[:, 1]), kernel="pytorch")


IMPLEMENTATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ours": ours,
    "ours_pytorch": ours_pytorch,
    "library_broadcast": library_broadcast,
    "library_repeat": library_repeat,
}


def random_data(n: int, k: int, device: torch.device) -> torch.Tensor:
    """``(n, 2, k)`` float32 boxes: corners ~ N(0, 1), sides ~ U(0, 1) (the model's range)."""
    gen = torch.Generator().manual_seed(n * 10 + k)
    low = torch.randn(n, k, generator=gen)
    return torch.stack((low, low + torch.rand(n, k, generator=gen)), dim=1).to(device)


def _peak_resident_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:  # Linux: pages
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_mb(device: torch.device, before: int, peak_before: int) -> float | None:
    """Peak memory of the runs above what was held before them (``None``: on the CPU, the runs
    stayed below the process's earlier peak, e.g. importing torch, so their peak is unknown)."""
    if device.type == "cuda":
        return (torch.cuda.max_memory_allocated(device) - before) / 2**20
    peak = _peak_resident_bytes()
    return (peak - before) / 2**20 if peak > peak_before else None


def _timed_run(fn: Callable[[torch.Tensor], torch.Tensor], data: torch.Tensor) -> float:
    """Seconds of one forward + backward of ``fn(data).sum()``."""
    leaf = data.detach().requires_grad_()
    if leaf.is_cuda:
        torch.cuda.synchronize(leaf.device)
    start = time.perf_counter()
    fn(leaf).sum().backward()
    if leaf.is_cuda:
        torch.cuda.synchronize(leaf.device)
    return time.perf_counter() - start


def measure(
    name: str, n: int, k: int, device_name: str, repeats: int, threads: int, limit_gb: float
) -> dict[str, object]:
    """One implementation at one size, in this (fresh) process: times and peak memory."""
    torch.set_num_threads(threads)
    device = torch.device(device_name)
    if device.type == "cpu":
        limit = int(limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    data = random_data(n, k, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device) if device.type == "cuda" else _resident_bytes()
    peak_before = _peak_resident_bytes()
    try:
        times = [_timed_run(IMPLEMENTATIONS[name], data) for _ in range(repeats + 1)][1:]
    except (RuntimeError, MemoryError) as error:  # torch.cuda.OutOfMemoryError included
        if "memory" not in str(error).lower():
            raise
        return {"out_of_memory": True}
    quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else times * 3
    return {
        "median_s": statistics.median(times),
        "q1_s": quartiles[0],
        "q3_s": quartiles[2],
        "min_s": min(times),
        "max_s": max(times),
        "peak_mb": _peak_mb(device, before, peak_before),
    }


def _rounded(values: dict[str, object]) -> dict[str, object]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}


def _ratio(numerator: dict[str, object], denominator: dict[str, object], key: str) -> float | None:
    if key not in numerator or key not in denominator or not denominator[key]:
        return None
    return round(numerator[key] / denominator[key], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", nargs="+", default=[f"{n}x{k}" for n, k in SIZES])
    parser.add_argument("--memory-limit-gb", type=float, default=6.0, help="per process (CPU)")
    parser.add_argument("--device", nargs="+", default=None, help="default: cpu (and cuda)")
    args = parser.parse_args()
    sizes = [tuple(int(part) for part in size.split("x")) for size in args.sizes]
    devices = args.device or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    spawn = get_context("spawn")
    for device in devices:
        names = [n for n in IMPLEMENTATIONS if device == "cuda" or n != "ours_pytorch"]
        for n, k in sizes:
            load_before = os.getloadavg()[0]
            results = {}
            for name in names:
                with ProcessPoolExecutor(1, mp_context=spawn) as child:
                    settings = (name, n, k, device, args.repeats, args.threads)
                    results[name] = child.submit(measure, *settings, args.memory_limit_gb).result()
            line = {
                "bench": "boxes.overlap_matrix.forward_backward",
                "n": n,
                "k": k,
                "device": torch.cuda.get_device_name() if device == "cuda" else device,
                "threads": args.threads,
                "dtype": "float32",
                "repeats": args.repeats,
                "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                **{name: _rounded(values) for name, values in results.items()},
            }
            for library in ("library_broadcast", "library_repeat"):
                kind = library.removeprefix("library_")
                line[f"speedup_vs_{kind}"] = _ratio(results[library], results["ours"], "median_s")
                line[f"memory_ratio_vs_{kind}"] = _ratio(
                    results[library], results["ours"], "peak_mb"
                )
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
