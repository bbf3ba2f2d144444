"""`seedgen generate` end to end: real (tiny) checkpoints, real files, rendered and parsed.

The models are built here with fixed torch seeds and saved as real checkpoints: a 32 px StyleGAN2 generator
and a 32 px DCGAN whose upsampling layers are set to smooth bilinear kernels (a fresh DCGAN draws nearly flat
grey noise, which the uniqueness check rightly treats as one seed over and over).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pikepdf
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from augment.palette import parse_palette
from augment.rasterize import render_svg_bytes
from augment.svg_source import SVG_NS, parse_svg
from seedgen.cli import main as cli
from seedgen.generation.contact_sheet import ContactSheet, SheetEntry
from seedgen.generation.generate import GenerateConfig, GenerateError, generate_seeds
from seedgen.perceptual import FINGERPRINT_LENGTH, NEAR_COPY_THRESHOLD, distance_matrix
from seedgen.generation.seed_model import MODELS_DIR, load_seed_model
from seedgen.checkpoint import save_networks
from seedgen.generation.uniqueness import (INDEX_DIR, NEAREST_RADIUS, UniquenessIndex, fingerprint_images, lower_bounds,
                                window_means)

SIZE = "96"  # px: every run here writes small seeds
STEPS = "8"  # projection steps for --like / --mix: enough to move, fast on 32 px


# --- models and a first library, built once ---------------------------------------------------------------

def _stylegan(seed: int = 0):
    from seedgen.gan.networks import Generator

    torch.manual_seed(seed)
    return Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
                     mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 1024, "channel_max": 64})


def _dcgan():
    from seedgen.gan.dcgan import DCGANGenerator

    torch.manual_seed(1)
    g = DCGANGenerator(z_dim=32, img_resolution=32, features=8)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    taps = torch.tensor([0.25, 0.75, 0.75, 0.25])
    with torch.no_grad():
        torch.nn.init.normal_(convs[0].weight, 0.0, 3.0 / 32**0.5)  # z -> a strong 4x4 layout
        for conv in convs[1:]:  # each later layer: bilinear 2x upsampling, channel i -> i mod out
            conv.weight.zero_()
            for i in range(conv.weight.shape[0]):
                gain = 1.0 if conv is not convs[-1] else 2.0 * float(torch.randn(()))
                conv.weight[i, i % conv.weight.shape[1]] = gain * taps[:, None] * taps[None, :]
    return g


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {
        "stylegan2": save_networks(folder / "sg32", {"G_ema": _stylegan()}, {"model": "stylegan2", "resolution": 32}),
        "dcgan": save_networks(folder / "dc32", {"G_ema": _dcgan()}, {"model": "dcgan", "resolution": 32}),
    }


def run_cli(*args: str):
    return CliRunner().invoke(cli, ["generate", *args], catch_exceptions=True)


@pytest.fixture(scope="session")
def library(models, tmp_path_factory) -> Path:
    """Three seeds of run seed 1 in every format, written through the CLI. Tests copy it before changing it."""
    out = tmp_path_factory.mktemp("lib") / "seeds"
    result = run_cli("--n", "3", "--model", str(models["stylegan2"]), "--svg", "--pdf", "--png", "--size", SIZE,
                     "--seed", "1", "--quiet", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "generate: 3 seeds written (seed 1), 0 near-duplicates rejected" in result.output
    return out


def copy_of(library: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(library, target)
    return target


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under `folder` (hidden ones too): content hash and modification time."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def seed_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("s*.json"))


def model_sample(checkpoint: Path, candidate_seed: int, truncation: float = 0.7) -> np.ndarray:
    """The raw (R, R, 3) sample a generated seed was traced from, made again from its recorded candidate seed."""
    model = load_seed_model(checkpoint)
    return model.images(model.latent(model.noise([candidate_seed]), truncation))[0]


def one_line_error(result) -> str:
    """The CLI failed with exactly one line on stderr, no traceback; returns that line."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("seedgen generate: ") and "Traceback" not in result.output
    return lines[0]


# --- what one run writes ----------------------------------------------------------------------------------

