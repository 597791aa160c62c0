"""What a provider is: the phases an operation has, and how to run one of them.

Phases must be idempotent: a runner that dies mid-phase leaves it to another runner, which runs
the same phase again from the start, with whatever `state` the finished phases left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.crypto import Sealer
from app.db.session import Database
from app.k8s.gateway import Gateway
from app.settings import Settings


class PhaseFailed(Exception):
    """A phase could not do its work; the message is shown to the user as the phase's reason."""


@dataclass
class PhaseContext:
    operation_id: str
    tenant_id: str
    cluster_id: str | None
    type: str
    params: dict[str, Any]
    state: dict[str, Any]  # saved after each successful phase, read by later phases and on resume
    settings: Settings
    db: Database
    gateway: Gateway
    sealer: Sealer
    write_log: Callable[[list[str]], Awaitable[None]]
    requested_by: str | None = None
    attempt: int = 1
    position: int = 0  # the phase's place in the operation's phases: a plan may repeat a name
    extra: dict[str, Any] = field(default_factory=dict)

    async def log(self, *lines: str) -> None:
        await self.write_log(list(lines))

    async def pause(self, seconds: float) -> None:
        """Time a simulated step takes (cancellation lands here)."""
        if seconds > 0:
            await asyncio.sleep(seconds)


class Provider(Protocol):
    name: str

    def phases(self, operation_type: str, params: dict[str, Any]) -> list[str]: ...

    async def run_phase(self, phase: str, ctx: PhaseContext) -> None: ...
