"""CKS's notification paths (`/api/tenants/{tenantId}/notifications`): list the caller's
notifications, mark some read, dismiss one. Each first asks GraphQL for the path's tenant, so
another tenant's path answers 404.

`notifications` answers a plain list of at most `LIMIT` (newest first), which the table pages;
it filters unread ones only, so `read=true` is refused rather than answered with every one."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.rest.rows import Call, Data, Listing, Row

DOC = "notifications.graphql"
TAG = "CKS: notifications"
NOTIFICATIONS = "/api/tenants/{tenantId}/notifications"
LIMIT = 200  # the most `notifications` answers at once


class NotificationFilter(BaseModel):
    read: bool | None = None

    @field_validator("read")
    @classmethod
    def _unread_only(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("only unread notifications can be listed apart: leave read out for all of them")
        return value


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[str, Field(max_length=100)]] = Field(max_length=1000)


def _listing(call: Call, _: Data) -> Data:
    read = call.query.read if isinstance(call.query, NotificationFilter) else None
    return {"tenantId": call.path["tenantId"], "unreadOnly": read is False, "limit": LIMIT}


ROWS = [
    Row(
        "GET",
        NOTIFICATIONS,
        DOC,
        ("CksNotifications",),
        "List notifications (filter, pagination)",
        TAG,
        query=NotificationFilter,
        variables=_listing,
        pick="notifications",
        listing=Listing("notifications"),
    ),
    Row(
        "POST",
        f"{NOTIFICATIONS}/mark-read",
        DOC,
        ("CksNotificationScope", "CksMarkNotificationsRead"),
        "Mark notification(s) as read",
        TAG,
        body=MarkRead,
        pick="markNotificationsRead",
    ),
    Row(
        "DELETE",
        f"{NOTIFICATIONS}/{{id}}",
        DOC,
        ("CksNotificationScope", "CksDismissNotification"),
        "Delete/dismiss notification",
        TAG,
        pick="dismissNotification",
    ),
]
