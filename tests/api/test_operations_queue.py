"""Operations wait in the queue while no runner is free: the shared test app runs none."""

from __future__ import annotations

from tests.support.api import Api, TenantUsers
from tests.support.lifecycle import CANCEL, CREATE, DELETE, OPERATION, SCALE, cks_input


async def test_cancel_a_queued_operation(api: Api, tenant_a: TenantUsers) -> None:
    """The shared app runs no operations, so what it queues stays queued until cancelled."""
    operator = tenant_a.tokens["operator"]
    data = await api.ok(CREATE, {"t": tenant_a.id, "in": cks_input("later-one", provisionImmediately=False)}, operator)
    assert data["createCluster"]["operation"] is None
    assert data["createCluster"]["cluster"]["status"] == "pending"
    cluster_id = data["createCluster"]["cluster"]["id"]
    assert await api.code(SCALE, {"id": cluster_id, "p": [{"id": "general", "nodeCount": 3}]}, operator) == "CONFLICT"
    start = "mutation($id:ID!){ startProvisioning(id:$id){ id status } }"
    operation = (await api.ok(start, {"id": cluster_id}, operator))["startProvisioning"]
    assert operation["status"] == "queued"
    assert await api.code(start, {"id": cluster_id}, operator) == "CONFLICT", "one operation at a time"
    cancelled = (await api.ok(CANCEL, {"id": operation["id"]}, operator))["cancelOperation"]
    assert cancelled["status"] == "cancelled"
    final = (await api.ok(OPERATION, {"id": operation["id"]}, operator))["operation"]
    assert all(p["status"] == "cancelled" for p in final["phases"]) and final["attempts"] == 0
    assert await api.code(CANCEL, {"id": operation["id"]}, operator) == "CONFLICT"
    deleted = await api.ok(DELETE, {"id": cluster_id, "d": False}, tenant_a.tokens["tenant_admin"])
    assert deleted["deleteCluster"]["status"] == "deleted" and deleted["deleteCluster"]["operation"] is None
