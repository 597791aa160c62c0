"""Who is calling: resolved once per request from a token, then read by every check."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    @property
    def is_provider(self) -> bool:
        return self.tenant_id is None

    def can(self, permission: str) -> bool:
        return has_permission(self.permissions, permission)
