"""`seedgen dataset`: rasterize a seed library into a square RGB PNG training set (augment.dataset does the work).

Two modes: square PNGs of the whole seed resized to --size (zoomed windows with --crops), or, with
--native-crop, windows cut at the seed's own scale from one large render, pixel for pixel.
"""
from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from augment.dataset import NATIVE_CROP_RANGE, RENDER_SIZE_RANGE, DatasetConfig, build_dataset
from seedgen.batch import BatchReport


def _zoom_range(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        parts = [float(v) for v in value.replace(":", ",").split(",")]
    except ValueError:
        raise click.BadParameter(f"expected MIN,MAX such as 1,2; got {value!r}") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not 1.0 <= parts[0] <= parts[1] <= 8.0:
        raise click.BadParameter(f"expected MIN,MAX with 1 <= MIN <= MAX <= 8; got {value!r}")
    return parts[0], parts[1]


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the user set option `name` (on the command line or through the environment)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _check_mode(ctx: click.Context, native_crop: int | None) -> None:
    """Options of one mode are refused in the other, as a one-line usage error."""
    if native_crop is not None:
        for name, flag in (("size", "--size"), ("zoom_range", "--zoom-range")):
            if _given(ctx, name):
                raise click.BadParameter("not with --native-crop (native crops are --native-crop px, never "
                                         "resized or zoomed)", param_hint=flag)
    elif _given(ctx, "render_size"):
        raise click.BadParameter("only with --native-crop", param_hint="--render-size")


@click.command(name="dataset")
@click.argument("seeds_dir", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the PNGs and dataset.json.")
@click.option("--size", type=click.IntRange(8, 4096), default=DatasetConfig.size, show_default=True,
              help="Side of each square PNG in px (not with --native-crop).")
@click.option("--crops", type=click.IntRange(1, 1000), default=DatasetConfig.crops, show_default=True,
              help="Square crops per seed: the centred full square, then random zoomed windows "
                   "(with --native-crop: all at random places).")
@click.option("--zoom-range", default="1,2", show_default=True, callback=_zoom_range,
              help="MIN,MAX zoom of the random crops (window side = short side / zoom; not with --native-crop).")
@click.option("--native-crop", type=click.IntRange(*NATIVE_CROP_RANGE), default=None, metavar="PX",
              help="Native-crop mode: cut --crops random PX x PX windows from each seed rendered at "
                   "--render-size, pixel for pixel (no resizing), for texture models. A seed whose render's "
                   "short side is under PX fails.")
@click.option("--render-size", type=click.IntRange(*RENDER_SIZE_RANGE), default=DatasetConfig.render_size,
              show_default=True, metavar="PX",
              help="With --native-crop: the render's long side in px (the seed keeps its aspect ratio).")
@click.option("--seed", type=int, default=DatasetConfig.seed, show_default=True, help="Random seed for the crops.")
@click.option("--background", default=DatasetConfig.background, show_default=True,
              help='Colour that transparency is flattened onto, or "auto" for the seed\'s own background.')
@click.option("--jobs", type=click.IntRange(1, 64), default=DatasetConfig.jobs, show_default=True,
              help="Sandboxed render workers.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 3600), default=DatasetConfig.timeout_s,
              show_default=True, help="Seconds one seed may take to render.")
@click.option("--memory-mb", type=click.IntRange(64, 65536), default=DatasetConfig.memory_mb,
              help="Memory one render may use, in MB [default: 1024; with --native-crop, 64 bytes per render "
                   "pixel + 128 MB when that is more: 1152 at --render-size 4096].")
@click.option("--overwrite", is_flag=True, help="Replace existing PNGs and dataset.json.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def command(ctx: click.Context, seeds_dir: Path, out_dir: Path, size: int, crops: int,
            zoom_range: tuple[float, float], native_crop: int | None, render_size: int, seed: int, background: str,
            jobs: int, timeout_s: float, memory_mb: int | None, overwrite: bool, quiet: bool) -> None:
    """Rasterize SVG/PDF seeds (and PNG/JPEG images) into square RGB PNGs for training.

    \b
    Examples:
      seedgen dataset out/variants -o out/data --size 256 --crops 4 --zoom-range 1,2 --seed 7
      seedgen dataset out/variants -o out/crops --native-crop 256 --render-size 384 --crops 3
    """
    _check_mode(ctx, native_crop)
    config = DatasetConfig(size=size, crops=crops, zoom_range=zoom_range, seed=seed, background=background,
                           jobs=jobs, timeout_s=timeout_s, memory_mb=memory_mb, overwrite=overwrite,
                           native_crop=native_crop, render_size=render_size)
    try:
        config.validate()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    report = BatchReport("dataset", quiet=quiet)
    manifest = build_dataset(seeds_dir, out_dir, config, report, progress=not quiet)
    if not quiet and manifest["images"]:
        click.echo(f"{len(manifest['images'])} images in {out_dir}")
    raise SystemExit(report.finish())
