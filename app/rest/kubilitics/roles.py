"""Kubilitics's role names (seed 002, "Authorization Roles") and Fleetgraph's.

Kubilitics names three roles: `viewer` reads, `operator` also changes resources, `admin` also
manages users. A Fleetgraph role without a Kubilitics name (`developer`, a tenant's own roles)
keeps its own name both ways, so what a caller reads back they can send again."""

from __future__ import annotations

TO_FLEETGRAPH = {"admin": "tenant_admin", "operator": "operator", "viewer": "viewer"}
FROM_FLEETGRAPH = {fleetgraph: kubilitics for kubilitics, fleetgraph in TO_FLEETGRAPH.items()}


def fleetgraph_role(name: str) -> str:
    """The Fleetgraph role a Kubilitics request names."""
    return TO_FLEETGRAPH.get(name, name)


def kubilitics_role(name: str) -> str:
    """The name a Kubilitics answer gives a Fleetgraph role."""
    return FROM_FLEETGRAPH.get(name, name)
