"""taskspace: the package behind *Mapping the Space of Tasks*.

Sub-packages, in the one direction data flows (a module imports only from those above it)::

    taskspace.data        raw sources -> image datasets, taxonomies, affinity tables
    taskspace.represent   datasets -> one vector per dataset
    taskspace.boxes       box geometry, the Task2Box model, training, evaluation
    taskspace.baselines   classifiers and asymmetric distances
    taskspace.atlas       soft overlaps, the map of datasets, placing a new dataset
    taskspace.agreement   agreement score, task discovery, adversarial splits
    taskspace.plotting    figures
"""

from taskspace.device import default_device

__version__ = "0.1.0"
__all__ = ["__version__", "default_device"]
