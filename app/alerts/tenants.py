"""What alert evaluation keeps of each tenant whose clusters it evaluates: its current silences and its
enabled rules, loaded once and reloaded whenever the tenant's silences channel says one changed
(``app.alerts.channels``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.alerts.channels import silences_channel
from app.alerts.silences import Matcher, Silence, next_silence_change
from app.alerts.tenant_rules import TenantRule, load_rules
from app.db.alerts import Silence as SilenceRow
from app.db.session import Database
from app.realtime.bus import RealtimeBus


class Tenants:
    def __init__(self, db: Database, bus: RealtimeBus, clock: Callable[[], datetime],
                 on_change: Callable[[str | None], None]) -> None:
        self.db, self.bus, self.clock, self.on_change = db, bus, clock, on_change
        self._silences: dict[str | None, list[Silence]] = {}
        self._rules: dict[str | None, list[TenantRule]] = {}
        self._followed: dict[str | None, contextlib.AsyncExitStack] = {}

    def followed(self, tenant_id: str | None) -> bool:
        return tenant_id in self._followed

    async def follow(self, tenant_id: str | None) -> None:
        """Listen for the tenant's changes, then load its silences and rules (once per tenant)."""
        if tenant_id in self._followed:
            return
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(
            self.bus.listen(silences_channel(tenant_id), lambda _: self.on_change(tenant_id)))
        self._followed[tenant_id] = stack
        self._silences[tenant_id] = await self._load_silences(tenant_id)
        await self.rules(tenant_id)

    async def forget(self, tenant_id: str | None) -> None:
        stack = self._followed.pop(tenant_id, None)
        if stack is not None:
            await stack.aclose()
        self._silences.pop(tenant_id, None)
        self._rules.pop(tenant_id, None)

    async def reload(self, tenant_id: str | None) -> None:
        """Load the tenant's silences and rules again (its rules are loaded on their next use if this fails)."""
        self._rules.pop(tenant_id, None)
        self._silences[tenant_id] = await self._load_silences(tenant_id)
        await self.rules(tenant_id)

    def silences(self, tenant_id: str | None) -> list[Silence]:
        return self._silences.get(tenant_id, [])

    def known_rules(self, tenant_id: str | None) -> list[TenantRule]:
        """The tenant's rules as last loaded, none if they are not loaded."""
        return self._rules.get(tenant_id) or []

    async def rules(self, tenant_id: str | None) -> list[TenantRule]:
        """The tenant's enabled rules, loaded if they are not."""
        found = self._rules.get(tenant_id)
        if found is None:
            found = self._rules[tenant_id] = await load_rules(self.db, tenant_id)
        return found

    def silence_changes(self, now: datetime) -> list[datetime]:
        """When a silence of any tenant next starts or ends, per tenant."""
        moments = []
        for silences in self._silences.values():
            change = next_silence_change(silences, now)
            if change is not None:
                moments.append(change)
        return moments

    async def _load_silences(self, tenant_id: str | None) -> list[Silence]:
        query = select(SilenceRow).where(SilenceRow.tenant_id == tenant_id, SilenceRow.ends_at > self.clock())
        async with self.db.session() as session:
            rows = list((await session.execute(query)).scalars())
        return [Silence(row.id, tuple(_matcher(m) for m in row.matchers or []), row.starts_at, row.ends_at,
                        row.created_by or "", row.comment) for row in rows]


def _matcher(stored: Mapping[str, Any]) -> Matcher:
    return Matcher(str(stored.get("name", "")), str(stored.get("value", "")),
                   bool(stored.get("is_regex", stored.get("isRegex", False))),
                   bool(stored.get("is_equal", stored.get("isEqual", True))))
