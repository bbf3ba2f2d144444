"""The layered generator: a seed as a stack of coloured parametric masks (Sbai, Couprie & Aubry).

An image is a background colour and T layers blended in order, I_t = I_{t-1} * (1 - M_t) + c_t * M_t.
Each layer has one colour c_t and a mask M_t(x, y) = f(x, y, p_t), where f is a small MLP over the
continuous coordinates (`MaskMLP`), shared by every layer, and p_t is a K-dimensional code. Masks are
functions of the coordinates, so a layer stack renders at any size and exports as vector shapes.

`LayerPredictor` looks at the canvas so far (plus noise z for the GAN, plus the target image for
reconstruction) and predicts the next (p_t, c_t); `LayeredGenerator` runs it for t = 0..T, re-rendering the
canvas at the training resolution after every step. Step 0 predicts the background colour.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seedgen.failure import ConfigError
from vectorize.config import LAYERS_RANGE, PARAMS_RANGE

MODEL_NAME = "layered"  # the `model` field of this generator's snapshots
MODES = ("gan", "recon")


class LayeredTrainingError(ValueError):
    """A training or fitting request that cannot run (one line, fit to show a user)."""

    exit_code = 1  # an input could not be used (seedgen.failure); its training and decomposition share it


class LayeredConfigError(ConfigError):
    """A layered-model option out of its range (a usage error, like any training ConfigError)."""


@dataclass(frozen=True)
class LayeredModelConfig:
    """Every architecture choice of the layered generator, once, with its default and range."""

    layers: int = 10  # T, in LAYERS_RANGE: the paper uses 5-20; more layers, finer detail, slower training
    params: int = 10  # K, in PARAMS_RANGE: the mask code size; the paper's default is 10
    mode: str = "gan"  # "gan" (canvas + noise -> layer) or "recon" (canvas + target image -> layer)
    resolution: int = 64  # training canvas in px, a power of two in 16..512; 64 keeps CPU training tiny
    z_dim: int = 64  # GAN noise size, 1..1024 (unused in "recon")
    mlp_width: int = 128  # mask MLP hidden width, 8..1024 (paper: 128)
    mlp_depth: int = 3  # mask MLP hidden layers, 1..8 (paper: 3)
    mlp_groups: int = 8  # GroupNorm groups in the mask MLP; must divide mlp_width
    fourier: int = 0  # Fourier frequencies of (x, y) fed to the MLP, 0..16; 0 = the paper's plain coordinates
    encoder_width: int = 32  # channels of the canvas encoder's first conv, 4..256 (doubles per level, max 8x)
    head_width: int = 256  # width of the predictor's fully connected head, 16..2048
    step_embedding: int = 16  # size of the learned step-index embedding, 1..256

    def validate(self) -> "LayeredModelConfig":
        """Return self, or raise LayeredConfigError naming the first option out of range."""
        checks = [
            ("layers", LAYERS_RANGE[0] <= self.layers <= LAYERS_RANGE[1]),
            ("params", PARAMS_RANGE[0] <= self.params <= PARAMS_RANGE[1]),
            ("mode", self.mode in MODES),
            ("resolution", 16 <= self.resolution <= 512 and self.resolution & (self.resolution - 1) == 0),
            ("z_dim", 1 <= self.z_dim <= 1024),
            ("mlp_width", 8 <= self.mlp_width <= 1024),
            ("mlp_depth", 1 <= self.mlp_depth <= 8),
            ("mlp_groups", self.mlp_groups >= 1 and self.mlp_width % self.mlp_groups == 0),
            ("fourier", 0 <= self.fourier <= 16),
            ("encoder_width", 4 <= self.encoder_width <= 256),
            ("head_width", 16 <= self.head_width <= 2048),
            ("step_embedding", 1 <= self.step_embedding <= 256),
        ]
        for name, ok in checks:
            if not ok:
                raise LayeredConfigError(f"layered model: {name}={getattr(self, name)!r} is out of range")
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LayeredModelConfig":
        """Build from a snapshot's JSON, ignoring unknown keys (newer writers) and validating ranges."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}).validate()


