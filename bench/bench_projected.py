"""Standard against projected discriminator: StyleGAN2-small on the sample library, same data, seed and wall clock.

    python bench/bench_projected.py WORK --minutes 45 --res 64 128                  # both D's side by side
    python bench/bench_projected.py WORK --minutes 45 --res 64 --sequential --threads 2
    python bench/bench_projected.py WORK --report-only                              # re-read finished runs
    python bench/bench_projected.py WORK --minutes 15 --res 64 --d standard --batch 4 16   # batch sizes instead

Data: the training split of `samples/` (the 40 seeds numbered below 040; 040-047 are held back), augmented x10
with `seedgen augment --seed 1`, rasterized by `seedgen dataset --crops 2 --seed 1` at each resolution.
Runs: `seedgen train DATA -o WORK/RES-D --cfg small --minutes M --seed 1` with `--d standard` and `--d projected`
(or only the `--d` kinds given); with `--batch B1 B2 ...` each kind trains once per batch size (WORK/RES-D-bB).
By default the runs of one resolution train at the same time, one thread each, so they share the machine's
load equally (the 2-core rule: compare side by side); --sequential runs them one after the other with
--threads each. A killed bench rerun with the same arguments resumes every run (--minutes counts all sittings).

Afterwards, every network snapshot's G_ema draws 50 seeds (fixed z), which are embedded whole + 4 half crops in
EfficientNet-Lite0 features and compared with `samples/` (rendered at 256 px, all 48 seeds, same embedding):
FD and KID against wall-clock minutes and kimg. Writes WORK/projected.json, WORK/fd_curves.png (FD against
minutes and against kimg) and WORK/contact-RES-D.png (the last snapshot's 50 seeds).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KINDS = ("standard", "projected")
SAMPLES_PER_SNAPSHOT = 50


def prepare_data(work: Path, resolutions: list[int]) -> dict[int, Path]:
    """The training split, augmented once, rasterized at each resolution (kept between runs of the bench)."""
    seeds, variants = work / "train_seeds", work / "variants"
    if not seeds.is_dir():
        seeds.mkdir(parents=True)
        for path in sorted((REPO / "samples").glob("*.svg")):
            if int(path.stem.rsplit("-", 1)[1]) < 40:
                shutil.copy(path, seeds / path.name)
    if not variants.is_dir():
        _run(["seedgen", "augment", str(seeds), "--variants", "10", "-o", str(variants), "--seed", "1", "--quiet"])
    data = {}
    for res in resolutions:
        data[res] = work / f"data{res}"
        if not data[res].is_dir():
            _run(["seedgen", "dataset", str(variants), "-o", str(data[res]), "--size", str(res), "--crops", "2",
                  "--seed", "1", "--quiet"])
    return data


def _run(cmd: list[str]) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def train_command(data: Path, run: Path, kind: str, minutes: float, threads: int, snap: float,
                  batch: int | None = None) -> list[str]:
    return ["seedgen", "train", str(data), "-o", str(run), "--cfg", "small", "--d", kind, "--minutes", str(minutes),
            "--seed", "1", "--snap", str(snap), "--set", f"cpu_threads={threads}", "--quiet",
            *(["--batch", str(batch)] if batch else [])]


def train_runs(runs: list[tuple[Path, Path, str, int | None]], minutes: float, threads: int, snap: float,
               parallel: bool) -> dict[str, dict]:
    """Train (or resume) each run; returns {run name: {wall seconds, peak RSS MB}} of this sitting."""
    groups = [runs] if parallel else [[r] for r in runs]
    measured: dict[str, dict] = {}
    for group in groups:
        measured.update(side_by_side({run.name: train_command(data, run, kind, minutes, threads, snap, batch)
                                      for data, run, kind, batch in group}, threads))
    return measured


def side_by_side(commands: dict[str, list[str]], threads: int, cwd: Path | None = None) -> dict[str, dict]:
    """Run the commands at the same time with `threads` threads each; {name: {wall seconds, peak RSS MB}}.
    Also used by bench_layered_recipe.py."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    started, measured = {}, {}
    for name, cmd in commands.items():
        print("$", " ".join(cmd)[:200], flush=True)
        process = subprocess.Popen(cmd, env=env, cwd=cwd)   # held: a dropped Popen may be reaped by the next one
        started[process.pid] = (name, time.time(), process)
    while started:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in started:
            continue
        name, began, _ = started.pop(pid)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{name}: failed (exit {os.waitstatus_to_exitcode(status)})")
        measured[name] = {"sitting_seconds": time.time() - began, "peak_rss_mb": usage.ru_maxrss / 1024}
    return measured


def reference_embeddings() -> np.ndarray:
    from augment.rasterize import RasterPool
    from seedgen.evaluation.evaluate import EvalConfig, load_seed_set
    from seedgen.features import embed

    with RasterPool(2, accept_images=True) as pool:
        library = load_seed_set(REPO / "samples", EvalConfig(size=256), pool)
    return embed(library.images)


