"""The append-only audit trail: written in the same transaction as the change it records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.db.models import AuditLog
from app.ids import new_id


@dataclass(frozen=True)
class HttpFacts:
    """The REST call an action came through: its method, documented path and the statuses it answers."""

    method: str
    path: str
    ok_status: int  # the status the call answers on success
    statuses: Mapping[str, int]  # error code -> the status the call answers for it

    def status(self, success: bool, error_code: str | None) -> int:
        """The status the call answered: its success status, or the one its error code maps to
        (400 for a code it does not name, 500 for a failure without a code)."""
        if success:
            return self.ok_status
        if error_code is None:
            return 500
        return self.statuses.get(error_code, 400)


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    email: str | None
    tenant_id: str | None
    impersonator_id: str | None
    ip: str
    user_agent: str
    request_id: str
    http: HttpFacts | None = None  # set when the action came through the REST layer

    def as_user(self, user_id: str, email: str, tenant_id: str | None) -> Actor:
        return replace(self, user_id=user_id, email=email, tenant_id=tenant_id)


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    tenant_id: str | None,
    target_type: str | None = None,
    target_id: str | None = None,
    changes: dict[str, Any] | None = None,
    success: bool = True,
    error_code: str | None = None,
) -> AuditLog:
    """Add the row; `error_code` (a failure's code) gives the HTTP status of a REST call."""
    http = actor.http
    row = AuditLog(
        id=new_id("audit"),
        tenant_id=tenant_id,
        actor_id=actor.user_id,
        actor_email=actor.email,
        impersonator_id=actor.impersonator_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        success=success,
        ip=actor.ip,
        user_agent=actor.user_agent,
        request_id=actor.request_id,
        changes=changes or {},
        http_method=http.method[:10] if http else None,
        http_path=http.path[:500] if http else None,
        http_status=http.status(success, error_code) if http else None,
    )
    session.add(row)
    return row


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, _: UOWTransaction, __: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog):
            raise PermissionError("audit log rows are append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_audit_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ is AuditLog for m in state.all_mappers):
        raise PermissionError("audit log rows are append-only")
