"""Datasets -> one vector per dataset: the base representations of Task2Box (paper §3.1).

* :mod:`~taskspace.represent.networks` -- the pretrained networks, built offline.
* :mod:`~taskspace.represent.encoders` -- image/text encoders (EfficientNet-Lite0 + MiniLM here,
  OpenCLIP where its weights can be had), with an on-disk cache (:mod:`~taskspace.represent.cache`).
* :mod:`~taskspace.represent.statistics` -- mean and diagonal variance of ``[phi(x), psi(y)]``
  per dataset, streamed; class-prototype statistics for ImageNet nodes.
* :mod:`~taskspace.represent.task2vec` -- Task2Vec: the Fisher information of a probe network.
* :mod:`~taskspace.represent.attributes` -- the Taskonomy tasks' 15 yes/no attributes.
* :mod:`~taskspace.represent.distances` -- cosine, Euclidean, Gaussian KL, Task2Vec's cosine and
  the asymmetric distances of Eq. 7, as matrices.

Introduced in chapter 2.
"""

from taskspace.represent.attributes import AttributeVectors, attribute_vectors
from taskspace.represent.cache import EmbeddingCache
from taskspace.represent.distances import (
    asymmetric_distance_matrix,
    cosine_distance_matrix,
    cosine_similarity_matrix,
    euclidean_distance_matrix,
    gaussian_kl_matrix,
    task2vec_cosine_distance_matrix,
)
from taskspace.represent.encoders import (
    CheckpointNotFoundError,
    Encoder,
    OfflineEncoder,
    OpenCLIPEncoder,
)
from taskspace.represent.statistics import (
    PROMPT,
    Moments,
    RunningMoments,
    dataset_statistics,
    embedding_statistics,
    moments,
    prompts,
    prototype_statistics,
    stack_moments,
)
from taskspace.represent.task2vec import (
    HeadTraining,
    Probe,
    efficientnet_probe,
    resnet34_probe,
    task2vec,
    trivial_embedding,
)

__all__ = [
    "PROMPT",
    "AttributeVectors",
    "CheckpointNotFoundError",
    "EmbeddingCache",
    "Encoder",
    "HeadTraining",
    "Moments",
    "OfflineEncoder",
    "OpenCLIPEncoder",
    "Probe",
    "RunningMoments",
    "asymmetric_distance_matrix",
    "attribute_vectors",
    "cosine_distance_matrix",
    "cosine_similarity_matrix",
    "dataset_statistics",
    "efficientnet_probe",
    "embedding_statistics",
    "euclidean_distance_matrix",
    "gaussian_kl_matrix",
    "moments",
    "prompts",
    "prototype_statistics",
    "resnet34_probe",
    "stack_moments",
    "task2vec",
    "task2vec_cosine_distance_matrix",
    "trivial_embedding",
]
