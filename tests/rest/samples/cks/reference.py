"""CKS samples: the API reference."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample()
async def api_reference(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id}, role="viewer")


SAMPLES: dict[tuple[str, str], Sample] = {("GET", "/api/tenants/{tenantId}/api-reference"): api_reference}
