"""`seedgen generate`: sample new seeds from a model, keep only unique ones, and write them as vector seeds.

The flow for a batch: load the model (the packaged default unless one is named) -> draw candidate latents
from the run's seed (or around a projected `--like` seed, or between two `--mix` seeds) -> render them ->
reject near-duplicates of the training set and of everything already in the library (see
`seedgen.generation.uniqueness`) -> vectorize the keepers (`vectorize` tracing for raster models; the layered model's
own masks need no tracing) -> write SVG / PDF / PNG previews, a JSON sidecar per seed, and a contact sheet.

Candidates are accepted in chunks of `CHUNK` seeds, and a chunk is written before the next is sampled, so a
run of 10,000 seeds holds at most one chunk of pixels in memory. A model that keeps repeating itself is
found before anything is written (for runs of up to one chunk): the run stops with an error naming the count.
Sampling is batched (on the GPU when there is one); tracing, the slow part on a CPU, runs in worker processes,
one per idle core, for runs of `POOL_MIN_SEEDS` seeds or more (`GenerateConfig.workers`), and so does drawing
for models whose every seed is a long computation (patchnn: `worker_drawing`). The output does not depend on
how many workers there are.

Determinism: candidate k of a run with seed S always has the same latent, so the same seed into the same
(empty) library gives the same files. Seeds are named `sS-KKK` in the order they were accepted.
"""
from __future__ import annotations

import io
import os
import time
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np
from PIL import Image

from augment.output import (
    OutputExists,
    OutputNotWritable,
    check_output_folder,
    png_bytes,
    write_atomic,
    write_json_atomic,
)
from augment.palette import Palette, PaletteError, parse_palette
from seedgen.generation.config import (  # noqa: F401 - the public names of generation, as before
    FORMATS,
    MAX_WORKERS,
    POOL_MIN_SEEDS,
    PREVIEW_MAX_PX,
    GenerateConfig,
    GenerateError,
    OptionSpec,
    OutputSize,
    parse_output_size,
)
from seedgen.generation.contact_sheet import ContactSheet, SheetEntry
from seedgen.generation.uniqueness import (
    UniquenessIndex,
    UniquenessIndexError,
    fingerprint_images,
)
from seedgen.generation.worker_drawing import DRAWN_IN_WORKERS
from seedgen.generation.worker_pool import idle_cores, shared_map, start_pool
from vectorize.config import VectorizeConfig
from vectorize.layer import Layer
from vectorize.layer_raster import render_layers
from vectorize.page import PageSize
from vectorize.pdf_writer import write_pdf
from vectorize.quantize import snap_layers
from vectorize.svg_writer import write_pattern_svg, write_svg
from vectorize.vectorize_run import image_layers

if TYPE_CHECKING:
    import torch

    from seedgen.generation.seed_model import SeedModel

DRAWN_ONE_BY_ONE = ("texture", "patchnn")  # models whose candidates are drawn one at a time, each costing seconds
TRACE_SIZE = 256  # px: smaller raster samples are upscaled (cubic) to this before tracing, for smooth curves;
# 256 traces a 64 px sample as smoothly as 512 did (checked by eye) in a third of the time. Larger samples are
# traced at their own size (vectorize's max_side caps it).
SHEET_PX = 256  # contact-sheet thumbnails
CHUNK = 64  # seeds accepted, then written, at a time: bounds memory for long runs
LIKE_PX = 256  # --like / --mix seeds are rasterized (sandboxed) at this size, then fitted to the model

__all__ = ["GenerateConfig", "GenerateError", "GenerateResult", "GeneratedSeed", "generate_seeds", "list_models"]


@dataclass
class GeneratedSeed:
    name: str
    files: dict[str, Path]
    metadata: dict


@dataclass
class GenerateResult:
    seeds: list[GeneratedSeed]
    rejected: int
    contact_sheet: Path | None  # the HTML page
    run_seed: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (see STAGES)


