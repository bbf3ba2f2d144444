"""Texture model drawing speed and memory: seconds per seed at 1024 and 4096 px, as a plain seed and as a tile.

    python bench/bench_texture.py runs/texture --sizes 1024 4096 --runs 3

Each measurement runs in a fresh process (so its peak RSS is that size's alone): it loads the model, draws one
warm-up seed at 256 px, then `--runs` seeds at the size, timing only the drawing (noise field, generator windows,
uint8 pixels; no vectorizing). Prints the median and range of seconds per seed and the process's peak RSS, with
the load average before and after. The windowed drawing keeps memory that of one 8 x 8-cell window (256 px plus
its halo), whatever the size.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(model: str, px: int, runs: int, tile: bool) -> dict:
    import torch

    from seedgen.generation.seed_model import load_seed_model

    seed_model = load_seed_model(model)
    seed_model.use_texture(256, tile=tile)
    seed_model.images(seed_model.noise([0]))
    seed_model.use_texture(px, tile=tile)
    times = []
    for k in range(runs):
        start = time.perf_counter()
        seed_model.images(seed_model.noise([k + 1]))
        times.append(time.perf_counter() - start)
    return {"px": px, "tile": tile, "threads": torch.get_num_threads(), "seconds": times,
            "median_s": statistics.median(times),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="texture checkpoint or run folder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tile", action="store_true", help="draw tiles (the noise field wraps round)")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)   # the child process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.model, args.one, args.runs, args.tile)))
        return
    for px in args.sizes:
        load = os.getloadavg()[0]
        cmd = [sys.executable, __file__, args.model, "--one", str(px), "--runs", str(args.runs)]
        out = subprocess.run(cmd + (["--tile"] if args.tile else []), check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{px} px{' tile' if args.tile else ''}: median {result['median_s']:.2f} s per seed "
              f"(range {min(result['seconds']):.2f}-{max(result['seconds']):.2f}, {args.runs} runs, "
              f"{result['threads']} threads), peak RSS {result['peak_rss_mb']:.0f} MB; load {load:.1f} -> "
              f"{os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
