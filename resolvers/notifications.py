"""A user's own notifications: list, mark read, and the live stream of new ones."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import delete, select, update

from app.context import RequestContext
from app.db.models import Notification
from app.db.types import utcnow
from app.errors import NotFound
from app.notifications import notification_channel
from app.realtime.mailbox import Mailbox
from resolvers.realtime import until_signed_out


async def list_notifications(ctx: RequestContext, unread_only: bool, limit: int) -> list[Notification]:
    user_id = ctx.require_principal().user_id
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query)).scalars())


async def mark_read(ctx: RequestContext, ids: list[str] | None) -> int:
    """Marks the given notifications (or all) of the caller read; another user's IDs are ignored."""
    user_id = ctx.require_principal().user_id
    statement = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    async with ctx.db.transaction(ctx.scope) as session:
        result = await session.execute(statement.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def dismiss(ctx: RequestContext, notification_id: str) -> None:
    """Deletes one of the caller's notifications; another user's is NOT_FOUND, as if absent."""
    user_id = ctx.require_principal().user_id
    statement = delete(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    async with ctx.db.transaction(ctx.scope) as session:
        result = await session.execute(statement.execution_options(synchronize_session=False))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound.of("notification", notification_id)


async def notification_stream(ctx: RequestContext, include_unread: bool) -> AsyncIterator[Notification]:
    """New notifications as they come; with `include_unread`, first the unread ones (oldest first).

    The bus is listened to before the unread ones are read, so one created in between arrives
    once, either way."""
    user_id = ctx.require_principal().user_id
    mailbox = Mailbox(ctx.settings.subscription_queue_size)
    async with ctx.services.bus.listen(notification_channel(user_id), mailbox.put):
        shown: set[str] = set()
        if include_unread:
            for row in reversed(await list_notifications(ctx, True, 200)):
                shown.add(row.id)
                yield row
        async for event in until_signed_out(ctx, mailbox):
            if event.get("type") == "RESYNC" or str(event.get("id")) in shown:
                continue
            async with ctx.db.session(ctx.scope) as session:
                found = await session.get(Notification, str(event.get("id")))
            if found is not None and found.user_id == user_id:
                yield found
