"""The layered generator: masks, compositing, both training modes, snapshots and exact resume (tiny configs)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from seedgen.layered.model import (
    LayeredConfigError,
    LayeredGenerator,
    LayeredModelConfig,
    MaskMLP,
    blend,
    load_layered_generator,
    pixel_grid,
    render_layers,
)
from seedgen.layered.training import (
    LayeredConfig,
    LayeredTrainingError,
    latest_snapshot,
    run_layered,
    train_layered,
)
from seedgen.checkpoint import CheckpointError, load_snapshot, save_networks
from seedgen.gan.config import ConfigError

TINY = dict(layers=3, params=4, resolution=32, z_dim=8, mlp_width=32, encoder_width=8, head_width=32)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Eight 32 px seed-like images: a flat background with a disc and a bar in varying colours."""
    root = tmp_path_factory.mktemp("layered_data")
    rng = np.random.default_rng(3)
    for i in range(8):
        im = Image.new("RGB", (32, 32), tuple(int(v) for v in rng.integers(150, 255, 3)))
        draw = ImageDraw.Draw(im)
        x, y = rng.integers(2, 18, 2)
        draw.ellipse((x, y, x + 12, y + 12), fill=tuple(int(v) for v in rng.integers(0, 120, 3)))
        draw.rectangle((0, 20 + i % 6, 31, 24 + i % 6), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        im.save(root / f"seed{i}.png")
    return root


def _config(mode: str, kimg: float, **extra) -> LayeredConfig:
    return LayeredConfig(
        model=LayeredModelConfig(mode=mode, **TINY), kimg=kimg, batch=2, n_critic=2, snap_kimg=0.004, seed=5,
        device="cpu", **extra,
    )


# --------------------------------------------------------------------------------------------- the model


def test_mask_mlp_is_a_pointwise_function_of_coordinates():
    torch.manual_seed(0)
    mlp = MaskMLP(params=4, width=32, depth=3, groups=8)
    codes = torch.randn(2, 4)
    coarse, fine = pixel_grid(8), pixel_grid(16)
    # the same point gives the same value whatever else is in the batch: resolution-free masks
    both = torch.cat([coarse[:5], fine[:7]])
    alone = mlp(coarse[:5], codes)
    together = mlp(both, codes)[:, :5]
    assert torch.allclose(alone, together, atol=1e-6)
    values = mlp(fine, codes).detach()
    assert values.shape == (2, 256)
    assert float(values.min()) > 0 and float(values.max()) < 1


def test_mask_mlp_with_fourier_features_runs():
    mlp = MaskMLP(params=3, width=16, depth=2, groups=4, fourier=2)
    assert mlp(pixel_grid(4), torch.zeros(1, 3)).shape == (1, 16)


def test_render_layers_is_the_papers_alpha_blend():
    torch.manual_seed(1)
    mlp = MaskMLP(params=4, width=32)
    codes = torch.randn(1, 2, 4)
    colours = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    background = torch.tensor([[0.0, 1.0, 0.0]])
    image = render_layers(mlp, codes, colours, 6, background)
    m = mlp(pixel_grid(6), codes[0]).reshape(2, 6, 6)
    want = background[0][:, None, None].expand(3, 6, 6)
    for t in range(2):
        want = want * (1 - m[t]) + colours[0, t][:, None, None] * m[t]
    assert torch.allclose(image[0], want, atol=1e-6)
    assert torch.allclose(blend(torch.zeros(1, 3, 2, 2), torch.ones(1, 2, 2), torch.ones(1, 3)), torch.ones(1, 3, 2, 2))


def test_generator_predicts_layers_in_both_modes():
    for mode in ("gan", "recon"):
        torch.manual_seed(0)
        generator = LayeredGenerator(LayeredModelConfig(mode=mode, **TINY))
        z = generator.noise(2, seed=11)
        target = torch.rand(2, 3, 64, 64)  # recon targets are resized to the model's resolution
        stack, canvas, masks = generator.unroll(z=z, target=target)
        assert stack.codes.shape == (2, 3, 4) and stack.colours.shape == (2, 3, 3)
        assert canvas.shape == (2, 3, 32, 32) and masks.shape == (2, 3, 32, 32)
        again = render_layers(generator.mlp, stack.codes, stack.colours, 32, stack.background)
        assert torch.allclose(again, canvas, atol=1e-5)  # the canvas is the stack's own render
    assert torch.equal(generator.noise(3, 7), generator.noise(3, 7))


def test_model_config_ranges_are_checked():
    with pytest.raises(LayeredConfigError, match="resolution"):
        LayeredModelConfig(resolution=48).validate()
    with pytest.raises(LayeredConfigError, match="mode"):
        LayeredModelConfig(mode="vae").validate()


# --------------------------------------------------------------------------------------------- training


def test_gan_training_snapshots_and_resumes_exactly(data_dir, tmp_path):
    # 2 critic steps x batch 2 = 4 real images per step; 0.012 kimg = 3 steps, a snapshot every step
    straight = train_layered(data_dir, tmp_path / "straight", _config("gan", 0.012))
    assert straight.steps == 3 and straight.images == 12
    assert all(np.isfinite(v) for v in straight.losses.values())

    first = train_layered(data_dir, tmp_path / "split", _config("gan", 0.004))
    assert first.steps == 1
    resumed = train_layered(data_dir, tmp_path / "split", _config("gan", 0.012))
    assert resumed.resumed_from == first.snapshot and resumed.steps == 3

    a, b = load_snapshot(straight.snapshot), load_snapshot(resumed.snapshot)
    assert a.state["images"] == b.state["images"] == 12
    for name in ("G", "D"):
        for key, tensor in a.networks[name].items():
            assert torch.equal(tensor, b.networks[name][key]), f"{name}.{key} differs after resume"
    header = json.loads(resumed.snapshot.with_suffix(".json").read_text())
    assert header["model"] == "layered" and header["format_version"] >= 1
    assert header["layered"]["layers"] == 3 and header["layered"]["mode"] == "gan"
    # only the newest snapshots are kept
    assert len(list((tmp_path / "split").glob("snapshot-*.safetensors"))) <= 3

    generator = load_layered_generator(resumed.snapshot)
    assert generator.config.params == 4 and not generator.training


def test_recon_training_lowers_l1_and_resumes(data_dir, tmp_path):
    config = _config("recon", 0.002, g_lr=2e-3)  # 1 step of batch 2
    first = train_layered(data_dir, tmp_path / "run", config)
    start_l1 = first.losses["l1"]
    progress = []
    later = train_layered(data_dir, tmp_path / "run", _config("recon", 0.05, g_lr=2e-3), progress=progress.append)
    assert later.resumed_from == first.snapshot
    assert progress[0].step == 2 and progress[-1].images == 50 and later.steps == 25
    recent = np.mean([p.losses["l1"] for p in progress[-5:]])
    assert recent < 0.8 * start_l1  # it learns to reconstruct
    assert latest_snapshot(tmp_path / "run") == later.snapshot
    assert later.images_per_second > 0


def test_recon_with_adversarial_term_runs(data_dir, tmp_path):
    run = train_layered(data_dir, tmp_path / "adv", _config("recon", 0.004, adv_weight=0.1, binary_weight=0.1))
    assert {"l1", "d", "psnr"} <= set(run.losses) and run.steps == 2


def test_train_command_runner_maps_cli_options(data_dir, tmp_path):
    options = dict(kimg=0.002, batch=2, snap=None, seed=1, device="cpu", quiet=True, resume=None,
                   mode="recon", layers=2, params=3, cfg=None, gamma=None, aug=None, p=None, target=None,
                   freezed=None, settings={})
    summary = run_layered(data_dir, tmp_path / "cli", options)
    assert summary.startswith("layered (recon, T=2, K=3): 0.002 kimg, 1 steps")
    header = json.loads(latest_snapshot(tmp_path / "cli").with_suffix(".json").read_text())
    assert header["layered"]["params"] == 3 and header["training"]["batch"] == 2
    with pytest.raises(ConfigError, match="--gamma"):
        run_layered(data_dir, tmp_path / "cli2", {**options, "gamma": 1.0})


def test_training_refuses_bad_input(tmp_path, data_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match="no images"):
        train_layered(empty, tmp_path / "run", _config("gan", 0.004))
    run = train_layered(data_dir, tmp_path / "once", _config("gan", 0.004))
    with pytest.raises(LayeredTrainingError, match="already holds snapshots"):
        train_layered(data_dir, tmp_path / "once", _config("gan", 0.008), resume=False)
    other = tmp_path / "other.safetensors"
    save_networks(other, {"G": torch.nn.Linear(2, 2)}, {"model": "dcgan"})
    with pytest.raises(CheckpointError, match="not a layered generator"):
        load_layered_generator(other)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(run.snapshot.read_bytes()[:1000])
    with pytest.raises(CheckpointError):
        load_layered_generator(broken)
