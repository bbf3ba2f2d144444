"""Layer stacks as vector seeds: Bézier fitting, iso-contours, SVG/PDF export fidelity, generation, decomposition."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
import torch
from PIL import Image

from augment.output import OutputExists
from augment.rasterize import render_svg_bytes
from augment.svg_source import parse_svg
from seedgen.layered.bezier import evaluate_cubic, fit_closed_contour
from seedgen.layered.model import LayeredGenerator, LayeredModelConfig, render_stack
from seedgen.layered.export import (
    LayeredExportConfig,
    LayeredExportError,
    _band_opacities,
    generate_layered,
    layers_method,
    mask_contours,
    sample_masks,
    shapes_to_layers,
    stack_shapes,
)
from seedgen.layered.decompose import DecomposeConfig, decompose_image
from seedgen.layered.model import LayeredTrainingError
from seedgen.checkpoint import save_networks
from vectorize.svg_writer import write_svg

# A cairo-rendered (anti-aliased) seed: a disc and a bar over a flat background, as our seeds are rendered.
SEED_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32">'
    b'<rect width="32" height="32" fill="#f0e6c8"/><circle cx="12" cy="12" r="8" fill="#c81e1e"/>'
    b'<rect x="15" y="14" width="15" height="14" fill="#143ca0"/></svg>'
)
FIT = DecomposeConfig(layers=3, params=6, steps=200, resolution=32, mlp_width=64, seed=0)


@pytest.fixture(scope="module")
def seed_image() -> np.ndarray:
    return render_svg_bytes(SEED_SVG, 32)[:, :, :3].copy()


@pytest.fixture(scope="module")
def decomposition(seed_image):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return decompose_image(seed_image, config=FIT)
    finally:
        torch.set_num_threads(before)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(1.0 / max(mse, 1e-12))


def _pdf_pixels(data: bytes, size: int) -> np.ndarray:
    page = pypdfium2.PdfDocument(data)[0]
    bitmap = page.render(scale=size / page.get_width())
    return np.asarray(bitmap.to_pil().convert("RGB"))[:size, :size]


# --------------------------------------------------------------------------------------------- curves


def test_bezier_fit_of_a_circle_stays_within_tolerance():
    theta = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    circle = np.stack([50 + 30 * np.cos(theta), 50 + 30 * np.sin(theta)], axis=1)
    segments = fit_closed_contour(circle, tolerance=0.1)
    assert 2 <= len(segments) <= 16
    # closed and continuous: each segment starts where the previous one ended
    assert np.allclose(segments[:, 0], np.roll(segments[:, 3], 1, axis=0))
    points = np.concatenate([evaluate_cubic(s, np.linspace(0, 1, 40)) for s in segments])
    assert np.abs(np.linalg.norm(points - 50, axis=1) - 30).max() < 0.15


def test_bezier_fit_keeps_square_corners():
    side = np.linspace(0, 10, 25, endpoint=False)
    square = np.concatenate([
        np.stack([side, np.zeros(25)], 1), np.stack([np.full(25, 10.0), side], 1),
        np.stack([10 - side, np.full(25, 10.0)], 1), np.stack([np.zeros(25), 10 - side], 1),
    ])
    segments = fit_closed_contour(square, tolerance=0.05)
    assert len(segments) == 4
    corners = {tuple(np.round(s[0], 6)) for s in segments}
    assert corners == {(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)}


def test_contours_of_a_ring_keep_its_hole(tmp_path):
    yy, xx = np.mgrid[0:128, 0:128] + 0.5
    r = np.hypot(xx - 64, yy - 64)
    ring = np.clip(1.0 - np.abs(r - 40) / 15.0, 0, 1)  # soft ring, 0.5 level at radii 32.5 and 47.5
    contours = mask_contours(ring, 0.5, min_area=4)
    assert len(contours) == 2
    from seedgen.layered.export import contours_to_path

    d = contours_to_path(contours, (1.0, 1.0), LayeredExportConfig())
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128"><rect width="128" height="128" '
           f'fill="#fff"/><path fill="#000" fill-rule="evenodd" d="{d}"/></svg>').encode()
    drawn = render_svg_bytes(svg, 128)[:, :, 0] < 128
    inside = ring > 0.5
    assert (drawn & inside).sum() / (drawn | inside).sum() > 0.97  # the hole stays a hole


def test_coarse_to_fine_sampling_matches_a_full_grid():
    torch.manual_seed(2)
    generator = LayeredGenerator(LayeredModelConfig(layers=2, params=4, resolution=32, mlp_width=32))
    with torch.no_grad():
        generator.mlp.out.weight.mul_(30)  # sharp, wiggly masks
    codes = torch.randn(2, 4)
    fast = sample_masks(generator.mlp, codes, grid=256, coarse=64, band=0.0)
    from seedgen.layered.model import pixel_grid

    full = generator.mlp.sample(pixel_grid(256), codes).reshape(2, 256, 256).numpy()
    assert np.array_equal(fast > 0.5, full > 0.5)
    above = full > 0.5
    edge = np.zeros_like(above)  # pixels next to the 0.5 level: where marching squares reads values
    edge[:, 1:] |= above[:, 1:] != above[:, :-1]
    edge[:, :-1] |= above[:, 1:] != above[:, :-1]
    edge[:, :, 1:] |= above[:, :, 1:] != above[:, :, :-1]
    edge[:, :, :-1] |= above[:, :, 1:] != above[:, :, :-1]
    assert edge.sum() > 100
    assert np.abs(fast - full)[edge].max() < 1e-5  # exact wherever the contour runs


def test_band_opacities_rebuild_the_soft_mask():
    for levels in (2, 4, 7):
        bands = _band_opacities(levels)
        coverage = 0.0
        for k, (threshold, opacity) in enumerate(bands, start=1):
            coverage = 1 - (1 - coverage) * (1 - opacity)
            assert coverage == pytest.approx(k / levels)
            assert threshold == pytest.approx((k - 0.5) / levels)


# --------------------------------------------------------------------------------------------- fidelity


def test_exported_svg_matches_the_model_render(decomposition):
    """The paper's promise, measured: the vector seed renders as the network does (>= 30 dB)."""
    size = decomposition.resolution
    shapes = stack_shapes(decomposition.mlp, decomposition.stack, size)
    assert shapes[0].name == "background" and len(shapes) >= 3
    svg = write_svg(shapes_to_layers(shapes), (size, size))
    vector = render_svg_bytes(svg, size)[:, :, :3] / 255.0
    with torch.no_grad():
        model = render_stack(decomposition.mlp, decomposition.stack, size)[0].permute(1, 2, 0).numpy()
    assert _psnr(vector, model) >= 30.0


