"""Layers drawn straight to pixels (vectorize.layer_raster) against their written SVG rendered by cairosvg: the
same pixels, for traced seeds and for every paint, fill rule, opacity, clip and page the writers know."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from augment.palette import Ink
from augment.rasterize import render_svg_bytes
from vectorize.config import VectorizeConfig
from vectorize.layer import Gradient, GradientStop, Layer
from vectorize.layer_raster import render_layers
from vectorize.page import PageSize
from vectorize.path_data import Shape, Subpath, cubic_shape, polygon_shape, rectangle
from vectorize.svg_writer import write_svg
from vectorize.vectorize_run import image_layers

CANVAS = (120, 90)


def ink(r: int, g: int, b: int) -> Ink:
    return Ink((r / 255, g / 255, b / 255))


def square(x: float, y: float, side: float, clockwise: bool = True) -> np.ndarray:
    points = [(x, y), (x + side, y), (x + side, y + side), (x, y + side)]
    return np.array(points if clockwise else points[::-1])


def every_kind_of_layer() -> list[Layer]:
    """A background, a shape with a hole (nonzero, wound the other way), an even-odd layer of nested squares, a
    soft layer whose two shapes overlap, cubic curves with fractional coordinates written relative at one
    decimal, gradients of both kinds (one soft), and shapes crossing the canvas's edges."""
    ring = polygon_shape([square(10, 10, 50), square(25, 25, 20, clockwise=False)])
    nested = polygon_shape([square(60, 5, 50), square(70, 15, 30)])
    soft = polygon_shape([square(5, 40, 40), square(25, 50, 40)])
    blob = cubic_shape([np.array([[[30.123, 70.456], [45.5, 55.25], [70.75, 95.125], [90.333, 70.667]],
                                  [[90.333, 70.667], [75.2, 60.1], [50.05, 85.95], [30.123, 70.456]]])])
    blob = Shape(blob.subpaths, precision=1, relative=True)
    open_triangle = Shape((Subpath((100.0, 60.0), (("L", 130.0, 95.0), ("L", 85.0, 100.0)), closed=False),))
    linear = Gradient("linear", (0.0, 0.0), (GradientStop(0.0, ink(255, 0, 80)), GradientStop(0.6, ink(0, 90, 255)),
                                              GradientStop(1.0, ink(250, 240, 10))), end=(120.0, 90.0))
    radial = Gradient("radial", (60.0, 45.0), (GradientStop(0.0, ink(255, 255, 255)),
                                               GradientStop(1.0, ink(10, 120, 40))), radius=30.0)
    return [
        Layer(ink(240, 235, 220), (rectangle(*CANVAS),)),
        Layer(ink(200, 30, 60), (ring,)),
        Layer(ink(20, 60, 160), (nested,), fill_rule="evenodd"),
        Layer(ink(250, 180, 0), (soft,), opacity=0.55),
        Layer(ink(40, 40, 40), (blob, open_triangle)),
        Layer(ink(128, 64, 200), (polygon_shape([square(-10, -10, 30)]),), gradient=linear),
        Layer(ink(90, 180, 90), (polygon_shape([square(95, 65, 40)]),), gradient=radial, opacity=0.7),
    ]


def assert_same_picture(layers: list[Layer], size: tuple[int, int], width: int, height: int,
                        page: PageSize | None = None, clip: bool = False) -> None:
    svg = write_svg(layers, size, page=page, clip=clip)
    expected = render_svg_bytes(svg, width, height)
    drawn = render_layers(layers, size, width, height, page, clip=clip)
    assert drawn.shape == expected.shape == (height, width, 4)
    assert (drawn == expected).all(), np.abs(drawn.astype(int) - expected.astype(int)).max()


@pytest.mark.parametrize("page, width, height", [
    (None, 240, 180),                              # the canvas's own proportions, at 2x
    (PageSize.from_mm(210, 297), 256, 362),        # a portrait page: the canvas's middle, cropped at its sides
    (PageSize.from_mm(300, 100), 300, 100),        # a wide page: cropped at top and bottom
    (None, 97, 61),                                # an odd size whose aspect is not quite the canvas's
])
@pytest.mark.parametrize("clip", [False, True])
def test_every_paint_fill_rule_opacity_and_page_draws_as_the_svg_renders(page, width, height, clip):
    assert_same_picture(every_kind_of_layer(), CANVAS, width, height, page, clip)


def test_a_picture_of_another_shape_shows_the_page_centred():
    """As an SVG renders into a box of other proportions: scaled to fit, centred, see-through around it."""
    layers = [Layer(ink(255, 0, 0), (rectangle(*CANVAS),))]
    alpha = render_layers(layers, CANVAS, 120, 120)[..., 3]     # the 4:3 canvas in a square
    assert alpha[:14].max() == 0 and alpha[-14:].max() == 0 and alpha[16:-16].min() == 255
    alpha = render_layers(layers, CANVAS, 256, 362, PageSize.from_mm(210, 297))[..., 3]    # a page's own aspect
    assert alpha[1:-1, 1:-1].min() == 255


def test_a_traced_seed_draws_as_its_svg_renders():
    """The generate path: a seed traced from pixels, its thumbnail on a square page and a PNG preview on A4."""
    rng = np.random.default_rng(3)
    image = np.full((128, 128, 3), (236, 230, 214), np.uint8)
    colours = [(200, 40, 70), (30, 90, 160), (250, 190, 30), (40, 140, 90)]
    for k in range(24):
        centre = tuple(int(v) for v in rng.integers(0, 128, 2))
        cv2.circle(image, centre, int(rng.integers(6, 30)), colours[k % 4], -1, lineType=cv2.LINE_AA)
    big = cv2.resize(image, (256, 256), interpolation=cv2.INTER_CUBIC)
    layers, _ = image_layers(big, VectorizeConfig(seed=1))
    assert len(layers) >= 4
    assert_same_picture(layers, (256, 256), 256, 256, PageSize.from_mm(210, 210))
    assert_same_picture(layers, (256, 256), 512, 724, PageSize.from_mm(210, 297))


def test_sizes_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        render_layers(every_kind_of_layer(), CANVAS, 0, 10)
