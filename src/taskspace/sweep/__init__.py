"""Sweeps at paper scale on many processes: ``python -m taskspace.sweep`` under ``torchrun``.

The chapters' experiments are embarrassingly parallel over tasks, seeds and random draws. A sweep
is a list of :class:`Job` objects (:mod:`~taskspace.sweep.jobs` builds the agreement, discovery
and Task2Box ones from a chapter's recipe); :func:`run_sweep` runs them on however many
processes ``torchrun`` started (:mod:`~taskspace.sweep.distributed`), each result written through
the content-keyed caches, and rank 0 writes one summary file. ``python -m taskspace.sweep
--help`` lists the commands; README.md, "Running at paper scale", has the torchrun lines.

This package sits at the top of the import flow, beside :mod:`taskspace.book`: it imports the
computing packages and nothing imports it.
"""

from taskspace.sweep.distributed import Job, Row, assigned_jobs, process_group, run_sweep
from taskspace.sweep.jobs import (
    DATASETS,
    agreement_jobs,
    boxes_jobs,
    dataset_pools,
    discovery_jobs,
)

__all__ = [
    "DATASETS",
    "Job",
    "Row",
    "agreement_jobs",
    "assigned_jobs",
    "boxes_jobs",
    "dataset_pools",
    "discovery_jobs",
    "process_group",
    "run_sweep",
]
