"""GANosaic mosaics (Jetchev, Bergmann and Yildirim, 2017): a texture seed that echoes a guide image.

Two methods, as in the paper:

- **quick**: paint the global noise Z^g from the guide. Each cell's guide colour (the image shrunk to the cell
  grid, in [-1, 1]) goes through a fixed random projection R (global_dim x 3) and a sine: sin(FREQ R I) * sqrt(2)
  has about the prior's spread, and cells of like colour get like textures. `strength` s blends it with the seed's
  own texture vector: Z^g = (1 - s) z + s sin(FREQ R I) sqrt(2). One pass of the generator, no optimisation.
- **optimize**: start from the quick painting and fit Z (its global and local channels) with Adam, minimising
  s * content + (1 - s) * texture, with the generator's BatchNorm statistics frozen (eval mode):
  - content: the squared difference between the seed and the guide seen through the correspondence map, both
    shrunk to CORRESPONDENCE_PX px per cell (`loss="pixels"`), or in pretrained features
    (`loss="features"`: EfficientNet-Lite0's stage maps, seedgen.features);
  - texture: a kernel density estimate keeps the local noise Z^l where the prior puts it: the negative log of a
    Gaussian KDE (bandwidth KDE_BANDWIDTH) of each cell's Z^l over PRIOR_SAMPLES fixed draws of the prior,
    per channel.

Both report the content loss (pixels, as for the quick method, so the two compare) and the seconds they took.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from seedgen.texture.model import CELL_PX, NoiseField, PSGANGenerator, TextureModelConfig

METHODS = ("quick", "optimize")
LOSSES = ("pixels", "features")
FREQ = 3.0                 # radians per unit of guide colour in the random projection
CORRESPONDENCE_PX = 4      # the correspondence map: the seed and the guide shrunk to 4 x 4 px per cell
PRIOR_SAMPLES = 256
KDE_BANDWIDTH = 1.0
TEXTURE_SCALE = 0.05       # the KDE term per channel is about 1; this puts it beside a content MSE of about 0.05
OPTIMIZE_MAX_PX = 2048     # the optimised mosaic holds the whole field's activations for backpropagation
PROJECTION_SEED = 2017


@dataclass
class Guide:
    """A guide image (H, W, 3) uint8 and how to follow it."""

    image: np.ndarray
    strength: float = 0.6
    method: str = "quick"
    loss: str = "pixels"
    steps: int = 40
    lr: float = 0.05

    # -- the quick mosaic -------------------------------------------------------------------------------------
    def cells(self, rows: int, cols: int, device) -> torch.Tensor:
        """The guide shrunk to the cell grid, (3, rows, cols) in [-1, 1]."""
        return self._resized(rows, cols, device)[0] * 2 - 1

    def _resized(self, height: int, width: int, device) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(self.image[..., :3])).float().permute(2, 0, 1)[None] / 255.0
        return F.interpolate(t, size=(height, width), mode="area").to(device)

    def paint(self, noise: NoiseField, G: PSGANGenerator, config: TextureModelConfig) -> NoiseField:
        """The quick method: Z^g blended with the random-projection painting of the guide."""
        _, _, rows, cols = noise.global_field.shape
        device = noise.global_field.device
        R = torch.randn(config.global_dim, 3, generator=torch.Generator().manual_seed(PROJECTION_SEED)).to(device)
        painted = torch.sin(FREQ * torch.einsum("dc,chw->dhw", R, self.cells(rows, cols, device))) * math.sqrt(2)
        field = (1 - self.strength) * noise.global_field + self.strength * painted[None]
        return replace(noise, global_field=field)

    # -- both methods, with the report ----------------------------------------------------------------------------
    def apply(self, noise: NoiseField, G: PSGANGenerator, config: TextureModelConfig,
              chunk_cells: int = 8) -> tuple[torch.Tensor, dict]:
        """The drawn seed (1, 3, H, W) in [0, 1], and {method, strength, loss, content_loss, seconds}."""
        started = time.perf_counter()
        noise = self.paint(noise, G, config)
        if self.method == "optimize":
            noise = self.optimize(noise, G, config)
        with torch.no_grad():
            image = (G.draw(noise, chunk_cells) + 1) / 2
        return image, {"method": self.method, "strength": self.strength, "loss": self.loss,
                       "content_loss": round(float(self.content_pixels(image)), 5),
                       "seconds": round(time.perf_counter() - started, 3)}

    def content_pixels(self, image: torch.Tensor) -> torch.Tensor:
        """Mean squared difference through the correspondence map, images in [0, 1]."""
        rows, cols = image.shape[-2] // CELL_PX, image.shape[-1] // CELL_PX
        side = (rows * CORRESPONDENCE_PX, cols * CORRESPONDENCE_PX)
        small = F.adaptive_avg_pool2d(image, side)
        return F.mse_loss(small, self._resized(*side, image.device).expand_as(small))

    # -- the optimised mosaic -------------------------------------------------------------------------------------
    def optimize(self, noise: NoiseField, G: PSGANGenerator, config: TextureModelConfig) -> NoiseField:
        """Fit the global and local noise to the guide (BatchNorm frozen: G stays in eval mode)."""
        rows, cols = noise.global_field.shape[-2:]
        if max(rows, cols) * CELL_PX > OPTIMIZE_MAX_PX + 2 * CELL_PX:
            raise ValueError(f"--guide-method optimize draws at most {OPTIMIZE_MAX_PX} px; use --guide-method quick "
                             f"for larger seeds")
        was_training = G.training
        G.eval()
        glob = noise.global_field.detach().clone().requires_grad_(True)
        local = noise.local.detach().clone().requires_grad_(True)
        prior = torch.randn(PRIOR_SAMPLES, config.local_dim,
                            generator=torch.Generator().manual_seed(PROJECTION_SEED)).to(local.device)
        features = _FeatureTarget(self) if self.loss == "features" else None
        opt = torch.optim.Adam([glob, local], lr=self.lr)
        for _ in range(self.steps):
            current = replace(noise, global_field=glob, local=local)
            image = (G(current) + 1) / 2
            content = features(image) if features is not None else self.content_pixels(image)
            loss = self.strength * content + (1 - self.strength) * TEXTURE_SCALE * kde_texture_loss(local, prior)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        G.train(was_training)
        return replace(noise, global_field=glob.detach(), local=local.detach())


def kde_texture_loss(local: torch.Tensor, prior: torch.Tensor, bandwidth: float = KDE_BANDWIDTH) -> torch.Tensor:
    """Mean negative log Gaussian-KDE density of each cell's local noise over prior draws, per channel."""
    if local.shape[1] == 0:
        return local.sum() * 0
    z = local.permute(0, 2, 3, 1).reshape(-1, local.shape[1])
    d2 = torch.cdist(z, prior).square()
    log_density = torch.logsumexp(-d2 / (2 * bandwidth**2), dim=1) - math.log(len(prior))
    return -(log_density.mean()) / local.shape[1]


class _FeatureTarget:
    """Content in pretrained features: each stage map's MSE to the guide's, normalised by its energy."""

    def __init__(self, guide: Guide) -> None:
        from seedgen.features import feature_maps

        self.maps = feature_maps
        target = torch.from_numpy(np.ascontiguousarray(guide.image[..., :3])).float().permute(2, 0, 1)[None] / 127.5 - 1
        with torch.no_grad():
            self.targets = [m.detach() for m in feature_maps(target)]
        self.energy = [t.square().mean().clamp_min(1e-8) for t in self.targets]

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        maps = self.maps(image.to(self.targets[0].device) * 2 - 1)
        return sum(F.mse_loss(m, t) / e for m, t, e in zip(maps, self.targets, self.energy)) / len(maps)
