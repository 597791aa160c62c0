"""The append-only audit trail: written in the same transaction as the change it records."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.db.models import AuditLog
from app.ids import new_id


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    email: str | None
    tenant_id: str | None
    impersonator_id: str | None
    ip: str
    user_agent: str
    request_id: str

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
) -> AuditLog:
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
