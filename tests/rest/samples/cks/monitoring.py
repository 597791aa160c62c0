"""CKS monitoring samples (seed 001: the tenant's health, alerts and their acknowledgement, incidents)."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World
from tests.support.alerts import stored_alert

MONITORING = "/api/tenants/{tenantId}/monitoring"


@sample()
async def system_health(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id})


@sample()
async def alerts(world: World) -> Request:
    await stored_alert(world.db, world.tenant.id, world.cluster_id)
    query = {"severity": "critical", "status": "firing", "page": 1, "pageSize": 20}
    return Request(path={"tenantId": world.tenant.id}, query=query)


@sample(weak="viewer", writes=True)
async def acknowledge_alert(world: World) -> Request:
    alert_id, _ = await stored_alert(world.db, world.tenant.id, world.cluster_id)
    body = {"note": "Investigating the node pressure on prod-eu-1"}
    return Request(path={"tenantId": world.tenant.id, "id": alert_id}, body=body, role="operator")


@sample()
async def incidents(world: World) -> Request:
    await stored_alert(world.db, world.tenant.id, world.cluster_id)
    return Request(path={"tenantId": world.tenant.id}, query={"page": 1, "pageSize": 20})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", f"{MONITORING}/health"): system_health,
    ("GET", f"{MONITORING}/alerts"): alerts,
    ("POST", f"{MONITORING}/alerts/{{id}}/acknowledge"): acknowledge_alert,
    ("GET", f"{MONITORING}/incidents"): incidents,
}
