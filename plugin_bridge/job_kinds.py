"""What each kind of bridge job does, inside its job process: generate, augment an upload, vectorize an upload.

Each kind calls the one public function of its pipeline stage (`seedgen.generation.generate.generate_seeds`,
`augment.augment_run.augment_library`, `vectorize.vectorize_files`). Generation writes straight
into the library. Augment and vectorize write into the job's own folder first; their seeds are then moved
into the library under fresh ids (never overwriting) and given a PNG preview, rendered here in the job's
process; the result lists the new ids.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from seedgen.generation.config import GenerateConfig

Progress = Callable[[int, int], None]
PREVIEW_PX = 1024  # the long side of previews made for adopted seeds; thumbnails are cut from it


class JobInputError(ValueError):
    """The job's input is wrong (bad palette, unreadable upload...); the message is one line for the designer."""


def run_job(kind: str, params: dict, library: Path, workdir: Path, progress: Progress) -> dict:
    runner = KINDS.get(kind)
    if runner is None:
        raise JobInputError(f"unknown job kind {kind!r}")
    return runner(params, library, workdir, progress)


def run_generate(params: dict, library: Path, workdir: Path, progress: Progress) -> dict:
    from seedgen.generation.generate import GenerateError, generate_seeds

    try:
        config = generate_config(params)
        result = generate_seeds(library, config, progress=progress)
    except GenerateError as exc:
        raise JobInputError(str(exc)) from exc
    return {
        "seeds": [seed.name for seed in result.seeds],
        "rejected": int(result.rejected),
        "contact_sheet": result.contact_sheet.name if result.contact_sheet else None,
        "run_seed": int(result.run_seed),
        "timings": {stage: round(float(seconds), 3) for stage, seconds in result.timings.items()},
    }


def generate_config(params: dict) -> "GenerateConfig":
    """The GenerateConfig for a generate job's params (the API's GenerateRequest fields); validated."""
    from plugin_bridge.api_schema import GenerateRequest
    from seedgen.generation.config import GenerateConfig, parse_output_size

    request = GenerateRequest.model_validate({k: v for k, v in params.items() if k in GenerateRequest.model_fields})
    options = request.model_dump()
    options.update(formats=tuple(request.formats), model=params.get("model_path") or request.model)
    config = GenerateConfig(**options, overwrite=False, quiet=True).validate()
    parse_output_size(config.size)
    return config


def run_augment(params: dict, library: Path, workdir: Path, progress: Progress) -> dict:
    from augment.augment_run import AugmentConfig, NoSeedsFound, augment_library
    from augment.palette import PaletteError, parse_palette
    from seedgen.batch import BatchReport

    source = _upload(library, params)
    inputs, out = workdir / "input", workdir / "out"
    inputs.mkdir(parents=True, exist_ok=True)
    (inputs / source.name).write_bytes(source.read_bytes())
    try:
        palette = parse_palette(params["palette"]) if params.get("palette") else None
    except PaletteError as exc:
        raise JobInputError(f"palette: {exc}") from exc
    config = AugmentConfig(variants=int(params["variants"]), seed=int(params.get("seed") or 0), palette=palette)
    report = BatchReport("augment", quiet=True)
    try:
        augment_library(inputs, out, config, report)
    except NoSeedsFound as exc:
        raise JobInputError(f"{params.get('filename', source.name)}: not an SVG or PDF seed") from exc
    if report.failures and not report.succeeded:
        raise JobInputError(f"{params.get('filename', source.name)}: {report.failures[0][1]}")
    return _adopt(library, out, "augment", params, progress)


def run_vectorize(params: dict, library: Path, workdir: Path, progress: Progress) -> dict:
    from augment.palette import PaletteError, parse_palette
    from vectorize import VectorizeConfig, vectorize_files

    source = _upload(library, params)
    out = workdir / "out"
    try:
        palette = parse_palette(params["palette"]) if params.get("palette") else None
    except PaletteError as exc:
        raise JobInputError(f"palette: {exc}") from exc
    try:
        config = VectorizeConfig(colors=params.get("colors"), palette=palette,
                                 colour_mode=params.get("colour_mode", "rgb"), seed=int(params.get("seed") or 0))
    except ValueError as exc:
        raise JobInputError(str(exc)) from exc
    progress(0, 1)
    outcomes = vectorize_files([source], out, config, measure=False)
    failed = [o for o in outcomes if not o.ok]
    if failed and len(failed) == len(outcomes):
        raise JobInputError(f"{params.get('filename', source.name)}: {failed[0].error}")
    return _adopt(library, out, "vectorize", params, progress)


