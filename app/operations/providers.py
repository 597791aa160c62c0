"""The providers this deployment can run operations with."""

from __future__ import annotations

from app.operations.nodes import NodeMaintenance
from app.operations.provider import Provider
from app.operations.simulated import SimulatedProvider
from app.operations.ssh_provider import SshProvider


def providers() -> dict[str, Provider]:
    chosen: list[Provider] = [SimulatedProvider(), SshProvider(), NodeMaintenance()]
    return {p.name: p for p in chosen}
