"""Vectorizing: one image to colour layers and a seed (SVG, PDF, sidecar JSON); a batch of files.

`vectorize_image` is the whole method for one array (what the bridge and the generator call).
`vectorize_files` reads files, writes `OUT/<name>.svg|.pdf|.json` (and a tile's `<name>.pattern.svg`
preview) atomically, each once, and reports each input's outcome without stopping the batch: the CLI only
prints these outcomes. How layers are found is `config.method`: "trace" is built in; another method is
registered by the package that provides it (`register_method`), so this package imports nothing of theirs.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from augment.output import OutputExists, check_writable, write_atomic, write_json_atomic
from vectorize.config import METHODS, VectorizeConfig
from vectorize.gradient import find_gradients
from vectorize.image_input import ImageInputError, as_rgb8, load_image
from vectorize.layer import Layer
from vectorize.metrics import VectorizeResult, compare, count_paths
from vectorize.page import PageSize
from vectorize.pdf_writer import write_pdf
from vectorize.quantize import denoise_image, edge_strength, quantize, to_lab
from vectorize.svg_writer import write_pattern_svg, write_svg
from vectorize.tile import tile_layer_shapes, wrap_margin, wrap_pad
from vectorize.trace import TraceError, layer_shapes, trace_layers

FORMATS = ("svg", "pdf")


def fit_working_size(image: np.ndarray, max_side: int) -> np.ndarray:
    """Area-resample an image whose longer side exceeds `max_side` (tracing cost grows with pixels)."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def traced_layers(rgb: np.ndarray, config: VectorizeConfig) -> tuple[list[Layer], bool]:
    """The "trace" method: denoise, fit gradients, quantize to a palette, trace stacked layers. A tile
    (`config.tile`) is cleaned and quantized with its edges wrapped round, and traced to repeat
    (`vectorize.tile`)."""
    h, w = rgb.shape[:2]
    margin = wrap_margin(rgb.shape, config) if config.tile else 0
    rgb, denoised = denoise_image(wrap_pad(rgb, margin) if margin else rgb, config)
    lab = to_lab(rgb)
    strength = edge_strength(lab)
    gradients = find_gradients(rgb, lab, strength, config) if config.use_gradients else []
    quant = quantize(rgb, config, [g.region for g in gradients], lab=lab, strength=strength)
    paints = [(ink, None) for ink in quant.inks] + [(g.region.ink, g.gradient) for g in gradients]
    labels = quant.labels[margin:margin + h, margin:margin + w]
    return trace_layers(labels, paints, config, tile_layer_shapes if config.tile else layer_shapes), denoised


LayerMethod = Callable[[np.ndarray, VectorizeConfig], tuple[list[Layer], bool]]

# config.method -> function((H, W, 3) uint8 sRGB, config) -> (layers bottom first, denoised), or the
# "module:function" that holds it, imported on first use
LAYER_METHODS: dict[str, LayerMethod | str] = {"trace": traced_layers}


def register_method(name: str, method: LayerMethod | str) -> None:
    """Make `VectorizeConfig(method=name)` find layers with `method`: a function, or "module:function" to
    import only when the method is first used (for one with heavy imports). `name` is one of METHODS."""
    if name not in METHODS:
        raise ValueError(f"vectorize method must be one of {', '.join(METHODS)}, not {name!r}")
    LAYER_METHODS[name] = method


def layer_method(name: str) -> LayerMethod:
    """The function behind a method name (importing it on first use when it is named by module)."""
    if name not in LAYER_METHODS:
        raise ValueError(f"vectorize method {name!r} is not registered (register_method)")
    method = LAYER_METHODS[name]
    if isinstance(method, str):
        module, _, attribute = method.partition(":")
        method = LAYER_METHODS[name] = getattr(importlib.import_module(module), attribute)
    return method


def image_layers(image: np.ndarray, config: VectorizeConfig) -> tuple[list[Layer], bool]:
    """Colour layers (bottom first) for an image (see `as_rgb8`), at its own size, by `config.method`;
    also whether it was denoised. Raises ImageInputError for an array that is not an image."""
    return layer_method(config.method)(as_rgb8(image), config)


def vectorize_image(image: np.ndarray, config: VectorizeConfig | None = None, measure: bool = True,
                    title: str | None = None, page: PageSize | None = None) -> VectorizeResult:
    """Vectorize an image (uint8 or 0..1 float; grey, RGB or RGBA) into layers and an SVG on `page` (default:
    the canvas's proportions, `config.size_mm` long), measured against the image (after the `max_side`
    resampling: `result.size` is the canvas)."""
    config = config or VectorizeConfig()
    image = fit_working_size(as_rgb8(image), config.max_side)
    h, w = image.shape[:2]
    start = time.perf_counter()
    layers, denoised = image_layers(image, config)
    svg = write_svg(layers, (w, h), page=page, size_mm=config.size_mm, title=title, clip=config.tile)
    seconds = time.perf_counter() - start
    paths, subpaths = count_paths(svg)
    result = VectorizeResult(
        layers=layers, svg=svg, size=(w, h), colours=sum(layer.gradient is None for layer in layers),
        gradients=sum(layer.gradient is not None for layer in layers), paths=paths, subpaths=subpaths,
        svg_bytes=len(svg), seconds=seconds, denoised=denoised)
    if measure:  # against the whole canvas, which a page may crop
        whole = svg if page is None else write_svg(layers, (w, h), size_mm=config.size_mm, clip=config.tile)
        result.psnr, result.ssim, result.see_through, _ = compare(whole, image)
    return result


