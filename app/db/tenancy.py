"""Tenant isolation in one place: every ORM statement of a scoped session is filtered.

A session opened for a principal of tenant T carries `info["tenant_scope"] = T`; the
listener below adds the tenant criteria to every SELECT, UPDATE and DELETE it runs, so
no resolver has to remember to filter, and another tenant's rows simply do not exist.
"""

from __future__ import annotations

from sqlalchemy import event, or_
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from app.db.models import Tenant, TenantOrShared, TenantOwned

SCOPE_KEY = "tenant_scope"


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_scope(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get(SCOPE_KEY)
    if tenant_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    state.statement = state.statement.options(
        with_loader_criteria(Tenant, lambda cls: cls.id == tenant_id, include_aliases=True),
        with_loader_criteria(TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True),
        with_loader_criteria(
            TenantOrShared,
            lambda cls: or_(cls.tenant_id == tenant_id, cls.tenant_id.is_(None)),
            include_aliases=True,
        ),
    )
