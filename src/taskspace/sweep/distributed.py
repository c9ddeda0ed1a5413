"""Running a list of jobs on every process ``torchrun`` started, and gathering their rows.

Started without ``torchrun`` (no ``WORLD_SIZE`` in the environment) everything runs in this
process. Started by ``torchrun`` every process joins one ``torch.distributed`` process group
(NCCL when the jobs run on a GPU, gloo on the CPU), takes the jobs ``rank, rank + W, rank + 2W,
...`` of the list, and sends its rows to rank 0, which writes the one summary file. Each job
writes its own result through a content-keyed disk cache (atomically), so a rank that dies loses
only the job it was running, and a rerun of the same command recomputes nothing that finished.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from taskspace.cache import atomic_write_bytes
from taskspace.device import default_device
from taskspace.progress import progress

__all__ = ["Job", "Row", "assigned_jobs", "process_group", "run_sweep"]

#: One job's summary: plain numbers and strings (JSON).
Row = dict[str, float | int | str]


@dataclass(frozen=True)
class Job:
    """One unit of a sweep: a unique name and a function that computes (or finds in the cache)
    its result and returns a small summary row."""

    name: str
    run: Callable[[], Row]


def assigned_jobs(jobs: Sequence[Job], rank: int, world_size: int) -> list[Job]:
    """The jobs of process ``rank`` out of ``world_size``: every ``world_size``-th from ``rank``.

    The split depends on nothing but the list's order, so every process computes the same
    partition without talking to the others, and the union over ranks is the whole list.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"need 0 <= rank < world_size, got rank {rank}, world_size {world_size}")
    return list(jobs[rank::world_size])


def _backend() -> str:
    return "nccl" if default_device().type == "cuda" else "gloo"


@contextmanager
def process_group(timeout: timedelta) -> Iterator[tuple[int, int]]:
    """``(rank, world_size)`` of this process; joins ``torchrun``'s process group if there is one.

    Without ``WORLD_SIZE`` in the environment (a plain ``python -m``): ``(0, 1)`` and no group.
    With NCCL each process uses the GPU ``LOCAL_RANK`` (one process per GPU, as ``torchrun
    --nproc_per_node=G`` starts them).

    Args:
        timeout: how long a collective waits for the slowest rank (a rank that finished its jobs
            waits in the final gather for the others: make it longer than the longest sweep).
    """
    if "WORLD_SIZE" not in os.environ:
        yield 0, 1
        return
    backend = _backend()
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, timeout=timeout)
    try:
        yield dist.get_rank(), dist.get_world_size()
    finally:
        dist.destroy_process_group()


def _gather(rows: dict[str, Row], rank: int, world_size: int) -> dict[str, Row]:
    """Every rank's rows, merged, on rank 0 (``{}`` elsewhere)."""
    if world_size == 1:
        return rows
    parts: list[dict[str, Row]] | None = [{} for _ in range(world_size)] if rank == 0 else None
    dist.gather_object(rows, parts, dst=0)
    return {name: row for part in parts or [] for name, row in part.items()}


def run_sweep(
    jobs: Sequence[Job],
    summary_path: Path,
    settings: Mapping[str, object],
    *,
    timeout: timedelta = timedelta(hours=72),
    after_job: Callable[[Job], None] | None = None,
) -> dict[str, object] | None:
    """Run ``jobs`` on all processes and write ``{"settings", "jobs": {name: row}}`` to a file.

    Args:
        jobs: the whole sweep, in the same order on every process (names unique).
        summary_path: the JSON summary, written atomically by rank 0; rows in ``jobs``' order,
            so the file is the same whatever the number of processes.
        settings: what the sweep was asked to do (plain values), copied into the summary.
        timeout: see :func:`process_group`.
        after_job: called with each finished job on the process that ran it.

    Returns:
        the summary on rank 0, ``None`` on the other ranks.
    """
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"job names must be unique; repeated: {repeated}")
    with process_group(timeout) as (rank, world_size):
        rows = {}
        mine = assigned_jobs(jobs, rank, world_size)
        for job in progress(mine, f"sweep, rank {rank}/{world_size}", total=len(mine)):
            rows[job.name] = job.run()
            if after_job is not None:
                after_job(job)
        gathered = _gather(rows, rank, world_size)
    if rank != 0:
        return None
    summary = {"settings": dict(settings), "jobs": {name: gathered[name] for name in names}}
    atomic_write_bytes(Path(summary_path), json.dumps(summary, indent=1).encode())
    return summary
