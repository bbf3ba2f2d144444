"""Load test of the bridge on loopback: many concurrent status/list requests while real jobs run.

    python bench/bench_bridge.py                       # 200 requests at once + 10 generation jobs
    python bench/bench_bridge.py --kind vectorize      # jobs that vectorize a small PNG instead
    python bench/bench_bridge.py --requests 500 --jobs 20 --rounds 5
    python bench/bench_bridge.py --model runs/mine/snapshot.safetensors

Starts the real server (`seedgen serve` in its own process, so the client does not share its interpreter)
on a free port, with a temporary library of --seeds hand-made seeds and a temporary config folder. First
it times --sequential requests one at a time (what the panel does), then submits --jobs jobs and fires
--requests concurrent requests (half job status, half library listing, a few thumbnails) --rounds times
while the jobs run, and waits for every job. Reports p50/p99/max latency per round and overall, the
server's CPU time per request (the latency on a busy machine is mostly waiting for a core), HTTP errors,
and lost jobs (missing from the history, or not succeeded). Bounded: at most --requests x --rounds requests, --jobs jobs and
--timeout seconds. Exit code 1 if any request failed or any job was lost.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

HEADERS: dict[str, str] = {}


def make_seed(root: Path, i: int) -> None:
    colour = (37 * i % 256, 91 * i % 256, 173 * i % 256)
    (root / f"seed-{i:04d}.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" '
        f'fill="rgb{colour}"/></svg>'
    )
    image = Image.new("RGB", (512, 512), colour)
    ImageDraw.Draw(image).ellipse([128, 128, 384, 384], fill=(255 - colour[0], 200, 90))
    image.save(root / f"seed-{i:04d}.png")
    (root / f"seed-{i:04d}.json").write_text(json.dumps({"seed": i, "bench": True}))


def png_upload(i: int) -> bytes:
    image = Image.new("RGB", (96, 96), (20 * i % 256, 90, 160))
    ImageDraw.Draw(image).rectangle([20, 20, 70, 60], fill=(250, 190, 140))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def bench_model(folder: Path) -> Path:
    """A tiny untrained 32 px StyleGAN2 checkpoint (fixed seed), for machines without a packaged model."""
    import torch

    from seedgen.gan.networks import Generator
    from seedgen.checkpoint import save_networks

    torch.manual_seed(0)
    generator = Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=32, img_channels=3,
                          mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 1024, "channel_max": 64})
    return save_networks(folder / "bench-tiny", {"G_ema": generator}, {"model": "stylegan2", "resolution": 32})


async def submit(client: httpx.AsyncClient, kind: str, i: int, model: str | None) -> str:
    if kind == "generate":
        request = {"n": 1, "seed": i, "size": "128", "formats": ["svg", "pdf", "png"]}
        if model:
            request["model"] = model
        response = await client.post("/api/jobs/generate", headers=HEADERS, json=request)
    else:
        response = await client.post("/api/jobs/vectorize", headers=HEADERS,
                                     files={"file": (f"bench-{i}.png", png_upload(i))})
    response.raise_for_status()
    return response.json()["id"]


async def timed(client: httpx.AsyncClient, path: str) -> tuple[float, int]:
    start = time.perf_counter()
    try:
        response = await client.get(path, headers=HEADERS)
        await response.aread()
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return time.perf_counter() - start, status


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def run(args: argparse.Namespace) -> dict:
    library = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    for i in range(args.seeds):
        make_seed(library, i)
    config_dir = Path(tempfile.mkdtemp(prefix="bench-bridge-config-"))
    model_args: list[str] = []
    if args.kind == "generate" and args.model is None:
        from seedgen.generation.seed_model import list_models

        if not any(m["name"] == "default" for m in list_models()):
            args.model = str(bench_model(config_dir))
            print(f"no packaged default model: generating with a tiny untrained one ({args.model})", flush=True)
    if args.model:
        model_args = ["--model", args.model]
    server = subprocess.Popen(
        [sys.executable, "-c", "from seedgen.cli import main; main()", "serve", "--library", str(library),
         "--port", "0", "--workers", str(args.workers), "--queue", str(max(16, args.jobs)), *model_args],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "SEEDGEN_CONFIG_DIR": str(config_dir)},
    )
    try:
        url = server.stdout.readline().split(" on ", 1)[1].split()[0]
        HEADERS["Authorization"] = "Bearer " + server.stdout.readline().rsplit(" ", 1)[1].strip()
        return await measure(args, url, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(library, ignore_errors=True)
        shutil.rmtree(config_dir, ignore_errors=True)


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(args: argparse.Namespace, url: str, server_pid: int) -> dict:
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=args.requests, max_keepalive_connections=args.requests)
    async with httpx.AsyncClient(base_url=url, timeout=args.timeout, limits=limits) as client:
        (await client.get("/api/models", headers=HEADERS)).raise_for_status()  # the engine is loaded
        await asyncio.sleep(args.settle)  # let the warm job process finish loading too
        sequential = {}
        for name, path in (("health", "/api/health"), ("list", "/api/seeds?limit=200"),
                           ("thumbnail", "/api/seeds/seed-0000/thumbnail?size=128")):
            await timed(client, path)  # first call fills caches
            times = [(await timed(client, path))[0] for _ in range(args.sequential)]
            sequential[f"{name}_p50_ms"] = round(1000 * statistics.median(times), 2)
        print(f"one request at a time (no jobs yet), p50: {sequential}", flush=True)
        model = Path(args.model).stem if args.model else None
        job_ids = [await submit(client, args.kind, i, model) for i in range(args.jobs)]
        rounds = []
        for r in range(args.rounds):
            paths = []
            for i in range(args.requests):
                if i % 20 == 19:
                    paths.append(f"/api/seeds/seed-{i % args.seeds:04d}/thumbnail?size=128")
                elif i % 2:
                    paths.append("/api/seeds?limit=200")
                else:
                    paths.append(f"/api/jobs/{job_ids[i % len(job_ids)]}")
            cpu_before, client_before = cpu_seconds(server_pid), time.process_time()
            results = await asyncio.gather(*(timed(client, p) for p in paths))
            cpu_after, client_cpu = cpu_seconds(server_pid), time.process_time() - client_before
            latencies = [t for t, _ in results]
            errors = sum(1 for _, status in results if status != 200)
            rounds.append({"p50_ms": 1000 * statistics.median(latencies),
                           "p99_ms": 1000 * percentile(latencies, 0.99),
                           "max_ms": 1000 * max(latencies), "errors": errors, "latencies": latencies,
                           "server_cpu_ms": None if cpu_before is None else 1000 * (cpu_after - cpu_before),
                           "client_cpu_ms": 1000 * client_cpu})
            cpu = rounds[-1]["server_cpu_ms"]
            print(f"round {r + 1}: {args.requests} concurrent requests, p50 {rounds[-1]['p50_ms']:.1f} ms, "
                  f"p99 {rounds[-1]['p99_ms']:.1f} ms, max {rounds[-1]['max_ms']:.1f} ms, errors {errors}, "
                  f"server CPU {'n/a' if cpu is None else f'{cpu:.0f} ms'}, client CPU {1000 * client_cpu:.0f} ms",
                  flush=True)
        deadline = time.monotonic() + args.timeout
        states: dict[str, dict] = {}
        while time.monotonic() < deadline:
            history = (await client.get("/api/jobs?limit=1000", headers=HEADERS)).json()["jobs"]
            states = {j["id"]: j for j in history}
            if all(states.get(j, {}).get("state") not in ("queued", "running", None) for j in job_ids):
                break
            await asyncio.sleep(0.5)
        listed = (await client.get("/api/seeds?limit=1000", headers=HEADERS)).json()
    jobs_seconds = time.perf_counter() - started
    lost = [j for j in job_ids if states.get(j, {}).get("state") != "succeeded"]
    made = sum(len((states[j].get("result") or {}).get("seeds", [])) for j in job_ids if j in states)
    all_latencies = [t for r in rounds for t in r["latencies"]]
    return {
        "kind": args.kind,
        "requests_per_round": args.requests,
        "rounds": args.rounds,
        "jobs": args.jobs,
        "workers": args.workers,
        "sequential": sequential,
        "p50_ms": round(1000 * statistics.median(all_latencies), 1),
        "p99_ms": round(1000 * percentile(all_latencies, 0.99), 1),
        "max_ms": round(1000 * max(all_latencies), 1),
        "server_cpu_ms_per_request": (None if rounds[0]["server_cpu_ms"] is None else
                                      round(sum(r["server_cpu_ms"] for r in rounds) / len(all_latencies), 2)),
        "client_cpu_ms_per_request": round(sum(r["client_cpu_ms"] for r in rounds) / len(all_latencies), 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
        "errors": sum(r["errors"] for r in rounds),
        "lost_jobs": len(lost),
        "lost_detail": {j: (states.get(j) or {}).get("message", "missing") for j in lost},
        "seeds_made": made,
        "seeds_listed": listed["total"],
        "seconds_until_all_jobs_done": round(jobs_seconds, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="concurrent requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of concurrent requests while jobs run")
    parser.add_argument("--jobs", type=int, default=10, help="jobs submitted before the first round")
    parser.add_argument("--sequential", type=int, default=50, help="requests one at a time, per kind, first")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait after start-up before timing")
    parser.add_argument("--kind", choices=("generate", "vectorize"), default="generate")
    parser.add_argument("--workers", type=int, default=1, help="jobs at once (the bridge's --workers)")
    parser.add_argument("--seeds", type=int, default=60, help="hand-made seeds in the library")
    parser.add_argument("--model", help="checkpoint to generate with (default: the packaged default model, "
                                        "else a tiny untrained one made on the spot)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before giving up on the jobs")
    args = parser.parse_args()
    summary = asyncio.run(run(args))
    print(json.dumps(summary, indent=2))
    return 1 if summary["errors"] or summary["lost_jobs"] else 0


if __name__ == "__main__":
    sys.exit(main())
