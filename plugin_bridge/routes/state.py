"""What every route shares, kept on `app.state` by `create_app`, and the dependencies that hand it to a route.

The dependencies are `async` so that FastAPI calls them on the event loop: an `async` route (job status,
health) then never waits for a thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from plugin_bridge.jobs import JobQueue
from plugin_bridge.library import SeedLibrary
from plugin_bridge.settings import BridgeConfig


def attach(app: FastAPI, library: Path, config: BridgeConfig, start_jobs: bool) -> None:
    """Open the seed library and its job queue for `app` (the queue starts with the app if `start_jobs`)."""
    seeds = SeedLibrary(library)
    app.state.library = seeds
    app.state.jobs = JobQueue(seeds.root, seeds.jobs_dir, config.workers, config.queue, config.job_timeout_s,
                              warm=config.warm_processes)
    app.state.config = config
    app.state.start_jobs = start_jobs


async def seed_library(request: Request) -> SeedLibrary:
    return request.app.state.library


async def job_queue(request: Request) -> JobQueue:
    return request.app.state.jobs


async def bridge_config(request: Request) -> BridgeConfig:
    return request.app.state.config


Library = Annotated[SeedLibrary, Depends(seed_library)]
Jobs = Annotated[JobQueue, Depends(job_queue)]
Config = Annotated[BridgeConfig, Depends(bridge_config)]
