"""A documented `status` in a create or update body, as the GraphQL step that reaches it.

Fleetgraph makes tenants and users active and changes their status with mutations of its own
(suspend, activate, delete), so a body's status is reached by the one step it needs from the
status the object has once made or updated: none when it already has it."""

from __future__ import annotations

from app.rest.rows import Data


def steps(current: str, wanted: str) -> Data:
    """The `$suspend`, `$activate` and `$delete` flags of a status step."""
    return {
        "suspend": wanted == "suspended" and current == "active",
        "activate": wanted == "active" and current == "suspended",
        "delete": wanted == "deleted" and current != "deleted",
    }
