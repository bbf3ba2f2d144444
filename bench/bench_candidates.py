"""Candidates for the packaged default, side by side on one library: every figure issue 16 asks for.

    python bench/bench_candidates.py WORK --train DATA --candidate default=default \\
        --candidate sg2-projected-64=/work/bp/64-projected --candidate texture=/work/tex/run ...

For each candidate (NAME=MODEL, where MODEL is what `seedgen generate --model` takes), in WORK/NAME:
- `seedgen generate --n 50 --svg --png --size SIZE --seed 1`, timed (wall seconds for the 50, model load included);
- `seedgen eval` of those seeds against `samples/` (all 48) and against the held-back split (samples numbered
  040-047, the seeds no model here was trained on), with --train DATA for near-copies: FD, KID, diversity,
  near-copies (fingerprint and pretrained features), Mosaic suitability;
- the contact sheet generate writes (contact-s1.png).
A candidate whose generate fails (a collapsed model that cannot make 50 unique seeds) gets generate's one-line
reason in its row, and the bench goes on.
Writes WORK/candidates.json and prints one table row per candidate (the markdown BENCHMARKS.md carries), plus the
library's own diversity (the samples scored against themselves) for the 0.9x target.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HELD_BACK_FROM = 40   # samples/*-040.svg and later: the held-back split


def held_back(work: Path) -> Path:
    folder = work / "heldout"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for path in sorted((REPO / "samples").glob("*.svg")):
            if int(path.stem.rsplit("-", 1)[1]) >= HELD_BACK_FROM:
                shutil.copy(path, folder / path.name)
    return folder


def run(cmd: list[str]) -> float:
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def generate(model: str, out: Path, n: int, size: str) -> dict:
    """`seedgen generate` timed; a candidate that cannot make n unique seeds (a collapsed GAN) is recorded with
    generate's own one-line reason instead of stopping the bench."""
    cmd = ["seedgen", "generate", "--n", str(n), "--svg", "--png", "--size", size, "--seed", "1", "--model", model,
           "-o", str(out), "--quiet"]
    print("$", " ".join(cmd), flush=True)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["exit code %d" % done.returncode])[-1]
        print(reason, file=sys.stderr, flush=True)
        return {"failed": reason, "load_before": load}
    return {"generate_seconds": seconds, "load_before": load}


def evaluate(seeds: Path, reference: Path, train: Path, out: Path) -> dict:
    if not (out / "metrics.json").is_file():
        run(["seedgen", "eval", str(seeds), "--reference", str(reference), "--train", str(train), "-o", str(out),
             "--quiet"])
    return json.loads((out / "metrics.json").read_text())["summary"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path)
    parser.add_argument("--train", type=Path, required=True, help="the training images (near-copies)")
    parser.add_argument("--candidate", action="append", default=[], metavar="NAME=MODEL")
    parser.add_argument("--size", default="256")
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    heldout = held_back(work)
    results_path = work / "candidates.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    if "library" not in results:   # the library against itself: its own diversity, the 0.9x target's base
        results["library"] = evaluate(REPO / "samples", REPO / "samples", args.train, work / "library-eval")
    for item in args.candidate:
        name, model = item.split("=", 1)
        folder = work / name
        entry = results.get(name, {})
        if "generate_seconds" not in entry and "failed" not in entry:
            shutil.rmtree(folder / "seeds", ignore_errors=True)
            entry.update(generate(model, folder / "seeds", args.n, args.size))
        entry["model"] = model
        if "failed" not in entry:
            entry["vs_samples"] = evaluate(folder / "seeds", REPO / "samples", args.train, folder / "eval-samples")
            entry["vs_heldout"] = evaluate(folder / "seeds", heldout, args.train, folder / "eval-heldout")
            entry["contact_sheet"] = str(folder / "seeds" / "contact-s1.png")
        results[name] = entry
        results_path.write_text(json.dumps(results, indent=1))
    library_diversity = results["library"]["diversity"]
    print("| candidate | FD samples | KID x1e3 samples | FD held-back | KID x1e3 held-back | diversity (x library) "
          "| near-copies (fingerprint / features) | Mosaic: coverage / variation spread / colours / edge density "
          "| 50 seeds (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, entry in results.items():
        if name == "library":
            continue
        if "failed" in entry:
            print(f"| {name} | - | - | - | - | - | - | - | fails: {entry['failed']} |")
            continue
        s, h = entry["vs_samples"], entry["vs_heldout"]
        print(f"| {name} | {s['fd']:.0f} | {s['kid_x1e3']:.1f} | {h['fd']:.0f} | {h['kid_x1e3']:.1f} | "
              f"{s['diversity']:.3f} ({s['diversity'] / library_diversity:.2f}x) | "
              f"{100 * s['near_copy_share']:.0f}% / {100 * (s['embedding_near_copy_share'] or 0):.0f}% | "
              f"{s['coverage']:.2f} / {s['variation_spread']:.3f} / {s['colour_count']:.1f} / {s['edge_density']:.3f} | "
              f"{entry['generate_seconds']:.1f} |")
    lib = results["library"]
    print(f"library (samples/ against itself): diversity {library_diversity:.3f}; Mosaic: coverage "
          f"{lib['coverage']:.2f} / variation spread {lib['variation_spread']:.3f} / colours {lib['colour_count']:.1f} "
          f"/ edge density {lib['edge_density']:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
