"""Fitting the layered generator: its networks to a training set, or one layer stack to one image.

`train_layered` trains a `LayeredGenerator` on a folder of images in one of the paper's two settings:
"gan" (canvas + noise, WGAN-GP against a small conv critic) or "recon" (canvas + target, L1, plus an
optional adversarial term). Snapshots are safetensors + JSON (`seedgen.snapshot`, model "layered"); the
same call on the same run folder resumes from the latest one, and batches and noise are drawn from
(seed, step), so a resumed run repeats exactly what an uninterrupted one would do.

`decompose_image` fits T coloured layers to a single image by gradient descent on (p_t, c_t) (and the
shared mask MLP): a vectorizer that needs no tracing. Each layer starts where it removes the most error.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from scipy.cluster.vq import kmeans2
from torch import nn
from tqdm import tqdm

from augment.output import png_bytes, write_atomic
from seedgen.device import pick_device
from seedgen.image_folder import ImageFolder, image_grid
from seedgen.layered import (
    MODEL_NAME,
    LayeredConfigError,
    LayeredGenerator,
    LayeredModelConfig,
    LayerStack,
    MaskMLP,
    load_layered_generator,
    pixel_grid,
    render_stack,
)
from seedgen.snapshot import CheckpointError, load_snapshot, load_state_strict, save_snapshot

SNAPSHOT_PREFIX = "snapshot-"


class LayeredTrainingError(ValueError):
    """A training or fitting request that cannot run (one line, fit to show a user)."""

    exit_code = 1  # an input could not be used (seedgen.failure)


# --------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class LayeredConfig:
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
            ("snap_kimg", 0.001 <= self.snap_kimg <= 10000),
            ("keep_snapshots", 1 <= self.keep_snapshots <= 1000),
            ("device", self.device == "auto" or self.device == "cpu" or self.device.startswith("cuda")),
        ]
        for name, ok in checks:
            if not ok:
                raise LayeredConfigError(f"layered training: {name}={getattr(self, name)!r} is out of range")
        return self

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("model")
        out["adam_betas"] = list(self.adam_betas)
        return out

    @classmethod
    def from_json(cls, model: dict[str, Any], training: dict[str, Any]) -> "LayeredConfig":
        known = {f.name for f in fields(cls)} - {"model"}
        values = {k: v for k, v in training.items() if k in known}
        if "adam_betas" in values:
            values["adam_betas"] = tuple(values["adam_betas"])
        return cls(model=LayeredModelConfig.from_json(model), **values)


@dataclass
class LayeredProgress:
    """What a progress callback sees after every step."""

    step: int
    images: int  # real images shown so far
    total_images: int
    losses: dict[str, float]
    seconds: float  # wall time of this step


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


def _gan_step(G, D, opt_g, opt_d, images, cfg: LayeredConfig, rng, gen, device,
              left: int) -> tuple[dict[str, float], int]:
    """n_critic critic steps, fewer when `left` real images end the run sooner, then one generator step."""
    batch = cfg.batch
    critic_steps = min(cfg.n_critic, -(-left // batch))  # left > 0: at least one
    for _ in range(critic_steps):
        real = _batch(images, rng, batch, cfg.model.resolution, device)
        z = torch.randn(batch, cfg.model.z_dim, generator=gen).to(device)
        mix = torch.rand(batch, 1, 1, 1, generator=gen).to(device)
        with torch.no_grad():
            _, fake = G(z=z)
        d_real, d_fake = D(real).mean(), D(fake).mean()
        gp = gradient_penalty(D, real, fake, mix)
        loss_d = d_fake - d_real + cfg.gp_weight * gp
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    z = torch.randn(batch, cfg.model.z_dim, generator=gen).to(device)
    _, fake, masks = G.unroll(z=z)
    loss_g = -D(fake).mean()
    if cfg.binary_weight:
        loss_g = loss_g + cfg.binary_weight * _binary_loss(masks)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    stats = {"g": loss_g.item(), "d": loss_d.item(), "gp": gp.item(), "w_dist": (d_real - d_fake).item()}
    return stats, critic_steps * batch


def _recon_step(G, D, opt_g, opt_d, images, cfg: LayeredConfig, rng, gen, device,
                left: int) -> tuple[dict[str, float], int]:
    """One batch (so never more than a batch past the `left` images that end the run)."""
    real = _batch(images, rng, cfg.batch, cfg.model.resolution, device)
    stats: dict[str, float] = {}
    if cfg.adv_weight:
        with torch.no_grad():
            _, fake = G(target=real)
        mix = torch.rand(cfg.batch, 1, 1, 1, generator=gen).to(device)
        d_real, d_fake = D(real).mean(), D(fake).mean()
        loss_d = d_fake - d_real + cfg.gp_weight * gradient_penalty(D, real, fake, mix)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        stats["d"] = loss_d.item()
    _, out, masks = G.unroll(target=real)
    l1 = (out - real).abs().mean()
    loss = l1
    if cfg.adv_weight:
        loss = loss + cfg.adv_weight * -D(out).mean()
    if cfg.binary_weight:
        loss = loss + cfg.binary_weight * _binary_loss(masks)
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    stats.update({"l1": l1.item(), "psnr": _psnr_from_mse(F.mse_loss(out.detach(), real).item())})
    return stats, cfg.batch


def _psnr_from_mse(mse: float) -> float:
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def _build(cfg: LayeredConfig, device: torch.device) -> tuple[LayeredGenerator, LayeredCritic]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        G = LayeredGenerator(cfg.model)
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
    Raises seedgen.image_folder.DatasetError or seedgen.snapshot.CheckpointError (one line) on bad input.
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
    device = pick_device(cfg.device)
    skipped: list[str] = []
    images = ImageFolder(data_dir, min_resolution=16, max_resolution=4096, warn=skipped.append)
    run_dir.mkdir(parents=True, exist_ok=True)

    G, D = _build(cfg, device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.g_lr, betas=cfg.adam_betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.d_lr, betas=cfg.adam_betas)
    step, seen = 0, 0
    if snapshot is not None:
        load_state_strict(G, snapshot.networks["G"], "G")
        load_state_strict(D, snapshot.networks["D"], "D")
        opt_g.load_state_dict(snapshot.optimizers["G"])
        opt_d.load_state_dict(snapshot.optimizers["D"])
        step, seen = int(snapshot.state["step"]), int(snapshot.state["images"])

    total = int(round(cfg.kimg * 1000))
    every = max(1, int(round(cfg.snap_kimg * 1000)))
    step_fn = _gan_step if cfg.model.mode == "gan" else _recon_step
    G.train()
    D.train()
    last = start_from
    losses: dict[str, float] = {}
    shown, busy = 0, 0.0
    while seen < total:
        began = time.perf_counter()
        rng, gen = _step_generators(cfg.seed, step)
        losses, consumed = step_fn(G, D, opt_g, opt_d, images, cfg, rng, gen, device, total - seen)
        elapsed = time.perf_counter() - began
        busy += elapsed
        shown += consumed
        step += 1
        before, seen = seen, seen + consumed
        if progress is not None:
            progress(LayeredProgress(step, min(seen, total), total, losses, elapsed))
        if seen // every > before // every or seen >= total:
            last = _save(run_dir, G, D, opt_g, opt_d, cfg, step, seen, losses, images, device)
    if last is None:  # nothing left to train, and no snapshot written yet
        last = _save(run_dir, G, D, opt_g, opt_d, cfg, step, seen, losses, images, device)
    return LayeredRun(run_dir, last, step, seen, start_from, losses, skipped, shown / busy if busy else 0.0)


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
                                                 ("seed", "seed"), ("device", "device"))
                if options.get(name) is not None}
    config = LayeredConfig(model=LayeredModelConfig(**model), **training)
    total = int(round(config.kimg * 1000))
    with tqdm(total=total, unit="img", disable=bool(options.get("quiet")), leave=False) as bar:

        def progress(p: LayeredProgress) -> None:
            bar.update(p.images - bar.n)
            bar.set_postfix({k: f"{v:.3f}" for k, v in p.losses.items()}, refresh=False)

        run = train_layered(data_dir, run_dir, config, resume=options.get("resume") or True, progress=progress)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in run.losses.items())
    return (f"layered ({config.model.mode}, T={config.model.layers}, K={config.model.params}): "
            f"{run.images / 1000:.3f} kimg, {run.steps} steps, {run.images_per_second:.2f} img/s"
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
          images: ImageFolder, device) -> Path:
    """The snapshot (networks, optimizers, progress) and its sample grid; older snapshots beyond
    cfg.keep_snapshots are removed."""
    _write_samples(run_dir, G, cfg, images, seen, device)
    path = snapshot_path(run_dir, seen)
    state = {"step": step, "images": seen, "kimg": seen / 1000, "losses": losses}
    save_snapshot(path, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, _checkpoint_config(cfg), state)
    old = sorted(run_dir.glob(f"{SNAPSHOT_PREFIX}[0-9]*.safetensors"))[: -cfg.keep_snapshots]
    for weights in old:
        weights.unlink(missing_ok=True)
        weights.with_suffix(".json").unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------------------------- decomposition


@dataclass(frozen=True)
class DecomposeConfig:
    """Fitting T coloured layers to one image; every option once, with its default and range."""

    layers: int = 10  # T, 1..64 (fewer are used when the image is explained sooner)
    params: int = 10  # K, 1..256 (a checkpoint's own K wins)
    steps: int = 400  # gradient steps in all: mask fit, then joint L1 fit, 0..100000
    seed: int = 0  # the MLP init, code init and pixel samples derive from it
    resolution: int = 64  # the image is fitted at this size (area-downsampled), 16..1024
    fit_fraction: float = 0.6  # share of `steps` fitting masks to the painted regions (0 with a recon model), 0..1
    pixels_per_step: int = 1024  # random pixels per step (0 = all): sets the cost of a step, 64..1M
    lr: float = 0.05  # Adam lr of codes while fitting masks, 1e-5..1
    joint_lr: float = 0.01  # Adam lr of codes, colours and background in the joint fit, 1e-5..1
    mlp_lr: float = 0.01  # Adam lr of the shared mask MLP while fitting masks (0 keeps it fixed), 0..0.1
    joint_mlp_lr: float = 0.001  # ... and in the joint fit, 0..0.1
    colour_classes: int = 12  # k-means colour clusters whose connected patches are the candidate layers, 2..64
    error_threshold: float = 0.05  # stop adding layers when no patch has this mean RGB-L1 error left, 0..3
    min_region: int = 4  # smaller patches are not layers of their own (px at `resolution`), 1..10000
    binary_weight: float = 0.0  # mean(M(1-M)) weight in the joint fit: crisper 0/1 masks, 0..10
    mlp_width: int = 128  # a fresh MLP's width (paper: 128), 8..1024, a multiple of 8
    mlp_depth: int = 3  # a fresh MLP's hidden layers (paper: 3), 1..8
    mlp_fourier: int = 3  # a fresh MLP's Fourier frequencies of (x, y), 0..16: 0 is the paper's; 3 fits one
    #   image's patches much faster (mean IoU 0.63 vs 0.17 after 50 steps, 0.79 vs 0.69 after 200)
    device: str = "cpu"  # "cpu", "cuda" or "auto"

    def validate(self) -> "DecomposeConfig":
        checks = [
            ("layers", 1 <= self.layers <= 64),
            ("params", 1 <= self.params <= 256),
            ("steps", 0 <= self.steps <= 100000),
            ("resolution", 16 <= self.resolution <= 1024),
            ("fit_fraction", 0 <= self.fit_fraction <= 1),
            ("pixels_per_step", self.pixels_per_step == 0 or 64 <= self.pixels_per_step <= 1 << 20),
            ("lr", 1e-5 <= self.lr <= 1),
            ("joint_lr", 1e-5 <= self.joint_lr <= 1),
            ("mlp_lr", 0 <= self.mlp_lr <= 0.1),
            ("joint_mlp_lr", 0 <= self.joint_mlp_lr <= 0.1),
            ("colour_classes", 2 <= self.colour_classes <= 64),
            ("error_threshold", 0 <= self.error_threshold <= 3),
            ("min_region", 1 <= self.min_region <= 10000),
            ("binary_weight", 0 <= self.binary_weight <= 10),
            ("mlp_width", 8 <= self.mlp_width <= 1024 and self.mlp_width % 8 == 0),
            ("mlp_depth", 1 <= self.mlp_depth <= 8),
            ("mlp_fourier", 0 <= self.mlp_fourier <= 16),
            ("device", self.device in ("auto", "cpu") or self.device.startswith("cuda")),
        ]
        for name, ok in checks:
            if not ok:
                raise LayeredConfigError(f"decompose: {name}={getattr(self, name)!r} is out of range")
        return self


@dataclass
class Decomposition:
    """One image as a layer stack: the shared mask MLP, the stack (batch 1) and how well it fits."""

    mlp: MaskMLP
    stack: LayerStack
    resolution: int
    flat_l1: float  # mean absolute error (0..1) of the background colour alone: the baseline
    initial_l1: float  # after the initialisation (greedy regions + mask fit, or the recon model)
    final_l1: float  # after the joint fit
    psnr: float  # of the final render at `resolution`, dB

    def render(self, size: int) -> np.ndarray:
        """The stack rendered at size x size: (H, W, 3) uint8."""
        with torch.no_grad():
            image = render_stack(self.mlp, self.stack, size)[0]
        return (image.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def _image_tensor(rgb: np.ndarray, resolution: int) -> torch.Tensor:
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise LayeredTrainingError(f"decompose: expected an (H, W, 3) uint8 image, got {array.dtype} {array.shape}")
    if min(array.shape[:2]) < 2:
        raise LayeredTrainingError(f"decompose: image {array.shape[1]}x{array.shape[0]} is too small")
    image = torch.from_numpy(np.array(array[:, :, :3], dtype=np.float32) / 255).permute(2, 0, 1)[None]
    return F.interpolate(image, size=(resolution, resolution), mode="area")


def colour_classes(pixels: np.ndarray, classes: int, seed: int) -> np.ndarray:
    """(P, 3) pixels -> (P,) labels of `classes` k-means colour clusters (seeded: same input, same labels)."""
    distinct = np.unique(np.round(pixels, 3), axis=0)
    if len(distinct) <= classes:
        return np.argmin(((pixels[:, None] - distinct[None]) ** 2).sum(axis=2), axis=1)
    _, labels = kmeans2(pixels.astype(np.float64), classes, iter=20, minit="++", seed=seed)
    return labels


def paint_regions(
    image: np.ndarray, layers: int, cfg: DecomposeConfig
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The greedy init in pixel space: paint the commonest colour everywhere, then T times repaint the
    flat-colour region (a connected patch of one colour class) that carries the most error, in its
    median colour. (H, W, 3) float image -> background colour, region masks (bottom first), colours.
    Connected one-colour patches are shapes a mask MLP fits quickly; scattered colour sets are not.
    """
    height, width, _ = image.shape
    pixels = image.reshape(-1, 3)
    labels = colour_classes(pixels, cfg.colour_classes, cfg.seed)
    commonest = np.bincount(labels).argmax()
    background = np.median(pixels[labels == commonest], axis=0)
    patches = []  # every connected patch of every colour class
    eight = np.ones((3, 3), dtype=bool)
    for k in np.unique(labels):
        components, count = ndimage.label((labels == k).reshape(height, width), structure=eight)
        for i in range(1, count + 1):
            patch = (components == i).ravel()
            if patch.sum() >= cfg.min_region:
                patches.append(np.flatnonzero(patch))
    canvas = np.tile(background, (len(pixels), 1))
    regions: list[np.ndarray] = []
    colours: list[np.ndarray] = []
    while len(regions) < layers and patches:
        error = np.abs(canvas - pixels).sum(axis=1)
        mass = np.array([error[p].sum() for p in patches])
        best = int(np.argmax(mass))
        if mass[best] <= cfg.error_threshold * cfg.min_region:
            break  # nothing visible left to fix
        patch = patches.pop(best)
        colour = np.median(pixels[patch], axis=0)
        canvas[patch] = colour
        region = np.zeros(len(pixels), dtype=bool)
        region[patch] = True
        regions.append(region.reshape(height, width))
        colours.append(colour)
    return background, regions, colours


