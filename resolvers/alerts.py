"""Alerts as their readers see them: listed, read, acknowledged, and followed live.

Alerts are raised and resolved by the evaluator in the replica that owns each cluster
(app/alerts/evaluator.py); here they are only read, acknowledged (`alerts:write`, audited with
who, when and the note) and streamed. A caller sees the alerts of the clusters their role (or
their per-cluster role) lets them read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from app import audit
from app.alerts.channels import alerts_channel
from app.context import RequestContext
from app.db.alerts import Alert, IncidentEvent
from app.db.models import Cluster
from app.db.types import UTCDateTime, utcnow
from app.errors import FieldErrors
from app.ids import new_id
from app.paging import Page
from app.realtime.mailbox import Mailbox
from app.validation import one_of, text
from resolvers.cluster_access import may_on_cluster
from resolvers.common import get_or_404
from resolvers.realtime import tenant_slot, until_signed_out

READ = "clusters:read"
WRITE = "alerts:write"
STATES = ("pending", "firing", "resolved")
SEVERITIES = ("critical", "warning", "info")
NOTE_LENGTH = 2000


@dataclass(frozen=True)
class AlertFilter:
    states: tuple[str, ...] = ()  # any state when empty
    severity: str | None = None
    cluster_id: str | None = None
    namespace: str | None = None
    acknowledged: bool | None = None
    include_inhibited: bool = True

    def check(self) -> None:
        errors = FieldErrors()
        for state in self.states:
            one_of(errors, "states", state, STATES)
        one_of(errors, "severity", self.severity, SEVERITIES)
        errors.raise_if_any()


async def readable_clusters(ctx: RequestContext, tenant_id: str) -> list[str]:
    """The tenant's clusters whose alerts the caller may read (a per-cluster role may hide some)."""
    async with ctx.db.session(ctx.scope) as session:
        query = select(Cluster.id).where(Cluster.tenant_id == tenant_id, Cluster.deleted_at.is_(None))
        ids = list((await session.execute(query)).scalars())
    return [cid for cid in ids if await may_on_cluster(ctx, cid, READ)]


def _listing(tenant_id: str, clusters: Sequence[str], wanted: AlertFilter) -> Select[Any]:
    query = select(Alert).where(Alert.tenant_id == tenant_id, Alert.cluster_id.in_(clusters))
    if wanted.states:
        query = query.where(Alert.state.in_(wanted.states))
    if wanted.acknowledged is not None:
        acknowledged = Alert.acknowledged_at.is_not(None)
        query = query.where(acknowledged if wanted.acknowledged else ~acknowledged)
    if wanted.severity:
        query = query.where(Alert.severity == wanted.severity)
    if wanted.cluster_id:
        query = query.where(Alert.cluster_id == wanted.cluster_id)
    if wanted.namespace:
        query = query.where(Alert.object_namespace == wanted.namespace)
    if not wanted.include_inhibited:
        query = query.where(Alert.inhibited.is_(False))
    return query


async def list_alerts(ctx: RequestContext, tenant_id: str, wanted: AlertFilter, page: Page) -> tuple[list[Alert], int]:
    """The matching alerts, the most recently changed first."""
    wanted.check()
    query = _listing(tenant_id, await readable_clusters(ctx, tenant_id), wanted)
    async with ctx.db.session(ctx.scope) as session:
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        ordered = query.order_by(Alert.updated_at.desc(), Alert.id.desc()).offset(page.offset).limit(page.limit)
        return list((await session.execute(ordered)).scalars()), int(total)


async def find_alert(ctx: RequestContext, alert_id: str) -> Alert:
    async with ctx.db.session(ctx.scope) as session:
        return await get_or_404(session, Alert, alert_id, "alert")


async def alert_cluster(ctx: RequestContext, alert_id: str) -> str | None:
    """The cluster an alert is about, for the per-cluster check of fields that take an alert's ID."""
    return (await find_alert(ctx, alert_id)).cluster_id


