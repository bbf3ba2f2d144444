"""Checkpoints written before seedgen/ moved into subpackages still load, and generate the same pixels.

`tests/checkpoints_v1/` holds a tiny training snapshot of each family (StyleGAN2, DCGAN, layered), written by
`seedgen train` at commit a9f8ac1, when the classes lived in seedgen/networks.py, dcgan.py and layered.py, and
`expected_images.npz`: what each of them, and the packaged StyleGAN2 model (the default then, `stylegan-small`
now), drew then for noise seeds 1 and 2.
The class keys inside them ("seedgen.networks.Generator", ...) are stable names, mapped to today's modules.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seedgen.checkpoint import BUILDABLE_CLASSES, load_snapshot, read_checkpoint
from seedgen.generation.seed_model import load_seed_model

HERE = Path(__file__).parent / "checkpoints_v1"
FAMILIES = ("stylegan2", "dcgan", "layered")


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    with np.load(HERE / "expected_images.npz") as data:
        return {name: data[name] for name in data.files}


@pytest.mark.parametrize("name", [*FAMILIES, "default"])
def test_an_old_checkpoint_draws_what_it_drew(name: str, expected) -> None:
    model = load_seed_model(str(HERE / f"{name}.safetensors") if name != "default" else "stylegan-small", "cpu")
    assert model.kind == ("stylegan2" if name == "default" else name)
    images = np.asarray(model.images(model.latent(model.noise([1, 2]), 0.7), batch=2))
    assert images.shape == expected[name].shape
    assert np.abs(images.astype(int) - expected[name].astype(int)).max() <= 1  # the same up to the last bit


@pytest.mark.parametrize("name", FAMILIES)
def test_an_old_snapshot_keeps_its_class_keys_and_resumable_state(name: str) -> None:
    _, header = read_checkpoint(HERE / f"{name}.safetensors")
    keys = {entry["class"] for entry in header["networks"].values()}
    assert keys <= set(BUILDABLE_CLASSES) | {"seedgen.layered.LayeredGenerator", "seedgen.layered_training.LayeredCritic"}
    snapshot = load_snapshot(HERE / f"{name}.safetensors")
    assert snapshot.optimizers and snapshot.state  # what a resumed run continues from
