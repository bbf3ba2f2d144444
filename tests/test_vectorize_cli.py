"""`seedgen vectorize` end to end: every image mode is read, every bad input is one line and the batch
goes on, usage errors exit 2 before any work, and the outputs are what the options asked for."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from click.testing import CliRunner
from PIL import Image

from seedgen.cli import main
from vectorize.image_input import ImageInputError, load_image
from vectorize.specimen import make_specimen


def run(*args: str):
    return CliRunner().invoke(main, ["vectorize", *args], catch_exceptions=False)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims a huge size in its header but holds almost no data (a decompression bomb probe)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def seed_rgb(size: int = 72) -> np.ndarray:
    return make_specimen("antialiased", 0, size=size).image


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    """The same seed saved in every mode the reader must handle."""
    rgb = seed_rgb()
    folder = tmp_path / "in"
    folder.mkdir()
    paths = {}
    Image.fromarray(rgb).save(paths.setdefault("rgb", folder / "rgb.png"))
    Image.fromarray(rgb).convert("L").save(paths.setdefault("grey", folder / "grey.png"))
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(
        paths.setdefault("palette", folder / "palette.png"))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :20, 3] = 0  # a transparent strip: composited on white
    Image.fromarray(rgba).save(paths.setdefault("rgba", folder / "rgba.png"))
    grey16 = (rgb[..., 1].astype(np.uint16) * 257)
    Image.fromarray(grey16).save(paths.setdefault("grey16", folder / "grey16.png"))
    cv2.imwrite(str(paths.setdefault("rgb16", folder / "rgb16.png")), (rgb[..., ::-1].astype(np.uint16) * 257))
    Image.fromarray(rgb).save(paths.setdefault("jpeg", folder / "photo.jpg"), quality=92)
    return paths


def test_every_image_mode_is_read_as_srgb(images):
    rgb = seed_rgb()
    assert np.array_equal(load_image(images["rgb"]), rgb)
    assert np.array_equal(load_image(images["rgb16"]), rgb)  # 16 bits per channel, scaled not clipped
    assert np.array_equal(load_image(images["grey16"])[..., 0], rgb[..., 1])
    grey = load_image(images["grey"])
    assert grey.shape == rgb.shape and (grey[..., 0] == grey[..., 2]).all()
    rgba = load_image(images["rgba"])
    assert (rgba[:, :20] == 255).all() and np.array_equal(rgba[:, 20:], rgb[:, 20:])
    assert load_image(images["palette"]).shape == rgb.shape


def test_batch_of_all_modes_succeeds_with_outputs_and_metrics(images, tmp_path):
    out = tmp_path / "out"
    result = run(str(images["rgb"].parent), "-o", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert "vectorize: 7 ok, 0 failed" in result.output
    for path in images.values():
        for suffix in (".svg", ".pdf", ".json"):
            assert (out / (path.stem + suffix)).is_file()
    sidecar = json.loads((out / "rgba.json").read_text())
    assert sidecar["metrics"]["see_through"] == 0 and sidecar["metrics"]["psnr"] > 20
    assert sidecar["config"]["method"] == "trace"
    assert any(layer["hex"] == "#ffffff" for layer in sidecar["layers"])  # the transparent strip, on white


def test_bad_inputs_fail_one_line_each_and_the_batch_goes_on(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(seed_rgb()).save(good)
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    big = png_header_only(tmp_path / "big.png", 9000, 8000)  # 72 MP: over our 64 MP limit
    bomb = png_header_only(tmp_path / "bomb.png", 40000, 40000)  # PIL's own bomb guard
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:200])
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (4, 4)).save(tiny)
    missing = tmp_path / "missing.png"
    bad = [text, big, bomb, truncated, tiny]
    out = tmp_path / "out"
    inputs = [text, good, big, bomb, truncated, tiny]
    # a missing input path is a usage error (exit 2) found before any work: nothing is written
    refused = run(*map(str, [*inputs, missing]), "-o", str(out), "--quiet")
    assert refused.exit_code == 2 and refused.stderr.strip() == f"seedgen vectorize: {missing}: no such file or folder"
    assert not out.exists()
    result = run(*map(str, inputs), "-o", str(out), "--quiet")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == "seedgen vectorize: 1 ok, 5 failed"
    prefix = "seedgen vectorize: "
    for path in bad:
        mine = [line for line in lines if line.startswith(f"{prefix}{path}: ")]
        assert len(mine) == 1, (path, lines)
    assert "Traceback" not in result.output
    reasons = {line[len(prefix):].split(": ", 1)[0]: line[len(prefix):].split(": ", 1)[1] for line in lines[:-1]}
    assert "not an image" in reasons[str(text)]
    assert "too large" in reasons[str(big)] and "9000x8000" in reasons[str(big)]
    assert "too large" in reasons[str(bomb)]
    assert "too small" in reasons[str(tiny)]
    assert (out / "good.svg").is_file() and not (out / "notes.svg").exists()


def test_header_is_checked_before_decoding(tmp_path):
    with pytest.raises(ImageInputError, match="too large"):
        load_image(png_header_only(tmp_path / "big.png", 9000, 8000))


@pytest.mark.parametrize("args, message", [
    (["--palette", "#12345g"], "--palette: not a colour"),
    (["--palette", "Spot=cmyk(10,20)"], "--palette: cmyk() needs 4 values"),
    (["--palette", "#fff", "--colors", "4"], "use --colors or --palette, not both"),
    (["--page-size", "huge"], "--page-size: not a page size"),
])
def test_usage_errors_exit_2_with_one_line_before_any_work(tmp_path, args, message):
    good = tmp_path / "good.png"
    Image.fromarray(seed_rgb()).save(good)
    result = run(str(good), "-o", str(tmp_path / "out"), *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "out").exists()


def test_outputs_are_never_overwritten_without_consent(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(seed_rgb()).save(good)
    out = tmp_path / "out"
    assert run(str(good), "-o", str(out), "--svg", "--quiet").exit_code == 0
    before = (out / "good.svg").read_bytes()
    again = run(str(good), "-o", str(out), "--svg", "--colors", "3", "--quiet")
    assert again.exit_code == 1 and "already exists (use --overwrite" in again.stderr
    assert (out / "good.svg").read_bytes() == before
    assert run(str(good), "-o", str(out), "--svg", "--colors", "3", "--overwrite", "--quiet").exit_code == 0
    assert (out / "good.svg").read_bytes() != before
    assert not (out / "good.pdf").exists()  # --svg alone writes no PDF


def test_pdf_only_cmyk_on_a_chosen_page_with_spot_inks(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(seed_rgb(96)).save(good)
    out = tmp_path / "out"
    palette = "#f0efe9, Brand Blue=#2b59c3, Warm Red=cmyk(0,80,75,0), #3a3a3a, #d9c441, #5cab7d"
    result = run(str(good), "-o", str(out), "--pdf", "--cmyk", "--page-size", "100x50mm", "--palette", palette)
    assert result.exit_code == 0, result.output
    assert "good.pdf" in result.output and not (out / "good.svg").exists()
    pdf = pikepdf.open(out / "good.pdf")
    box = [float(v) for v in pdf.pages[0].MediaBox]
    assert box[2] == pytest.approx(100 * 72 / 25.4, abs=0.01) and box[3] == pytest.approx(50 * 72 / 25.4, abs=0.01)
    content = pdf.pages[0].Contents.read_bytes()
    assert b" k\n" in content and b" rg\n" not in content
    names = {str(cs[1]) for cs in pdf.pages[0].Resources.ColorSpace.values() if cs[0] == "/Separation"}
    assert names and names <= {"/Brand Blue", "/Warm Red"}


def test_help_shows_a_real_example():
    result = run("--help")
    assert result.exit_code == 0
    assert "seedgen vectorize out/generated/ -o out/seeds" in result.output


def test_thin_lines_can_be_turned_off(tmp_path):
    """--no-thin-lines reaches the tracer (recorded in the sidecar) and lets a thin dark line melt away."""
    image = np.full((96, 96, 3), (92, 184, 234), np.uint8)
    image[:, 48:] = (63, 159, 76)
    image[:, 47:49] = (58, 42, 44)   # a 2 px line between the two halves: no flat pixel of its own colour
    image[:, 46] = image[:, 49] = (75, 113, 139)   # anti-aliased sides
    source = tmp_path / "line.png"
    Image.fromarray(image).save(source)
    layers = {}
    for flag in ("--thin-lines", "--no-thin-lines"):
        out = tmp_path / flag.strip("-")
        result = run(str(source), "-o", str(out), "--svg", "--quiet", flag)
        assert result.exit_code == 0, result.output
        sidecar = json.loads((out / "line.json").read_text())
        assert sidecar["config"]["thin_lines"] is (flag == "--thin-lines")
        layers[flag] = {layer["hex"].lower() for layer in sidecar["layers"]}
    assert any(abs(int(h[1:3], 16) - 58) < 12 and int(h[5:7], 16) < 70 for h in layers["--thin-lines"])
    assert len(layers["--no-thin-lines"]) < len(layers["--thin-lines"])
