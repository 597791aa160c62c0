"""Metrics over time: typed histories of a cluster and its objects, and PromQL (resolvers/metrics.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.metrics.backend import History
from resolvers import metrics as resolve
from schema.permissions import requires

RANGE = "The span back from now: 30m, 6h, 24h, 7d (at most 31d)"
STEP = "Between points: 15s, 5m, 1h; by default the range over 240, and never below the sampling interval"


@strawberry.type
class MetricPoint:
    timestamp: datetime
    value: float


@strawberry.type(description="Series over time: CPU in cores, memory in bytes (working set), running pods, restarts")
class MetricsHistory:
    backend: str = strawberry.field(description="embedded or prometheus")
    cpu: list[MetricPoint]
    memory: list[MetricPoint]
    pods: list[MetricPoint]
    restarts: list[MetricPoint]

    @classmethod
    def of(cls, h: History, backend: str) -> MetricsHistory:
        def points(series: Any) -> list[MetricPoint]:
            return [MetricPoint(timestamp=t, value=v) for t, v in series]

        return cls(backend=backend, cpu=points(h.cpu), memory=points(h.memory), pods=points(h.pods),
                   restarts=points(h.restarts))  # fmt: skip


def backend_name(info: Info) -> str:
    return str(getattr(info.context.services.metrics, "name", "embedded"))


@strawberry.type
class MetricsQuery:
    @strawberry.field(
        permission_classes=[requires(resolve.READ)],
        description="PromQL over the caller's clusters, answered as Prometheus' API does ({resultType, result}): "
        "a range query with `start` (and `end`, `step`), an instant one without. Every selector is limited "
        "to the caller's clusters (label cluster_id). The embedded backend answers selectors, rate and "
        "increase, sum/avg/max/min/count by or without, and arithmetic or comparison with numbers.",
    )
    async def metrics_query(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        query: str,
        start: datetime | None = None,
        end: datetime | None = None,
        step: str | None = None,
    ) -> JSON | None:
        return cast(JSON, await resolve.query(info.context, str(tenant_id), query, start, end, step))


HISTORY_DOC = f"Its CPU, memory, running pods and restarts over time. range: {RANGE}. step: {STEP}."
