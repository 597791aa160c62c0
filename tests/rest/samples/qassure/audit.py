"""QAssure samples: audit logs (seed 003, "6. AUDIT LOGS APIs"), for those who read the trail; an
operator does not."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample(weak="operator", foreign=False)
async def list_audit_logs(world: World) -> Request:
    return Request(query={"page": 1, "limit": 20, "method": "DELETE", "orderBy[]": ["created_at", "desc"]})


@sample(weak="operator")
async def get_audit_log(world: World) -> Request:
    entries = await world.gql("{ auditLogs(first: 1) { nodes { id } } }")
    return Request(path={"id": entries["auditLogs"]["nodes"][0]["id"]})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/audit-logs"): list_audit_logs,
    ("GET", "/api/v1/audit-logs/{id}"): get_audit_log,
}
