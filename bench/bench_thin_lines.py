"""Thin lines on and off, side by side: what keeping outlines and threads costs and gives the vectorizer.

    python bench/bench_thin_lines.py                    # the 48 sample seeds at 256 and 512 px, 5 specimens a class

Every image is traced twice in one process, `VectorizeConfig(thin_lines=False)` then `thin_lines=True`; PSNR of
the re-rendered SVG against the image (for the GAN-like specimens, against the clean original), SVG bytes and
the process CPU seconds of `vectorize_image`. The sample seeds are rendered (sandboxed) at each size, as
generate traces a 256 px drawing; the specimens are `vectorize.specimen`'s four classes at 512 px.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def compare(images: list[tuple[np.ndarray, np.ndarray | None]], label: str) -> None:
    from vectorize.config import VectorizeConfig
    from vectorize.metrics import compare as rendered
    from vectorize.vectorize_run import vectorize_image

    scores = {}
    for thin in (False, True):
        config = VectorizeConfig(seed=1, thin_lines=thin)
        psnrs, sizes, cpus = [], [], []
        for image, clean in images:
            start = time.process_time()
            result = vectorize_image(image, config)
            cpus.append(time.process_time() - start)
            psnrs.append(result.psnr if clean is None else rendered(result.svg, clean)[0])
            sizes.append(result.svg_bytes)
        scores[thin] = np.array(psnrs)
        print(f"{label:12s} thin_lines={thin!s:5s}  PSNR median {statistics.median(psnrs):.2f} dB, mean "
              f"{np.mean(psnrs):.2f}, worst {min(psnrs):.2f}   SVG median {statistics.median(sizes) / 1000:.1f} KB   "
              f"CPU median {statistics.median(cpus):.3f} s", flush=True)
    change = scores[True] - scores[False]
    print(f"{label:12s} per image: {int((change > 0.1).sum())} better, {int((change < -0.1).sum())} worse of "
          f"{len(change)} (0.1 dB); median {np.median(change):+.2f} dB, from {change.min():+.2f} to {change.max():+.2f}",
          flush=True)


def main() -> None:
    from augment.rasterize import RasterPool, composite_on
    from vectorize.specimen import SPECIMEN_CLASSES, make_specimen

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, default=REPO / "samples")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--specimens", type=int, default=5, help="specimens per class (0: none)")
    args = parser.parse_args()
    paths = sorted(args.samples.glob("*.svg"))
    for px in args.sizes:
        with RasterPool(1) as pool:
            images = [composite_on(r.image)[..., :3] for r in pool.imap(paths, px, px, cover=True) if r.ok]
        compare([(image, None) for image in images], f"samples {px}")
    for kind in SPECIMEN_CLASSES if args.specimens else ():
        specimens = [make_specimen(kind, seed) for seed in range(args.specimens)]
        compare([(s.image, s.clean if kind == "gan" else None) for s in specimens], kind)


if __name__ == "__main__":
    main()
