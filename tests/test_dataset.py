"""`seedgen dataset`: the shipped samples rasterized into square PNG crops, checked against real renders; the
manifest, determinism, bad files, alpha flattening and the no-overwrite rule."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from augment.dataset import DatasetConfig, build_dataset, render_side, sample_crops, source_rng
from augment.output import OutputExists
from augment.rasterize import render_svg_bytes
from seedgen.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + ']><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><desc>&j;</desc></svg>'
)


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "RGB"
        return np.asarray(im)


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def samples_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "samples"
    config = DatasetConfig(size=32, crops=3, zoom_range=(1.5, 3.0), seed=5, jobs=2)
    manifest = build_dataset(SAMPLES, out, config)
    return out, config, manifest


def test_samples_become_square_rgb_crops(samples_dataset):
    out, config, manifest = samples_dataset
    svgs = sorted(p.name for p in SAMPLES.glob("*.svg"))
    assert len(svgs) == 48 and manifest["failures"] == []
    assert json.loads((out / "dataset.json").read_text()) == manifest
    images = manifest["images"]
    assert len(images) == 48 * 3
    assert sorted({e["source"] for e in images}) == svgs
    side = render_side(config)
    assert side == 96  # 32 px at the deepest zoom (3x) still has native pixels
    for entry in images:
        crop, render = entry["crop"], entry["render"]
        assert entry["size"] == 32 and crop["width"] == crop["height"]
        assert 0 <= crop["x"] and crop["x"] + crop["width"] <= render["width"]
        assert 0 <= crop["y"] and crop["y"] + crop["height"] <= render["height"]
        assert _png(out / entry["file"]).shape == (32, 32, 3)
        if entry["file"].endswith(".00.png"):  # crop 0: the centred full square
            assert crop["zoom"] == 1.0 and crop["width"] == min(render["width"], render["height"])
        else:
            assert 1.5 - 0.05 <= crop["zoom"] <= 3.0 + 0.05


def test_crops_match_a_direct_render(samples_dataset):
    out, config, manifest = samples_dataset
    for entry in manifest["images"][:6]:
        render = entry["render"]
        full = render_svg_bytes((SAMPLES / entry["source"]).read_bytes(), render["width"], render["height"])
        c = entry["crop"]
        window = full[c["y"] : c["y"] + c["height"], c["x"] : c["x"] + c["width"], :3]
        expected = np.asarray(Image.fromarray(window).resize((32, 32), Image.LANCZOS)).astype(int)
        got = _png(out / entry["file"]).astype(int)
        assert np.abs(got - expected).mean() < 2.0, entry["file"]


def test_same_seed_same_bytes_other_seed_other_crops(samples_dataset, tmp_path):
    out, config, _ = samples_dataset
    subset = tmp_path / "subset"
    subset.mkdir()
    for name in ("waves-002.svg", "rings-006.svg", "truchet-013.svg"):
        shutil.copy(SAMPLES / name, subset / name)
    one = build_dataset(subset, tmp_path / "one", config)
    two = build_dataset(subset, tmp_path / "two", DatasetConfig(**{**config.__dict__, "jobs": 1}))
    assert _tree_bytes(tmp_path / "one") == _tree_bytes(tmp_path / "two")
    # a file's crops depend on the seed and its own path only: the same as in the 48-seed run
    for name in ("waves-002.svg.01.png", "rings-006.svg.02.png"):
        assert (tmp_path / "one" / name).read_bytes() == (out / name).read_bytes()
    other = build_dataset(subset, tmp_path / "three", DatasetConfig(**{**config.__dict__, "seed": 6}))
    boxes = lambda m: [e["crop"] for e in m["images"]]  # noqa: E731
    assert boxes(one)[0] == boxes(other)[0] and boxes(one) != boxes(other)
    assert one["images"] == two["images"]


def test_sample_crops_stay_inside_the_canvas():
    rng = source_rng(0, "x.svg")
    boxes = sample_crops(300, 200, 50, (1.0, 4.0), rng)
    assert boxes[0].x == 50 and boxes[0].y == 0 and boxes[0].side == 200
    for box in boxes:
        assert 0 <= box.x <= 300 - box.side and 0 <= box.y <= 200 - box.side
        assert 50 <= box.side <= 200


def test_cli_reports_bad_files_and_never_overwrites(tmp_path):
    seeds = tmp_path / "seeds"
    (seeds / "more").mkdir(parents=True)
    shutil.copy(SAMPLES / "geometric-000.svg", seeds / "geometric-000.svg")
    shutil.copy(SAMPLES / "blobs-003.svg", seeds / "more" / "blobs-003.svg")
    Image.new("RGB", (60, 40), (10, 200, 30)).save(seeds / "photo.png")
    (seeds / "broken.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect')
    (seeds / "bomb.svg").write_text(ENTITY_BOMB)
    (seeds / "fake.pdf").write_text("not a pdf")
    (seeds / "notes.txt").write_text("ignored: not a seed type")
    out = tmp_path / "data"
    args = ["dataset", str(seeds), "-o", str(out), "--size", "24", "--crops", "2", "--seed", "3", "--quiet"]
    runner = CliRunner()
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    bad = [line for line in lines if not line.startswith("seedgen dataset: 3 ok")]
    assert len(bad) == 3
    assert any(line.startswith(f"seedgen dataset: {seeds / 'broken.svg'}: ") for line in bad)
    assert any(line.startswith(f"seedgen dataset: {seeds / 'bomb.svg'}: ") and "entity" in line for line in bad)
    assert any(line.startswith(f"seedgen dataset: {seeds / 'fake.pdf'}: ") and "not an SVG" in line for line in bad)
    assert lines[-1] == "seedgen dataset: 3 ok, 3 failed"
    manifest = json.loads((out / "dataset.json").read_text())
    files = sorted(e["file"] for e in manifest["images"])
    assert files == ["geometric-000.svg.00.png", "geometric-000.svg.01.png", "more/blobs-003.svg.00.png",
                     "more/blobs-003.svg.01.png", "photo.png.00.png", "photo.png.01.png"]
    assert {f["source"] for f in manifest["failures"]} == {"broken.svg", "bomb.svg", "fake.pdf"}
    assert tuple(_png(out / "photo.png.00.png")[12, 12]) == (10, 200, 30)

    before = _tree_bytes(out)
    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "already exists (use --overwrite" in again.stderr
    assert _tree_bytes(out) == before
    (out / "dataset.json").unlink()  # even without the manifest, existing PNGs are not replaced
    partial = runner.invoke(main, args)
    assert partial.exit_code == 1 and "photo.png.00.png: already exists" in partial.stderr
    forced = runner.invoke(main, args + ["--overwrite"])
    assert forced.exit_code == 1  # the bad files still fail; the good ones are written again
    assert _tree_bytes(out) == before


def test_alpha_is_flattened_on_white_or_the_seed_background(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "hole.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        '<path d="M0 0H40V40H0ZM10 10V30H30V10Z" fill="#336699" fill-rule="evenodd"/></svg>'
    )
    build_dataset(seeds, tmp_path / "white", DatasetConfig(size=40))
    build_dataset(seeds, tmp_path / "auto", DatasetConfig(size=40, background="auto"))
    white, auto = _png(tmp_path / "white" / "hole.svg.00.png"), _png(tmp_path / "auto" / "hole.svg.00.png")
    assert tuple(white[20, 20]) == (255, 255, 255) and tuple(white[2, 2]) == (0x33, 0x66, 0x99)
    assert tuple(auto[20, 20]) == (0x33, 0x66, 0x99)


def test_usage_errors(tmp_path):
    runner = CliRunner()
    seeds = str(SAMPLES)
    for extra in (["--zoom-range", "3,1"], ["--zoom-range", "x"], ["--size", "4"], ["--background", "nocolour"]):
        result = runner.invoke(main, ["dataset", seeds, "-o", str(tmp_path / "d"), *extra])
        assert result.exit_code == 2, (extra, result.output)
    assert not (tmp_path / "d").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["dataset", str(empty), "-o", str(tmp_path / "d2")])
    assert result.exit_code == 2 and "no seeds found" in result.stderr  # an empty folder: usage
    assert "Example" in runner.invoke(main, ["dataset", "--help"]).output
    with pytest.raises(OutputExists):
        (tmp_path / "d3").mkdir()
        (tmp_path / "d3" / "dataset.json").write_text("{}")
        build_dataset(SAMPLES, tmp_path / "d3", DatasetConfig(size=16))
