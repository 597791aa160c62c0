"""Dismissing a notification deletes one of the caller's own; anyone else's, in the same tenant
or another, is NOT_FOUND and stays."""

from __future__ import annotations

from app.db.models import Notification
from app.db.session import Database
from app.ids import new_id
from tests.support.api import Api, TenantUsers

DISMISS = "mutation($i:ID!){ dismissNotification(id:$i){ id ok } }"
MINE = "{ notifications { id } }"


async def _notify(db: Database, tenant: TenantUsers, role: str) -> str:
    notification = Notification(
        id=new_id("notification"), tenant_id=tenant.id, user_id=tenant.user_ids[role], kind="operation", title="Done"
    )
    async with db.transaction(tenant.id) as session:
        session.add(notification)
    return notification.id


async def test_only_its_owner_dismisses_a_notification(
    api: Api, db: Database, tenant_a: TenantUsers, tenant_b: TenantUsers
) -> None:
    mine = await _notify(db, tenant_a, "operator")
    for stranger in (tenant_a.tokens["tenant_admin"], tenant_a.tokens["viewer"], tenant_b.tokens["tenant_admin"]):
        assert await api.code(DISMISS, {"i": mine}, stranger) == "NOT_FOUND"
    listed = await api.ok(MINE, token=tenant_a.tokens["operator"])
    assert mine in {n["id"] for n in listed["notifications"]}
    done = await api.ok(DISMISS, {"i": mine}, tenant_a.tokens["operator"])
    assert done["dismissNotification"] == {"id": mine, "ok": True}
    listed = await api.ok(MINE, token=tenant_a.tokens["operator"])
    assert mine not in {n["id"] for n in listed["notifications"]}
    assert await api.code(DISMISS, {"i": mine}, tenant_a.tokens["operator"]) == "NOT_FOUND"