def test_every_format_is_written_and_sound(library):
    names = seed_names(library)
    assert names == ["s1-000", "s1-001", "s1-002"]
    for name in names:
        meta = json.loads((library / f"{name}.json").read_text())
        assert meta["files"] == {"svg": f"{name}.svg", "pdf": f"{name}.pdf", "png": f"{name}.png"}
        assert meta["model_type"] == "stylegan2" and meta["run_seed"] == 1 and meta["layers"] >= 2

        svg = (library / f"{name}.svg").read_bytes()
        root = parse_svg(svg)  # defusedxml
        assert root.tag == f"{{{SVG_NS}}}svg"
        assert root.find(f".//{{{SVG_NS}}}path") is not None
        assert not root.findall(f".//{{{SVG_NS}}}image") and not root.findall(f".//{{{SVG_NS}}}text")
        rgba = render_svg_bytes(svg, 128, 128)
        assert rgba[..., 3].min() == 255, "the paper shows through somewhere"
        assert len(np.unique(rgba[..., :3].reshape(-1, 3), axis=0)) >= 2

        with pikepdf.open(library / f"{name}.pdf") as pdf:
            assert len(pdf.pages) == 1
            box = [float(v) for v in pdf.pages[0].mediabox]
            assert box[2] == pytest.approx(72.0) and box[3] == pytest.approx(72.0)  # 96 px at 96 dpi = 1 in

        with Image.open(library / f"{name}.png") as png:
            assert png.size == (96, 96)
            preview = np.asarray(png.convert("RGB"))
        # the preview is a render of the SVG itself
        same = np.asarray(Image.fromarray(render_svg_bytes(svg, 96, 96)[..., :3]))
        assert np.abs(preview.astype(int) - same.astype(int)).mean() < 1.0

    # the seeds differ from each other
    svgs = {(library / f"{n}.svg").read_bytes() for n in names}
    assert len(svgs) == 3


def test_the_same_seed_gives_the_same_bytes(models, tmp_path):
    config = GenerateConfig(n=2, model=str(models["stylegan2"]), formats=("svg", "pdf"), size=SIZE, seed=5,
                            quiet=True, contact_sheet=False)
    calls = []
    first = generate_seeds(tmp_path / "a", config, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]  # the bridge's progress callback: once per seed written
    second = generate_seeds(tmp_path / "b", config)
    assert [s.name for s in first.seeds] == ["s5-000", "s5-001"]
    for a, b in zip(first.seeds, second.seeds):
        for fmt in ("svg", "pdf"):
            assert a.files[fmt].read_bytes() == b.files[fmt].read_bytes()
    assert set(first.timings) >= {"model_load", "sampling", "vectorizing", "writing", "uniqueness"}
    other = generate_seeds(tmp_path / "c", GenerateConfig(n=1, model=str(models["stylegan2"]), size=SIZE, seed=6,
                                                          quiet=True, contact_sheet=False))
    assert other.seeds[0].files["svg"].read_bytes() != first.seeds[0].files["svg"].read_bytes()


def test_worker_processes_write_the_same_bytes(models, library, tmp_path):
    """Tracing in two worker processes gives exactly the files of tracing in this one (the session library)."""
    config = GenerateConfig(n=3, model=str(models["stylegan2"]), formats=("svg", "pdf", "png"), size=SIZE, seed=1,
                            quiet=True, workers=2)
    result = generate_seeds(tmp_path / "pool", config)
    assert len(result.seeds) == 3
    for path in sorted(library.iterdir()):
        if path.is_file():
            assert (tmp_path / "pool" / path.name).read_bytes() == path.read_bytes(), path.name


def test_brand_palette_reaches_svg_and_pdf(models, tmp_path):
    spec = "#0A3D62,#F8C291,Brand Red=cmyk(0,90,80,5)"
    out = tmp_path / "brand"
    result = run_cli("--n", "2", "--model", str(models["stylegan2"]), "--svg", "--pdf", "--size", "30x40mm",
                     "--seed", "2", "--palette", spec, "--quiet", "-o", str(out))
    assert result.exit_code == 0, result.output
    brand = set(parse_palette(spec).hexes())
    red = parse_palette("Brand Red=cmyk(0,90,80,5)").inks[0].hex
    used, red_seen = set(), False
    for name in seed_names(out):
        root = parse_svg((out / f"{name}.svg").read_bytes())
        fills = [el.get("fill") for el in root.iter() if el.get("fill") is not None]
        fills += [el.get("stop-color") for el in root.iter() if el.get("stop-color") is not None]
        assert fills and {f.lower() for f in fills} <= brand, fills
        used |= {f.lower() for f in fills}
        with pikepdf.open(out / f"{name}.pdf") as pdf:
            page = pdf.pages[0]
            w, h = (float(v) for v in list(page.mediabox)[2:])
            assert (w, h) == (pytest.approx(30 * 72 / 25.4), pytest.approx(40 * 72 / 25.4))
            spaces = page.Resources.get("/ColorSpace") or {}
            separations = {str(cs[1]) for cs in spaces.values() if isinstance(cs, pikepdf.Array) and cs[0] == "/Separation"}
        if red in fills:  # the spot ink is used: the PDF paints it as a Separation named after it
            assert "/Brand Red" in separations
            red_seen = True
    assert len(used) >= 2 and red_seen


