"""Training E networks at once: the plain loop against the vmap-batched strategy (chapter 8).

Prints one JSON line per (architecture, E) with the seconds per training step (one Adam step of
all E networks on their own batch of 64 images) of each strategy, measured in the same run, and
their ratio loop / batched (> 1: batching is faster). On a CPU the ResNet-18 and ViT are measured
at the reduced widths the book uses on a CPU (``--paper-widths`` for the full ones); on a GPU at
the paper's widths. Usage::

    python bench/ensemble.py [--steps 5] [--sizes 2 8 32] [--device cuda] [--paper-widths]
                             [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch

from taskspace.agreement import NetworkSpec
from taskspace.agreement.ensemble import make_trainer
from taskspace.device import default_device

#: Widths used on a CPU (the book's scale): ResNet-18 with 8 channels in its first stage, ViT with
#: 64-wide tokens; ``None`` = the paper's network.
CPU_WIDTHS = {"small_cnn": 16, "mlp": None, "resnet18": 8, "vit": 64}


def seconds_per_step(
    strategy: str, spec: NetworkSpec, n_networks: int, device: torch.device, steps: int
) -> float:
    """Median wall time of one training step of ``n_networks`` networks (after one warm-up)."""
    trainer = make_trainer(strategy, spec, list(range(n_networks)), device, lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    shape = (n_networks, 64, spec.in_channels, spec.image_size, spec.image_size)
    images = torch.rand(shape, generator=generator).to(device)
    labels = torch.randint(0, 2, (n_networks, 64), generator=generator).to(device)
    active = [True] * n_networks
    times = []
    for _ in range(steps + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        trainer.step(images, labels, active)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--device", default=None)
    parser.add_argument("--paper-widths", action="store_true")
    parser.add_argument("--architectures", nargs="+", default=list(CPU_WIDTHS))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else default_device()
    paper = args.paper_widths or device.type == "cuda"
    if device.type == "cuda":
        machine = torch.cuda.get_device_name(device)
    else:  # platform.processor() is empty on many Linux systems
        machine = f"{platform.machine()}, {os.cpu_count()} cores"
    for architecture in args.architectures:
        width = None if paper else CPU_WIDTHS[architecture]
        spec = NetworkSpec(architecture, in_channels=1, image_size=28, num_classes=2, width=width)
        for n_networks in args.sizes:
            loop = seconds_per_step("loop", spec, n_networks, device, args.steps)
            batched = seconds_per_step("batched", spec, n_networks, device, args.steps)
            line = {
                "bench": "ensemble_step",
                "architecture": spec.label,
                "images": "1x28x28, batch 64",
                "n_networks": n_networks,
                "loop_s_per_step": round(loop, 5),
                "batched_s_per_step": round(batched, 5),
                "loop_over_batched": round(loop / batched, 3),
                "device": f"{device.type} ({machine}, {torch.get_num_threads()} threads)",
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
