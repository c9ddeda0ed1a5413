"""Task2Vec: the Fisher against a brute-force per-sample loop, the Monte Carlo estimator against the
exact expectation, the head, the probes, and one-class datasets."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from taskspace.represent.encoders import OfflineEncoder
from taskspace.represent.task2vec import (
    HeadTraining,
    efficientnet_probe,
    filterwise,
    fisher_diagonal,
    fisher_parameters,
    fit_head,
    resnet34_probe,
    sample_model_labels,
    task2vec,
    trivial_embedding,
)

QUICK = HeadTraining(epochs=2, samples_per_epoch=64, batch_size=16)
SEPARABLE = HeadTraining(epochs=2, samples_per_epoch=640, learning_rate=0.05)


def tiny_network(seed: int = 0) -> tuple[nn.Module, nn.Linear]:
    """Conv-BN-ReLU-depthwise conv-GroupNorm-pool body and a 3-class head, in eval mode."""
    torch.manual_seed(seed)
    body = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, groups=4, bias=False),
        nn.GroupNorm(2, 4),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    with torch.no_grad():  # non-trivial batch-norm statistics
        body[1].running_mean.uniform_(-0.5, 0.5)
        body[1].running_var.uniform_(0.5, 2.0)
        body[1].weight.uniform_(0.5, 1.5)
    return body.eval(), nn.Linear(4, 3).eval()


def brute_force_fisher(
    body: nn.Module, head: nn.Module, inputs: torch.Tensor, labels: torch.Tensor
) -> dict[str, torch.Tensor]:
    """One backward pass per sample, squared gradients summed in float64: the definition."""
    weights = fisher_parameters(body)
    total = {name: torch.zeros_like(w, dtype=torch.float64) for name, w in weights.items()}
    for x, y in zip(inputs, labels, strict=True):
        body.zero_grad()
        F.cross_entropy(head(body(x[None])), y[None]).backward()
        for name, w in weights.items():
            total[name] += w.grad.double() ** 2
    return {name: value / len(inputs) for name, value in total.items()}


def test_fisher_equals_brute_force_per_sample_gradients() -> None:
    body, head = tiny_network()
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(7, 1, 6, 6, generator=generator)
    labels = torch.randint(0, 3, (7,), generator=generator)
    expected = brute_force_fisher(body, head, inputs, labels)
    batched = fisher_diagonal(body, head, zip(inputs.split(3), labels.split(3), strict=True))
    assert list(batched) == ["0.weight", "1.weight", "3.weight", "4.weight"]
    for name, value in expected.items():
        assert value.abs().max() > 0
        assert torch.allclose(batched[name], value, rtol=1e-5, atol=1e-12), name
    # the mean of per-sample squares, not the square of the batch gradient
    body.zero_grad()
    F.cross_entropy(head(body(inputs)), labels).backward()
    assert not torch.allclose(batched["0.weight"], body[0].weight.grad.double() ** 2, rtol=0.1)


def test_monte_carlo_labels_estimate_the_exact_fisher() -> None:
    """With labels drawn from the model, the mean approaches E_x sum_y p(y|x) g(x, y)^2."""
    body, head = tiny_network(seed=2)
    inputs = torch.randn(3, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        probabilities = head(body(inputs)).softmax(1)
    exact: dict[str, torch.Tensor] = {}
    for i in range(len(inputs)):
        for y in range(3):
            single = brute_force_fisher(body, head, inputs[i : i + 1], torch.tensor([y]))
            for name, value in single.items():
                weighted = probabilities[i, y].double() * value / len(inputs)
                exact[name] = exact.get(name, 0) + weighted
    repeats = 1500
    many = inputs.repeat(repeats, 1, 1, 1)
    with torch.no_grad():
        logits = head(body(many))
    labels = sample_model_labels(logits, torch.Generator().manual_seed(4))
    estimate = fisher_diagonal(body, head, zip(many.split(500), labels.split(500), strict=True))
    for name in exact:
        relative = (estimate[name] - exact[name]).norm() / exact[name].norm()
        assert relative < 0.05, (name, float(relative))


def test_sample_model_labels_follow_the_predictions() -> None:
    logits = torch.tensor([[0.0, 30.0, 0.0], [30.0, 0.0, 0.0]]).repeat(50, 1)
    labels = sample_model_labels(logits, torch.Generator().manual_seed(0))
    assert torch.equal(labels, torch.tensor([1, 0]).repeat(50))
    uniform = sample_model_labels(torch.zeros(3000, 3), torch.Generator().manual_seed(0))
    assert torch.bincount(uniform, minlength=3).min() > 900
    again = sample_model_labels(torch.zeros(30, 3), torch.Generator().manual_seed(5))
    assert torch.equal(
        again, sample_model_labels(torch.zeros(30, 3), torch.Generator().manual_seed(5))
    )


def test_filterwise_averages_each_filter() -> None:
    fisher = {"conv": torch.arange(24.0).reshape(2, 3, 2, 2), "norm": torch.tensor([5.0, 7.0])}
    assert torch.equal(filterwise(fisher), torch.tensor([5.5, 17.5, 5.0, 7.0]))
    assert torch.equal(trivial_embedding(torch.zeros(4)), torch.ones(4))


def test_fit_head_learns_a_separable_task_deterministically() -> None:
    generator = torch.Generator().manual_seed(6)
    labels = torch.arange(3).repeat_interleave(20)
    features = torch.randn(60, 8, generator=generator) + 3 * F.one_hot(labels, 8).float()
    head = fit_head(features, labels, seed=0, training=SEPARABLE)
    accuracy = (head(features).argmax(1) == labels).float().mean()
    assert accuracy > 0.9
    again = fit_head(features, labels, seed=0, training=SEPARABLE)
    assert torch.equal(head.weight, again.weight)
    assert not head.weight.requires_grad


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.zeros(6, dtype=torch.int64), "at least two classes; this one has only class"),
        (torch.tensor([0, 1, 0, 1, 0, 1]).float(), "int64"),
        (torch.tensor([0, 1, 0]), r"shape \(6,\)"),
    ],
)
def test_bad_tasks_are_rejected(labels: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_head(torch.randn(6, 4), labels, seed=0)


@pytest.fixture(scope="module")
def probe():
    return efficientnet_probe(image_size=32)


def test_efficientnet_probe_task2vec(probe) -> None:
    images = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(7))
    labels = torch.tensor([0, 1, 0, 1, 2, 2])
    assert probe.to("cpu") is probe and probe.device.type == "cpu"
    features = probe.features(images)
    embedding = task2vec(
        probe, images, labels, seed=0, features=features, training=QUICK, max_samples=4
    )
    n_filters = sum(w.shape[0] for w in fisher_parameters(probe.body).values())
    assert embedding.shape == (n_filters,) and n_filters == 42016
    assert embedding.dtype == torch.float64 and (embedding >= 0).all() and embedding.max() > 0
    again = task2vec(probe, images, labels, seed=0, training=QUICK, max_samples=4)
    assert torch.allclose(embedding, again, rtol=1e-5)
    other = task2vec(probe, images, labels, seed=1, training=QUICK, max_samples=4)
    assert not torch.allclose(embedding, other, rtol=1e-3)
    with pytest.raises(ValueError, match="at least two classes"):
        task2vec(probe, images, torch.zeros(6, dtype=torch.int64), seed=0)
    with pytest.raises(ValueError, match=r"features must be \(6, 1280\)"):
        task2vec(probe, images, labels, seed=0, features=features[:3])


def test_probe_features_are_the_encoders_raw_features(probe) -> None:
    """So a chapter can pass the (cached) encoder features to task2vec."""
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(8))
    encoder = OfflineEncoder(image_size=32, device="cpu", cache=None)
    assert torch.allclose(probe.features(images), encoder.image_features(images), atol=1e-5)


def test_frozen_blocks_are_left_out() -> None:
    frozen = efficientnet_probe(image_size=32, frozen_blocks=8, pretrained=False)
    names = fisher_parameters(frozen.body)
    assert sum(w.shape[0] for w in names.values()) < 42016
    x = torch.rand(2, 1, 28, 28)
    assert frozen.features(x).shape == (2, 1280)


def test_resnet34_probe_has_the_papers_17024_filters() -> None:
    probe = resnet34_probe(pretrained=False)
    weights = fisher_parameters(probe.body).values()
    conv = sum(w.shape[0] for w in weights if w.ndim == 4)
    norm = sum(w.shape[0] for w in weights if w.ndim == 1)
    assert (conv, norm) == (8512, 8512)
    assert probe.features(torch.rand(2, 1, 32, 32)).shape == (2, 512)
    assert (
        sum(
            w.shape[0]
            for w in fisher_parameters(
                resnet34_probe(frozen_layers=2, pretrained=False).body
            ).values()
        )
        < 17024
    )


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_task2vec_follows_the_probes_device(probe) -> None:
    images = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(9))
    labels = torch.tensor([0, 1, 0, 1])
    on_cpu = task2vec(probe, images, labels, seed=0, training=QUICK)
    on_gpu = task2vec(probe.to("cuda"), images, labels, seed=0, training=QUICK)
    probe.to("cpu")
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.cpu(), on_cpu, rtol=1e-2, atol=1e-12)
