"""A training run: data, networks, ADA, phases, EMA, logs, sample grids and snapshots in one RUN_DIR.

`train(data_dir, run_dir, ...)` is what `seedgen train`, the bridge, the bench and the tests call.
It follows the official stylegan2-ada-pytorch loop (phases with lazy regularization, G_ema with
ramp-up, the ADA heuristic every 4 steps, ticks and snapshots counted in kimg) and adds what a
long run on shared machines needs:

* Kill at any moment and rerun the same command: `RUN_DIR/snapshot-latest.safetensors` (written
  atomically every tick) holds networks, both optimizers, G_ema, ADA p, pl_mean, the data order
  position, every rank's RNG state and the config, so the run continues exactly where it was.
* Data parallel under torchrun: one process per GPU (or CPU process with gloo), the batch split
  across ranks by a sharded sampler, gradients averaged with one flat all-reduce per phase (what the
  official stylegan3 trainer does instead of DDP wrappers: no no_sync bookkeeping between phases,
  and R1/path-length double backward and Freeze-D's partly frozen D need no special care),
  rank 0 alone logs and writes files.
* A small model registry (`MODEL_FAMILIES`): a family says how to build G and D, which loss trains
  them and how to freeze D's layers; StyleGAN2 and the DCGAN baseline share everything else.
"""
from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from augment.output import one_line, png_bytes, write_atomic, write_json_atomic
from seedgen import __version__
from seedgen.checkpoint import (
    CheckpointError,
    build_networks,
    checkpoint_kind,
    checkpoint_paths,
    load_networks,
    load_snapshot,
    save_networks,
    save_snapshot,
)
from seedgen.device import pick_device
from seedgen.gan.ada import AdaptiveP, AugmentPipe
from seedgen.gan.config import (
    CPU_PRESETS,
    MIN_RESOLUTION,
    ConfigError,
    TrainingConfig,
    apply_options,
    preset,
)
from seedgen.gan.loss import LogisticGANLoss, StyleGAN2Loss
from seedgen.image_folder import (
    BatchStream,
    DatasetError,
    ImageFolder,
    ShardedOrder,
    image_grid,
)

LATEST = "snapshot-latest"
OPTIONS_FILE = "training_options.json"
# Options that may change when a run is resumed (length, cadence and speed); all others must match.
RESUMABLE_CHANGES = frozenset({"total_kimg", "total_minutes", "tick_kimg", "snap_kimg", "grid", "workers", "data_cache_mb",
                               "cpu_threads", "allow_tf32", "cudnn_benchmark"})
# A GPU-sized config on a CPU is warned about once, with the speed measured over this many training steps after
# the first, or sooner when they take this many seconds. The first step is left out: it warms up and runs both
# lazy regularizations (measured at 64 px 'auto' on the 2-core CPU: 110 s, then about 60 s a step).
CPU_WARNING_STEPS = 3
CPU_WARNING_SECONDS = 60.0


class TrainingError(Exception):
    """A run that cannot start or go on (one line naming the file or option and the reason)."""

    exit_code = 1  # an input could not be used (seedgen.failure)


class RunDirError(TrainingError):
    """RUN_DIR conflicts with the request (a usage error: choose another -o or the original options)."""

    exit_code = 2


# ------------------------------------------------------------------------------------------------
# Model registry.

@dataclass(frozen=True)
class ModelFamily:
    """How one kind of GAN plugs into the trainer."""

    name: str
    build: Callable[[TrainingConfig], tuple[nn.Module, nn.Module]]               # config -> (G, D)
    make_loss: Callable[..., LogisticGANLoss]                                    # (G, D, augment, observe, config, device)
    freeze: Callable[[nn.Module, int], list[str]]                                # Freeze-D: (D, n) -> frozen names


def _build_stylegan2(config: TrainingConfig) -> tuple[nn.Module, nn.Module]:
    from seedgen.gan.networks import Discriminator, Generator
    g_kwargs = config.generator_kwargs()
    d_kwargs = config.discriminator_kwargs()
    if config.channels_last:
        g_kwargs["synthesis_kwargs"]["fp16_channels_last"] = True
        d_kwargs["block_kwargs"]["fp16_channels_last"] = True
    return Generator(**g_kwargs), Discriminator(**d_kwargs)


def _stylegan2_loss(G, D, augment, observe, config: TrainingConfig, device) -> LogisticGANLoss:
    return StyleGAN2Loss(G, D, augment, r1_gamma=config.r1_gamma, observe_real=observe,
                         style_mixing_prob=config.style_mixing_prob, pl_weight=config.pl_weight,
                         pl_decay=config.pl_decay, pl_batch_shrink=config.pl_batch_shrink, device=device)


def _freeze_stylegan2(D: nn.Module, n: int) -> list[str]:
    from seedgen.gan.networks import freeze_discriminator_layers
    return freeze_discriminator_layers(D, n)


def _build_dcgan(config: TrainingConfig) -> tuple[nn.Module, nn.Module]:
    from seedgen.gan.dcgan import DCGANDiscriminator, DCGANGenerator
    return (DCGANGenerator(config.z_dim, config.resolution, config.channels, config.dcgan_features),
            DCGANDiscriminator(config.resolution, config.channels, config.dcgan_features))


def _dcgan_loss(G, D, augment, observe, config: TrainingConfig, device) -> LogisticGANLoss:
    return LogisticGANLoss(G, D, augment, r1_gamma=config.r1_gamma, observe_real=observe)


def _freeze_dcgan(D: nn.Module, n: int) -> list[str]:
    from seedgen.gan.dcgan import freeze_dcgan_layers
    return freeze_dcgan_layers(D, n)