KINDS: dict[str, Callable[[dict, Path, Path, Progress], dict]] = {
    "generate": run_generate,
    "augment": run_augment,
    "vectorize": run_vectorize,
}


def _upload(library: Path, params: dict) -> Path:
    """The job's uploaded file; it must lie inside the library's upload folder."""
    path = (library / str(params["input"])).resolve()
    if library.resolve() not in path.parents or not path.is_file():
        raise JobInputError("the uploaded file is missing")
    return path


def _adopt(library: Path, out: Path, kind: str, params: dict, progress: Progress) -> dict:
    from plugin_bridge.library import SeedLibrary

    provenance = {"kind": kind, "source": params.get("filename"),
                  "options": {k: v for k, v in params.items() if k not in ("input", "filename")}}
    seeds = SeedLibrary(library)
    ids = seeds.adopt(out, provenance) if out.is_dir() else []
    if not ids:
        raise JobInputError(f"{params.get('filename', 'upload')}: no seed was produced")
    # vectorize writes its SVG itself from pixels (trusted, rendered here); augment's keep the user's markup
    _make_previews(seeds.root, ids, progress, trusted_svg=(kind == "vectorize"))
    return {"seeds": ids}


def _make_previews(root: Path, ids: list[str], progress: Progress, trusted_svg: bool) -> None:
    """Write NAME.png from NAME.svg or NAME.pdf for seeds without a preview.

    SVG that seedgen wrote itself renders in this process; anything holding a user's markup goes through the
    sandboxed rasterizer (time and memory limits), as the project's guide asks for untrusted files.
    """
    todo: list[tuple[str, Path]] = []
    for seed_id in ids:
        source = next((root / f"{seed_id}{s}" for s in (".svg", ".pdf") if (root / f"{seed_id}{s}").is_file()), None)
        if source is not None and not (root / f"{seed_id}.png").exists():
            todo.append((seed_id, source))
    done = len(ids) - len(todo)
    progress(done, len(ids))
    if trusted_svg and all(source.suffix == ".svg" for _, source in todo):
        for seed_id, source in todo:
            _write_preview(root / f"{seed_id}.png", _render_own_svg(source.read_bytes()))
            done += 1
            progress(done, len(ids))
        return
    if not todo:
        return
    from augment.rasterize import RasterPool

    with RasterPool(1) as pool:
        for (seed_id, _), rendered in zip(todo, pool.imap([source for _, source in todo], PREVIEW_PX)):
            if rendered.ok:  # a seed that does not render is listed without a preview (the panel shows its name)
                _write_preview(root / f"{seed_id}.png", rendered.image)
            done += 1
            progress(done, len(ids))


def _render_own_svg(data: bytes):
    """Render an SVG seedgen wrote, PREVIEW_PX on its long side, keeping its aspect ratio."""
    from augment.rasterize import render_svg_bytes
    from augment.svg_source import parse_svg

    root = parse_svg(data)
    box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        width, height = (float(box[2]), float(box[3])) if len(box) == 4 else (1.0, 1.0)
    except ValueError:
        width, height = 1.0, 1.0
    scale = PREVIEW_PX / max(width, height, 1e-9)
    return render_svg_bytes(data, max(1, round(width * scale)), max(1, round(height * scale)))


def _write_preview(path: Path, rgba) -> None:
    from PIL import Image

    from augment.output import write_atomic
    from augment.rasterize import composite_on

    buffer = io.BytesIO()
    Image.fromarray(composite_on(rgba)).save(buffer, format="PNG", optimize=True)
    write_atomic(path, buffer.getvalue())
