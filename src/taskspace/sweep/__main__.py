"""``python -m taskspace.sweep agreement|discovery|boxes [options]``, alone or under ``torchrun``.

The defaults are the chapters' scale ``paper`` (chapters 8, 9 and 4); ``--help`` on each command
lists its options. Examples (README.md, "Running at paper scale", has the multi-GPU lines)::

    python -m taskspace.sweep agreement --architecture resnet18 mlp vit
    torchrun --nproc_per_node=8 -m taskspace.sweep discovery --lambdas 0 0.66 5
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import torch

from taskspace.agreement import META_GRADIENTS, NetworkSpec, TrainConfig
from taskspace.agreement.discovery import DISCOVERY_SETTINGS
from taskspace.agreement.recipes import AGREEMENT_SETTINGS
from taskspace.device import default_device
from taskspace.hierarchies import BOOK_EXPERIMENTS, HIERARCHY_SETTINGS, book_box_runs
from taskspace.sweep.distributed import Job, run_sweep
from taskspace.sweep.jobs import (
    DATASETS,
    agreement_jobs,
    boxes_jobs,
    dataset_pools,
    discovery_jobs,
)

#: Chapter 8's measurements at scale ``paper``: the agreement command's defaults.
PAPER_AGREEMENT = AGREEMENT_SETTINGS["paper"]
#: Chapter 9's discovery at scale ``paper``: the discovery command's defaults.
PAPER_DISCOVERY = DISCOVERY_SETTINGS["paper"]


def _width(text: str) -> int | None:
    """``--width``: an integer, or ``paper`` for the architecture's own width."""
    return None if text == "paper" else int(text)


def _spec(architecture: str, width: int | None, images: torch.Tensor) -> NetworkSpec:
    return NetworkSpec(architecture, images.shape[1], images.shape[2], width=width)


def _agreement(args: argparse.Namespace, device: torch.device) -> list[Job]:
    train_pool, test_pool = dataset_pools(args.dataset)
    specs = [_spec(a, args.width, train_pool.images) for a in args.architecture]
    config = TrainConfig(batch_size=args.batch_size, max_epochs=args.max_epochs)
    return agreement_jobs(
        train_pool,
        test_pool,
        specs,
        args.n_train,
        args.n_test,
        args.human,
        args.random,
        config,
        device,
        n_networks=args.networks,
    )


def _discovery(args: argparse.Namespace, device: torch.device) -> list[Job]:
    train_pool, _ = dataset_pools(args.dataset)
    settings = replace(
        PAPER_DISCOVERY,
        pool_per_class=args.pool_per_class,
        n_heads=args.n_heads,
        meta_steps=args.meta_steps,
        inner_steps=args.inner_steps,
        inner_batch=args.inner_batch,
        inner_lr=args.inner_lr,
    )
    return discovery_jobs(
        train_pool,
        _spec(args.architecture, args.width, train_pool.images),
        settings,
        args.lambdas,
        args.seeds,
        device,
        meta_gradient=args.meta_gradient,
    )