STAGES = ("model_load", "projection", "sampling", "uniqueness", "vectorizing", "writing")
# Seconds per stage. With several workers, vectorizing and writing (which includes rendering previews) are summed
# over the workers and can exceed the wall time; "total" is the wall time of the whole call.


def list_models() -> list[dict]:
    """The models packaged with seedgen (see seedgen.model_files.list_models)."""
    from seedgen.model_files import list_models as packaged

    return packaged()


def _check_model(spec: str | None) -> Path:
    """The model's weights file; a missing model is a usage error found before any work (loading it comes later,
    with torch, from this file: in this process and in the workers alike)."""
    from seedgen.model_files import ModelError, resolve_model_path

    try:
        return resolve_model_path(spec)
    except ModelError as error:
        raise GenerateError(str(error), usage=error.exit_code == 2) from None


def _check_output_dir(library: Path) -> None:
    """The library folder can be written (augment.output's probe), and exists."""
    try:
        check_output_folder(library)
        library.mkdir(parents=True, exist_ok=True)
    except OutputNotWritable as error:
        raise GenerateError(str(error)) from None
    except OSError as error:  # made unwritable between the probe and the mkdir
        raise GenerateError(f"{library}: cannot write to this folder ({error.strerror or type(error).__name__})") from None


def _refuse_existing(library: Path, names: list[str], config: GenerateConfig, sheet: ContactSheet | None) -> None:
    """Nothing is overwritten without --overwrite: check every file this run would write, before writing any."""
    if config.overwrite:
        return
    suffixes = (*config.formats, "json", *(("pattern.svg",) if config.tile else ()))
    targets = [library / f"{name}.{fmt}" for name in names for fmt in suffixes]
    targets += sheet.paths() if sheet is not None else []
    for target in targets:
        if target.exists():
            raise GenerateError(f"{target}: already exists (use --overwrite, or another --seed)")


def _read_seed_images(paths: list[str]) -> list[np.ndarray]:
    """Rasterize users' seeds (SVG, PDF or image) in the sandbox, full-bleed squares, for --like / --mix."""
    from augment.rasterize import RasterPool, composite_on, fit_full_bleed

    if not paths:
        return []
    for path in paths:
        if Path(path).is_dir():
            raise GenerateError(f"{path}: a folder; --like, --mix and --guide take seed files (SVG, PDF or image)",
                                usage=True)
        if not Path(path).is_file():
            raise GenerateError(f"{path}: no such file", usage=True)
    out = []
    with RasterPool(1, accept_images=True) as pool:
        for result in pool.imap([Path(p) for p in paths], LIKE_PX, LIKE_PX, cover=True):
            if not result.ok:
                raise GenerateError(f"{result.path}: cannot rasterize ({result.error})")
            out.append(composite_on(fit_full_bleed(result.image, LIKE_PX, LIKE_PX)))
    return out


def _reference_fingerprints(model: "SeedModel", quiet: bool = True) -> np.ndarray | None:
    """Fingerprints of the model's training set: shipped beside the checkpoint, or computed once and cached there.

    A cache of another fingerprint version (or length) is ignored and computed again when the training data is
    at hand (the checkpoint's `data` folder); without it the training set is not checked, and each seed's sidecar
    says so (`checked_against`).
    """
    from seedgen.perceptual import FINGERPRINT_LENGTH, FINGERPRINT_VERSION

    side = model.path.with_name(model.path.stem + ".fingerprints.npz")
    if side.is_file():
        try:
            with np.load(side, allow_pickle=False) as data:
                # a file without a version (the packaged model's) is trusted when its length matches: every
                # fingerprint version so far has had its own length
                version = int(data["version"]) if "version" in data.files else FINGERPRINT_VERSION
                fps = data["fingerprints"].astype(np.float32)
            if version == FINGERPRINT_VERSION and fps.ndim == 2 and fps.shape[1] == FINGERPRINT_LENGTH:
                return fps
        except (OSError, ValueError, KeyError):
            pass  # damaged: compute again below (when the training data is at hand)
    data_dir = model.config.get("data")
    if not data_dir or not Path(data_dir).is_dir():
        return None
    from tqdm import tqdm

    images = []
    pngs = sorted(Path(data_dir).glob("*.png"))[:20000]  # read once, then cached beside the checkpoint
    for png in tqdm(pngs, desc="fingerprinting the training set", unit="image", leave=False, disable=quiet):
        try:
            with Image.open(png) as im:
                images.append(np.asarray(im.convert("RGB").resize((256, 256), Image.BILINEAR)))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # one unreadable training image does not stop generation
    if not images:
        return None
    fps = fingerprint_images(images)
    try:
        buf = io.BytesIO()
        np.savez_compressed(buf, fingerprints=fps, version=np.int64(FINGERPRINT_VERSION))
        write_atomic(side, buf.getvalue(), overwrite=True)
    except OSError:
        pass  # a read-only model folder: compute again next time
    return fps


