"""Tracing: real renders of the traced seed show no paper anywhere, keep flat images sharp, keep gradients
smooth, and the path data the layers carry means what it says."""
from __future__ import annotations

import numpy as np
import pytest

from augment.rasterize import render_svg_bytes
from vectorize.config import VectorizeConfig
from vectorize.curve import smooth_contour_d
from vectorize.gradient import gradient_colours
from vectorize.image_input import ImageInputError
from vectorize.metrics import compare, psnr, render, see_through
from vectorize.path_data import PathDataError, format_path, parse_path, translate_path
from vectorize.specimen import SPECIMEN_CLASSES, make_specimen
from vectorize.trace import layer_mask, trace_mask
from vectorize.vectorize_run import vectorize_image


def svg_doc(body: str, size: int = 100) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}">{body}</svg>').encode()


@pytest.mark.parametrize("kind", SPECIMEN_CLASSES)
def test_no_see_through_pixels_on_any_class(kind):
    spec = make_specimen(kind, 1, size=160)
    result = vectorize_image(spec.image, VectorizeConfig())
    assert result.see_through == 0
    # the traced seed is also complete at another resolution (no hairline seams between layers)
    assert see_through(render(result.svg, (373, 373))) == 0


@pytest.mark.parametrize("kind, floor", [("antialiased", 31.0), ("flat", 26.0)])
def test_flat_colour_images_keep_a_psnr_floor(kind, floor):
    # at 256 px vtracer's defaults score 32.6/30.5 (anti-aliased) and 30.3/26.3 dB (flat) on these
    for seed in (0, 2) if kind == "antialiased" else (2, 4):
        spec = make_specimen(kind, seed, size=256)
        result = vectorize_image(spec.image, VectorizeConfig())
        assert result.psnr >= floor, (seed, result.psnr)
        assert result.ssim >= 0.9


def test_generated_noise_is_not_traced_and_the_clean_seed_comes_back():
    spec = make_specimen("gan", 2, size=192)
    result = vectorize_image(spec.image, VectorizeConfig())
    _, _, _, rendered = compare(result.svg, spec.image)
    assert psnr(spec.clean, rendered) >= 24.0
    assert result.subpaths < 150


@pytest.mark.parametrize("paint", [
    '<linearGradient id="g" gradientUnits="userSpaceOnUse" x1="5" y1="10" x2="95" y2="80">'
    '<stop offset="0" stop-color="#0b3d91"/><stop offset="0.6" stop-color="#f2c14e"/>'
    '<stop offset="1" stop-color="#d7263d"/></linearGradient>',
    '<radialGradient id="g" gradientUnits="userSpaceOnUse" cx="55" cy="45" r="70">'
    '<stop offset="0" stop-color="#fefae0"/><stop offset="1" stop-color="#283618"/></radialGradient>',
], ids=["linear", "radial"])
def test_smooth_gradients_do_not_collapse(paint):
    image = render_svg_bytes(svg_doc(f'<defs>{paint}</defs><rect width="100" height="100" fill="url(#g)"/>'
                                     '<circle cx="30" cy="70" r="14" fill="#2a9d8f"/>'), 160)[..., :3].copy()
    result = vectorize_image(image, VectorizeConfig())
    assert result.gradients == 1
    assert result.psnr >= 35.0  # tracer defaults give one flat rectangle, about 12 dB
    assert result.paths <= 3
    assert result.see_through == 0
    # without gradient fills the same image is posterized into bands, not flattened
    banded = vectorize_image(image, VectorizeConfig(gradients=False))
    assert banded.gradients == 0 and banded.colours >= 6 and banded.psnr >= 25.0


