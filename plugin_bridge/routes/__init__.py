"""The bridge's routes, one module per resource; `create_app` includes `ROUTERS` in this order.

service: health, versions, the library's place, the API's description; models: models and generate options;
jobs: start and follow jobs; seeds: the library's seeds and their files. Each route gets what it shares with
the others (seed library, job queue, settings) through the dependencies of `routes.state`.
"""
from __future__ import annotations

from plugin_bridge.routes import jobs, models, seeds, service

ROUTERS = (service.router, models.router, jobs.router, seeds.router)
