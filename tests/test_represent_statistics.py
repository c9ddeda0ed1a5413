"""Dataset statistics: streamed moments equal the two-pass float64 formula; prototypes; errors."""

from __future__ import annotations

import pytest
import torch

from taskspace.data.images import ImageDataset
from taskspace.represent.encoders import Encoder
from taskspace.represent.statistics import (
    Moments,
    RunningMoments,
    dataset_statistics,
    embedding_statistics,
    moments,
    prompts,
    prototype_statistics,
    stack_moments,
)


def two_pass(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The obvious reference: mean, then the mean squared deviation, in float64."""
    x = samples.double()
    mean = x.sum(0) / len(x)
    return mean, ((x - mean) ** 2).sum(0) / len(x)


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_streamed_moments_equal_two_pass(offset: float) -> None:
    generator = torch.Generator().manual_seed(0)
    samples = torch.randn(257, 6, generator=generator, dtype=torch.float64) * 0.01 + offset
    sizes = [1, 0, 100, 3, 153]
    result = moments(samples.split(sizes))
    mean, variance = two_pass(samples)
    assert int(result.count) == 257
    assert torch.allclose(result.mean, mean, rtol=0, atol=1e-12 * max(1.0, offset))
    # values at 1e6 are only known to 1 ulp (1.2e-10) against a spread of 0.01, hence rtol 1e-7;
    # E[x^2] - E[x]^2 would be off by about 100% here (1e12 known to 1e-4)
    assert torch.allclose(result.variance, variance, rtol=1e-7, atol=1e-15)
    assert result.mean.dtype == torch.float64 and (result.variance > 0).all()


def test_float32_batches_are_accumulated_in_float64() -> None:
    samples = torch.rand(1000, 3, generator=torch.Generator().manual_seed(1))
    result = moments(samples.split(7))
    mean, variance = two_pass(samples)
    assert torch.allclose(result.mean, mean, atol=1e-13)
    assert torch.allclose(result.variance, variance, atol=1e-13)


def test_running_moments_errors() -> None:
    running = RunningMoments()
    with pytest.raises(ValueError, match="empty dataset"):
        running.result()
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        running.update(torch.zeros(3))
    running.update(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="has 5 dimensions, earlier ones had 4"):
        running.update(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="NaN"):
        running.update(torch.tensor([[0.0, float("nan"), 0.0, 0.0]]))


def test_embedding_statistics_concatenate_image_and_label_text() -> None:
    generator = torch.Generator().manual_seed(2)
    image = torch.randn(9, 4, generator=generator)
    labels = torch.tensor([0, 1, 1, 2, 0, 2, 2, 1, 0])
    text = torch.randn(3, 2, generator=generator)
    result = embedding_statistics(image, labels, text, chunk=4)
    mean, variance = two_pass(torch.cat([image, text[labels]], dim=1))
    assert torch.allclose(result.mean, mean) and torch.allclose(result.variance, variance)
    assert result.representation("mean").shape == (6,)
    assert torch.equal(result.representation("mean_var"), torch.cat([result.mean, result.variance]))
    with pytest.raises(ValueError, match="'mean' or 'mean_var'"):
        result.representation("variance")
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        embedding_statistics(image, labels + 1, text)
    with pytest.raises(ValueError, match="int64"):
        embedding_statistics(image, labels.float(), text)


class PixelEncoder(Encoder):
    """A deterministic toy encoder: image -> (mean, max, min, first pixel); text -> (length, vowels, 1)."""

    image_dim, text_dim = 4, 3
    image_identity = text_identity = "pixel-test"

    def _image_batch(self, images: torch.Tensor) -> torch.Tensor:
        flat = images.flatten(1)
        return torch.stack([flat.mean(1), flat.max(1).values, flat.min(1).values, flat[:, 0]], 1)

    def _text_batch(self, texts: list[str]) -> torch.Tensor:
        return torch.tensor([[len(t), sum(c in "aeiou" for c in t), 1.0] for t in texts])


def test_dataset_statistics_stream_through_the_encoder() -> None:
    labels = torch.tensor([0, 1, 0, 1, 1, 0, 1])
    images = torch.rand(7, 1, 3, 3, generator=torch.Generator().manual_seed(3))
    dataset = ImageDataset(images, labels, ("Sandal", "Ankle boot"), "toy")
    encoder = PixelEncoder(device="cpu", cache=None, normalize=False)
    streamed = dataset_statistics(encoder, dataset, batch_size=3)
    text = encoder.encode_texts(prompts(dataset.class_names))
    assert prompts(["Coat"]) == ["A photo of a Coat"]
    mean, variance = two_pass(torch.cat([encoder.encode_images(images), text[labels]], dim=1))
    assert torch.allclose(streamed.mean, mean) and torch.allclose(streamed.variance, variance)


def test_prototype_statistics_average_over_each_datasets_classes() -> None:
    generator = torch.Generator().manual_seed(4)
    prototypes = torch.randn(5, 3, generator=generator)
    membership = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    result = prototype_statistics(membership, prototypes)
    assert result.count.tolist() == [2, 1, 5]
    for row, mask in enumerate(membership):
        mean, variance = two_pass(prototypes[mask])
        assert torch.allclose(result.mean[row], mean, atol=1e-12)
        assert torch.allclose(result.variance[row], variance, atol=1e-12)
    assert (result.variance[1] == 0).all()  # a one-class dataset does not vary
    with pytest.raises(ValueError, match="no classes"):
        prototype_statistics(torch.zeros(1, 5, dtype=torch.bool), prototypes)
    with pytest.raises(ValueError, match=r"L = 4 classes"):
        prototype_statistics(membership[:, :4], prototypes)
    with pytest.raises(ValueError, match="bool"):
        prototype_statistics(membership.float(), prototypes)


def test_stack_moments() -> None:
    a = moments([torch.ones(2, 3)])
    b = moments([torch.zeros(4, 3)])
    both = stack_moments([a, b])
    assert isinstance(both, Moments)
    assert both.count.tolist() == [2, 4]
    assert both.representation("mean_var").shape == (2, 6)