# --- uniqueness -------------------------------------------------------------------------------------------

def test_a_second_run_into_the_same_library_is_refused(models, library, tmp_path):
    lib = copy_of(library, tmp_path)
    before = snapshot(lib)
    result = run_cli("--n", "3", "--model", str(models["stylegan2"]), "--svg", "--seed", "1", "--size", SIZE,
                     "--quiet", "-o", str(lib))
    line = one_line_error(result)
    assert result.exit_code == 1 and "s1-000.svg: already exists" in line and "--overwrite" in line
    assert snapshot(lib) == before


def test_overwrite_replaces_without_counting_the_old_seeds(models, library, tmp_path):
    lib = copy_of(library, tmp_path)
    result = run_cli("--n", "3", "--model", str(models["stylegan2"]), "--svg", "--pdf", "--png", "--seed", "1",
                     "--size", SIZE, "--quiet", "--overwrite", "-o", str(lib))
    assert result.exit_code == 0, result.output
    assert "0 near-duplicates rejected" in result.output  # its own earlier copies do not block it
    for name in seed_names(library):
        assert (lib / f"{name}.svg").read_bytes() == (library / f"{name}.svg").read_bytes()
    assert UniquenessIndex.load(lib).names == ["s1-000", "s1-001", "s1-002"]


def plant(lib: Path, run_seed: int) -> dict[str, int]:
    """Rename a run's seeds (files, contact sheet and index entries) to planted-NNN, so that running the same
    seed again meets them under other names; returns {planted name: candidate seed}."""
    prefix = f"s{run_seed}-"
    planted = {}
    for name in seed_names(lib):
        new = name.replace(prefix, "planted-")
        for path in lib.glob(f"{name}.*"):
            path.rename(lib / f"{new}{path.suffix}")
        planted[new] = json.loads((lib / f"{new}.json").read_text())["candidate_seed"]
    for path in lib.glob(f"contact-s{run_seed}.*"):
        path.rename(lib / f"contact-planted{path.suffix}")
    meta_path = lib / INDEX_DIR / "index.json"
    meta = json.loads(meta_path.read_text())
    meta["names"] = [n.replace(prefix, "planted-") for n in meta["names"]]
    meta_path.write_text(json.dumps(meta))
    return planted


def test_near_duplicates_of_the_library_are_rejected(models, library, tmp_path):
    """Plant the first run's seeds under other names, then run the same seed again: its first candidates are
    copies of planted seeds and must be rejected; the seeds written instead are new."""
    lib = copy_of(library, tmp_path)
    planted = plant(lib, 1)

    result = generate_seeds(lib, GenerateConfig(n=3, model=str(models["stylegan2"]), size=SIZE, seed=1, quiet=True))
    assert result.rejected >= 3
    index = UniquenessIndex.load(lib)
    assert sorted(index.names) == sorted([*planted, "s1-000", "s1-001", "s1-002"])
    assert index.fingerprints.shape == (6, FINGERPRINT_LENGTH)
    for seed in result.seeds:
        assert seed.metadata["candidate_seed"] not in planted.values()
        nearest = seed.metadata["nearest_known"]  # None: nothing known within NEAREST_RADIUS
        assert nearest["distance"] is None or nearest["distance"] >= NEAR_COPY_THRESHOLD
    # the index holds the fingerprints of the seeds as written (their traced render), not of the raster samples
    svg = result.seeds[0].files["svg"].read_bytes()
    dist, who = index.nearest(fingerprint_images([render_svg_bytes(svg, 256, 256)]))
    assert who[0] == result.seeds[0].name and dist[0] < 0.01   # stored at half precision


