"""The training set: a folder of square RGB images of one power-of-two size, and the order they are shown in.

`ImageFolder` scans a folder (recursively) once, reading only image headers, and refuses what cannot
train with one line naming the folder and the reason: no images, mixed sizes, non-square or
unsupported sizes. RGBA and grayscale images are converted (alpha composited on white, as
`seedgen dataset` does) and reported in one warning line. Small sets are decoded once into memory.
`ShardedOrder` is the sample order: an endless stream of seeded per-epoch permutations, dealt round
robin to the processes of a data-parallel run, restartable from any position (for resume).
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class DatasetError(Exception):
    """The data folder cannot be trained on (one-line message naming the folder)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # 2 for a missing or empty folder (a usage error), 1 for bad images


class ImageFolder(torch.utils.data.Dataset):
    """Square RGB images from `root`, as uint8 tensors [3, R, R]."""

    def __init__(self, root: str | os.PathLike, min_resolution: int = 32, max_resolution: int = 1024,
                 cache_mb: int = 1024, warn: Callable[[str], None] | None = None,
                 exclude: tuple[str | os.PathLike, ...] = ()) -> None:
        """Scan `root` recursively; folders in `exclude` (e.g. a run directory inside the data) are skipped."""
        self.root = Path(root)
        warn = warn or (lambda line: None)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: not a directory", exit_code=2)
        skipped = [Path(p).resolve() for p in exclude]
        files = sorted(p for p in self.root.rglob("*")
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
                       and not any(p.resolve().is_relative_to(folder) for folder in skipped))
        if not files:
            raise DatasetError(f"{self.root}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})", exit_code=2)
        sizes: dict[tuple[int, int], list[Path]] = {}
        modes: Counter[str] = Counter()
        unreadable: list[tuple[Path, str]] = []
        for path in files:
            try:
                with Image.open(path) as image:
                    sizes.setdefault(image.size, []).append(path)
                    modes[_mode_kind(image)] += 1
            except (UnidentifiedImageError, OSError, ValueError) as error:
                unreadable.append((path, str(error).splitlines()[0] if str(error) else type(error).__name__))
        for path, reason in unreadable:
            warn(f"{path}: skipped: not a readable image ({reason})")
        if not sizes:
            raise DatasetError(f"{self.root}: none of the {len(files)} image files could be read")
        if len(sizes) > 1:
            common = sorted(sizes.items(), key=lambda item: -len(item[1]))
            listing = ", ".join(f"{w}x{h} ({len(paths)} files, e.g. {paths[0].name})" for (w, h), paths in common[:3])
            raise DatasetError(f"{self.root}: images have mixed sizes: {listing}; "
                               f"make them uniform with `seedgen dataset --size N`")
        (width, height), self.files = next(iter(sizes.items()))
        if width != height:
            raise DatasetError(f"{self.root}: images are {width}x{height}; training needs square images")
        if width & (width - 1) or not min_resolution <= width <= max_resolution:
            raise DatasetError(f"{self.root}: images are {width}x{width}; training needs a power of two "
                               f"from {min_resolution} to {max_resolution} px")
        self.resolution = width
        converted = [f"{count} {kind}" for kind, count in sorted(modes.items()) if kind != "RGB"]
        if converted:
            warn(f"{self.root}: warning: converting {', '.join(converted)} image(s) to RGB "
                 f"(alpha composited on white)")
        self._cache: torch.Tensor | None = None
        if len(self.files) * 3 * width * width <= cache_mb * 2**20:
            self._cache = torch.stack([self._decode(i) for i in range(len(self.files))])

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._cache is not None:
            return self._cache[index]
        return self._decode(index)

    def batch(self, indices: list[int]) -> torch.Tensor:
        """Images [N, 3, R, R] uint8 for `indices` (fast path for the in-memory cache)."""
        if self._cache is not None:
            return self._cache[torch.as_tensor(indices, dtype=torch.long)]
        return torch.stack([self._decode(i) for i in indices])

    def _decode(self, index: int) -> torch.Tensor:
        path = self.files[index]
        try:
            with Image.open(path) as image:
                rgb = to_rgb(image)
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise DatasetError(f"{path}: cannot decode image ({str(error).splitlines()[0] if str(error) else error!r})")
        if rgb.size != (self.resolution, self.resolution):
            raise DatasetError(f"{path}: changed size during training ({rgb.size[0]}x{rgb.size[1]})")
        return torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()

    @property
    def cached(self) -> bool:
        return self._cache is not None


