"""CKS samples: the caller's notifications, under their tenant's path (seed 001, "Tenant-Scoped
Notifications"). Every role may call them about itself; another tenant's admin finds nothing."""

from __future__ import annotations

from app.db.models import Notification
from app.ids import new_id
from tests.rest.samples import Request, Sample, sample
from tests.rest.world import World

NOTIFICATIONS = "/api/tenants/{tenantId}/notifications"


@sample()
async def list_notifications(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id}, query={"page": 1, "pageSize": 20, "read": False}, role="viewer")


async def notify(world: World, role: str) -> str:
    """A notification for the role's user, stored as an ended operation would store it."""
    notification = Notification(
        id=new_id("notification"),
        tenant_id=world.tenant.id,
        user_id=world.tenant.user_ids[role],
        kind="operation",
        title="Upgrade finished",
        message="cluster upgraded",
    )
    async with world.db.transaction(world.tenant.id) as session:
        session.add(notification)
    return notification.id


@sample(writes=True)
async def mark_read(world: World) -> Request:
    ids = [await notify(world, "operator")]
    return Request(path={"tenantId": world.tenant.id}, body={"ids": ids}, role="operator")


@sample(writes=True)
async def dismiss(world: World) -> Request:
    return Request(path={"tenantId": world.tenant.id, "id": await notify(world, "operator")}, role="operator")


SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", NOTIFICATIONS): list_notifications,
    ("POST", NOTIFICATIONS + "/mark-read"): mark_read,
    ("DELETE", NOTIFICATIONS + "/{id}"): dismiss,
}