def test_seeds_are_checked_again_once_traced(models, tmp_path):
    """A raw sample far from every known seed can still trace into a copy of one: here two inks of --palette
    recolour the samples, so the samples pass the raster check against the planted (traced) seeds, and only
    the check of the traced render finds the copies. The seeds written instead are new, under the next names."""
    palette = "#1d3557,#f4a261"
    lib = tmp_path / "lib"
    generate_seeds(lib, GenerateConfig(n=2, model=str(models["stylegan2"]), size=SIZE, seed=3, quiet=True,
                                       palette=palette))
    planted = plant(lib, 3)
    index = UniquenessIndex.load(lib)
    raw = fingerprint_images([model_sample(models["stylegan2"], seed) for seed in planted.values()])
    traced = index.fingerprints[[index.names.index(name) for name in planted]]
    assert (np.diag(distance_matrix(raw, traced)) >= NEAR_COPY_THRESHOLD).all()   # the raster check passes them

    again = generate_seeds(lib, GenerateConfig(n=2, model=str(models["stylegan2"]), size=SIZE, seed=3, quiet=True,
                                               palette=palette))
    assert again.rejected >= 2
    assert [s.name for s in again.seeds] == ["s3-000", "s3-001"]
    assert not {s.metadata["candidate_seed"] for s in again.seeds} & set(planted.values())
    for seed in again.seeds:
        nearest = seed.metadata["nearest_known"]
        assert nearest["distance"] is None or nearest["distance"] >= NEAR_COPY_THRESHOLD


def test_training_set_copies_are_rejected(models, tmp_path):
    """A checkpoint names its training data; candidates that copy a training image are rejected, and the
    training set's fingerprints are cached beside the checkpoint."""
    scratch = generate_seeds(tmp_path / "scratch", GenerateConfig(
        n=2, model=str(models["stylegan2"]), size=SIZE, seed=9, quiet=True, contact_sheet=False))
    data = tmp_path / "data"
    data.mkdir()
    for k, seed in enumerate(scratch.seeds):
        image = model_sample(models["stylegan2"], seed.metadata["candidate_seed"])
        Image.fromarray(image).save(data / f"train-{k}.png")
    ckpt = save_networks(tmp_path / "trained" / "sg", {"G_ema": _stylegan()},
                         {"model": "stylegan2", "resolution": 32, "data": str(data)})

    result = generate_seeds(tmp_path / "lib", GenerateConfig(n=2, model=str(ckpt), size=SIZE, seed=9, quiet=True))
    assert result.rejected >= 2
    assert (ckpt.parent / "sg.fingerprints.npz").is_file()
    assert result.seeds[0].metadata["checked_against"] == {"training_images": 2, "library_seeds": 0}
    old = {s.metadata["candidate_seed"] for s in scratch.seeds}
    assert not old & {s.metadata["candidate_seed"] for s in result.seeds}


def test_a_collapsed_model_fails_instead_of_writing_duplicates(models, library, tmp_path):
    lib = copy_of(library, tmp_path)
    before = snapshot(lib)
    # truncation 0: every candidate is the average seed
    result = run_cli("--n", "3", "--model", str(models["stylegan2"]), "--truncation", "0", "--seed", "4",
                     "--size", SIZE, "--quiet", "-o", str(lib))
    line = one_line_error(result)
    assert result.exit_code == 1
    assert "only 1 of 3 candidates were unique" in line and "14 near-duplicates rejected" in line
    assert snapshot(lib) == before


def test_index_grows_and_reloads(models, library, tmp_path):
    lib = copy_of(library, tmp_path)
    generate_seeds(lib, GenerateConfig(n=2, model=str(models["stylegan2"]), size=SIZE, seed=2, quiet=True))
    index = UniquenessIndex.load(lib)
    assert index.names == ["s1-000", "s1-001", "s1-002", "s2-000", "s2-001"]
    assert index.fingerprints.shape == (5, FINGERPRINT_LENGTH) and index.fingerprints.dtype == np.float32
    # a seed that repeats a stored one (its file, rendered again) is a near-duplicate of it; an unrelated image is not
    again = render_svg_bytes((lib / "s1-002.svg").read_bytes(), 160, 160)
    dup, dist, who = index.is_near_duplicate(fingerprint_images([again])[0])
    assert dup and who == "s1-002"
    stripes = np.zeros((64, 64, 3), np.uint8)
    stripes[:, ::8] = 255
    assert not index.is_near_duplicate(fingerprint_images([stripes])[0])[0]


