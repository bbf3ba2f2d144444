"""`seedgen eval` end to end: real SVG, PNG and JPEG seed files in, report.html and metrics.json out."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from seedgen.cli import main


def svg_seed(rng: np.random.Generator, size: int = 96) -> str:
    """A small full-bleed seed: a ground and overlapping rectangles and circles in a few colours."""
    colours = [f"#{int(v):06x}" for v in rng.integers(0, 0xFFFFFF, 5)]
    shapes = [f'<rect width="{size}" height="{size}" fill="{colours[0]}"/>']
    for _ in range(int(rng.integers(10, 18))):
        x, y = (float(v) for v in rng.uniform(-10, size, 2))
        colour = colours[int(rng.integers(1, 5))]
        if rng.random() < 0.5:
            w, h = (float(v) for v in rng.uniform(8, size / 2, 2))
            shapes.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}"/>')
        else:
            shapes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{rng.uniform(5, size / 4):.1f}" fill="{colour}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
            + "".join(shapes) + "</svg>")


def pdf_seed(path: Path, rng: np.random.Generator, size: int = 72) -> None:
    """A one-page PDF seed: coloured rectangles over a ground (reportlab, as the print pipeline writes PDFs)."""
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=(size, size))
    canvas.setFillColorRGB(*(float(v) for v in rng.random(3)))
    canvas.rect(0, 0, size, size, stroke=0, fill=1)
    for _ in range(12):
        canvas.setFillColorRGB(*(float(v) for v in rng.random(3)))
        x, y, w, h = (float(v) for v in rng.uniform(0, size, 4))
        canvas.rect(x - 10, y - 10, w, h, stroke=0, fill=1)
    canvas.save()


def raster_seed(rng: np.random.Generator, size: int = 80) -> np.ndarray:
    """A banded raster seed (a stand-in for a model's PNG output)."""
    colours = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    y, x = np.mgrid[0:size, 0:size]
    angle = rng.uniform(0, np.pi)
    band = ((x * np.cos(angle) + y * np.sin(angle)) / rng.uniform(6, 20)).astype(int) % 4
    return colours[band]


@pytest.fixture()
def library(tmp_path: Path) -> dict[str, Path]:
    """generated/ (SVG, PDF and PNG; two copies of training seeds), reference/ (SVG), train/ (PNG + JPEG)."""
    rng = np.random.default_rng(0)
    dirs = {name: tmp_path / name for name in ("generated", "reference", "train")}
    for folder in dirs.values():
        folder.mkdir()
    for i in range(5):
        (dirs["generated"] / f"g{i}.svg").write_text(svg_seed(rng))
        Image.fromarray(raster_seed(rng)).save(dirs["generated"] / f"p{i}.png")
        (dirs["reference"] / f"r{i}.svg").write_text(svg_seed(rng))
        Image.fromarray(raster_seed(rng)).save(dirs["train"] / f"t{i}.png")
        Image.fromarray(raster_seed(rng)).save(dirs["train"] / f"j{i}.jpg", quality=90)
    pdf_seed(dirs["generated"] / "v0.pdf", rng)
    shutil.copy(dirs["train"] / "t1.png", dirs["generated"] / "copy_t1.png")
    shutil.copy(dirs["train"] / "t3.png", dirs["generated"] / "copy_t3.png")
    dirs["out"] = tmp_path / "report"
    return dirs


def run(*args: str):
    return CliRunner().invoke(main, ["eval", *args], catch_exceptions=False)


def base_args(lib: dict[str, Path]) -> list[str]:
    return [str(lib["generated"]), "--reference", str(lib["reference"]), "--train", str(lib["train"]),
            "-o", str(lib["out"]), "--size", "64", "--quiet"]


def test_eval_writes_report_and_metrics_and_refuses_to_overwrite(library):
    result = run(*base_args(library))
    assert result.exit_code == 0, result.output
    metrics = json.loads((library["out"] / "metrics.json").read_text())
    assert metrics["counts"] == {"generated": 13, "reference": 5, "train": 10}
    assert metrics["inputs"]["formats"]["generated"] == {".pdf": 1, ".png": 7, ".svg": 5}
    novelty = metrics["novelty"]
    assert novelty["near_copy_share"] == pytest.approx(2 / 13)
    flagged = {row["seed"]: row["nearest"] for row in novelty["per_seed"] if row["near_copy"]}
    assert flagged == {"copy_t1.png": "t1.png", "copy_t3.png": "t3.png"}
    swd = metrics["style"]["swd"]
    assert sorted(swd["levels_x1e3"], key=int) == ["16", "32", "64"] and swd["average_x1e3"] > 0
    assert len(metrics["suitability"]["generated"]["per_seed"]) == 13
    assert 0 < metrics["summary"]["diversity"] and metrics["summary"]["colour_count"] >= 2
    page = (library["out"] / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 5 + 2 * 12  # plots + 12 nearest-neighbour pairs
    assert "copy_t1.png vs t1.png" in page and "near-copy" in page
    assert "warning: generated: only 13 seeds" in result.output and "at least 32" in result.output
    assert "near_copy_share" in result.output
    # FD and KID in pretrained features (issue 14): each seed whole + 4 half-size crops
    feats = metrics["features"]
    assert feats["samples"] == {"generated": 13 * 5, "reference": 5 * 5}
    assert feats["fd"] > 0 and feats["kid_x1e3"] == metrics["summary"]["kid_x1e3"]
    assert metrics["summary"]["fd"] == feats["fd"] and "fd" in result.output and "kid_x1e3" in result.output

    before = (library["out"] / "metrics.json").read_bytes()
    again = run(*base_args(library))
    assert again.exit_code == 1  # an output exists (seedgen.failure)
    assert "already exists" in again.output and "Traceback" not in again.output
    assert (library["out"] / "metrics.json").read_bytes() == before
    replaced = run(*base_args(library), "--overwrite", "--seed", "0")
    assert replaced.exit_code == 0
    assert (library["out"] / "metrics.json").read_bytes() == before  # same seed, same bytes


def test_bad_files_are_reported_and_the_batch_goes_on(library):
    gen = library["generated"]
    (gen / "broken.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><rect")
    (gen / "notes.xyz").write_text("not a seed")
    (gen / "meta.json").write_text("{}")  # metadata beside seeds: ignored silently
    shutil.copy(gen / "p0.png", gen / "g0.png")  # g0 again, as a preview: one seed in two formats counts once
    result = run(*[a for a in base_args(library) if a != "--quiet"])  # skips are listed unless --quiet
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith(f"seedgen eval: {gen / 'broken.svg'}: ") for line in lines)
    assert any(str(gen / "notes.xyz") in line and "skipped" in line for line in lines)
    assert f"generated: {gen}: 14 seed files taken, 3 skipped (1 unknown file, 1 other format of a seed, " \
           "1 sidecar)" in result.stdout.splitlines()
    assert "1 failed" in result.output and "Traceback" not in result.output
    metrics = json.loads((library["out"] / "metrics.json").read_text())
    assert metrics["counts"]["generated"] == 13
    assert metrics["inputs"]["files"]["generated"] == {
        "taken": 14, "skipped": 3, "skipped_by_reason": {"not_a_seed": 1, "other_format": 1, "sidecar": 1}}
    labels = [row["seed"] for row in metrics["suitability"]["generated"]["per_seed"]]
    assert "g0.svg" in labels and "g0.png" not in labels and "broken.svg" not in labels


def test_an_empty_folder_is_a_one_line_error(tmp_path, library):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(str(empty), "--reference", str(library["reference"]), "-o", str(library["out"]), "--quiet")
    assert result.exit_code == 2  # an empty input folder is a usage error (seedgen.failure)
    assert result.output.strip() == f"seedgen eval: {empty}: no seed files (SVG, PDF, PNG or JPEG)"
    assert not library["out"].exists()
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "a.svg").write_text("this is not svg")
    (unreadable / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    result = run(str(unreadable), "--reference", str(library["reference"]), "-o", str(library["out"]), "--quiet")
    assert result.exit_code == 1
    assert f"seedgen eval: {unreadable}: no readable seeds" in result.output and "Traceback" not in result.output
    assert f"{unreadable / 'a.svg'}: " in result.output


def test_help_shows_a_real_example_and_missing_reference_is_a_usage_error(library):
    help_text = CliRunner().invoke(main, ["eval", "--help"]).output
    assert "seedgen eval out/generated --reference" in help_text
    missing = CliRunner().invoke(main, ["eval", str(library["generated"]), "-o", str(library["out"])])
    assert missing.exit_code == 2 and "--reference" in missing.output


def test_a_folder_written_by_generate_is_scored_one_seed_per_seed(library, tmp_path):
    """generate writes each seed as SVG + PDF + a PNG preview + a JSON sidecar, and a contact sheet (HTML + PNG):
    eval scores the SVGs alone and says what it took and what it skipped."""
    gen = tmp_path / "from-generate"
    made = CliRunner().invoke(main, ["generate", "--n", "3", "--svg", "--pdf", "--png", "--size", "256", "--seed",
                                     "1", "--quiet", "-o", str(gen)], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    assert {p.name for p in gen.iterdir() if not p.name.startswith(".")} == {
        "contact-s1.html", "contact-s1.png",
        *(f"s1-{k:03d}.{ext}" for k in range(3) for ext in ("svg", "pdf", "png", "json"))}
    result = run(str(gen), "--reference", str(library["reference"]), "-o", str(library["out"]), "--size", "64",
                 "--quiet")
    assert result.exit_code == 0, result.output
    metrics = json.loads((library["out"] / "metrics.json").read_text())
    assert metrics["counts"]["generated"] == 3
    assert [row["seed"] for row in metrics["suitability"]["generated"]["per_seed"]] == [
        "s1-000.svg", "s1-001.svg", "s1-002.svg"]
    assert metrics["inputs"]["files"] == {
        "generated": {"taken": 3, "skipped": 11,
                      "skipped_by_reason": {"contact_sheet": 2, "other_format": 6, "sidecar": 3}},
        "reference": {"taken": 5, "skipped": 0, "skipped_by_reason": {}}}
    lines = result.stdout.splitlines()
    assert f"generated: {gen}: 3 seed files taken, 11 skipped (2 contact sheets, 6 other formats of seeds, " \
           "3 sidecars)" in lines
    assert f"reference: {library['reference']}: 5 seed files taken, 0 skipped" in lines
    assert "seedgen eval: 8 ok, 0 failed, 11 skipped" in lines
