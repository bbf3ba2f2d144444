"""Benchmark of the patchnn family (GPNN): building a library, drawing one seed, and `generate_seeds` end to end.

    python bench/bench_patchnn.py DATA_DIR                        # 50 seeds at 256 and at 1024 px
    python bench/bench_patchnn.py DATA_DIR --n 50 --sizes 256 1024 --json /tmp/patchnn.json

DATA_DIR is a folder of square training PNGs (`seedgen dataset`). The library is built once in a temporary
folder (`build_library`, the code `seedgen train --model patchnn` runs). For each size the bench times
`--draws` single seeds through the sampler alone (what generation's "sampling" stage calls), then
`generate_seeds` with PNG and SVG, quiet, with a contact sheet, and reports its stage timings
(GenerateResult.timings), the near-duplicates it rejected and the wall time. torch runs on one thread
(`--threads`); tracing uses generate's own worker rule unless `--workers` is given. The load average is
printed before and after: on the shared 2-core machine other jobs slow every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def load_average() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return []


def time_draws(run: Path, px: int, draws: int) -> dict:
    """Seconds per seed of the sampler alone (wall and CPU), over `draws` latents."""
    from seedgen.generation.seed_model import load_seed_model

    model = load_seed_model(run)
    model.use_texture(px)
    latents = model.noise(list(range(draws)))
    walls, cpus = [], []
    for row in latents:
        wall, cpu = time.perf_counter(), time.process_time()
        model.images(row[None])
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"px": model.resolution, "draws": draws, "wall_median_s": round(statistics.median(walls), 3),
            "cpu_median_s": round(statistics.median(cpus), 3), "wall_max_s": round(max(walls), 3)}


def time_generate(run: Path, out: Path, px: int, n: int, seed: int, workers: int) -> dict:
    """generate_seeds with PNG + SVG, quiet, a contact sheet: wall time, stage timings, rejections."""
    from seedgen.generation.generate import GenerateConfig, generate_seeds

    config = GenerateConfig(n=n, model=str(run), size=str(px), formats=("png", "svg"), quiet=True,
                            contact_sheet=True, seed=seed, workers=workers)
    start = time.perf_counter()
    result = generate_seeds(out, config)
    wall = time.perf_counter() - start
    return {"px": px, "n": len(result.seeds), "rejected": result.rejected, "wall_s": round(wall, 2),
            "seconds_per_seed": round(wall / max(1, len(result.seeds)), 3),
            "stages_s": {stage: round(seconds, 2) for stage, seconds in result.timings.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder of square training PNGs")
    parser.add_argument("--n", type=int, default=50, help="seeds per size (default 50)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024], help="output px (default 256 1024)")
    parser.add_argument("--draws", type=int, default=5, help="single seeds timed through the sampler per size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--workers", type=int, default=0, help="tracing processes (0: generate's own rule)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    import torch

    from seedgen.patchnn.library import build_library

    torch.set_num_threads(args.threads)
    report: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                    "torch_threads": torch.get_num_threads(), "load_before": load_average(), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="bench-patchnn-") as tmp:
        start = time.perf_counter()
        built = build_library(args.data, Path(tmp) / "run")
        report["library"] = {"images": built.images, "kept": built.kept, "side": built.side,
                             "build_s": round(time.perf_counter() - start, 2),
                             "checkpoint_mb": round(built.checkpoint.stat().st_size / 2**20, 2)}
        print(f"library: {built.kept} of {built.images} images at {built.side} px, "
              f"{report['library']['checkpoint_mb']} MB, built in {report['library']['build_s']} s", flush=True)
        for px in args.sizes:
            draws = time_draws(built.checkpoint.parent, px, args.draws)
            run = time_generate(built.checkpoint.parent, Path(tmp) / f"out-{px}", px, args.n, args.seed,
                                args.workers)
            report["sizes"].append({"draw": draws, "generate": run})
            print(f"{px} px: one seed {draws['wall_median_s']} s wall, {draws['cpu_median_s']} s CPU (median of "
                  f"{draws['draws']}); {run['n']} seeds in {run['wall_s']} s ({run['seconds_per_seed']} s each, "
                  f"{run['rejected']} near-duplicates rejected); stages {run['stages_s']}", flush=True)
    report["load_after"] = load_average()
    print(f"load average before {report['load_before']}, after {report['load_after']}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