def _candidate_seeds(run_seed: int, start: int, count: int) -> list[int]:
    return [int(np.random.SeedSequence([run_seed, k]).generate_state(1, np.uint64)[0] >> 1)
            for k in range(start, start + count)]


def _palette_config(config: GenerateConfig) -> Palette | None:
    if not config.palette:
        return None
    try:
        return parse_palette(config.palette)
    except PaletteError as error:
        raise GenerateError(f"--palette: {error}", usage=True) from None


def _trace_sample(image: np.ndarray, vconfig: VectorizeConfig) -> tuple[list[Layer], tuple[int, int]]:
    """Colour layers of a raster sample, traced at TRACE_SIZE or more."""
    side = max(TRACE_SIZE, image.shape[0], image.shape[1])
    if image.shape[:2] == (side, side):
        big = image
    elif vconfig.tile:  # resampled with its edges wrapped round, so the upscaled tile still repeats
        pad = 4
        wrapped = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="wrap")
        scale = side / image.shape[0]
        grown = cv2.resize(wrapped, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        start = round(pad * scale)
        big = grown[start: start + side, start: start + side]
    else:
        big = cv2.resize(image, (side, side), interpolation=cv2.INTER_CUBIC)
    layers, _ = image_layers(big, vconfig)
    return layers, (side, side)


@dataclass(frozen=True)
class _SeedJob:
    """Everything needed to turn one accepted sample into file bytes (sent to a worker process)."""

    name: str
    image: np.ndarray | None  # a raster sample to trace, or
    layers: tuple[Layer, ...] | None  # the layered model's own layers
    canvas: tuple[int, int] | None
    vconfig: VectorizeConfig
    page: PageSize
    preview_px: int
    formats: tuple[str, ...]
    thumbnail: bool


@dataclass
class _SeedFiles:
    """What a job made: the files' bytes, a contact-sheet thumbnail, and the seconds each part took."""

    svg: bytes
    pdf: bytes | None
    png: bytes | None
    pattern: bytes | None  # a tile's <pattern> preview (3 x 3 repeats)
    thumbnail: np.ndarray | None
    layers: int
    colours: list[str]
    vectorizing: float
    rendering: float
    fingerprint: np.ndarray   # of the traced seed as rendered: what is written, checked again (a near-copy test
    #                           passed by the raster sample can fail once it is traced)


def _make_seed_files(job: _SeedJob) -> _SeedFiles:
    """Trace (if needed) and render one seed's files in memory: pure, so it runs in this process or a worker."""
    t = time.perf_counter()
    if job.layers is None:
        layers, canvas = _trace_sample(job.image, job.vconfig)
    else:
        layers, canvas = list(job.layers), job.canvas
    tile = job.vconfig.tile
    svg = write_svg(layers, canvas, page=job.page, title=job.name, clip=tile)
    pattern = write_pattern_svg(layers, canvas, title=f"{job.name} repeated") if tile else None
    vectorizing = time.perf_counter() - t
    t = time.perf_counter()
    pdf = (write_pdf(layers, canvas, page=job.page, colour_mode=job.vconfig.colour_mode, title=job.name, clip=tile)
           if "pdf" in job.formats else None)
    aspect = job.page.height_pt / job.page.width_pt
    png = None
    if "png" in job.formats:   # the pixels of the SVG as cairosvg renders it, drawn without reading it back
        big = render_layers(layers, canvas, job.preview_px, max(1, round(job.preview_px * aspect)), job.page,
                            clip=tile)
        png = png_bytes(big)
        thumb = np.asarray(Image.fromarray(big).resize((SHEET_PX, max(1, round(SHEET_PX * aspect))), Image.LANCZOS))
    else:
        thumb = render_layers(layers, canvas, SHEET_PX, max(1, round(SHEET_PX * aspect)), job.page, clip=tile)
    thumb = np.ascontiguousarray(thumb[..., :3])
    return _SeedFiles(svg, pdf, png, pattern, thumb if job.thumbnail else None, len(layers),
                      sorted({layer.ink.hex for layer in layers}), vectorizing, time.perf_counter() - t,
                      fingerprint_images(thumb[None])[0])


def _worker_count(config: GenerateConfig) -> int:
    """Processes that draw and trace, this one included: config.workers, or for 0 one per idle core (at most
    MAX_WORKERS) for runs of POOL_MIN_SEEDS or more."""
    if config.workers:
        return config.workers
    if config.n < POOL_MIN_SEEDS:
        return 1
    workers = min(idle_cores(), MAX_WORKERS, config.n)
    return workers if workers >= 2 else 1


@dataclass
class _Candidate:
    """An accepted candidate waiting to be vectorized and written."""

    name: str
    seed: int
    latent: "torch.Tensor"
    image: np.ndarray
    distance: float
    nearest: str


class _Run:
    """One call of generate_seeds once its inputs are checked: the model, the index, and what was written."""

    def __init__(self, library: Path, config: GenerateConfig, model: "SeedModel", size: OutputSize,
                 palette: Palette | None, run_seed: int, sheet: ContactSheet | None, timings: dict[str, float],
                 progress: Callable[[int, int], None] | None, pool=None) -> None:
        self.library, self.config, self.model = library, config, model
        self.size, self.palette, self.run_seed, self.sheet = size, palette, run_seed, sheet
        self.timings, self.progress = timings, progress
        self.vconfig = VectorizeConfig(colors=config.colors, palette=palette, seed=run_seed,
                                       colour_mode="cmyk" if config.cmyk else "rgb", tile=config.tile)
        self.written: list[GeneratedSeed] = []
        self._pool = pool  # a ProcessPoolExecutor, or None to trace in this process
        self.checked_against: dict[str, int] = {}  # set once the index is loaded: what uniqueness was checked against
        self.like_embeddings: np.ndarray | None = None  # the --like / --mix seeds in pretrained features
        self.bar = None if config.quiet else _progress_bar(config.n)

    def _job(self, candidate: _Candidate) -> _SeedJob:
        layers = canvas = None
        if self.model.kind == "layered":  # its own masks: no tracing, but the generator lives here
            from seedgen.layered.export import LayeredExportConfig, latent_to_layers

            t = time.perf_counter()
            export = LayeredExportConfig(soft=self.config.soft)
            layers, canvas = latent_to_layers(self.model.generator, candidate.latent, config=export)
            if self.palette is not None:
                layers = snap_layers(layers, self.palette)
            layers = tuple(layers)
            self.timings["vectorizing"] += time.perf_counter() - t
        return _SeedJob(candidate.name, None if layers else candidate.image, layers, canvas, self.vconfig,
                        self.size.page, self.size.preview_px, tuple(self.config.formats), self.sheet is not None)

    def write_all(self, candidates: list[_Candidate], index: UniquenessIndex) -> int:
        """Vectorize and write accepted candidates, in order (in worker processes when there are several); returns
        how many were dropped because their traced render is a near-copy after all.

        The index then holds the traced seeds' fingerprints in place of the raster samples' ones. A dropped
        candidate's name goes to the next one, which is traced again under it (the name is in its files)."""
        dropped = 0
        queue = list(candidates)
        index.remove([c.name for c in queue])
        while queue:
            results = shared_map(self._pool, _make_seed_files, [self._job(c) for c in queue])
            for k, (candidate, files) in enumerate(zip(queue, results)):
                near, distance, nearest = index.is_near_duplicate(files.fingerprint)
                if near:
                    dropped += 1
                    rest = queue[k + 1:]
                    queue = [replace(c, name=n) for c, n in zip(rest, [candidate.name] + [c.name for c in rest])]
                    break
                index.add(candidate.name, files.fingerprint)
                self.store(replace(candidate, distance=distance, nearest=nearest), files)
            else:
                queue = []
        return dropped

    def _like_distances(self, image: np.ndarray) -> list[float] | None:
        """How far a variation is from each --like / --mix seed, in pooled pretrained features (L2)."""
        if self.like_embeddings is None:
            return None
        from seedgen.features import Crops, embed

        mine = embed(image[None], Crops(halves=0))[0]
        return [round(float(np.linalg.norm(mine - ref)), 3) for ref in self.like_embeddings]

    def _texture_record(self, candidate: _Candidate) -> dict | None:
        """What a texture model drew: the pixels, tile, morph and guide (its content loss and time)."""
        if self.model.kind != "texture":
            return None
        sampler, config = self.model.sampler, self.config
        return {"px": sampler.px, "tile": sampler.tile, "morph": config.morph,
                "guide": ({"file": config.guide, **(sampler.report(candidate.latent) or {})}
                          if config.guide else None)}

    def store(self, candidate: _Candidate, made: _SeedFiles) -> None:
        """Write one seed's files atomically, its JSON sidecar and its contact-sheet entry."""
        config, name = self.config, candidate.name
        self.timings["vectorizing"] += made.vectorizing
        t = time.perf_counter()
        files: dict[str, Path] = {}
        for fmt, data in (("svg", made.svg), ("pdf", made.pdf), ("png", made.png)):
            if fmt in config.formats and data is not None:
                files[fmt] = write_atomic(self.library / f"{name}.{fmt}", data, overwrite=config.overwrite)
        if made.pattern is not None:
            files["pattern"] = write_atomic(self.library / f"{name}.pattern.svg", made.pattern,
                                            overwrite=config.overwrite)
        metadata = {
            "name": name, "model": str(self.model.path.name), "model_type": self.model.kind,
            "run_seed": self.run_seed, "candidate_seed": candidate.seed, "truncation": config.truncation,
            "size": config.size, "palette": self.palette.to_json() if self.palette else None, "like": config.like,
            "mix": list(config.mix) if config.mix else None, "layers": made.layers, "colours": made.colours,
            "nearest_known": {"distance": round(candidate.distance, 4) if np.isfinite(candidate.distance) else None,
                              "seed": candidate.nearest or None},
            "checked_against": self.checked_against,
            "feature_distance_to_like": self._like_distances(candidate.image),
            "texture": self._texture_record(candidate),
            "files": {fmt: p.name for fmt, p in files.items()},
        }
        write_json_atomic(self.library / f"{name}.json", metadata, overwrite=config.overwrite)
        if self.sheet is not None and made.thumbnail is not None:
            self.sheet.add(SheetEntry(name, made.thumbnail, {fmt: p.name for fmt, p in files.items()}))
        self.timings["writing"] += made.rendering + time.perf_counter() - t
        self.written.append(GeneratedSeed(name, files, metadata))
        if self.bar is not None:
            self.bar.update(1)
        if self.progress is not None:
            self.progress(len(self.written), config.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class _Plan:
    """A run's inputs once every one of them is checked (nothing has been written yet)."""

    library: Path
    config: GenerateConfig
    names: list[str]
    run_seed: int
    palette: Palette | None
    size: OutputSize
    sheet: ContactSheet | None
    seed_images: list[np.ndarray]  # the --like seed, the two --mix seeds, or none
    timings: dict[str, float]
    model_path: Path  # the weights file --model names
    guide_image: np.ndarray | None = None  # --guide (texture models)


def _plan(library: Path, config: GenerateConfig) -> _Plan:
    """Check every option and input, the output folder, and that nothing would be overwritten."""
    config.validate()
    palette = _palette_config(config)
    size = parse_output_size(config.size)
    run_seed = int(config.seed) if config.seed is not None else int(np.random.SeedSequence().entropy % (2**31))
    names = [f"s{run_seed}-{k:03d}" for k in range(config.n)]
    sheet = (ContactSheet(library, f"contact-s{run_seed}", f"seedgen batch s{run_seed}", total=config.n,
                          overwrite=config.overwrite) if config.contact_sheet else None)
    model_path = _check_model(config.model)
    seed_images = _read_seed_images([config.like] if config.like else list(config.mix or ()))
    guide_image = _read_seed_images([config.guide])[0] if config.guide else None
    _check_output_dir(library)
    _refuse_existing(library, names, config, sheet)
    return _Plan(library, config, names, run_seed, palette, size, sheet, seed_images,
                 {stage: 0.0 for stage in STAGES}, model_path, guide_image)


def generate_seeds(library_dir: str | os.PathLike, config: GenerateConfig,
                   progress: Callable[[int, int], None] | None = None) -> GenerateResult:
    """Write `config.n` unique seeds into `library_dir`; raises GenerateError (one line) on bad input.

    Every input is checked before anything is written, and no existing file is replaced unless
    `config.overwrite`. `progress(done, total)` is called after each seed is written.
    """
    started = time.perf_counter()
    plan = _plan(Path(library_dir), config)
    workers = _worker_count(config)
    pool = start_pool(workers)
    if pool is not None:
        _preload_now(pool, plan.model_path, workers - 1)
    try:
        result = _generate(plan, progress, pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    result.timings["total"] = time.perf_counter() - started
    return result


def _generate(plan: _Plan, progress: Callable[[int, int], None] | None, pool) -> GenerateResult:
    """Load the model, then sample, check, trace and write until the plan's seeds are all written.

    torch's thread count is left as it is: it changes the last bits of CPU samples, and so the traced bytes.
    """
    library, config, names, timings = plan.library, plan.config, plan.names, plan.timings
    t = time.perf_counter()
    from seedgen.device import pick_device  # torch: not imported by tracing workers
    from seedgen.generation.seed_model import ModelError, load_seed_model

    try:
        model = load_seed_model(plan.model_path, pick_device(config.device))
    except ModelError as error:
        raise GenerateError(str(error), usage=error.exit_code == 2) from None
    timings["model_load"] = time.perf_counter() - t
    if config.soft != "hard" and model.kind != "layered":
        raise GenerateError(f"--soft {config.soft} needs a layered model (this one is {model.kind})", usage=True)
    _use_texture(model, config, plan)

    t = time.perf_counter()
    try:
        index = UniquenessIndex.load(library, reference=_reference_fingerprints(model, config.quiet))
    except UniquenessIndexError as error:
        raise GenerateError(str(error)) from None
    # Seeds of these names are being replaced (--overwrite) or were deleted (their sidecars are gone, or the
    # check above would have refused): they must not block their own successors.
    index.remove(names)
    timings["uniqueness"] = time.perf_counter() - t

    centre = (None if model.draws_from(plan.seed_images) else
              _project(model, plan.seed_images, plan.run_seed, config.project_steps, timings, config.quiet))
    run = _Run(library, config, model, plan.size, plan.palette, plan.run_seed, plan.sheet, timings, progress, pool)
    run.checked_against = {"training_images": index.reference_size, "library_seeds": len(index)}
    if plan.seed_images:
        from seedgen.features import Crops, embed

        run.like_embeddings = embed(np.stack(plan.seed_images), Crops(halves=0))
    rejected = tried = 0
    limit = config.n * config.max_tries
    pending: list[_Candidate] = []
    try:
        while len(run.written) + len(pending) < config.n and tried < limit:
            count = min(config.batch, limit - tried)
            if model.kind in DRAWN_ONE_BY_ONE:   # each candidate costs a whole drawing: no more than still needed
                count = min(count, config.n - len(run.written) - len(pending))
                if pool is not None and model.kind in DRAWN_IN_WORKERS:   # shared with the workers: all at once
                    # (a batch ends waiting for its slowest drawing)
                    count = min(limit - tried, config.n - len(run.written) - len(pending), CHUNK)
            seeds = _candidate_seeds(plan.run_seed, tried, count)
            t = time.perf_counter()
            latents = _latents(model, centre, seeds, config.truncation)
            images = _draw(model, latents, config.batch, pool)
            timings["sampling"] += time.perf_counter() - t
            t = time.perf_counter()
            start = len(run.written) + len(pending)
            admitted = index.admit(names[start:], fingerprint_images(images))
            done = len(admitted) == config.n - start  # admit stopped at the last name: later candidates unseen
            examined = admitted[-1][0] + 1 if done else count
            rejected += examined - len(admitted)
            timings["uniqueness"] += time.perf_counter() - t
            for k, (j, dist, who) in enumerate(admitted):
                pending.append(_Candidate(names[start + k], seeds[j], latents[j : j + 1], images[j], dist, who))
            tried += examined   # the rest of a batch is drawn again if a traced seed is dropped below
            if len(pending) >= CHUNK or len(run.written) + len(pending) == config.n:
                rejected += run.write_all(pending, index)
                pending = []
        if pool is not None:   # no more jobs: the workers exit (torch's teardown: 0.6 s) while the sheet is written
            pool.shutdown(wait=False)
        if len(run.written) < config.n:
            wrote = f"; {len(run.written)} were written" if run.written else ""
            hint = ("the variations around these seeds are too alike; try other seeds or fewer --n" if plan.seed_images
                    else "the model may be collapsed; try a higher --truncation")
            raise GenerateError(f"only {len(run.written) + len(pending)} of {config.n} candidates were unique after "
                                f"{tried} tries ({rejected} near-duplicates rejected{wrote}): {hint}")
    except OutputExists as error:  # a file appeared while the run was writing
        raise GenerateError(str(error)) from None
    except OSError as error:  # the disk filled up, the folder vanished...
        raise GenerateError(f"{library}: cannot write ({error.strerror or type(error).__name__})") from None
    except BrokenExecutor:
        raise GenerateError("a tracing worker process died (out of memory?); try --workers 1") from None
    finally:
        run.close()
        if run.written:  # what was written is remembered even when the run stops early
            t = time.perf_counter()
            written = {seed.name for seed in run.written}
            index.remove([c.name for c in pending if c.name not in written])  # admitted but never written
            try:
                index.save(library)
            except OSError as error:
                raise GenerateError(f"{library}: cannot save the uniqueness index "
                                    f"({error.strerror or type(error).__name__})") from None
            timings["uniqueness"] += time.perf_counter() - t
    sheet_path = plan.sheet.close() if plan.sheet is not None else None
    return GenerateResult(run.written, rejected, sheet_path, plan.run_seed, timings)


def _use_texture(model: "SeedModel", config: GenerateConfig, plan: _Plan) -> None:
    """Texture models draw at the output size (as a tile, a morph, a mosaic); the others refuse those options.
    Patchnn models draw at their library's side, the scale of its shapes (the seed is traced to vectors from
    there, like a 64 px GAN sample)."""
    asked = [flag for flag, given in (("--tile", config.tile), ("--morph", config.morph > 1),
                                      ("--guide", config.guide)) if given]
    if model.kind != "texture":
        if asked:
            verb = "needs" if len(asked) == 1 else "need"
            raise GenerateError(f"{', '.join(asked)} {verb} a texture model (this one is {model.kind}; train one "
                                f"with seedgen train --model texture)", usage=True)
        return
    guide = None
    if plan.guide_image is not None:
        from seedgen.texture.guide import Guide

        guide = Guide(plan.guide_image, strength=config.guide_strength, method=config.guide_method)
        if config.guide_method == "optimize" and plan.size.preview_px > 2048:
            raise GenerateError("--guide-method optimize draws at most 2048 px; use --guide-method quick or a "
                                "smaller --size", usage=True)
    model.use_texture(plan.size.preview_px, tile=config.tile, morph=config.morph, guide=guide)


def _project(model: "SeedModel", images: list[np.ndarray], run_seed: int, steps: int, timings: dict[str, float],
             quiet: bool = False):
    """The projected latent of a --like seed, the pair of --mix seeds, or None; a progress bar over the steps."""
    if not images:
        return None
    from seedgen.generation.projection import project

    t = time.perf_counter()
    bar = None if quiet else _progress_bar(steps * len(images), "projecting", "step")
    tick = (lambda step, total: bar.update(1)) if bar is not None else None
    try:
        with model.fitting():
            latents = [project(model, image, steps=steps, seed=run_seed + i, progress=tick)[0]
                       for i, image in enumerate(images)]
    finally:
        if bar is not None:
            bar.close()
    timings["projection"] = time.perf_counter() - t
    return latents[0] if len(latents) == 1 else tuple(latents)


def _preload_now(pool, weights: Path, workers: int) -> None:
    """The `workers` start loading a model that they will draw with (its kind from its JSON, read without
    torch) at once, while this process imports torch and loads it too."""
    from seedgen.generation.worker_drawing import preload
    from seedgen.model_files import model_entry

    if model_entry(weights)["model"] in DRAWN_IN_WORKERS:
        preload(pool, str(weights), workers)


def _draw(model: "SeedModel", latents: "torch.Tensor", batch: int, pool) -> np.ndarray:
    """(N, R, R, 3) uint8 candidates: shared with the worker processes for models that draw one slow seed at a
    time (this process draws its share with the model it loaded)."""
    import torch

    from seedgen.generation.worker_drawing import draw, draw_jobs

    if pool is None or model.kind not in DRAWN_IN_WORKERS or len(latents) < 2:
        return model.images(latents, batch=batch)
    here = lambda job: model.images(torch.from_numpy(job.latent)[None])[0]  # noqa: E731
    return np.stack(shared_map(pool, draw, draw_jobs(model, latents), here))


def _latents(model: "SeedModel", centre, seeds: list[int], truncation: float) -> "torch.Tensor":
    import torch

    from seedgen.generation.projection import around, mix

    if centre is None:
        return model.latent(model.noise(seeds), truncation)
    if model.kind == "texture" and model.z_dim != (centre[0] if isinstance(centre, tuple) else centre).shape[-1]:
        # a morph around fitted textures: each of its textures near the --like seed's, or one near each --mix seed
        whole = torch.cat(centre, dim=1) if isinstance(centre, tuple) else centre.repeat(1, model.z_dim // centre.shape[-1])
        return around(model, whole, seeds)
    if isinstance(centre, tuple):
        return mix(model, centre[0], centre[1], seeds)
    return around(model, centre, seeds)


def _progress_bar(total: int, desc: str = "seeds", unit: str = "seed"):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def result_summary(result: GenerateResult) -> str:
    kept = len(result.seeds)
    return (f"generate: {kept} seeds written (seed {result.run_seed}), {result.rejected} near-duplicates rejected"
            + (f"; contact sheet {result.contact_sheet}" if result.contact_sheet else ""))


def to_json(result: GenerateResult) -> dict:
    return {"seeds": [{"name": s.name, "files": {k: str(v) for k, v in s.files.items()}} for s in result.seeds],
            "rejected": result.rejected, "run_seed": result.run_seed,
            "contact_sheet": str(result.contact_sheet) if result.contact_sheet else None, "timings": result.timings}
