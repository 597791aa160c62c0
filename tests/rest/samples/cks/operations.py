"""CKS operations-center samples (seed 001, "Tenant-Scoped Operations Center")."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.cks.clusters import idle, managed
from tests.rest.world import World

OPERATIONS = "/api/tenants/{tenantId}/operations"
OPERATION = OPERATIONS + "/{id}"


@sample()
async def list_operations(world: World) -> Request:
    await managed(world)
    return Request(path={"tenantId": world.tenant.id}, query={"page": 1, "pageSize": 20, "type": "scale"})


@sample()
async def get_operation(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": (await managed(world))["failed"]})


@sample(weak="developer", writes=True)
async def retry_operation(world: World) -> Request:
    found = await managed(world)
    await idle(world, found["cluster"])
    return Request(path={"tenantId": world.tenant.id, "id": found["failed"]})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", OPERATIONS): list_operations,
    ("GET", OPERATION): get_operation,
    ("POST", f"{OPERATION}/retry"): retry_operation,
}
