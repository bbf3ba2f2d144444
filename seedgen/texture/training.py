"""Training the texture model (PSGAN) on random crops of seeds at their own scale.

Each step takes `batch` random `crop`-px squares from the training images (seeds rendered at 1024 px or more by
`seedgen dataset`, or native-scale crops of them), one from each image drawn, exactly as rendered (no
resampling), and trains the patch discriminator (or the projected one) and then the generator with the
non-saturating logistic loss. The generator draws each fake from a noise field one cell larger than the crop on
every side and keeps the centre, which is what generation does at any size.

Snapshots are safetensors + JSON (model "texture": G, D, G_ema, both optimizers, progress). Batches, noise and
augmentations come from (seed, step) alone, so a run killed at any moment and rerun continues exactly, and
`minutes` is a wall-clock budget over every sitting. G_ema (an exponential moving average of G's weights) is
what generation draws with; its BatchNorm statistics are recomputed at every snapshot from prior samples
("frozen statistics", as GANosaic does), so that windows and tiles drawn in eval mode match.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from augment.output import png_bytes, write_atomic
from seedgen.checkpoint import CheckpointError, load_snapshot, restore_training, save_snapshot
from seedgen.device import pick_device
from seedgen.image_folder import ImageFolder, image_grid
from seedgen.texture.model import (
    CELL_PX,
    MODEL_NAME,
    PatchDiscriminator,
    TextureConfigError,
    TextureError,
    TextureModelConfig,
    generator_from,
    sample_field,
)
from seedgen.training_json import TrainingJson

SNAPSHOT_PREFIX = "snapshot-"
DISCRIMINATORS = ("patch", "projected")


@dataclass(frozen=True)
class TextureConfig(TrainingJson):
    """One texture training run: the architecture (`model`) and every optimisation option, once."""

    model: TextureModelConfig = field(default_factory=TextureModelConfig)
    crop: int = 128            # training crop side in px, a multiple of 32, 64..512
    kimg: float = 20.0         # length in thousands of real crops shown, 0.001..100000
    minutes: float | None = None   # wall-clock budget over every sitting (None = none); stops with a snapshot
    batch: int = 8             # crops per step, 1..256
    g_lr: float = 2e-4         # Adam lr of G (DCGAN and PSGAN: 2e-4), 1e-6..0.1
    d_lr: float = 2e-4         # Adam lr of D
    adam_betas: tuple[float, float] = (0.5, 0.999)
    discriminator: str = "patch"   # "patch": scores every place of the crop; "projected": frozen-feature heads
    projected_px: int = 224    # projected D: the backbone's input side
    ema_kimg: float = 1.0      # half-life of G_ema in kimg (ramped up over the first tenth of the images)
    bn_batches: int = 8        # batches of prior samples that fix G_ema's BatchNorm statistics at a snapshot
    snap_kimg: float = 1.0     # snapshot every this many kimg (and at the end)
    keep_snapshots: int = 3
    seed: int = 0
    device: str = "auto"

    def validate(self) -> "TextureConfig":
        self.model.validate()
        checks = [
            ("crop", 64 <= self.crop <= 512 and self.crop % CELL_PX == 0),
            ("kimg", 0.001 <= self.kimg <= 100000), ("minutes", self.minutes is None or self.minutes > 0),
            ("batch", 1 <= self.batch <= 256), ("g_lr", 1e-6 <= self.g_lr <= 0.1), ("d_lr", 1e-6 <= self.d_lr <= 0.1),
            ("adam_betas", len(self.adam_betas) == 2 and all(0 <= b < 1 for b in self.adam_betas)),
            ("discriminator", self.discriminator in DISCRIMINATORS),
            ("projected_px", 64 <= self.projected_px <= 512 and self.projected_px % 32 == 0),
            ("ema_kimg", self.ema_kimg >= 0), ("bn_batches", 1 <= self.bn_batches <= 1000),
            ("snap_kimg", 0.001 <= self.snap_kimg <= 10000), ("keep_snapshots", 1 <= self.keep_snapshots <= 1000),
            ("device", self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")),
        ]
        for name, ok in checks:
            if not ok:
                raise TextureConfigError(f"texture training: {name}={getattr(self, name)!r} is out of range")
        return self


# CPU and GPU recipes (`seedgen train --model texture --cfg small|auto`; the default follows the device): what
# fits an hour of 2 cores, and a GPU-sized model. Both draw through the palette head with the BatchNorm patch D:
# 10-minute runs side by side on the same crops (BENCHMARKS.md) gave flat colours with crisp edges where the RGB
# head with the spectral-norm D gave soft clouds (its D at chance). The CPU one is measured in BENCHMARKS.md.
PRESETS: dict[str, dict[str, Any]] = {
    "small": dict(crop=128, batch=8, model=TextureModelConfig(width=16, d_width=32, palette=8, d_norm="batch")),
    "auto": dict(crop=256, batch=32, model=TextureModelConfig(global_dim=64, local_dim=32, width=64, d_width=64,
                                                              palette=8, d_norm="batch")),
}


@dataclass
class TextureRun:
    """The outcome of `train_texture`."""

    run_dir: Path
    snapshot: Path
    steps: int
    images: int
    resumed_from: Path | None
    losses: dict[str, float]
    images_per_second: float
    train_seconds: float
    stopped_by: str   # "kimg" or "minutes"


# --------------------------------------------------------------------------------------------- pieces


def step_generators(seed: int, step: int) -> tuple[np.random.Generator, torch.Generator]:
    """RNGs for one step, from (seed, step) alone."""
    rng = np.random.default_rng([seed, step, 15])
    return rng, torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


def random_crops(images: ImageFolder, rng: np.random.Generator, count: int, crop: int, device) -> torch.Tensor:
    """`count` crops of `crop` px in [-1, 1], each from a random image at a random place, pixels as they are."""
    chosen = rng.integers(0, len(images), count).tolist()
    batch = images.batch(chosen)
    side = batch.shape[-1]
    if side < crop:
        raise TextureError(f"{images.root}: images are {side} px, smaller than the {crop} px training crop "
                           f"(render them larger: seedgen dataset --size 1024, or a smaller --crop)")
    tops = rng.integers(0, side - crop + 1, count)
    lefts = rng.integers(0, side - crop + 1, count)
    crops = torch.stack([batch[i, :, t: t + crop, s: s + crop] for i, (t, s) in enumerate(zip(tops, lefts))])
    return crops.to(device).float() / 127.5 - 1


def fakes(G: nn.Module, cfg: TextureConfig, count: int, gen: torch.Generator, device) -> torch.Tensor:
    """`count` generated crops (with the halo drawn and cut off), differentiable in G."""
    cells = cfg.crop // CELL_PX
    z = torch.randn(count, cfg.model.global_dim, generator=gen)
    field = sample_field(cfg.model, z, (cells, cells), gen)
    return G.draw(_to(field, device))


def _to(field, device):
    for name in ("global_field", "local", "phase", "rows", "cols"):
        setattr(field, name, getattr(field, name).to(device))
    return field


def calibrate_batchnorm(G: nn.Module, cfg: TextureConfig, seed: int, device) -> None:
    """Recompute G's BatchNorm statistics from prior samples (a cumulative average over bn_batches batches)."""
    norms = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    G.train()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(cfg.bn_batches):
            fakes(G, cfg, cfg.batch, gen, device)
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    G.eval()


