"""The worker processes of one generate run, and how the run shares its jobs with them.

A run that works in P processes starts P - 1 workers and works beside them itself: `shared_map` queues every
job for the workers, and this process takes jobs from the back of the queue (cancelling each one before a
worker starts it) until none is left. So no core waits for this process, and the run spends one torch import
and one model load less than it would with P workers (2-2.5 s of CPU, a tenth of a 50-seed run on 2 cores).

Every process works on one thread (torch, OpenCV, and the BLAS and OpenMP pools, through threadpoolctl): P
processes on P cores are the parallelism, and threads on top only contend. Measured on the 2-core machine,
tracing a default seed on one thread took 0.34 s of CPU against 0.46 s with the libraries' own thread counts.

Workers are spawned (fresh interpreters: no torch, no CUDA state, no inherited threads) and import the
generation modules, which keep torch out of their top-level imports for that reason.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")
LOOK_SECONDS = 0.2   # the shortest window over which idle_cores measures the other processes' use
STALE_SECONDS = 5.0  # an older first sample (a long-lived process: the bridge) says nothing about now


@dataclass(frozen=True)
class CpuSample:
    """What the cores this process may use had spent busy (any process), what this process had spent, and when:
    all in seconds."""

    busy: float
    own: float
    wall: float


def cpu_sample() -> CpuSample | None:
    """Now, from /proc/stat (Linux: the busy jiffies of this process's allowed CPUs); None elsewhere."""
    try:
        allowed = os.sched_getaffinity(0)
        with open("/proc/stat", encoding="ascii") as stat:
            lines = stat.read().splitlines()
        tick = os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError):
        return None
    busy = 0
    for line in lines:
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in allowed:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
            busy += user + nice + system + irq + softirq + steal   # steal: taken by the host, not ours to use
    return CpuSample(busy / tick, time.process_time(), time.monotonic())


def others_busy(before: CpuSample, after: CpuSample) -> float:
    """How many cores other processes kept busy between two samples, on average."""
    wall = after.wall - before.wall
    if wall <= 0:
        return 0.0
    return max(0.0, (after.busy - before.busy) - (after.own - before.own)) / wall


_FIRST_SAMPLE = cpu_sample()   # a command's window starts when it starts (this module is imported with it)


def idle_cores() -> int:
    """CPU cores this process may use that nothing else is using now: its cores less the other processes' use
    since the command started (at least LOOK_SECONDS, or the last LOOK_SECONDS in a process that started long
    ago; Linux), or less the 1-minute load average elsewhere.

    On a shared machine more busy processes than idle cores slow everyone down: with the 2-core machine already
    loaded, two tracing workers made a run 1.7x slower than tracing in the main process (BENCHMARKS.md). The
    load average lags a minute behind: right after a run of its own on a quiet machine it still read ~1, and a
    second run then worked alone; the other processes' use now does not count this one's.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    busy, before = None, _FIRST_SAMPLE
    if before is not None and time.monotonic() - before.wall > STALE_SECONDS:
        before = cpu_sample()
    if before is not None:
        time.sleep(max(0.0, before.wall + LOOK_SECONDS - time.monotonic()))
        after = cpu_sample()
        busy = others_busy(before, after) if after is not None else None
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):
            busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def start_pool(processes: int):
    """A ProcessPoolExecutor of `processes` - 1 one-thread workers, started now so that their imports overlap
    this process's; None for one process."""
    if processes <= 1:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(processes - 1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_one_thread_for_good)
    for _ in range(processes - 1):
        pool.submit(_warm_up)
    return pool


def _warm_up() -> None:
    """Nothing: starting the worker, which imports the generation modules, is the point."""


def _one_thread_for_good() -> None:
    """A worker's initializer: every library on one thread for the worker's life (the environment for the
    thread pools of libraries loaded later, such as torch's on the first draw; threadpoolctl for those loaded)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(1)
    threadpool_limits(1)


@contextmanager
def one_thread() -> Iterator[None]:
    """This process on one thread while it works beside its workers (torch's count is restored only if torch
    was imported: importing it here would cost seconds)."""
    import sys

    import cv2
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    cv_threads, torch_threads = cv2.getNumThreads(), torch.get_num_threads() if torch else None
    cv2.setNumThreads(1)
    if torch:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        cv2.setNumThreads(cv_threads)
        if torch:
            torch.set_num_threads(torch_threads)


def shared_map(pool, fn: Callable[[Job], Result], jobs: Sequence[Job],
               here: Callable[[Job], Result] | None = None) -> list[Result]:
    """[fn(job) for job in jobs], in order, computed by the pool's workers and by this process (with `here`,
    which must give what `fn` gives: e.g. the same drawing from the model this process has loaded)."""
    here = here or fn
    if pool is None or len(jobs) < 2:
        return [here(job) for job in jobs]
    futures = [pool.submit(fn, job) for job in jobs]
    mine: dict[int, Result] = {}
    try:
        with one_thread():
            for k in reversed(range(len(jobs))):
                if not futures[k].cancel():   # a worker has it (or has done it): the rest are theirs
                    break
                mine[k] = here(jobs[k])
        return [mine[k] if k in mine else futures[k].result() for k in range(len(jobs))]
    finally:
        for future in futures:
            future.cancel()
