"""Drawing candidates in generate's worker processes, for models whose every seed is a long CPU computation.

A patchnn seed is a whole coarse-to-fine patch search (a fifth of a second or more of one core), and nothing
in it batches: one process draws one seed at a time on one thread. So when generate has worker processes it
shares the latents with them as well as the tracing (seedgen.generation.worker_pool). Each worker loads the
model once, from the same weights file, and draws on one torch thread, as the main process does
(`PatchSampler.draw`), so the bytes are the same whichever process drew a seed and however many there are.

Worker processes are spawned and import the generation modules without torch; torch is imported here, lazily,
by the first draw.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from seedgen.generation.seed_model import SeedModel

DRAWN_IN_WORKERS = ("patchnn",)   # model kinds whose candidates workers draw (the others sample in batches here)

_loaded: dict[str, object] = {}   # in a worker: weights file -> its sampler


@dataclass(frozen=True)
class DrawJob:
    """One candidate: the model's weights file, the side to draw, and the latent row."""

    weights: str
    px: int
    latent: np.ndarray   # (z_dim,) float32
    references: tuple[np.ndarray, ...] = ()   # the --like / --mix seeds, (H, W, 3) uint8: 192 KB each at 256 px,
    #   sent with every job (pickling two of them for 50 jobs took 0.07 s, against ~25 s for the 50 seeds: not
    #   worth a per-worker hand-over)


def draw_jobs(model: "SeedModel", latents) -> list[DrawJob]:
    """A job per latent row of `model` (a patchnn SeedModel)."""
    rows = latents.detach().to("cpu").float().numpy()
    sampler = model.sampler
    return [DrawJob(str(model.path), sampler.px, row.copy(), sampler.references) for row in rows]


def preload(pool, weights: str, workers: int) -> None:
    """Start every worker loading the model now (torch's import and the load take seconds), while this process
    loads it too: a worker busy with one preload takes the next, so each of `workers` likely gets one."""
    for _ in range(workers):
        pool.submit(_load, weights)


def _load(weights: str) -> None:
    _sampler(weights)   # returns nothing: the sampler stays in the worker


def _sampler(weights: str, px: int | None = None):
    """The sampler of `weights` (at `px`), loaded by this process's first call."""
    from seedgen.generation.seed_model import load_seed_model

    if weights not in _loaded:
        _loaded[weights] = load_seed_model(weights, "cpu").sampler
    return _loaded[weights] if px is None else _loaded[weights].at_size(px)


def draw(job: DrawJob) -> np.ndarray:
    """(px, px, 3) uint8: the candidate, drawn in this process by the model loaded once."""
    import torch

    sampler = _sampler(job.weights, job.px)
    if job.references:
        sampler = sampler.with_references(list(job.references))
    return sampler.images(torch.from_numpy(job.latent)[None])[0]
