"""Benchmark of `seedgen generate`: wall time and peak memory of 50 seeds, by stage, and the uniqueness check
against a 10,000-seed library.

    python bench/bench_generate.py                      # 3 runs of `seedgen generate --n 50 --svg`
    python bench/bench_generate.py --runs 5 --n 50 --index-size 10000
    python bench/bench_generate.py --model path/to/model.safetensors

Model: the packaged default (`seedgen/models/default.safetensors`) when it exists, else a small random-init
StyleGAN2 at 64 px built here with a fixed torch seed (z = w = 128, 2 mapping layers, channel_base 4096,
channel_max 128: 64 to 128 channels per block) and saved as a real checkpoint. Each run is the real command in
its own process (`seedgen generate --n N --svg --model M --seed S --quiet --json -o FRESH_DIR`), so the wall
time includes Python start-up, imports and the model load; the stage times come from the command's --json
output (GenerateResult.timings) and peak memory from the process's rusage (os.wait4). Target (issue 16): <= 15 s
for 50 seeds on the 2-core CPU, model load included (it was 30 s before).

The index part builds a library index of --index-size fingerprints of smooth random images (the kind of
layout a seed has), saves and loads it as generation does, and times checking a batch of 16 candidates
against it (UniquenessIndex.admit: the library and the batch itself).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def small_stylegan(folder: Path) -> Path:
    """A random-init 64 px StyleGAN2 checkpoint with a fixed seed (the stand-in for a trained model)."""
    import torch

    from seedgen.gan.networks import Generator
    from seedgen.checkpoint import save_networks

    torch.manual_seed(0)
    g = Generator(z_dim=128, c_dim=0, w_dim=128, img_resolution=64, img_channels=3,
                  mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 4096, "channel_max": 128})
    return save_networks(folder / "bench-sg64", {"G_ema": g}, {"model": "stylegan2", "resolution": 64})


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        name = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")
    except (OSError, subprocess.SubprocessError):
        name = ""
    return f"{name or platform.processor() or 'unknown CPU'}, {os.cpu_count()} cores"


def cpu_share(seconds: float = 1.0) -> float:
    """How much of one core a busy single-threaded loop gets right now (1.0 on an idle machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    x = 0
    while time.perf_counter() - start < seconds:
        x += sum(range(1000))
    return (time.process_time() - cpu) / (time.perf_counter() - start)


def one_generate_run(model: Path, n: int, seed: int, out: Path, formats: list[str], workers: int = 0) -> dict:
    """The real command in a child process: wall time, peak RSS, CPU time and the stage timings it reports."""
    exe = shutil.which("seedgen")
    cmd = ([exe] if exe else [sys.executable, "-c", "from seedgen.cli import main; main()"])
    cmd += ["generate", "--n", str(n), *[f"--{f}" for f in formats], "--model", str(model), "--seed", str(seed),
            "--workers", str(workers), "--quiet", "--json", "-o", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"seedgen generate failed ({proc.returncode}): {stderr.decode(errors='replace').strip()}")
    result = json.loads(stdout)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "timings": result["timings"], "seeds": len(result["seeds"]), "rejected": result["rejected"],
            "command": " ".join(cmd)}