MODEL_FAMILIES: dict[str, ModelFamily] = {
    "stylegan2": ModelFamily("stylegan2", _build_stylegan2, _stylegan2_loss, _freeze_stylegan2),
    "dcgan": ModelFamily("dcgan", _build_dcgan, _dcgan_loss, _freeze_dcgan),
}


def build_discriminator(config: TrainingConfig, family: ModelFamily) -> nn.Module:
    """The D this config asks for: the family's own, or the projected one (any family, same interface)."""
    if config.discriminator == "projected":
        from seedgen.projected_discriminator import ProjectedDiscriminator
        return ProjectedDiscriminator(config.resolution, config.channels, backbone_px=config.projected_px,
                                      diffaugment=config.diffaugment)
    return family.build(config)[1]


def freeze_discriminator(config: TrainingConfig, family: ModelFamily, D: nn.Module, n: int) -> list[str]:
    if config.discriminator == "projected":
        from seedgen.projected_discriminator import freeze_projected_layers
        return freeze_projected_layers(D, n)
    return family.freeze(D, n)


# ------------------------------------------------------------------------------------------------
# Results and helpers.

@dataclass
class TrainingResult:
    """What a finished (or already complete) run reports."""

    run_dir: Path
    cur_nimg: int                        # real images shown to D so far
    snapshot: Path                       # snapshot-latest.safetensors
    network_snapshots: list[Path]        # kept network snapshots written by this call
    resumed_from: str | None             # what this call started from (None = fresh)
    start_nimg: int                      # cur_nimg when this call started
    augment_p: float
    images_per_second: float             # over this call's training steps (maintenance excluded)
    world_size: int
    stats: dict[str, float] = field(default_factory=dict)   # last tick's means
    train_seconds: float = 0.0           # training wall time over every sitting of this run
    stopped_by: str = "kimg"             # "kimg" (reached --kimg) or "minutes" (the --minutes budget ran out)

    @property
    def kimg(self) -> float:
        return self.cur_nimg / 1000


@dataclass
class _Phase:
    name: str
    module: nn.Module
    params: list[nn.Parameter]
    opt: torch.optim.Optimizer
    interval: int


