"""`seedgen generate`: sample new seeds from a model, keep only unique ones, and write them as vector seeds.

The flow for a batch: load the model (the packaged default unless one is named) -> draw candidate latents
from the run's seed (or around a projected `--like` seed, or between two `--mix` seeds) -> render them ->
reject near-duplicates of the training set and of everything already in the library (see
`seedgen.uniqueness`) -> vectorize the keepers (`vectorize` tracing for raster models; the layered model's
own masks need no tracing) -> write SVG / PDF / PNG previews, a JSON sidecar per seed, and a contact sheet.

Determinism: candidate k of a run with seed S always has the same latent, so the same seed into the same
(empty) library gives the same files. Seeds are named `sS-KKK` in the order they were accepted.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from PIL import Image

from augment.output import OutputExists, write_atomic, write_json_atomic
from augment.palette import Ink, Palette, PaletteError, parse_palette
from augment.rasterize import render_svg_bytes
from seedgen.contact_sheet import SheetEntry, write_contact_sheet
from seedgen.seed_model import ModelError, SeedModel, list_models, load_seed_model
from seedgen.uniqueness import UniquenessIndex, fingerprint_images
from vectorize.config import VectorizeConfig
from vectorize.layer import Layer
from vectorize.page import PageSize, PageSizeError, parse_page_size
from vectorize.pdf_writer import write_pdf
from vectorize.svg_writer import write_svg
from vectorize.vectorize_run import image_layers

FORMATS = ("svg", "pdf", "png")
TRACE_SIZE = 512  # raster samples are upscaled to this before tracing: smoother curves than tracing 64 px
PREVIEW_MAX_PX = 2048  # PNG previews of millimetre-sized seeds are rendered at 300 dpi up to this size
SHEET_PX = 256

__all__ = ["GenerateConfig", "GenerateError", "GenerateResult", "GeneratedSeed", "generate_seeds", "list_models"]


class GenerateError(ValueError):
    """Generation cannot start or finish; the message is one line, fit to show a user."""


@dataclass
class GenerateConfig:
    """Every option of `seedgen generate` (the CLI and the bridge build this)."""

    n: int = 50  # seeds to write, 1..10000
    model: str | None = None  # checkpoint path or packaged model name; None = the packaged default
    formats: tuple[str, ...] = ("svg",)  # any of svg, pdf, png
    size: str = "1024"  # a number is pixels (CSS px, 96 dpi); or a physical size: 210mm, 210x297mm, 8in, A4
    truncation: float = 0.7  # StyleGAN2 psi: 1 = full variety, lower = closer to the average seed
    seed: int | None = None  # None draws one at random (and records it)
    palette: str | None = None  # brand palette (HEX, CMYK, spot names, or a palette file)
    like: str | None = None  # a seed file (SVG, PDF or image) to make variations of
    mix: tuple[str, str] | None = None  # two seed files whose styles to mix
    colors: int | None = None  # colours per seed when tracing; None chooses per seed
    cmyk: bool = False  # write PDF colours as DeviceCMYK (spot inks are Separations either way)
    overwrite: bool = False
    quiet: bool = False
    device: str = "auto"  # auto | cpu | cuda
    batch: int = 16  # samples rendered per forward pass
    max_tries: int = 5  # give up after n * max_tries candidates if too many are near-duplicates
    contact_sheet: bool = True

    def validate(self) -> "GenerateConfig":
        if not isinstance(self.n, int) or self.n <= 0:
            raise GenerateError(f"--n must be a positive number of seeds, not {self.n}")
        if self.n > 10000:
            raise GenerateError("--n is capped at 10000 seeds per run")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise GenerateError(f"formats must be among {', '.join(FORMATS)} (got {', '.join(self.formats) or 'none'})")
        if not 0.0 <= self.truncation <= 2.0:
            raise GenerateError("--truncation must be between 0 and 2")
        if self.like and self.mix:
            raise GenerateError("use --like or --mix, not both")
        return self


@dataclass
class GeneratedSeed:
    name: str
    files: dict[str, Path]
    metadata: dict


@dataclass
class GenerateResult:
    seeds: list[GeneratedSeed]
    rejected: int
    contact_sheet: Path | None
    run_seed: int
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class OutputSize:
    page: PageSize
    preview_px: int


def parse_output_size(text: str) -> OutputSize:
    """`1024` (pixels) or a physical size understood by vectorize.page (210mm, A4, 8x8in...)."""
    text = str(text).strip()
    try:
        if text.isdigit():
            px = int(text)
            if not 16 <= px <= 16384:
                raise GenerateError(f"--size {px} px is outside 16..16384")
            return OutputSize(parse_page_size(f"{px}px"), px)
        page = parse_page_size(text)
    except PageSizeError as error:
        raise GenerateError(str(error)) from None
    px = int(round(max(page.width_pt, page.height_pt) / 72.0 * 300))
    return OutputSize(page, max(16, min(PREVIEW_MAX_PX, px)))


def _check_output_dir(library: Path) -> None:
    try:
        library.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=library)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise GenerateError(f"{library}: cannot write to this folder ({error.strerror or type(error).__name__})") from None


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GenerateError("--device cuda: no CUDA GPU is available")
    return torch.device(name)


def _read_seed_image(path: str) -> np.ndarray:
    """Rasterize a user's seed (SVG, PDF or image) safely, for --like / --mix."""
    from augment.rasterize import rasterize_seed
    from augment.svg_source import SeedError

    p = Path(path)
    if not p.is_file():
        raise GenerateError(f"{path}: no such file")
    try:
        if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
            with Image.open(p) as im:
                im.load()
                rgba = np.asarray(im.convert("RGBA").resize((256, 256), Image.LANCZOS))
        else:
            rgba = rasterize_seed(p, 256, 256)
    except SeedError as error:
        raise GenerateError(f"{path}: cannot rasterize ({error})") from None
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise GenerateError(f"{path}: cannot read image ({type(error).__name__})") from None
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)