def test_admit_skips_duplicates_within_one_batch():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(3)]
    images = [np.asarray(Image.fromarray(im).resize((64, 64), Image.BICUBIC)) for im in images]
    fps = fingerprint_images([images[0], images[0], images[1], images[2]])
    index = UniquenessIndex()
    added = index.admit(["a", "b"], fps)
    assert [j for j, _, _ in added] == [0, 2]  # the copy at 1 is skipped; it stops once the names run out
    assert index.names == ["a", "b"] and added[1][2] == "a"


def test_the_index_bound_never_hides_a_near_copy(models):
    """The cheap lower bound that spares most exact comparisons is never above the exact distance, and the
    index's nearest seed is the brute-force nearest (within NEAREST_RADIUS)."""
    model = load_seed_model(models["stylegan2"])
    samples = list(model.images(model.latent(model.noise(list(range(40))), 0.7)))
    samples = [np.asarray(Image.fromarray(s).resize((96, 96), Image.BICUBIC)) for s in samples]
    variants = [np.rot90(s).copy() for s in samples[:5]] + [np.fliplr(s[3:, :-3]).copy() for s in samples[5:10]]
    known = fingerprint_images(samples[10:])
    queries = fingerprint_images(samples[:10] + variants)
    exact = distance_matrix(queries, known.astype(np.float16).astype(np.float32))
    assert (lower_bounds(queries, window_means(known)) <= exact + 1e-4).all()

    index = UniquenessIndex([f"k{i}" for i in range(len(known))], known)
    dist, who = index.nearest(queries)
    for i in range(len(queries)):
        j = int(exact[i].argmin())
        if exact[i, j] < NEAREST_RADIUS:
            assert who[i] == f"k{j}" and dist[i] == pytest.approx(exact[i, j], abs=2e-3)
        else:
            assert who[i] == "" and np.isinf(dist[i])
    # the copies among the variants (turned, mirrored and cropped samples) are found
    copies = fingerprint_images([np.rot90(samples[12]).copy(), np.fliplr(samples[13][2:, 2:]).copy()])
    assert [index.is_near_duplicate(fp)[2] for fp in copies] == ["k2", "k3"]


def test_a_damaged_index_is_one_clear_line(models, library, tmp_path):
    lib = copy_of(library, tmp_path)
    (lib / INDEX_DIR / "index.npz").write_bytes(b"not a numpy archive")
    before = snapshot(lib)
    line = one_line_error(run_cli("--n", "1", "--model", str(models["stylegan2"]), "--seed", "3", "--size", SIZE,
                                  "--quiet", "-o", str(lib)))
    assert "uniqueness index is damaged" in line
    assert snapshot(lib) == before


# --- contact sheet ----------------------------------------------------------------------------------------

def test_contact_sheet_names_every_seed(library):
    page = (library / "contact-s1.html").read_text()
    for name in seed_names(library):
        for suffix in ("svg", "pdf", "png"):
            assert f'href="{name}.{suffix}"' in page
        assert f'<img src="{name}.png"' in page
    with Image.open(library / "contact-s1.png") as grid:
        assert grid.width >= 2 * 192 and grid.height >= 2 * 192


def test_contact_sheet_pages_and_pdf_only_seeds(tmp_path):
    sheet = ContactSheet(tmp_path, "contact-x", "batch x", total=5, page_seeds=2)
    assert [p.name for p in sheet.paths()] == ["contact-x-p01.png", "contact-x-p02.png", "contact-x-p03.png",
                                               "contact-x.html"]
    for k in range(5):
        preview = np.full((64, 48, 3), 40 * k, np.uint8)  # not square: fitted into its cell
        sheet.add(SheetEntry(f"seed-{k}", preview, {"pdf": f"seed-{k}.pdf"}))
    html_path = sheet.close()
    assert [p.name for p in sheet.pages_written] == ["contact-x-p01.png", "contact-x-p02.png", "contact-x-p03.png"]
    page = html_path.read_text()
    for k in range(5):
        assert f'href="seed-{k}.pdf"' in page
    assert "url('contact-x-p03.png')" in page  # the fifth seed shows its cell of the third grid page
    with Image.open(tmp_path / "contact-x-p01.png") as grid:
        cell = np.asarray(grid.convert("RGB"))[8 : 8 + 192, 8 : 8 + 192]
    assert (cell[:, :20] == 255).all() and (cell[96, 96] == 0).all()  # white margins beside a narrow preview


