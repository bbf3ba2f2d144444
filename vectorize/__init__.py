"""vectorize: raster images (or layer masks) to clean, layered SVG and print-ready PDF seeds.

    image --denoise--> Lab --gradients (gradient.py)--> palette + label map (quantize.py)
          --union masks + vtracer (trace.py, curve.py)--> [Layer] --> write_svg / write_pdf

Public API (imported lazily, so `from vectorize.layer import Layer` stays light):

    VectorizeConfig                      every option, once (config.py)
    vectorize_image(image, config)       -> VectorizeResult (layers, SVG, PSNR/SSIM/paths/bytes/time)
    image_layers(image, config)          -> ([Layer], denoised)
    vectorize_files(paths, out, config)  -> [FileOutcome]: SVG/PDF/JSON per image, batch goes on
    register_method(name, function)      how another package finds layers (config.method)
    Layer, Gradient, GradientStop        the geometry contract of the writers (layer.py)
    Shape, Subpath                       a layer's paths: lines and cubic Beziers (path_data.py)
    cubic_shape, polygon_shape           shapes from Bezier control points or polygons
    write_svg(layers, size, page=...)    -> bytes
    write_pdf(layers, size, page=..., colour_mode="rgb"|"cmyk") -> bytes
    PageSize, parse_page_size            physical sizes ("210x210mm", "595pt", "A4")
    cubic_path_d, polygon_path_d         the same as path data text
    load_image                           any raster file to 8-bit sRGB, or a one-line ImageInputError
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "VectorizeConfig": "vectorize.config",
    "vectorize_image": "vectorize.vectorize_run",
    "image_layers": "vectorize.vectorize_run",
    "vectorize_file": "vectorize.vectorize_run",
    "vectorize_files": "vectorize.vectorize_run",
    "iter_vectorize_files": "vectorize.vectorize_run",
    "FileOutcome": "vectorize.vectorize_run",
    "register_method": "vectorize.vectorize_run",
    "VectorizeResult": "vectorize.metrics",
    "Layer": "vectorize.layer",
    "Gradient": "vectorize.layer",
    "GradientStop": "vectorize.layer",
    "write_svg": "vectorize.svg_writer",
    "write_pdf": "vectorize.pdf_writer",
    "PageSize": "vectorize.page",
    "PageSizeError": "vectorize.page",
    "parse_page_size": "vectorize.page",
    "Shape": "vectorize.path_data",
    "Subpath": "vectorize.path_data",
    "cubic_shape": "vectorize.path_data",
    "polygon_shape": "vectorize.path_data",
    "cubic_path_d": "vectorize.path_data",
    "polygon_path_d": "vectorize.path_data",
    "parse_path": "vectorize.path_data",
    "PathDataError": "vectorize.path_data",
    "load_image": "vectorize.image_input",
    "ImageInputError": "vectorize.image_input",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vectorize' has no attribute {name!r}")