def draw(snapshot: Path, count: int, seed: int = 1234) -> np.ndarray:
    """`count` uint8 (N, H, W, 3) seeds from a network snapshot's G_ema, fixed z."""
    import torch

    from seedgen.checkpoint import build_networks, load_networks
    from seedgen.gan.training_loop import to_uint8

    states, config = load_networks(snapshot)
    nets = build_networks({"networks": {"G_ema": config["networks"]["G_ema"]}}, {"G_ema": states["G_ema"]})
    G = nets["G_ema"].eval()
    z = torch.randn([count, G.z_dim], generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        images = torch.cat([G(part, None, noise_mode="const") for part in z.split(10)])
    return to_uint8(images).transpose(0, 2, 3, 1)


def curve(run: Path, reference: np.ndarray) -> list[dict]:
    """FD and KID of every network snapshot of a run, with its kimg and training minutes."""
    from seedgen.checkpoint import load_networks
    from seedgen.evaluation.feature_distance import feature_metrics
    from seedgen.features import embed

    points = []
    cache = run / "fd_curve.json"
    known = {p["snapshot"]: p for p in json.loads(cache.read_text())} if cache.is_file() else {}
    for snapshot in sorted(run.glob("network-snapshot-*.safetensors")):
        if snapshot.name not in known:
            _, config = load_networks(snapshot)
            metrics = feature_metrics(embed(draw(snapshot, SAMPLES_PER_SNAPSHOT)), reference,
                                      np.random.default_rng(0))
            progress = config.get("progress", {})
            known[snapshot.name] = {"snapshot": snapshot.name, "kimg": progress.get("kimg"),
                                    "minutes": progress.get("train_minutes"), "fd": metrics["fd"],
                                    "kid_x1e3": metrics["kid_x1e3"]}
            print(f"{run.name} {snapshot.name}: kimg {progress.get('kimg')}, FD {metrics['fd']:.1f}", flush=True)
        points.append(known[snapshot.name])
    cache.write_text(json.dumps(points, indent=1))
    return points


def plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, points in sorted(curves.items()):
        style = "-" if "projected" in name else "--"
        for ax, key in zip(axes, ("minutes", "kimg")):
            ax.plot([p[key] for p in points], [p["fd"] for p in points], style, marker=".", label=name)
    for ax, label in zip(axes, ("training wall time (minutes)", "kimg (thousands of real images shown)")):
        ax.set_xlabel(label)
        ax.set_ylabel("FD to samples/ (50 seeds, whole + 4 half crops)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("StyleGAN2-small: " + ", ".join(sorted(curves)) + " (lower is closer)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def contact_sheet(snapshot: Path, path: Path) -> None:
    from PIL import Image

    from seedgen.image_folder import image_grid

    images = draw(snapshot, SAMPLES_PER_SNAPSHOT)
    grid = image_grid(images.transpose(0, 3, 1, 2), (10, 5))
    Image.fromarray(grid).save(path)


def run_stats(run: Path) -> dict:
    """img/s, s/kimg and the end point from snapshot-latest's state."""
    state = json.loads((run / "snapshot-latest.json").read_text())["state"]
    seconds = state.get("train_seconds") or 0.0
    return {"kimg": state["kimg"], "train_minutes": seconds / 60,
            "img_per_s": state["cur_nimg"] / seconds if seconds else None,
            "s_per_kimg": seconds / state["kimg"] if state["kimg"] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path)
    parser.add_argument("--minutes", type=float, default=45.0, help="wall-clock budget of each run")
    parser.add_argument("--res", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--snap", type=float, default=1.0, help="network snapshot every this many kimg")
    parser.add_argument("--sequential", action="store_true", help="one run at a time instead of two side by side")
    parser.add_argument("--report-only", action="store_true", help="no training: evaluate and plot what is there")
    parser.add_argument("--d", nargs="+", choices=KINDS, default=list(KINDS), help="discriminator kinds to train")
    parser.add_argument("--batch", type=int, nargs="+", help="batch sizes to compare (default: the preset's)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = prepare_data(args.work, args.res)
    batches = args.batch or [None]
    runs = [(data[res], args.work / (f"{res}-{kind}" + (f"-b{batch}" if batch else "")), kind, batch)
            for res in args.res for kind in args.d for batch in batches]
    results_path = args.work / "projected.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {"sittings": []}
    if not args.report_only:
        for res in args.res:
            load = os.getloadavg()
            sitting = train_runs([r for r in runs if r[0] == data[res]], args.minutes, args.threads, args.snap,
                                 parallel=not args.sequential)
            results["sittings"].append({"res": res, "load_before": load, "load_after": os.getloadavg(),
                                        "runs": sitting, "minutes": args.minutes, "threads": args.threads,
                                        "parallel": not args.sequential})
            results_path.write_text(json.dumps(results, indent=1))
    reference = reference_embeddings()
    curves = {}
    for _, run, _, _ in runs:
        if not (run / "snapshot-latest.json").is_file():
            continue
        curves[run.name] = curve(run, reference)
        results[run.name] = {**run_stats(run), "final": curves[run.name][-1] if curves[run.name] else None}
        snapshots = sorted(run.glob("network-snapshot-*.safetensors"))
        if snapshots:
            contact_sheet(snapshots[-1], args.work / f"contact-{run.name}.png")
    plot(curves, args.work / "fd_curves.png")
    results["machine"] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()}
    results_path.write_text(json.dumps(results, indent=1))
    for name in sorted(curves):
        r = results[name]
        final = r["final"] or {}
        print(f"{name}: {r['kimg']:.2f} kimg in {r['train_minutes']:.1f} min, {r['img_per_s']:.2f} img/s, "
              f"{r['s_per_kimg']:.0f} s/kimg, final FD {final.get('fd', float('nan')):.1f}, "
              f"KIDx1e3 {final.get('kid_x1e3', float('nan')):.1f}")


if __name__ == "__main__":
    main()