# --- --like, --mix, other model types ---------------------------------------------------------------------

def test_like_makes_variations_with_a_progress_bar(models, library, tmp_path):
    out = tmp_path / "like"
    result = run_cli("--n", "2", "--model", str(models["stylegan2"]), "--like", str(library / "s1-000.svg"),
                     "--project-steps", STEPS, "--seed", "11", "--size", SIZE, "--json", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "seeds:" in result.stderr  # the progress bar (no --quiet)
    report = json.loads(result.stdout)  # --json: the result, with the time each stage took
    assert [s["name"] for s in report["seeds"]] == ["s11-000", "s11-001"] and report["timings"]["projection"] > 0
    metas = [json.loads((out / f"{n}.json").read_text()) for n in seed_names(out)]
    assert len(metas) == 2 and all(m["like"] == str(library / "s1-000.svg") for m in metas)


def test_like_with_a_file_that_cannot_be_rasterized(models, library, tmp_path):
    broken = tmp_path / "broken.svg"
    broken.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><rect width='10' height=")
    out = tmp_path / "never"
    before = snapshot(library)
    line = one_line_error(run_cli("--n", "2", "--model", str(models["stylegan2"]), "--like", str(broken),
                                  "-o", str(out), "--quiet"))
    assert str(broken) in line and "cannot rasterize" in line
    assert not out.exists() and snapshot(library) == before


def test_mix_blends_two_seeds(models, library, tmp_path):
    out = tmp_path / "mix"
    result = run_cli("--n", "2", "--model", str(models["stylegan2"]), "--mix", str(library / "s1-000.svg"),
                     str(library / "s1-001.png"), "--project-steps", STEPS, "--seed", "12", "--size", SIZE,
                     "--quiet", "-o", str(out))
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "s12-001.json").read_text())
    assert meta["mix"] == [str(library / "s1-000.svg"), str(library / "s1-001.png")]


def test_dcgan_checkpoint_generates_and_projects(models, library, tmp_path):
    # one seed: this hand-set model's variations around one latent differ by shades that tracing flattens, so
    # a second one is a near-copy of the first once traced (and is refused)
    result = generate_seeds(tmp_path / "dc", GenerateConfig(
        n=1, model=str(models["dcgan"]), formats=("svg", "png"), size=SIZE, seed=13, quiet=True,
        like=str(library / "s1-002.svg"), project_steps=int(STEPS)))
    assert [s.metadata["model_type"] for s in result.seeds] == ["dcgan"]
    rgba = render_svg_bytes(result.seeds[0].files["svg"].read_bytes(), 64, 64)
    assert rgba[..., 3].min() == 255


def test_packaged_default_model(tmp_path):
    out = tmp_path / "default"
    result = run_cli("--n", "3", "--svg", "--size", SIZE, "--seed", "1", "--quiet", "-o", str(out))
    if (MODELS_DIR / "default.safetensors").is_file():
        assert result.exit_code == 0, result.output
        assert seed_names(out) == ["s1-000", "s1-001", "s1-002"]
        meta = json.loads((out / "s1-000.json").read_text())
        assert meta["model"] == "default.safetensors" and meta["layers"] >= 2
        if (MODELS_DIR / "default.fingerprints.npz").is_file():  # its training set is checked too
            assert meta["checked_against"]["training_images"] > 0
        rgba = render_svg_bytes((out / "s1-000.svg").read_bytes(), 96, 96)
        assert rgba[..., 3].min() == 255
    else:  # until the trained default lands, asking for it is one clear line
        assert "default: no such model file or packaged model" in one_line_error(result)
        assert not out.exists() or not any(out.iterdir())


def test_device_cuda(models, tmp_path):
    result = run_cli("--n", "1", "--model", str(models["stylegan2"]), "--device", "cuda", "--size", SIZE,
                     "--seed", "1", "--quiet", "-o", str(tmp_path / "gpu"))
    if torch.cuda.is_available():
        assert result.exit_code == 0, result.output
    else:
        assert "no CUDA GPU" in one_line_error(result)


