"""`seedgen generate`: the main job — new, unique vector seeds from the packaged default model or your own."""
from __future__ import annotations

import json
import sys

import click

from vectorize.config import SOFT_EDGES

EXAMPLE = "seedgen generate --n 50 --svg -o seeds/"


@click.command(
    "generate",
    help=f"""Generate new vector seeds from a model, unique against its training set and the library folder.

\b
Example:  {EXAMPLE}
          seedgen generate --n 12 --pdf --png --palette "#0A3D62,#F8C291,PANTONE 286 C=cmyk(100,75,0,2)" -o brand/
          seedgen generate --n 8 --like my-seed.svg --svg -o variations/
""",
)
@click.option("-n", "--n", "n", type=int, default=50, show_default=True, help="How many seeds to write (1-10000).")
@click.option("-o", "--out", "out", type=click.Path(file_okay=False), default="seeds", show_default=True,
              help="Library folder for the seeds (also holds the uniqueness index).")
@click.option("--model", default=None, help="Checkpoint (.safetensors) or packaged model name; default: the packaged model.")
@click.option("--svg", "svg", is_flag=True, help="Write SVG seeds.")
@click.option("--pdf", "pdf", is_flag=True, help="Write print PDF seeds.")
@click.option("--png", "png", is_flag=True, help="Write PNG previews.")
@click.option("--size", default="1024", show_default=True, help="Pixels (1024) or a physical size (210mm, 8in, A4).")
@click.option("--truncation", type=float, default=0.7, show_default=True, help="0..1: lower is safer, higher more varied.")
@click.option("--seed", type=int, default=None, help="Run seed; the same seed gives the same seeds. Default: random.")
@click.option("--palette", default=None, help="Brand palette: HEX, cmyk(...), Name=#hex spot colours, or a palette file.")
@click.option("--colors", type=int, default=None, help="Colours per seed (2-32); default: chosen per seed.")
@click.option("--cmyk", is_flag=True, help="Write PDF colours as DeviceCMYK.")
@click.option("--like", type=click.Path(), default=None, help="Make variations near this seed (SVG, PDF or image).")
@click.option("--mix", nargs=2, type=click.Path(), default=None, help="Mix the styles of two seeds: --mix A.svg B.svg")
@click.option("--project-steps", type=int, default=150, show_default=True,
              help="Optimizer steps fitting a --like/--mix seed into the model (more: closer, slower).")
@click.option("--soft", type=click.Choice(SOFT_EDGES), default="hard", show_default=True,
              help="Layered models: mask edges as hard contours, one opacity per layer, or opacity bands.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Processes tracing seeds in parallel; 0: one per idle CPU core for runs of 8 seeds or more.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto: a CUDA GPU when there is one (samples are batched on it).")
@click.option("--overwrite", is_flag=True, help="Replace existing files of the same names.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result (seeds, files, timings per stage) as JSON.")
def command(n, out, model, svg, pdf, png, size, truncation, seed, palette, colors, cmyk, like, mix, project_steps,
            soft, workers, device, overwrite, quiet, as_json) -> None:
    from seedgen.generate import GenerateConfig, GenerateError, generate_seeds, result_summary, to_json

    formats = tuple(f for f, on in (("svg", svg), ("pdf", pdf), ("png", png)) if on) or ("svg",)
    config = GenerateConfig(n=n, model=model, formats=formats, size=size, truncation=truncation, seed=seed,
                            palette=palette, colors=colors, cmyk=cmyk, like=like, mix=tuple(mix) if mix else None,
                            device=device, overwrite=overwrite, quiet=quiet, project_steps=project_steps,
                            workers=workers, soft=soft)
    try:
        result = generate_seeds(out, config)
    except GenerateError as error:
        click.echo(f"seedgen generate: {error}", err=True)
        sys.exit(2 if error.usage else 1)
    click.echo(json.dumps(to_json(result), indent=2) if as_json else result_summary(result))
