"""Per-user notifications: stored, then pushed to the user's live `notifications` streams."""

from __future__ import annotations

from typing import Any

from app.db.models import Notification
from app.db.session import Database
from app.ids import new_id
from app.realtime.bus import RealtimeBus


def notification_channel(user_id: str) -> str:
    return f"notifications.{user_id}"


def as_event(row: Notification) -> dict[str, Any]:
    return {"type": "ADDED", "kind": "Notification", "name": row.id, "id": row.id, "userId": row.user_id}


async def notify(
    db: Database,
    bus: RealtimeBus,
    *,
    tenant_id: str | None,
    user_id: str,
    kind: str,
    title: str,
    message: str = "",
    severity: str = "info",
    target: tuple[str, str] | None = None,
) -> Notification:
    row = Notification(
        id=new_id("notification"),
        tenant_id=tenant_id,
        user_id=user_id,
        kind=kind,
        severity=severity,
        title=title[:200],
        message=message,
        target_type=target[0] if target else None,
        target_id=target[1] if target else None,
    )
    async with db.transaction() as session:
        session.add(row)
    await bus.publish(notification_channel(user_id), as_event(row))
    return row
