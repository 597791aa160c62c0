"""The Provisioner's three roles and Fleetgraph's.

A request's `admin`, `operator` or `viewer` becomes the tenant role that grants what the
Provisioner's role does; an answer names each Fleetgraph role by the Provisioner's role that is
closest without granting more: a role that cannot change clusters reads as `viewer`."""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "operator", "viewer"]

TO_FLEETGRAPH: dict[str, str] = {"admin": "tenant_admin", "operator": "operator", "viewer": "viewer"}
FROM_FLEETGRAPH: dict[str, str] = {
    "super_admin": "admin",
    "tenant_admin": "admin",
    "operator": "operator",
    "developer": "viewer",
    "quality_manager": "viewer",
    "viewer": "viewer",
}
FALLBACK = "viewer"  # a tenant's own role: the Provisioner has no word for it, and viewer claims the least


def fleetgraph_role(role: str) -> str:
    return TO_FLEETGRAPH[role]


def documented_role(role: str | None) -> str:
    return FROM_FLEETGRAPH.get(role or "", FALLBACK)
