"""The layered generator through the same commands as every model: `seedgen train --model layered`, then
`seedgen generate` from its snapshot (soft edges as opacity), and `seedgen vectorize --method layers`."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from augment.palette import parse_palette
from augment.rasterize import render_svg_bytes
from augment.svg_source import parse_svg
from seedgen.cli import main
from seedgen.layered.model import load_layered_generator

LAYERED = ["--model", "layered", "--layers", "3", "--params", "4", "--batch", "2", "--device", "cpu", "--quiet"]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _seed_images(folder: Path, count: int = 6, size: int = 32) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    for i in range(count):
        image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(150, 255, 3)))
        x, y = (int(v) for v in rng.integers(2, size // 2, 2))
        ImageDraw.Draw(image).ellipse((x, y, x + size // 3, y + size // 3),
                                      fill=tuple(int(v) for v in rng.integers(0, 120, 3)))
        image.save(folder / f"seed{i}.png")
    return folder


@pytest.fixture(scope="module")
def layered_run(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("layered")
    data = _seed_images(root / "data")
    result = invoke("train", str(data), "-o", str(root / "run"), *LAYERED, "--kimg", "0.01", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "layered (gan, T=3, K=4)" in result.output
    return data, root / "run"


def _snapshots(run: Path) -> list[Path]:
    return sorted(run.glob("snapshot-*.safetensors"))


def test_train_model_layered_writes_a_loadable_snapshot_and_resumes(layered_run):
    data, run = layered_run
    first = _snapshots(run)[-1]
    generator = load_layered_generator(first, "cpu")
    assert (generator.config.layers, generator.config.params, generator.config.mode) == (3, 4, "gan")
    sidecar = json.loads(first.with_suffix(".json").read_text())
    assert sidecar["state"]["images"] >= 10
    grid = run / f"samples-{sidecar['state']['images']:010d}.png"  # fixed-noise samples beside the snapshot
    with Image.open(grid) as image:
        assert image.size == (4 * generator.config.resolution,) * 2

    result = invoke("train", str(data), "-o", str(run), *LAYERED, "--kimg", "0.02", "--seed", "3")
    assert result.exit_code == 0, result.output
    last = _snapshots(run)[-1]
    assert last != first  # resumed past the first snapshot, not started again
    assert json.loads(last.with_suffix(".json").read_text())["state"]["images"] >= 20


def test_train_layered_stops_at_the_requested_kimg(tmp_path):
    """A GAN step shows the critic n_critic (5) batches: with batch 4, --kimg 0.03 is one whole step (20 images)
    and one of 3 critic batches (12), not two whole steps (40): the run stops within one batch of 30 images."""
    data = _seed_images(tmp_path / "data", count=4)
    batch_4 = [arg if arg != "2" else "4" for arg in LAYERED]
    result = invoke("train", str(data), "-o", str(tmp_path / "run"), *batch_4, "--kimg", "0.03")
    assert result.exit_code == 0, result.output
    assert "0.032 kimg, 2 steps" in result.output
    state = json.loads(_snapshots(tmp_path / "run")[-1].with_suffix(".json").read_text())["state"]
    assert state["images"] == 32 and state["step"] == 2


def test_train_layered_recon_mode(tmp_path):
    data = _seed_images(tmp_path / "data", count=4)
    result = invoke("train", str(data), "-o", str(tmp_path / "run"), *LAYERED, "--mode", "recon", "--kimg", "0.004")
    assert result.exit_code == 0, result.output
    generator = load_layered_generator(_snapshots(tmp_path / "run")[-1], "cpu")
    assert generator.config.mode == "recon"
    grids = list((tmp_path / "run").glob("samples-*.png"))
    assert len(grids) == 1
    pixels = np.asarray(Image.open(grids[0]))
    half = 2 * generator.config.resolution  # top: training images, bottom: their reconstructions
    assert pixels[:half].std() > 10 and abs(pixels[:half].astype(float).mean() - pixels[half:].mean()) < 80


@pytest.mark.parametrize("args, code, message", [
    (["--layers", "3"], 2, "only with --model layered"),
    (["--model", "layered", "--gamma", "1"], 2, "--model layered does not use --gamma"),
    (["--model", "layered", "--set", "z_dim=8"], 2, "--model layered does not use --set"),
])
def test_train_layered_option_errors_are_one_line(tmp_path, args, code, message):
    data = _seed_images(tmp_path / "data", count=2)
    result = invoke("train", str(data), "-o", str(tmp_path / "run"), *args)
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output
    assert not list((tmp_path / "run").glob("snapshot-*"))


def test_train_layered_on_a_missing_folder_exits_2(tmp_path):
    """A missing input path is a usage error (seedgen.failure's rule)."""
    result = invoke("train", str(tmp_path / "nowhere"), "-o", str(tmp_path / "run"), *LAYERED, "--kimg", "0.004")
    assert result.exit_code == 2
    assert "nowhere" in result.output and "Traceback" not in result.output


def test_generate_from_the_trained_snapshot_exports_soft_edges_as_opacity(layered_run, tmp_path):
    _, run = layered_run
    model = str(_snapshots(run)[-1])
    result = invoke("generate", "--n", "1", "--model", model, "--svg", "--pdf", "--size", "128", "--seed", "1",
                    "--soft", "levels", "--quiet", "-o", str(tmp_path / "lib"))
    assert result.exit_code == 0, result.output
    svg = next((tmp_path / "lib").glob("*.svg")).read_bytes()
    opacities = [float(v) for v in re.findall(rb'fill-opacity="([0-9.]+)"', svg)]
    assert opacities and all(0 < v < 1 for v in opacities)  # the bands of each soft edge
    assert render_svg_bytes(svg, 64)[:, :, 3].min() >= 250  # the background still covers the canvas
    pdf = pikepdf.open(next((tmp_path / "lib").glob("*.pdf")))
    states = pdf.pages[0].Resources.ExtGState
    assert {round(float(s.ca), 3) for s in states.values()} & {round(v, 3) for v in opacities}

    hard = invoke("generate", "--n", "1", "--model", model, "--svg", "--size", "128", "--seed", "1", "--quiet",
                  "-o", str(tmp_path / "hard"))
    assert hard.exit_code == 0, hard.output
    assert b"fill-opacity" not in next((tmp_path / "hard").glob("*.svg")).read_bytes()


def test_generate_soft_needs_a_layered_model(tmp_path):
    result = invoke("generate", "--n", "1", "--soft", "mean", "--quiet", "-o", str(tmp_path / "lib"))
    assert result.exit_code == 2
    assert "needs a layered model" in result.output
    assert not (tmp_path / "lib").exists() or not list((tmp_path / "lib").glob("*.svg"))


def test_vectorize_method_layers_writes_layer_groups_snapped_to_a_palette(tmp_path):
    data = _seed_images(tmp_path / "in", count=1, size=48)
    junk = tmp_path / "in" / "notes.png"
    junk.write_text("not an image")
    out = tmp_path / "out"
    palette = "#f0e0c0,#202020,Brand Red=cmyk(0,90,80,0)"
    result = invoke("vectorize", str(data / "seed0.png"), str(junk), "-o", str(out), "--method", "layers",
                    "--layers", "3", "--params", "4", "--steps", "40", "--soft", "mean", "--palette", palette,
                    "--cmyk", "--quiet")
    assert result.exit_code == 1  # one bad file; the good one is still written
    assert f"{junk}: not an image" in result.output and "vectorize: 1 ok, 1 failed" in result.output
    root = parse_svg((out / "seed0.svg").read_bytes())
    groups = [g for g in root if g.tag.endswith("g")]
    assert len(groups) >= 2
    inks = {ink.name: ink.hex for ink in parse_palette(palette)}
    assert all(inks.get(g.get("data-name")) == g.get("fill") for g in groups), [(g.get("data-name"), g.get("fill"))
                                                                               for g in groups]
    sidecar = json.loads((out / "seed0.json").read_text())
    assert sidecar["config"]["method"] == "layers" and sidecar["config"]["layers"] == 3
    assert sidecar["metrics"]["see_through"] == 0
    pdf = pikepdf.open(out / "seed0.pdf")
    content = pdf.pages[0].Contents.read_bytes()
    assert b" rg" not in content  # --cmyk: no RGB fill left; a spot ink is a Separation colour space
    if any(g.get("data-name") == "Brand Red" for g in groups):
        assert "/Separation" in str(pdf.pages[0].Resources.get("/ColorSpace"))


def test_vectorize_method_layers_reproduces_an_image(tmp_path):
    data = _seed_images(tmp_path / "in", count=1, size=48)
    result = invoke("vectorize", str(data / "seed0.png"), "-o", str(tmp_path / "out"), "--method", "layers",
                    "--layers", "3", "--params", "4", "--steps", "150", "--svg")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "out" / "seed0.json").read_text())["metrics"]
    assert metrics["psnr"] > 20 and metrics["see_through"] == 0
    assert not (tmp_path / "out" / "seed0.pdf").exists()


