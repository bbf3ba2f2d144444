"""The DCGAN baseline: the classic architecture, and the shared trainer runs it with snapshots and resume."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seedgen.gan.dcgan import DCGANDiscriminator, DCGANGenerator, freeze_dcgan_layers
from seedgen.checkpoint import build_networks, load_networks, load_snapshot
from seedgen.gan.config import preset
from seedgen.gan.training_loop import train


@pytest.mark.parametrize("resolution", [32, 64])
def test_shapes_and_the_papers_layers(resolution: int) -> None:
    torch.manual_seed(0)
    G, D = DCGANGenerator(100, resolution, 3, 16), DCGANDiscriminator(resolution, 3, 16)
    img = G(torch.randn(5, 100))
    assert img.shape == (5, 3, resolution, resolution) and img.abs().max() <= 1
    assert D(img).shape == (5, 1)
    kinds = [type(m).__name__ for m in G.net]
    assert kinds[:3] == ["ConvTranspose2d", "BatchNorm2d", "ReLU"] and kinds[-2:] == ["ConvTranspose2d", "Tanh"]
    first = D.blocks[0]
    assert [type(m).__name__ for m in first] == ["Conv2d", "LeakyReLU"]           # no BatchNorm on the input layer
    assert all(isinstance(block[1], torch.nn.BatchNorm2d) for block in D.blocks[1:])
    widths = [m.out_channels for m in G.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert widths[0] == {32: 16 * 4, 64: 16 * 8}[resolution]        # ngf * 8 at 4x4 for the paper's 64 px
    assert widths[-2] == 16 and widths[-1] == 3
    convs = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert abs(convs.std().item() - 0.02) < 0.002                                     # N(0, 0.02) init


def test_freeze_keeps_the_first_blocks_fixed() -> None:
    D = DCGANDiscriminator(64, 3, 8)
    assert freeze_dcgan_layers(D, 2) == ["blocks.0", "blocks.1"]
    assert not any(p.requires_grad for b in D.blocks[:2] for p in b.parameters())
    assert all(p.requires_grad for b in D.blocks[2:] for p in b.parameters())


def _data(folder: Path, count: int = 8, size: int = 32) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        image = np.zeros((size, size, 3), np.uint8)
        image[:] = rng.integers(0, 255, 3)
        image[: size // 2, : size // 3] = rng.integers(0, 255, 3)
        Image.fromarray(image).save(folder / f"{i}.png")
    return folder


def test_trainer_runs_dcgan_with_snapshots_grids_and_exact_resume(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    options = dict(dcgan_features=8, batch=4, tick_kimg=0.008, snap_kimg=0.008, total_kimg=0.016, grid=(2, 2),
                   aug="ada", augment_p=0.3, ada_interval=1, ada_kimg=0.1, r1_gamma=1.0, d_reg_interval=2)
    straight = train(data, tmp_path / "a", config=preset("dcgan", 32), options=dict(options, total_kimg=0.024),
                     progress=False, log=lambda line: None)
    half = train(data, tmp_path / "b", config=preset("dcgan", 32), options=options, progress=False, log=lambda line: None)
    assert half.kimg == pytest.approx(0.016) and half.augment_p not in (0.0, 0.3)   # ADA moved p
    resumed = train(data, tmp_path / "b", config=preset("dcgan", 32), options=dict(options, total_kimg=0.024),
                    progress=False, log=lambda line: None)
    assert resumed.start_nimg == 16 and resumed.resumed_from.endswith("snapshot-latest.safetensors")
    a, b = load_snapshot(straight.snapshot), load_snapshot(resumed.snapshot)
    assert a.state["augment_p"] == b.state["augment_p"] == straight.augment_p
    for net in ("G", "D", "G_ema"):
        for key, value in a.networks[net].items():
            assert torch.equal(value, b.networks[net][key]), f"{net}.{key}"
    # The same files as a StyleGAN2 run: grids and networks-only snapshots that rebuild the generator.
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert {"reals.png", "fakes_init.png", "fakes000000024.png", "network-snapshot-000000024.safetensors",
            "snapshot-latest.safetensors", "snapshot-latest.json", "training_options.json"} <= set(names)
    assert Image.open(tmp_path / "a" / "fakes000000024.png").size == (64, 64)
    states, config = load_networks(tmp_path / "a" / "network-snapshot-000000024.safetensors")
    assert config["model"] == "dcgan" and config["progress"]["cur_nimg"] == 24
    G_ema = build_networks(config, states)["G_ema"].eval()
    assert G_ema(torch.randn(2, 100)).shape == (2, 3, 32, 32)
