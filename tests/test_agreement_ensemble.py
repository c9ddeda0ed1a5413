"""Networks and ensemble training: shapes, seeds, the two strategies agree, stochasticity switches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from taskspace.agreement import (
    NetworkSpec,
    Stochasticity,
    TrainConfig,
    agreement_score,
    train_ensemble,
)
from taskspace.data.images import load_digits

ARCHITECTURES = ("small_cnn", "mlp", "resnet18", "vit")


def tiny_spec(architecture: str, num_classes: int = 2) -> NetworkSpec:
    width = None if architecture == "mlp" else 8
    return NetworkSpec(
        architecture, in_channels=1, image_size=8, num_classes=num_classes, width=width
    )


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    data = load_digits()
    return data.images[:192], (data.labels[:192] >= 5).long()


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize(("channels", "size"), [(1, 8), (3, 12)])
def test_networks_map_images_to_logits(architecture: str, channels: int, size: int) -> None:
    spec = NetworkSpec(architecture, channels, size, num_classes=3, width=None)
    network = spec.build(seed=0)
    assert network(torch.rand(4, channels, size, size)).shape == (4, 3)


def test_paper_sizes() -> None:
    """ResNet-18 has its 11.2M weights (CIFAR stem), the MLP the layers of table 2."""
    resnet = NetworkSpec("resnet18", 3, 32).build(0)
    assert sum(p.numel() for p in resnet.parameters()) == pytest.approx(11.17e6, rel=0.01)
    assert resnet.stem[0].kernel_size == (3, 3) and resnet.stem[0].stride == (1, 1)
    mlp = NetworkSpec("mlp", 3, 32).build(0)
    linear = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (3072, 1024),
        (1024, 512),
        (512, 256),
        (256, 64),
        (64, 2),
    ]
    vit = NetworkSpec("vit", 3, 32).build(0)
    assert len(vit.blocks) == 6 and vit.embed.kernel_size == (4, 4) and vit.head.in_features == 256
    assert not any(isinstance(m, torch.nn.LayerNorm | torch.nn.Dropout) for m in vit.modules())


def test_build_depends_on_the_seed_only() -> None:
    spec = tiny_spec("small_cnn")
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = spec.build(seed=5).state_dict()
    assert torch.equal(torch.rand(1), before)  # the global generator was not consumed
    b = spec.build(seed=5).state_dict()
    c = spec.build(seed=6).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.fixture
def float64() -> Iterator[None]:
    """Build and train in float64, where rounding cannot hide a real difference."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_loop_and_batched_strategies_train_the_same_networks(
    architecture: str, digits: tuple[torch.Tensor, torch.Tensor], float64: None
) -> None:
    """Same seeds, same networks (float64: in float32 Adam's normalisation amplifies the
    different rounding of batched matrix products to ~1e-2 within a few steps)."""
    images, labels = digits[0].double(), digits[1]
    spec = tiny_spec(architecture)
    config = TrainConfig(batch_size=32, max_epochs=2, target_train_accuracy=1.0)
    loop = train_ensemble(spec, images, labels, 3, seed=4, config=config, strategy="loop")
    batched = train_ensemble(spec, images, labels, 3, seed=4, config=config, strategy="batched")
    for name in loop.params:
        torch.testing.assert_close(loop.params[name], batched.params[name], atol=1e-8, rtol=1e-8)
    for name in loop.buffers:
        torch.testing.assert_close(loop.buffers[name], batched.buffers[name], atol=1e-8, rtol=1e-8)
    test = load_digits().images[192:400].double()
    torch.testing.assert_close(loop.logits(test), batched.logits(test), atol=1e-8, rtol=1e-8)
    assert torch.equal(loop.epochs, batched.epochs)


