"""Provisioner samples: the audit trail (seed 004, "Audit Log Endpoints"). Reading it takes
audit:read, which Fleetgraph's operator does not have."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample(weak="operator", foreign=False)
async def list_audit_logs(world: World) -> Request:
    return Request(query={"page": 1, "page_size": 20})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/audit-logs"): list_audit_logs,
}
