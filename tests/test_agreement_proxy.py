"""Tests of the proxy-AS and its three meta-gradients (taskspace.agreement.proxy; chapter 9)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from taskspace.agreement import META_GRADIENTS, NetworkSpec, ProxyConfig, proxy_agreement
from taskspace.agreement.proxy import inner_batches, inner_networks, pair_agreement

INNER = NetworkSpec("small_cnn", in_channels=1, image_size=8, num_classes=2, width=3)


def _images(n: int = 48, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=generator, dtype=torch.float64)


def _task_network(seed: int = 5, n_classes: int = 2) -> nn.Module:
    """A small differentiable task: a linear map of the pixels and a softmax."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, n_classes)).double()


def _proxy(
    task: nn.Module, images: torch.Tensor, config: ProxyConfig, strategy: str = "recompute"
) -> torch.Tensor:
    """The proxy-AS of the task network's softmax, with fixed seeds."""
    return proxy_agreement(
        lambda x: torch.softmax(task(x), -1),
        INNER,
        images,
        config=config,
        init_seeds=(3, 4),
        batch_seed=7,
        meta_gradient=strategy,
    )


def _proxy_and_gradient(
    task: nn.Module, images: torch.Tensor, config: ProxyConfig, strategy: str
) -> tuple[torch.Tensor, torch.Tensor]:
    task.zero_grad()
    proxy = _proxy(task, images, config, strategy)
    proxy.backward()
    return proxy.detach(), torch.cat([p.grad.flatten() for p in task.parameters()])


CONFIGS = [
    ProxyConfig(inner_steps=4, inner_lr=0.5, batch_size=16),
    ProxyConfig(inner_steps=5, inner_lr=0.5, batch_size=16, disjoint_halves=True),
    ProxyConfig(inner_steps=6, inner_lr=0.5, batch_size=16, early_stop=0.5, early_stop_patience=2),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["plain", "halves", "early-stop"])
def test_the_three_meta_gradients_agree_in_value_and_gradient(config: ProxyConfig) -> None:
    images, task = _images(), _task_network()
    reference_value, reference_gradient = _proxy_and_gradient(task, images, config, "higher")
    assert reference_gradient.norm() > 0
    for strategy in ("unroll", "recompute"):
        value, gradient = _proxy_and_gradient(task, images, config, strategy)
        assert torch.allclose(value, reference_value, rtol=1e-8, atol=0)
        assert (gradient - reference_gradient).norm() <= 1e-8 * reference_gradient.norm()


def test_recompute_gives_exactly_the_unrolled_value_and_gradient() -> None:
    images, task = _images(), _task_network()
    config = ProxyConfig(inner_steps=5, inner_lr=0.3, batch_size=12)
    unrolled = _proxy_and_gradient(task, images, config, "unroll")
    recomputed = _proxy_and_gradient(task, images, config, "recompute")
    assert torch.equal(unrolled[0], recomputed[0])
    assert torch.allclose(unrolled[1], recomputed[1], rtol=1e-12, atol=1e-15)


def _slow_proxy(task: nn.Module, images: torch.Tensor, config: ProxyConfig) -> float:
    """The obvious loop: two modules, torch.optim.SGD on the soft labels, agreement before each
    step written out element by element; no gradient to the task."""
    networks = inner_networks(INNER, (3, 4), images)
    optimisers = [torch.optim.SGD(n.parameters(), lr=config.inner_lr) for n in networks]
    total = 0.0
    for index in inner_batches(images.shape[0], config, batch_seed=7):
        batch = images[index]
        with torch.no_grad():
            targets = torch.softmax(task(batch), -1)
        probabilities = [torch.softmax(n(batch), -1) for n in networks]
        cross = 0.0
        for i in range(batch.shape[0]):
            for c in range(2):
                p1, p2 = probabilities[0][i, c], probabilities[1][i, c]
                cross -= 0.5 * (p1 * torch.log(p2) + p2 * torch.log(p1)).item()
        total += -cross / batch.shape[0]
        for network, optimiser in zip(networks, optimisers, strict=True):
            loss = -(targets * torch.log_softmax(network(batch), -1)).sum(-1).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return total / config.inner_steps


def test_proxy_value_matches_a_plain_training_loop() -> None:
    images, task = _images(), _task_network()
    config = ProxyConfig(inner_steps=4, inner_lr=0.5, batch_size=16)
    value, _ = _proxy_and_gradient(task, images, config, "recompute")
    assert value.item() == pytest.approx(_slow_proxy(task, images, config), rel=1e-10)