@pytest.mark.parametrize("args, message", [
    (["--layers", "3"], "need --method layers"),
    (["--soft", "mean"], "need --method layers"),
    (["--method", "layers", "--colors", "4"], "--colors is for --method trace"),
])
def test_vectorize_layer_options_are_checked_before_any_work(tmp_path, args, message):
    data = _seed_images(tmp_path / "in", count=1)
    result = invoke("vectorize", str(data / "seed0.png"), "-o", str(tmp_path / "out"), *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists()


def test_vectorize_layers_shows_its_fitting_steps_unless_quiet(tmp_path):
    """A layered fit takes about 35 s an image: its steps show as a progress bar on stderr (issue 12)."""
    image = tmp_path / "seed.png"
    Image.fromarray((np.random.default_rng(0).random((24, 24, 3)) * 255).astype(np.uint8)).save(image)
    options = ["--method", "layers", "--layers", "2", "--params", "3", "--steps", "12"]
    loud = invoke("vectorize", str(image), "-o", str(tmp_path / "a"), *options)
    assert loud.exit_code == 0 and "fitting layers" in loud.stderr and "/12 " in loud.stderr  # of 12 steps
    quiet = invoke("vectorize", str(image), "-o", str(tmp_path / "b"), *options, "--quiet")
    assert quiet.exit_code == 0 and "fitting layers" not in quiet.stderr
