"""What QAssure's answers hold (seed 003), for the rows whose answers are reshaped and for the
OpenAPI document; and the pieces of reshaping several domains share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.rest.rows import Call, Shape, pick

Status = Literal["active", "suspended", "deleted"]


def latest(*places: str) -> Shape:
    """The object at the first of `places` (dotted paths into the data) the operations answered:
    the last step a row took, when its later steps run only when asked for."""

    def shape(value: Any, _call: Call) -> Any:
        return next(pick(value, place) for place in places if pick(value, place) is not None)

    return shape


def text_or_empty(value: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """`value` with the named fields, which the document gives as strings, empty where GraphQL has none."""
    return {**value, **{name: value[name] or "" for name in names}}


class QAssureTenant(BaseModel):
    id: str
    name: str
    slug: str
    status: Status
    settings: dict[str, Any] | None
    subscription_tier: str | None
    max_users: int | None = Field(description="null: no limit")
    max_modules: int | None = Field(description="null: no limit")
    created_at: datetime
    updated_at: datetime


class QAssureUser(BaseModel):
    id: str
    email: str
    first_name: str = Field(description="empty when the user has none")
    last_name: str = Field(description="empty when the user has none")
    status: Status
    auth_provider: str
    tenant_id: str | None
    role_id: str | None
    created_at: datetime
    updated_at: datetime


class QAssureRole(BaseModel):
    id: str
    name: str
    code: str = Field(description="the system role the role is, or is made from")
    description: str | None
    scope: Literal["platform", "tenant", "module"]
    created_at: str = Field(description="ISO 8601; empty for a system role, which was never made")
    updated_at: str = Field(description="ISO 8601; empty for a system role, which was never changed")
