"""`seedgen dataset --native-crop`: crops cut from one render at the seed's own scale, pixel for pixel.

Small real SVG seeds with fine detail (1 px stripes, small circles) are rendered at 384 px on their long side:
every crop must be exactly the render's pixels (checked against a direct render), the same seed must give the
same bytes, a seed too small for the crop fails in one line while the others are written, and the options of
the other mode are refused as one-line usage errors.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from seed_fixtures import svg

from augment.dataset import DatasetConfig, build_dataset, crop_boxes
from augment.rasterize import composite_on, render_svg_bytes
from seedgen.cli import main

RENDER, CROP, CROPS, SEED = 384, 96, 3, 11


def stripes_seed() -> bytes:
    """1-unit black stripes on white, 384 units square: 1 px stripes at 384 px, greys if anything resamples."""
    bars = "".join(f'<rect x="{x}" width="1" height="384" fill="#000"/>' for x in range(0, 384, 2))
    return svg(f'<rect width="384" height="384" fill="#fff"/>{bars}', "0 0 384 384")


def dots_seed(width: int, height: int) -> bytes:
    """Small antialiased circles on an opaque ground, in a width x height viewBox."""
    dots = "".join(f'<circle cx="{x + 3.3}" cy="{y + 2.7}" r="2.2" fill="#c0392b"/>'
                   for x in range(0, width, 9) for y in range(0, height, 7))
    return svg(f'<rect width="{width}" height="{height}" fill="#1e3799"/>{dots}', f"0 0 {width} {height}")


SEEDS = {
    "stripes.svg": stripes_seed(),
    "wide.svg": dots_seed(400, 250),  # landscape: 384 x 240
    "tall/dots.svg": dots_seed(300, 400),  # portrait: 288 x 384, the long side is the height
    "strip.svg": dots_seed(1000, 40),  # 384 x 15: smaller than a 96 px crop
}
GOOD = {"stripes.svg": (384, 384), "wide.svg": (384, 240), "tall/dots.svg": (288, 384)}


def _write_seeds(folder: Path) -> Path:
    for name, data in SEEDS.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _args(seeds: Path, out: Path, *extra: str) -> list[str]:
    return ["dataset", str(seeds), "-o", str(out), "--native-crop", str(CROP), "--render-size", str(RENDER),
            "--crops", str(CROPS), "--seed", str(SEED), "--quiet", *extra]


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "RGB"
        return np.asarray(im)


@pytest.fixture(scope="module")
def native_run(tmp_path_factory):
    """One CLI run over the four seeds (the strip fails), its output folder and the CLI result."""
    root = tmp_path_factory.mktemp("native")
    seeds = _write_seeds(root / "seeds")
    out = root / "crops"
    result = CliRunner().invoke(main, _args(seeds, out))
    return seeds, out, result


def test_crops_are_native_size_and_the_manifest_names_the_mode(native_run):
    _, out, result = native_run
    manifest = json.loads((out / "dataset.json").read_text())
    assert manifest["mode"] == "native-crops"
    assert (manifest["render_size"], manifest["crop_size"]) == (RENDER, CROP)
    assert manifest["config"]["native_crop"] == CROP and manifest["config"]["render_size"] == RENDER
    assert "size" not in manifest["config"] and "zoom_range" not in manifest["config"]
    files = [entry["file"] for entry in manifest["images"]]
    assert files == [f"{name}.{i:02d}.png" for name in ("stripes.svg", "tall/dots.svg", "wide.svg")
                     for i in range(CROPS)]  # source order, though the portrait seed renders last
    for entry in manifest["images"]:
        render, crop = entry["render"], entry["crop"]
        assert (render["width"], render["height"]) == GOOD[entry["source"]]  # long side RENDER, own aspect
        assert crop["width"] == crop["height"] == CROP == entry["size"]
        assert 0 <= crop["x"] <= render["width"] - CROP and 0 <= crop["y"] <= render["height"] - CROP
        assert _png(out / entry["file"]).shape == (CROP, CROP, 3)
    boxes = [(e["crop"]["x"], e["crop"]["y"]) for e in manifest["images"]]
    assert len(set(boxes)) == len(boxes)  # random places, not one fixed window


def test_crops_are_the_render_pixels_unresampled(native_run):
    _, out, _ = native_run
    manifest = json.loads((out / "dataset.json").read_text())
    for entry in manifest["images"]:
        render, crop = entry["render"], entry["crop"]
        full = composite_on(render_svg_bytes(SEEDS[entry["source"]], render["width"], render["height"]))
        window = full[crop["y"]: crop["y"] + CROP, crop["x"]: crop["x"] + CROP]
        np.testing.assert_array_equal(_png(out / entry["file"]), window, err_msg=entry["file"])
    stripes = _png(out / "stripes.svg.01.png")
    assert {tuple(c) for c in stripes.reshape(-1, 3)} == {(0, 0, 0), (255, 255, 255)}  # 1 px bars stay crisp
    assert (stripes[:, 1:] != stripes[:, :-1]).all()


def test_a_seed_smaller_than_the_crop_fails_in_one_line_and_the_batch_goes_on(native_run):
    seeds, out, result = native_run
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"seedgen dataset: {seeds / 'strip.svg'}: its 384 x 15 px render is smaller than the 96 px crop "
        "(use a larger --render-size or a smaller --native-crop)",
        "seedgen dataset: 3 ok, 1 failed",
    ]
    manifest = json.loads((out / "dataset.json").read_text())
    assert [f["source"] for f in manifest["failures"]] == ["strip.svg"]
    assert not any(p.name.startswith("strip.svg") for p in out.iterdir())


def test_reruns_give_identical_files_and_never_overwrite(native_run, tmp_path):
    seeds, out, _ = native_run
    before = _tree_bytes(out)
    config = DatasetConfig(native_crop=CROP, render_size=RENDER, crops=CROPS, seed=SEED, jobs=1)
    build_dataset(seeds, tmp_path / "again", config)
    assert _tree_bytes(tmp_path / "again") == before
    runner = CliRunner()
    refused = runner.invoke(main, _args(seeds, out))
    assert refused.exit_code == 1 and "dataset.json: already exists (use --overwrite" in refused.stderr
    (out / "dataset.json").unlink()  # without the manifest, each seed's existing crops still refuse
    partial = runner.invoke(main, _args(seeds, out))
    assert partial.exit_code == 1 and "stripes.svg.00.png: already exists" in partial.stderr
    forced = runner.invoke(main, _args(seeds, out, "--overwrite"))
    assert forced.exit_code == 1  # the strip still fails
    assert _tree_bytes(out) == before


def test_crop_places_come_from_the_seed_and_the_file_name():
    config = DatasetConfig(native_crop=64, render_size=256, crops=4, seed=3)
    boxes = crop_boxes(256, 200, config, "a/b.svg")
    assert boxes == crop_boxes(256, 200, config, "a/b.svg")
    assert boxes != crop_boxes(256, 200, config, "a/c.svg")
    assert boxes != crop_boxes(256, 200, DatasetConfig(native_crop=64, render_size=256, crops=4, seed=4), "a/b.svg")
    assert all(b.side == 64 and 0 <= b.x <= 192 and 0 <= b.y <= 136 for b in boxes)


def test_the_sandbox_memory_grows_with_large_renders_only_when_not_given():
    assert DatasetConfig().worker_memory_mb() == 1024
    assert DatasetConfig(native_crop=128, render_size=2048).worker_memory_mb() == 1024
    assert DatasetConfig(native_crop=128, render_size=4096).worker_memory_mb() == 1152
    assert DatasetConfig(native_crop=128, render_size=4096, memory_mb=512).worker_memory_mb() == 512


@pytest.mark.parametrize("extra, message", [
    (["--native-crop", "64", "--size", "128"], "--size: not with --native-crop"),
    (["--native-crop", "64", "--zoom-range", "1,2"], "--zoom-range: not with --native-crop"),
    (["--render-size", "512"], "--render-size: only with --native-crop"),
    (["--native-crop", "600", "--render-size", "512"], "native crop (600 px) is larger than the render (512 px)"),
    (["--native-crop", "16"], "--native-crop: 16 is not in the range 32<=x<=1024"),
    (["--native-crop", "64", "--render-size", "8192"], "--render-size: 8192 is not in the range 256<=x<=4096"),
])
def test_usage_errors_are_one_line(tmp_path, extra, message):
    seeds = _write_seeds(tmp_path / "seeds")
    result = CliRunner().invoke(main, ["dataset", str(seeds), "-o", str(tmp_path / "out"), *extra])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("seedgen dataset: ") and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


def test_the_resized_mode_manifest_is_unchanged(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "stripes.svg").write_bytes(stripes_seed())
    manifest = build_dataset(seeds, tmp_path / "out", DatasetConfig(size=16))
    assert "mode" not in manifest and manifest["render_side"] == 16
    assert set(manifest["config"]) == {"size", "crops", "zoom_range", "seed", "background", "timeout_s",
                                       "memory_mb", "max_render_px"}
    assert manifest["config"]["memory_mb"] == 1024
