"""What the proxy-AS's meta-gradient costs: time and peak memory per strategy (chapter 9).

:func:`benchmark_meta_gradients` measures one proxy-AS and its backward pass
(:func:`~taskspace.agreement.proxy.proxy_agreement`) with each of the three strategies of
:data:`~taskspace.agreement.proxy.META_GRADIENTS`, on the same task and batches, and compares them
with the first. On a CPU each measurement runs in a fresh process (started with ``spawn``), so
that the peak resident set it reports is that run's alone, counted from the run's start rather
than from the warm-up's peak; on a GPU the peak is
``torch.cuda.max_memory_allocated``. Used by chapter 9 and ``bench/metagrad.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from taskspace.agreement.networks import NetworkSpec
from taskspace.agreement.proxy import (
    META_GRADIENTS,
    ProxyConfig,
    SoftLabels,
    inner_networks,
    proxy_agreement,
)

__all__ = ["benchmark_meta_gradients"]


def _task_soft_labels(task_spec: NetworkSpec, like: torch.Tensor) -> tuple[nn.Module, SoftLabels]:
    """A random task network (BatchNorm on batch statistics, so it is a pure function) and its
    soft labels: the benchmark's task."""
    (task,) = inner_networks(task_spec, (1234,), like)
    return task, lambda batch: torch.softmax(task(batch), -1)


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
# In a measuring child, allocations above 64 KiB are mapped and handed back to the system when
# freed (glibc), so the resident set follows the memory in use rather than what malloc keeps.
_CHILD_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(64 * 2**10), "MALLOC_TRIM_THRESHOLD_": "0"}


def _status_bytes(field: str) -> int:
    """A field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``; in kB) in bytes (Linux)."""
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{_STATUS} has no {field} line")


def _start_peak_resident() -> int | None:
    """Reset this process's peak resident set to its current one and return that (bytes), or
    ``None`` where the kernel cannot reset it (not Linux)."""
    try:
        _CLEAR_REFS.write_text("5")  # Linux >= 4.0: VmHWM := VmRSS
        return _status_bytes("VmRSS")
    except OSError:
        return None


def _peak_resident_bytes() -> int:
    """This process's peak resident set size so far (``ru_maxrss`` is in KiB on Linux)."""
    import resource  # Unix only

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _one_measurement(
    task_spec: NetworkSpec,
    inner_spec: NetworkSpec,
    images: torch.Tensor,
    config: ProxyConfig,
    strategy: str,
) -> dict[str, object]:
    """Seconds, peak memory above the start, proxy and gradient of one proxy + backward."""
    task, soft_labels = _task_soft_labels(task_spec, images)
    cuda = images.device.type == "cuda"

    def run(steps: int) -> torch.Tensor:
        task.zero_grad(set_to_none=True)
        proxy = proxy_agreement(
            soft_labels,
            inner_spec,
            images,
            config=ProxyConfig(**{**config.as_key(), "inner_steps": steps}),
            meta_gradient=strategy,
        )
        proxy.backward()
        return proxy.detach()

    run(2)  # warm-up: first-call costs are not the strategy's
    started_at: int | None = None
    if cuda:
        torch.cuda.synchronize(images.device)
        torch.cuda.reset_peak_memory_stats(images.device)
        before = torch.cuda.memory_allocated(images.device)
    else:  # the peak during the run above the resident set at its start (the warm-up's
        # higher peak would otherwise hide a run that needs less than it did)
        started_at = _start_peak_resident()
        before = started_at if started_at is not None else _peak_resident_bytes()
    start, start_cpu = time.perf_counter(), time.process_time()
    proxy = run(config.inner_steps)
    if cuda:
        torch.cuda.synchronize(images.device)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    if cuda:
        peak = torch.cuda.max_memory_allocated(images.device) - before
    elif started_at is not None:
        peak = _status_bytes("VmHWM") - before
    else:
        peak = _peak_resident_bytes() - before
    gradient = torch.cat([p.grad.flatten() for p in task.parameters() if p.grad is not None])
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_mb": peak / 2**20,
        "proxy": proxy.item(),
        "gradient": gradient.detach().cpu(),
    }


def _measure_in_child(arguments: tuple, results: multiprocessing.Queue) -> None:
    """Run :func:`_one_measurement` in a fresh process, so its peak RSS is this run's alone."""
    threads, task_spec, inner_spec, images, config, strategy = arguments
    torch.set_num_threads(threads)
    try:  # plain numpy arrays through the queue: torch's shared-memory tensors die with the child
        values = _one_measurement(task_spec, inner_spec, torch.from_numpy(images), config, strategy)
        results.put({**values, "gradient": values["gradient"].numpy()})
    except BaseException as error:
        results.put(error)


