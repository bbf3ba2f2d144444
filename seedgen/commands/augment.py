"""`seedgen augment`: multiply vector seeds by recolouring, rotating, zooming and cropping, full-bleed."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from augment.augment_run import AugmentConfig, augment_library
from augment.palette import Palette, PaletteError, parse_palette
from augment.variant import SAMPLED_RECOLOUR_MODES, parse_aspect
from seedgen.batch import BatchReport


def _palette(ctx: click.Context, param: click.Parameter, value: str | None) -> Palette | None:
    if value is None:
        return None
    try:
        return parse_palette(value)
    except PaletteError as exc:
        raise click.BadParameter(str(exc)) from None


def _aspect(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        return parse_aspect(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(
    "augment",
    epilog="Example:  seedgen augment samples/ --variants 10 -o out/variants --palette '#0A3D62,#F8C291,#E55039'",
)
@click.argument("seeds_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the variants and manifest.json (subfolders of SEEDS_DIR are mirrored).")
@click.option("-n", "--variants", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Variants per seed.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed: the same seed gives the same bytes.")
@click.option("--recolour", "--recolor", "recolour", default="auto", show_default=True,
              type=click.Choice(SAMPLED_RECOLOUR_MODES),
              help="shuffle the seed's colours, rotate hues, map onto --palette, none, mixed (one drawn per "
                   "variant), or auto (palette if --palette is given, else mixed).")
@click.option("--palette", callback=_palette,
              help="Brand colours: '#0A3D62,#F8C291,...', cmyk(...), 'Name=#hex', or a palette file.")
@click.option("--aspect", default="1:1", show_default=True, callback=_aspect, help="Canvas aspect W:H, e.g. 3:2.")
@click.option("--size", default=1024, show_default=True, type=click.IntRange(16, 16384),
              help="Canvas longer side in px (PDF: 0.75 pt per px).")
@click.option("--zoom-max", default=2.0, show_default=True, type=click.FloatRange(1.0, 8.0),
              help="Largest zoom beyond the minimum full-bleed scale.")
@click.option("--overwrite", is_flag=True, help="Replace existing variants and manifest.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(seeds_dir: Path, out_dir: Path, variants: int, seed: int, recolour: str, palette: Palette | None,
            aspect: tuple[float, float], size: int, zoom_max: float, overwrite: bool, quiet: bool) -> None:
    """Write N full-bleed vector variants (SVG or PDF, as the input) of every seed in SEEDS_DIR."""
    if recolour == "palette" and palette is None:
        raise click.UsageError("--recolour palette needs --palette")
    if palette is not None and recolour not in ("auto", "palette", "mixed"):
        raise click.UsageError(f"--palette is only used with --recolour auto, palette or mixed (not {recolour})")
    config = AugmentConfig(variants=variants, seed=seed, zoom_max=zoom_max, aspect=aspect, size=size,
                           recolour=recolour, palette=palette, overwrite=overwrite)
    report = BatchReport("augment", quiet=quiet)
    bar = None

    class BarSafeReport:
        """Failure lines go out with the progress bar cleared, so each stays one whole line."""

        def ok(self, count: int = 1) -> None:
            report.ok(count)

        def fail(self, path: str | Path, reason: str | BaseException) -> None:
            if bar is None:
                report.fail(path, reason)
            else:
                with bar.external_write_mode(file=sys.stderr):
                    report.fail(path, reason)

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="seed", desc="augment", leave=False, file=sys.stderr)
        bar.update(done - bar.n)

    try:
        result = augment_library(seeds_dir, out_dir, config, BarSafeReport(), progress)
    finally:
        if bar is not None:
            bar.close()
    if result.manifest is not None and not quiet:
        click.echo(f"wrote {result.variants_written} variants to {out_dir} (manifest: {result.manifest})")
    raise SystemExit(report.finish())
