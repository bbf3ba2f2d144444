"""The layered generator's CPU recipe: batch size and resolution, side by side (issue 16, part 2).

    python bench/bench_layered_recipe.py WORK --data DATA --minutes 12              # both pairs
    python bench/bench_layered_recipe.py WORK --data DATA --report-only             # re-read finished runs

DATA: square training images (e.g. the training split of `samples/` augmented x10 and rasterized at 128 px,
`/work/bp/data128` of bench_projected.py; the model resamples them to its own resolution). Two pairs of runs,
each pair trained at the same time with one thread each (the 2-core rule: compare side by side), same data and
seed, `--minutes` each, WGAN-GP critic (the family's own D; the projected D collapsed too, BENCHMARKS.md):

    pair 1 (batch):       64 px, batch 4          against  64 px, batch 16
    pair 2 (resolution):  64 px, batch 8 (preset) against  128 px, batch 8

Each run is `seedgen.layered.training.train_layered` in its own process (the CLI has no option for the model's
resolution). Afterwards the last snapshot draws 50 seeds (fixed latents, `load_seed_model(...).images`), which
are embedded whole + 4 half crops in EfficientNet-Lite0 features and compared with `samples/` rendered at 256 px:
FD and KID; and, for the collapse the family is known for (flat single-colour samples), the median over seeds
of the pixels' standard deviation (0-255) and the share of seeds under 8. Writes WORK/layered_recipe.json and
WORK/contact-NAME.png.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench_projected import reference_embeddings, side_by_side  # noqa: E402 - bench/ is on sys.path as a script

PAIRS = {"batch": [("64px-b4", 64, 4), ("64px-b16", 64, 16)],
         "resolution": [("64px-b8", 64, 8), ("128px-b8", 128, 8)]}
SEEDS = 50
FLAT_STD = 8.0

TRAIN = """
import sys, torch
torch.set_num_threads(1)
from seedgen.layered.model import LayeredModelConfig
from seedgen.layered.training import LayeredConfig, train_layered
data, run, res, batch, minutes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
config = LayeredConfig(model=LayeredModelConfig(resolution=res), batch=batch, minutes=minutes, kimg=100000.0,
                       snap_kimg=0.5, seed=1, device="cpu")
result = train_layered(data, run, config)
print(f"{run}: {result.images / 1000:.3f} kimg, {result.steps} steps, {result.train_seconds / 60:.1f} min, "
      f"{result.images_per_second:.2f} img/s", flush=True)
"""


def train_pair(data: Path, work: Path, runs: list[tuple[str, int, int]], minutes: float) -> dict[str, dict]:
    """Both runs of a pair at once, one thread each; {name: {seconds, peak RSS MB}} of this sitting."""
    return side_by_side({name: [sys.executable, "-c", TRAIN, str(data), str(work / name), str(res), str(batch),
                                str(minutes)] for name, res, batch in runs}, threads=1, cwd=REPO)


def evaluate(run: Path, reference: np.ndarray) -> dict:
    """FD, KID and flatness of the last snapshot's 50 seeds; its kimg and img/s; the contact sheet."""
    from PIL import Image

    from seedgen.evaluation.feature_distance import feature_metrics
    from seedgen.features import embed
    from seedgen.generation.seed_model import load_seed_model
    from seedgen.image_folder import image_grid

    snapshot = sorted(run.glob("snapshot-[0-9]*.safetensors"))[-1]
    model = load_seed_model(snapshot, "cpu")
    latents = model.latent(model.noise(list(range(SEEDS))), 1.0)
    images = model.images(latents)
    metrics = feature_metrics(embed(images), reference, np.random.default_rng(0))
    spread = images.reshape(len(images), -1, 3).astype(np.float32).std(axis=1).mean(axis=1)
    Image.fromarray(image_grid(images.transpose(0, 3, 1, 2), (10, 5))).save(run.parent / f"contact-{run.name}.png")
    state = json.loads(snapshot.with_suffix(".json").read_text()).get("state", {})
    seconds, shown = state.get("train_seconds"), state.get("images")
    return {"snapshot": snapshot.name, "kimg": shown / 1000 if shown else None,
            "img_per_s": shown / seconds if shown and seconds else None, "fd": metrics["fd"],
            "kid_x1e3": metrics["kid_x1e3"], "median_pixel_std": float(np.median(spread)),
            "flat_share": float((spread < FLAT_STD).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path)
    parser.add_argument("--data", type=Path, help="training images (required unless --report-only)")
    parser.add_argument("--minutes", type=float, default=12.0, help="wall-clock budget of each run")
    parser.add_argument("--pairs", nargs="+", choices=sorted(PAIRS), default=list(PAIRS))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results_path = args.work / "layered_recipe.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    if not args.report_only:
        if args.data is None:
            parser.error("--data is required to train")
        for pair in args.pairs:
            load = os.getloadavg()[0]
            for name, sitting in train_pair(args.data, args.work, PAIRS[pair], args.minutes).items():
                results.setdefault(name, {}).update(sitting, load_before=load, load_after=os.getloadavg()[0])
    reference = reference_embeddings()
    for pair in args.pairs:
        for name, res, batch in PAIRS[pair]:
            if (args.work / name).is_dir():
                results.setdefault(name, {}).update(evaluate(args.work / name, reference), resolution=res,
                                                    batch=batch)
    results_path.write_text(json.dumps(results, indent=1))
    print("| run | kimg | img/s | FD | KID x1e3 | median pixel std | flat seeds | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if "fd" in r:
            print(f"| {name} | {r['kimg']:.2f} | {r['img_per_s']:.2f} | {r['fd']:.1f} | {r['kid_x1e3']:.1f} | "
                  f"{r['median_pixel_std']:.1f} | {r['flat_share']:.0%} | {r.get('peak_rss_mb', 0):.0f} MB |")


if __name__ == "__main__":
    main()
