"""Drawing patchnn seeds: a latent picks the library seeds and seeds every random choice, then GPNN draws.

A patchnn latent is Z_DIM numbers; nothing is learned about them. Their bytes seed one generator, which picks a
library seed at random and `sources - 1` of its neighbours (without repeats), places the coarse layout, draws the
noise and the random candidates of the search: the same latent gives the same seed on every machine (for one
torch thread count), and another latent another seed. There is no differentiable render, so `--like` and `--mix`
are refused.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import torch

from seedgen.patchnn.library import PatchLibrary, library_from
from seedgen.patchnn.model import MODEL_NAME, PatchNNConfig, generate

Z_DIM = 16
MIN_PX = 16


def seeded_generator(latent: torch.Tensor) -> torch.Generator:
    """A CPU generator whose seed is the SHA-256 of the latent row's float32 little-endian bytes."""
    data = latent.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
    return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(data).digest()[:8], "little") >> 1)


@dataclass
class PatchSampler:
    """Draws `px`-pixel seeds from a library."""

    library: PatchLibrary
    config: PatchNNConfig
    px: int = 256

    def at_size(self, px: int) -> "PatchSampler":
        """The same sampler drawing `px` pixels (at most config.max_px: larger seeds are traced from that)."""
        return replace(self, px=max(MIN_PX, min(int(px), self.config.max_px)))

    def sources(self, generator: torch.Generator) -> list[int]:
        """A random library seed, then some of its neighbours in random order."""
        first = int(torch.randint(0, self.library.count, (1,), generator=generator))
        near = [n for n in dict.fromkeys(self.library.neighbours[first].tolist()) if n != first]
        order = torch.randperm(len(near), generator=generator).tolist()
        return [first] + [near[i] for i in order[: self.config.sources - 1]]

    def draw(self, latent: torch.Tensor) -> torch.Tensor:
        """(3, px, px) in 0..1 for one latent row."""
        generator = seeded_generator(latent)
        chosen = self.sources(generator)
        sources = torch.stack([self.library.image(index) for index in chosen])
        return generate(sources, self.px, generator, self.config)

    def images(self, latent: torch.Tensor) -> np.ndarray:
        """(N, px, px, 3) uint8."""
        out = [(self.draw(row).permute(1, 2, 0) * 255 + 0.5).clamp(0, 255).to(torch.uint8).numpy() for row in latent]
        return np.stack(out) if out else np.zeros((0, self.px, self.px, 3), np.uint8)


def patch_sampler_from(states: dict, config: dict, path) -> PatchSampler:
    """The sampler of a patchnn checkpoint, drawing at the library's own size until told otherwise."""
    from seedgen.checkpoint import CheckpointError
    from seedgen.failure import ConfigError

    library = library_from(states, config, path)
    try:
        settings = PatchNNConfig.from_json(config.get(MODEL_NAME) or {})
    except (ConfigError, TypeError) as error:
        raise CheckpointError(f"{path}: {error}") from None
    return PatchSampler(library, settings, px=library.side)
