"""Training speed: img/s of the `small` StyleGAN2 (and the DCGAN baseline) on this CPU, sec/kimg and peak
memory of the official `auto` config at 256 px on a GPU.

Each run trains a fresh model on a synthetic image folder (flat-colour rectangles, the kind of data
`seedgen dataset` makes) through the real `seedgen.gan.training_loop.train`, and reads the images/second
it measured over its training steps (network construction, file writing and the first `--warmup`
steps excluded). The figure reported is the median of `--runs` runs.

    python bench/bench_train.py --cfg small --res 64 --runs 5 --steps 12            # CPU, 2 cores
    python bench/bench_train.py --cfg small --res 64 --runs 5 --steps 12 --threads 1
    python bench/bench_train.py --cfg dcgan --res 64 --runs 5 --steps 12
    python bench/bench_train.py --cfg auto --res 256 --runs 3 --steps 40 --device cuda  # GPU: sec/kimg + memory
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seedgen.gan.config import preset  # noqa: E402
from seedgen.gan.training_loop import train  # noqa: E402


def make_images(folder: Path, count: int, size: int, seed: int = 0) -> Path:
    """`count` square RGB PNGs of random flat-colour rectangles."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = np.empty((size, size, 3), np.uint8)
        image[:] = rng.integers(0, 256, 3)
        for _ in range(6):
            x0, y0 = rng.integers(0, size, 2)
            w, h = rng.integers(size // 8, size // 2, 2)
            image[y0:y0 + h, x0:x0 + w] = rng.integers(0, 256, 3)
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return folder


def one_run(data: Path, run_dir: Path, cfg: str, res: int, steps: int, warmup: int, device: str,
            seed: int) -> dict[str, float]:
    """Train `warmup` steps, then `steps` more in a second call (resume), and measure the second call."""
    config = preset(cfg, res)
    batch = config.batch
    options = dict(tick_kimg=1e6, snap_kimg=1e6, grid=(2, 2), seed=seed)
    quiet = dict(progress=False, log=lambda line: None, device=device)
    train(data, run_dir, config=config, options=dict(options, total_kimg=warmup * batch / 1000), **quiet)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = train(data, run_dir, config=config, options=dict(options, total_kimg=(warmup + steps) * batch / 1000),
                   **quiet)
    if device == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # The run's one tick spans all timed steps and ends after the GPU finished them.
    sec_per_kimg = result.stats["Timing/sec_per_kimg"]
    out = {"img_per_s": 1000 / sec_per_kimg, "sec_per_kimg": sec_per_kimg,
           "img_per_s_steps_only": result.images_per_second, "wall_s_incl_resume_and_snapshot": wall,
           # CPU seconds of this process per image: what one thread would give on an idle machine
           "cpu_s_per_img": cpu / max(result.cur_nimg - result.start_nimg, 1), "batch": batch}
    if device == "cuda":
        out["peak_gpu_mem_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", default="small", choices=["small", "auto", "paper256", "stylegan2", "dcgan"])
    parser.add_argument("--res", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=12, help="timed optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (allocator, cuDNN autotune)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_train: --device cuda asked for, but no CUDA GPU is available here")
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = platform.processor() or platform.machine()
    try:
        machine = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.split("Model name:")[1].splitlines()[0].strip()
    except (OSError, IndexError):
        pass
    if args.device == "cuda":
        machine = torch.cuda.get_device_name()
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        data = make_images(Path(tmp) / "data", args.images, args.res)
        results = []
        for run in range(args.runs):
            result = one_run(data, Path(tmp) / f"run{run}", args.cfg, args.res, args.steps, args.warmup,
                             args.device, seed=run)
            results.append(result)
            print(json.dumps({"run": run, **{k: round(v, 4) for k, v in result.items()}}), flush=True)
    img_s = [r["img_per_s"] for r in results]
    summary = {"cfg": args.cfg, "res": args.res, "device": args.device, "machine": machine,
               "threads": torch.get_num_threads(), "runs": args.runs, "steps": args.steps, "batch": results[0]["batch"],
               "median_img_per_s": round(statistics.median(img_s), 3), "min_img_per_s": round(min(img_s), 3),
               "max_img_per_s": round(max(img_s), 3),
               "median_sec_per_kimg": round(statistics.median(r["sec_per_kimg"] for r in results), 1),
               "median_cpu_s_per_img": round(statistics.median(r["cpu_s_per_img"] for r in results), 3),
               "load_average": " ".join(open("/proc/loadavg").read().split()[:3]) if Path("/proc/loadavg").exists() else ""}
    if args.device == "cuda":
        summary["peak_gpu_mem_gb"] = round(max(r["peak_gpu_mem_gb"] for r in results), 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