@dataclass
class FileOutcome:
    """What happened to one input file: the files written, or the one-line reason it failed."""

    source: Path
    written: list[Path] = field(default_factory=list)
    error: str | None = None
    result: VectorizeResult | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _outputs(source: Path, out_dir: Path, formats: tuple[str, ...], tile: bool) -> dict[str, Path]:
    targets = {fmt: out_dir / f"{source.stem}.{fmt}" for fmt in formats}
    if tile and "svg" in formats:  # a tile's repeat, to see in a browser
        targets["pattern"] = out_dir / f"{source.stem}.pattern.svg"
    targets["json"] = out_dir / f"{source.stem}.json"
    return targets


def vectorize_file(source: Path, out_dir: Path, config: VectorizeConfig, formats: tuple[str, ...] = FORMATS,
                   page: PageSize | None = None, overwrite: bool = False, measure: bool = True) -> FileOutcome:
    """Vectorize one image file into `out_dir`; never raises for a bad input (see FileOutcome.error)."""
    source = Path(source)
    outcome = FileOutcome(source)
    targets = _outputs(source, Path(out_dir), formats, config.tile)
    try:
        for target in targets.values():  # refuse before the work, not after
            check_writable(target, overwrite)
        image = load_image(source)
        result = vectorize_image(image, config, measure=measure, title=source.stem, page=page)
        outcome.result = result
        if "svg" in formats:
            outcome.written.append(write_atomic(targets["svg"], result.svg, overwrite=overwrite))
        if "pattern" in targets:
            pattern = write_pattern_svg(result.layers, result.size, size_mm=config.size_mm, title=source.stem)
            outcome.written.append(write_atomic(targets["pattern"], pattern, overwrite=overwrite))
        if "pdf" in formats:
            pdf = write_pdf(result.layers, result.size, page=page, colour_mode=config.colour_mode,
                            size_mm=config.size_mm, title=source.stem, clip=config.tile)
            outcome.written.append(write_atomic(targets["pdf"], pdf, overwrite=overwrite))
        sidecar = {
            "source": str(source),
            "outputs": [p.name for p in outcome.written],
            "page_mm": [round(page.width_mm, 3), round(page.height_mm, 3)] if page else None,
            "config": config.to_json(),
            "layers": [{"name": layer.label, "paths": len(layer.paths),
                        "gradient": layer.gradient.kind if layer.gradient else None,
                        **layer.ink.to_json()} for layer in result.layers],
            "metrics": result.to_json(),
        }
        outcome.written.append(write_json_atomic(targets["json"], sidecar, overwrite=overwrite))
    except OutputExists as exc:
        outcome.error = f"{exc.path.name} already exists (use --overwrite to replace it)"
    except (ImageInputError, TraceError) as exc:
        outcome.error = str(exc)
    except MemoryError:
        outcome.error = "out of memory while tracing (lower VectorizeConfig.max_side)"
    except OSError as exc:
        outcome.error = f"cannot write output: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - one odd image must not stop a batch of thousands
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        outcome.error = f"could not vectorize ({exc.__class__.__name__}{': ' + detail if detail else ''})"
    return outcome


def iter_vectorize_files(sources: list[Path], out_dir: Path, config: VectorizeConfig,
                         formats: tuple[str, ...] = FORMATS, page: PageSize | None = None,
                         overwrite: bool = False, measure: bool = True) -> Iterator[FileOutcome]:
    """Vectorize files one by one, yielding each outcome; inputs sharing a name fail after the first."""
    seen: dict[str, Path] = {}
    for source in map(Path, sources):
        if source.stem in seen:
            yield FileOutcome(source, error=f"same output name as {seen[source.stem]}")
            continue
        seen[source.stem] = source
        yield vectorize_file(source, out_dir, config, formats, page, overwrite, measure)


def vectorize_files(sources: list[Path], out_dir: Path, config: VectorizeConfig | None = None,
                    formats: tuple[str, ...] = FORMATS, page: PageSize | None = None,
                    overwrite: bool = False, measure: bool = True) -> list[FileOutcome]:
    """Vectorize a batch of image files into `out_dir` (see iter_vectorize_files)."""
    return list(iter_vectorize_files(sources, out_dir, config or VectorizeConfig(), formats, page, overwrite,
                                     measure))