def _boxes(args: argparse.Namespace, device: torch.device) -> list[Job]:
    runs = book_box_runs(args.box_dim, args.draws, args.perturbations)
    runs = [run for run in runs if run.experiment in args.experiment]
    experiments = HIERARCHY_SETTINGS["paper"].experiments(names=args.experiment)
    return boxes_jobs(experiments, runs, args.steps, device)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m taskspace.sweep",
        description="Run one chapter's jobs at paper scale on every process torchrun started "
        "(or all in this one); the option defaults are the chapter's scale 'paper'.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help,
            description=help,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        sub.add_argument(
            "--summary", type=Path, default=Path(f"sweep_{name}.json"), help="written by rank 0"
        )
        sub.add_argument("--threads", type=int, default=1, help="torch threads per process")
        sub.add_argument(
            "--timeout-hours",
            type=float,
            default=72.0,
            help="how long finished processes wait for the slowest one",
        )
        return sub

    measured = PAPER_AGREEMENT
    agreement = command("agreement", "AS of human- and random-labelled tasks (chapter 8)")
    agreement.add_argument("--dataset", choices=DATASETS, default=measured.dataset, help="images")
    agreement.add_argument(
        "--architecture", nargs="+", default=[measured.architecture], help="one or more"
    )
    agreement.add_argument("--width", type=_width, default=measured.width, help="an int or 'paper'")
    agreement.add_argument(
        "--n-train", type=int, nargs="+", default=[measured.n_train], help="training-set sizes N"
    )
    for option, default, text in (
        ("--n-test", measured.n_test, "test images"),
        ("--human", measured.n_human, "human-labelled tasks"),
        ("--random", measured.n_random, "random-labelled tasks"),
        ("--networks", 2, "networks per task"),
        ("--batch-size", measured.batch_size, "training batch"),
        ("--max-epochs", measured.max_epochs, "at most, per network"),
    ):
        agreement.add_argument(option, type=int, default=default, help=text)

    discovery = command("discovery", "task discovery for several lambdas and seeds (chapter 9)")
    discovery.add_argument("--dataset", choices=DATASETS, default=measured.dataset, help="images")
    discovery.add_argument(
        "--architecture", default=measured.architecture, help="encoder and inner nets"
    )
    discovery.add_argument("--width", type=_width, default=None, help="an int or 'paper'")
    paper = PAPER_DISCOVERY
    for option, kind, text in (
        ("--pool-per-class", int, "pool images per class"),
        ("--n-heads", int, "d, the tasks found"),
        ("--meta-steps", int, "outer steps"),
        ("--inner-steps", int, "K of the proxy-AS"),
        ("--inner-batch", int, "proxy batch"),
        ("--inner-lr", float, "inner SGD step"),
    ):
        default = getattr(paper, option.removeprefix("--").replace("-", "_"))
        discovery.add_argument(option, type=kind, default=default, help=text)
    discovery.add_argument(
        "--lambdas",
        type=float,
        nargs="+",
        default=[paper.uniformity_weight],
        help="uniformity weights (Eq. 3)",
    )
    discovery.add_argument("--seeds", type=int, nargs="+", default=[0], help="discovery seeds")
    discovery.add_argument(
        "--meta-gradient", choices=META_GRADIENTS, default="recompute", help="strategy"
    )

    boxes = command("boxes", "chapter 4's batches of Task2Box networks (hierarchy experiments)")
    boxes.add_argument(
        "--experiment", choices=BOOK_EXPERIMENTS, nargs="+", help="chapter 4's experiments"
    )
    sizes = HIERARCHY_SETTINGS["paper"]  # chapter 4's scale paper
    boxes.add_argument(
        "--box-dim", type=int, nargs="+", default=list(sizes.dims), help="k on mu, one job each"
    )
    boxes.add_argument("--draws", type=int, default=sizes.draws, help="random splits, side by side")
    boxes.add_argument(
        "--perturbations",
        type=int,
        default=sizes.perturbations,
        help="perturbed-input copies in the 5-D batch",
    )
    boxes.add_argument("--steps", type=int, default=sizes.steps, help="Adam steps")
    boxes.set_defaults(experiment=list(BOOK_EXPERIMENTS))
    return parser


BUILDERS = {"agreement": _agreement, "discovery": _discovery, "boxes": _boxes}


def main(argv: Sequence[str] | None = None, after_job: Callable[[Job], None] | None = None) -> None:
    """Parse ``argv``, build the command's jobs and run them (see :func:`run_sweep`; tests pass
    ``after_job`` to stop a process mid-sweep)."""
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    device = default_device()
    jobs = BUILDERS[args.command](args, device)
    settings = {
        key: value for key, value in vars(args).items() if key not in ("summary", "timeout_hours")
    }
    settings["device"] = device.type
    run_sweep(
        jobs,
        args.summary,
        settings,
        timeout=timedelta(hours=args.timeout_hours),
        after_job=after_job,
    )


if __name__ == "__main__":
    main()
