"""A trained seed model behind one interface, whatever its type: StyleGAN2-ADA, DCGAN, layered, texture or patchnn.

Generation asks three things of a model: a latent for a seed number, pixels for a batch of latents, and (for
`--like`/`--mix`) a differentiable render so that a seed can be projected into the latent space. StyleGAN2
latents live in W+ (after the mapping network, where truncation and style mixing act); DCGAN and layered
latents are their input noise z. Texture latents are K texture vectors Z^g (K = 1, or 2-4 for a morph); the
texture model draws at the size generation asks for (`use_texture`), as a tile or not, guided or not. A patchnn
"model" is a library of seeds that GPNN recombines patches of: its latents only seed the random choices, it draws
at the library's side, and it has no differentiable render: `--like`/`--mix` draw from the given seeds instead
(`PatchSampler.with_references`).
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seedgen.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    build_networks,
    load_networks,
)
from seedgen.model_files import (  # noqa: F401 - also this module's names, as before
    DEFAULT_MODEL,
    MODELS_DIR,
    ModelError,
    list_models,
    model_entry,
    resolve_model_path,
)

KNOWN_TYPES = ("stylegan2", "dcgan", "layered", "texture", "patchnn")
PROJECTION_PX = 256  # texture models are fitted to a --like seed at this size (the texture, not the layout)
GENERATOR_CLASSES = {"stylegan2": "seedgen.networks.Generator", "dcgan": "seedgen.dcgan.DCGANGenerator"}


@dataclass
class SeedModel:
    """A loaded generator and what generation needs to know about it."""

    kind: str
    path: Path
    config: dict[str, Any]
    generator: torch.nn.Module
    device: torch.device
    resolution: int
    z_dim: int
    info: dict[str, Any] = field(default_factory=dict)
    sampler: Any = None  # texture models: a seedgen.texture.sampling.TextureSampler; patchnn: a PatchSampler

    def use_texture(self, px: int, tile: bool = False, morph: int = 1, guide: Any = None) -> None:
        """Texture models: draw `px`-pixel seeds, as tiles, morphing between `morph` textures, following `guide`.
        Patchnn models: draw `px`-pixel seeds (at most their max_px; generate leaves them at the library's side)."""
        if self.kind == "patchnn":
            self.sampler = self.sampler.at_size(px)
            self.resolution = self.sampler.px
            return
        from seedgen.texture.sampling import TextureSampler

        config = self.sampler.config
        self.sampler = TextureSampler(self.generator, config, px=px, tile=tile, guide=guide)
        self.resolution, self.z_dim = px, config.global_dim * morph

    def draws_from(self, images: list[np.ndarray]) -> bool:
        """--like / --mix on a model with no latent space to fit a seed into (patchnn): from now on it draws its
        variations from the given seeds themselves. True for such a model (nothing is to be projected), False
        for the others, which are left as they are."""
        if self.kind != "patchnn":
            return False
        if images:
            self.sampler = self.sampler.with_references(images)
        return True

    @contextmanager
    def fitting(self):
        """While a --like seed is projected: a texture model draws small, with fixed local noise."""
        if self.kind != "texture":
            yield
            return
        sampler, resolution, z_dim = self.sampler, self.resolution, self.z_dim
        self.sampler = replace(sampler, px=min(sampler.px, PROJECTION_PX), guide=None, fixed_noise=True, tile=False)
        self.resolution, self.z_dim = self.sampler.px, sampler.config.global_dim   # one texture per fitted seed
        try:
            yield
        finally:
            self.sampler, self.resolution, self.z_dim = sampler, resolution, z_dim

    # --- latents --------------------------------------------------------------------------------------
    def noise(self, seeds: list[int]) -> torch.Tensor:
        """One z per seed number, identical on every machine (drawn on the CPU from the seed)."""
        rows = [torch.randn(self.z_dim, generator=torch.Generator().manual_seed(int(s) & 0x7FFFFFFFFFFFFFFF))
                for s in seeds]
        return torch.stack(rows).to(self.device)

    def latent(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """The latent that `render` takes: W+ for StyleGAN2 (truncated towards the average w), else z."""
        if self.kind == "stylegan2":
            with torch.no_grad():
                return self.generator.mapping(z, None, truncation_psi=truncation)
        return z * truncation if truncation != 1.0 and self.kind in ("dcgan", "texture") else z

    def average_latent(self) -> torch.Tensor:
        """The centre of the latent space: w_avg broadcast to W+ for StyleGAN2, zero noise otherwise."""
        if self.kind == "stylegan2":
            g = self.generator
            return g.mapping.w_avg.detach()[None, None].repeat(1, g.num_ws, 1).to(self.device)
        return torch.zeros(1, self.z_dim, device=self.device)

    # --- rendering ------------------------------------------------------------------------------------
    def render(self, latent: torch.Tensor) -> torch.Tensor:
        """Differentiable render of latents to (N, 3, R, R) RGB in 0..1."""
        g = self.generator
        if self.kind == "stylegan2":
            img = g.synthesis(latent, noise_mode="const", force_fp32=True)
            return ((img.float() + 1) / 2).clamp(0, 1)
        if self.kind == "dcgan":
            return ((g(latent).float() + 1) / 2).clamp(0, 1)
        if self.kind == "texture":
            return self.sampler.render(latent)
        if self.kind == "patchnn":
            raise ModelError("a patchnn model has no differentiable render (it copies patches)", exit_code=2)
        _, canvas = g(z=latent)
        return canvas.float().clamp(0, 1)

    def images(self, latent: torch.Tensor, batch: int = 16) -> np.ndarray:
        """(N, R, R, 3) uint8 pixels for a batch of latents."""
        if self.kind in ("texture", "patchnn"):
            return self.sampler.images(latent)
        out = []
        with torch.no_grad():
            for i in range(0, len(latent), batch):
                img = self.render(latent[i : i + batch])
                out.append((img.permute(0, 2, 3, 1) * 255 + 0.5).clamp(0, 255).to(torch.uint8).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.resolution, self.resolution, 3), np.uint8)


def load_seed_model(spec: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> SeedModel:
    """Load a checkpoint (or packaged model name) for generation. Raises ModelError with one line."""
    path = resolve_model_path(spec)
    device = torch.device(device)
    try:
        states, config = load_networks(path)
    except CheckpointError as error:
        raise ModelError(str(error)) from None
    kind = config.get("model")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"{path}: checkpoint format version {version!r}; this seedgen reads version {FORMAT_VERSION}")
    if kind not in KNOWN_TYPES:
        raise ModelError(f"{path}: model type {kind!r} is not one seedgen can generate with ({', '.join(KNOWN_TYPES)})")
    sampler = None
    try:
        if kind == "texture":
            from seedgen.texture.sampling import texture_sampler_from

            sampler = texture_sampler_from(states, config, path, device)
            generator, resolution, z_dim = sampler.generator, sampler.px, sampler.config.global_dim
        elif kind == "patchnn":
            from seedgen.patchnn.sampling import Z_DIM, patch_sampler_from

            sampler = patch_sampler_from(states, config, path)
            generator, resolution, z_dim = sampler.library, sampler.px, Z_DIM
        elif kind == "layered":
            from seedgen.layered.model import layered_generator_from

            generator = layered_generator_from(states, config, path, device=device)
            if generator.config.mode != "gan":
                raise ModelError(f"{path}: a reconstruction-mode layered model cannot sample new seeds")
            resolution, z_dim = generator.config.resolution, generator.config.z_dim
        else:
            name = next((n for n in ("G_ema", "G") if n in states), None)
            if name is None:
                raise ModelError(f"{path}: checkpoint holds no generator (G_ema or G), only {', '.join(sorted(states))}")
            entry = config["networks"][name]
            cls_name = entry.get("class") if isinstance(entry, dict) else None
            if cls_name != GENERATOR_CLASSES[kind]:
                raise ModelError(f"{path}: says model type {kind!r} but its generator is {cls_name!r}")
            nets = build_networks({"networks": {name: entry}}, {name: states[name]}, device)
            generator = nets[name]
            resolution = int(generator.img_resolution)
            z_dim = int(generator.z_dim)
    except CheckpointError as error:
        raise ModelError(str(error)) from None
    except KeyError as error:
        raise ModelError(f"{path}: checkpoint lacks {error}") from None
    generator.eval().requires_grad_(False)
    return SeedModel(kind=kind, path=path, config=config, generator=generator, device=device,
                     resolution=resolution, z_dim=z_dim, info=_card(path), sampler=sampler)


def _card(path: Path) -> dict[str, Any]:
    side = path.with_suffix(".json")
    try:
        data = json.loads(side.read_text())
    except (OSError, ValueError):
        return {}
    return {k: data[k] for k in ("model", "resolution", "kimg", "description") if k in data}


