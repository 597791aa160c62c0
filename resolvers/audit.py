"""Reading the audit trail, with filters, and exporting it as CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from app.context import RequestContext
from app.db.models import AuditLog
from app.errors import BadUserInput, NotFound
from app.paging import Page
from app.sorting import Sortable, SortKey
from resolvers.common import paged

EXPORT_LIMIT = 50_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SORTABLE = Sortable(
    {
        "id": AuditLog.id,
        "tenantId": AuditLog.tenant_id,
        "actorId": AuditLog.actor_id,
        "actorEmail": AuditLog.actor_email,
        "action": AuditLog.action,
        "targetType": AuditLog.target_type,
        "targetId": AuditLog.target_id,
        "success": AuditLog.success,
        "ip": AuditLog.ip,
        "userAgent": AuditLog.user_agent,
        "requestId": AuditLog.request_id,
        "httpMethod": AuditLog.http_method,
        "httpPath": AuditLog.http_path,
        "httpStatus": AuditLog.http_status,
        "createdAt": AuditLog.created_at,
    },
    AuditLog.id,
)
CSV_COLUMNS = (
    "id",
    "created_at",
    "tenant_id",
    "actor_id",
    "actor_email",
    "impersonator_id",
    "action",
    "target_type",
    "target_id",
    "success",
    "ip",
    "user_agent",
    "request_id",
    "http_method",
    "http_path",
    "http_status",
    "changes",
)


@dataclass
class AuditFilter:
    user_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tenant_id: str | None = None
    http_method: str | None = None  # GET, POST, ...: any case


def _query(ctx: RequestContext, f: AuditFilter) -> Select[Any]:
    principal = ctx.require_principal()
    if f.since and f.until and f.since > f.until:
        raise BadUserInput.field("since", "must be before until")
    query: Select[Any] = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if principal.tenant_id is not None:
        if f.tenant_id is not None and f.tenant_id != principal.tenant_id:
            raise NotFound.of("tenant", f.tenant_id)
        query = query.where(AuditLog.tenant_id == principal.tenant_id)
    elif f.tenant_id is not None:
        query = query.where(AuditLog.tenant_id == f.tenant_id)
    if f.user_id:
        query = query.where(AuditLog.actor_id == f.user_id)
    if f.action:
        query = query.where(AuditLog.action.like(f.action.replace("*", "%")))
    if f.since:
        query = query.where(AuditLog.created_at >= f.since)
    if f.until:
        query = query.where(AuditLog.created_at <= f.until)
    if f.http_method:
        query = query.where(AuditLog.http_method == f.http_method.strip().upper())
    return query


async def list_audit(
    ctx: RequestContext, f: AuditFilter, page: Page, order: Sequence[SortKey] | None = None
) -> tuple[list[AuditLog], int]:
    """Newest first, or in the order asked for."""
    query = SORTABLE.order(_query(ctx, f), order)
    async with ctx.db.session(ctx.scope) as session:
        return await paged(session, query, page)


async def export_csv(ctx: RequestContext, f: AuditFilter) -> str:
    async with ctx.db.session(ctx.scope) as session:
        rows = (await session.execute(_query(ctx, f).limit(EXPORT_LIMIT))).scalars().all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = [getattr(row, column) for column in CSV_COLUMNS]
        values[1] = row.created_at.isoformat().replace("+00:00", "Z")
        values[-1] = json.dumps(row.changes, sort_keys=True, default=str)
        writer.writerow([spreadsheet_safe(value) for value in values])
    return out.getvalue()


def spreadsheet_safe(value: object) -> str:
    """A cell no spreadsheet runs as a formula: anyone can put text in the trail (a User-Agent
    of a failed login), so a cell starting like a formula gets a leading single quote (OWASP)."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
