"""The prometheus backend: a real Prometheus that scrapes the clusters, each labelled ``cluster_id``.

The URL is the operator's choice (a setting, never a tenant's), so it is called without the
tenant outbound policy. Queries are scoped to the caller's clusters before they are sent, and
sent as forms (POST), so a long scoped query never meets a URL length limit.

Errors: Prometheus' ``bad_data`` (and ``execution``: a query it cannot run) is the user's
``BadUserInput`` on ``query`` with Prometheus' message; its ``timeout`` and ours are
``UpstreamTimeout``; anything else (refused connection, a 5xx, an answer that is not its API) is
``UpstreamUnavailable`` naming Prometheus. Credentials in the URL (``https://user:pass@host``)
are sent as basic auth and appear in no message.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import aiohttp
from yarl import URL

from app.errors import BadUserInput, UpstreamTimeout, UpstreamUnavailable
from app.metrics.promql import scope

USER_ERRORS = frozenset({"bad_data", "execution"})


class PrometheusBackend:
    name = "prometheus"

    def __init__(self, url: str, *, timeout: float = 30.0, scrape_interval: float = 15.0) -> None:
        parsed = URL(url)
        self._headers = {"Authorization": _basic(parsed.user, parsed.password or "")} if parsed.user else {}
        self._base = parsed.with_user(None).with_password(None)
        self.timeout = timeout
        self.scrape_interval = scrape_interval
        self._session: aiohttp.ClientSession | None = None

    def resolution(self, start: datetime) -> float:
        return self.scrape_interval

    async def query_range(self, query: str, cluster_ids: Sequence[str], start: datetime, end: datetime,
                          step: float) -> dict[str, Any]:
        form = {"query": scope(query, cluster_ids), "start": _unix(start), "end": _unix(end), "step": repr(step)}
        return await self._call("query_range", form)

    async def query_instant(self, query: str, cluster_ids: Sequence[str], at: datetime) -> dict[str, Any]:
        return await self._call("query", {"query": scope(query, cluster_ids), "time": _unix(at)})

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers,
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _call(self, endpoint: str, form: dict[str, str]) -> dict[str, Any]:
        url = self._base / "api" / "v1" / endpoint
        try:
            async with self._client().post(url, data=form) as response:
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except TimeoutError:
            raise UpstreamTimeout(f"Prometheus did not answer within {self.timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"Prometheus is unreachable ({type(exc).__name__})") from None
        return _answer(status, body)


def _answer(status: int, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise UpstreamUnavailable(f"Prometheus answered HTTP {status} without its API's JSON")
    if body.get("status") == "success" and isinstance(body.get("data"), dict):
        return dict(body["data"])
    kind, message = str(body.get("errorType") or ""), str(body.get("error") or f"HTTP {status}")
    if kind in USER_ERRORS:
        raise BadUserInput.field("query", message)
    if kind == "timeout":
        raise UpstreamTimeout(f"Prometheus: {message}")
    raise UpstreamUnavailable(f"Prometheus failed the query: {kind or status}: {message}")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _unix(moment: datetime) -> str:
    return repr(moment.timestamp())