def build_discriminator(cfg: TextureConfig) -> nn.Module:
    if cfg.discriminator == "projected":
        from seedgen.projected_discriminator import ProjectedDiscriminator
        return ProjectedDiscriminator(cfg.crop, backbone_px=cfg.projected_px)
    return PatchDiscriminator(cfg.model.d_width, norm=cfg.model.d_norm)


def _score(D: nn.Module, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    from seedgen.projected_discriminator import ProjectedDiscriminator
    return D(images, generator=gen) if isinstance(D, ProjectedDiscriminator) else D(images)


def train_step(G, D, G_ema, opt_g, opt_d, images: ImageFolder, cfg: TextureConfig, step: int, seen: int,
               device) -> dict[str, float]:
    """One D step and one G step (non-saturating logistic loss), then the G_ema update."""
    rng, gen = step_generators(cfg.seed, step)
    real = random_crops(images, rng, cfg.batch, cfg.crop, device)
    with torch.no_grad():
        fake = fakes(G, cfg, cfg.batch, gen, device)
    d_real, d_fake = _score(D, real, gen), _score(D, fake, gen)
    loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    D.requires_grad_(False)
    loss_g = F.softplus(-_score(D, fakes(G, cfg, cfg.batch, gen, device), gen)).mean()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    D.requires_grad_(True)
    with torch.no_grad():
        half_life = min(cfg.ema_kimg * 1000, (seen + cfg.batch) * 0.1)
        beta = 0.5 ** (cfg.batch / max(half_life, 1e-8)) if cfg.ema_kimg > 0 else 0.0
        for p_ema, p in zip(G_ema.parameters(), G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
    return {"g": loss_g.item(), "d": loss_d.item(), "real": d_real.mean().item(), "fake": d_fake.mean().item()}


# --------------------------------------------------------------------------------------------- the run


def latest_snapshot(run_dir: str | Path) -> Path | None:
    found = sorted(Path(run_dir).glob(f"{SNAPSHOT_PREFIX}[0-9]*.safetensors"))
    return found[-1] if found else None


def train_texture(data_dir: str | Path, run_dir: str | Path, config: TextureConfig | None = None,
                  progress: Callable[[int, int, dict[str, float], float, float], None] | None = None) -> TextureRun:
    """Train (or continue) a texture model on the images in data_dir; snapshots go to run_dir.

    A run folder that holds snapshots continues from its newest one; its architecture and discriminator are the
    snapshot's (asking for another discriminator is refused in one line). `progress(seen, total, losses,
    elapsed, budget)` is called after every step.
    """
    cfg = (config or TextureConfig()).validate()
    run_dir = Path(run_dir)
    start_from = latest_snapshot(run_dir) if run_dir.is_dir() else None
    snapshot = None
    if start_from is not None:
        snapshot = load_snapshot(start_from)
        if snapshot.config.get("model") != MODEL_NAME:
            raise CheckpointError(f"{start_from}: model is {snapshot.config.get('model')!r}, not texture")
        saved = TextureConfig.from_json(snapshot.config.get(MODEL_NAME) or {}, snapshot.config.get("training") or {})
        if saved.discriminator != cfg.discriminator:
            raise TextureConfigError(f"{start_from}: was trained with --d {saved.discriminator}, this run asks "
                                     f"--d {cfg.discriminator}; rerun with --d {saved.discriminator} or use a new -o")
        cfg = replace(cfg, model=saved.model, crop=saved.crop)   # the weights decide the architecture
    device = pick_device(cfg.device)
    images = ImageFolder(data_dir, min_resolution=cfg.crop, max_resolution=8192)
    run_dir.mkdir(parents=True, exist_ok=True)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        G = generator_from(cfg.model).to(device)
        D = build_discriminator(cfg).to(device)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.g_lr, betas=cfg.adam_betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.d_lr, betas=cfg.adam_betas)
    step, seen, trained = 0, 0, 0.0
    if snapshot is not None:
        step, seen, trained = restore_training(snapshot, {"G": G, "D": D, "G_ema": G_ema}, {"G": opt_g, "D": opt_d})

    total = int(round(cfg.kimg * 1000))
    every = max(1, int(round(cfg.snap_kimg * 1000)))
    budget = cfg.minutes * 60 if cfg.minutes is not None else math.inf
    sitting = time.perf_counter()

    def clock() -> float:
        return trained + time.perf_counter() - sitting

    G.train()
    D.train()
    last, losses, shown, busy = start_from, {}, 0, 0.0
    out_of_time = trained >= budget  # checked once a step, so the last snapshot records it
    while seen < total and not out_of_time:
        began = time.perf_counter()
        losses = train_step(G, D, G_ema, opt_g, opt_d, images, cfg, step, seen, device)
        busy += time.perf_counter() - began
        step, before, seen = step + 1, seen, seen + cfg.batch
        shown += cfg.batch
        if progress is not None:
            progress(min(seen, total), total, losses, clock(), budget)
        out_of_time = clock() >= budget
        if seen // every > before // every or seen >= total or out_of_time:
            last = _save(run_dir, G, D, G_ema, opt_g, opt_d, cfg, step, seen, losses, clock(), device)
    if last is None:
        last = _save(run_dir, G, D, G_ema, opt_g, opt_d, cfg, step, seen, losses, clock(), device)
    return TextureRun(run_dir, last, step, seen, start_from, losses, shown / busy if busy else 0.0, clock(),
                      "kimg" if seen >= total else "minutes")


def checkpoint_config(cfg: TextureConfig) -> dict[str, Any]:
    return {"model": MODEL_NAME, MODEL_NAME: cfg.model.to_json(), "training": cfg.to_json(),
            "resolution": cfg.crop}


def _save(run_dir: Path, G, D, G_ema, opt_g, opt_d, cfg: TextureConfig, step: int, seen: int, losses,
          train_seconds: float, device) -> Path:
    """Fix G_ema's BatchNorm statistics, write its sample grid, then the snapshot; keep the newest few."""
    calibrate_batchnorm(G_ema, cfg, cfg.seed + 1, device)
    _write_samples(run_dir, G_ema, cfg, seen)
    path = run_dir / f"{SNAPSHOT_PREFIX}{seen:010d}.safetensors"
    state = {"step": step, "images": seen, "kimg": seen / 1000, "losses": losses, "train_seconds": train_seconds}
    save_snapshot(path, {"G": G, "D": D, "G_ema": G_ema}, {"G": opt_g, "D": opt_d}, checkpoint_config(cfg), state)
    for old in sorted(run_dir.glob(f"{SNAPSHOT_PREFIX}[0-9]*.safetensors"))[: -cfg.keep_snapshots]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    return path


SAMPLE_CELLS = 8   # sample grids show 256 px textures


def _write_samples(run_dir: Path, G_ema, cfg: TextureConfig, seen: int) -> Path:
    """`samples-<images>.png`: four 256 px textures from fixed noise, drawn as generation draws them."""
    gen = torch.Generator().manual_seed(cfg.seed)
    z = torch.randn(4, cfg.model.global_dim, generator=gen)
    with torch.no_grad():
        image = G_ema.draw(sample_field(cfg.model, z, (SAMPLE_CELLS, SAMPLE_CELLS), gen))
    pixels = ((image + 1) * 127.5 + 0.5).clamp(0, 255).to(torch.uint8).cpu().numpy()
    return write_atomic(run_dir / f"samples-{seen:010d}.png", png_bytes(image_grid(pixels, (4, 1))), overwrite=True)


# --------------------------------------------------------------------------------------------- the command


def run_texture(data_dir: str | Path, run_dir: str | Path, options: dict[str, Any]) -> str:
    """`seedgen train --model texture`: options as the train command parses them -> one summary line."""
    foreign = [k for k in ("gamma", "aug", "p", "target", "freezed", "mode", "layers", "params")
               if options.get(k) is not None]
    if options.get("settings"):
        foreign.append("set")
    if options.get("resume"):
        foreign.append("resume (rerun with the same -o to continue a texture run)")
    if foreign:
        raise TextureConfigError(f"--model texture does not use --{', --'.join(foreign)}")
    device = pick_device(options.get("device") or "auto")
    cfg_name = options.get("cfg") or ("auto" if device.type == "cuda" else "small")
    if cfg_name not in PRESETS:
        raise TextureConfigError(f"--model texture takes --cfg {' or '.join(PRESETS)}, not {cfg_name}")
    values: dict[str, Any] = dict(PRESETS[cfg_name])
    values.update({k: options[name] for k, name in (("kimg", "kimg"), ("batch", "batch"), ("snap_kimg", "snap"),
                                                    ("seed", "seed"), ("device", "device"), ("minutes", "minutes"),
                                                    ("crop", "crop"))
                   if options.get(name) is not None})
    if options.get("d") is not None:
        values["discriminator"] = "patch" if options["d"] == "standard" else "projected"
    if options.get("minutes") is not None and options.get("kimg") is None:
        values["kimg"] = 100000.0
    config = TextureConfig(**values)
    from tqdm import tqdm
    timed = config.minutes is not None
    with tqdm(total=None if timed else int(round(config.kimg * 1000)), unit="img", leave=False,
              disable=bool(options.get("quiet"))) as bar:

        def progress(seen: int, total: int, losses: dict[str, float], elapsed: float, budget: float) -> None:
            bar.update(seen - bar.n)
            shown = {k: f"{v:.3f}" for k, v in losses.items()}
            if timed:
                shown["time"] = f"{elapsed / 60:.1f} min, left {max(budget - elapsed, 0) / 60:.1f} min"
            bar.set_postfix(shown, refresh=False)

        run = train_texture(data_dir, run_dir, config, progress=progress)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in run.losses.items())
    stop = f"; stopped at the {config.minutes:g}-minute budget" if run.stopped_by == "minutes" else ""
    return (f"texture ({cfg_name}, {config.discriminator} D, {config.crop} px crops): {run.images / 1000:.3f} kimg, "
            f"{run.steps} steps, {run.train_seconds / 60:.1f} min, {run.images_per_second:.2f} img/s{stop}"
            f"{'; ' + losses if losses else ''}; snapshot {run.snapshot}")
