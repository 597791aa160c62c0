"""`/ready`: may this process take traffic? Unlike `/health` (liveness: the process answers, and
nothing else is looked at, so a database outage never gets a pod restarted), readiness needs the
database to answer, the bus to carry a message and the schema to be at the migrations' head; a
load balancer or Kubernetes stops sending requests while any of them fails (503)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from app import probes
from app.services import Services


async def ready(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    database, bus, migrations = await asyncio.gather(
        probes.database(services.db), probes.bus(services.bus), probes.migrations(services.db)
    )
    checks = {"database": database, "bus": bus, "migrations": migrations}
    failing = sorted(name for name, probe in checks.items() if probe.status != probes.OK)
    body = {
        "status": "not ready" if failing else "ready",
        "checks": {name: probe.answer() for name, probe in checks.items()},
        "failing": failing,
    }
    return JSONResponse(body, status_code=503 if failing else 200, headers={"Cache-Control": "no-store"})
