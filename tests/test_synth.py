"""Procedural seeds: every style renders full-bleed with 5-12 inks and no text, the same seed gives the same
bytes, the CLI writes what it says, and the shipped samples are exactly what samples/README.md's command makes."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from augment.rasterize import render_svg_bytes
from augment.svg_source import SVG_NS, parse_svg
from seedgen.cli import main
from seedgen.synth import CORE_STYLES, STYLES, parse_styles, seed_rng, synthesize_seed
from seedgen.synth.harmony import HARMONIES, MAX_INKS, MIN_INKS, harmonious_palette

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")


def _inks(svg: str) -> set[str]:
    return {h.lower() for h in _HEX.findall(svg)}


def _coarse_colours(rgb: np.ndarray, share: float) -> int:
    """Colours (in 16-level bins) that each cover at least `share` of the image."""
    q = rgb.reshape(-1, 3).astype(int) // 16
    counts = np.bincount(q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2])
    return int((counts >= share * len(q)).sum())


def test_at_least_eight_styles():
    assert len(STYLES) >= 8 and len(set(STYLES)) == len(STYLES)
    for wanted in ("geometric", "memphis", "waves", "blobs", "stained-glass", "truchet", "rings", "plaid"):
        assert wanted in STYLES
    assert CORE_STYLES == STYLES[:8]


@pytest.mark.parametrize("style", STYLES)
def test_style_is_full_bleed_colourful_and_textless(style):
    for seed in (0, 1):
        svg = synthesize_seed(style, np.random.default_rng(seed), 96)
        root = parse_svg(svg.encode())  # the safe reader accepts it
        assert root.get("width") == "96" and root.get("height") == "96"
        tags = {el.tag.split("}")[-1] for el in root.iter()}
        assert not tags & {"text", "tspan", "textPath", "image", "foreignObject"}, tags
        assert all(el.tag.startswith(f"{{{SVG_NS}}}") for el in root.iter())
        inks = _inks(svg)
        assert MIN_INKS <= len(inks) <= MAX_INKS, (style, seed, inks)
        image = render_svg_bytes(svg.encode(), 96, 96)
        assert image[..., 3].min() >= 250, f"{style}/{seed}: transparent pixels"
        assert _coarse_colours(image[..., :3], 0.005) >= 5, f"{style}/{seed}: fewer than 5 colours show"


@pytest.mark.parametrize("style", STYLES)
def test_same_seed_same_bytes(style):
    first = synthesize_seed(style, np.random.default_rng(11), 256)
    again = synthesize_seed(style, np.random.default_rng(11), 256)
    other = synthesize_seed(style, np.random.default_rng(12), 256)
    assert first == again
    assert first != other
    # size only sets width and height: the drawing (in its 1000-unit viewBox) is the same
    bigger = synthesize_seed(style, np.random.default_rng(11), 2048)
    assert bigger.replace('height="2048"', "").replace('width="2048"', "") == first.replace(
        'height="256"', ""
    ).replace('width="256"', "")


def test_content_reaches_past_the_edges():
    # turned waves and stripes would leave corners bare if they were drawn only over the canvas
    for style in ("waves", "plaid", "blobs", "memphis"):
        for seed in range(4):
            svg = synthesize_seed(style, np.random.default_rng(seed), 64)
            numbers = [float(v) for v in re.findall(r"(?<![#\w.])-\d+(?:\.\d+)?", svg)]
            assert numbers and min(numbers) < 0, f"{style}/{seed}: nothing drawn past the top/left edge"


def test_palettes_follow_every_harmony():
    for harmony in HARMONIES:
        for count in (MIN_INKS, 8, MAX_INKS):
            palette = harmonious_palette(np.random.default_rng(count), count, harmony)
            assert len(set(palette.inks)) == count and palette.harmony == harmony
    with pytest.raises(ValueError):
        harmonious_palette(np.random.default_rng(0), 13)


def test_parse_styles():
    assert parse_styles("all") == STYLES
    assert parse_styles("waves, rings") == ("waves", "rings")
    with pytest.raises(ValueError, match="nope"):
        parse_styles("waves,nope")


def test_cli_writes_seeds_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "synth"
    runner = CliRunner()
    args = ["synth", "-n", "4", "-o", str(out), "--style", "waves,rings", "--seed", "2", "--size", "64", "--quiet"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["rings-001.svg", "rings-003.svg", "synth.json", "waves-000.svg", "waves-002.svg"]
    assert (out / "waves-002.svg").read_text() == synthesize_seed("waves", seed_rng(2, 2, "waves"), 64)
    manifest = json.loads((out / "synth.json").read_text())
    assert [s["style"] for s in manifest["seeds"]] == ["waves", "rings", "waves", "rings"]
    assert all(MIN_INKS <= len(s["inks"]) <= MAX_INKS for s in manifest["seeds"])

    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "already exists" in again.stderr and "--overwrite" in again.stderr
    assert runner.invoke(main, args + ["--overwrite"]).exit_code == 0

    bad = runner.invoke(main, ["synth", "-n", "1", "-o", str(tmp_path / "x"), "--style", "nope"])
    assert bad.exit_code == 2 and "nope" in bad.output + bad.stderr
    assert not (tmp_path / "x").exists()
    assert "Example" in runner.invoke(main, ["synth", "--help"]).output


def test_samples_are_what_the_readme_command_makes(tmp_path):
    readme = (SAMPLES / "README.md").read_text()
    lines = [line for line in readme.splitlines() if line.startswith("seedgen synth ")]
    assert len(lines) == 1, "samples/README.md must give the one command that made the samples"
    args = shlex.split(lines[0])[1:]
    assert args[args.index("-o") + 1] == "samples"
    out = tmp_path / "again"
    args[args.index("-o") + 1] = str(out)
    shipped = sorted(SAMPLES.glob("*.svg"))
    assert len(shipped) == 48
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 3 * 1024 * 1024
    result = CliRunner().invoke(main, args + ["--quiet"])
    assert result.exit_code == 0, result.output
    for path in shipped:
        assert (out / path.name).read_bytes() == path.read_bytes(), f"{path.name} differs: regenerate samples/"
    assert (out / "synth.json").read_bytes() == (SAMPLES / "synth.json").read_bytes()
    styles = {p.name.rsplit("-", 1)[0] for p in shipped}
    assert styles == set(CORE_STYLES)
