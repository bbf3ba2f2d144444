"""Drawing patchnn seeds: a latent picks the library seeds and seeds every random choice, then GPNN draws.

A patchnn latent is Z_DIM numbers; nothing is learned about them. Their bytes seed one generator, which picks a
library seed at random and `sources - 1` of its neighbours (without repeats), places the coarse layout, draws the
noise and the random candidates of the search: the same latent gives the same seed on every machine (it is
drawn on one torch thread), and another latent another seed. There is no differentiable render and no latent
space to fit a seed into: `--like` and `--mix` draw from the given seeds themselves instead (`with_references`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import torch

from seedgen.patchnn.library import PatchLibrary, library_from
from seedgen.patchnn.model import MODEL_NAME, PatchNNConfig, generate, resized

Z_DIM = 16
MIN_PX = 16


def seeded_generator(latent: torch.Tensor) -> torch.Generator:
    """A CPU generator whose seed is the SHA-256 of the latent row's float32 little-endian bytes."""
    data = latent.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
    return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(data).digest()[:8], "little") >> 1)


@dataclass
class PatchSampler:
    """Draws `px`-pixel seeds from a library, or, given `references`, from those seeds alone."""

    library: PatchLibrary
    config: PatchNNConfig
    px: int = 256
    references: tuple[np.ndarray, ...] = ()   # (H, W, 3) uint8: the --like seed, or the --mix seeds

    def at_size(self, px: int) -> "PatchSampler":
        """The same sampler drawing `px` pixels (at most config.max_px: larger seeds are traced from that)."""
        return replace(self, px=max(MIN_PX, min(int(px), self.config.max_px)))

    def with_references(self, images: list[np.ndarray]) -> "PatchSampler":
        """Variations of given seeds. One (--like): every seed is drawn from it alone, GPNN's own single-image
        generation (its layout drowned in noise, then its patches rearranged coarse to fine). Several (--mix):
        each seed takes its layout from one of them, at random, and its patches from all."""
        return replace(self, references=tuple(np.ascontiguousarray(image[..., :3]) for image in images))

    def sources(self, generator: torch.Generator) -> list[int]:
        """A random library seed, then some of its neighbours in random order."""
        first = int(torch.randint(0, self.library.count, (1,), generator=generator))
        near = [n for n in dict.fromkeys(self.library.neighbours[first].tolist()) if n != first]
        order = torch.randperm(len(near), generator=generator).tolist()
        return [first] + [near[i] for i in order[: self.config.sources - 1]]

    def source_images(self, generator: torch.Generator) -> torch.Tensor:
        """(K, 3, S, S) in 0..1: the seeds one drawing takes its patches from, the layout's first."""
        if not self.references:
            return torch.stack([self.library.image(index) for index in self.sources(generator)])
        first = int(torch.randint(0, len(self.references), (1,), generator=generator))
        order = [first] + [i for i in range(len(self.references)) if i != first]
        side = self.library.side
        return torch.cat([resized(torch.from_numpy(self.references[i]).permute(2, 0, 1)[None].float() / 255, side)
                          for i in order])

    def draw(self, latent: torch.Tensor) -> torch.Tensor:
        """(3, px, px) in 0..1 for one latent row, on one torch thread (the thread count changes the last bits of
        the search's sums, and so the seed: one thread gives the same seed in any process)."""
        generator = seeded_generator(latent)
        sources = self.source_images(generator)
        config, layout = self.config, None
        if self.references:
            config = replace(config, noise=config.like_noise, coarse_px=config.like_coarse_px)
            layout = shifted_layout(sources[0], generator)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return generate(sources, self.px, generator, config, layout)
        finally:
            torch.set_num_threads(threads)

    def images(self, latent: torch.Tensor) -> np.ndarray:
        """(N, px, px, 3) uint8."""
        out = [(self.draw(row).permute(1, 2, 0) * 255 + 0.5).clamp(0, 255).to(torch.uint8).numpy() for row in latent]
        return np.stack(out) if out else np.zeros((0, self.px, self.px, 3), np.uint8)


def shifted_layout(image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(3, S, S): the image rolled round by a random offset of a quarter to three quarters of its side each way,
    so that a variation of a given seed lays its shapes out anew instead of tracing the seed's own layout."""
    side = image.shape[-1]
    dy, dx = (int(v) for v in torch.randint(side // 4, side - side // 4 + 1, (2,), generator=generator))
    return torch.roll(image, (dy, dx), dims=(1, 2))


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