def _measure(
    task_spec: NetworkSpec,
    inner_spec: NetworkSpec,
    images: torch.Tensor,
    config: ProxyConfig,
    strategy: str,
    isolate: bool,
) -> dict[str, object]:
    if images.device.type != "cpu" or not isolate:
        return _one_measurement(task_spec, inner_spec, images, config, strategy)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    arguments = (torch.get_num_threads(), task_spec, inner_spec, images.numpy(), config, strategy)
    child = context.Process(target=_measure_in_child, args=(arguments, results))
    saved = {name: os.environ.get(name) for name in _CHILD_MALLOC}
    os.environ.update(_CHILD_MALLOC)  # read by the child's C library as it starts
    try:
        child.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    outcome = results.get()
    child.join()
    if isinstance(outcome, BaseException):
        raise RuntimeError(f"the {strategy} measurement failed: {outcome!r}") from outcome
    return {**outcome, "gradient": torch.from_numpy(outcome["gradient"])}


def benchmark_meta_gradients(
    task_spec: NetworkSpec,
    inner_spec: NetworkSpec,
    images: torch.Tensor,
    *,
    steps: Sequence[int] = (10, 50),
    strategies: Sequence[str] = META_GRADIENTS,
    batch_size: int = 128,
    isolate: bool = True,
) -> list[dict[str, object]]:
    """Time and peak memory of one proxy-AS and its meta-gradient, per strategy and ``K``
    (chapter 9, ``bench/metagrad.py``).

    A random task network ``task_spec`` (its softmax is the task's soft labels) and two inner
    networks ``inner_spec`` train for ``K`` steps on batches of ``images`` (``(N, C, H, W)``, on
    the device measured); ``proxy.backward()`` then reaches the task network. On a CPU every
    measurement runs in a fresh process (with this process's number of torch threads) and the
    peak memory is the peak of its resident set during the run above the resident set at the
    run's start (on Linux the peak is reset then; elsewhere only growth beyond the process's
    earlier peak counts); on a GPU it is ``torch.cuda.max_memory_allocated`` above what was
    allocated before. A warm-up with ``K = 2`` comes first. ``isolate=False`` measures on the
    CPU in this process (quicker; memory the allocator kept from earlier work is not counted).

    Returns:
        one dict per ``(K, strategy)``: ``device``, ``task``, ``inner``, ``batch_size``,
        ``inner_steps``, ``strategy``, ``seconds`` (wall clock), ``cpu_seconds`` (this
        process's CPU time: on a shared CPU less disturbed by other jobs than the wall clock),
        ``peak_mb``, ``proxy``, and the ratios to the first strategy (``"higher"`` by default):
        ``seconds_ratio``, ``cpu_seconds_ratio``, ``peak_ratio``, and
        ``gradient_difference`` (relative L2 distance of the meta-gradients; 0 is bitwise equal).
    """
    unknown = set(strategies) - set(META_GRADIENTS)
    if unknown or not strategies:
        raise ValueError(f"strategies must be among {META_GRADIENTS}, got {list(strategies)}")
    rows: list[dict[str, object]] = []
    for inner_steps in steps:
        config = ProxyConfig(inner_steps=inner_steps, batch_size=batch_size)
        measured = {
            s: _measure(task_spec, inner_spec, images, config, s, isolate) for s in strategies
        }
        first = measured[strategies[0]]
        for strategy, values in measured.items():
            gradient = values["gradient"]
            reference = first["gradient"]
            rows.append(
                {
                    "device": images.device.type,
                    "task": task_spec.label,
                    "inner": inner_spec.label,
                    "batch_size": batch_size,
                    "inner_steps": inner_steps,
                    "strategy": strategy,
                    "seconds": values["seconds"],
                    "cpu_seconds": values["cpu_seconds"],
                    "peak_mb": values["peak_mb"],
                    "proxy": values["proxy"],
                    "seconds_ratio": values["seconds"] / first["seconds"],
                    "cpu_seconds_ratio": values["cpu_seconds"] / first["cpu_seconds"],
                    "peak_ratio": values["peak_mb"] / max(first["peak_mb"], 1e-9),
                    "gradient_difference": (
                        (gradient - reference).norm() / reference.norm()
                    ).item(),
                }
            )
    return rows
