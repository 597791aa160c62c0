"""Silences: matching alerts are kept but not delivered while one is active (`alerts:write`)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.db import alerts as rows
from resolvers import silences as resolve
from schema.permissions import requires

WRITE = "alerts:write"
ON_SILENCE = requires(WRITE)


@strawberry.type(description="An alert's label compared with a value (a regex, anchored, when isRegex).")
class SilenceMatcher:
    name: str
    value: str
    is_regex: bool
    is_equal: bool = strawberry.field(description="false: the label must NOT match")


@strawberry.input
class SilenceMatcherInput:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True


@strawberry.input
class SilenceInput:
    matchers: list[SilenceMatcherInput]
    ends_at: datetime
    starts_at: datetime | None = strawberry.field(default=None, description="Now when not given")
    comment: str = ""


@strawberry.type
class Silence:
    id: strawberry.ID
    tenant_id: strawberry.ID
    matchers: list[SilenceMatcher]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: strawberry.ID | None
    created_at: datetime

    @strawberry.field(description="pending (not started), active or expired, now")
    def status(self) -> str:
        now = datetime.now(self.ends_at.tzinfo)
        return "pending" if self.starts_at > now else "active" if self.ends_at > now else "expired"

    @classmethod
    def from_model(cls, m: rows.Silence) -> Silence:
        return cls(
            id=strawberry.ID(m.id), tenant_id=strawberry.ID(m.tenant_id or ""),
            matchers=[SilenceMatcher(name=x["name"], value=x["value"], is_regex=bool(x.get("is_regex")),
                                     is_equal=bool(x.get("is_equal", True))) for x in m.matchers or []],
            starts_at=m.starts_at, ends_at=m.ends_at, comment=m.comment,
            created_by=strawberry.ID(m.created_by) if m.created_by else None, created_at=m.created_at,
        )  # fmt: skip


@strawberry.type
class SilenceQuery:
    @strawberry.field(permission_classes=[requires("clusters:read")], description="Newest end first.")
    async def silences(self, info: Info, tenant_id: strawberry.ID, active_only: bool = False) -> list[Silence] | None:
        return [Silence.from_model(s) for s in await resolve.list_silences(info.context, str(tenant_id), active_only)]


@strawberry.type
class SilenceMutation:
    @strawberry.mutation(permission_classes=[ON_SILENCE])
    async def create_silence(self, info: Info, tenant_id: strawberry.ID, input: SilenceInput) -> Silence:
        data = {**vars(input), "matchers": [vars(m) for m in input.matchers]}
        return Silence.from_model(await resolve.create_silence(info.context, str(tenant_id), data))

    @strawberry.mutation(permission_classes=[ON_SILENCE], description="Ends the silence now.")
    async def expire_silence(self, info: Info, id: strawberry.ID) -> Silence:
        return Silence.from_model(await resolve.expire_silence(info.context, str(id)))