def _reference_fingerprints(model: SeedModel) -> np.ndarray | None:
    """Fingerprints of the model's training set: shipped beside the checkpoint, or computed once and cached."""
    side = model.path.with_name(model.path.stem + ".fingerprints.npz")
    if side.is_file():
        with np.load(side, allow_pickle=False) as data:
            return data["fingerprints"].astype(np.float32)
    data_dir = model.config.get("data")
    if not data_dir or not Path(data_dir).is_dir():
        return None
    images = []
    for png in sorted(Path(data_dir).glob("*.png"))[:20000]:
        with Image.open(png) as im:
            images.append(np.asarray(im.convert("RGB").resize((64, 64), Image.BILINEAR)))
    fps = fingerprint_images(images)
    try:
        buf = io.BytesIO()
        np.savez_compressed(buf, fingerprints=fps)
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
        raise GenerateError(f"--palette: {error}") from None


def _map_layers_to_palette(layers: list[Layer], palette: Palette) -> list[Layer]:
    """Recolour layers onto brand inks: nearest ink in Lab (used where no tracing snapped them already)."""
    from augment.colour import rgb_to_lab

    inks = palette.lab_array()
    out = []
    for layer in layers:
        lab = rgb_to_lab(np.array(layer.ink.rgb))
        ink = palette.inks[int(np.argmin(((inks - lab) ** 2).sum(1)))]
        out.append(Layer(ink=ink, paths=layer.paths, fill_rule=layer.fill_rule))
    return out


def _layers_for(model: SeedModel, latent: torch.Tensor, image: np.ndarray, vconfig: VectorizeConfig,
                palette: Palette | None) -> tuple[list[Layer], tuple[int, int]]:
    if model.kind == "layered":
        from seedgen.layered_export import latent_to_layers

        layers, size = latent_to_layers(model.generator, latent)
        return (_map_layers_to_palette(layers, palette) if palette is not None else layers), size
    big = cv2.resize(image, (TRACE_SIZE, TRACE_SIZE), interpolation=cv2.INTER_CUBIC)
    layers, _ = image_layers(big, vconfig)
    return layers, (TRACE_SIZE, TRACE_SIZE)


