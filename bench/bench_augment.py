"""Benchmark: the augment and dataset stages on a procedural library (issue 2's reference workload).

Draws SEEDS procedural seeds with `seedgen.synth` (all styles, 1024 px) in a temporary folder, augments each
VARIANTS times with `augment_library` (default options), then rasterizes every variant into a 256 px
training set with `build_dataset` (sandboxed worker pool). Reports augment variants/s, rasterized images/s,
and peak memory: this process (RUSAGE_SELF), its reaped children (RUSAGE_CHILDREN) and the sandbox workers
(which are the forkserver's children, so they report their own peak RSS back to the pool).

    python bench/bench_augment.py                          # the full workload: 400 seeds x 10 = 4,000 variants
    python bench/bench_augment.py --seeds 100 --runs 3     # a smaller workload, median of 3 runs
"""
from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from augment.augment_run import AugmentConfig, augment_library
from augment.dataset import DatasetConfig, build_dataset
from augment.rasterize import peak_worker_rss_mb
from seedgen.synth import STYLES, synthesize_library


class _Count:
    """A quiet report: counts, and keeps the failures to print."""

    def __init__(self) -> None:
        self.succeeded = 0
        self.failures: list[str] = []

    def ok(self, count: int = 1) -> None:
        self.succeeded += count

    def fail(self, path, reason) -> None:
        self.failures.append(f"{path}: {reason}")


def one_run(seeds: int, variants: int, size: int, jobs: int, seed: int) -> dict:
    """Synth, augment and rasterize once in a fresh temporary folder; timings in seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-augment-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        synthesize_library(root / "seeds", seeds, seed=seed, styles=STYLES, size=1024)
        t1 = time.perf_counter()
        augment_report = _Count()
        result = augment_library(root / "seeds", root / "variants", AugmentConfig(variants=variants, seed=seed),
                                 augment_report)
        t2 = time.perf_counter()
        data_report = _Count()
        manifest = build_dataset(root / "variants", root / "data", DatasetConfig(size=size, jobs=jobs, seed=seed),
                                 data_report)
        t3 = time.perf_counter()
        for line in (augment_report.failures + data_report.failures)[:10]:
            print("  failure:", line)
        return {
            "synth_s": t1 - t0,
            "augment_s": t2 - t1,
            "dataset_s": t3 - t2,
            "variants": result.variants_written,
            "images": len(manifest["images"]),
            "failed": len(augment_report.failures) + len(data_report.failures),
        }


def _cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=400, help="procedural seeds to draw (default 400)")
    parser.add_argument("--variants", type=int, default=10, help="variants per seed (default 10)")
    parser.add_argument("--size", type=int, default=256, help="dataset image side in px (default 256)")
    parser.add_argument("--jobs", type=int, default=2, help="sandboxed render workers (default 2)")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median (default 1)")
    args = parser.parse_args()

    runs = []
    for k in range(args.runs):
        run = one_run(args.seeds, args.variants, args.size, args.jobs, seed=k)
        runs.append(run)
        print(f"run {k + 1}: synth {run['synth_s']:.1f} s, augment {run['augment_s']:.1f} s "
              f"({run['variants']} variants), dataset {run['dataset_s']:.1f} s ({run['images']} images), "
              f"{run['failed']} failed")
    med = {key: statistics.median(r[key] for r in runs) for key in ("synth_s", "augment_s", "dataset_s")}
    variants, images = runs[0]["variants"], runs[0]["images"]
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    workers_mb = peak_worker_rss_mb()
    print()
    print(f"machine: {_cpu_name()}, {len(__import__('os').sched_getaffinity(0))} CPUs available")
    print(f"workload: {args.seeds} seeds x {args.variants} variants, dataset {args.size} px, "
          f"{args.jobs} render workers; median of {len(runs)} run(s)")
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| synth seeds/s | {args.seeds / med['synth_s']:.1f} |")
    print(f"| augment variants/s | {variants / med['augment_s']:.1f} |")
    print(f"| dataset rasterized images/s | {images / med['dataset_s']:.1f} |")
    print(f"| peak RSS, bench process | {self_mb:.0f} MB |")
    print(f"| peak RSS, largest reaped child | {children_mb:.0f} MB |")
    print(f"| peak RSS, largest sandbox worker | {workers_mb:.0f} MB |")
    print(f"| peak RSS, process + {args.jobs} workers (bound) | {self_mb + args.jobs * workers_mb:.0f} MB |")


if __name__ == "__main__":
    main()