# --- bad input: one line, non-zero exit, nothing changed ---------------------------------------------------

def _checkpoint_case(kind: str, models, tmp_path: Path) -> str:
    from seedgen.gan.dcgan import DCGANGenerator
    from seedgen.gan.networks import Discriminator

    path = tmp_path / "ckpt" / kind
    if kind == "missing":
        return str(tmp_path / "nowhere.safetensors")
    if kind == "pickle":
        (tmp_path / "net.pkl").write_bytes(b"\x80\x04K\x01.")
        return str(tmp_path / "net.pkl")
    if kind == "garbage":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_suffix(".safetensors").write_bytes(b"\x00" * 64)
        return str(path.with_suffix(".safetensors"))
    if kind == "wrong-class":  # says stylegan2, holds a DCGAN
        return str(save_networks(path, {"G_ema": DCGANGenerator(z_dim=8, img_resolution=8, features=4)},
                                 {"model": "stylegan2", "resolution": 8}))
    if kind == "other-type":
        return str(save_networks(path, {"G_ema": DCGANGenerator(z_dim=8, img_resolution=8, features=4)},
                                 {"model": "vqgan", "resolution": 8}))
    if kind == "no-generator":
        disc = Discriminator(c_dim=0, img_resolution=8, img_channels=3, channel_base=64, channel_max=8)
        return str(save_networks(path, {"D": disc}, {"model": "stylegan2", "resolution": 8}))
    if kind == "future-version":
        from safetensors.torch import save_file

        header = json.loads(models["stylegan2"].with_suffix(".json").read_text())
        header["format_version"] = 99
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"G_ema.x": torch.zeros(1)}, str(path.with_suffix(".safetensors")),
                  metadata={"seedgen": json.dumps(header)})
        return str(path.with_suffix(".safetensors"))
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, expected", [
    ("missing", "no such model file or packaged model"),
    ("pickle", "seedgen import-pkl"),
    ("garbage", "not a safetensors checkpoint"),
    ("wrong-class", "its generator is 'seedgen.dcgan.DCGANGenerator'"),
    ("other-type", "model type 'vqgan' is not one seedgen can generate with"),
    ("no-generator", "holds no generator"),
    ("future-version", "format_version 99"),
])
def test_unusable_model_files(kind, expected, models, library, tmp_path):
    model = _checkpoint_case(kind, models, tmp_path)
    before = snapshot(library)
    result = run_cli("--n", "2", "--model", model, "--seed", "1", "--overwrite", "--quiet", "-o", str(library))
    line = one_line_error(result)
    assert result.exit_code == (2 if kind == "missing" else 1) and expected in line, line  # missing path: usage
    assert snapshot(library) == before


@pytest.mark.parametrize("args, code, expected", [
    (["--n", "0"], 2, "--n must be a positive number"),
    (["--n", "-4"], 2, "--n must be a positive number"),
    (["--palette", "#12345G, not-a-colour"], 2, "--palette:"),
    (["--size", "12 parsecs"], 2, "--size:"),
    (["--colors", "1"], 2, "--colors must be 2..32"),
    (["--seed", "-1"], 2, "--seed must be"),
    (["--like", "{lib}/nothing-here.svg"], 2, "nothing-here.svg: no such file"),  # a missing input path: usage
])
def test_bad_options(args, code, expected, models, library):
    before = snapshot(library)
    args = [a.replace("{lib}", str(library)) for a in args]
    result = run_cli("--model", str(models["stylegan2"]), "--quiet", "--overwrite", "-o", str(library), *args)
    line = one_line_error(result)
    assert result.exit_code == code and expected in line, line
    assert snapshot(library) == before