def generate_seeds(library_dir: str | os.PathLike, config: GenerateConfig,
                   progress: Callable[[int, int], None] | None = None) -> GenerateResult:
    """Write `config.n` unique seeds into `library_dir`; raises GenerateError (one line) on bad input."""
    config.validate()
    library = Path(library_dir)
    timings: dict[str, float] = {}
    palette = _palette_config(config)
    size = parse_output_size(config.size)
    run_seed = int(config.seed) if config.seed is not None else int(np.random.SeedSequence().entropy % (2**31))
    names = [f"s{run_seed}-{k:03d}" for k in range(config.n)]
    _check_output_dir(library)
    if not config.overwrite:
        for name in names:
            for fmt in (*config.formats, "json"):
                if (library / f"{name}.{fmt}").exists():
                    raise GenerateError(f"{library / f'{name}.{fmt}'}: already exists (use --overwrite, or another --seed)")
    like_image = _read_seed_image(config.like) if config.like else None
    mix_images = [_read_seed_image(p) for p in config.mix] if config.mix else None

    t = time.perf_counter()
    try:
        model = load_seed_model(config.model, _pick_device(config.device))
    except ModelError as error:
        raise GenerateError(str(error)) from None
    timings["model_load"] = time.perf_counter() - t

    t = time.perf_counter()
    index = UniquenessIndex.load(library, reference=_reference_fingerprints(model))
    if config.overwrite and index.names:  # seeds about to be replaced must not block their own replacement
        keep = [i for i, n in enumerate(index.names) if n not in set(names)]
        index.names = [index.names[i] for i in keep]
        index.fingerprints = index.fingerprints[keep] if index.fingerprints is not None else None
    timings["uniqueness"] = time.perf_counter() - t

    centre = None
    t = time.perf_counter()
    if like_image is not None or mix_images is not None:
        from seedgen.projection import around, mix, project

        if like_image is not None:
            centre, _ = project(model, like_image, seed=run_seed)
        else:
            a, _ = project(model, mix_images[0], seed=run_seed)
            b, _ = project(model, mix_images[1], seed=run_seed + 1)
            centre = (a, b)
    timings["projection"] = time.perf_counter() - t

    vconfig = VectorizeConfig(colors=config.colors, palette=palette, seed=run_seed,
                              colour_mode="cmyk" if config.cmyk else "rgb")
    accepted: list[tuple[str, int, torch.Tensor, np.ndarray, float, str]] = []
    rejected, tried = 0, 0
    limit = config.n * config.max_tries
    t_sample = 0.0
    while len(accepted) < config.n and tried < limit:
        count = min(config.batch, limit - tried)
        seeds = _candidate_seeds(run_seed, tried, count)
        t = time.perf_counter()
        if centre is None:
            latents = model.latent(model.noise(seeds), config.truncation)
        elif isinstance(centre, tuple):
            latents = mix(model, centre[0], centre[1], seeds)
        else:
            latents = around(model, centre, seeds)
        images = model.images(latents, batch=config.batch)
        t_sample += time.perf_counter() - t
        t = time.perf_counter()
        fps = fingerprint_images(list(images))
        for j in range(count):
            dup, dist, who = index.is_near_duplicate(fps[j])
            if dup:
                rejected += 1
                continue
            name = names[len(accepted)]
            index.add(name, fps[j])
            accepted.append((name, seeds[j], latents[j : j + 1], images[j], dist, who))
            if len(accepted) == config.n:
                break
        timings["uniqueness"] += time.perf_counter() - t
        tried += count
    timings["sampling"] = t_sample
    if len(accepted) < config.n:
        raise GenerateError(f"only {len(accepted)} of {config.n} candidates were unique after {tried} tries "
                            f"({rejected} near-duplicates): the model may be collapsed; try a higher --truncation")

    seeds_out: list[GeneratedSeed] = []
    sheet: list[SheetEntry] = []
    t_vec = t_write = 0.0
    bar = _progress_bar(config)
    for k, (name, cand_seed, latent, image, dist, who) in enumerate(accepted):
        t = time.perf_counter()
        layers, canvas = _layers_for(model, latent, image, vconfig, palette)
        svg = write_svg(layers, canvas, page=size.page, title=name)
        t_vec += time.perf_counter() - t
        t = time.perf_counter()
        files: dict[str, Path] = {}
        if "svg" in config.formats:
            files["svg"] = write_atomic(library / f"{name}.svg", svg, overwrite=config.overwrite)
        if "pdf" in config.formats:
            pdf = write_pdf(layers, canvas, page=size.page, colour_mode="cmyk" if config.cmyk else "rgb", title=name)
            files["pdf"] = write_atomic(library / f"{name}.pdf", pdf, overwrite=config.overwrite)
        aspect = size.page.height_pt / size.page.width_pt
        thumb = render_svg_bytes(svg, SHEET_PX, max(1, round(SHEET_PX * aspect)))
        if "png" in config.formats:
            w = size.preview_px
            big = render_svg_bytes(svg, w, max(1, round(w * aspect)))
            files["png"] = write_atomic(library / f"{name}.png", _png_bytes(big), overwrite=config.overwrite)
        metadata = {
            "name": name, "model": str(model.path.name), "model_type": model.kind, "run_seed": run_seed,
            "candidate_seed": cand_seed, "truncation": config.truncation, "size": config.size,
            "palette": palette.to_json() if palette else None, "like": config.like,
            "mix": list(config.mix) if config.mix else None, "layers": len(layers),
            "colours": sorted({layer.ink.hex for layer in layers}),
            "nearest_known": {"distance": None if not np.isfinite(dist) else round(dist, 4), "seed": who or None},
            "files": {fmt: p.name for fmt, p in files.items()},
        }
        write_json_atomic(library / f"{name}.json", metadata, overwrite=config.overwrite)
        t_write += time.perf_counter() - t
        seeds_out.append(GeneratedSeed(name, files, metadata))
        sheet.append(SheetEntry(name, thumb[..., :3], {fmt: p.name for fmt, p in files.items()}))
        if bar is not None:
            bar.update(1)
        if progress is not None:
            progress(k + 1, config.n)
    if bar is not None:
        bar.close()
    timings["vectorizing"], timings["writing"] = t_vec, t_write

    t = time.perf_counter()
    index.save(library)
    timings["uniqueness"] += time.perf_counter() - t
    sheet_path = None
    if config.contact_sheet:
        _, sheet_path = write_contact_sheet(library, sheet, f"contact-s{run_seed}", f"seedgen batch s{run_seed}",
                                            overwrite=True)
    return GenerateResult(seeds_out, rejected, sheet_path, run_seed, timings)


def _png_bytes(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _progress_bar(config: GenerateConfig):
    if config.quiet:
        return None
    from tqdm import tqdm

    return tqdm(total=config.n, desc="seeds", unit="seed", leave=False)


def result_summary(result: GenerateResult) -> str:
    kept = len(result.seeds)
    return (f"generate: {kept} seeds written (seed {result.run_seed}), {result.rejected} near-duplicates rejected"
            + (f"; contact sheet {result.contact_sheet}" if result.contact_sheet else ""))


def to_json(result: GenerateResult) -> dict:
    return {"seeds": [{"name": s.name, "files": {k: str(v) for k, v in s.files.items()}} for s in result.seeds],
            "rejected": result.rejected, "run_seed": result.run_seed,
            "contact_sheet": str(result.contact_sheet) if result.contact_sheet else None, "timings": result.timings}
