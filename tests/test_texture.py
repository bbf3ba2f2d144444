"""The texture family (PSGAN): training on crops, exact resume, any size in windows, seamless tiles, morphs,
guided mosaics (GANosaic), and the generate options that drive them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from seedgen.checkpoint import load_snapshot
from seedgen.cli import main
from seedgen.generation.seed_model import load_seed_model
from seedgen.texture.guide import Guide, kde_texture_loss
from seedgen.texture.model import CELL_PX, TextureModelConfig
from seedgen.texture.sampling import morph_weights
from seedgen.texture.training import TextureConfig, train_texture

TINY_MODEL = TextureModelConfig(global_dim=8, local_dim=4, periodic_dim=2, width=4, d_width=8, wave_hidden=8,
                                palette=4, d_norm="batch")          # as the presets: palette head, BatchNorm D
RGB_MODEL = TextureModelConfig(global_dim=8, local_dim=4, periodic_dim=2, width=4, d_width=8, wave_hidden=8)


def _stripes(folder: Path, count: int = 4, size: int = 256) -> Path:
    """Seeds with shapes at their own scale: diagonal stripes and dots in a few flat colours."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for i in range(count):
        colours = rng.integers(0, 256, (3, 3))
        image = np.empty((size, size, 3), np.uint8)
        image[:] = colours[0]
        image[((xx + yy + 7 * i) // 12) % 2 == 0] = colours[1]
        image[((xx % 32 - 16) ** 2 + (yy % 32 - 16) ** 2) < 40] = colours[2]
        Image.fromarray(image).save(folder / f"seed{i}.png")
    return folder


def _config(**changes) -> TextureConfig:
    values = dict(model=TINY_MODEL, crop=64, batch=2, kimg=0.008, snap_kimg=0.004, device="cpu", bn_batches=2)
    return TextureConfig(**{**values, **changes})


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("texture")
    before = torch.get_num_threads()
    torch.set_num_threads(1)       # as the tests run (conftest): the split run below must match it bit for bit
    try:
        train_texture(_stripes(root / "data"), root / "run", _config())
    finally:
        torch.set_num_threads(before)
    return root / "run"


def _states_equal(a: Path, b: Path) -> None:
    sa, sb = load_snapshot(a), load_snapshot(b)
    for net in ("G", "D", "G_ema"):
        assert all(torch.equal(v, sb.networks[net][k]) for k, v in sa.networks[net].items()), net
    for opt in ("G", "D"):
        for index, entry in sa.optimizers[opt]["state"].items():
            assert all(torch.equal(v, sb.optimizers[opt]["state"][index][k]) for k, v in entry.items()), opt


def test_training_writes_snapshots_and_a_split_run_equals_a_whole_one(tiny_run: Path, tmp_path: Path) -> None:
    names = sorted(p.name for p in tiny_run.iterdir())
    assert "snapshot-0000000008.safetensors" in names and "samples-0000000008.png" in names
    snap = load_snapshot(tiny_run / "snapshot-0000000008")
    assert snap.config["model"] == "texture" and snap.config["texture"]["width"] == 4
    assert snap.state["images"] == 8 and snap.state["train_seconds"] > 0
    assert Image.open(tiny_run / "samples-0000000008.png").size == (4 * 8 * CELL_PX, 8 * CELL_PX)
    data = tiny_run.parent / "data"
    train_texture(data, tmp_path / "split", _config(kimg=0.004))
    train_texture(data, tmp_path / "split", _config())          # the same folder again: continues
    _states_equal(tiny_run / "snapshot-0000000008", tmp_path / "split" / "snapshot-0000000008")


def test_train_command_texture_with_the_projected_d_and_a_minutes_budget(tmp_path: Path) -> None:
    data = _stripes(tmp_path / "data")
    runner = CliRunner()
    args = ["train", str(data), "-o", str(tmp_path / "run"), "--model", "texture", "--crop", "64", "--batch", "2",
            "--d", "projected", "--device", "cpu", "--quiet"]
    result = runner.invoke(main, [*args, "--kimg", "0.004"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "texture (small, projected D, 64 px crops)" in result.stdout
    snap = load_snapshot(sorted((tmp_path / "run").glob("snapshot-*.safetensors"))[-1])
    assert snap.config["networks"]["D"]["class"] == "seedgen.projected_discriminator.ProjectedDiscriminator"
    assert snap.config["texture"]["palette"] == 8 and snap.config["networks"]["G"]["kwargs"]["palette"] == 8   # CPU recipe
    result = runner.invoke(main, [*args, "--minutes", "0.01"], catch_exceptions=False)   # budget already spent
    assert result.exit_code == 0 and "stopped at the 0.01-minute budget" in result.stdout
    refused = runner.invoke(main, ["train", str(data), "-o", str(tmp_path / "run"), "--model", "texture",
                                   "--crop", "64", "--batch", "2", "--kimg", "0.008"])
    assert refused.exit_code == 2 and "was trained with --d projected" in refused.stderr
    wrong = runner.invoke(main, ["train", str(data), "-o", str(tmp_path / "x"), "--model", "texture",
                                 "--gamma", "1"])
    assert wrong.exit_code == 2 and "--model texture does not use --gamma" in wrong.stderr


def test_rgb_head_and_spectral_d_checkpoints_still_train_resume_and_draw(tmp_path: Path) -> None:
    """The paper's RGB head with the spectral-norm D: what checkpoints before the palette head hold."""
    data = _stripes(tmp_path / "data")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_texture(data, tmp_path / "whole", _config(model=RGB_MODEL))
        train_texture(data, tmp_path / "split", _config(model=RGB_MODEL, kimg=0.004))
        train_texture(data, tmp_path / "split", _config(model=RGB_MODEL))
    finally:
        torch.set_num_threads(before)
    _states_equal(tmp_path / "whole" / "snapshot-0000000008", tmp_path / "split" / "snapshot-0000000008")
    snap = load_snapshot(tmp_path / "whole" / "snapshot-0000000008")
    assert "palette" not in snap.config["networks"]["G"]["kwargs"] and "norm" not in snap.config["networks"]["D"]["kwargs"]
    assert any("weight_orig" in k or "parametrizations" in k for k in snap.networks["D"])   # spectral norm
    old = {k: v for k, v in snap.config["texture"].items() if k not in ("palette", "d_norm")}
    assert TextureModelConfig.from_json(old) == RGB_MODEL     # a config written before the options: RGB, spectral
    model = load_seed_model(tmp_path / "whole")
    model.use_texture(160)
    z = model.noise([2])
    model.sampler.chunk_cells = 2
    windows = model.images(z)
    model.sampler.chunk_cells = 100
    assert np.abs(windows.astype(int) - model.images(z).astype(int)).max() <= 1


def test_the_palette_head_paints_with_its_own_colours(tiny_run: Path) -> None:
    """Every pixel is a softmax mix of the K colours Z^g gives its cell; made sharp, each pixel is one of them."""
    model = load_seed_model(tiny_run)
    model.use_texture(192)
    G = model.sampler.generator
    assert G.palette == 4
    field = model.sampler.field(model.noise([7])[0])
    with torch.no_grad():
        G.log_sharpness.fill_(12.0)     # logits x e^12: the softmax picks one colour a pixel
        image = G.draw(field)[0]        # (3, H, W) in [-1, 1]
        colours = G.cell_colours(field.global_field)[0, :, :, 0, 0]   # constant Z^g: one palette, (3, K)
    pixels = image.permute(1, 2, 0).reshape(-1, 1, 3)
    nearest = (pixels - colours.T.view(1, 4, 3)).abs().amax(-1).min(-1).values
    # only a pixel where two logits cross within e^-12 of each other may mix two colours
    assert (nearest < 2 / 255).float().mean() > 0.995, nearest.max()
    used = (pixels - colours.T.view(1, 4, 3)).abs().amax(-1).argmin(-1).unique()
    assert used.numel() >= 2                        # the logits still choose among the colours per place


# ------------------------------------------------------------------------------------------------
# Drawing.


def test_any_size_in_windows_equals_drawing_at_once(tiny_run: Path) -> None:
    model = load_seed_model(tiny_run)
    model.use_texture(300)
    z = model.noise([11])
    model.sampler.chunk_cells = 3
    windows = model.images(z)
    model.sampler.chunk_cells = 100
    whole = model.images(z)
    assert windows.shape == (1, 300, 300, 3)
    diff = np.abs(windows.astype(int) - whole.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.01          # float rounding only
    sampler = model.sampler                                 # bytes made window by window = bytes of the float image
    with torch.no_grad():
        floats = (sampler.generator.draw(sampler.field(z[0]), 3) + 1) / 2
    expected = (floats[0, :, :300, :300].permute(1, 2, 0) * 255 + 0.5).clamp(0, 255).to(torch.uint8).numpy()
    assert np.array_equal(windows[0], expected)


def _adjacent_differences(image: np.ndarray, axis: int) -> np.ndarray:
    """Mean absolute difference between each line and the next one, wrapping round (the last is the seam)."""
    x = image.astype(float)
    return np.abs(np.roll(x, -1, axis=axis) - x).mean(axis=(1 - axis, 2))


def _seam_rank(image: np.ndarray, axis: int) -> float:
    """The share of interior line pairs that differ less than the seam pair (0.5: typical; ~1: a seam)."""
    diffs = _adjacent_differences(image, axis)
    return float((diffs[:-1] < diffs[-1]).mean())


def test_tiles_repeat_without_a_seam_and_plain_seeds_have_one(tiny_run: Path) -> None:
    model = load_seed_model(tiny_run)
    model.use_texture(256, tile=True)
    tiles = model.images(model.noise(list(range(8))))
    model.use_texture(256, tile=False)
    plain = model.images(model.noise(list(range(8))))
    tile_ranks = [_seam_rank(t, axis) for t in tiles for axis in (0, 1)]
    plain_ranks = [_seam_rank(t, axis) for t in plain for axis in (0, 1)]
    # the wrap-round line pair of a tile is an ordinary one; that of an untiled seed is among the most different
    assert np.mean(tile_ranks) < 0.8 and max(tile_ranks) < 0.99, tile_ranks
    assert np.mean(plain_ranks) > 0.9, plain_ranks


def test_morph_weights_blend_smoothly_and_wrap_on_tiles() -> None:
    for k in (2, 3, 4):
        w = morph_weights(k, 16, 16, tile=False)
        assert torch.allclose(w.sum(0), torch.ones(16, 16))
        assert w.argmax(0).unique().numel() == k               # every texture has its own region
        assert (w[:, :, 1:] - w[:, :, :-1]).abs().max() < 0.35   # no jumps between neighbouring cells
    tiled = morph_weights(2, 16, 16, tile=True)
    assert torch.allclose(tiled[:, :, 0], tiled[:, :, -1], atol=0.2)   # the torus: edges meet
    two = morph_weights(2, 16, 16, tile=False)
    assert two[0, :, 0].mean() > 0.9 and two[1, :, -1].mean() > 0.9    # left texture 0, right texture 1


def test_guides_echo_the_image_and_optimizing_fits_it_closer(tiny_run: Path) -> None:
    guide_image = np.zeros((64, 64, 3), np.uint8)
    guide_image[:, :32] = (230, 40, 40)
    guide_image[:, 32:] = (30, 60, 220)
    model = load_seed_model(tiny_run)
    z = model.noise([5])
    losses = {}
    for method in ("quick", "optimize"):
        model.use_texture(128, guide=Guide(guide_image, strength=0.9, method=method, steps=15, lr=0.1))
        model.images(z)
        report = model.sampler.report(z[0])
        assert report["method"] == method and report["seconds"] > 0
        losses[method] = report["content_loss"]
    assert losses["optimize"] < losses["quick"], losses
    local = torch.randn(1, 4, 8, 8)
    prior = torch.randn(256, 4)
    assert kde_texture_loss(local, prior) < kde_texture_loss(local * 4 + 3, prior)   # far from the prior costs


def test_generate_draws_texture_seeds_as_tiles_morphs_and_mosaics(tiny_run: Path, tmp_path: Path) -> None:
    guide = tmp_path / "guide.png"
    array = np.zeros((64, 64, 3), np.uint8)
    array[16:48, 16:48] = 255
    Image.fromarray(array).save(guide)
    runner = CliRunner()
    for name, extra in (("tile", ["--tile"]), ("morph", ["--morph", "2"]), ("guide", ["--guide", str(guide)])):
        out = tmp_path / name
        result = runner.invoke(main, ["generate", "--n", "2", "--png", "--svg", "--size", "96", "--model",
                                      str(tiny_run), "--seed", "3", "-o", str(out), "--quiet", *extra],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        record = json.loads((out / "s3-000.json").read_text())["texture"]
        assert record["px"] == 96 and record["tile"] == (name == "tile") and record["morph"] == (2 if name == "morph" else 1)
        if name == "guide":
            assert record["guide"]["method"] == "quick" and record["guide"]["content_loss"] >= 0
        assert (out / "s3-001.svg").is_file()
        if name == "tile":   # the vector tile (rendered back by generate as the PNG preview) repeats too
            assert (out / "s3-000.pattern.svg").is_file()
            for seed in ("s3-000", "s3-001"):
                preview = np.asarray(Image.open(out / f"{seed}.png").convert("RGB"))
                assert max(_seam_rank(preview, 0), _seam_rank(preview, 1)) < 0.99
    refused = runner.invoke(main, ["generate", "--n", "1", "--tile", "--model", str(tiny_run), "--like",
                                   str(guide), "--guide", str(guide), "-o", str(tmp_path / "no")])
    assert refused.exit_code == 2 and "use --guide or --like/--mix" in refused.stderr
