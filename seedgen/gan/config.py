"""Every training option in one place, with its default and why; presets mirror the official ones.

`TrainingConfig` is the single description of a run: the CLI, the bridge, the tests and the snapshot
JSON all build or store this dataclass. `preset(name, resolution)` fills it like stylegan2-ada-pytorch's
`train.py` cfg_specs ('auto' derives batch, gamma and EMA from the resolution), plus `small` (a
model that trains at a few img/s on a 2-core CPU) and `dcgan` (the classic baseline).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any

from seedgen.failure import ConfigError  # shared by every model family's options

PRESETS = ("small", "auto", "paper256", "stylegan2", "dcgan")
CPU_PRESETS = ("small", "dcgan")  # sized to train on a CPU; the others are the official GPU configs
MODELS = ("stylegan2", "dcgan")
DISCRIMINATORS = ("standard", "projected")  # the family's own D, or heads over frozen pretrained features
AUG_MODES = ("ada", "noaug", "fixed")
AUGPIPE_NAMES = ("blit", "geom", "color", "bg", "bgc")   # the sets seedgen.gan.ada.AUGPIPES defines
MIN_RESOLUTION = 32
MAX_RESOLUTION = 1024


@dataclass
class TrainingConfig:
    """One training run's options. Ranges are what the code supports; defaults are the official 'auto' at 256 px."""

    # --- what is trained -------------------------------------------------------------------------
    model: str = "stylegan2"          # network family: "stylegan2" | "dcgan" (registry in training_loop)
    cfg: str = "auto"                 # preset this config started from; recorded for the record only
    resolution: int = 256             # image side in px, taken from the data: power of two, 32..1024
    channels: int = 3                 # image channels; the data loader always gives RGB

    # --- StyleGAN2 networks (official constructor arguments) ------------------------------------
    z_dim: int = 512                  # latent size (128..512); 512 is official, smaller trains faster on CPU
    w_dim: int = 512                  # intermediate latent size, usually = z_dim
    mapping_layers: int = 2           # 2 in 'auto' (ADA paper: enough for limited data), 8 in 'stylegan2'
    channel_base: int = 16384         # channels at res r = min(channel_base // r, channel_max): capacity knob
    channel_max: int = 512            # cap on channels at low resolutions
    num_fp16_res: int = 4             # top resolutions run in fp16 on CUDA (0 = all fp32); CPU is always fp32
    conv_clamp: float | None = 256    # clamp activations to +-256 so fp16 cannot overflow (None = off)
    mbstd_group_size: int = 4         # D minibatch-std group; official keeps it at 4 per GPU

    # --- discriminator kind ------------------------------------------------------------------------
    discriminator: str = "standard"   # "standard": the family's own D; "projected": small heads over frozen
                                      # EfficientNet-Lite0 features (seedgen.projected_discriminator), >= 64 px
    projected_px: int = 224           # projected D: images are resized to this side for the backbone (its scale)
    diffaugment: str = "color,translation,cutout"   # projected D: DiffAugment policies ("" = none)

    # --- DCGAN baseline --------------------------------------------------------------------------
    dcgan_features: int = 64          # ngf = ndf of Radford et al. (16..128)

    # --- optimisation ----------------------------------------------------------------------------
    batch: int = 16                   # images per step over all processes; 'auto' = min(4096 // res, 32)
    g_lr: float = 0.0025              # Adam lr of G: 0.0025 below 1024 px, 0.002 at 1024 (official)
    d_lr: float = 0.0025              # Adam lr of D
    adam_betas: tuple[float, float] = (0.0, 0.99)   # beta1 = 0 as in StyleGAN2; DCGAN uses (0.5, 0.999)
    adam_eps: float = 1e-8

    # --- losses and lazy regularization ----------------------------------------------------------
    r1_gamma: float = 0.8192          # R1 weight; 'auto' = 0.0002 * res^2 / batch (0.8192 at 256 px, batch 16)
    g_reg_interval: int | None = 4    # path-length reg every 4 G steps (None: no lazy reg, no PL)
    d_reg_interval: int | None = 16   # R1 every 16 D steps (None: R1 in every step)
    pl_weight: float = 2.0            # path-length regularization weight (0 disables)
    pl_decay: float = 0.01            # EMA decay of the running mean path length
    pl_batch_shrink: int = 2          # PL runs on batch / 2 to save time
    style_mixing_prob: float = 0.9    # share of batches that mix two w's at a random layer cutoff

    # --- generator EMA ---------------------------------------------------------------------------
    ema_kimg: float = 5.0             # half-life of G_ema in kimg; 'auto' = batch * 10 / 32 (0 = no averaging)
    ema_rampup: float | None = 0.05   # half-life at most cur_nimg * rampup early on (None = off; off when transferring)

    # --- adaptive discriminator augmentation -----------------------------------------------------
    aug: str = "ada"                  # "ada" (adaptive p) | "noaug" | "fixed" (constant augment_p)
    augment_p: float = 0.0            # initial p (the constant p with aug="fixed"), 0..1
    ada_target: float = 0.6           # target of r_t = E[sign(D(real))] (ADA paper: 0.6)
    ada_interval: int = 4             # adjust p every 4 steps
    ada_kimg: float = 500             # p can go 0 -> 1 in this many kimg; 100 when transferring (reacts faster)
    augpipe: str = "bgc"              # which augmentations: see seedgen.gan.ada.AUGPIPES

    # --- transfer learning -----------------------------------------------------------------------
    freezed: int = 0                  # Freeze-D: keep the first N discriminator blocks (from the top) fixed

    # --- schedule --------------------------------------------------------------------------------
    total_kimg: float = 25000         # training length in thousands of real images shown to D
    total_minutes: float | None = None   # wall-clock budget over all sittings (None = none): stop there, snapshot
    tick_kimg: float = 4              # status line, TensorBoard scalars and snapshot-latest every tick
    snap_kimg: float = 200            # kept network snapshots and sample grids every this many kimg
    grid: tuple[int, int] = (16, 9)   # sample grid columns x rows (fixed z, PNG + TensorBoard)
    seed: int = 0                     # seeds everything: init, data order, z, augmentations

    # --- performance -----------------------------------------------------------------------------
    workers: int | None = None        # data loader processes; None: 3 on CUDA, 0 on CPU (no spare cores)
    cpu_threads: int | None = None    # torch CPU threads; None = torch's choice (all cores): on a quiet 2-core
                                      # machine 2 threads take 0.74x the wall time of 1; when the cores are shared,
                                      # 1 is far faster (1.8 vs 0.3 img/s under load; BENCHMARKS.md, "Threads")
    data_cache_mb: int = 1024         # decode the whole dataset into memory when it fits in this budget
    channels_last: bool = False       # NHWC for the fp16 layers on CUDA (official --nhwc, off by default there
                                      # and here until measured on our GPUs); no effect on CPU
    allow_tf32: bool = False          # TF32 matmuls on Ampere+; official default off for exactness
    cudnn_benchmark: bool = True      # let cuDNN pick kernels (faster after the first steps)

    # ----------------------------------------------------------------------------------------------
    def validate(self) -> "TrainingConfig":
        """Raise ConfigError with one line for an impossible combination; return self."""
        checks = [
            (self.model in MODELS, f"--model must be one of {', '.join(MODELS)}"),
            (self.aug in AUG_MODES, f"--aug must be one of {', '.join(AUG_MODES)}"),
            (self.augpipe in AUGPIPE_NAMES, f"augpipe must be one of {', '.join(AUGPIPE_NAMES)}"),
            (_power_of_two(self.resolution) and MIN_RESOLUTION <= self.resolution <= MAX_RESOLUTION,
             f"resolution {self.resolution} must be a power of two in {MIN_RESOLUTION}..{MAX_RESOLUTION}"),
            (self.batch >= 1, "--batch must be at least 1"),
            (self.r1_gamma >= 0, "--gamma must be non-negative"),
            (0 <= self.ada_target <= 1, "--target must be between 0 and 1"),
            (0 <= self.augment_p <= 1, "augment_p must be between 0 and 1"),
            (self.freezed >= 0, "--freezed must be non-negative"),
            (self.total_kimg > 0, "--kimg must be positive"),
            (self.total_minutes is None or self.total_minutes > 0, "--minutes must be positive"),
            (self.discriminator in DISCRIMINATORS, f"--d must be one of {', '.join(DISCRIMINATORS)}"),
            (self.discriminator != "projected" or self.resolution >= 64,
             f"--d projected needs images of 64 px or more (these are {self.resolution} px)"),
            (self.projected_px >= 64 and self.projected_px % 32 == 0,
             "projected_px must be a multiple of 32, at least 64"),
            (self.tick_kimg > 0 and self.snap_kimg > 0, "--snap must be positive"),
            (self.z_dim >= 1 and self.w_dim >= 1, "z_dim and w_dim must be positive"),
            (self.model != "stylegan2" or (self.channel_base >= self.resolution and self.channel_max >= 1),
             "channel_base must be at least the resolution (one channel at the top) and channel_max positive"),
            (self.mapping_layers >= 1 and self.dcgan_features >= 1, "mapping_layers and dcgan_features must be positive"),
            (self.ema_kimg >= 0, "ema_kimg must be non-negative"),
            (self.cpu_threads is None or self.cpu_threads >= 1, "cpu_threads must be at least 1"),
            (self.ada_interval >= 1 and self.ada_kimg > 0, "ada_interval and ada_kimg must be positive"),
            (self.pl_batch_shrink >= 1, "pl_batch_shrink must be at least 1"),
            (self.grid[0] >= 1 and self.grid[1] >= 1, "grid must be at least 1x1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        from seedgen.diffaugment import parse_policy  # here, so that `seedgen train --help` loads no torch
        try:
            parse_policy(self.diffaugment)
        except ValueError as error:
            raise ConfigError(f"diffaugment: {error}") from None
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return json_ready(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainingConfig":
        """Rebuild from `to_dict` output; unknown keys are an error (a newer seedgen wrote it)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown training options: {', '.join(unknown)}")
        values = dict(data)
        for key in ("adam_betas", "grid"):
            if key in values and values[key] is not None:
                values[key] = tuple(values[key])
        return cls(**values)

    def ema_beta(self, cur_nimg: int) -> float:
        """Per-step EMA factor for G_ema: half-life ema_kimg, ramped up over the first images."""
        ema_nimg = self.ema_kimg * 1000
        if self.ema_rampup is not None:
            ema_nimg = min(ema_nimg, cur_nimg * self.ema_rampup)
        return 0.5 ** (self.batch / max(ema_nimg, 1e-8))

    def generator_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the StyleGAN2 Generator (official names)."""
        return dict(z_dim=self.z_dim, c_dim=0, w_dim=self.w_dim, img_resolution=self.resolution,
                    img_channels=self.channels,
                    mapping_kwargs=dict(num_layers=self.mapping_layers),
                    synthesis_kwargs=dict(channel_base=self.channel_base, channel_max=self.channel_max,
                                          num_fp16_res=self.num_fp16_res, conv_clamp=self.conv_clamp,
                                          architecture="skip"))

    def discriminator_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of the StyleGAN2 Discriminator (official names)."""
        return dict(c_dim=0, img_resolution=self.resolution, img_channels=self.channels, architecture="resnet",
                    channel_base=self.channel_base, channel_max=self.channel_max,
                    num_fp16_res=self.num_fp16_res, conv_clamp=self.conv_clamp,
                    block_kwargs={}, mapping_kwargs={},
                    epilogue_kwargs=dict(mbstd_group_size=self.mbstd_group_size))


def json_ready(value: Any) -> Any:
    """Tuples to lists, recursively, so a config compares equal after a JSON round trip."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def _power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def preset(name: str, resolution: int, world_size: int = 1) -> TrainingConfig:
    """The named preset for data of `resolution` px trained on `world_size` processes."""
    if name not in PRESETS:
        raise ConfigError(f"--cfg must be one of {', '.join(PRESETS)}")
    res = resolution
    if name == "auto":
        # Official 'auto': batch and gamma follow the resolution; EMA half-life follows the batch.
        batch = max(min(world_size * min(4096 // res, 32), 64), world_size)
        config = TrainingConfig(
            cfg=name, resolution=res, batch=batch, mbstd_group_size=min(batch // world_size, 4),
            channel_base=32768 if res >= 512 else 16384, channel_max=512, mapping_layers=2,
            g_lr=0.002 if res >= 1024 else 0.0025, d_lr=0.002 if res >= 1024 else 0.0025,
            r1_gamma=0.0002 * res**2 / batch, ema_kimg=batch * 10 / 32, ema_rampup=0.05,
            grid=_official_grid(res))
    elif name in ("paper256", "stylegan2"):
        spec = {"paper256": dict(batch=64, mbstd=8, base=16384, lr=0.0025, gamma=1.0, ema=20.0),
                "stylegan2": dict(batch=32, mbstd=4, base=32768, lr=0.002, gamma=10.0, ema=10.0)}[name]
        config = TrainingConfig(
            cfg=name, resolution=res, batch=spec["batch"], mbstd_group_size=spec["mbstd"],
            channel_base=spec["base"], channel_max=512, mapping_layers=8, g_lr=spec["lr"], d_lr=spec["lr"],
            r1_gamma=spec["gamma"], ema_kimg=spec["ema"], ema_rampup=None, grid=_official_grid(res))
    elif name == "small":
        # A StyleGAN2 that learns on a laptop CPU: narrow (<= 128 channels, 32 at 64 px), 128-d latents,
        # batch 8; R1 and EMA follow the 'auto' formulas. Short ticks keep snapshot-latest fresh.
        batch = 8
        config = TrainingConfig(
            cfg=name, resolution=res, z_dim=128, w_dim=128, mapping_layers=2, channel_base=2048,
            channel_max=128, batch=batch, mbstd_group_size=4, r1_gamma=0.0002 * res**2 / batch,
            ema_kimg=batch * 10 / 32, ema_rampup=0.05, total_kimg=200, tick_kimg=0.25, snap_kimg=2,
            grid=(8, 4))
    else:  # dcgan: Radford et al. 2016 hyper-parameters, no regularizers, no EMA (BatchNorm statistics).
        config = TrainingConfig(
            model="dcgan", cfg=name, resolution=res, z_dim=100, w_dim=100, batch=64, g_lr=0.0002, d_lr=0.0002,
            adam_betas=(0.5, 0.999), r1_gamma=0.0, g_reg_interval=None, d_reg_interval=None, pl_weight=0.0,
            style_mixing_prob=0.0, ema_kimg=0.0, ema_rampup=None, aug="noaug", total_kimg=500,
            tick_kimg=1, snap_kimg=10, grid=(8, 4))
    return config


def _official_grid(res: int) -> tuple[int, int]:
    """Official sample grid: about 7680x4320 px, 7..32 columns and 4..32 rows."""
    return (int(min(max(7680 // res, 7), 32)), int(min(max(4320 // res, 4), 32)))


def apply_options(config: TrainingConfig, **options: Any) -> TrainingConfig:
    """Override preset fields with the options the user gave (None = not given), then validate."""
    given = {k: v for k, v in options.items() if v is not None}
    names = {f.name for f in dataclasses.fields(TrainingConfig)}
    unknown = sorted(set(given) - names)
    if unknown:
        raise ConfigError(f"unknown training options: {', '.join(unknown)}")
    if "batch" in given and config.cfg == "auto" and "r1_gamma" not in given:
        # The official heuristic ties gamma and EMA to the batch; keep them tied when the batch changes.
        given["r1_gamma"] = 0.0002 * config.resolution**2 / given["batch"]
        given["ema_kimg"] = given["batch"] * 10 / 32
    if given.get("discriminator") == "projected" and config.discriminator != "projected":
        # Projected GANs train without R1 (the frozen features bound D) and augment with DiffAugment inside D.
        given.setdefault("r1_gamma", 0.0)
        given.setdefault("aug", "noaug")
    if "snap_kimg" in given and given["snap_kimg"] < config.tick_kimg:
        given["tick_kimg"] = given["snap_kimg"]
    for key, value in list(given.items()):
        _check_type(key, value)
        if isinstance(value, list):
            given[key] = tuple(value)
    return dataclasses.replace(config, **given).validate()


def _check_type(name: str, value: Any) -> None:
    """Refuse a value of the wrong kind for a field (ints pass for floats; lists pass for tuples)."""
    hint = typing.get_type_hints(TrainingConfig)[name]
    allowed = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for kind in allowed:
        base = typing.get_origin(kind) or kind
        if kind is type(None) and value is None:
            return
        if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return
        if base is int and isinstance(value, int) and not isinstance(value, bool):
            return
        if base in (bool, str) and isinstance(value, base):
            return
        if base is tuple and isinstance(value, (tuple, list)):
            return
    raise ConfigError(f"{name}: {value!r} is not a valid value (expected {hint})")

