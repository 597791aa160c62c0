"""Per-request DataLoaders, one module per domain; created by the context getter."""

from __future__ import annotations

from app.db.session import Database
from loaders.roles import make_role_by_name_loader
from loaders.tenants import make_tenant_loader
from loaders.users import make_user_loader


class Loaders:
    def __init__(self, db: Database, scope: str | None) -> None:
        self.tenant = make_tenant_loader(db, scope)
        self.user = make_user_loader(db, scope)
        self.role_by_name = make_role_by_name_loader(db, scope)
