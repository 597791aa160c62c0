"""CKS monitoring samples (seed 001: "GET /api/tenants/{tenantId}/monitoring/health")."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample()
async def system_health(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/tenants/{tenantId}/monitoring/health"): system_health,
}
