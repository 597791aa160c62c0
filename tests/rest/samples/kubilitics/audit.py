"""Kubilitics samples (seed 002): the audit log."""

from __future__ import annotations

from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World


@sample(weak="operator", foreign=False)
async def audit_log(world: World) -> Request:
    return Request(query={"action": "user.*", "since": "2025-01-01T00:00:00Z", "limit": 100})


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/api/v1/audit-log"): audit_log,
}