async def acknowledge(ctx: RequestContext, alert_id: str, note: str | None) -> Alert:
    """Marks the alert acknowledged by the caller (again: the newest note wins), with an audit row
    and a line on its incident's timeline; its live followers hear of it."""
    errors = FieldErrors()
    text(errors, "note", note, min_len=0, max_len=NOTE_LENGTH)
    errors.raise_if_any()
    principal = ctx.require_principal()
    async with ctx.db.transaction(ctx.scope) as session:
        alert = await get_or_404(session, Alert, alert_id, "alert")
        alert.acknowledged_at, alert.acknowledged_by = utcnow(), principal.user_id
        alert.acknowledgement_note = note or ""
        if alert.incident_id is not None:
            session.add(IncidentEvent(
                id=new_id("incident_event"), tenant_id=alert.tenant_id, incident_id=alert.incident_id,
                kind="alert_acknowledged", alert_id=alert.id, actor_id=principal.user_id, note=note or "",
            ))  # fmt: skip
        audit.record(
            session, ctx.actor(), "alert.acknowledged", tenant_id=alert.tenant_id, target_type="alert",
            target_id=alert.id, changes={"note": note or "", "rule": alert.rule, "state": alert.state},
        )  # fmt: skip
    await ctx.services.bus.publish(alerts_channel(alert.tenant_id or ""), change("ACKNOWLEDGED", alert))
    return alert


def change(kind: str, alert: Alert) -> dict[str, Any]:
    """What a live follower is told: the change, and which alert (it reads the alert itself)."""
    return {"type": kind, "id": alert.id, "clusterId": alert.cluster_id}


def as_row(data: dict[str, Any]) -> Alert:
    """An alert as the evaluator sent it (every column, times in ISO 8601), not stored."""
    values: dict[str, Any] = {}
    for column in Alert.__table__.columns:
        value = data.get(column.key)
        if isinstance(value, str) and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        values[column.key] = value
    return Alert(**values)


def changed_alert(event: dict[str, Any]) -> tuple[str, str]:
    """(alert ID, cluster ID) of a change on the alerts channel, told by an acknowledgement here or by
    the evaluator (which sends the whole alert along)."""
    found = event.get("alert")
    alert: dict[str, Any] = found if isinstance(found, dict) else {}
    alert_id = event.get("id") or alert.get("id")
    cluster = event.get("clusterId") or alert.get("clusterId") or alert.get("cluster_id")
    return str(alert_id or ""), str(cluster or "")


async def alert_stream(ctx: RequestContext, tenant_id: str, cluster_id: str | None) -> AsyncIterator[tuple[str, Alert]]:
    """Each change of the tenant's alerts as it happens (pending, firing, resolved, acknowledged),
    of the clusters the caller may read (or of one)."""
    mailbox = Mailbox(ctx.settings.subscription_queue_size)
    with tenant_slot(ctx):
        async for kind, alert in _changes(ctx, tenant_id, cluster_id, mailbox):
            yield kind, alert


async def _changes(
    ctx: RequestContext, tenant_id: str, cluster_id: str | None, mailbox: Mailbox
) -> AsyncIterator[tuple[str, Alert]]:
    def keep(event: dict[str, Any]) -> None:
        """Each alert is its own object in the mailbox: a slow reader gets each alert's latest change."""
        alert_id, cid = changed_alert(event)
        mailbox.put({**event, "clusterId": cid, "kind": "Alert", "namespace": None, "name": alert_id})

    async with ctx.services.bus.listen(alerts_channel(tenant_id), keep):
        readable = set(await readable_clusters(ctx, tenant_id))
        async for event in until_signed_out(ctx, mailbox):
            alert_id, cid = changed_alert(event)
            if event.get("type") == "RESYNC" or cid not in readable or cluster_id not in (None, cid):
                continue
            async with ctx.db.session(ctx.scope) as session:
                found = await session.get(Alert, alert_id)
            if found is None and event.get("type") == "DROPPED" and isinstance(event.get("alert"), dict):
                found = as_row(event["alert"])  # a pending alert that never fired is deleted: this is its last state
            if found is not None:
                yield str(event.get("type")), found