def test_batched_strategy_keeps_each_network_from_its_own_stopping_epoch(
    digits: tuple[torch.Tensor, torch.Tensor], float64: None
) -> None:
    """Networks stop at different epochs; the batched result equals the loop result for each."""
    images, labels = digits[0].double(), digits[1]
    spec = tiny_spec("small_cnn")
    config = TrainConfig(batch_size=32, max_epochs=8, target_train_accuracy=0.9)
    loop = train_ensemble(spec, images, labels, 4, seed=0, config=config, strategy="loop")
    batched = train_ensemble(spec, images, labels, 4, seed=0, config=config, strategy="batched")
    assert torch.equal(loop.epochs, batched.epochs)
    assert len(set(loop.epochs.tolist())) > 1, "choose a setting where networks stop apart"
    torch.testing.assert_close(loop.train_accuracy, batched.train_accuracy)
    test = load_digits().images[192:].double()
    torch.testing.assert_close(loop.logits(test), batched.logits(test), atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("strategy", ["loop", "batched"])
def test_all_randomness_fixed_gives_identical_networks(
    strategy: str, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    images, labels = digits
    fixed = Stochasticity(initialisation=False, data_order=False, kernels=False)
    config = TrainConfig(batch_size=32, max_epochs=2)
    ensemble = train_ensemble(tiny_spec("small_cnn"), images, labels, 3, 0, config, fixed, strategy)
    for value in ensemble.params.values():
        assert torch.equal(value[0], value[1]) and torch.equal(value[0], value[2])
    assert agreement_score(ensemble.predict(load_digits().images)).mean == 1.0


@pytest.mark.parametrize("varying", ["initialisation", "data_order"])
def test_each_source_of_randomness_alone_changes_the_networks(
    varying: str, digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    images, labels = digits
    only = Stochasticity(**{f: f == varying for f in ("initialisation", "data_order", "kernels")})
    config = TrainConfig(batch_size=32, max_epochs=1)
    ensemble = train_ensemble(tiny_spec("mlp"), images, labels, 2, 0, config, only)
    first = next(iter(ensemble.params.values()))
    assert not torch.equal(first[0], first[1])


def test_seeds_switch_off_one_source() -> None:
    init, order = Stochasticity(data_order=False).seeds(3, seed=1)
    assert len(set(init)) == 3 and len(set(order)) == 1
    assert Stochasticity().seeds(3, seed=1) == Stochasticity().seeds(3, seed=1)
    assert Stochasticity().seeds(3, seed=1) != Stochasticity().seeds(3, seed=2)


def test_training_stops_at_the_target_accuracy(digits: tuple[torch.Tensor, torch.Tensor]) -> None:
    images, labels = digits
    config = TrainConfig(batch_size=32, max_epochs=30, target_train_accuracy=0.95)
    ensemble = train_ensemble(tiny_spec("mlp"), images, labels, 2, seed=0, config=config)
    assert (ensemble.epochs < 30).all()
    assert (ensemble.train_accuracy >= 0.95).all()
    torch.testing.assert_close(ensemble.accuracy(images, labels), ensemble.train_accuracy)


def test_multi_class_labels(digits: tuple[torch.Tensor, torch.Tensor]) -> None:
    images = digits[0]
    labels = load_digits().labels[:192]
    ensemble = train_ensemble(tiny_spec("mlp", num_classes=10), images, labels, 2, seed=0)
    assert ensemble.logits(images[:5]).shape == (2, 5, 10)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (torch.rand(10, 1, 8, 8), torch.zeros(10, dtype=torch.int64), r"classes \[1\] have no"),
        (torch.full((10, 1, 8, 8), float("nan")), torch.arange(10) % 2, "NaN"),
        (torch.rand(10, 3, 8, 8), torch.arange(10) % 2, r"must be \(N, 1, 8, 8\)"),
        (torch.rand(10, 1, 8, 8), torch.arange(9) % 2, r"shape \(10,\)"),
        (torch.rand(10, 1, 8, 8), torch.arange(10) % 3, "must lie in 0..1"),
    ],
)
def test_bad_training_data_is_refused(
    images: torch.Tensor, labels: torch.Tensor, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        train_ensemble(tiny_spec("mlp"), images, labels, 2, seed=0)


def test_bad_settings_are_refused(digits: tuple[torch.Tensor, torch.Tensor]) -> None:
    images, labels = digits
    with pytest.raises(ValueError, match="strategy"):
        train_ensemble(tiny_spec("mlp"), images, labels, 2, seed=0, strategy="threads")
    with pytest.raises(ValueError, match="unknown architecture"):
        NetworkSpec("lenet", 1, 8)
    with pytest.raises(ValueError, match="target_train_accuracy"):
        TrainConfig(target_train_accuracy=1.5)
    with pytest.raises(ValueError, match="patch size"):
        NetworkSpec("vit", 1, 10).build(0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_strategy_on_cuda_matches_the_cpu(
    digits: tuple[torch.Tensor, torch.Tensor],
) -> None:
    images, labels = digits
    spec = tiny_spec("small_cnn")
    config = TrainConfig(batch_size=32, max_epochs=2, target_train_accuracy=1.0)
    deterministic = Stochasticity(kernels=False)
    cpu = train_ensemble(spec, images, labels, 4, 0, config, deterministic, "loop")
    gpu = train_ensemble(spec, images.to("cuda"), labels, 4, 0, config, deterministic, "batched")
    assert next(iter(gpu.params.values())).is_cuda
    test = load_digits().images[192:]
    agree = (cpu.predict(test) == gpu.predict(test).cpu()).double().mean()
    assert agree > 0.97
