"""Speed against quality of patchnn drawing settings: seconds a seed on one thread, and FD / KID / diversity.

    python bench/bench_patchnn_speed.py MODEL '{"ladder": {"fine_ratio": 1.3333, "exact_pairs": 16777216}}'
    python bench/bench_patchnn_speed.py MODEL SETTINGS --n 50 --reference samples

MODEL is a patchnn checkpoint or run folder; SETTINGS a JSON object of named PatchNNConfig overrides. Every
setting draws the same --n latents at 256 px on one torch thread (the time is the sampler's alone: no tracing),
then the raster seeds are scored against the --reference folder (rendered once, sandboxed): FD and KID in
pretrained features (seedgen.features), and the mean pairwise fingerprint distance (diversity). Raster FDs run a little lower than those of the traced seeds `seedgen eval` scores; compare
settings with each other, in one run. "copies" is the share of drawings that generate's uniqueness check would
refuse as near-copies of the model's training images (its fingerprints file): generate draws that many more.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    import numpy as np
    import torch

    from augment.rasterize import RasterPool
    from seedgen.evaluation.evaluate import EvalConfig, _rng, diversity_metrics, load_seed_set
    from seedgen.evaluation.feature_distance import feature_metrics
    from seedgen.features import embed
    from seedgen.generation.generate import _reference_fingerprints
    from seedgen.generation.seed_model import load_seed_model
    from seedgen.generation.uniqueness import UniquenessIndex
    from seedgen.perceptual import fingerprint

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("settings", help="JSON: {name: {PatchNNConfig field: value}}")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--reference", type=Path, default=REPO / "samples")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = EvalConfig()
    with RasterPool(2, accept_images=True) as pool:
        reference = load_seed_set(args.reference, config, pool)
    reference_features = embed(reference.images)
    model = load_seed_model(args.model)
    base = model.sampler.at_size(256)
    training = UniquenessIndex(reference=_reference_fingerprints(model))
    latents = torch.randn(args.n, 16, generator=torch.Generator().manual_seed(1))
    for name, overrides in json.loads(args.settings).items():
        sampler = dataclasses.replace(base, config=dataclasses.replace(base.config, **overrides).validate())
        sampler.draw(latents[0])   # warm: library decoding, allocator
        wall, cpu = time.perf_counter(), time.process_time()
        images = sampler.images(latents)
        wall, cpu = (time.perf_counter() - wall) / args.n, (time.process_time() - cpu) / args.n
        scores = feature_metrics(embed(images), reference_features, np.random.default_rng(0))
        prints = fingerprint(images)
        diversity = diversity_metrics(prints, config, _rng(config, 6, 1))["mean_pairwise"]
        copies = float((training.nearest(prints)[0] < training.threshold).mean()) if training.reference_size else 0.0
        print(f"{name:16s} {wall:.3f} s/seed wall ({cpu:.3f} CPU)  FD {scores['fd']:.1f}  "
              f"KID x1e3 {scores['kid_x1e3']:.1f}  diversity {diversity:.3f}  copies {100 * copies:.0f}%", flush=True)


if __name__ == "__main__":
    main()
