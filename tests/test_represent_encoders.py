"""Encoders and their cache: shapes, determinism, cache hits, bad input, offline failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from taskspace.digest import digest_tensor, digest_texts
from taskspace.represent import encoders
from taskspace.represent.cache import EmbeddingCache
from taskspace.represent.encoders import (
    CheckpointNotFoundError,
    OfflineEncoder,
    OpenCLIPEncoder,
)
from taskspace.represent.networks import (
    EfficientNetTrunk,
    efficientnet_input,
    minilm_folder,
)

TINY_CLIP = "taskspace-tiny-test-clip"


def images(n: int = 3, channels: int = 1, size: int = 28, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def offline() -> OfflineEncoder:
    """One encoder (networks loaded once) without a cache; tests that cache make their own."""
    return OfflineEncoder(image_size=32, device="cpu", cache=None)


def test_offline_encoder_shapes_and_unit_norm(offline: OfflineEncoder) -> None:
    grey = offline.encode_images(images(3, 1))
    rgb = offline.encode_images(images(2, 3, size=40))
    text = offline.encode_texts(["A photo of a Sandal", "A photo of a Coat"])
    assert grey.shape == (3, 1280) and rgb.shape == (2, 1280) and text.shape == (2, 384)
    for x in (grey, rgb, text):
        assert x.dtype == torch.float32
        assert torch.allclose(x.norm(dim=1), torch.ones(len(x)), atol=1e-5)
    raw = offline.image_features(images(3, 1))
    assert torch.allclose(F.normalize(raw, dim=1), grey, atol=1e-6)
    assert offline.encode_images(images(0)).shape == (0, 1280)


def test_grey_image_is_encoded_as_its_rgb_copy(offline: OfflineEncoder) -> None:
    grey = images(2, 1)
    assert torch.allclose(
        offline.image_features(grey), offline.image_features(grey.repeat(1, 3, 1, 1)), atol=1e-5
    )


def test_offline_encoder_is_deterministic_and_batch_independent(
    offline: OfflineEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = images(5, seed=3)
    first = offline.image_features(x)
    assert torch.equal(first, offline.image_features(x))
    monkeypatch.setattr(offline, "batch_size", 2)
    assert torch.allclose(first, offline.image_features(x), atol=1e-5)
    texts = ["a shoe", "a bag", "a coat"]
    assert torch.equal(offline.encode_texts(texts), offline.encode_texts(texts))
    # one text encoded alone or in a padded batch gives the same embedding
    assert torch.allclose(
        offline.encode_texts(texts)[1], offline.encode_texts(["a bag"])[0], atol=1e-5
    )


def test_features_are_the_networks_pooled_last_layer(offline: OfflineEncoder) -> None:
    net = offline._network  # the same pretrained network the encoder loaded
    x = images(2)
    prepared = efficientnet_input(x, 32)
    with torch.no_grad():
        expected = net.extract_features(prepared).mean((2, 3))
        split = EfficientNetTrunk(net, 5, None)(EfficientNetTrunk(net, 0, 5)(prepared))
    assert torch.allclose(offline.image_features(x), expected, atol=1e-5)
    assert torch.allclose(split, expected, atol=1e-5)


def test_pretrained_network_recognises_its_own_prototypes(offline: OfflineEncoder) -> None:
    prototypes = offline.image_prototypes()
    assert prototypes.shape == (1000, 1280)
    assert torch.allclose(prototypes.norm(dim=1), torch.ones(1000), atol=1e-5)
    # random weights would give a near-identity similarity of rows; trained ones share structure
    similarity = prototypes @ prototypes.T
    assert similarity.fill_diagonal_(0).abs().max() > 0.3


def test_imagenet_logits_are_the_networks_output(offline: OfflineEncoder) -> None:
    x = images(2)
    with torch.no_grad():
        expected = offline._network(efficientnet_input(x, 32))
    assert torch.allclose(offline.imagenet_logits(offline.image_features(x)), expected, atol=1e-4)
    with pytest.raises(ValueError, match=r"raw image features \(N, 1280\)"):
        offline.imagenet_logits(torch.zeros(2, 384))


def test_minilm_matches_sentence_transformers(offline: OfflineEncoder) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    texts = ["A photo of a Sneaker", "A photo of a grand piano, a keyboard instrument"]
    reference = sentence_transformers.SentenceTransformer(
        str(minilm_folder()), device="cpu", local_files_only=True
    ).encode(texts, convert_to_tensor=True)
    assert torch.allclose(offline.encode_texts(texts), reference.cpu(), atol=1e-5)


def test_cache_hit_skips_the_network(
    offline: OfflineEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = offline
    monkeypatch.setattr(encoder, "cache", EmbeddingCache(tmp_path))
    calls = {"images": 0, "texts": 0}
    real_image, real_text = encoder._image_batch, encoder._text_batch

    def count_images(x: torch.Tensor) -> torch.Tensor:
        calls["images"] += 1
        return real_image(x)

    def count_texts(t: list[str]) -> torch.Tensor:
        calls["texts"] += 1
        return real_text(t)

    monkeypatch.setattr(encoder, "_image_batch", count_images)
    monkeypatch.setattr(encoder, "_text_batch", count_texts)
    x = images(3, seed=7)
    first = encoder.encode_images(x)
    second = encoder.encode_images(x.clone())
    assert calls["images"] == 1 and torch.equal(first, second)
    encoder.encode_images(images(3, seed=8))  # new content: a miss
    assert calls["images"] == 2
    encoder.encode_texts(["x", "y"])
    encoder.encode_texts(["x", "y"])
    encoder.encode_texts(["xy"])  # not the same input as ["x", "y"]
    assert calls["texts"] == 2
    stored = sorted(p.name for p in tmp_path.rglob("*.pt"))
    assert len(stored) == 4 and not list(tmp_path.rglob("*.part"))
    # another image size is another encoder: no stale hit
    assert encoder.image_identity != OfflineEncoder(image_size=64).image_identity


def test_cache_round_trip_and_digests(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    value = torch.randn(4, 3)
    assert cache.load("enc/1", "images", "abc") is None
    cache.save("enc/1", "images", "abc", value)
    assert torch.equal(cache.load("enc/1", "images", "abc"), value)
    assert cache.path("enc/1", "images", "abc").parent.name == "enc_1"
    x = torch.zeros(2, 3)
    assert digest_tensor(x) != digest_tensor(x.reshape(3, 2))
    assert digest_tensor(x) != digest_tensor(x.double())
    assert digest_texts(["ab", "c"]) != digest_texts(["a", "bc"])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.rand(3, 28, 28), r"\(N, C, H, W\)"),
        (torch.full((1, 1, 8, 8), float("nan")), "NaN"),
        (torch.full((1, 1, 8, 8), 255.0), r"\[0, 1\]"),
        (torch.zeros(1, 1, 8, 8, dtype=torch.uint8), "floating point"),
        (torch.rand(1, 2, 8, 8), r"\(N, 1, H, W\) or \(N, 3, H, W\)"),
    ],
)
def test_bad_images_are_named(offline: OfflineEncoder, bad: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        offline.encode_images(bad)


def test_bad_texts_and_sizes_are_named(offline: OfflineEncoder) -> None:
    with pytest.raises(TypeError, match="sequence of strings"):
        offline.encode_texts("A photo of a Sandal")
    with pytest.raises(TypeError, match="strings only"):
        offline.encode_texts(["ok", 3])
    with pytest.raises(ValueError, match="multiple of 32"):
        OfflineEncoder(image_size=100)


@pytest.fixture(scope="module")
def tiny_clip_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    open_clip = pytest.importorskip("open_clip")
    folder = tmp_path_factory.mktemp("clip_configs")
    config = {
        "embed_dim": 16,
        "vision_cfg": {
            "image_size": 32,
            "layers": 1,
            "width": 32,
            "patch_size": 16,
            "head_width": 16,
        },
        "text_cfg": {
            "context_length": 77,
            "vocab_size": 49408,
            "width": 32,
            "heads": 2,
            "layers": 1,
        },
    }
    (folder / f"{TINY_CLIP}.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder)
    return TINY_CLIP


def test_openclip_encoder_random_weights(tiny_clip_config: str, tmp_path: Path) -> None:
    encoder = OpenCLIPEncoder(
        tiny_clip_config, pretrained=None, seed=1, device="cpu", cache=EmbeddingCache(tmp_path)
    )
    x = images(3, 1, size=20)
    a, t = encoder.encode_images(x), encoder.encode_texts(["a photo of a cat", "a dog"])
    assert a.shape == (3, 16) and t.shape == (2, 16)
    assert torch.allclose(a.norm(dim=1), torch.ones(3), atol=1e-5)
    same = OpenCLIPEncoder(tiny_clip_config, pretrained=None, seed=1, device="cpu", cache=None)
    other = OpenCLIPEncoder(tiny_clip_config, pretrained=None, seed=2, device="cpu", cache=None)
    assert torch.allclose(same.encode_images(x), a, atol=1e-6)
    assert not torch.allclose(other.encode_images(x), a, atol=1e-3)
    assert same.image_identity != other.image_identity
    assert len(list(tmp_path.rglob("*.pt"))) == 2


def test_missing_openclip_checkpoint_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("open_clip")
    monkeypatch.setattr(encoders, "_local_checkpoint", lambda cfg: None)
    monkeypatch.setenv("TASKSPACE_OFFLINE", "1")
    with pytest.raises(CheckpointNotFoundError, match=r"TASKSPACE_OFFLINE is set.*laion"):
        OpenCLIPEncoder("ViT-H-14", "laion2b_s32b_b79k")
    monkeypatch.delenv("TASKSPACE_OFFLINE")
    monkeypatch.setattr(encoders, "_host_reachable", lambda url, timeout=5.0: False)
    with pytest.raises(CheckpointNotFoundError, match=r"cannot be reached.*pass its path"):
        OpenCLIPEncoder("ViT-H-14", "laion2b_s32b_b79k")
    with pytest.raises(ValueError, match="no pretrained tag 'nonsense'"):
        OpenCLIPEncoder("ViT-H-14", "nonsense")
    with pytest.raises(ValueError, match="unknown open_clip architecture"):
        OpenCLIPEncoder("ViT-Nope", None)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_offline_encoder_on_cuda_returns_on_the_inputs_device(offline: OfflineEncoder) -> None:
    gpu = OfflineEncoder(image_size=32, device="cuda", cache=None)
    x = images(3)
    assert gpu.encode_images(x).device.type == "cpu"
    assert torch.allclose(gpu.encode_images(x), offline.encode_images(x), atol=1e-4)
    assert gpu.encode_images(x.cuda()).device.type == "cuda"
    assert gpu.encode_texts(["a coat"]).device.type == "cuda"
