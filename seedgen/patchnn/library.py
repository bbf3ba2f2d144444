"""The patchnn "model": a library of seeds, built from a folder of training images (`seedgen train --model patchnn`).

Nothing is learned. The checkpoint (safetensors + JSON, model "patchnn", one module "library") holds up to
`max_images` training images, chosen with the seed, shrunk to at most `side` px and kept as PNG bytes in one uint8
buffer: flat-colour seeds compress ten times or more, so hundreds of 256 px seeds take a few MB, not 79. Beside each
seed it keeps its `neighbours` nearest library seeds by the perceptual fingerprint (layout and detail, as they
lie): a new seed takes its patches from one seed and some of its neighbours, so that the palettes and shapes it
mixes belong together. The fingerprints of every training image are written beside the checkpoint
(`snapshot-latest.fingerprints.npz`): `seedgen generate` rejects seeds too near any of them.
"""
from __future__ import annotations

import io
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image
from torch import nn

from augment.output import png_bytes, write_atomic
from seedgen.checkpoint import CheckpointError, checkpoint_paths, load_state_strict, save_networks
from seedgen.failure import ConfigError
from seedgen.image_folder import ImageFolder
from seedgen.patchnn.model import MODEL_NAME, PatchNNConfig, refuse_out_of_range, resized

CHECKPOINT_NAME = "snapshot-latest"   # what `seedgen generate --model RUN` loads from a run folder
NETWORK = "library"
CACHE_IMAGES = 64                     # decoded library seeds kept in memory while generating


class PatchNNError(ValueError):
    """A patchnn library that cannot be built or used (one line)."""

    exit_code = 1


@dataclass(frozen=True)
class LibraryConfig:
    """One library build: what is kept, and the generation parameters stored with it."""

    side: int = 256            # px: library seeds are shrunk to at most this (the sources' finest level), 32..1024
    max_images: int = 400      # library seeds kept, chosen with `seed` (the checkpoint grows with it), 1..100000
    neighbours: int = 8        # nearest library seeds kept for each: the ones it is mixed with, 1..64
    seed: int = 0
    patchnn: PatchNNConfig = field(default_factory=PatchNNConfig)

    def validate(self) -> "LibraryConfig":
        refuse_out_of_range("patchnn library", self, [
            ("side", 32 <= self.side <= 1024), ("max_images", 1 <= self.max_images <= 100000),
            ("neighbours", 1 <= self.neighbours <= 64)])
        self.patchnn.validate()
        return self


class PatchLibrary(nn.Module):
    """The library seeds as PNG bytes (`png`, image i at offsets[i]:offsets[i + 1]) and their neighbours."""

    def __init__(self, count: int, total_bytes: int, neighbours: int, side: int) -> None:
        super().__init__()
        self.init_kwargs = {"count": count, "total_bytes": total_bytes, "neighbours": neighbours, "side": side}
        self.count, self.side = count, side
        self.register_buffer("png", torch.zeros(total_bytes, dtype=torch.uint8))
        self.register_buffer("offsets", torch.zeros(count + 1, dtype=torch.int64))
        self.register_buffer("neighbours", torch.zeros(count, neighbours, dtype=torch.int64))
        self._decoded: OrderedDict[int, torch.Tensor] = OrderedDict()

    def image(self, index: int) -> torch.Tensor:
        """Library seed `index` as (3, side, side) floats in 0..1 (the last CACHE_IMAGES decoded are kept)."""
        if index not in self._decoded:
            self._decoded[index] = self._decode(index)
            while len(self._decoded) > CACHE_IMAGES:
                self._decoded.popitem(last=False)
        self._decoded.move_to_end(index)
        return self._decoded[index].float() / 255

    def _decode(self, index: int) -> torch.Tensor:
        start, stop = (int(v) for v in self.offsets[index: index + 2])
        try:
            with Image.open(io.BytesIO(self.png[start:stop].numpy().tobytes()), formats=["PNG"]) as image:
                if image.size != (self.side, self.side):
                    raise ValueError(f"{image.size[0]}x{image.size[1]} px, not {self.side}")
                pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError) as error:
            raise CheckpointError(f"patchnn library seed {index} is damaged ({error})") from None
        return torch.from_numpy(pixels.copy()).permute(2, 0, 1)


def library_from(states: dict, config: dict, path) -> PatchLibrary:
    """The library of a patchnn checkpoint, sized from its own tensors (never from numbers in the JSON alone)."""
    state = states.get(NETWORK) or {}
    png, offsets, neighbours = (state.get(name) for name in ("png", "offsets", "neighbours"))
    side = int(config.get("resolution") or 0)
    if png is None or offsets is None or neighbours is None or neighbours.ndim != 2 or not 16 <= side <= 4096:
        raise CheckpointError(f"{path}: patchnn checkpoint holds no library")
    library = PatchLibrary(len(offsets) - 1, len(png), neighbours.shape[1], side)
    load_state_strict(library, state, NETWORK)
    offsets, neighbours = library.offsets, library.neighbours
    ordered = int(offsets[0]) == 0 and int(offsets[-1]) == len(library.png) and bool((offsets.diff() >= 0).all())
    if library.count < 1 or not ordered or bool(((neighbours < 0) | (neighbours >= library.count)).any()):
        raise CheckpointError(f"{path}: patchnn library index is damaged")
    return library


# --------------------------------------------------------------------------------------------- building


