"""Data-parallel training under torchrun: two CPU processes (gloo) stay in sync; rank 0 alone writes files."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from seedgen.image_folder import ShardedOrder
from seedgen.checkpoint import load_networks, load_snapshot


def test_sharded_order_deals_one_global_order_to_all_ranks() -> None:
    single = ShardedOrder(10, seed=3)
    expected = [i for _ in range(3) for i in single.next_batch(4)]          # three batches of 4, one process
    ranks = [ShardedOrder(10, seed=3, rank=r, world_size=2) for r in range(2)]
    dealt = [[i for _ in range(3) for i in order.next_batch(2)] for order in ranks]
    merged = [dealt[step % 2][step // 2] for step in range(12)]
    assert merged == expected and set(dealt[0][:4]).isdisjoint(dealt[1][:4])   # no image twice in an epoch
    assert sorted(expected[:10]) == list(range(10))                          # each epoch is a permutation
    restarted = ShardedOrder(10, seed=3, rank=1, world_size=2, position=8)  # resume after two global batches
    assert restarted.next_batch(2) == dealt[1][4:6]


def test_two_processes_train_in_sync_and_write_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        image = np.full((32, 32, 3), rng.integers(0, 255, 3), np.uint8)
        image[8:20, :12] = rng.integers(0, 255, 3)
        Image.fromarray(image).save(data / f"{i}.png")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "seedgen.commands.train", str(data), "-o", str(run), "--cfg", "small", "--batch", "4",
           "--device", "cpu", "--kimg", "0.016", "--snap", "0.008", "--set", "channel_base=256",
           "--set", "channel_max=32", "--set", "z_dim=32", "--set", "w_dim=32", "--set", "grid=[2,2]"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    # Both ranks ran to the end with identical weights.
    finished = re.findall(r"rank (\d)/2: finished at kimg 0\.016 \(weights ([0-9a-f]{16})\)", done.stderr)
    assert sorted(rank for rank, _ in finished) == ["0", "1"], done.stderr[-3000:]
    assert len({checksum for _, checksum in finished}) == 1
    # Rank 0 alone reported and wrote: one summary, one set of files, one TensorBoard log.
    assert done.stdout.count("trained to kimg 0.016") == 1 and "on 2 processes" in done.stdout
    names = sorted(p.name for p in run.iterdir())
    assert [n for n in names if n.startswith("network-snapshot-") and n.endswith(".safetensors")] == [
        "network-snapshot-000000008.safetensors", "network-snapshot-000000016.safetensors"]
    assert len([n for n in names if n.startswith("events.out.tfevents")]) == 1
    assert not [n for n in names if n.endswith(".tmp")]
    snap = load_snapshot(run / "snapshot-latest")
    assert snap.state["world_size"] == 2 and snap.state["ranks_in_sync"] is True
    assert snap.state["cur_nimg"] == 16 and {"rng_cpu_0", "rng_cpu_1"} <= set(snap.tensors)
    assert not bool((snap.tensors["rng_cpu_0"] == snap.tensors["rng_cpu_1"]).all())   # each rank its own stream
    states, config = load_networks(run / "network-snapshot-000000016.safetensors")
    assert config["training"]["batch"] == 4 and set(states) == {"G", "D", "G_ema"}