def test_mean_soft_mode_gives_each_layer_its_mean_opacity(decomposition):
    shapes = stack_shapes(decomposition.mlp, decomposition.stack, 32, LayeredExportConfig(soft="mean"))
    assert all(0.5 < s.opacity <= 1.0 for s in shapes)
    assert any(s.opacity < 1.0 for s in shapes[1:])
    bands = stack_shapes(decomposition.mlp, decomposition.stack, 32, LayeredExportConfig(soft="levels", levels=3))
    assert {s.name.split(" band ")[1] for s in bands[1:]} <= {"1", "2", "3"}


def test_decomposition_improves_l1_and_writes_valid_files(decomposition, seed_image, tmp_path):
    assert decomposition.final_l1 < decomposition.initial_l1 < decomposition.flat_l1
    assert decomposition.psnr > 24
    assert _psnr(decomposition.render(32) / 255.0, seed_image / 255.0) > 24

    # the same decomposition as files, the way users make them: `seedgen vectorize --method layers`
    Image.fromarray(seed_image).save(tmp_path / "seed.png")
    quick = ["--method", "layers", "--layers", "3", "--params", "6", "--steps", "30", "--svg", "--pdf", "--quiet"]
    result = _vectorize(tmp_path / "seed.png", tmp_path / "out", *quick)
    assert result.exit_code == 0, result.output
    paths = [tmp_path / "out" / f"seed.{suffix}" for suffix in ("svg", "pdf", "json")]
    assert all(p.is_file() for p in paths)
    root = parse_svg(paths[0].read_bytes())
    assert root.get("viewBox") == "0 0 32 32"
    groups = [g for g in root if g.tag.endswith("g")]
    assert len(groups) >= 2 and groups[0].get("data-name") == "background"
    assert all(re.fullmatch(r"#[0-9a-f]{6}", g.get("fill")) for g in groups)
    svg_pixels = render_svg_bytes(paths[0].read_bytes(), 32)[:, :, :3]
    pdf_pixels = _pdf_pixels(paths[1].read_bytes(), 32)
    assert _psnr(svg_pixels / 255.0, pdf_pixels / 255.0) > 25  # the PDF draws the same shapes
    again = _vectorize(tmp_path / "seed.png", tmp_path / "out", *quick)
    assert again.exit_code == 1 and "already exists" in again.output  # OutputExists: nothing replaced


def test_decomposition_keeps_a_non_square_canvas(tmp_path):
    image = np.zeros((16, 24, 3), dtype=np.uint8)
    image[:, :12] = (250, 200, 20)
    Image.fromarray(image).save(tmp_path / "wide.png")
    result = _vectorize(tmp_path / "wide.png", tmp_path / "out", "--method", "layers", "--layers", "2", "--params",
                        "4", "--steps", "20", "--svg", "--quiet")
    assert result.exit_code == 0, result.output
    assert parse_svg((tmp_path / "out" / "wide.svg").read_bytes()).get("viewBox") == "0 0 24 16"


