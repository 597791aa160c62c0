"""Incidents: firing alerts of one cluster and namespace, close together in time, handled as one.

The evaluator opens them and keeps their timelines (app/alerts/store.py); here they are listed,
read with their alerts and timeline, and acknowledged (`alerts:write`, audited). An incident is
`open` while any of its alerts fires, `acknowledged` once someone took it, `resolved` when all
of its alerts are.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app import audit
from app.context import RequestContext
from app.db.alerts import Alert, Incident, IncidentEvent
from app.db.types import utcnow
from app.errors import BadUserInput, FieldErrors
from app.ids import new_id
from app.paging import Page
from app.validation import one_of, text
from resolvers.alerts import NOTE_LENGTH, readable_clusters
from resolvers.common import get_or_404

STATUSES = ("open", "acknowledged", "resolved")


async def list_incidents(
    ctx: RequestContext, tenant_id: str, status: str | None, cluster_id: str | None, page: Page
) -> tuple[list[Incident], int]:
    errors = FieldErrors()
    one_of(errors, "status", status, STATUSES)
    errors.raise_if_any()
    clusters = await readable_clusters(ctx, tenant_id)
    query = select(Incident).where(Incident.tenant_id == tenant_id, Incident.cluster_id.in_(clusters))
    if status:
        query = query.where(Incident.status == status)
    if cluster_id:
        query = query.where(Incident.cluster_id == cluster_id)
    async with ctx.db.session(ctx.scope) as session:
        total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        ordered = query.order_by(Incident.last_activity_at.desc(), Incident.id.desc())
        rows = (await session.execute(ordered.offset(page.offset).limit(page.limit))).scalars()
        return list(rows), int(total)


async def find_incident(ctx: RequestContext, incident_id: str) -> Incident:
    async with ctx.db.session(ctx.scope) as session:
        return await get_or_404(session, Incident, incident_id, "incident")


async def incident_cluster(ctx: RequestContext, incident_id: str) -> str | None:
    return (await find_incident(ctx, incident_id)).cluster_id


async def incident_alerts(ctx: RequestContext, incident_id: str) -> list[Alert]:
    async with ctx.db.session(ctx.scope) as session:
        query = select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.active_since, Alert.id)
        return list((await session.execute(query)).scalars())


async def timeline(ctx: RequestContext, incident_id: str) -> list[IncidentEvent]:
    async with ctx.db.session(ctx.scope) as session:
        query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
        return list((await session.execute(query.order_by(IncidentEvent.at, IncidentEvent.id))).scalars())


async def acknowledge_incident(ctx: RequestContext, incident_id: str, note: str | None) -> Incident:
    errors = FieldErrors()
    text(errors, "note", note, min_len=0, max_len=NOTE_LENGTH)
    errors.raise_if_any()
    user_id = ctx.require_principal().user_id
    async with ctx.db.transaction(ctx.scope) as session:
        incident = await get_or_404(session, Incident, incident_id, "incident")
        if incident.status == "resolved":
            raise BadUserInput.field("id", "this incident is resolved: nothing is left to acknowledge")
        now = utcnow()
        incident.status, incident.acknowledged_at, incident.acknowledged_by = "acknowledged", now, user_id
        incident.last_activity_at = now
        session.add(IncidentEvent(id=new_id("incident_event"), tenant_id=incident.tenant_id, incident_id=incident.id,
                                  at=now, kind="acknowledged", actor_id=user_id, note=note or ""))
        audit.record(session, ctx.actor(), "incident.acknowledged", tenant_id=incident.tenant_id,
                     target_type="incident", target_id=incident.id, changes={"note": note or ""})
    return incident
