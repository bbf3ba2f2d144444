"""`seedgen eval`: measure generated seeds against real ones (style, novelty, diversity, Mosaic suitability)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from seedgen.batch import BatchReport


@click.command(
    "eval",
    epilog="Example:\n\n\b\n  seedgen eval out/generated --reference seeds/heldout --train data/train -o out/eval",
)
@click.argument("generated_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--reference", "reference_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Held-back real seeds the generated ones should look like.")
@click.option("--train", "train_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The training set: generated seeds close to one of these are near-copies.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.html and metrics.json.")
@click.option("--size", type=click.IntRange(32, 1024), default=256, show_default=True,
              help="Square px side every seed is rendered at.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option("--max-images", type=click.IntRange(0), default=0, show_default=True,
              help="Use at most the first N seeds of each folder (0: all).")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Sandboxed rasterizer workers.")
@click.option("--overwrite", is_flag=True, help="Replace an existing report.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(generated_dir: Path, reference_dir: Path, train_dir: Path | None, out_dir: Path, size: int, seed: int,
            max_images: int, jobs: int, overwrite: bool, quiet: bool) -> None:
    """Score GENERATED_DIR (SVG, PDF, PNG or JPEG seeds) against --reference and --train; write a report.

    Style: multi-scale SWD on pixel patches, and FD and KID in pretrained ImageNet features (EfficientNet-Lite0;
    each seed whole and as 4 half-size crops). FD grows as sets shrink: compare FDs only between sets of one
    size, and trust KID for sets of a few hundred seeds or fewer.
    """
    from seedgen.evaluation.evaluate import EvalConfig, evaluate_seeds

    config = EvalConfig(size=size, seed=seed, max_images=max_images, jobs=jobs)
    report = BatchReport("eval", quiet=quiet)
    bar = _ProgressBar(disabled=quiet)
    try:
        result = evaluate_seeds(generated_dir, reference_dir, train_dir, out_dir, config,
                                overwrite=overwrite, report=report, progress=bar.update)
    finally:
        bar.close()
    for name, listing in result.listings.items():
        click.echo(f"{name}: {listing.folder}: {listing.describe()}")
    for warning in result.metrics["warnings"]:
        click.echo(f"seedgen eval: warning: {warning}", err=True)
    for key, value in result.metrics["summary"].items():
        click.echo(f"{key:>22}: {'n/a' if value is None else f'{value:.4g}'}")
    click.echo(f"report: {out_dir / 'report.html'}")
    sys.exit(report.finish())


class _ProgressBar:
    """One tqdm bar per stage of the evaluation, on stderr."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self.stage: str | None = None
        self.bar = None

    def update(self, stage: str, done: int, total: int) -> None:
        if self.disabled:
            return
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, unit="step", leave=False, file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
