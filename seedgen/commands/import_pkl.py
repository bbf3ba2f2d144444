"""`seedgen import-pkl`: turn an official stylegan2-ada-pytorch pickle into a seedgen checkpoint, safely."""
from __future__ import annotations

from pathlib import Path

import click



@click.command(name="import-pkl")
@click.argument("pickle_path", metavar="IN.pkl", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Checkpoint to write: NAME gives NAME.safetensors + NAME.json.")
@click.option("--overwrite", is_flag=True, help="Replace an existing checkpoint.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def command(pickle_path: Path, target: Path, overwrite: bool, quiet: bool) -> None:
    """Convert an official StyleGAN2-ADA network pickle (G, D, G_ema) into safetensors + JSON.

    The pickle's embedded code is never run: only tensors and constructor arguments are read, and a pickle
    naming anything else is refused. The result starts transfer learning with `seedgen train --resume`.

    \b
    Example:
      seedgen import-pkl network-snapshot-000800.pkl -o checkpoints/pretrained
    """
    from seedgen.gan.legacy_pickle import import_official_pickle

    weights, networks = import_official_pickle(pickle_path, target, overwrite=overwrite)
    if not quiet:
        G = networks["G_ema"]
        click.echo(f"{pickle_path}: StyleGAN2 {G.img_resolution} px, {G.img_channels} channels, z {G.z_dim}, "
                   f"w {G.w_dim}, {G.num_ws} ws{', conditional' if G.c_dim else ''} "
                   f"-> {weights} + {weights.with_suffix('.json').name}")
