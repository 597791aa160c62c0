"""Who is calling: resolved once per request from a token, then read by every check."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.auth.rbac import has_permission


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    name: str
    role: str
    tenant_id: str | None
    permissions: frozenset[str]
    session_id: str | None = None
    api_token_id: str | None = None
    impersonator_id: str | None = None
    must_change_password: bool = False
    cluster_roles: dict[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None  # of the access token; API tokens may have none

    @property
    def is_provider(self) -> bool:
        return self.tenant_id is None

    def can(self, permission: str) -> bool:
        return has_permission(self.permissions, permission)