@dataclass
class LibraryRun:
    """What `build_library` made."""

    checkpoint: Path
    images: int          # training images seen (all fingerprinted)
    kept: int            # library seeds stored
    side: int
    seconds: float


def build_library(data_dir: str | Path, run_dir: str | Path, config: LibraryConfig | None = None,
                  progress: Callable[[int, int], None] | None = None) -> LibraryRun:
    """Store a library of the images in data_dir as run_dir/snapshot-latest; refuses to replace one."""
    cfg = (config or LibraryConfig()).validate()
    run_dir = Path(run_dir)
    weights, _ = checkpoint_paths(run_dir / CHECKPOINT_NAME)
    if weights.exists():
        raise PatchNNError(f"{weights}: already holds a patchnn library (build another with a new -o)")
    started = time.perf_counter()
    images = ImageFolder(data_dir, min_resolution=32, max_resolution=8192, exclude=(run_dir,))
    side = min(cfg.side, images.resolution)
    chosen = min(len(images), cfg.max_images)
    kept = sorted(np.random.default_rng(cfg.seed).choice(len(images), chosen, replace=False).tolist())
    fingerprints, pngs = _shrink_all(images, side, set(kept), progress)
    library = _pack(pngs, _neighbours(fingerprints[kept], cfg.neighbours), side)
    _write_fingerprints(weights, fingerprints)   # first: the checkpoint's existence marks a finished build
    record = {"model": MODEL_NAME, MODEL_NAME: asdict(cfg.patchnn), "resolution": side, "data": str(data_dir),
              "library": {"side": side, "max_images": cfg.max_images, "neighbours": cfg.neighbours, "seed": cfg.seed,
                          "images": len(images), "files": [str(images.files[i].relative_to(images.root))
                                                           for i in kept]}}
    save_networks(run_dir / CHECKPOINT_NAME, {NETWORK: library}, record)
    return LibraryRun(weights, len(images), len(kept), side, time.perf_counter() - started)


def _shrink_all(images: ImageFolder, side: int, kept: set[int], progress: Callable[[int, int], None] | None
                ) -> tuple[np.ndarray, list[bytes]]:
    """Every image's fingerprint, and the kept ones shrunk to `side` px as PNG bytes (in index order)."""
    from seedgen.perceptual import fingerprint_one

    fingerprints, pngs = [], []
    for index in range(len(images)):
        pixels = resized(images[index][None].float(), side)[0]
        small = pixels.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        fingerprints.append(fingerprint_one(small))
        if index in kept:
            pngs.append(png_bytes(small))
        if progress is not None:
            progress(index + 1, len(images))
    return np.stack(fingerprints).astype(np.float32), pngs


def _neighbours(fingerprints: np.ndarray, count: int) -> np.ndarray:
    """(N, count) the nearest other library seeds of each, nearest first (a lone seed is its own neighbour)."""
    from seedgen.perceptual import distance_matrix

    if len(fingerprints) == 1:
        return np.zeros((1, 1), np.int64)
    distances = distance_matrix(fingerprints, fingerprints, dihedral=False, shift=False)
    np.fill_diagonal(distances, np.inf)
    return np.argsort(distances, axis=1, kind="stable")[:, : min(count, len(fingerprints) - 1)].astype(np.int64)


def _pack(pngs: list[bytes], neighbours: np.ndarray, side: int) -> PatchLibrary:
    sizes = np.array([len(data) for data in pngs], np.int64)
    library = PatchLibrary(len(pngs), int(sizes.sum()), neighbours.shape[1], side)
    library.png.copy_(torch.frombuffer(bytearray(b"".join(pngs)), dtype=torch.uint8))
    library.offsets.copy_(torch.from_numpy(np.concatenate([[0], np.cumsum(sizes)])))
    library.neighbours.copy_(torch.from_numpy(neighbours))
    return library


def _write_fingerprints(weights: Path, fingerprints: np.ndarray) -> Path:
    """NAME.fingerprints.npz beside the checkpoint, as generate reads it (fingerprints and their version)."""
    from seedgen.perceptual import FINGERPRINT_VERSION

    buffer = io.BytesIO()
    np.savez_compressed(buffer, fingerprints=fingerprints, version=np.int64(FINGERPRINT_VERSION))
    return write_atomic(weights.with_name(weights.stem + ".fingerprints.npz"), buffer.getvalue(), overwrite=True)


# --------------------------------------------------------------------------------------------- the command

FOREIGN = ("kimg", "minutes", "batch", "gamma", "aug", "p", "target", "freezed", "snap", "d", "cfg", "mode", "layers",
           "params", "crop", "resume")


def run_patchnn(data_dir: str | Path, run_dir: str | Path, options: dict[str, Any]) -> str:
    """`seedgen train --model patchnn`: options as the train command parses them -> one summary line."""
    foreign = [name for name in FOREIGN if options.get(name) is not None]
    if options.get("settings"):
        foreign.append("set")
    if foreign:
        raise ConfigError(f"--model patchnn trains nothing and does not use --{', --'.join(foreign)}")
    config = LibraryConfig(seed=options["seed"] if options.get("seed") is not None else 0)
    from tqdm import tqdm

    with tqdm(unit="image", desc="library", leave=False, disable=bool(options.get("quiet"))) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        run = build_library(data_dir, run_dir, config, progress)
    megabytes = run.checkpoint.stat().st_size / 2**20
    return (f"patchnn library: {run.kept} of {run.images} images at {run.side} px ({megabytes:.1f} MB) in "
            f"{run.seconds:.1f} s; checkpoint {run.checkpoint}")