# --------------------------------------------------------------------------------------------- coordinates


def pixel_grid(height: int, width: int | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """(H*W, 2) coordinates (x, y) of pixel centres in [-1, 1], row-major: what a mask is sampled at."""
    width = width or height
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


class FourierCoordinates(nn.Module):
    """(x, y) -> (x, y, sin/cos of 2^k pi x, 2^k pi y): optional sharper masks (off by default, as the paper)."""

    def __init__(self, frequencies: int) -> None:
        super().__init__()
        self.frequencies = frequencies
        self.register_buffer("scales", (2.0 ** torch.arange(frequencies)) * math.pi, persistent=False)

    @property
    def out_features(self) -> int:
        return 2 + 4 * self.frequencies

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        if self.frequencies == 0:
            return xy
        angles = xy[:, :, None] * self.scales  # (P, 2, F)
        return torch.cat([xy, angles.sin().flatten(1), angles.cos().flatten(1)], dim=1)


# --------------------------------------------------------------------------------------------- the mask


class PointGroupNorm(nn.GroupNorm):
    """GroupNorm over the channels of each point of an (N, C) batch, via layer_norm per group (2x faster on CPU)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        groups = h.reshape(h.shape[0], self.num_groups, -1)
        normed = F.layer_norm(groups, groups.shape[-1:], eps=self.eps).reshape(h.shape)
        return torch.addcmul(self.bias, normed, self.weight)


class MaskMLP(nn.Module):
    """f(x, y, p) -> mask in (0, 1): hidden layers with GroupNorm and tanh, a final sigmoid; shared by all layers.

    The first layer is linear in (x, y, p), so it is split into a coordinate part (computed once per grid) and
    a code part (once per layer) and broadcast-added: the same function, far less work.
    """

    def __init__(self, params: int, width: int = 128, depth: int = 3, groups: int = 8, fourier: int = 0) -> None:
        super().__init__()
        self.coordinates = FourierCoordinates(fourier)
        self.coord_in = nn.Linear(self.coordinates.out_features, width)
        self.param_in = nn.Linear(params, width, bias=False)
        self.norms = nn.ModuleList([PointGroupNorm(groups, width) for _ in range(depth)])
        self.hidden = nn.ModuleList([nn.Linear(width, width) for _ in range(depth - 1)])
        self.out = nn.Linear(width, 1)

    def logits(self, xy: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """(P, 2) coordinates and (N, K) codes -> (N, P) pre-sigmoid mask values."""
        n, p = codes.shape[0], xy.shape[0]
        h = self.coord_in(self.coordinates(xy))[None] + self.param_in(codes)[:, None]  # (N, P, W)
        h = h.reshape(n * p, -1)
        for i, norm in enumerate(self.norms):
            if i > 0:
                h = self.hidden[i - 1](h)
            h = torch.tanh(norm(h))
        return self.out(h).reshape(n, p)

    def forward(self, xy: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(xy, codes))

    @torch.no_grad()
    def sample(self, xy: torch.Tensor, codes: torch.Tensor, chunk: int = 32768) -> torch.Tensor:
        """Masks at many points without building a graph, in chunks that keep memory flat."""
        parts = [self.forward(xy[i : i + chunk], codes) for i in range(0, xy.shape[0], chunk)]
        return torch.cat(parts, dim=1) if parts else codes.new_zeros(codes.shape[0], 0)


# --------------------------------------------------------------------------------------------- the stack


@dataclass
class LayerStack:
    """The vector content of a batch of seeds: a background colour and T (code, colour) layers, in order."""

    background: torch.Tensor  # (B, 3) sRGB in 0..1
    codes: torch.Tensor  # (B, T, K) mask codes p_t
    colours: torch.Tensor  # (B, T, 3) sRGB in 0..1

    @property
    def batch(self) -> int:
        return self.codes.shape[0]

    @property
    def layers(self) -> int:
        return self.codes.shape[1]

    def item(self, index: int) -> "LayerStack":
        """The stack of one seed of the batch (batch size 1)."""
        s = slice(index, index + 1)
        return LayerStack(self.background[s], self.codes[s], self.colours[s])

    def detach(self) -> "LayerStack":
        return LayerStack(self.background.detach(), self.codes.detach(), self.colours.detach())


def blend(canvas: torch.Tensor, mask: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
    """One compositing step: (B,3,H,W) canvas, (B,H,W) mask, (B,3) colour -> canvas*(1-M) + colour*M."""
    m = mask[:, None]
    return canvas * (1 - m) + colour[:, :, None, None] * m


def render_layers(
    mlp: MaskMLP,
    codes: torch.Tensor,
    colours: torch.Tensor,
    size: int | tuple[int, int],
    background: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render (B,T,K) codes and (B,T,3) colours over a background (default white) to a (B,3,H,W) image."""
    height, width = (size, size) if isinstance(size, int) else size
    batch, layers, _ = codes.shape
    xy = pixel_grid(height, width, device=codes.device)
    if background is None:
        background = codes.new_ones(batch, 3)
    canvas = background[:, :, None, None].expand(batch, 3, height, width)
    for t in range(layers):
        mask = mlp(xy, codes[:, t]).reshape(batch, height, width)
        canvas = blend(canvas, mask, colours[:, t])
    return canvas


def render_stack(mlp: MaskMLP, stack: LayerStack, size: int | tuple[int, int]) -> torch.Tensor:
    """Render a LayerStack (its own background) to (B,3,H,W) in 0..1."""
    return render_layers(mlp, stack.codes, stack.colours, size, stack.background)


# --------------------------------------------------------------------------------------------- the predictor


class CanvasEncoder(nn.Module):
    """A small strided CNN: (B, C, R, R) images -> (B, F) features, R/16 ... 4x4 at the end."""

    def __init__(self, in_channels: int, resolution: int, width: int, out_features: int) -> None:
        super().__init__()
        levels = int(math.log2(resolution)) - 2  # downsample to 4x4
        blocks: list[nn.Module] = []
        channels = in_channels
        for i in range(levels):
            nxt = width * min(2**i, 8)
            blocks += [nn.Conv2d(channels, nxt, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            channels = nxt
        self.convs = nn.Sequential(*blocks)
        self.fc = nn.Linear(channels * 16, out_features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.fc(self.convs(images).flatten(1)), 0.2)


class LayerPredictor(nn.Module):
    """(canvas, target or z, step t) -> the next layer's code p_t (K) and colour c_t (3, via sigmoid)."""

    def __init__(self, config: LayeredModelConfig) -> None:
        super().__init__()
        self.config = config
        in_channels = 6 if config.mode == "recon" else 3
        self.encoder = CanvasEncoder(in_channels, config.resolution, config.encoder_width, config.head_width)
        self.step = nn.Embedding(config.layers + 1, config.step_embedding)
        extra = config.z_dim if config.mode == "gan" else 0
        self.head = nn.Sequential(
            nn.Linear(config.head_width + extra + config.step_embedding, config.head_width),
            nn.LeakyReLU(0.2),
            nn.Linear(config.head_width, config.params + 3),
        )

    def forward(
        self, canvas: torch.Tensor, step: int, z: torch.Tensor | None = None, target: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        images = canvas * 2 - 1
        if self.config.mode == "recon":
            images = torch.cat([images, target * 2 - 1], dim=1)
        parts = [self.encoder(images), self.step.weight[step].expand(canvas.shape[0], -1)]
        if self.config.mode == "gan":
            parts.insert(1, z)
        out = self.head(torch.cat(parts, dim=1))
        return out[:, : self.config.params], torch.sigmoid(out[:, self.config.params :])


class LayeredGenerator(nn.Module):
    """The whole generator: predicts a LayerStack layer by layer and renders its canvas at the training size."""

    def __init__(self, config: LayeredModelConfig) -> None:
        super().__init__()
        self.config = config.validate()
        self.mlp = MaskMLP(config.params, config.mlp_width, config.mlp_depth, config.mlp_groups, config.fourier)
        self.predictor = LayerPredictor(config)
        self.register_buffer("grid", pixel_grid(config.resolution), persistent=False)

    def forward(
        self, z: torch.Tensor | None = None, target: torch.Tensor | None = None
    ) -> tuple[LayerStack, torch.Tensor]:
        """GAN: z (B, z_dim); recon: target (B,3,R,R) in 0..1. Returns the stack and its (B,3,R,R) render."""
        stack, canvas, _ = self.unroll(z, target)
        return stack, canvas

    def unroll(
        self, z: torch.Tensor | None = None, target: torch.Tensor | None = None
    ) -> tuple[LayerStack, torch.Tensor, torch.Tensor]:
        """Like forward, and also the (B, T, R, R) masks (for losses on the masks themselves)."""
        cfg = self.config
        if cfg.mode == "gan" and z is None:
            raise LayeredConfigError("a GAN-mode layered generator needs noise z")
        if cfg.mode == "recon" and target is None:
            raise LayeredConfigError("a recon-mode layered generator needs a target image")
        if target is not None and target.shape[-1] != cfg.resolution:
            target = F.interpolate(target, size=(cfg.resolution, cfg.resolution), mode="area")
        batch = (z if z is not None else target).shape[0]
        res = cfg.resolution
        canvas = self.grid.new_full((batch, 3, res, res), 0.5)
        _, background = self.predictor(canvas, 0, z, target)
        canvas = background[:, :, None, None].expand(batch, 3, res, res)
        codes, colours, masks = [], [], []
        for t in range(1, cfg.layers + 1):
            code, colour = self.predictor(canvas, t, z, target)
            mask = self.mlp(self.grid, code).reshape(batch, res, res)
            canvas = blend(canvas, mask, colour)
            codes.append(code)
            colours.append(colour)
            masks.append(mask)
        stack = LayerStack(background, torch.stack(codes, 1), torch.stack(colours, 1))
        return stack, canvas, torch.stack(masks, 1)

    def noise(self, count: int, seed: int) -> torch.Tensor:
        """Reproducible GAN noise: the same seed gives the same z on every machine."""
        gen = torch.Generator().manual_seed(int(seed))
        return torch.randn(count, self.config.z_dim, generator=gen).to(self.grid.device)


def load_layered_generator(checkpoint: str | Path, device: str | torch.device = "cpu") -> LayeredGenerator:
    """Build a LayeredGenerator from a layered checkpoint or snapshot (safetensors + JSON), in eval mode.

    Raises seedgen.checkpoint.CheckpointError (one line) for a missing, damaged or non-layered file.
    """
    from seedgen.checkpoint import load_networks

    states, config = load_networks(checkpoint)
    return layered_generator_from(states, config, checkpoint, device)


def layered_generator_from(states: dict, config: dict, checkpoint: str | Path,
                           device: str | torch.device = "cpu") -> LayeredGenerator:
    """A LayeredGenerator from a checkpoint already read (its network states and JSON header), in eval mode."""
    from seedgen.checkpoint import CheckpointError, load_state_strict

    if config.get("model") != MODEL_NAME:
        raise CheckpointError(f"{checkpoint}: model is {config.get('model')!r}, not a layered generator")
    try:
        model_config = LayeredModelConfig.from_json(config.get(MODEL_NAME) or {})
    except (LayeredConfigError, TypeError) as error:
        raise CheckpointError(f"{checkpoint}: bad layered config ({error})") from None
    if "G" not in states:
        raise CheckpointError(f"{checkpoint}: no generator weights (G) in this checkpoint")
    generator = LayeredGenerator(model_config)
    load_state_strict(generator, states["G"], "G")
    return generator.to(device).eval()


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB of images on the [0, 1] scale with this mean squared error."""
    return 10 * math.log10(1.0 / max(mse, 1e-12))
