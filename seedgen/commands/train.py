"""`seedgen train DATA_DIR -o RUN_DIR`: train StyleGAN2-ADA, the DCGAN baseline or the layered vector
generator; rerun to resume.

The command parses options and calls `seedgen.gan.training_loop.train` (one function, also what the
bridge and the tests call). Each model choice maps to a runner in `RUNNERS`, so another family with
its own training function plugs in as one more entry and its own options.
Exit codes (seedgen.failure): 0 trained, 1 bad data or checkpoint, 2 bad options, a missing or empty data
folder or a RUN_DIR conflict, 130 interrupted.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

import click

from seedgen.gan.config import AUG_MODES, PRESETS
from vectorize.config import LAYERS_RANGE, PARAMS_RANGE

MODEL_CHOICES = ("stylegan2", "dcgan", "layered", "texture", "patchnn")
LAYERED_MODES = ("gan", "recon")  # seedgen.layered.model.MODES, spelled here so that --help need not import torch
D_CHOICES = ("standard", "projected")  # seedgen.gan.config.DISCRIMINATORS
UNLIMITED_KIMG = 1e6  # --minutes without --kimg: the budget ends the run


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))


def _run_gan(data_dir: str, run_dir: str, params: dict[str, Any]) -> str:
    """Train StyleGAN2 or DCGAN through the shared loop; returns the summary line."""
    from seedgen.gan.training_loop import train

    options = dict(params["settings"])
    options.update({
        "total_kimg": params["kimg"], "batch": params["batch"], "r1_gamma": params["gamma"],
        "aug": params["aug"], "augment_p": params["p"], "ada_target": params["target"],
        "freezed": params["freezed"], "snap_kimg": params["snap"], "seed": params["seed"],
        "total_minutes": params["minutes"], "discriminator": params["d"],
    })
    if params["minutes"] is not None and params["kimg"] is None:
        options["total_kimg"] = UNLIMITED_KIMG     # the budget alone ends the run
    result = train(data_dir, run_dir, cfg=params["cfg"], model=params["model"], options=options,
                   resume=params["resume"], device=params["device"], progress=not params["quiet"],
                   log=lambda line: click.echo(line, err=True) if not params["quiet"] else None,
                   warn=lambda line: click.echo(f"seedgen train: {line}", err=True))
    kept = len(result.network_snapshots)
    budget = (f"; stopped at the {params['minutes']:g}-minute budget" if result.stopped_by == "minutes" else "")
    return (f"trained to kimg {result.kimg:.3f} in {_minutes(result.train_seconds)} in {result.run_dir} "
            f"({_origin(result)}"
            f"{kept} network snapshot{'s' * (kept != 1)} written, latest {result.snapshot.name}; "
            f"augment p {result.augment_p:.3f}; {result.images_per_second:.1f} img/s"
            f"{f' on {result.world_size} processes' if result.world_size > 1 else ''}{budget})")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _origin(result: Any) -> str:
    if not result.resumed_from:
        return ""
    if result.start_nimg > 0:
        return f"resumed from {result.resumed_from} at kimg {result.start_nimg / 1000:.3f}, "
    return f"transfer learning from {result.resumed_from}, "


def _run_layered(data_dir: str, run_dir: str, params: dict[str, Any]) -> str:
    """Train the layered vector generator (seedgen.layered.training); returns the summary line."""
    from seedgen.layered.training import run_layered

    return run_layered(data_dir, run_dir, params)


def _run_texture(data_dir: str, run_dir: str, params: dict[str, Any]) -> str:
    """Train the texture model (seedgen.texture.training); returns the summary line."""
    from seedgen.texture.training import run_texture

    return run_texture(data_dir, run_dir, params)


def _run_patchnn(data_dir: str, run_dir: str, params: dict[str, Any]) -> str:
    """Store a patch nearest-neighbour library (seedgen.patchnn.library; nothing to train); the summary line."""
    from seedgen.patchnn.library import run_patchnn

    return run_patchnn(data_dir, run_dir, params)


# model name -> runner(data_dir, run_dir, params) -> summary line
RUNNERS: dict[str, Callable[[str, str, dict[str, Any]], str]] = {
    "stylegan2": _run_gan, "dcgan": _run_gan, "layered": _run_layered, "texture": _run_texture,
    "patchnn": _run_patchnn,
}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("-o", "--output", "run_dir", required=True, type=click.Path(path_type=str),
              help="Run directory: logs, sample grids, snapshots. Rerun the same command to resume.")
@click.option("--resume", type=click.Path(exists=True, dir_okay=False, path_type=str), default=None,
              help="Start from networks: an official stylegan2-ada .pkl or a seedgen .safetensors "
                   "(a training snapshot continues it; network weights start transfer learning).")
@click.option("--kimg", type=float, default=None, help="Train until this many thousand real images were shown.")
@click.option("--cfg", type=click.Choice(PRESETS), default=None,
              help="Preset: small (CPU), auto (official, from the resolution), paper256, stylegan2, dcgan. "
                   "Default: auto on a GPU, small on a CPU (--model texture: small or auto).")
@click.option("--model", type=click.Choice(MODEL_CHOICES), default=None,
              help="Network family (default stylegan2); layered: T coloured parametric masks (vector-native); "
                   "texture: a periodic spatial GAN trained on crops at the seeds' own scale, drawn at any size; "
                   "patchnn: no training, new seeds recombine patches of the library seeds (GPNN).")
@click.option("--mode", type=click.Choice(LAYERED_MODES), default=None,
              help="With --model layered: gan (WGAN-GP from noise, default) or recon (L1 from a target image).")
@click.option("--layers", type=click.IntRange(*LAYERS_RANGE), default=None,
              help="With --model layered: T (default 10).")
@click.option("--params", type=click.IntRange(*PARAMS_RANGE), default=None,
              help="With --model layered: K (default 10).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Wall-clock budget over every sitting: stop there with a snapshot (rerun with more to go on).")
@click.option("--d", "d", type=click.Choice(D_CHOICES), default=None,
              help="Discriminator: standard (the family's own) or projected (small heads over frozen "
                   "EfficientNet-Lite0 features, DiffAugment, no R1; 64 px or more).")
@click.option("--crop", type=click.IntRange(64, 512), default=None,
              help="With --model texture: training crop side in px, a multiple of 32 (default 128 on a CPU).")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Total batch size over all processes.")
@click.option("--gamma", type=click.FloatRange(min=0), default=None, help="R1 regularization weight.")
@click.option("--aug", type=click.Choice(AUG_MODES), default=None, help="ada (adaptive), noaug, or fixed (with --p).")
@click.option("--p", "p", type=click.FloatRange(0, 1), default=None, help="Augmentation probability for --aug fixed.")
@click.option("--target", type=click.FloatRange(0, 1), default=None, help="ADA target for r_t (default 0.6).")
@click.option("--freezed", type=click.IntRange(min=0), default=None, help="Freeze-D: freeze the first N D blocks.")
@click.option("--snap", type=float, default=None, help="Keep a network snapshot and sample grid every K kimg.")
@click.option("--seed", type=int, default=None, help="Random seed (init, data order, latents, augmentation).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="Override any TrainingConfig field, e.g. --set channel_base=4096 --set z_dim=256 (repeatable).")
@click.option("--quiet", is_flag=True, help="No progress bar or status lines.")
def command(data_dir: str, run_dir: str, resume: str | None, kimg: float | None, cfg: str | None,
            minutes: float | None, d: str | None, model: str | None, mode: str | None, layers: int | None,
            params: int | None, crop: int | None, batch: int | None,
            gamma: float | None, aug: str | None, p: float | None,
            target: float | None, freezed: int | None, snap: float | None, seed: int | None, device: str,
            settings: tuple[str, ...], quiet: bool) -> None:
    """Train a seed model (StyleGAN2-ADA, DCGAN, the layered generator or the texture model) on square images.

    StyleGAN2 and DCGAN want one size, a power of two from 32 to 1024 px; the layered model resamples; the
    texture model takes random --crop squares of seeds rendered at the scale of the shapes it should learn
    (seedgen dataset --native-crop 256 --render-size 384).

    \b
    Example:
      seedgen train out/data -o runs/mosaic --cfg small --kimg 50 --snap 2
      seedgen train out/data -o runs/proj --d projected --minutes 45
      seedgen train out/data -o runs/layered --model layered --layers 12 --kimg 20
      seedgen train out/crops -o runs/texture --model texture --minutes 60
      seedgen train out/data -o runs/patches --model patchnn
    Multi-GPU (one process per GPU, same options):
      torchrun --nproc_per_node 4 --no-python seedgen train out/data -o runs/mosaic --cfg auto
    """
    if kimg is not None and kimg <= 0:
        raise click.BadParameter("must be positive", param_hint="--kimg")
    if snap is not None and snap <= 0:
        raise click.BadParameter("must be positive", param_hint="--snap")
    if p is not None and aug != "fixed":
        raise click.BadParameter("only with --aug fixed", param_hint="--p")
    if aug == "fixed" and p is None:
        raise click.BadParameter("--aug fixed needs --p", param_hint="--aug")
    chosen = model or ("dcgan" if cfg == "dcgan" else "stylegan2")
    if chosen != "layered" and (mode, layers, params) != (None, None, None):
        raise click.BadParameter("only with --model layered", param_hint="--mode/--layers/--params")
    if chosen != "texture" and crop is not None:
        raise click.BadParameter("only with --model texture", param_hint="--crop")
    options = dict(kimg=kimg, cfg=cfg, minutes=minutes, d=d, model=model, batch=batch, gamma=gamma, aug=aug, p=p,
                   target=target, freezed=freezed, snap=snap, seed=seed, device=device, quiet=quiet, resume=resume,
                   settings=_parse_settings(settings), mode=mode, layers=layers, params=params, crop=crop)
    try:
        summary = RUNNERS[chosen](data_dir, run_dir, options)
    except KeyboardInterrupt:
        if _rank() == 0:
            click.echo(f"{run_dir}: interrupted; rerun the same command to resume from the last snapshot", err=True)
        sys.exit(130)
    if _rank() == 0:
        click.echo(summary)


def _parse_settings(settings: tuple[str, ...]) -> dict[str, Any]:
    """--set FIELD=VALUE pairs; VALUE is read as JSON (numbers, true/false, null, [a, b]) or else as text."""
    import dataclasses
    import json

    from seedgen.gan.config import TrainingConfig

    names = {f.name for f in dataclasses.fields(TrainingConfig)}
    out: dict[str, Any] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise click.BadParameter(f"{item!r}: expected FIELD=VALUE with a TrainingConfig field "
                                     f"(e.g. channel_base=4096)", param_hint="--set")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


if __name__ == "__main__":  # `torchrun ... -m seedgen.commands.train DATA_DIR -o RUN_DIR ...`
    from seedgen.cli import main

    main(["train", *sys.argv[1:]])