def test_an_output_folder_that_cannot_be_written(models, library, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = one_line_error(run_cli("--n", "1", "--model", str(models["stylegan2"]), "--quiet",
                                  "-o", str(blocker / "seeds")))
    assert "cannot write to this folder" in line and blocker.read_text() == "not a folder"


def test_the_installed_command_exits_cleanly(tmp_path):
    """The real `seedgen` console script: a usage error exits 2 with one line and no traceback."""
    exe = shutil.which("seedgen")
    assert exe, "the seedgen console script is not installed"
    proc = subprocess.run([exe, "generate", "--n", "0", "-o", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        "seedgen generate: --n must be a positive number of seeds, not 0"]
    assert not (tmp_path / "x").exists()


def test_help_has_a_real_example():
    result = CliRunner().invoke(cli, ["generate", "--help"])
    assert result.exit_code == 0 and "seedgen generate --n 50 --svg -o seeds/" in result.output


def test_generate_error_is_one_line_for_the_bridge(models, tmp_path):
    with pytest.raises(GenerateError) as caught:
        generate_seeds(tmp_path / "x", GenerateConfig(n=1, model=str(models["stylegan2"]), palette="???"))
    assert caught.value.usage and "\n" not in str(caught.value)
    assert not (tmp_path / "x").exists()


def test_cli_options_are_made_from_generate_config():
    """Each option of `seedgen generate` has GenerateConfig's name, default, choices and range (in its help)."""
    from seedgen.commands.generate import command

    params = {p.name: p for p in command.params}
    for spec in GenerateConfig.options().values():
        if spec.name == "formats":
            for fmt in spec.choices:
                assert params[fmt].is_flag and params[fmt].opts == [f"--{fmt}"]
            assert "the default when no format flag is given" in params["svg"].help
            continue
        if spec.flag is None:
            assert spec.name not in params  # batch, max_tries, contact_sheet: set by code, not the CLI
            continue
        option = params[spec.name]
        assert spec.flag in option.opts and option.default == spec.default, spec.name
        assert list(getattr(option.type, "choices", spec.choices)) == list(spec.choices), spec.name
        if spec.range:
            assert spec.range_text() in option.help, (spec.name, option.help)
    assert params["n"].opts == ["-n", "--n"] and "1..10000" in params["n"].help
    assert params["truncation"].help.startswith("0..2:")
    assert params["seed"].type.name == "integer" and "0..2**63-1" in params["seed"].help


@pytest.mark.parametrize("args, expected", [
    (["--n", "10001"], "--n must be 1..10000, not 10001"),
    (["--seed", str(2**63)], f"--seed must be 0..2**63-1, not {2**63}"),
    (["--truncation", "2.5"], "--truncation must be 0..2, not 2.5"),
    (["--workers", "65"], "--workers must be 0..64"),
    (["--project-steps", "0"], "--project-steps must be 1..5000"),
])
def test_declared_ranges_are_what_the_cli_refuses(args, expected, tmp_path):
    result = run_cli(*args, "--quiet", "-o", str(tmp_path / "out"))
    line = one_line_error(result)
    assert result.exit_code == 2 and expected in line, line
    assert not (tmp_path / "out").exists()


def test_the_largest_seed_is_accepted():
    top = GenerateConfig.options()["seed"].range[1]
    assert top == 2**63 - 1
    assert GenerateConfig(seed=top).validate().seed == top
    with pytest.raises(GenerateError, match="--seed must be 0..2\\*\\*63-1"):
        GenerateConfig(seed=top + 1).validate()


def test_like_projects_in_pretrained_features_and_reports_each_distance(models, library, tmp_path):
    """--like fits the seed in EfficientNet-Lite0 features (plus a light pixel term) and each variation's
    sidecar says how far it is from the seed in pooled features (issue 14)."""
    from seedgen.generation.projection import PerceptualLoss, _target_tensor, project

    model = load_seed_model(str(models["stylegan2"]), "cpu")
    rgb = np.asarray(Image.open(library / "s1-000.png").convert("RGB"))
    distance = PerceptualLoss(_target_tensor(model, rgb))
    with torch.no_grad():
        before = float(distance(model.render(model.average_latent())))
    _, after = project(model, rgb, steps=20, seed=0)
    assert after < before
    out = tmp_path / "like"
    result = run_cli("--n", "2", "--model", str(models["stylegan2"]), "--like", str(library / "s1-000.svg"),
                     "--project-steps", STEPS, "--seed", "13", "--size", SIZE, "--quiet", "-o", str(out))
    assert result.exit_code == 0, result.output
    metas = [json.loads((out / f"{n}.json").read_text()) for n in seed_names(out)]
    assert len(metas) == 2 and all(len(m["feature_distance_to_like"]) == 1 for m in metas)
    assert all(m["feature_distance_to_like"][0] > 0 for m in metas)
