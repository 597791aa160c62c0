"""Forwarding alerts to the operator's own Alertmanager, through its v2 API (``POST /api/v2/alerts``).

The Alertmanager's URL is the operator's setting (``FLEETGRAPH_ALERTMANAGER_URL``), not a
tenant's choice, so it is called directly, outside the tenant outbound policy; it may carry a
path prefix and, for basic authentication, credentials. Alerts go as Alertmanager's postable
alerts. A resolved alert carries ``endsAt``, its resolution time; a firing one carries none, so
Alertmanager resolves it by itself ``resolve_timeout`` (5 minutes by default) after it was last
sent: firing alerts are to be sent again well within that time for as long as they fire.
Delivery is retried as webhooks are (``app.alerts.webhooks.deliver``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp

from app.alerts.payloads import OutgoingAlert, rfc3339
from app.alerts.webhooks import TIMEOUT_SECONDS, USER_AGENT, Backoff, DeliveryResult, deliver, encode

if TYPE_CHECKING:
    from app.settings import Settings

API_PATH = "/api/v2/alerts"


def postable_alert(alert: OutgoingAlert) -> dict[str, Any]:
    """One alert in the list ``POST /api/v2/alerts`` takes."""
    entry: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
    }
    if not alert.firing and alert.ends_at is not None:
        entry["endsAt"] = rfc3339(alert.ends_at)
    if alert.generator_url:  # Alertmanager validates it as a URI: an empty one is left out
        entry["generatorURL"] = alert.generator_url
    return entry


class AlertmanagerForwarder:
    """Posts alerts to the Alertmanager at ``url``; one connection pool, opened on first use."""

    def __init__(self, url: str, *, backoff: Backoff | None = None, timeout: float = TIMEOUT_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.endpoint = url.rstrip("/") + API_PATH
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AlertmanagerForwarder | None:
        """The forwarder to the configured Alertmanager, or ``None`` when none is configured."""
        return cls(settings.alertmanager_url, **options) if settings.alertmanager_url else None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session

    async def forward(self, alerts: Sequence[OutgoingAlert]) -> DeliveryResult:
        """Send ``alerts``, firing and resolved alike, in one request."""
        if not alerts:
            return DeliveryResult(True, 0)
        body = encode([postable_alert(alert) for alert in alerts])

        def headers() -> dict[str, str]:
            return {"Content-Type": "application/json", "User-Agent": USER_AGENT}

        return await deliver(self.session(), self.endpoint, body, headers=headers, backoff=self.backoff,
                             attempt_seconds=self.timeout, clock=self.clock, what="Alertmanager")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> AlertmanagerForwarder:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