def test_meta_gradient_matches_finite_differences() -> None:
    images, task = _images(), _task_network()
    config = ProxyConfig(inner_steps=4, inner_lr=0.5, batch_size=16)
    _, gradient = _proxy_and_gradient(task, images, config, "recompute")
    direction = torch.randn(
        gradient.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    flat = nn.utils.parameters_to_vector(task.parameters()).detach()
    values = []
    for sign in (1, -1):
        nn.utils.vector_to_parameters(flat + sign * 1e-5 * direction, task.parameters())
        with torch.no_grad():
            values.append(_proxy(task, images, config, "unroll").item())
    numeric = (values[0] - values[1]) / 2e-5
    assert numeric == pytest.approx((gradient @ direction).item(), rel=1e-6)


def test_pair_agreement_is_symmetric_and_highest_for_confident_equal_networks() -> None:
    logits = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    other = torch.randn(10, 3, generator=torch.Generator().manual_seed(1))
    assert pair_agreement(logits, other) == pair_agreement(other, logits)
    confident = torch.tensor([[20.0, 0.0]]).repeat(4, 1)
    assert pair_agreement(confident, confident) > pair_agreement(logits[:4, :2], other[:4, :2])
    assert pair_agreement(confident, confident).item() == pytest.approx(0, abs=1e-6)


def test_inner_batches_are_new_until_the_pool_is_used_up() -> None:
    config = ProxyConfig(inner_steps=5, batch_size=4)
    batches = inner_batches(10, config, batch_seed=0)
    assert batches.shape == (5, 4)
    first_epoch = batches[:2].flatten()
    assert first_epoch.unique().numel() == 8
    assert torch.equal(batches, inner_batches(10, config, batch_seed=0))


def test_inner_networks_keep_no_running_statistics() -> None:
    network = inner_networks(INNER, (0,), _images())[0]
    assert not list(network.buffers())
    assert all(p.dtype == torch.float64 for p in network.parameters())


def _value(task: nn.Module, images: torch.Tensor, config: ProxyConfig) -> float:
    with torch.no_grad():
        return _proxy(task, images, config).item()


def test_early_stop_measures_fewer_steps() -> None:
    images, task = _images(), _task_network()
    never = ProxyConfig(inner_steps=6, inner_lr=0.5, batch_size=16)
    at_once = ProxyConfig(
        inner_steps=6, inner_lr=0.5, batch_size=16, early_stop=0.01, early_stop_patience=1
    )
    one_step = ProxyConfig(inner_steps=1, batch_size=16)
    assert _value(task, images, at_once) == _value(task, images, one_step)
    assert _value(task, images, never) != _value(task, images, at_once)


def test_one_inner_step_compares_the_initialisations_only() -> None:
    images, task = _images(), _task_network()
    assert not _proxy(task, images, ProxyConfig(inner_steps=1, batch_size=16)).requires_grad


def test_bad_input_gets_clear_errors() -> None:
    images, task = _images(), _task_network()

    def soft(x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(task(x), -1)

    with pytest.raises(ValueError, match="inner_steps"):
        ProxyConfig(inner_steps=0)
    with pytest.raises(ValueError, match="even"):
        ProxyConfig(batch_size=15, disjoint_halves=True)
    with pytest.raises(ValueError, match="larger than the pool"):
        proxy_agreement(soft, INNER, images, config=ProxyConfig(batch_size=64))
    with pytest.raises(ValueError, match=r"images must be \(N, 1, 8, 8\)"):
        proxy_agreement(soft, INNER, images[:, :, :4, :4], config=ProxyConfig(batch_size=16))
    with pytest.raises(ValueError, match="meta_gradient"):
        proxy_agreement(soft, INNER, images, config=ProxyConfig(batch_size=16), meta_gradient="x")
    three = _task_network(n_classes=3)
    with pytest.raises(ValueError, match="probabilities"):
        proxy_agreement(
            lambda x: torch.softmax(three(x), -1),
            INNER,
            images,
            config=ProxyConfig(inner_steps=2, batch_size=16),
            meta_gradient="unroll",
        )


def test_all_strategies_are_listed() -> None:
    assert set(META_GRADIENTS) == {"higher", "unroll", "recompute"}
