"""Prometheus metrics (prometheus-client), one registry per app.

Request metrics are observed as requests finish; the state of the parts (clusters' upstream
calls and circuits, caches, live streams, the operation queue, the database pool) is read when
`/metrics` is scraped, so nothing on the request path pays for it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Scope

from app.db.models import Operation

if TYPE_CHECKING:
    from app.services import Services
    from app.telemetry.access import AccessFacts

MAX_OPERATION_NAMES = 200  # client-chosen names: past this many, the rest count as "other"
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,63}$")
OPERATION_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("fleetgraph_http_requests", "HTTP requests and websockets, by route and status",
                                ["method", "route", "status"], registry=self.registry)  # fmt: skip
        self.latency = Histogram("fleetgraph_http_request_duration_seconds", "Time to answer, by route",
                                 ["route"], registry=self.registry)  # fmt: skip
        self.operations = Counter("fleetgraph_graphql_operations", "GraphQL operations by name and outcome",
                                  ["operation", "outcome"], registry=self.registry)  # fmt: skip
        self.operation_latency = Histogram("fleetgraph_graphql_operation_duration_seconds",
                                           "Time to answer a GraphQL operation, by name", ["operation"],
                                           registry=self.registry)  # fmt: skip
        self.circuit = Gauge("fleetgraph_upstream_circuit_open", "1 while a cluster's circuit is open",
                             ["cluster"], registry=self.registry)  # fmt: skip
        self.queue = Gauge("fleetgraph_operations", "Lifecycle operations by status", ["status"],
                           registry=self.registry)  # fmt: skip
        self._names: set[str] = set()
        self._services: Services | None = None
        self.registry.register(_PartsCollector(self))

    def bind(self, services: Services) -> None:
        self._services = services

    def operation_label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if not _NAME.match(name):
            return "other"
        if name not in self._names:
            if len(self._names) >= MAX_OPERATION_NAMES:
                return "other"
            self._names.add(name)
        return name

    def observe_request(self, scope: Scope, facts: AccessFacts, status: int, seconds: float) -> None:
        from app.telemetry.access import route_of

        route = route_of(scope)
        self.requests.labels(scope.get("method", "WS"), route, str(status)).inc()
        self.latency.labels(route).observe(seconds)
        if facts.operation is not None or facts.outcome is not None:
            name = self.operation_label(facts.operation)
            self.operations.labels(name, facts.outcome or "ok").inc()
            self.operation_latency.labels(name).observe(seconds)

    async def render(self) -> bytes:
        """The exposition text, after reading what needs a database or an await."""
        services = self._services
        if services is not None:
            for cluster_id, client in services.gateway.clients().items():
                self.circuit.labels(cluster_id).set(1.0 if await client.circuit_state() == "opened" else 0.0)
            async with services.db.session() as session:
                rows = (await session.execute(select(Operation.status, func.count()).group_by(Operation.status))).all()
            counts = {status: count for status, count in rows}
            for status in {*OPERATION_STATUSES, *counts}:
                self.queue.labels(status).set(counts.get(status, 0))
        return generate_latest(self.registry)


class _PartsCollector:
    """What the parts hold right now: read at scrape time from the running services."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[object]:
        return []

    def collect(self) -> list[CounterMetricFamily | GaugeMetricFamily]:
        services = self.metrics._services
        if services is None:
            return []
        calls = CounterMetricFamily("fleetgraph_upstream_requests", "Requests sent to clusters, retries included",
                                    labels=["cluster", "verb"])  # fmt: skip
        errors = CounterMetricFamily("fleetgraph_upstream_errors", "Failed requests to clusters", labels=["cluster"])
        for cluster_id, client in services.gateway.clients().items():
            by_verb: dict[str, int] = {}
            for (verb, _kind), count in client.calls.items():
                by_verb[verb] = by_verb.get(verb, 0) + count
            for verb, count in sorted(by_verb.items()):
                calls.add_metric([cluster_id, verb], count)
            errors.add_metric([cluster_id], client.errors)
        objects = GaugeMetricFamily("fleetgraph_cache_objects", "Objects held by a watch-fed cache",
                                    labels=["cluster", "kind"])  # fmt: skip
        restarts = CounterMetricFamily("fleetgraph_watch_restarts", "Watches opened again after the first",
                                       labels=["cluster", "kind"])  # fmt: skip
        relists = CounterMetricFamily("fleetgraph_cache_relists", "LISTs made again after the first",
                                      labels=["cluster", "kind"])  # fmt: skip
        for cache in services.gateway.caches():
            labels = [cache.client.name, cache.kind.qualified]
            objects.add_metric(labels, len(cache))
            restarts.add_metric(labels, max(0, cache.client.calls[("watch", cache.kind.kind)] - 1))
            relists.add_metric(labels, max(0, cache.lists - 1))
        streams = GaugeMetricFamily("fleetgraph_subscriptions_open", "Open live streams", labels=["tenant"])
        for tenant, count in sorted(services.stream_counts.items()):
            streams.add_metric([tenant], count)
        deliveries = CounterMetricFamily("fleetgraph_subscription_deliveries", "Messages written to subscribers")
        deliveries.add_metric([], services.selections.stats.deliveries)
        return [calls, errors, objects, restarts, relists, streams, deliveries, *self._pool(services)]

    @staticmethod
    def _pool(services: Services) -> list[GaugeMetricFamily]:
        pool = services.db.engine.sync_engine.pool
        used = GaugeMetricFamily("fleetgraph_db_pool_connections", "Database connections by state", labels=["state"])
        for state, reader in (("checked_out", "checkedout"), ("idle", "checkedin"), ("size", "size")):
            read = getattr(pool, reader, None)
            if callable(read):
                used.add_metric([state], float(read()))
        return [used]


def metrics_endpoint(metrics: Metrics, token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """`GET /metrics`: outside GraphQL's sign-in and budgets; a bearer token guards it when set."""

    async def endpoint(request: Request) -> Response:
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("send the metrics token: Authorization: Bearer <token>", status_code=401,
                                         headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return endpoint