def _vectorize(image: Path, out: Path, *options: str):
    """The real `seedgen vectorize` command."""
    from click.testing import CliRunner

    from seedgen.cli import main

    return CliRunner().invoke(main, ["vectorize", str(image), "-o", str(out), *options])


def test_layers_method_plugs_into_the_vectorize_pipeline(seed_image):
    from types import SimpleNamespace

    options = SimpleNamespace(seed=1, layers=2, params=4, steps=80)  # the fields a VectorizeConfig may carry
    layers, denoised = layers_method(seed_image, options)
    assert not denoised and layers[0].label == "background" and len(layers) >= 2
    rendered = render_svg_bytes(write_svg(layers, (32, 32)), 32)
    assert rendered[:, :, 3].min() == 255  # full-bleed: nothing see-through


@pytest.mark.parametrize("mode", ["recon", "gan"])
def test_decompose_starts_from_a_trained_model(mode, seed_image, tmp_path):
    torch.manual_seed(6)
    config = LayeredModelConfig(mode=mode, layers=3, params=4, resolution=32, z_dim=8, mlp_width=32,
                                encoder_width=8, head_width=32)
    path = tmp_path / f"{mode}.safetensors"
    save_networks(path, {"G": LayeredGenerator(config)}, {"model": "layered", "layered": config.to_json()})
    result = decompose_image(seed_image, steps=20, checkpoint=path,
                             config=DecomposeConfig(layers=3, resolution=32, pixels_per_step=0))
    assert result.stack.codes.shape[-1] == 4  # the checkpoint's K, not the config's
    assert result.final_l1 < result.initial_l1


def test_decompose_refuses_what_is_not_an_image():
    with pytest.raises(LayeredTrainingError, match="uint8"):
        decompose_image(np.zeros((8, 8), dtype=np.float32), steps=1)


# --------------------------------------------------------------------------------------------- generation


@pytest.fixture(scope="module")
def gan_checkpoint(tmp_path_factory):
    torch.manual_seed(4)
    config = LayeredModelConfig(layers=3, params=4, resolution=32, z_dim=8, mlp_width=32, encoder_width=8,
                                head_width=32)
    generator = LayeredGenerator(config)
    with torch.no_grad():
        generator.mlp.out.weight.mul_(20)  # an untrained net's masks hover near 0.5; make them decide
    path = tmp_path_factory.mktemp("ckpt") / "layered.safetensors"
    save_networks(path, {"G": generator}, {"model": "layered", "layered": config.to_json()})
    return path


def test_generate_writes_reproducible_vector_seeds_at_any_size(gan_checkpoint, tmp_path):
    first = generate_layered(gan_checkpoint, 2, 4096, seed=9, out_dir=tmp_path / "a", formats=("svg", "pdf"))
    again = generate_layered(gan_checkpoint, 1, 4096, seed=9, out_dir=tmp_path / "b", formats=("svg", "pdf"))
    assert [p.name for p in first] == ["layered-9-0000.svg", "layered-9-0000.pdf",
                                       "layered-9-0001.svg", "layered-9-0001.pdf"]
    assert first[0].read_bytes() == again[0].read_bytes() and first[1].read_bytes() == again[1].read_bytes()
    assert first[0].read_bytes() != first[2].read_bytes()
    root = parse_svg(first[0].read_bytes())
    assert root.get("viewBox") == "0 0 4096 4096"
    assert len([g for g in root if g.tag.endswith("g")]) >= 2
    assert first[1].read_bytes().startswith(b"%PDF")
    # the same seed drawn small and large is the same picture: the vector is resolution-free
    small = generate_layered(gan_checkpoint, 1, 64, seed=9, out_dir=tmp_path / "c", formats=("svg",))
    big = render_svg_bytes(first[0].read_bytes(), 64)[:, :, :3] / 255.0
    assert _psnr(render_svg_bytes(small[0].read_bytes(), 64)[:, :, :3] / 255.0, big) > 30
    with pytest.raises(OutputExists):
        generate_layered(gan_checkpoint, 1, 4096, seed=9, out_dir=tmp_path / "a", formats=("svg",))


def test_generate_refuses_a_recon_model_and_bad_requests(tmp_path):
    config = LayeredModelConfig(mode="recon", layers=2, params=3, resolution=16, mlp_width=16, encoder_width=4,
                                head_width=16)
    path = tmp_path / "recon.safetensors"
    save_networks(path, {"G": LayeredGenerator(config)}, {"model": "layered", "layered": config.to_json()})
    with pytest.raises(LayeredExportError, match="recon"):
        generate_layered(path, 1, 256, out_dir=tmp_path)
    with pytest.raises(LayeredExportError, match="n >= 1"):
        generate_layered(path, 0, 256, out_dir=tmp_path)
    with pytest.raises(LayeredExportError, match="format"):
        generate_layered(path, 1, 256, out_dir=tmp_path, formats=("png",))
