"""Jobs: long work (generate, augment, vectorize) queued, run one subprocess each, and remembered on disk.

A bounded pool of worker threads takes jobs from a bounded queue; when `workers + queue_size` jobs are
already waiting or running, a new one is refused (the API answers 429) instead of piling up. Each job runs
in its own Python process (`python -m plugin_bridge.job_process`), so an exception, a segfault in a native
library, a runaway allocation or a hang (killed at `timeout_s`) ends that job only, never the server.

Every state change is written atomically to `LIBRARY/.jobs/<id>.json`, so the job history survives a
restart. A job that was queued or running when the server died is marked `interrupted` on the next start.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from augment.output import write_json_atomic

QUEUED, RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "queued", "running", "succeeded", "failed", "interrupted"
ACTIVE_STATES = (QUEUED, RUNNING)
JOB_ID_LENGTH = 32  # uuid4().hex
PROGRESS_SAVE_INTERVAL_S = 0.5  # write progress to disk at most this often (every state change is written)
STOP_GRACE_S = 3.0  # on shutdown a job process gets this long to exit after its stdin closes, then it is killed
MAX_MESSAGE_CHARS = 500


class QueueFull(RuntimeError):
    """The queue already holds as many jobs as it may; try again when one finishes."""


class JobNotFound(LookupError):
    pass


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Job:
    """One job's record, exactly as stored in `.jobs/<id>.json` and returned by the API."""

    id: str
    kind: str
    params: dict
    state: str = QUEUED
    created: str = field(default_factory=now_iso)
    started: str | None = None
    finished: str | None = None
    progress: dict = field(default_factory=lambda: {"done": 0, "total": 0})
    message: str = ""
    result: dict | None = None
    pid: int | None = None
    exit_code: int | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Job":
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in data.items() if k in names})


def is_job_id(text: str) -> bool:
    return len(text) == JOB_ID_LENGTH and all(c in "0123456789abcdef" for c in text)


