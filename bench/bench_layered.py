"""Benchmark the layered generator: training speed, generation speed, reconstruction PSNR against T and K,
and layered decomposition against the tracing vectorizer.

1. Training img/s (real images shown per second, the kimg rate) of the default 64 px model (T=10, K=10,
   mask MLP 3x128) in GAN (WGAN-GP, n_critic 5) and recon mode, batch 8, on samples/ rendered at 64 px.
2. Generation: `generate_layered` seeds/s at 1024 and 4096 px (network + contours + Béziers + SVG + PDF),
   and the export alone of fitted stacks (realistic mask shapes) at 4096 px.
3. Reconstruction PSNR of `decompose_image` on our seeds (samples/, 64 px) for T in {5,10,20} x K in
   {5,10,20}: the paper's Table 1 trend (PSNR rises with T and with K), on 2 processes of 1 thread.
4. Layered decomposition vs `vectorize_image` (trace) on bench_vectorize's specimens (vectorize.specimen):
   PSNR against the input and the clean original, <path> count, bytes, seconds.
5. (--sections shared) T and K with one mask MLP shared by the layers of 6 seeds, as in the paper's setting:
   mean IoU of the fitted masks against the painted regions, and reconstruction PSNR (soft masks blended
   with the painted colours), for T in {5, 10, 20} x K in {2, 5, 10, 20}.

    python bench/bench_layered.py                  # sections 1-4 (~30 min on 2 busy cores, ~12 idle)
    python bench/bench_layered.py --sections shared
    python bench/bench_layered.py --quick          # a smoke run (~2 min)
    python bench/bench_layered.py --json /tmp/layered_bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from augment.rasterize import render_svg_bytes  # noqa: E402
from seedgen.layered.model import LayeredModelConfig, MaskMLP, pixel_grid  # noqa: E402
from seedgen.layered.export import generate_layered, shapes_to_layers, stack_shapes  # noqa: E402
from seedgen.layered.decompose import (  # noqa: E402
    DecomposeConfig,
    composite_layers,
    decompose_image,
    fit_masks,
    paint_regions,
)
from seedgen.layered.training import LayeredConfig, train_layered  # noqa: E402
from vectorize.metrics import count_paths, psnr  # noqa: E402
from vectorize.specimen import SPECIMEN_CLASSES, make_specimen  # noqa: E402
from vectorize.svg_writer import write_svg  # noqa: E402
from vectorize.vectorize_run import vectorize_image  # noqa: E402

GRID_IMAGES = ("waves-002", "blobs-003", "geometric-000")  # three styles, smooth to busy
SHARED_IMAGES = ("waves-002", "blobs-003", "geometric-000", "memphis-001", "rings-006", "truchet-005")


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name")), "")
    except OSError:
        model = platform.processor()
    return f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, torch {torch.__version__}"


def sample_rgb(name: str, size: int) -> np.ndarray:
    return render_svg_bytes((ROOT / "samples" / f"{name}.svg").read_bytes(), size)[:, :, :3].copy()


# --------------------------------------------------------------------------------------------- 1. training


def bench_training(work: Path, steps: int) -> dict:
    data = work / "data64"
    data.mkdir(exist_ok=True)
    for path in sorted((ROOT / "samples").glob("*.svg"))[:16]:
        Image.fromarray(sample_rgb(path.stem, 64)).save(data / f"{path.stem}.png")
    out = {}
    for mode in ("gan", "recon"):
        per_step = 8 * (5 if mode == "gan" else 1)
        config = LayeredConfig(model=LayeredModelConfig(mode=mode), batch=8, kimg=per_step * (steps + 1) / 1000,
                               snap_kimg=10000, device="cpu", seed=0)
        seconds: list[float] = []
        cpu = [time.process_time()]

        def progress(p) -> None:
            seconds.append(p.seconds)
            cpu.append(time.process_time())

        run = train_layered(data, work / f"run-{mode}", config, progress=progress)
        rates = [per_step / s for s in seconds[1:]]  # the first step warms up
        cpu_steps = np.diff(cpu)[1:]
        out[mode] = {"real_img_per_s": float(np.median(rates)), "steps_timed": len(rates),
                     "sec_per_step": float(np.median(seconds[1:])), "cpu_sec_per_step": float(np.median(cpu_steps)),
                     "snapshot": str(run.snapshot)}
        print(f"train {mode}: {out[mode]['real_img_per_s']:.2f} real img/s, {out[mode]['sec_per_step']:.2f} s/step, "
              f"{out[mode]['cpu_sec_per_step']:.2f} CPU s/step (median of {len(rates)})", flush=True)
    return out


# --------------------------------------------------------------------------------------------- 2. generation


def bench_generation(checkpoint: str, work: Path, count: int) -> dict:
    out = {}
    for size in (1024, 4096):
        times, cpus = [], []
        for i in range(count):
            began, cpu = time.perf_counter(), time.process_time()
            generate_layered(checkpoint, 1, size, seed=i, out_dir=work / f"gen{size}", formats=("svg", "pdf"))
            times.append(time.perf_counter() - began)
            cpus.append(time.process_time() - cpu)
        out[f"seeds_per_s_{size}"] = 1.0 / float(np.median(times))
        out[f"cpu_sec_per_seed_{size}"] = float(np.median(cpus))
        print(f"generate {size}px: {out[f'seeds_per_s_{size}']:.3f} seeds/s, "
              f"{np.median(cpus):.2f} CPU s/seed (median of {count})", flush=True)
    return out


# --------------------------------------------------------------------------------------------- 3. PSNR grid


def _fit(job: tuple[str, int, int, int]) -> dict:
    name, layers, params, steps = job
    torch.set_num_threads(1)
    began = time.perf_counter()
    result = decompose_image(sample_rgb(name, 64), layers=layers, params=params, steps=steps, seed=0)
    return {"image": name, "T": layers, "K": params, "psnr": result.psnr, "layers_used": result.stack.layers,
            "seconds": time.perf_counter() - began}


def bench_grid(images: tuple[str, ...], ts: tuple[int, ...], ks: tuple[int, ...], steps: int) -> list[dict]:
    jobs = [(name, t, k, steps) for t in ts for k in ks for name in images]
    jobs.sort(key=lambda j: -j[1])  # longest first keeps both workers busy to the end
    with get_context("spawn").Pool(2) as pool:
        rows = []
        for row in pool.imap_unordered(_fit, jobs):
            rows.append(row)
            print(f"  {row['image']:>14} T={row['T']:>2} K={row['K']:>2}: {row['psnr']:.2f} dB "
                  f"({row['seconds']:.0f} s)", flush=True)
    return rows


def grid_table(rows: list[dict], ts, ks) -> str:
    lines = ["| T \\ K | " + " | ".join(f"K={k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for t in ts:
        cells = [np.mean([r["psnr"] for r in rows if r["T"] == t and r["K"] == k]) for k in ks]
        lines.append(f"| T={t} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def _shared_fit(job: tuple[tuple[str, ...], int, int, int]) -> dict:
    """One mask MLP shared by the layers of several images (as in the paper, where it is shared by a whole
    dataset): fit it and the codes to every image's painted regions; measure how well the masks match them
    (IoU) and how well each image is rebuilt (PSNR of its soft masks blended with the painted colours)."""
    names, layers, params, steps = job
    torch.set_num_threads(1)
    config = DecomposeConfig(layers=layers, params=params)
    regions, stacks, images = [], [], []
    for name in names:
        image = sample_rgb(name, 64).astype(np.float32) / 255
        background, painted, colours = paint_regions(image, layers, config)
        stacks.append((len(regions), len(painted), background, colours))
        regions += painted
        images.append(image)
    wanted = torch.from_numpy(np.stack(regions).reshape(len(regions), -1)).float()
    gen = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mlp = MaskMLP(params, fourier=config.mlp_fourier)
    codes = (torch.randn(len(regions), params, generator=gen) * 0.1).requires_grad_(True)
    xy = pixel_grid(64)
    began = time.perf_counter()
    fit_masks(mlp, codes, wanted, steps, config, xy, gen, torch.device("cpu"))
    with torch.no_grad():
        soft = mlp(xy, codes)
    masks, truth = soft > 0.5, wanted > 0
    iou = ((masks & truth).sum(1) / (masks | truth).sum(1).clamp_min(1)).float()
    psnrs = []
    for image, (first, count, background, colours) in zip(images, stacks):
        canvas = composite_layers(soft[first : first + count], torch.from_numpy(np.array(colours).reshape(-1, 3)),
                                  torch.from_numpy(np.asarray(background)))
        render = (np.clip(canvas.numpy(), 0, 1).reshape(image.shape) * 255 + 0.5).astype(np.uint8)
        psnrs.append(psnr(render, (image * 255 + 0.5).astype(np.uint8)))
    return {"T": layers, "K": params, "masks": len(regions), "mean_iou": float(iou.mean()),
            "psnr": float(np.mean(psnrs)), "seconds": time.perf_counter() - began}


def bench_shared(images: tuple[str, ...], ts: tuple[int, ...], ks: tuple[int, ...], steps: int) -> list[dict]:
    jobs = [(images, t, k, steps) for t in ts for k in ks]
    with get_context("spawn").Pool(2) as pool:
        rows = list(pool.imap(_shared_fit, jobs))
    for row in rows:
        print(f"  shared MLP, T={row['T']:>2}, {row['masks']} masks, K={row['K']:>2}: mean IoU "
              f"{row['mean_iou']:.3f}, PSNR {row['psnr']:.2f} dB ({row['seconds']:.0f} s)", flush=True)
    return rows


# --------------------------------------------------------------------------------------------- 4. vs trace


def bench_versus_trace(size: int, steps: int, export_size: int) -> list[dict]:
    torch.set_num_threads(1)
    rows = []
    for kind in SPECIMEN_CLASSES:
        spec = make_specimen(kind, 0, size=size)
        began = time.perf_counter()
        traced = vectorize_image(spec.image)
        trace_s = time.perf_counter() - began
        traced_px = render_svg_bytes(traced.svg, size)[:, :, :3]
        began = time.perf_counter()
        result = decompose_image(spec.image, config=DecomposeConfig(layers=20, params=10, steps=steps,
                                                                    resolution=128, pixels_per_step=2048))
        fit_s = time.perf_counter() - began
        began = time.perf_counter()
        shapes = stack_shapes(result.mlp, result.stack, size)
        svg = write_svg(shapes_to_layers(shapes), (size, size))
        export_s = time.perf_counter() - began
        began = time.perf_counter()
        stack_shapes(result.mlp, result.stack, export_size)
        export_big_s = time.perf_counter() - began
        layered_px = render_svg_bytes(svg, size)[:, :, :3]
        row = {
            "kind": kind,
            "trace": {"psnr": psnr(spec.image, traced_px), "psnr_clean": psnr(spec.clean, traced_px),
                      "paths": count_paths(traced.svg)[0], "bytes": len(traced.svg), "seconds": trace_s},
            "layers": {"psnr": psnr(spec.image, layered_px), "psnr_clean": psnr(spec.clean, layered_px),
                       "paths": count_paths(svg)[0], "bytes": len(svg), "seconds": fit_s + export_s,
                       "export_seconds_at_export_size": export_big_s},
        }
        rows.append(row)
        print(f"  {kind:>11}: trace {row['trace']['psnr']:.2f} dB {row['trace']['paths']} paths "
              f"{row['trace']['seconds']:.1f} s | layers {row['layers']['psnr']:.2f} dB {row['layers']['paths']} "
              f"paths {row['layers']['seconds']:.1f} s (export at {export_size}px {export_big_s:.1f} s)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    parser.add_argument("--sections", default="train,generate,grid,trace",
                        help="comma list of: train, generate (needs train), grid, trace, shared (T and K with a "
                             "shared MLP, ~30 min)")
    args = parser.parse_args()
    skip = {"train", "generate", "grid", "trace", "shared"} - set(args.sections.split(","))
    quick = args.quick
    results: dict = {"machine": machine(), "command": " ".join(sys.argv)}
    print(results["machine"], flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        torch.set_num_threads(2)
        if "train" not in skip:
            results["train"] = bench_training(work, steps=2 if quick else 4)
        if "generate" not in skip and "train" in results:
            torch.set_num_threads(1)
            results["generate"] = bench_generation(results["train"]["gan"]["snapshot"], work, 1 if quick else 3)
        if "grid" not in skip:
            ts, ks = ((5, 10), (5, 10)) if quick else ((5, 10, 20), (5, 10, 20))
            images = GRID_IMAGES[:1] if quick else GRID_IMAGES[:2]
            steps = 60 if quick else 250
            print(f"PSNR grid: {len(images)} images at 64 px, {steps} steps", flush=True)
            rows = bench_grid(images, ts, ks, steps)
            results["grid"] = {"steps": steps, "images": list(images), "rows": rows, "table": grid_table(rows, ts, ks)}
            print(results["grid"]["table"], flush=True)
        if "trace" not in skip:
            print("layers vs trace (vectorize.specimen, seed 0)", flush=True)
            results["versus_trace"] = bench_versus_trace(128 if quick else 256, 60 if quick else 300, 4096)
        if "shared" not in skip:
            print("shared mask MLP: regions of several seeds, one MLP, K varies", flush=True)
            images = SHARED_IMAGES[:2] if quick else SHARED_IMAGES
            ts, ks = ((5, 10), (2, 5)) if quick else ((5, 10, 20), (2, 5, 10, 20))
            rows = bench_shared(images, ts, ks, 60 if quick else 300)
            results["shared"] = {"rows": rows, "table": grid_table(rows, ts, ks)}
            print("PSNR, shared MLP:\n" + results["shared"]["table"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