class _Distributed:
    """Rank, world size and the collective calls the loop needs (all no-ops in a single process)."""

    def __init__(self, device_request: str) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.active = self.world_size > 1
        self.device = pick_device(device_request, self.local_rank)
        self._owns_group = False
        if self.active and not torch.distributed.is_initialized():
            backend = "nccl" if self.device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend=backend, init_method="env://")
            self._owns_group = True
        self._comm_device = self.device if (self.active and torch.distributed.get_backend() == "nccl") else torch.device("cpu")

    def all_reduce_mean(self, flat: torch.Tensor) -> None:
        if self.active:
            torch.distributed.all_reduce(flat)
            flat /= self.world_size

    def gather(self, tensor: torch.Tensor) -> list[torch.Tensor]:
        """Every rank's copy of a same-shaped tensor (rank order), on the CPU."""
        if not self.active:
            return [tensor.cpu()]
        local = tensor.to(self._comm_device)
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        torch.distributed.all_gather(parts, local)
        return [p.cpu() for p in parts]

    def broadcast_module(self, module: nn.Module) -> None:
        if self.active:
            for tensor in list(module.parameters()) + list(module.buffers()):
                data = tensor.data.to(self._comm_device)
                torch.distributed.broadcast(data, src=0)
                tensor.data.copy_(data.to(tensor.device))

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def close(self) -> None:
        if self._owns_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def default_preset(device: torch.device) -> str:
    """'auto' (the official config) on a GPU, 'small' on a CPU, where 'auto' would take days per kimg."""
    return "auto" if device.type == "cuda" else "small"


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output on the [-1, 1] scale -> uint8 [N, C, H, W]."""
    return (images.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()


# ------------------------------------------------------------------------------------------------
# The run.

class TrainingRun:
    """Train one GAN on one image folder into one RUN_DIR (resuming it when it holds a snapshot).

    `run()` goes: check RUN_DIR and the data -> settle the config (fresh, transfer, or the snapshot's)
    -> build or restore networks, optimizers, ADA and counters -> write the run's fixed files -> train,
    with one maintenance pass per tick (log, scalars, kept snapshot + grid when due, snapshot-latest).
    """

    def __init__(self, data_dir: str | os.PathLike, run_dir: str | os.PathLike, *, cfg: str | None = None,
                 model: str | None = None, options: dict[str, Any] | None = None,
                 config: TrainingConfig | None = None, resume: str | os.PathLike | None = None,
                 device: str = "auto", progress: bool = True, log: Callable[[str], None] | None = None,
                 warn: Callable[[str], None] | None = None,
                 on_tick: Callable[[dict[str, float]], None] | None = None) -> None:
        self.data_dir, self.run_dir = Path(data_dir), Path(run_dir)
        self.cfg_name, self.model_name, self.options = cfg, model, dict(options or {})
        self.explicit_config, self.resume = config, (str(resume) if resume is not None else None)
        self.device_request, self.show_progress = device, progress
        self._log = log or (lambda line: print(line, file=sys.stderr))
        self._warn = warn or (lambda line: print(line, file=sys.stderr))
        self.on_tick = on_tick
        self.latest = self.run_dir / f"{LATEST}.safetensors"
        self.writer: Any = None       # TensorBoard SummaryWriter (rank 0, while training)
        self.bar: Any = None          # tqdm progress bar (rank 0, unless quiet)

    # -- messages -----------------------------------------------------------------------------------
    def log(self, line: str) -> None:
        if self.dist.rank == 0:
            self._log(line)

    def warn(self, line: str) -> None:
        """Warnings are shown even when status lines are off (above the progress bar, when there is one)."""
        if self.dist.rank != 0:
            return
        if self.bar is None:
            self._warn(line)
            return
        with self.bar.external_write_mode(file=sys.stderr):
            self._warn(line)

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> TrainingResult:
        self.dist = _Distributed(self.device_request)
        try:
            self._settle_config()
            self._build()
            self._restore()
            self._write_run_files()
            return self._train()
        finally:
            self.dist.close()

    # -- 1. RUN_DIR, data and config ------------------------------------------------------------------
    def _settle_config(self) -> None:
        self.saved_options = self._check_run_dir()
        cache_mb = self.options.get("data_cache_mb") or (self.explicit_config or TrainingConfig()).data_cache_mb
        self.dataset = ImageFolder(self.data_dir, min_resolution=MIN_RESOLUTION, cache_mb=cache_mb, warn=self.warn,
                                   exclude=(self.run_dir,))
        self.requested = self._requested_config(self.dataset.resolution)
        if self.requested.batch % self.dist.world_size:
            raise ConfigError(f"--batch {self.requested.batch} must divide evenly over "
                              f"{self.dist.world_size} processes")
        self.snapshot = None
        self.resumed_from: str | None = None
        self.own_latest = self.latest.is_file()     # this RUN_DIR continues itself
        self.config = self.requested
        if self.own_latest:
            if self.saved_options is not None:
                self._compare_with_saved(self.saved_options, self.requested.to_dict())
            self._continue_from(self.latest, {})
        elif (self.resume is not None and not self.resume.lower().endswith(".pkl")
              and checkpoint_kind(self.resume) == "snapshot"):
            # Another run's training snapshot: continue that run here; options given now take effect.
            self._continue_from(Path(self.resume), self.options)
            if self.model_name is not None and self.model_name != self.config.model:
                raise ConfigError(f"{self.resume}: holds a {self.config.model} run but --model is {self.model_name}")
        if self.config.model not in MODEL_FAMILIES:
            raise ConfigError(f"--model {self.config.model}: not a model this trainer knows "
                              f"({', '.join(MODEL_FAMILIES)})")

    def _continue_from(self, path: Path, overrides: dict[str, Any]) -> None:
        """Take the config and state of a training snapshot (length and cadence may change; `overrides` apply)."""
        self.snapshot = load_snapshot(path)
        try:
            saved = TrainingConfig.from_dict(self.snapshot.config["training"])
        except (KeyError, TypeError, ConfigError) as error:
            raise CheckpointError(f"{path}: no usable training config ({one_line(error)})") from None
        changes = {k: getattr(self.requested, k) for k in RESUMABLE_CHANGES}
        self.config = apply_options(replace(saved, **changes), **overrides)
        if self.config.resolution != self.dataset.resolution:
            raise ConfigError(f"{self.data_dir}: images are {self.dataset.resolution} px but {path} "
                              f"was trained on {self.config.resolution} px")
        self.resumed_from = str(path)

    def _requested_config(self, resolution: int) -> TrainingConfig:
        if self.explicit_config is not None:
            config = self.explicit_config
            if config.resolution != resolution:
                config = replace(config, resolution=resolution)
            return apply_options(config, **self.options)
        model = self.model_name or ("dcgan" if self.cfg_name == "dcgan" else "stylegan2")
        name = self.cfg_name or ("dcgan" if model == "dcgan" else default_preset(self.dist.device))
        if (model == "dcgan") != (name == "dcgan"):
            raise ConfigError(f"--cfg {name} does not fit --model {model} (use --cfg dcgan with --model dcgan)")
        return apply_options(preset(name, resolution, self.dist.world_size), **self.options)

    def _check_run_dir(self) -> dict[str, Any] | None:
        """The saved options of an existing run in RUN_DIR, None for a new run; refuse foreign folders."""
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise RunDirError(f"{self.run_dir}: exists and is not a directory")
        options_file = self.run_dir / OPTIONS_FILE
        if options_file.is_file():
            try:
                return json.loads(options_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as error:
                raise RunDirError(f"{options_file}: unreadable ({one_line(error)})") from None
        if self.run_dir.is_dir() and any(not p.name.startswith(".") for p in self.run_dir.iterdir()):
            raise RunDirError(f"{self.run_dir}: not empty and not a seedgen training run; choose a new or empty -o")
        return None

    def _compare_with_saved(self, saved: dict[str, Any], requested: dict[str, Any]) -> None:
        before = saved.get("requested", {})
        defaults = TrainingConfig().to_dict()    # an option newer than the run was at its default then
        for key in sorted(set(before) | set(requested)):
            if key in RESUMABLE_CHANGES:
                continue
            if before.get(key, defaults.get(key)) != requested.get(key):
                raise RunDirError(
                    f"{self.run_dir}: this run was started with {key}={before.get(key)!r}, this command asks "
                    f"{requested.get(key)!r}; rerun with the original options (--kimg may change) or use a new -o")
        if saved.get("resume") != self.resume:
            raise RunDirError(f"{self.run_dir}: this run was started with --resume {saved.get('resume')}, "
                              f"this command gives {self.resume}; rerun with the original options or use a new -o")

    # -- 2. networks, optimizers, augmentation, loss ----------------------------------------------------
    def _build(self) -> None:
        config, dist, device = self.config, self.dist, self.dist.device
        family = MODEL_FAMILIES[config.model]
        torch.manual_seed(config.seed * dist.world_size + dist.rank)
        if device.type == "cpu" and config.cpu_threads:
            torch.set_num_threads(config.cpu_threads)
        if device.type == "cuda":
            torch.cuda.set_device(device)
            torch.backends.cudnn.benchmark = config.cudnn_benchmark
            torch.backends.cuda.matmul.allow_tf32 = config.allow_tf32
            torch.backends.cudnn.allow_tf32 = config.allow_tf32

        # Fresh, transferred (--resume pkl/checkpoint), or restored from snapshot-latest.
        if self.snapshot is not None:
            nets = build_networks(self.snapshot.config, self.snapshot.networks)
        elif self.resume is not None:
            nets, config = self._load_transfer(config)
            self.config, self.resumed_from = config, self.resume
        else:
            try:
                G, D = family.build(config)
                if config.discriminator != "standard":
                    D = build_discriminator(config, family)
            except (ValueError, TypeError, ZeroDivisionError, RuntimeError) as error:
                raise ConfigError(f"cannot build {config.model} networks from these options ({one_line(error)})") from None
            nets = {"G": G, "D": D, "G_ema": copy.deepcopy(G)}
        self.G, self.D, self.G_ema = (nets[k].to(device) for k in ("G", "D", "G_ema"))
        self.G.train()
        self.D.train()
        self.G_ema.eval().requires_grad_(False)
        if self.snapshot is None:     # every rank starts from rank 0's weights
            for module in (self.G, self.D, self.G_ema):
                dist.broadcast_module(module)

        # Trainable parameters: all of G; D minus the blocks Freeze-D keeps fixed.
        self.G.requires_grad_(True)
        self.D.requires_grad_(True)
        try:
            frozen = freeze_discriminator(config, family, self.D, config.freezed) if config.freezed else []
        except ValueError as error:
            raise ConfigError(f"--freezed {config.freezed}: {one_line(error)}") from None
        if frozen:
            self.log(f"Freeze-D: {len(frozen)} discriminator block(s) frozen ({', '.join(frozen)})")
        g_params = [p for p in self.G.parameters() if p.requires_grad]
        d_params = [p for p in self.D.parameters() if p.requires_grad]
        self.G.requires_grad_(False)
        self.D.requires_grad_(False)

        self.augment: AugmentPipe | None = None
        self.ada: AdaptiveP | None = None
        if config.aug != "noaug":
            self.augment = AugmentPipe.from_name(config.augpipe, p=config.augment_p).to(device)
            if config.aug == "ada":
                self.ada = AdaptiveP(self.augment, config.ada_target, config.ada_interval, config.ada_kimg,
                                     config.batch)
        self.loss = family.make_loss(self.G, self.D, self.augment, self.ada.observe if self.ada else None,
                                     config, device)

        # Phases; lazy regularization scales Adam's lr and betas by interval / (interval + 1) (official).
        self.phases: list[_Phase] = []
        for name, module, params, lr, interval in (("G", self.G, g_params, config.g_lr, config.g_reg_interval),
                                                   ("D", self.D, d_params, config.d_lr, config.d_reg_interval)):
            regularized = (config.pl_weight > 0 and config.model == "stylegan2") if name == "G" else config.r1_gamma > 0
            if interval is None or not regularized:
                opt = torch.optim.Adam(params, lr=lr, betas=config.adam_betas, eps=config.adam_eps)
                self.phases.append(_Phase(name + "both", module, params, opt, 1))
            else:
                ratio = interval / (interval + 1)
                opt = torch.optim.Adam(params, lr=lr * ratio, betas=tuple(b**ratio for b in config.adam_betas),
                                       eps=config.adam_eps)
                self.phases += [_Phase(name + "main", module, params, opt, 1),
                                _Phase(name + "reg", module, params, opt, interval)]
        self.optimizers = {"G": self.phases[0].opt, "D": self.phases[-1].opt}

    def _load_transfer(self, config: TrainingConfig) -> tuple[dict[str, nn.Module], TrainingConfig]:
        """Networks from --resume (official .pkl or our .safetensors) for transfer learning."""
        path = Path(self.resume)
        if path.suffix.lower() == ".pkl":
            from seedgen.gan.legacy_pickle import load_official_pickle
            nets = dict(load_official_pickle(path))
            model = "stylegan2"
        else:
            states, header = load_networks(path)
            model = header.get("model")
            if model not in MODEL_FAMILIES:
                raise CheckpointError(f"{checkpoint_paths(path)[0]}: model {model!r} cannot be trained by this loop")
            nets = build_networks(header, states)
        if model != config.model:
            raise ConfigError(f"{path}: holds a {model} model but --model is {config.model}")
        if "G" not in nets:
            raise CheckpointError(f"{path}: holds no generator G")
        G = nets["G"]
        res, ch = getattr(G, "img_resolution", None), getattr(G, "img_channels", None)
        if res != config.resolution or ch != config.channels:
            raise ConfigError(f"{path}: network makes {res} px, {ch}-channel images but the data is "
                              f"{config.resolution} px RGB; make the data {res} px (seedgen dataset --size {res})")
        if getattr(G, "c_dim", 0):
            raise CheckpointError(f"{path}: a conditional network (c_dim={G.c_dim}); only unconditional ones train here")
        kwargs = getattr(G, "init_kwargs", {}) or {}
        updates: dict[str, Any] = {"ada_kimg": 100.0, "ema_rampup": None}   # official transfer-learning settings
        if config.model == "stylegan2" and kwargs:   # record the architecture the weights bring
            synthesis = kwargs.get("synthesis_kwargs", {})
            updates.update(z_dim=kwargs.get("z_dim", config.z_dim), w_dim=kwargs.get("w_dim", config.w_dim),
                           mapping_layers=kwargs.get("mapping_kwargs", {}).get("num_layers", 8),
                           channel_base=synthesis.get("channel_base", 32768),
                           channel_max=synthesis.get("channel_max", 512))
        config = replace(config, **updates)
        projected = type(nets.get("D")).__name__ == "ProjectedDiscriminator"
        if "D" not in nets or projected != (config.discriminator == "projected"):
            nets["D"] = build_discriminator(config, MODEL_FAMILIES[config.model])
        if "G_ema" not in nets:
            nets["G_ema"] = copy.deepcopy(G)
        return nets, config

    # -- 3. counters, optimizer moments, ADA, RNG from snapshot-latest -----------------------------------
    def _restore(self) -> None:
        self.cur_nimg = self.cur_tick = self.batch_idx = self.position = 0
        self.train_seconds = 0.0
        self.replayed: set[str] = set()   # network snapshots a killed sitting wrote after its snapshot-latest
        if self.snapshot is None:
            if self.resumed_from:
                self.log(f"Transfer learning from {self.resumed_from}")
            self.start_nimg = 0
            return
        state, device = self.snapshot.state, self.dist.device
        for key, opt in self.optimizers.items():
            try:
                opt.load_state_dict(self.snapshot.optimizers[key])
            except (KeyError, ValueError) as error:
                raise CheckpointError(f"{self.latest}: optimizer {key} does not fit ({one_line(error)})") from None
        try:
            self.cur_nimg, self.cur_tick = int(state["cur_nimg"]), int(state["tick"])
            self.batch_idx, self.position = int(state["batch_idx"]), int(state["sample_position"])
            self.train_seconds = float(state.get("train_seconds") or 0.0)
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{self.latest}: snapshot state is incomplete ({one_line(error)})") from None
        # Exact resume retraces those snapshots' weights bit for bit; only their train_minutes would differ, so
        # they are kept as the killed sitting wrote them instead of being written again.
        self.replayed = {path.name for path in self.run_dir.glob("network-snapshot-*.safetensors")
                         if path.stem[len("network-snapshot-"):].isdigit()
                         and int(path.stem[len("network-snapshot-"):]) > self.cur_nimg}
        if self.ada is not None and state.get("ada"):
            self.ada.load_state_dict(state["ada"], device)
        elif self.augment is not None:
            self.augment.p = float(state.get("augment_p", self.augment.p))
        if isinstance(self.loss, StyleGAN2Loss) and "pl_mean" in self.snapshot.tensors:
            self.loss.pl_mean.copy_(self.snapshot.tensors["pl_mean"].to(device))
        self._restore_rng(state)
        self.start_nimg = self.cur_nimg
        self.log(f"Resuming {self.run_dir if self.own_latest else self.resumed_from} at kimg "
                 f"{self.cur_nimg / 1000:.3f} (augment p {self._p():.4f})")

    def _restore_rng(self, state: dict[str, Any]) -> None:
        rank, tensors = self.dist.rank, self.snapshot.tensors
        if state.get("world_size") == self.dist.world_size and f"rng_cpu_{rank}" in tensors:
            torch.set_rng_state(tensors[f"rng_cpu_{rank}"])
            if self.dist.device.type == "cuda" and f"rng_cuda_{rank}" in tensors:
                torch.cuda.set_rng_state(tensors[f"rng_cuda_{rank}"], self.dist.device)
        else:   # another number of processes: fresh streams derived from the seed and the position
            seed = (self.config.seed * 1_000_003 + self.cur_nimg) * self.dist.world_size + rank
            torch.manual_seed(seed)

    def _p(self) -> float:
        return self.augment.p if self.augment is not None else 0.0

    # -- 4. the run's fixed files ---------------------------------------------------------------------
    def _write_run_files(self) -> None:
        config = self.config
        self.batch_gpu = config.batch // self.dist.world_size
        self.grid_z = torch.randn([config.grid[0] * config.grid[1], self.G.z_dim],
                                  generator=torch.Generator().manual_seed(config.seed)).to(self.dist.device)
        self.network_config = {"model": config.model, "training": config.to_dict(), "resolution": config.resolution,
                               "seedgen_version": __version__, "data": str(self.data_dir)}
        if self.dist.rank != 0:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp_files(self.run_dir)
        if not self.own_latest:
            write_json_atomic(self.run_dir / OPTIONS_FILE,
                              {"requested": self.requested.to_dict(), "cfg": self.requested.cfg,
                               "resume": self.resume, "data": str(self.data_dir),
                               "world_size": self.dist.world_size,
                               "options": {k: v for k, v in self.options.items() if v is not None}},
                              overwrite=True)
            reals = self.dataset.batch(_grid_indices(len(self.dataset), config.grid, config.seed))
            write_atomic(self.run_dir / "reals.png", png_bytes(image_grid(reals.numpy(), config.grid)),
                         overwrite=True)
            self._save_fakes(self.run_dir / "fakes_init.png", None)

    # -- 5. training ----------------------------------------------------------------------------------
    def _train(self) -> TrainingResult:
        config, dist, device = self.config, self.dist, self.dist.device
        total_nimg = int(round(config.total_kimg * 1000))
        order = ShardedOrder(len(self.dataset), config.seed, dist.rank, dist.world_size, self.position)
        workers = config.workers if config.workers is not None else (3 if device.type == "cuda" else 0)
        self.stream = BatchStream(self.dataset, order, self.batch_gpu, workers)
        budget = config.total_minutes * 60 if config.total_minutes is not None else math.inf
        self.budget = budget
        self.sitting_start, self.seconds_before = time.time(), self.train_seconds
        if dist.rank == 0 and self.cur_nimg < total_nimg and self.train_seconds < budget:   # finished: write nothing
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.run_dir), purge_step=self.cur_nimg)
            self.writer.add_text("config", "```\n" + json.dumps(config.to_dict(), indent=2) + "\n```",
                                 global_step=self.cur_nimg)
            if self.show_progress:
                from tqdm import tqdm
                self.bar = tqdm(total=total_nimg if budget == math.inf else None, initial=self.cur_nimg, unit="img",
                                dynamic_ncols=True,
                                file=sys.stderr, desc=f"train {config.model}")
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.stats: dict[str, float] = {}
        self.network_snapshots: list[Path] = []
        busy, shown = 0.0, 0
        clock = _StepClock() if device.type == "cpu" and config.cfg not in CPU_PRESETS else None
        self.stopped_by = "kimg" if self.cur_nimg >= total_nimg else "minutes"
        tick_start_nimg, tick_start_time = self.cur_nimg, time.time()
        try:
            out_of_time = self.train_seconds >= budget    # checked once a step, so the last snapshot records it
            while self.cur_nimg < total_nimg and not out_of_time:
                step_start = time.time()
                self._step()
                step_seconds = time.time() - step_start
                busy += step_seconds
                shown += config.batch
                if self.bar is not None:
                    self.bar.update(min(self.cur_nimg, total_nimg) - self.bar.n)
                    if budget < math.inf:
                        self.bar.set_postfix_str(_time_line(self._elapsed(), budget), refresh=False)
                out_of_time = self._elapsed() >= budget
                done = self.cur_nimg >= total_nimg or out_of_time
                if clock is not None and clock.measured(step_seconds, config.batch, done):
                    self.warn(cpu_speed_warning(config, clock.sec_per_kimg(), self.start_nimg))
                    clock = None
                if done or self.cur_nimg >= tick_start_nimg + config.tick_kimg * 1000:
                    self.stopped_by = "kimg" if self.cur_nimg >= total_nimg else "minutes"
                    self._tick(tick_start_nimg, tick_start_time, done)
                    tick_start_nimg, tick_start_time = self.cur_nimg, time.time()
        finally:
            self.stream.close()
            if self.bar is not None:
                self.bar.close()
            if self.writer is not None:
                self.writer.close()
        dist.barrier()
        if dist.active:
            print(f"rank {dist.rank}/{dist.world_size}: finished at kimg {self.cur_nimg / 1000:.3f} "
                  f"(weights {weights_checksum([self.G, self.D])})", file=sys.stderr)
        return TrainingResult(run_dir=self.run_dir, cur_nimg=self.cur_nimg, snapshot=self.latest,
                              network_snapshots=self.network_snapshots, resumed_from=self.resumed_from,
                              start_nimg=self.start_nimg, augment_p=self._p(),
                              images_per_second=shown / busy if busy > 0 else 0.0, world_size=dist.world_size,
                              stats=self.stats, train_seconds=self.train_seconds, stopped_by=self.stopped_by)

    def _elapsed(self) -> float:
        """Training wall time over every sitting: the snapshot's count plus this sitting's."""
        return self.seconds_before + time.time() - self.sitting_start

    def _step(self) -> None:
        """One optimizer step of every due phase, the G_ema update and the ADA adjustment."""
        config, device = self.config, self.dist.device
        real = self.stream.next().to(device, non_blocking=True).to(torch.float32) / 127.5 - 1
        for phase in self.phases:
            if self.batch_idx % phase.interval != 0:
                continue
            gen_z = torch.randn([self.batch_gpu, self.G.z_dim], device=device)
            phase.opt.zero_grad(set_to_none=True)
            for p in phase.params:
                p.requires_grad_(True)
            stats = self.loss.accumulate_gradients(phase.name, real, gen_z, gain=phase.interval)
            for p in phase.params:
                p.requires_grad_(False)
            self._reduce_gradients(phase.params)
            phase.opt.step()
            for key, value in stats.items():
                self.sums[key] = self.sums.get(key, 0) + value.float()
                self.counts[key] = self.counts.get(key, 0) + 1
        with torch.no_grad():
            beta = config.ema_beta(self.cur_nimg)
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.copy_(p.detach().lerp(p_ema, beta))
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)
        self.cur_nimg += config.batch
        self.batch_idx += 1
        if self.ada is not None:
            self.ada.update(self.batch_idx)

    def _tick(self, tick_start_nimg: int, tick_start_time: float, done: bool) -> None:
        """Once per tick: log, keep a network snapshot and grid when due, refresh snapshot-latest."""
        config, dist, device = self.config, self.dist, self.dist.device
        stats = {k: float(v) / self.counts[k] for k, v in self.sums.items()}     # waits for the GPU
        now = time.time()
        self.sums, self.counts = {}, {}
        peak_mem = 0.0
        if device.type == "cuda":
            peak_mem = torch.cuda.max_memory_allocated(device) / 2**30
            torch.cuda.reset_peak_memory_stats(device)
        tick_nimg = self.cur_nimg - tick_start_nimg
        stats.update({
            "Progress/tick": float(self.cur_tick), "Progress/kimg": self.cur_nimg / 1000,
            "Progress/augment": self._p(),
            "Progress/r_t": self.ada.r_t if self.ada is not None and self.ada.r_t is not None else float("nan"),
            "Timing/sec_per_tick": now - tick_start_time,
            "Timing/sec_per_kimg": (now - tick_start_time) / max(tick_nimg, 1) * 1000,
            "Timing/total_minutes": self._elapsed() / 60,
            "Resources/peak_gpu_mem_gb": peak_mem,
        })
        self.stats = stats
        self._report_tick(stats)
        if self.on_tick is not None and dist.rank == 0:
            self.on_tick(dict(stats))
        snap_nimg = max(1, int(round(config.snap_kimg * 1000)))
        snap_due = done or self.cur_nimg // snap_nimg > (self.cur_nimg - tick_nimg) // snap_nimg
        in_sync = self._check_consistency([self.G, self.D]) if dist.active else True
        nets = {"G": self.G, "D": self.D, "G_ema": self.G_ema}
        if snap_due and dist.rank == 0:
            path = self.run_dir / f"network-snapshot-{self.cur_nimg:09d}.safetensors"
            progress = {"cur_nimg": self.cur_nimg, "kimg": self.cur_nimg / 1000, "augment_p": self._p(),
                        "train_minutes": self._elapsed() / 60}
            if path.name not in self.replayed:
                save_networks(path, nets, {**self.network_config, "progress": progress}, overwrite=True)
            self.network_snapshots.append(path)
            self._save_fakes(self.run_dir / f"fakes{self.cur_nimg:09d}.png", self.cur_nimg)
        self.cur_tick += 1
        self.train_seconds = self._elapsed()
        state = {"cur_nimg": self.cur_nimg, "train_seconds": self.train_seconds, "kimg": self.cur_nimg / 1000, "tick": self.cur_tick,
                 "batch_idx": self.batch_idx, "sample_position": self.stream.position, "augment_p": self._p(),
                 "ada": self.ada.state_dict() if self.ada else None, "world_size": dist.world_size,
                 "ranks_in_sync": in_sync, "resumed_from": self.resumed_from,
                 "stats": {k: (v if math.isfinite(v) else None) for k, v in stats.items()}}
        self._save_latest(nets, state)

    # -- pieces of the loop -----------------------------------------------------------------------------
    def _reduce_gradients(self, params: list[nn.Parameter]) -> None:
        """Average gradients over ranks (one flat all-reduce) and replace NaN/Inf as the official loop does."""
        if not params:
            return
        if self.dist.active:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            flat = torch.cat([g.flatten() for g in grads])
            self.dist.all_reduce_mean(flat)
            torch.nan_to_num(flat, nan=0.0, posinf=1e5, neginf=-1e5, out=flat)
            for p, chunk in zip(params, flat.split([p.numel() for p in params])):
                p.grad = chunk.view_as(p).clone()
        else:
            for p in params:
                if p.grad is not None:
                    torch.nan_to_num(p.grad, nan=0.0, posinf=1e5, neginf=-1e5, out=p.grad)

    def _check_consistency(self, modules: list[nn.Module]) -> bool:
        """All ranks hold the same weights (w_avg and BatchNorm statistics are per rank and skipped)."""
        total = torch.zeros(2, dtype=torch.float64, device=self.dist.device)
        for module in modules:
            for p in module.parameters():
                data = p.detach().double()
                total += torch.stack([data.sum(), data.square().sum()])
        parts = self.dist.gather(total)
        same = all(torch.equal(parts[0], part) for part in parts[1:])
        if not same:
            raise TrainingError(f"ranks drifted apart: weight checksums differ ({[p.tolist() for p in parts]})")
        return same

    def _save_latest(self, nets: dict[str, nn.Module], state: dict[str, Any]) -> None:
        """snapshot-latest: everything needed to continue; RNG states gathered from every rank."""
        cpu_states = self.dist.gather(torch.get_rng_state())
        tensors = {f"rng_cpu_{r}": s for r, s in enumerate(cpu_states)}
        if self.dist.device.type == "cuda":
            cuda_states = self.dist.gather(torch.cuda.get_rng_state(self.dist.device))
            tensors.update({f"rng_cuda_{r}": s for r, s in enumerate(cuda_states)})
        if isinstance(self.loss, StyleGAN2Loss):
            tensors["pl_mean"] = self.loss.pl_mean.detach().cpu()
        if self.dist.rank == 0:
            save_snapshot(self.latest, nets, self.optimizers, self.network_config, state, tensors, overwrite=True)

    def _save_fakes(self, path: Path, step: int | None) -> None:
        """The fixed-z sample grid from G_ema (constant noise) as PNG, and to TensorBoard when logging."""
        with torch.no_grad():
            images = torch.cat([self.G_ema(z, None, noise_mode="const")
                                for z in self.grid_z.split(max(self.batch_gpu, 1))])
        grid = image_grid(to_uint8(images), self.config.grid)
        write_atomic(path, png_bytes(grid), overwrite=True)
        if self.writer is not None and step is not None:
            self.writer.add_image("fakes", _thumbnail(grid), global_step=step, dataformats="HWC")

    def _report_tick(self, stats: dict[str, float]) -> None:
        if self.dist.rank != 0:
            return
        writer, bar = self.writer, self.bar
        if writer is not None:
            for key, value in stats.items():
                if math.isfinite(value):
                    writer.add_scalar(key, value, global_step=int(stats["Progress/kimg"] * 1000))
            writer.flush()
        fields = [f"tick {int(stats['Progress/tick']):<4d}", f"kimg {stats['Progress/kimg']:<8.3f}",
                  f"sec/kimg {stats['Timing/sec_per_kimg']:<7.2f}", f"augment {stats['Progress/augment']:.3f}"]
        for key, label in (("Loss/G/loss", "G"), ("Loss/D/loss", "D"), ("Loss/r1_penalty", "R1"),
                           ("Loss/pl_penalty", "PL"), ("Progress/r_t", "r_t")):
            if key in stats and math.isfinite(stats[key]):
                fields.append(f"{label} {stats[key]:.3f}")
        fields.append(_time_line(stats["Timing/total_minutes"] * 60, self.budget))
        if stats.get("Resources/peak_gpu_mem_gb"):
            fields.append(f"gpumem {stats['Resources/peak_gpu_mem_gb']:.2f}")
        line = "  ".join(fields)
        if bar is not None:
            bar.write(line, file=sys.stderr)
        else:
            self._log(line)


class _StepClock:
    """Times training steps, the first one left out unless it is all there is (CPU_WARNING_STEPS)."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None
        self.seconds, self.images, self.steps = 0.0, 0, 0

    def measured(self, seconds: float, images: int, done: bool) -> bool:
        """Add one step; True once enough is measured (or the run is over)."""
        if self.first is None:
            self.first = (seconds, images)
        else:
            self.seconds, self.images, self.steps = self.seconds + seconds, self.images + images, self.steps + 1
        return done or self.steps >= CPU_WARNING_STEPS or self.seconds >= CPU_WARNING_SECONDS

    def sec_per_kimg(self) -> float:
        seconds, images = (self.seconds, self.images) if self.images else self.first
        return seconds / images * 1000


def cpu_speed_warning(config: TrainingConfig, sec_per_kimg: float, start_nimg: int = 0) -> str:
    """The one line telling that a GPU-sized config is training on a CPU: measured speed and time to go."""
    kimg = max(config.total_kimg - start_nimg / 1000, 0.0)
    left = f"the {kimg:g} kimg left of {config.total_kimg:g}" if start_nimg else f"{kimg:g} kimg"
    return (f"warning: --cfg {config.cfg} on a CPU: {_rough(sec_per_kimg)} s/kimg measured, "
            f"about {_duration(sec_per_kimg * kimg)} for {left}; --cfg small trains on a CPU")


def _time_line(elapsed: float, budget: float) -> str:
    """'time 12m05s' or, with a --minutes budget, 'time 12m05s, left 32m55s'."""
    line = f"time {_clock(elapsed)}"
    return line if budget == math.inf else f"{line}, left {_clock(max(budget - elapsed, 0.0))}"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _duration(seconds: float) -> str:
    """A rough length of time, in the unit a person would say it in (45 s, 67 min, 57 h, 4.6 days)."""
    for unit, size, limit in (("s", 1, 90), ("min", 60, 90 * 60), ("h", 3600, 100 * 3600)):
        if seconds < limit:
            return f"{_rough(seconds / size)} {unit}"
    return f"{_rough(seconds / 86400)} days"


def _rough(value: float) -> str:
    """Two significant digits below 10, whole numbers above: 0.039, 3.2, 412."""
    return f"{value:.2g}" if value < 10 else f"{value:.0f}"


def weights_checksum(modules: list[nn.Module]) -> str:
    """Short SHA-256 of every parameter's bytes: equal on all ranks when data parallelism kept them in sync."""
    import hashlib
    digest = hashlib.sha256()
    for module in modules:
        for p in module.parameters():
            digest.update(p.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _remove_stale_temp_files(run_dir: Path) -> None:
    """Delete half-written temp files that a killed run left (write_atomic names them .NAME.XXXX.tmp)."""
    ours = (LATEST, "network-snapshot-", "fakes", "reals", OPTIONS_FILE)
    for path in run_dir.glob(".*.tmp"):
        if path.is_file() and path.name[1:].startswith(ours):
            path.unlink(missing_ok=True)


def _thumbnail(grid: np.ndarray, max_side: int = 2048) -> np.ndarray:
    scale = max(grid.shape[0], grid.shape[1]) / max_side
    if scale <= 1:
        return grid
    from PIL import Image
    size = (int(grid.shape[1] / scale), int(grid.shape[0] / scale))
    return np.asarray(Image.fromarray(grid).resize(size, Image.BILINEAR))


def _grid_indices(size: int, grid: tuple[int, int], seed: int) -> list[int]:
    perm = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    return [perm[i % size] for i in range(grid[0] * grid[1])]


def train(data_dir: str | os.PathLike, run_dir: str | os.PathLike, *, cfg: str | None = None,
          model: str | None = None, options: dict[str, Any] | None = None, config: TrainingConfig | None = None,
          resume: str | os.PathLike | None = None, device: str = "auto", progress: bool = True,
          log: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None,
          on_tick: Callable[[dict[str, float]], None] | None = None) -> TrainingResult:
    """Train (or resume) a GAN on the images in `data_dir`, writing logs, grids and snapshots to `run_dir`.

    Give either a preset name `cfg` (+ `options`, TrainingConfig field overrides) or a full `config`.
    Rerunning the same call after an interruption continues from RUN_DIR/snapshot-latest.
    """
    return TrainingRun(data_dir, run_dir, cfg=cfg, model=model, options=options, config=config, resume=resume,
                       device=device, progress=progress, log=log, warn=warn, on_tick=on_tick).run()


__all__ = ["train", "TrainingRun", "TrainingResult", "TrainingError", "RunDirError", "ModelFamily",
           "MODEL_FAMILIES", "DatasetError", "CheckpointError", "ConfigError", "LATEST"]
