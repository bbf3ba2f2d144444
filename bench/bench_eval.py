"""Compare seed generators with `seedgen eval` against the same held-back reference seeds; time each evaluation.

    python bench/bench_eval.py                                   # synth baseline vs augmented-training ceiling
    python bench/bench_eval.py dcgan=out/dcgan_seeds layered=out/layered_seeds
    python bench/bench_eval.py --model stylegan2=runs/sg2/checkpoint --reference seeds/heldout --train seeds/train
    python bench/bench_eval.py --raw-model layered=runs/layered/snapshot-0000003000.safetensors --reference ...

Without --reference/--train, a library of 2 x --n procedural seeds (`seedgen.synth`, all styles) is made and
split into training seeds (even) and held-back reference seeds (odd). Besides the NAME=DIR folders and
--model checkpoints given, these rows are measured (the last two when the training folder holds SVG seeds):
  - synth: --n fresh procedural seeds (another seed): the non-ML baseline;
  - augmented-train (ceiling): one augment variant (rotate, zoom, recolour) of each training seed, the
    style a model would reach by copying its training set;
  - train copies (memorizer): the training seeds themselves, re-encoded as JPEG: novelty must flag them all.
Each evaluation runs in its own child process (so its peak memory is its own) --runs times; the table shows
the figures of the first run, the median wall time and the largest peak RSS (main process; the largest
rasterizer worker in brackets). A second table times the shared perceptual distance (seedgen.perceptual).
Writes nothing to the repository: everything goes to --work (default: a temporary folder).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def child(args: argparse.Namespace) -> None:
    """One evaluation, timed, in this (fresh) process; prints one JSON line."""
    from augment.rasterize import RasterPool
    from seedgen.evaluation.evaluate import EvalConfig, evaluate_seeds

    config = EvalConfig(size=args.size, seed=args.seed, jobs=args.jobs)
    stages: dict[str, float] = {}
    start = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        stages.setdefault(stage.split(" ")[0], time.perf_counter() - start)

    with RasterPool(config.jobs, timeout_s=config.raster_timeout_s, memory_mb=config.raster_memory_mb,
                    accept_images=True) as pool:
        pool_ready = time.perf_counter() - start
        result = evaluate_seeds(args.generated, args.reference, args.train, args.out, config,
                                overwrite=True, progress=progress, pool=pool)
        worker_mb = pool.peak_worker_rss_mb
    total = time.perf_counter() - start
    print(json.dumps({
        "time_s": total, "pool_start_s": pool_ready, "metrics_start_s": stages.get("style", total),
        "peak_rss_mb": _peak_rss_mb(), "worker_peak_mb": worker_mb,
        "summary": result.metrics["summary"], "counts": result.metrics["counts"],
    }))


def run_child(name: str, generated: Path, reference: Path, train: Path | None, work: Path, size: int, seed: int,
              jobs: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--size", str(size), "--seed", str(seed),
           "--jobs", str(jobs), "--c-generated", str(generated), "--c-reference", str(reference),
           "--c-out", str(work / "reports" / name)]
    if train is not None:
        cmd += ["--c-train", str(train)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: evaluation failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_library(work: Path, n: int, seed: int) -> tuple[Path, Path]:
    """2n synth seeds split into train (even) and held-back reference (odd) folders."""
    from seedgen.synth import synthesize_library

    library = work / "library"
    if not library.exists():
        synthesize_library(library, 2 * n, seed=seed, size=512)
    train, reference = work / "train", work / "reference"
    for folder in (train, reference):
        folder.mkdir(exist_ok=True)
    for i, path in enumerate(sorted(library.glob("*.svg"))):
        target = (train if i % 2 == 0 else reference) / path.name
        if not target.exists():
            target.write_bytes(path.read_bytes())
    return train, reference


def make_synth(work: Path, n: int, seed: int) -> Path:
    from seedgen.synth import synthesize_library

    out = work / "synth"
    if not out.exists():
        synthesize_library(out, n, seed=seed + 7919, size=512)
    return out


def make_augmented(work: Path, train: Path, seed: int) -> Path:
    from augment.augment_run import AugmentConfig, augment_library

    out = work / "augmented"
    if not (out / "manifest.json").exists():
        augment_library(train, out, AugmentConfig(variants=1, seed=seed, size=512, overwrite=True))
    return out


def make_memorizer(work: Path, train: Path, size: int) -> Path:
    """The training seeds rendered (trusted: our own synth output) and saved as JPEG: what a memorizing model
    would hand back."""
    from PIL import Image

    from augment.rasterize import render_svg_bytes

    out = work / "memorizer"
    out.mkdir(exist_ok=True)
    for path in sorted(train.glob("*.svg")):
        target = out / (path.stem + ".jpg")
        if not target.exists():
            rgb = render_svg_bytes(path.read_bytes(), size)[..., :3]
            Image.fromarray(rgb).save(target, quality=85)
    return out


def make_from_model(work: Path, name: str, checkpoint: str, n: int, seed: int) -> Path:
    from seedgen.generation.generate import GenerateConfig, generate_seeds

    out = work / f"model-{name}"
    if not out.exists():
        generate_seeds(out, GenerateConfig(n=n, model=checkpoint, formats=("svg",), size="512", seed=seed,
                                           quiet=True, contact_sheet=False))
    return out


def make_raw_from_model(work: Path, name: str, checkpoint: str, n: int, seed: int) -> Path:
    """n raw samples of a model as PNG, at its own resolution, with no uniqueness filter: the set a
    collapsed model (which `seedgen generate` refuses to pad with near-duplicates) is scored on."""
    from PIL import Image

    from seedgen.generation.seed_model import load_seed_model

    out = work / f"raw-{name}"
    if not out.exists():
        out.mkdir(parents=True)
        model = load_seed_model(checkpoint, "cpu")
        latents = model.latent(model.noise(list(range(seed, seed + n))))
        for i, pixels in enumerate(model.images(latents)):
            Image.fromarray(pixels).save(out / f"{name}-{i:04d}.png")
    return out


def perceptual_speed(images_dir: Path, size: int, runs: int) -> dict:
    """Fingerprint time per seed and one-against-10,000 comparison time (median of `runs`).

    The 10,000 indexed seeds are Mosaic windows (zoom, turn, crop, hue) of the given seeds: distinct seeds
    with realistic statistics, a few of them close to the query.
    """
    from augment.rasterize import RasterPool
    from seedgen.evaluation.evaluate import EvalConfig, render_seed_files, seed_files
    from seedgen.perceptual import FINGERPRINT_LENGTH, distance_matrix, fingerprint
    from seedgen.evaluation.suitability import SuitabilityConfig, mosaic_variation

    config = EvalConfig(size=size)
    with RasterPool(2, accept_images=True) as pool:
        seeds = render_seed_files("speed", images_dir, seed_files(images_dir, config), config, pool)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fingerprint(seeds.images)
        times.append((time.perf_counter() - start) / len(seeds.images))
    rng = np.random.default_rng(0)
    windows = SuitabilityConfig(zoom_min=1.0, zoom_max=2.0)
    index = fingerprint([mosaic_variation(seeds.images[i % len(seeds.images)], rng, windows) for i in range(10000)])
    queries = fingerprint(seeds.images)
    compare = []
    for k in range(runs):
        start = time.perf_counter()
        distance_matrix(queries[k % len(queries)][None], index)
        compare.append(time.perf_counter() - start)
    return {"fingerprint_ms": 1000 * statistics.median(times), "compare_10k_s": statistics.median(compare),
            "length": FINGERPRINT_LENGTH, "index_mb": index.nbytes / 2**20}


def _figure(value: float | None, decimals: int) -> str:
    return "n/a" if value is None else f"{value:.{decimals}f}"


def markdown(rows: list[tuple[str, dict, list[dict]]], speed: dict | None) -> str:
    head = ("| set | n | SWD x1e3 | FD | KID x1e3 | palette dist | near-copy % | nearest-train median | diversity | "
            "variation spread | coverage | colours | edge density | eval time s, median (render / figures + report) "
            "| peak RSS MB |")
    lines = [head, "|" + "---|" * 15]
    for name, first, runs in rows:
        s = first["summary"]
        near = "n/a" if s["near_copy_share"] is None else f"{100 * s['near_copy_share']:.1f}"
        nearest = "n/a" if s["nearest_train_median"] is None else f"{s['nearest_train_median']:.3f}"
        t = statistics.median(r["time_s"] for r in runs)
        render = statistics.median(r["metrics_start_s"] for r in runs)
        rss = max(r["peak_rss_mb"] for r in runs)
        worker = max(r["worker_peak_mb"] for r in runs)
        lines.append(
            f"| {name} | {first['counts']['generated']} | {s['style_swd_x1e3']:.1f} | {_figure(s.get('fd'), 0)} | "
            f"{_figure(s.get('kid_x1e3'), 1)} | {s['palette_distance']:.2f} | "
            f"{near} | {nearest} | {s['diversity']:.3f} | {s['variation_spread']:.3f} | {s['coverage']:.3f} | "
            f"{s['colour_count']:.1f} | {s['edge_density']:.3f} | {t:.1f} ({render:.1f} / {t - render:.1f}) | "
            f"{rss:.0f} (+{worker:.0f}) |"
        )
    if speed:
        lines += ["",
                  "| perceptual fingerprint | length | ms per seed (median) | 1 vs 10,000 s (median) | 10,000 index MB |",
                  "|---|---|---|---|---|",
                  f"| seedgen.perceptual | {speed['length']} | {speed['fingerprint_ms']:.2f} | "
                  f"{speed['compare_10k_s']:.3f} | {speed['index_mb']:.0f} |"]
    return "\n".join(lines)


def parse_pairs(items: list[str], what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise SystemExit(f"{what} must be NAME=PATH, got {item!r}")
        pairs.append((name, value))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", help="NAME=DIR folders of generated seeds")
    parser.add_argument("--model", action="append", default=[], help="NAME=CHECKPOINT: generate --n seeds with it")
    parser.add_argument("--raw-model", action="append", default=[],
                        help="NAME=CHECKPOINT: score --n raw samples (no uniqueness filter: for collapsed models)")
    parser.add_argument("--reference", type=Path, help="held-back real seeds (default: a synth library's odd half)")
    parser.add_argument("--train", type=Path, help="training seeds (default: a synth library's even half)")
    parser.add_argument("--n", type=int, default=64, help="seeds per generated set and per library half")
    parser.add_argument("--size", type=int, default=256, help="evaluation size, px")
    parser.add_argument("--runs", type=int, default=3, help="timed evaluations per set (median time)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="rasterizer workers")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--no-speed", action="store_true", help="skip the perceptual distance timing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--c-generated", dest="generated", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--c-reference", dest="c_reference", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--c-train", dest="c_train", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--c-out", dest="out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.reference, args.train = args.c_reference, args.c_train
        child(args)
        return
    if (args.reference is None) != (args.train is None):
        raise SystemExit("give both --reference and --train, or neither")
    with tempfile.TemporaryDirectory(prefix="bench_eval_") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.reference is None:
            train, reference = make_library(work, args.n, args.seed)
        else:
            train, reference = args.train, args.reference
        sets = [("synth", make_synth(work, args.n, args.seed))]
        if any(train.glob("*.svg")):  # vector training seeds: the ceiling and memorizer rows are built from them
            sets.append(("augmented-train (ceiling)", make_augmented(work, train, args.seed)))
            sets.append(("train copies (memorizer)", make_memorizer(work, train, 2 * args.size)))
        else:
            print(f"{train}: no SVG seeds, so no ceiling or memorizer row (give their folders as NAME=DIR)",
                  file=sys.stderr)
        sets += [(name, make_from_model(work, name, ckpt, args.n, args.seed))
                 for name, ckpt in parse_pairs(args.model, "--model")]
        sets += [(f"{name} (raw samples)", make_raw_from_model(work, name, ckpt, args.n, args.seed))
                 for name, ckpt in parse_pairs(args.raw_model, "--raw-model")]
        sets += [(name, Path(folder)) for name, folder in parse_pairs(args.sets, "a set")]
        rows = []
        for name, folder in sets:
            runs = [run_child(name.split(" ")[0], folder, reference, train, work, args.size, args.seed, args.jobs)
                    for _ in range(args.runs)]
            rows.append((name, runs[0], runs))
            print(f"{name}: {statistics.median(r['time_s'] for r in runs):.1f} s", file=sys.stderr)
        speed = None if args.no_speed else perceptual_speed(reference, args.size, max(5, args.runs))
        (work / "bench_eval.json").write_text(json.dumps({"rows": rows, "speed": speed}, indent=1))
        print(markdown(rows, speed))


if __name__ == "__main__":
    main()
