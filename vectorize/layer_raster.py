"""Drawing layers straight to pixels with cairo: the picture their SVG shows, without writing and parsing it.

`write_svg` then `render_svg_bytes` (cairosvg) gives the same picture, but cairosvg reads the path data back
in Python, number by number: 0.1 s of a traced 256 px seed's thumbnail, as long as tracing it. Here each
layer's shapes go to the cairo context that cairosvg would have filled, in the same order and with the same
numbers (the path data's commands and numbers as the writer writes them, every colour as its 8-bit hex value),
so the pixels are those of a render of the written SVG (tests/test_layer_raster.py compares them).

Like an SVG `<path>` in a layer's `<g>`, each shape is filled on its own: with `fill-opacity` below 1 two
overlapping shapes of one layer darken where they overlap, in the file and here alike.
"""
from __future__ import annotations

import cairocffi as cairo
import numpy as np

from augment.rasterize import surface_to_rgba
from augment.palette import Ink
from vectorize.layer import Gradient, Layer
from vectorize.page import PageSize, cover_window, default_page
from vectorize.path_data import Shape, written_commands

_FILL_RULES = {"nonzero": cairo.FILL_RULE_WINDING, "evenodd": cairo.FILL_RULE_EVEN_ODD}


def render_layers(layers: list[Layer] | tuple[Layer, ...], size: tuple[int, int], width: int, height: int,
                  page: PageSize | None = None, size_mm: float = 210.0, clip: bool = False) -> np.ndarray:
    """(height, width, 4) uint8 RGBA of `layers` on a canvas of `size`, as `render_svg_bytes` shows
    `write_svg(layers, size, page, size_mm, clip=clip)` at width x height: the part of the canvas the page
    covers (the SVG's viewBox, as written), scaled uniformly to fit and centred (SVG's default
    preserveAspectRatio, xMidYMid meet); transparent where no layer is."""
    if width < 1 or height < 1:
        raise ValueError("the picture's width and height must be positive")
    view_x, view_y, view_w, view_h = (_as_written(v) for v in cover_window(size, page or default_page(size, size_mm)))
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, width, height)
    context = cairo.Context(surface)
    scale = min(width / view_w, height / view_h)
    context.translate((width - view_w * scale) / 2, (height - view_h * scale) / 2)
    context.scale(scale, scale)
    context.translate(-view_x, -view_y)
    if clip:
        context.rectangle(0, 0, size[0], size[1])
        context.clip()
    for layer in layers:
        context.set_fill_rule(_FILL_RULES[layer.fill_rule])
        paint = _gradient(layer.gradient, layer.opacity) if layer.gradient is not None else None
        for shape in layer.paths:
            _replay(context, shape)
            if paint is not None:
                context.set_source(paint)
            else:
                context.set_source_rgba(*_written(layer.ink), layer.opacity)
            context.fill()
    return surface_to_rgba(surface)


def _as_written(value: float) -> float:
    """A number of the SVG's viewBox as the writer writes it: 3 decimals."""
    return float(f"{value:.3f}")


def _replay(context: cairo.Context, shape: Shape) -> None:
    """The shape's path data, command by command as written (`written_commands`), onto the context's path:
    relative commands through cairo's relative calls, as cairosvg draws them (they add up in cairo's fixed
    point, so an absolute replay of the same shape differs along some edges by up to a quarter of a level)."""
    calls = {"M": context.move_to, "L": context.line_to, "C": context.curve_to,
             "l": context.rel_line_to, "c": context.rel_curve_to}
    for letter, texts in written_commands(shape):
        if letter in "Zz":
            context.close_path()
        else:
            calls[letter](*(float(text) for text in texts))


def _written(ink: Ink) -> tuple[float, float, float]:
    """The ink as the SVG writes it: its hex value, 8 bits a channel."""
    return tuple(int(ink.hex[k: k + 2], 16) / 255 for k in (1, 3, 5))


def _gradient(gradient: Gradient, opacity: float) -> cairo.Gradient:
    """A cairo gradient in canvas units, padded beyond its ends (SVG's default spreadMethod)."""
    if gradient.kind == "linear":
        pattern = cairo.LinearGradient(*gradient.start, *gradient.end)
    else:
        pattern = cairo.RadialGradient(*gradient.start, 0.0, *gradient.start, gradient.radius)
    pattern.set_extend(cairo.EXTEND_PAD)
    for stop in gradient.stops:
        pattern.add_color_stop_rgba(stop.offset, *_written(stop.ink), opacity)
    return pattern
