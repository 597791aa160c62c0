"""Roles and permissions. System roles are code; custom roles are rows in `roles`."""

from __future__ import annotations

from dataclasses import dataclass

PLATFORM_PERMISSIONS = frozenset({"tenants:read", "tenants:write", "tenants:impersonate"})
TENANT_PERMISSIONS = frozenset(
    {
        "users:read",
        "users:write",
        "roles:read",
        "roles:write",
        "audit:read",
        "settings:read",
        "settings:write",
        "clusters:read",
        "clusters:write",
        "clusters:admin",
        "workloads:read",
        "workloads:write",
        "secrets:read",
        "billing:read",
        "billing:write",
        "quality:read",
        "quality:write",
        "alerts:write",
        "alerts:admin",
    }
)
ALL_PERMISSIONS = PLATFORM_PERMISSIONS | TENANT_PERMISSIONS
WILDCARD = "*"
SCOPES = ("platform", "tenant", "module")


@dataclass(frozen=True)
class SystemRole:
    name: str
    scope: str
    description: str
    permissions: frozenset[str]


_READ = frozenset({"clusters:read", "workloads:read"})

SYSTEM_ROLES: dict[str, SystemRole] = {
    role.name: role
    for role in (
        SystemRole("super_admin", "platform", "Provider administrator: everything", frozenset({WILDCARD})),
        SystemRole("tenant_admin", "tenant", "Administers the tenant", TENANT_PERMISSIONS),
        SystemRole(
            "operator",
            "tenant",
            "Changes clusters and workloads",
            _READ | {"clusters:write", "workloads:write", "secrets:read", "alerts:write"},
        ),
        SystemRole("developer", "tenant", "Deploys workloads", _READ | {"workloads:write"}),
        SystemRole(
            "quality_manager",
            "tenant",
            "Reviews quality and audit",
            _READ | {"audit:read", "quality:read", "quality:write"},
        ),
        SystemRole("viewer", "tenant", "Reads clusters and workloads", _READ),
    )
}

PROVIDER_ROLES = frozenset({"super_admin"})


def has_permission(granted: frozenset[str], needed: str) -> bool:
    return WILDCARD in granted or needed in granted