def _fresh_mlp(cfg: DecomposeConfig, params: int) -> MaskMLP:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return MaskMLP(params, cfg.mlp_width, cfg.mlp_depth, groups=8, fourier=cfg.mlp_fourier)


def composite_layers(masks: torch.Tensor, colours: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """(T, P) masks, (T, 3) colours, (3,) background -> (P, 3) pixels, blended bottom to top."""
    canvas = background.expand(masks.shape[1], 3)
    for t in range(masks.shape[0]):
        m = masks[t][:, None]
        canvas = canvas * (1 - m) + colours[t] * m
    return canvas


def _pixel_sample(total: int, count: int, gen: torch.Generator, device: torch.device) -> torch.Tensor | None:
    if count == 0 or count >= total:
        return None
    return torch.randperm(total, generator=gen)[:count].to(device)


def fit_masks(
    mlp: MaskMLP,
    codes: torch.Tensor,
    regions: torch.Tensor,
    steps: int,
    cfg: DecomposeConfig,
    xy_all: torch.Tensor,
    gen: torch.Generator,
    device: torch.device,
) -> None:
    """Auto-decoder fit, in place: codes (N, K) and the MLP so that mask n matches region n (N, P) (BCE)."""
    groups = [{"params": [codes], "lr": cfg.lr}]
    if cfg.mlp_lr > 0:
        groups.append({"params": list(mlp.parameters()), "lr": cfg.mlp_lr})
    optimizer = torch.optim.Adam(groups)
    for _ in range(steps):
        index = _pixel_sample(xy_all.shape[0], cfg.pixels_per_step, gen, device)
        xy, want = (xy_all, regions) if index is None else (xy_all[index], regions[:, index])
        loss = F.binary_cross_entropy_with_logits(mlp.logits(xy, codes), want)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def decompose_image(
    rgb: np.ndarray,
    layers: int | None = None,
    params: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    *,
    checkpoint: str | Path | None = None,
    config: DecomposeConfig | None = None,
) -> Decomposition:
    """Fit up to T coloured layers to one (H, W, 3) uint8 image; layers/params/steps/seed override `config`.

    Init: a "recon" checkpoint predicts the stack; otherwise the greedy painter picks regions and colours
    and the mask MLP (a checkpoint's, or a fresh one) is fitted to them. Then codes, colours, background and
    the MLP are fitted jointly with Adam on the L1 error of the blended render.
    """
    cfg = config or DecomposeConfig()
    overrides = {k: v for k, v in dict(layers=layers, params=params, steps=steps, seed=seed).items() if v is not None}
    cfg = replace(cfg, **overrides).validate()
    device = pick_device(cfg.device)
    target = _image_tensor(rgb, cfg.resolution).to(device)
    res = cfg.resolution
    pixels = target[0].reshape(3, -1).T  # (P, 3)
    xy_all = pixel_grid(res, device=device)
    gen = torch.Generator().manual_seed(cfg.seed)
    fit_steps = int(round(cfg.steps * cfg.fit_fraction))

    model = load_layered_generator(checkpoint, device) if checkpoint is not None else None
    if model is not None and model.config.mode == "recon":
        mlp = model.mlp
        with torch.no_grad():
            stack, _ = model(target=target)
        background, codes, colours = stack.background[0], stack.codes[0], stack.colours[0]
        flat = torch.from_numpy(np.median(pixels.cpu().numpy(), axis=0)).to(device)
        fit_steps = 0
    else:
        params_k = model.config.params if model is not None else cfg.params
        mlp = model.mlp if model is not None else _fresh_mlp(cfg, params_k).to(device)
        background_np, regions, colour_list = paint_regions(target[0].permute(1, 2, 0).cpu().numpy(), cfg.layers, cfg)
        flat = background = torch.from_numpy(background_np).float().to(device)
        if not regions:  # a flat image: one empty layer keeps the stack well-formed
            regions, colour_list = [np.zeros((res, res), dtype=bool)], [background_np]
        colours = torch.from_numpy(np.stack(colour_list)).float().to(device)
        codes = (torch.randn(len(regions), params_k, generator=gen) * 0.1).to(device).requires_grad_(True)
        wanted = torch.from_numpy(np.stack(regions).reshape(len(regions), -1)).float().to(device)
        mlp.train()
        fit_masks(mlp, codes, wanted, fit_steps, cfg, xy_all, gen, device)
    mlp.train()

    codes = codes.detach().clone().requires_grad_(True)
    colour_logits = _logit(colours.detach()).requires_grad_(True)
    background_logit = _logit(background.detach()).requires_grad_(True)

    def stack_now() -> LayerStack:
        return LayerStack(torch.sigmoid(background_logit)[None], codes[None], torch.sigmoid(colour_logits)[None])

    def l1_now() -> float:
        with torch.no_grad():
            return float((render_stack(mlp, stack_now(), res) - target).abs().mean())

    flat_l1 = float((pixels - flat).abs().mean())
    initial = l1_now()
    groups = [{"params": [codes, colour_logits, background_logit], "lr": cfg.joint_lr}]
    if cfg.joint_mlp_lr > 0:
        groups.append({"params": list(mlp.parameters()), "lr": cfg.joint_mlp_lr})
    optimizer = torch.optim.Adam(groups)
    for _ in range(cfg.steps - fit_steps):
        index = _pixel_sample(xy_all.shape[0], cfg.pixels_per_step, gen, device)
        xy, want = (xy_all, pixels) if index is None else (xy_all[index], pixels[index])
        masks = mlp(xy, codes)
        out = composite_layers(masks, torch.sigmoid(colour_logits), torch.sigmoid(background_logit))
        loss = (out - want).abs().mean()
        if cfg.binary_weight:
            loss = loss + cfg.binary_weight * (masks * (1 - masks)).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    mlp.eval()
    mlp.requires_grad_(False)
    stack = stack_now().detach()
    with torch.no_grad():
        out = render_stack(mlp, stack, res)
        final = float((out - target).abs().mean())
        psnr = _psnr_from_mse(float(F.mse_loss(out, target)))
    return Decomposition(mlp, stack, res, flat_l1, initial, final, psnr)


def _logit(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.01, 0.99)
    return torch.log(x / (1 - x))
