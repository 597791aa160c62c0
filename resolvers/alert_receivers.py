"""Webhook receivers: where a tenant's alerts are posted, in Alertmanager's webhook format.

Each receiver has a signing secret, made here and shown once (at creation), kept sealed; every
delivery carries an HMAC of its body with it (app/alerts/signing.py says how a receiver checks
it). A receiver's address is a tenant's choice, so it passes the outbound policy now and again
at every connection. Receivers are tenant-admin work (`alerts:admin`), audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from app import audit
from app.alerts.webhooks import validate_receiver_url
from app.context import RequestContext
from app.crypto import Sealer
from app.db.alerts import AlertDelivery, AlertReceiver
from app.ids import new_id
from app.outbound import OutboundPolicy
from app.validation import validated
from resolvers.common import get_or_404

SECRET_PURPOSE = "alert-receiver"
RECENT_DELIVERIES = 20


class ReceiverInput(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=8, max_length=2000)
    min_severity: Literal["critical", "warning", "info"] = "info"
    enabled: bool = True


@dataclass(frozen=True)
class NewReceiver:
    receiver: AlertReceiver
    secret: str  # shown this once


def receiver_sealer(ctx: RequestContext) -> Sealer:
    return Sealer(ctx.settings.secret(), SECRET_PURPOSE)


async def list_receivers(ctx: RequestContext, tenant_id: str) -> list[AlertReceiver]:
    async with ctx.db.session(ctx.scope) as session:
        query = select(AlertReceiver).where(AlertReceiver.tenant_id == tenant_id).order_by(AlertReceiver.name)
        return list((await session.execute(query)).scalars())


async def create_receiver(ctx: RequestContext, tenant_id: str, data: dict[str, object]) -> NewReceiver:
    receiver = validated(ReceiverInput, data)
    validate_receiver_url(receiver.url, OutboundPolicy.from_settings(ctx.settings))
    secret = secrets.token_urlsafe(32)
    row = AlertReceiver(
        id=new_id("alert_receiver"), tenant_id=tenant_id, secret_sealed=receiver_sealer(ctx).seal(secret),
        created_by=ctx.require_principal().user_id, **receiver.model_dump(),
    )  # fmt: skip
    async with ctx.db.transaction(ctx.scope) as session:
        session.add(row)
        audit.record(session, ctx.actor(), "alert_receiver.created", tenant_id=tenant_id,
                     target_type="alert_receiver", target_id=row.id,
                     changes={"name": receiver.name, "minSeverity": receiver.min_severity})
    return NewReceiver(row, secret)


async def delete_receiver(ctx: RequestContext, receiver_id: str) -> None:
    async with ctx.db.transaction(ctx.scope) as session:
        row = await get_or_404(session, AlertReceiver, receiver_id, "alert receiver")
        tenant_id = row.tenant_id
        await session.delete(row)
        audit.record(session, ctx.actor(), "alert_receiver.deleted", tenant_id=tenant_id,
                     target_type="alert_receiver", target_id=receiver_id)


async def recent_deliveries(ctx: RequestContext, receiver_id: str) -> list[AlertDelivery]:
    async with ctx.db.session(ctx.scope) as session:
        query = (select(AlertDelivery).where(AlertDelivery.receiver_id == receiver_id)
                 .order_by(AlertDelivery.created_at.desc(), AlertDelivery.id.desc()).limit(RECENT_DELIVERIES))
        return list((await session.execute(query)).scalars())