def _mode_kind(image: Image.Image) -> str:
    if image.mode == "RGB":
        return "RGB"
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        return "RGBA"
    if image.mode in ("L", "1", "I", "I;16", "F"):
        return "grayscale"
    return image.mode


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB version of any PIL image; transparency is composited on white."""
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("I", "I;16", "F"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


class ShardedOrder:
    """Endless sample order: epoch e is a permutation seeded by (seed, e); rank r takes every world-th item.

    `position` counts items dealt to all ranks so far, so a run restarted at the same position (and
    any world size) continues the same global order.
    """

    def __init__(self, size: int, seed: int, rank: int = 0, world_size: int = 1, position: int = 0) -> None:
        self.size, self.seed, self.rank, self.world_size, self.position = size, seed, rank, world_size, position
        self._epoch = -1
        self._perm: list[int] = []

    def _item(self, global_index: int) -> int:
        epoch, offset = divmod(global_index, self.size)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.size, generator=generator).tolist()
            self._epoch = epoch
        return self._perm[offset]

    def next_batch(self, batch_per_rank: int) -> list[int]:
        """This rank's indices for the next global batch of batch_per_rank * world_size images."""
        start = self.position + self.rank
        indices = [self._item(start + i * self.world_size) for i in range(batch_per_rank)]
        self.position += batch_per_rank * self.world_size
        return indices


class BatchStream:
    """Batches of real images [N, 3, R, R] uint8 in `ShardedOrder`, decoded by worker processes when asked."""

    def __init__(self, dataset: ImageFolder, order: ShardedOrder, batch_per_rank: int, workers: int = 0) -> None:
        self.dataset, self.order, self.batch_per_rank = dataset, order, batch_per_rank
        self.workers = 0 if dataset.cached else workers
        self._pool = None
        self._pending: list = []
        if self.workers > 0:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_init_worker, initargs=(dataset,))

    def next(self) -> torch.Tensor:
        if self._pool is None:
            return self.dataset.batch(self.order.next_batch(self.batch_per_rank))
        while len(self._pending) < self.workers + 1:       # keep a few batches decoding ahead
            self._pending.append(self._pool.submit(_decode_batch, self.order.next_batch(self.batch_per_rank)))
        return self._pending.pop(0).result()

    @property
    def position(self) -> int:
        """Order position of the next batch to be consumed (batches decoding ahead are not counted)."""
        ahead = len(self._pending) * self.batch_per_rank * self.order.world_size
        return self.order.position - ahead

    def close(self) -> None:
        if self._pool is not None:
            for future in self._pending:
                future.cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


_WORKER_DATASET: ImageFolder | None = None


def _init_worker(dataset: ImageFolder) -> None:
    global _WORKER_DATASET
    torch.set_num_threads(1)
    _WORKER_DATASET = dataset


def _decode_batch(indices: list[int]) -> torch.Tensor:
    assert _WORKER_DATASET is not None
    return _WORKER_DATASET.batch(indices)


def image_grid(images: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """[N, C, H, W] uint8 -> one [gh*H, gw*W, C] image, row-major."""
    gw, gh = grid
    n, c, h, w = images.shape
    if n < gw * gh:
        images = np.concatenate([images, np.zeros((gw * gh - n, c, h, w), images.dtype)])
    return images[: gw * gh].reshape(gh, gw, c, h, w).transpose(0, 3, 1, 4, 2).reshape(gh * h, gw * w, c)
