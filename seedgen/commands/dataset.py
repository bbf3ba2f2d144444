"""`seedgen dataset`: rasterize a seed library into a square RGB PNG training set (augment.dataset does the work)."""
from __future__ import annotations

from pathlib import Path

import click

from augment.dataset import DatasetConfig, build_dataset
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


@click.command(name="dataset")
@click.argument("seeds_dir", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the PNGs and dataset.json.")
@click.option("--size", type=click.IntRange(8, 4096), default=DatasetConfig.size, show_default=True,
              help="Side of each square PNG in px.")
@click.option("--crops", type=click.IntRange(1, 1000), default=DatasetConfig.crops, show_default=True,
              help="Square crops per seed: the centred full square, then random zoomed windows.")
@click.option("--zoom-range", default="1,2", show_default=True, callback=_zoom_range,
              help="MIN,MAX zoom of the random crops (window side = short side / zoom).")
@click.option("--seed", type=int, default=DatasetConfig.seed, show_default=True, help="Random seed for the crops.")
@click.option("--background", default=DatasetConfig.background, show_default=True,
              help='Colour that transparency is flattened onto, or "auto" for the seed\'s own background.')
@click.option("--jobs", type=click.IntRange(1, 64), default=DatasetConfig.jobs, show_default=True,
              help="Sandboxed render workers.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 3600), default=DatasetConfig.timeout_s,
              show_default=True, help="Seconds one seed may take to render.")
@click.option("--memory-mb", type=click.IntRange(64, 65536), default=DatasetConfig.memory_mb, show_default=True,
              help="Memory one render may use, in MB.")
@click.option("--overwrite", is_flag=True, help="Replace existing PNGs and dataset.json.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(seeds_dir: Path, out_dir: Path, size: int, crops: int, zoom_range: tuple[float, float], seed: int,
            background: str, jobs: int, timeout_s: float, memory_mb: int, overwrite: bool, quiet: bool) -> None:
    """Rasterize SVG/PDF seeds (and PNG/JPEG images) into square RGB PNGs for training.

    \b
    Example:
      seedgen dataset out/variants -o out/data --size 256 --crops 4 --zoom-range 1,2 --seed 7
    """
    config = DatasetConfig(size=size, crops=crops, zoom_range=zoom_range, seed=seed, background=background,
                           jobs=jobs, timeout_s=timeout_s, memory_mb=memory_mb, overwrite=overwrite)
    try:
        config.validate()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    report = BatchReport("dataset", quiet=quiet)
    manifest = build_dataset(seeds_dir, out_dir, config, report, progress=not quiet)
    if not quiet and manifest["images"]:
        click.echo(f"{len(manifest['images'])} images in {out_dir}")
    raise SystemExit(report.finish())