def smooth_images(count: int, seed: int = 0):
    """Smooth random layouts at 64 px in 2-5 colours each: libraries' seeds differ in layout and colour scheme."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    for _ in range(count):
        colours = rng.integers(0, 256, (rng.integers(2, 6), 3), dtype=np.uint8)
        cells = rng.integers(3, 7)
        small = colours[rng.integers(0, len(colours), (cells, cells))]
        yield cv2.resize(small, (64, 64), interpolation=cv2.INTER_CUBIC)


def index_bench(size: int, runs: int) -> dict:
    """Build, save, load and check against an index of `size` seeds."""
    import numpy as np

    from seedgen.generation.uniqueness import NEAREST_RADIUS, UniquenessIndex, fingerprint_images, lower_bounds, window_means

    t = time.perf_counter()
    fps = np.concatenate([fingerprint_images(list(smooth_images(500, seed=k))) for k in range(0, size, 500)])[:size]
    build = time.perf_counter() - t
    folder = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        index = UniquenessIndex()
        for k, fp in enumerate(fps):
            index.add(f"seed-{k:05d}", fp)
        saves, loads, checks, compared = [], [], [], []
        for r in range(runs):
            t = time.perf_counter()
            index.save(folder)
            saves.append(time.perf_counter() - t)
            t = time.perf_counter()
            loaded = UniquenessIndex.load(folder)
            loads.append(time.perf_counter() - t)
            candidates = fingerprint_images(list(smooth_images(16, seed=10_000 + r)))
            t = time.perf_counter()
            admitted = loaded.admit([f"new-{k}" for k in range(16)], candidates)
            checks.append(time.perf_counter() - t)
            near = lower_bounds(candidates, window_means(fps)) < NEAREST_RADIUS
            compared.append((float(near.mean()), float(near.any(axis=0).mean())))
        disk = sum(p.stat().st_size for p in (folder / ".seedgen").iterdir())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"size": size, "fingerprint_s": build, "save_s": statistics.median(saves),
            "load_s": statistics.median(loads), "check16_s": statistics.median(checks), "checks": checks,
            "admitted_last": len(admitted), "disk_mb": disk / 1e6,
            "compared": statistics.median(c[0] for c in compared), "union": statistics.median(c[1] for c in compared)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50, help="seeds per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default=None, help="checkpoint; default: packaged default, else a small 64 px StyleGAN2")
    parser.add_argument("--formats", default="svg", help="comma list of svg,pdf,png")
    parser.add_argument("--index-size", type=int, default=10_000, help="0 skips the index part")
    parser.add_argument("--workers", type=int, default=0, help="passed to seedgen generate (0: auto)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        from seedgen.generation.seed_model import MODELS_DIR

        if args.model:
            model, which = Path(args.model), f"given: {args.model}"
        elif (MODELS_DIR / "default.safetensors").is_file():
            model, which = MODELS_DIR / "default.safetensors", "packaged default"
        else:
            model, which = small_stylegan(work), "random-init StyleGAN2 64 px (z=w=128, channel_base 4096, max 128)"
        load = os.getloadavg()
        print(f"machine: {cpu_model()}; GPU: {_gpu()}; load average at start {load[0]:.1f}")
        print(f"model: {which}")
        runs = []
        for r in range(args.runs):
            share = cpu_share()
            res = one_generate_run(model, args.n, seed=100 + r, out=work / f"lib-{r}", formats=args.formats.split(","),
                                   workers=args.workers)
            runs.append(res)
            stages = ", ".join(f"{k} {v:.2f}" for k, v in res["timings"].items())
            print(f"run {r + 1}: wall {res['wall']:.1f} s, cpu {res['cpu']:.1f} s, peak RSS {res['peak_mb']:.0f} MB, "
                  f"{res['seeds']} seeds, {res['rejected']} rejected; a busy loop got {share:.0%} of a core just "
                  f"before, load average {os.getloadavg()[0]:.1f}; stages (s): {stages}")
        print(f"command: {runs[0]['command']}")
        med = {key: statistics.median(r[key] for r in runs) for key in ("wall", "cpu", "peak_mb")}
        stages = {k: statistics.median(r["timings"][k] for r in runs) for k in runs[0]["timings"]}
        other = med["wall"] - stages.get("total", sum(stages.values()))
        target = f"; target <= 15 s: {'met' if med['wall'] <= 15 else 'MISSED'}" if args.n == 50 else ""
        print(f"median of {len(runs)}: wall {med['wall']:.1f} s ({med['wall'] / args.n:.2f} s/seed{target}), "
              f"cpu {med['cpu']:.1f} s (process and its workers), peak RSS {med['peak_mb']:.0f} MB")
        print("median stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
              + f"; process start-up and imports {other:.2f}")
        print(f"load average at end {os.getloadavg()[0]:.1f}")
        if args.index_size:
            idx = index_bench(args.index_size, args.runs)
            print(f"index of {idx['size']} seeds: {idx['disk_mb']:.1f} MB on disk, save {idx['save_s']:.2f} s, "
                  f"load {idx['load_s']:.2f} s, check 16 candidates {idx['check16_s']:.2f} s "
                  f"({idx['check16_s'] / 16 * 1000:.0f} ms per candidate; runs {', '.join(f'{c:.2f}' for c in idx['checks'])}; "
                  f"the bound leaves {idx['compared']:.0%} of the index per candidate, {idx['union']:.0%} for the batch); "
                  f"fingerprinting {idx['size']} images {idx['fingerprint_s']:.1f} s")
        print(f"bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _gpu() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"


if __name__ == "__main__":
    main()
