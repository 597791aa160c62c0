"""The signed-in user's notifications (operations that ended, and more), listed and live."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from app.db import models
from resolvers import notifications as resolve
from schema.base import Node
from schema.common import Done
from schema.permissions import SignedIn


@strawberry.type
class Notification(Node):
    id: strawberry.ID
    kind: str
    severity: str = strawberry.field(description="info, warning or error")
    title: str
    message: str
    target_type: str | None
    target_id: strawberry.ID | None
    read: bool
    read_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, m: models.Notification) -> Notification:
        return cls(
            id=strawberry.ID(m.id),
            kind=m.kind,
            severity=m.severity,
            title=m.title,
            message=m.message,
            target_type=m.target_type,
            target_id=strawberry.ID(m.target_id) if m.target_id else None,
            read=m.read_at is not None,
            read_at=m.read_at,
            created_at=m.created_at,
        )


@strawberry.type
class MarkedRead:
    count: int


@strawberry.type
class NotificationQuery:
    @strawberry.field(permission_classes=[SignedIn], description="Your own notifications, newest first.")
    async def notifications(self, info: Info, unread_only: bool = False, limit: int = 50) -> list[Notification] | None:
        rows = await resolve.list_notifications(info.context, unread_only, max(1, min(limit, 200)))
        return [Notification.from_model(r) for r in rows]


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(permission_classes=[SignedIn], description="Without `ids`: all of yours.")
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID] | None = None) -> MarkedRead:
        count = await resolve.mark_read(info.context, [str(i) for i in ids] if ids is not None else None)
        return MarkedRead(count=count)

    @strawberry.mutation(permission_classes=[SignedIn], description="Deletes one of your notifications.")
    async def dismiss_notification(self, info: Info, id: strawberry.ID) -> Done:
        await resolve.dismiss(info.context, str(id))
        return Done(id=id)


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(
        permission_classes=[SignedIn],
        description="Your new notifications as they arrive; with includeUnread, your unread ones first.",
    )
    async def notifications(self, info: Info, include_unread: bool = False) -> AsyncGenerator[Notification, None]:
        async for row in resolve.notification_stream(info.context, include_unread):
            yield Notification.from_model(row)
