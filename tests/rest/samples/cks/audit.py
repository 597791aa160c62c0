"""CKS samples: the tenant's audit trail and security events (seed 001, "Tenant-Scoped Security
& Audit"). Reading them takes `audit:read`, which an operator lacks."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.samples.cks.auth import new_user
from tests.rest.world import World

SECURITY = "/api/tenants/{tenantId}/security"


@sample(weak="operator")
async def audit_logs(world: World) -> Request:
    query = {"page": 1, "pageSize": 5, "userId": world.tenant.user_ids["tenant_admin"], "action": "user.*"}
    return Request(path={"tenantId": world.tenant.id}, query=query)


@sample(weak="operator")
async def security_events(world: World) -> Request:
    failed = {"e": await new_user(world), "p": "not-the-password"}  # one of its own: lockouts count failures
    await world.api.run("mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }", failed)
    return Request(path={"tenantId": world.tenant.id}, query={"page": 1, "pageSize": 5})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", SECURITY + "/audit-logs"): audit_logs,
    ("GET", SECURITY + "/events"): security_events,
}
