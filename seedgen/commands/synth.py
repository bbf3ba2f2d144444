"""`seedgen synth`: draw procedural mosaic-style seeds (seedgen.synth does the work)."""
from __future__ import annotations

from pathlib import Path

import click

from seedgen.batch import BatchReport
from seedgen.synth import MAX_SIZE, MIN_SIZE, STYLES, parse_styles, synthesize_library


def _styles(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_styles(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(name="synth")
@click.option("-n", "--count", type=click.IntRange(1, 1_000_000), required=True, help="How many seeds.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the SVGs and synth.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed gives the same bytes.")
@click.option("--style", "styles", default="all", show_default=True, callback=_styles,
              help=f"all, one style or a comma list, cycled: {', '.join(STYLES)}.")
@click.option("--size", type=click.IntRange(MIN_SIZE, MAX_SIZE), default=1024, show_default=True,
              help="Width and height of each seed in px.")
@click.option("--overwrite", is_flag=True, help="Replace existing seeds and synth.json.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(count: int, out_dir: Path, seed: int, styles: tuple[str, ...], size: int, overwrite: bool,
            quiet: bool) -> None:
    """Draw procedural full-bleed vector seeds in mosaic styles (no ML).

    \b
    Example:
      seedgen synth -n 16 -o out/synth --style waves,truchet --seed 3
    """
    report = BatchReport("synth", quiet=quiet)
    written = synthesize_library(out_dir, count, seed=seed, styles=styles, size=size, overwrite=overwrite,
                                 report=report, progress=not quiet)
    if not quiet:
        click.echo(f"{len(written)} seeds in {out_dir}")
    raise SystemExit(report.finish())
