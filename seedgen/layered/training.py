"""Training the layered generator on a set of images (fitting one image is `seedgen.layered.decompose`).

`train_layered` trains a `LayeredGenerator` on a folder of images in one of the paper's two settings:
"gan" (canvas + noise, WGAN-GP against a small conv critic) or "recon" (canvas + target, L1, plus an
optional adversarial term). Snapshots are safetensors + JSON (`seedgen.checkpoint`, model "layered"); the
same call on the same run folder resumes from the latest one, and batches and noise are drawn from
(seed, step), so a resumed run repeats exactly what an uninterrupted one would do.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from augment.output import png_bytes, write_atomic
from seedgen.checkpoint import (
    CheckpointError,
    load_snapshot,
    restore_training,
    save_snapshot,
)
from seedgen.device import pick_device
from seedgen.image_folder import ImageFolder, image_grid
from seedgen.layered.model import (
    MODEL_NAME,
    LayeredConfigError,
    LayeredGenerator,
    LayeredModelConfig,
    LayeredTrainingError,
    psnr_from_mse,
)
from seedgen.training_json import TrainingJson

SNAPSHOT_PREFIX = "snapshot-"


# --------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class LayeredConfig(TrainingJson):
    """One layered training run: the architecture (`model`) and every optimisation option, once."""

    model: LayeredModelConfig = field(default_factory=LayeredModelConfig)
    kimg: float = 20.0  # length in thousands of real images shown (critic + generator), 0.001..100000
    batch: int = 8  # images per step, 1..1024; 8 keeps a 64 px CPU step near a few seconds
    g_lr: float = 1e-4  # generator Adam lr (WGAN-GP paper: 1e-4), 1e-6..1e-1
    d_lr: float = 1e-4  # critic Adam lr, 1e-6..1e-1
    adam_betas: tuple[float, float] = (0.5, 0.9)  # WGAN-GP uses (0, 0.9) or (0.5, 0.9); momentum helps recon
    n_critic: int = 5  # critic steps per generator step in GAN mode (WGAN-GP paper: 5), 1..20
    gp_weight: float = 10.0  # gradient penalty weight (WGAN-GP paper: 10), 0..1000
    adv_weight: float = 0.0  # recon mode: weight of the adversarial term on top of L1, 0..10 (0 = pure L1)
    binary_weight: float = 0.0  # pushes masks to 0/1 with mean(M(1-M)): crisper exported shapes, 0..10
    critic_width: int = 32  # channels of the critic's first conv (doubles per level, max 8x), 4..256
    discriminator: str = "standard"  # "standard": the WGAN-GP critic; "projected": heads over frozen
                                     # EfficientNet-Lite0 features, hinge loss, DiffAugment, one D step a G step
    projected_px: int = 224  # projected D: the backbone's input side, a multiple of 32, 64..512
    minutes: float | None = None  # wall-clock budget over every sitting (None = none); stops with a snapshot
    snap_kimg: float = 2.0  # snapshot every this many kimg (and at the end), 0.001..10000
    keep_snapshots: int = 3  # how many recent snapshots stay in the run folder, 1..1000
    seed: int = 0  # every random choice (init, batches, noise) derives from it
    device: str = "auto"  # "auto" (cuda when present), "cpu", "cuda" or "cuda:N"

    def validate(self) -> "LayeredConfig":
        self.model.validate()
        checks = [
            ("kimg", 0.001 <= self.kimg <= 100000),
            ("batch", 1 <= self.batch <= 1024),
            ("g_lr", 1e-6 <= self.g_lr <= 0.1),
            ("d_lr", 1e-6 <= self.d_lr <= 0.1),
            ("adam_betas", len(self.adam_betas) == 2 and all(0 <= b < 1 for b in self.adam_betas)),
            ("n_critic", 1 <= self.n_critic <= 20),
            ("gp_weight", 0 <= self.gp_weight <= 1000),
            ("adv_weight", 0 <= self.adv_weight <= 10),
            ("binary_weight", 0 <= self.binary_weight <= 10),
            ("critic_width", 4 <= self.critic_width <= 256),
            ("discriminator", self.discriminator in ("standard", "projected")),
            ("projected_px", 64 <= self.projected_px <= 512 and self.projected_px % 32 == 0),
            ("minutes", self.minutes is None or self.minutes > 0),
            ("snap_kimg", 0.001 <= self.snap_kimg <= 10000),
            ("keep_snapshots", 1 <= self.keep_snapshots <= 1000),
            ("device", self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")),
        ]
        for name, ok in checks:
            if not ok:
                raise LayeredConfigError(f"layered training: {name}={getattr(self, name)!r} is out of range")
        if self.discriminator == "projected" and self.model.resolution < 64:
            raise LayeredConfigError(f"layered training: --d projected needs a canvas of 64 px or more "
                                     f"(resolution={self.model.resolution})")
        return self


@dataclass
class LayeredProgress:
    """What a progress callback sees after every step."""

    step: int
    images: int  # real images shown so far
    total_images: int
    losses: dict[str, float]
    seconds: float  # wall time of this step
    elapsed: float = 0.0  # training wall time over every sitting so far
    budget: float = math.inf  # the --minutes budget in seconds (inf: none)


@dataclass
class LayeredRun:
    """The outcome of `train_layered`."""

    run_dir: Path
    snapshot: Path  # the latest snapshot written
    steps: int
    images: int
    resumed_from: Path | None
    losses: dict[str, float]
    warnings: list[str]  # one line per training image skipped or converted
    images_per_second: float  # real images shown per second over this call's steps (excludes snapshots)
    train_seconds: float = 0.0  # training wall time over every sitting
    stopped_by: str = "kimg"  # "kimg" or "minutes" (the budget ran out first)


# --------------------------------------------------------------------------------------------- data


def _batch(images: ImageFolder, rng: np.random.Generator, size: int, resolution: int, device) -> torch.Tensor:
    """A batch drawn with replacement from (seed, step) alone, as floats 0..1 at the model's resolution."""
    chosen = images.batch(rng.integers(0, len(images), size).tolist())
    batch = chosen.to(device).float() / 255.0
    if batch.shape[-1] > resolution:
        batch = F.interpolate(batch, size=(resolution, resolution), mode="area")
    elif batch.shape[-1] < resolution:
        batch = F.interpolate(batch, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return batch


# --------------------------------------------------------------------------------------------- critic


class LayeredCritic(nn.Module):
    """The WGAN-GP critic: strided convs with LeakyReLU (no normalisation, as the gradient penalty wants)."""

    def __init__(self, resolution: int, width: int = 32) -> None:
        super().__init__()
        self.init_kwargs = {"resolution": resolution, "width": width}
        blocks: list[nn.Module] = []
        channels = 3
        for i in range(int(math.log2(resolution)) - 2):
            nxt = width * min(2**i, 8)
            blocks += [nn.Conv2d(channels, nxt, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = nxt
        self.convs = nn.Sequential(*blocks)
        self.out = nn.Linear(channels * 16, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.convs(images * 2 - 1).flatten(1))[:, 0]


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: (||grad D(x)|| - 1)^2 at random points x between real and fake images (mix: (B,1,1,1))."""
    points = (mix * real + (1 - mix) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


# --------------------------------------------------------------------------------------------- training


def snapshot_path(run_dir: Path, images: int) -> Path:
    return run_dir / f"{SNAPSHOT_PREFIX}{images:010d}.safetensors"


def latest_snapshot(run_dir: str | Path) -> Path | None:
    """The newest numbered layered snapshot in a run folder, or None."""
    found = sorted(Path(run_dir).glob(f"{SNAPSHOT_PREFIX}[0-9]*.safetensors"))
    return found[-1] if found else None


def _step_generators(seed: int, step: int) -> tuple[np.random.Generator, torch.Generator]:
    """RNGs for one step, from (seed, step) alone: a resumed run draws what the uninterrupted one drew."""
    rng = np.random.default_rng([seed, step])
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    return rng, gen


def _binary_loss(masks: torch.Tensor) -> torch.Tensor:
    return (masks * (1 - masks)).mean()


def _critic_step(D, opt_d, real: torch.Tensor, fake: torch.Tensor, cfg: LayeredConfig,
                 gen: torch.Generator, device) -> dict[str, float]:
    """One update of D on [0, 1] images: WGAN-GP for the standard critic, hinge for the projected D."""
    if cfg.discriminator == "projected":
        d_real, d_fake = D(real * 2 - 1, generator=gen), D(fake * 2 - 1, generator=gen)
        loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
        stats = {"d": loss_d.item(), "real": d_real.mean().item(), "fake": d_fake.mean().item()}
    else:
        mix = torch.rand(real.shape[0], 1, 1, 1, generator=gen).to(device)
        d_real, d_fake = D(real).mean(), D(fake).mean()
        gp = gradient_penalty(D, real, fake, mix)
        loss_d = d_fake - d_real + cfg.gp_weight * gp
        stats = {"d": loss_d.item(), "gp": gp.item(), "w_dist": (d_real - d_fake).item()}
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return stats


def _adversarial(D, fake: torch.Tensor, cfg: LayeredConfig, gen: torch.Generator) -> torch.Tensor:
    """G's adversarial loss on [0, 1] images (-D for both: WGAN and hinge GANs share it)."""
    if cfg.discriminator == "projected":
        return -D(fake * 2 - 1, generator=gen).mean()
    return -D(fake).mean()


def _gan_step(G, D, opt_g, opt_d, images, cfg: LayeredConfig, rng, gen, device,
              left: int) -> tuple[dict[str, float], int]:
    """n_critic critic steps (one for the projected D), fewer when `left` real images end the run sooner,
    then one generator step."""
    batch = cfg.batch
    n_critic = 1 if cfg.discriminator == "projected" else cfg.n_critic
    critic_steps = min(n_critic, -(-left // batch))  # left > 0: at least one
    for _ in range(critic_steps):
        real = _batch(images, rng, batch, cfg.model.resolution, device)
        z = torch.randn(batch, cfg.model.z_dim, generator=gen).to(device)
        with torch.no_grad():
            _, fake = G(z=z)
        stats = _critic_step(D, opt_d, real, fake, cfg, gen, device)
    z = torch.randn(batch, cfg.model.z_dim, generator=gen).to(device)
    _, fake, masks = G.unroll(z=z)
    loss_g = _adversarial(D, fake, cfg, gen)
    if cfg.binary_weight:
        loss_g = loss_g + cfg.binary_weight * _binary_loss(masks)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"g": loss_g.item(), **stats}, critic_steps * batch


def _recon_step(G, D, opt_g, opt_d, images, cfg: LayeredConfig, rng, gen, device,
                left: int) -> tuple[dict[str, float], int]:
    """One batch (so never more than a batch past the `left` images that end the run)."""
    real = _batch(images, rng, cfg.batch, cfg.model.resolution, device)
    stats: dict[str, float] = {}
    if cfg.adv_weight:
        with torch.no_grad():
            _, fake = G(target=real)
        stats["d"] = _critic_step(D, opt_d, real, fake, cfg, gen, device)["d"]
    _, out, masks = G.unroll(target=real)
    l1 = (out - real).abs().mean()
    loss = l1
    if cfg.adv_weight:
        loss = loss + cfg.adv_weight * _adversarial(D, out, cfg, gen)
    if cfg.binary_weight:
        loss = loss + cfg.binary_weight * _binary_loss(masks)
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    stats.update({"l1": l1.item(), "psnr": psnr_from_mse(F.mse_loss(out.detach(), real).item())})
    return stats, cfg.batch


def _build(cfg: LayeredConfig, device: torch.device) -> tuple[LayeredGenerator, nn.Module]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        G = LayeredGenerator(cfg.model)
        if cfg.discriminator == "projected":
            from seedgen.projected_discriminator import ProjectedDiscriminator
            D: nn.Module = ProjectedDiscriminator(cfg.model.resolution, backbone_px=cfg.projected_px)
        else:
            D = LayeredCritic(cfg.model.resolution, cfg.critic_width)
    return G.to(device), D.to(device)


def _checkpoint_config(cfg: LayeredConfig) -> dict[str, Any]:
    return {"model": MODEL_NAME, MODEL_NAME: cfg.model.to_json(), "training": cfg.to_json()}


def train_layered(
    data_dir: str | Path,
    run_dir: str | Path,
    config: LayeredConfig | None = None,
    resume: bool | str | Path = True,
    progress: Callable[[LayeredProgress], None] | None = None,
) -> LayeredRun:
    """Train a layered generator on the images in data_dir, writing snapshots to run_dir.

    resume=True continues from the newest snapshot in run_dir when there is one (a killed run re-run with
    the same call carries on); a path resumes from that snapshot; False refuses a run_dir that already has
    snapshots (nothing is overwritten). The architecture of a resumed run is the snapshot's.
    Raises seedgen.image_folder.DatasetError or seedgen.checkpoint.CheckpointError (one line) on bad input.
    """
    cfg = (config or LayeredConfig()).validate()
    run_dir = Path(run_dir)
    start_from: Path | None = None
    if resume is True:
        start_from = latest_snapshot(run_dir) if run_dir.is_dir() else None
    elif resume:
        start_from = Path(resume)
    elif run_dir.is_dir() and latest_snapshot(run_dir) is not None:
        raise LayeredTrainingError(f"{run_dir}: already holds snapshots (resume, or choose another folder)")

    snapshot = None
    if start_from is not None:
        snapshot = load_snapshot(start_from)
        if snapshot.config.get("model") != MODEL_NAME:
            raise CheckpointError(f"{start_from}: model is {snapshot.config.get('model')!r}, not layered")
        saved_model = LayeredModelConfig.from_json(snapshot.config.get(MODEL_NAME) or {})
        if saved_model != cfg.model:
            cfg = replace(cfg, model=saved_model)  # the weights decide the architecture
        saved_d = (snapshot.config.get("training") or {}).get("discriminator", "standard")
        if saved_d != cfg.discriminator:
            raise LayeredConfigError(f"{start_from}: was trained with --d {saved_d}, this run asks "
                                     f"--d {cfg.discriminator}; rerun with --d {saved_d} or use a new -o")
    device = pick_device(cfg.device)
    skipped: list[str] = []
    images = ImageFolder(data_dir, min_resolution=16, max_resolution=4096, warn=skipped.append)
    run_dir.mkdir(parents=True, exist_ok=True)

    G, D = _build(cfg, device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.g_lr, betas=cfg.adam_betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.d_lr, betas=cfg.adam_betas)
    step, seen, trained = 0, 0, 0.0
    if snapshot is not None:
        step, seen, trained = restore_training(snapshot, {"G": G, "D": D}, {"G": opt_g, "D": opt_d})

    total = int(round(cfg.kimg * 1000))
    every = max(1, int(round(cfg.snap_kimg * 1000)))
    step_fn = _gan_step if cfg.model.mode == "gan" else _recon_step
    G.train()
    D.train()
    last = start_from
    losses: dict[str, float] = {}
    shown, busy = 0, 0.0
    budget = cfg.minutes * 60 if cfg.minutes is not None else math.inf
    sitting = time.perf_counter()
    clock = lambda: trained + time.perf_counter() - sitting  # noqa: E731 - training time over every sitting
    out_of_time = trained >= budget  # checked once a step, so the last snapshot records it
    while seen < total and not out_of_time:
        began = time.perf_counter()
        rng, gen = _step_generators(cfg.seed, step)
        losses, consumed = step_fn(G, D, opt_g, opt_d, images, cfg, rng, gen, device, total - seen)
        elapsed = time.perf_counter() - began
        busy += elapsed
        shown += consumed
        step += 1
        before, seen = seen, seen + consumed
        if progress is not None:
            progress(LayeredProgress(step, min(seen, total), total, losses, elapsed, clock(), budget))
        out_of_time = clock() >= budget
        if seen // every > before // every or seen >= total or out_of_time:
            last = _save(run_dir, G, D, opt_g, opt_d, cfg, step, seen, losses, images, device, clock())
    if last is None:  # nothing left to train, and no snapshot written yet
        last = _save(run_dir, G, D, opt_g, opt_d, cfg, step, seen, losses, images, device, clock())
    return LayeredRun(run_dir, last, step, seen, start_from, losses, skipped, shown / busy if busy else 0.0,
                      clock(), "kimg" if seen >= total else "minutes")


def run_layered(data_dir: str | Path, run_dir: str | Path, options: dict[str, Any]) -> str:
    """`seedgen train --model layered`: options as the train command parses them -> one summary line.

    Reads kimg, batch, snap, seed, device, resume, quiet (None = default) and the layered options mode,
    layers, params; refuses StyleGAN-only options (cfg, gamma, aug, p, target, freezed, settings).
    """
    foreign = [k for k in ("cfg", "gamma", "aug", "p", "target", "freezed") if options.get(k) is not None]
    if options.get("settings"):
        foreign.append("set")
    if foreign:
        raise LayeredConfigError(f"--model layered does not use --{', --'.join(foreign)}")
    model = {k: options[name] for k, name in (("mode", "mode"), ("layers", "layers"), ("params", "params"))
             if options.get(name) is not None}
    training = {k: options[name] for k, name in (("kimg", "kimg"), ("batch", "batch"), ("snap_kimg", "snap"),
                                                 ("seed", "seed"), ("device", "device"), ("minutes", "minutes"),
                                                 ("discriminator", "d"))
                if options.get(name) is not None}
    if options.get("minutes") is not None and options.get("kimg") is None:
        training["kimg"] = 100000.0  # the budget alone ends the run
    config = LayeredConfig(model=LayeredModelConfig(**model), **training)
    total = int(round(config.kimg * 1000))
    timed = config.minutes is not None
    with tqdm(total=None if timed else total, unit="img", disable=bool(options.get("quiet")), leave=False) as bar:

        def progress(p: LayeredProgress) -> None:
            bar.update(p.images - bar.n)
            shown = {k: f"{v:.3f}" for k, v in p.losses.items()}
            if timed:
                shown["time"] = f"{p.elapsed / 60:.1f} min, left {max(p.budget - p.elapsed, 0) / 60:.1f} min"
            bar.set_postfix(shown, refresh=False)

        run = train_layered(data_dir, run_dir, config, resume=options.get("resume") or True, progress=progress)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in run.losses.items())
    return (f"layered ({config.model.mode}, T={config.model.layers}, K={config.model.params}): "
            f"{run.images / 1000:.3f} kimg, {run.steps} steps, {run.train_seconds / 60:.1f} min, "
            f"{run.images_per_second:.2f} img/s"
            f"{f'; stopped at the {config.minutes:g}-minute budget' if run.stopped_by == 'minutes' else ''}"
            f"{'; ' + losses if losses else ''}; snapshot {run.snapshot}")


SAMPLE_GRID = 4  # a snapshot's sample grid is SAMPLE_GRID x SAMPLE_GRID images


def _write_samples(run_dir: Path, G, cfg: LayeredConfig, images: ImageFolder, seen: int, device) -> Path:
    """`samples-<images>.png` beside the snapshot: fixed noise (GAN; the same z every time, so grids compare
    across the run) or fixed training images above their reconstructions (recon), at the model's size."""
    count = SAMPLE_GRID * SAMPLE_GRID
    was_training = G.training
    G.eval()
    with torch.no_grad():
        if cfg.model.mode == "gan":
            _, canvas = G(z=G.noise(count, cfg.seed))
        else:
            half = count // 2
            real = _batch(images, np.random.default_rng(cfg.seed), half, cfg.model.resolution, device)
            canvas = torch.cat([real, G(target=real)[1]])
    G.train(was_training)
    pixels = (canvas.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    grid = image_grid(pixels, (SAMPLE_GRID, SAMPLE_GRID))
    return write_atomic(run_dir / f"samples-{seen:010d}.png", png_bytes(grid), overwrite=True)


def _save(run_dir: Path, G, D, opt_g, opt_d, cfg: LayeredConfig, step: int, seen: int, losses,
          images: ImageFolder, device, train_seconds: float) -> Path:
    """The snapshot (networks, optimizers, progress) and its sample grid; older snapshots beyond
    cfg.keep_snapshots are removed."""
    _write_samples(run_dir, G, cfg, images, seen, device)
    path = snapshot_path(run_dir, seen)
    state = {"step": step, "images": seen, "kimg": seen / 1000, "losses": losses, "train_seconds": train_seconds}
    save_snapshot(path, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, _checkpoint_config(cfg), state)
    old = sorted(run_dir.glob(f"{SNAPSHOT_PREFIX}[0-9]*.safetensors"))[: -cfg.keep_snapshots]
    for weights in old:
        weights.unlink(missing_ok=True)
        weights.with_suffix(".json").unlink(missing_ok=True)
    return path
