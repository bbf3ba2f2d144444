"""How much `seedgen generate --like` variations resemble their seed: retrieval in pretrained features.

    python bench/bench_like.py                       # the packaged default, 8 references x 4 variations
    python bench/bench_like.py --model runs/x --n 4 --steps 150

For one reference per style of `samples/` (the first seed of each), generate --n variations with --like, then
find each variation's nearest library seed in pooled EfficientNet-Lite0 features (seedgen.features, each seed
whole): a hit when it is the reference. Chance is 1 in 48. Prints hits, the median feature distance to the
reference, and the time per reference (projection included).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    from augment.rasterize import RasterPool
    from seedgen.evaluation.evaluate import EvalConfig, load_seed_set
    from seedgen.features import Crops, embed
    from seedgen.generation.config import GenerateConfig
    from seedgen.generation.generate import generate_seeds

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="checkpoint or run folder (default: the packaged model)")
    parser.add_argument("--library", type=Path, default=REPO / "samples")
    parser.add_argument("--n", type=int, default=4, help="variations per reference")
    parser.add_argument("--steps", type=int, default=150, help="--project-steps")
    args = parser.parse_args()

    with RasterPool(2, accept_images=True) as pool:
        library = load_seed_set(args.library, EvalConfig(size=256), pool)
    names = [Path(label).name for label in library.labels]
    index = embed(library.images, Crops(halves=0))
    firsts: dict[str, int] = {}
    for i, name in enumerate(names):
        firsts.setdefault(name.rsplit("-", 1)[0], i)
    hits, distances, times = 0, [], []
    with tempfile.TemporaryDirectory() as work:
        for k, (style, ref) in enumerate(sorted(firsts.items())):
            out = Path(work) / style
            start = time.perf_counter()
            result = generate_seeds(out, GenerateConfig(n=args.n, model=args.model, like=str(args.library / names[ref]),
                                                        formats=("png",), size="256", seed=100 + k, quiet=True,
                                                        contact_sheet=False, project_steps=args.steps))
            times.append(time.perf_counter() - start)
            images = np.stack([np.asarray(Image.open(s.files["png"]).convert("RGB")) for s in result.seeds])
            found = embed(images, Crops(halves=0))
            dist = np.linalg.norm(found[:, None, :] - index[None, :, :], axis=-1)
            nearest = dist.argmin(axis=1)
            hits += int((nearest == ref).sum())
            distances += dist[:, ref].tolist()
            print(f"{style}: nearest {[names[j] for j in nearest]} (reference {names[ref]})", flush=True)
    total = args.n * len(firsts)
    print(f"hits {hits}/{total} ({100 * hits / total:.0f}%, chance {100 / len(names):.1f}%); median feature distance "
          f"to the reference {statistics.median(distances):.2f}; {statistics.median(times):.1f} s per reference")


if __name__ == "__main__":
    main()
