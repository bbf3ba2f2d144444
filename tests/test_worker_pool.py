"""generate's worker pool: a real spawned worker and this process share a batch of jobs, in order, each on one
thread; a failing job fails the batch."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import cv2
import pytest
import torch

from seedgen.generation.worker_pool import (CpuSample, cpu_sample, idle_cores, one_thread, others_busy, shared_map,
                                            start_pool)


def slow_square(job: int) -> tuple[int, int, int]:
    """(job, its square, the process that did it), after long enough for the other process to take jobs too."""
    time.sleep(0.05)
    return job, job * job, os.getpid()


def threads_here(_: int) -> tuple[int, int]:
    from threadpoolctl import threadpool_info

    return cv2.getNumThreads(), max((pool["num_threads"] for pool in threadpool_info()), default=1)


def fails_on_three(job: int) -> int:
    if job == 3:
        raise ValueError("three")
    return job


@pytest.fixture(scope="module")
def pool():
    pool = start_pool(2)       # this process and one worker
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def test_one_process_needs_no_pool():
    assert start_pool(1) is None
    assert shared_map(None, slow_square, [2, 3]) == [slow_square(2)[:2] + (os.getpid(),), (3, 9, os.getpid())]


def test_the_worker_and_this_process_share_the_jobs_in_order(pool):
    jobs = list(range(16))
    here = lambda job: (job, job * job, -1)  # noqa: E731 - marks what this process did
    results = shared_map(pool, slow_square, jobs, here)
    assert [r[:2] for r in results] == [(j, j * j) for j in jobs]
    mine = [r[0] for r in results if r[2] == -1]
    theirs = {r[2] for r in results if r[2] != -1}
    assert mine and theirs and os.getpid() not in theirs   # both worked
    assert mine == list(range(16 - len(mine), 16))         # this process took jobs from the back


def test_every_process_works_on_one_thread(pool):
    before = cv2.getNumThreads(), torch.get_num_threads()
    results = shared_map(pool, threads_here, list(range(6)))
    assert set(results) == {(1, 1)}
    assert (cv2.getNumThreads(), torch.get_num_threads()) == before   # restored here afterwards
    with one_thread():
        assert threads_here(0) == (1, 1) and torch.get_num_threads() == 1


def test_a_failing_job_fails_the_batch_and_the_pool_goes_on(pool):
    with pytest.raises(ValueError, match="three"):
        shared_map(pool, fails_on_three, list(range(8)))
    assert shared_map(pool, slow_square, [5, 6])[0][:2] == (5, 25)


def test_other_processes_use_is_the_busy_time_less_this_process_own():
    before = CpuSample(busy=100.0, own=2.0, wall=50.0)
    assert others_busy(before, CpuSample(busy=101.0, own=2.5, wall=50.5)) == pytest.approx(1.0)   # one core busy
    assert others_busy(before, CpuSample(busy=100.5, own=2.5, wall=50.5)) == 0.0                    # only us
    assert others_busy(before, before) == 0.0


@pytest.mark.skipif(cpu_sample() is None, reason="reads /proc/stat: Linux")
def test_a_busy_process_takes_a_core_from_the_count():
    cores = len(os.sched_getaffinity(0))
    quiet = idle_cores()
    assert 1 <= quiet <= cores
    before = cpu_sample()
    spinner = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() < t + 3: pass"])
    try:
        time.sleep(0.5)      # the interpreter starting, then spinning
        before = cpu_sample()
        time.sleep(0.6)
        busy = others_busy(before, cpu_sample())
        counted = idle_cores()
    finally:
        spinner.kill()
        spinner.wait()
    assert 0.8 < busy < cores + 0.01                 # the spinner's core, and what else runs on the machine
    assert counted <= max(1, cores - 1)
