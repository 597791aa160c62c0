"""Silences: alerts whose labels match every matcher are kept but not delivered while one is active.

Matchers follow Alertmanager (`name`, `value`, regex or not, equal or not; regexes anchored);
a silence that would match every alert is refused. Creating and expiring one needs
`alerts:write` and is audited; the evaluators hear of it on the tenant's silences channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlalchemy import select

from app import audit
from app.alerts.channels import silences_channel
from app.alerts.silences import Matcher, validate_matchers
from app.context import RequestContext
from app.db.alerts import Silence
from app.db.types import utcnow
from app.errors import BadUserInput
from app.ids import new_id
from app.validation import validated
from resolvers.common import get_or_404

LONGEST = timedelta(days=90)


class MatcherInput(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    value: str = Field(max_length=1000)
    is_regex: bool = False
    is_equal: bool = True


class SilenceInput(BaseModel):
    matchers: list[MatcherInput] = Field(min_length=1, max_length=20)
    starts_at: datetime | None = None
    ends_at: datetime
    comment: str = Field(default="", max_length=2000)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _zoned(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("must carry a zone (UTC: Z)")
        return moment

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, ends_at: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("starts_at") or utcnow()
        if ends_at <= start:
            raise ValueError("must be after startsAt (or after now)")
        if ends_at - start > LONGEST:
            raise ValueError(f"a silence lasts at most {LONGEST.days} days")
        return ends_at


def _matchers(data: SilenceInput) -> list[Matcher]:
    return [Matcher(m.name, m.value, m.is_regex, m.is_equal) for m in data.matchers]


async def list_silences(ctx: RequestContext, tenant_id: str, active_only: bool) -> list[Silence]:
    query = select(Silence).where(Silence.tenant_id == tenant_id)
    if active_only:
        now = utcnow()
        query = query.where(Silence.starts_at <= now, Silence.ends_at > now)
    async with ctx.db.session(ctx.scope) as session:
        return list((await session.execute(query.order_by(Silence.ends_at.desc(), Silence.id))).scalars())


async def create_silence(ctx: RequestContext, tenant_id: str, data: dict[str, object]) -> Silence:
    silence = validated(SilenceInput, data)
    matchers = _matchers(silence)
    validate_matchers(matchers)
    row = Silence(
        id=new_id("silence"), tenant_id=tenant_id, starts_at=silence.starts_at or utcnow(), ends_at=silence.ends_at,
        matchers=[m.model_dump(by_alias=False) for m in silence.matchers], comment=silence.comment,
        created_by=ctx.require_principal().user_id,
    )  # fmt: skip
    async with ctx.db.transaction(ctx.scope) as session:
        session.add(row)
        audit.record(session, ctx.actor(), "silence.created", tenant_id=tenant_id, target_type="silence",
                     target_id=row.id, changes={"matchers": row.matchers, "endsAt": row.ends_at.isoformat()})
    await ctx.services.bus.publish(silences_channel(tenant_id), {"type": "CREATED", "id": row.id})
    return row


async def expire_silence(ctx: RequestContext, silence_id: str) -> Silence:
    """Ends an active or future silence now; one already over is left as it was (BAD_USER_INPUT)."""
    async with ctx.db.transaction(ctx.scope) as session:
        row = await get_or_404(session, Silence, silence_id, "silence")
        now = utcnow()
        if row.ends_at <= now:
            raise BadUserInput.field("id", "this silence has already ended")
        row.ends_at = now
        row.starts_at = min(row.starts_at, now)
        audit.record(session, ctx.actor(), "silence.expired", tenant_id=row.tenant_id, target_type="silence",
                     target_id=row.id)
    await ctx.services.bus.publish(silences_channel(row.tenant_id or ""), {"type": "EXPIRED", "id": row.id})
    return row