def test_fitted_gradient_reproduces_its_source_colours():
    image = render_svg_bytes(svg_doc('<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="0">'
                                     '<stop offset="0" stop-color="#000080"/><stop offset="1" stop-color="#ffa500"/>'
                                     '</linearGradient></defs><rect width="100" height="100" fill="url(#g)"/>'),
                             128)[..., :3].copy()
    layer = vectorize_image(image, VectorizeConfig()).layers[0]
    assert layer.gradient is not None and layer.gradient.kind == "linear"
    ys, xs = np.mgrid[0:128:9, 0:128:9] + 0.5
    predicted = gradient_colours(layer.gradient, xs, ys) * 255
    assert np.abs(predicted - image[::9, ::9]).max() <= 6


def test_layer_masks_cover_their_colour_and_only_where_needed():
    rank = np.zeros((60, 60), np.int32)
    rank[10:30, 10:30] = 1  # colour 1: a square
    rank[20:40, 20:40] = 2  # colour 2 overlapping it
    rank[50:55, 50:55] = 2  # an isolated patch of colour 2, away from colour 1
    mask = layer_mask(rank, 1)
    assert mask[rank == 1].all()
    assert mask[25:30, 25:30].all()  # runs on under colour 2 where they touch
    assert not mask[50:55, 50:55].any()  # an isolated upper shape is left to its own layer
    assert not mask[rank == 0].any()


def test_traced_square_has_exact_coordinates():
    mask = np.zeros((64, 64), bool)
    mask[10:30, 20:50] = True
    (d,) = trace_mask(mask, VectorizeConfig(trace_mode="polygon"))
    points = {tuple(p) for sub in parse_path(d) for p in [sub.start] + [s[1:3] for s in sub.segments]}
    assert points == {(20, 10), (50, 10), (50, 30), (20, 30)}


def test_path_data_forms_render_identically():
    d = ("M10 10 h30 v20 H10 Z m50 0 q10 -10 20 0 t20 0 l0 20 h-40 z "
         "M10 50 C20 40 30 40 40 50 S60 60 70 50 L70 80 10 80z M80 60 l10 0 0 10 -10 0z")
    original = render_svg_bytes(svg_doc(f'<rect width="100" height="100" fill="#fff"/><path d="{d}" fill="#000"/>'),
                                100)
    rewritten = format_path(parse_path(d), precision=4)
    assert set(rewritten) <= set("MLCZ0123456789. -")
    again = render_svg_bytes(svg_doc(f'<rect width="100" height="100" fill="#fff"/><path d="{rewritten}"/>'), 100)
    assert np.abs(original.astype(int) - again).max() <= 1
    moved = translate_path("M0 0L10 0L10 10Z", 5, -2)
    assert moved == "M5-2L15-2L15 8Z"
    with pytest.raises(PathDataError):
        parse_path("M0 0 A5 5 0 0 1 10 10")
    with pytest.raises(PathDataError):
        parse_path("M0 0 L5 <script>")


def test_smooth_curves_follow_a_traced_circle_better_than_its_polygon():
    truth = render_svg_bytes(svg_doc('<circle cx="50" cy="50" r="35"/>'), 100)[..., 3]
    mask = truth > 127

    def traced(mode: str) -> np.ndarray:
        (d,) = trace_mask(mask, VectorizeConfig(trace_mode=mode, path_precision=2))
        return render_svg_bytes(svg_doc(f'<path d="{d}"/>'), 100)[..., 3]

    error = lambda alpha: np.abs(alpha.astype(int) - truth).sum()  # noqa: E731
    assert error(traced("smooth")) < 0.7 * error(traced("polygon"))
    square = smooth_contour_d(np.array([[0, 0], [10, 0], [10, 10], [0, 10]]))
    assert "c" not in square  # corners stay sharp


def test_large_images_are_traced_at_the_working_size_and_arrays_of_any_mode_work():
    image = make_specimen("antialiased", 3, size=160).image
    small = vectorize_image(image, VectorizeConfig(max_side=80))
    assert small.size == (80, 80) and small.see_through == 0
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
    assert vectorize_image(rgba).svg == vectorize_image(image).svg
    assert vectorize_image(image[..., 0]).colours >= 2  # a grey array
    with pytest.raises(ImageInputError):
        vectorize_image(np.zeros((4, 4, 3), np.uint8))
