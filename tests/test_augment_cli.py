"""`seedgen augment` end to end: good seeds multiplied, bad ones reported in one line, bytes reproducible."""
from __future__ import annotations

import json
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner
from seed_fixtures import entity_bomb, full_rect_seed, halves_seed, rgb_pdf, svg, write

from augment.augment_run import AugmentConfig, augment_library, find_seeds
from augment.palette import parse_palette
from augment.pdf_seed import PdfSeed
from augment.rasterize import render_svg_bytes
from augment.recolour import seed_palette
from augment.svg_source import parse_svg
from seedgen.batch import BatchReport
from seedgen.cli import main

GOOD = ["plain.svg", "nested/halves.svg", "nested/deeper/page.pdf"]
BAD = ["nested/broken.svg", "bomb.svg"]


def library(root: Path) -> Path:
    lib = root / "seeds"
    write(lib / "plain.svg", full_rect_seed())
    write(lib / "nested" / "halves.svg", halves_seed())
    write(lib / "nested" / "deeper" / "page.pdf", rgb_pdf())
    write(lib / "nested" / "broken.svg", b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><rect')
    write(lib / "bomb.svg", entity_bomb())
    write(lib / "notes.txt", b"not a seed")
    return lib


def run(*args: str) -> "CliRunner.invoke":
    return CliRunner().invoke(main, ["augment", *args], catch_exceptions=False)


def outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_batch_reports_bad_files_and_writes_the_good_ones(tmp_path):
    lib, out = library(tmp_path), tmp_path / "out"
    result = run(str(lib), "--variants", "3", "-o", str(out), "--quiet")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    for bad in BAD:
        matching = [line for line in lines if line.startswith(f"seedgen augment: {lib / bad}: ")]
        assert len(matching) == 1, (bad, lines)
    assert any("entity bomb" in line for line in lines)
    assert lines[-1] == "seedgen augment: 3 ok, 2 failed"
    assert "Traceback" not in result.output
    files = outputs(out)
    expected = {f"{Path(g).with_suffix('').as_posix()}_v{i:03d}{Path(g).suffix}" for g in GOOD for i in range(3)}
    assert set(files) == expected | {"manifest.json"}
    manifest = json.loads(files["manifest.json"])
    assert len(manifest["variants"]) == 9 and len(manifest["failures"]) == 2
    for record in manifest["variants"]:
        keys = {"output", "source", "angle", "zoom", "offset", "canvas", "recolour", "colour_map", "scale"}
        assert keys <= set(record)
        data = files[record["output"]]
        if record["output"].endswith(".svg"):
            assert render_svg_bytes(data, 32)[..., 3].min() >= 250
        else:
            assert PdfSeed(data).rect.width == 768  # 1024 px at 0.75 pt per px


def test_existing_outputs_are_kept_unless_overwrite(tmp_path):
    lib, out = library(tmp_path), tmp_path / "out"
    run(str(lib), "-n", "2", "-o", str(out), "--quiet")
    before = outputs(out)
    again = run(str(lib), "-n", "2", "-o", str(out), "--quiet")
    assert again.exit_code == 1
    assert "already exists" in again.stderr and "--overwrite" in again.stderr
    assert outputs(out) == before
    # without the manifest, each seed whose variant exists is reported, and nothing is replaced
    (out / "manifest.json").unlink()
    (out / "plain_v000.svg").write_bytes(b"edited by hand")
    partial = run(str(lib), "-n", "2", "-o", str(out), "--quiet")
    assert partial.exit_code == 1
    assert f"{lib / 'plain.svg'}: " in partial.stderr and "plain_v000.svg: already exists" in partial.stderr
    assert (out / "plain_v000.svg").read_bytes() == b"edited by hand"
    forced = run(str(lib), "-n", "2", "-o", str(out), "--quiet", "--overwrite")
    assert forced.exit_code == 1  # the broken seeds still fail
    assert outputs(out) == before


def test_same_seed_same_bytes_and_other_files_do_not_disturb(tmp_path):
    lib = library(tmp_path)
    run(str(lib), "-n", "2", "-o", str(tmp_path / "a"), "--seed", "5", "-q")
    run(str(lib), "-n", "2", "-o", str(tmp_path / "b"), "--seed", "5", "-q")
    first, second = outputs(tmp_path / "a"), outputs(tmp_path / "b")
    assert first == second
    run(str(lib), "-n", "2", "-o", str(tmp_path / "c"), "--seed", "6", "-q")
    other = outputs(tmp_path / "c")
    assert all(first[name] != other[name] for name in first if name != "manifest.json")
    write(lib / "aardvark.svg", halves_seed())  # a new seed sorted first must not shift the others
    run(str(lib), "-n", "2", "-o", str(tmp_path / "d"), "--seed", "5", "-q")
    grown = outputs(tmp_path / "d")
    assert all(grown[name] == data for name, data in first.items() if name != "manifest.json")


def test_palette_outputs_use_only_brand_colours(tmp_path):
    lib = tmp_path / "seeds"
    write(lib / "a.svg", full_rect_seed())
    write(lib / "b.svg", svg('<style>.x{fill:rgb(10,200,30)}</style><rect width="100" height="100" fill="tomato"/>'
                            '<circle class="x" cx="50" cy="50" r="30"/><path d="M0 0h20v20z"/>'))
    palette = "#0A3D62,#F8C291,#E55039"
    result = run(str(lib), "-n", "4", "-o", str(tmp_path / "out"), "--palette", palette, "-q")
    assert result.exit_code == 0, result.output
    inks = set(parse_palette(palette).hexes())
    for path in sorted((tmp_path / "out").glob("*.svg")):
        used = {colour.hex for colour, _ in seed_palette(parse_svg(path.read_bytes()))}
        assert used and used <= inks, (path.name, used)


def test_aspect_and_size_shape_svg_and_pdf_canvases(tmp_path):
    lib = tmp_path / "seeds"
    write(lib / "a.svg", full_rect_seed())
    write(lib / "p.pdf", rgb_pdf())
    result = run(str(lib), "-n", "1", "-o", str(tmp_path / "out"), "--aspect", "3:2", "--size", "300", "-q")
    assert result.exit_code == 0, result.output
    root = parse_svg((tmp_path / "out" / "a_v000.svg").read_bytes())
    assert (root.get("width"), root.get("height")) == ("300", "200")
    with pikepdf.open(tmp_path / "out" / "p_v000.pdf") as pdf:
        assert [float(v) for v in pdf.pages[0].MediaBox] == [0, 0, 225, 150]


@pytest.mark.parametrize("args, message", [
    (["--palette", "#12345G"], "not a colour"),
    (["--aspect", "wide"], "aspect"),
    (["--recolour", "palette"], "needs --palette"),
    (["--recolour", "hue", "--palette", "#000000"], "--palette is only used"),
    (["--variants", "0"], "variants"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
    lib = tmp_path / "seeds"
    write(lib / "a.svg", full_rect_seed())
    result = run(str(lib), "-o", str(tmp_path / "out"), *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists()


def test_empty_library_and_output_inside_the_library(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(str(empty), "-o", str(tmp_path / "out"), "-q")
    assert result.exit_code == 2 and "no .svg or .pdf seeds found" in result.stderr  # an empty folder: usage
    lib = tmp_path / "seeds"
    write(lib / "a.svg", full_rect_seed())
    assert run(str(lib), "-n", "2", "-o", str(lib / "variants"), "-q").exit_code == 0
    assert find_seeds(lib, exclude=lib / "variants") == [lib / "a.svg"]
    again = run(str(lib), "-n", "2", "-o", str(lib / "variants"), "-q", "--overwrite")
    assert again.exit_code == 0 and "augment: 1 ok, 0 failed" in again.output


def test_help_has_an_example():
    result = CliRunner().invoke(main, ["augment", "--help"])
    assert result.exit_code == 0 and "Example:  seedgen augment" in result.output


def test_library_function_is_what_the_bridge_calls(tmp_path):
    lib = tmp_path / "seeds"
    write(lib / "a.svg", full_rect_seed())
    report = BatchReport("augment", quiet=True)
    config = AugmentConfig(variants=2, seed=3, palette=parse_palette("#000000,#ffffff"))
    result = augment_library(lib, tmp_path / "out", config, report)
    assert (result.seeds_ok, result.variants_written, report.succeeded) == (1, 2, 1)
    assert all(r["recolour"] == "palette" for r in result.records)  # 'auto' with a palette means palette


def test_progress_bar_keeps_each_failure_on_its_own_line(tmp_path):
    lib, out = library(tmp_path), tmp_path / "out"
    result = run(str(lib), "-n", "1", "-o", str(out))
    assert result.exit_code == 1
    lines = [line.split("\r")[-1] for line in result.stderr.splitlines()]  # what a terminal leaves visible
    for bad in BAD:
        assert sum(line.startswith(f"seedgen augment: {lib / bad}: ") for line in lines) == 1, lines
    assert "wrote 3 variants to" in result.stdout
