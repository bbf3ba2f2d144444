"""`seedgen vectorize`: raster images to layered SVG and print PDF seeds (see the `vectorize` package)."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import click
from tqdm import tqdm

from augment.palette import PaletteError, parse_palette
from seedgen.batch import BatchReport
from seedgen.failure import UsageFailure
from vectorize.config import (
    COLOURS_RANGE,
    LAYERS_RANGE,
    METHODS,
    PARAMS_RANGE,
    SOFT_EDGES,
    STEPS_RANGE,
    TRACE_MODES,
    VectorizeConfig,
)
from vectorize.image_input import image_files
from vectorize.page import PageSizeError, parse_page_size
from vectorize.vectorize_run import FORMATS, iter_vectorize_files, register_method

LAYERS_METHOD = "seedgen.layered.export:layers_method"  # imported (with torch) only when used
register_method("layers", LAYERS_METHOD)


class FitProgress:
    """A progress bar over one image's fitting steps, started afresh for each image."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None or done < self.bar.n:
            self.close()
            self.bar = tqdm(total=total, desc="fitting layers", unit="step", leave=False, file=sys.stderr)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _usage_error(message: str) -> None:
    """A usage error: the CLI shows it as one line and exits 2."""
    raise UsageFailure(message)


@click.command("vectorize", short_help="Turn raster images into layered SVG and print PDF seeds.")
@click.argument("inputs", metavar="IMAGES...", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for NAME.svg, NAME.pdf and NAME.json (settings and quality metrics).")
@click.option("--method", type=click.Choice(METHODS), default="trace", show_default=True,
              help="How layers are found: 'trace' quantizes to a palette and traces each layer (fast); "
                   "'layers' fits T coloured parametric masks and writes their smooth contours (slow: "
                   "about 35 s per 512 px image on 2 CPU cores).")
@click.option("--layers", type=click.IntRange(*LAYERS_RANGE),
              help="With --method layers: T, the most masks (default 10).")
@click.option("--params", type=click.IntRange(*PARAMS_RANGE),
              help="With --method layers: K, parameters per mask (default 10).")
@click.option("--steps", type=click.IntRange(*STEPS_RANGE), help="With --method layers: fitting steps (default 400).")
@click.option("--soft", type=click.Choice(SOFT_EDGES),
              help="With --method layers: soft mask edges as hard 0.5 contours (default), one opacity per "
                   "layer (mean), or stacked opacity bands (levels).")
@click.option("--colors", "--colours", "colors", type=click.IntRange(*COLOURS_RANGE),
              help="Number of colours (default: the fewest that reproduce the image, at most 12).")
@click.option("--palette", help="Brand inks to snap to, e.g. '#0A3D62,#F6B93B' or 'Brand Blue=cmyk(100,60,0,20)' "
                                "(spot colours become PDF Separations), or a palette file.")
@click.option("--svg", "want_svg", is_flag=True, help="Write SVG (with --pdf: both; neither: both).")
@click.option("--pdf", "want_pdf", is_flag=True, help="Write PDF.")
@click.option("--page-size", help="Physical size: 210x210mm, 595pt, 8.5x11in, A4... The image covers the page "
                                  "(centred, cropped). Default: the image's proportions, 210 mm long side.")
@click.option("--cmyk", is_flag=True, help="PDF in DeviceCMYK instead of RGB (spot inks stay Separations).")
@click.option("--tile", is_flag=True,
              help="The images are seamless tiles (the right edge runs on into the left, the bottom into the "
                   "top): shapes that cross an edge come back on the opposite edge, so the SVG and PDF repeat "
                   "exactly (each clipped to the tile), and NAME.pattern.svg previews a 3x3 repeat in a "
                   "browser. Flat colours only (no gradients); not with --method layers, --trace-mode spline "
                   "or --page-size.")
@click.option("--trace-mode", type=click.Choice(TRACE_MODES), default="smooth", show_default=True,
              help="Outline style: smooth curves with sharp corners, straight polygons, or vtracer splines.")
@click.option("--thin-lines/--no-thin-lines", default=True, show_default=True,
              help="Keep lines too thin to have a flat inside (outlines, threads) in their own colour; "
                   "--no-thin-lines lets them melt into the shapes beside them (fewer paths).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same bytes).")
@click.option("--no-metrics", is_flag=True, help="Skip re-rendering the seed to measure PSNR/SSIM (faster).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--quiet", is_flag=True, help="No progress bar or per-file lines.")
def command(inputs: tuple[Path, ...], output: Path, method: str, layers: int | None, params: int | None,
            steps: int | None, soft: str | None, colors: int | None, palette: str | None, want_svg: bool,
            want_pdf: bool, page_size: str | None, cmyk: bool, tile: bool, trace_mode: str, thin_lines: bool,
            seed: int, no_metrics: bool, overwrite: bool, quiet: bool) -> None:
    """Vectorize IMAGES (files or folders of PNG/JPEG/WebP/TIFF) into layered seeds in OUTPUT.

    \b
    Examples:
      seedgen vectorize out/generated/ -o out/seeds --palette "#0a3d62,#f6b93b,Brand Red=cmyk(0,90,80,0)" --cmyk
      seedgen vectorize tile.png --tile -o out/tiles --svg --pdf      (a seamless tile that repeats exactly)
    """
    if colors is not None and palette is not None:
        _usage_error("use --colors or --palette, not both")
    layered = {k: v for k, v in dict(layers=layers, params=params, steps=steps, soft_edges=soft).items()
               if v is not None}
    if layered and method != "layers":
        _usage_error("--layers, --params, --steps and --soft need --method layers")
    if method == "layers" and colors is not None:
        _usage_error("--colors is for --method trace (--method layers takes --layers)")
    if tile and (method != "trace" or trace_mode == "spline" or page_size is not None):
        _usage_error("--tile needs --method trace, smooth or polygon outlines, and no --page-size (a cropped "
                     "tile no longer repeats)")
    try:
        inks = parse_palette(palette) if palette is not None else None
    except PaletteError as exc:
        _usage_error(f"--palette: {exc}")
    try:
        page = parse_page_size(page_size) if page_size is not None else None
    except PageSizeError as exc:
        _usage_error(f"--page-size: {exc}")
    config = VectorizeConfig(method=method, colors=colors, palette=inks, trace_mode=trace_mode, seed=seed,
                             colour_mode="cmyk" if cmyk else "rgb", tile=tile, thin_lines=thin_lines, **layered)
    formats = tuple(f for f, wanted in zip(FORMATS, (want_svg, want_pdf)) if wanted) or FORMATS
    sources = image_files(list(inputs))
    if not sources:
        _usage_error("no images found in " + ", ".join(str(p) for p in inputs))
    report = BatchReport("vectorize", quiet=quiet)
    if method == "layers" and not quiet:  # a fit takes about 35 s an image: show its steps
        from seedgen.layered.export import layers_method

        register_method("layers", functools.partial(layers_method, progress=FitProgress()))
    try:
        _vectorize_all(sources, output, config, formats, page, overwrite, not no_metrics, quiet, report)
    finally:
        register_method("layers", LAYERS_METHOD)
    raise SystemExit(report.finish())


def _vectorize_all(sources, output, config, formats, page, overwrite, measure, quiet, report) -> None:
    """Vectorize each image in turn: a line per file written, a failure line per file that failed."""
    outcomes = iter_vectorize_files(sources, output, config, formats, page, overwrite, measure=measure)
    for outcome in tqdm(outcomes, total=len(sources), disable=quiet, unit="image", leave=False):
        if not outcome.ok:
            with tqdm.external_write_mode(file=sys.stderr):  # keep the line clear of the progress bar
                report.fail(outcome.source, outcome.error)
            continue
        report.ok()
        if not quiet:
            r = outcome.result
            quality = f", PSNR {r.psnr:.1f} dB" if r.psnr is not None else ""
            tqdm.write(f"{outcome.source} -> {', '.join(p.name for p in outcome.written)} "
                       f"({len(r.layers)} layers, {r.paths} paths{quality})")
