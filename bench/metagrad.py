"""The meta-gradient of the proxy-AS three ways: ``higher``, a hand-written unroll, per-step
recompute (chapter 9).

Prints one JSON line per (strategy, K) with the seconds (wall clock, and the measuring process's
CPU time, steadier on a shared machine) and the peak memory of one proxy-AS and its backward
pass to a task network (``taskspace.agreement.benchmark.benchmark_meta_gradients``), all measured in
the same run, and the ratios to ``higher`` (the library the paper's code uses):
``seconds_ratio``, ``cpu_seconds_ratio``, ``peak_ratio``, and ``gradient_difference``, the
relative L2 distance of the meta-gradient from ``higher``'s (0: bitwise equal). On a CPU: chapter 8's small CNN (task and
inner networks) on 1x28x28 images at batch 128, each measurement in a fresh process, the peak
being the growth of its resident set; on a GPU: ResNet-18 on 3x32x32 images at batch 512,
``torch.cuda.max_memory_allocated``. Usage::

    python bench/metagrad.py [--steps 10 50] [--device cuda] [--batch-size 128] [--width 8]
                             [--threads 1] [--json-out rows.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import torch

from taskspace.agreement import NetworkSpec
from taskspace.agreement.benchmark import benchmark_meta_gradients
from taskspace.device import default_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-size", type=int, default=None, help="128 on a CPU, 512 on a GPU")
    parser.add_argument("--width", type=int, default=8, help="small CNN width (CPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json-out", default=None, help="also write all lines to this file")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else default_device()
    if device.type == "cuda":
        machine = torch.cuda.get_device_name(device)
        spec = NetworkSpec("resnet18", in_channels=3, image_size=32, num_classes=2)
        batch_size = args.batch_size or 512
    else:  # platform.processor() is empty on many Linux systems
        machine = f"{platform.machine()}, {os.cpu_count()} cores"
        spec = NetworkSpec(
            "small_cnn", in_channels=1, image_size=28, num_classes=2, width=args.width
        )
        batch_size = args.batch_size or 128
    generator = torch.Generator().manual_seed(0)
    pool = 8 * batch_size
    images = torch.rand(
        pool, spec.in_channels, spec.image_size, spec.image_size, generator=generator
    )
    rows = benchmark_meta_gradients(
        spec, spec, images.to(device), steps=args.steps, batch_size=batch_size
    )
    lines = [
        {"bench": "metagrad", **row, "machine": machine, "threads": torch.get_num_threads()}
        for row in rows
    ]
    for line in lines:
        print(json.dumps(line), flush=True)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump(lines, out, indent=1)


if __name__ == "__main__":
    main()