class JobQueue:
    """Runs jobs in subprocesses with at most `workers` at once and `queue_size` waiting."""

    def __init__(
        self,
        library: Path,
        jobs_dir: Path,
        workers: int = 1,
        queue_size: int = 16,
        timeout_s: float = 3600.0,
        warm: bool = True,
    ) -> None:
        if workers < 1 or queue_size < 0:
            raise ValueError("workers must be >= 1 and queue_size >= 0")
        self.library = Path(library)
        self.jobs_dir = Path(jobs_dir)
        self.workers = workers
        self.queue_size = queue_size
        self.timeout_s = timeout_s
        self.warm = warm
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()  # guards the job records in memory (held briefly, never during I/O)
        self._save_lock = threading.Lock()  # orders writes of job records to disk
        self._pending: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._processes: dict[str, subprocess.Popen] = {}  # job id -> its running process
        self._idle: set[subprocess.Popen] = set()  # warm processes waiting for a job
        self._stopping = threading.Event()
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._load_history()

    # ---- history ------------------------------------------------------------------------------------

    def _load_history(self) -> None:
        for path in sorted(self.jobs_dir.glob("*.json")):
            try:
                job = Job.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue  # a damaged record is skipped, not fatal
            if not is_job_id(job.id) or path.stem != job.id:
                continue
            if job.state in ACTIVE_STATES:
                job.state = INTERRUPTED
                job.message = "the bridge stopped before this job finished"
                job.finished = job.finished or now_iso()
                job.pid = None
                self._save(job)
            self._jobs[job.id] = job

    def _save(self, job: Job) -> None:
        """Write the job's record. Never called with `_lock` held: readers must not wait for fsync."""
        with self._save_lock:  # one writer at a time, so the last snapshot taken is the last written
            with self._lock:
                data = job.to_json()
            write_json_atomic(self.jobs_dir / f"{job.id}.json", data, overwrite=True)

    # ---- public -------------------------------------------------------------------------------------

    def start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"seedgen-job-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, kind: str, params: dict) -> Job:
        """Queue a job; raises QueueFull when `workers + queue_size` jobs are already waiting or running."""
        with self._lock:
            if self._stopping.is_set():
                raise QueueFull("the bridge is shutting down")
            active = sum(1 for job in self._jobs.values() if job.state in ACTIVE_STATES)
            if active >= self.workers + self.queue_size:
                raise QueueFull(
                    f"the job queue is full ({active} jobs waiting or running); try again when one finishes"
                )
            job = Job(id=uuid.uuid4().hex, kind=kind, params=params)
            self._jobs[job.id] = job
        self._save(job)
        self._pending.put(job.id)
        return Job.from_json(job.to_json())

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise JobNotFound(f"no job {job_id!r}")
            return Job.from_json(job.to_json())

    def list(self, limit: int = 100) -> list[Job]:
        """The newest `limit` jobs, newest first."""
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: (j.created, j.id), reverse=True)[:limit]
            return [Job.from_json(j.to_json()) for j in jobs]

    def counts(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for job in self._jobs.values():
                out[job.state] = out.get(job.state, 0) + 1
            return out

    def stop(self) -> None:
        """Stop taking jobs, end running ones (they are marked interrupted), and join the workers."""
        self._stopping.set()
        with self._lock:
            processes = list(self._processes.values())
            idle, self._idle = list(self._idle), set()
        for proc in idle:
            _discard(proc)
        for proc in processes:
            _close_quietly(proc.stdin)  # the job process exits when its stdin closes
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in processes:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        for _ in self._threads:
            self._pending.put(None)
        for thread in self._threads:
            thread.join(timeout=STOP_GRACE_S + 2)
        with self._lock:
            leftovers = [job for job in self._jobs.values() if job.state in ACTIVE_STATES]
            for job in leftovers:
                job.state, job.pid = INTERRUPTED, None
                job.message = "the bridge stopped before this job finished"
                job.finished = now_iso()
        for job in leftovers:
            self._save(job)

    # ---- running ------------------------------------------------------------------------------------

    def _work(self) -> None:
        warm = self._spawn() if self.warm else None
        try:
            while True:
                job_id = self._pending.get()
                if job_id is None or self._stopping.is_set():
                    return
                if warm is None or warm.poll() is not None:  # none ready, or it died while waiting
                    self._forget(warm)
                    warm = self._spawn()
                proc, warm = warm, None
                with self._lock:
                    self._idle.discard(proc)
                try:
                    self._run(job_id, proc)
                except Exception as exc:  # noqa: BLE001 - a bug here must not kill the worker thread
                    proc.kill()
                    self._finish(job_id, FAILED, f"bridge error: {type(exc).__name__}: {exc}", None, None)
                if self.warm and not self._stopping.is_set():
                    warm = self._spawn()
        finally:
            self._forget(warm)

    def _forget(self, proc: subprocess.Popen | None) -> None:
        with self._lock:
            self._idle.discard(proc)
        _discard(proc)

    def _spawn(self) -> subprocess.Popen:
        """Start a job process; a warm one loads the pipeline's modules first, then waits on stdin for its job."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "plugin_bridge.job_process", *([] if self.warm else ["--no-preload"])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # until it has a job; then it writes to that job's log
            # `-m` puts the working folder first on sys.path: use the bridge's own jobs folder, never the
            # library, where any file could shadow a module; PYTHONSAFEPATH drops it (Python 3.11+)
            cwd=str(self.jobs_dir),
            env=_job_environment(),
            start_new_session=(os.name == "posix"),  # a Ctrl-C at the terminal reaches the server only
        )
        with self._lock:
            self._idle.add(proc)
        return proc

    def _run(self, job_id: str, proc: subprocess.Popen) -> None:
        workdir = self.jobs_dir / job_id
        workdir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            job = self._jobs[job_id]
            spec = {"id": job.id, "kind": job.kind, "params": job.params, "library": str(self.library),
                    "workdir": str(workdir), "log": str(self.jobs_dir / f"{job_id}.log")}
        with self._lock:
            self._processes[job_id] = proc
            job.state, job.started, job.pid = RUNNING, now_iso(), proc.pid
        self._save(job)
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(self.timeout_s, on_timeout)
        timer.daemon = True
        timer.start()
        outcome: dict = {}
        try:
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps(spec).encode("utf-8") + b"\n")
                proc.stdin.flush()  # stdin stays open: closing it asks the job to stop
            except (BrokenPipeError, OSError):
                pass
            last_save = 0.0
            for raw in proc.stdout:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(message, dict):
                    continue
                if "progress" in message:
                    done, total = _progress(message["progress"])
                    with self._lock:
                        job.progress = {"done": done, "total": total}
                    if time.monotonic() - last_save >= PROGRESS_SAVE_INTERVAL_S:
                        self._save(job)
                        last_save = time.monotonic()
                elif "result" in message or "error" in message:
                    outcome = message
            exit_code = proc.wait()
        finally:
            timer.cancel()
            _close_quietly(proc.stdin)
            _close_quietly(proc.stdout)
            with self._lock:
                self._processes.pop(job_id, None)
        if self._stopping.is_set() and "result" not in outcome:
            self._finish(job_id, INTERRUPTED, "the bridge stopped before this job finished", None, exit_code)
        elif timed_out.is_set():
            self._finish(job_id, FAILED, f"job ran longer than {self.timeout_s:g} s and was stopped", None, exit_code)
        elif "error" in outcome:
            self._finish(job_id, FAILED, str(outcome["error"]), None, exit_code)
        elif "result" in outcome and exit_code == 0:
            result = outcome["result"] if isinstance(outcome["result"], dict) else {"value": outcome["result"]}
            self._finish(job_id, SUCCEEDED, "", result, exit_code)
        else:
            self._finish(job_id, FAILED, _crash_message(exit_code), None, exit_code)

    def _finish(self, job_id: str, state: str, message: str, result: dict | None, exit_code: int | None) -> None:
        with self._lock:
            job = self._jobs[job_id]
            job.state, job.result, job.exit_code, job.pid = state, result, exit_code, None
            job.message = message.strip().splitlines()[0][:MAX_MESSAGE_CHARS] if message.strip() else ""
            job.finished = now_iso()
            if state == SUCCEEDED and job.progress.get("total"):
                job.progress["done"] = job.progress["total"]
        self._save(job)


def _job_environment() -> dict[str, str]:
    """The server's environment, with this very checkout first on the path and the working folder off it."""
    source_root = str(Path(__file__).resolve().parents[1])  # the folder holding plugin_bridge/, seedgen/...
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONSAFEPATH": "1",
            "PYTHONPATH": source_root + (os.pathsep + path if path else "")}


def _discard(proc: subprocess.Popen | None) -> None:
    """End an idle job process (it holds no work, so it is simply killed) and reap it."""
    if proc is None:
        return
    _close_quietly(proc.stdin)
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _close_quietly(proc.stdout)


def _progress(value: object) -> tuple[int, int]:
    try:
        done, total = value  # type: ignore[misc]
        return max(0, int(done)), max(0, int(total))
    except (TypeError, ValueError):
        return 0, 0


def _crash_message(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"the job process crashed ({name}); the bridge is still running"
    return f"the job process ended without a result (exit code {exit_code}); see its log in .jobs/"


def _close_quietly(stream) -> None:
    try:
        if stream is not None:
            stream.close()
    except OSError:
        pass
