"""Metrics over time: the typed history of a cluster and its objects, and PromQL for tenants.

Both read the configured backend (app/metrics/backend.py): the embedded samples or Prometheus.
Every query is scoped to the caller's clusters before it runs (app/metrics/promql.py): a
query naming another tenant's cluster finds nothing. A workload's or a node's history is that
of its pods now (the pods the workload owns, or that run on the node), read from the cache.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from app.context import RequestContext
from app.db.types import utcnow
from app.errors import BadUserInput, FieldErrors
from app.k8s.reading import name_of, namespace_of
from app.metrics.backend import History, HistoryTarget, history
from resolvers import kube
from resolvers.alerts import readable_clusters
from resolvers.logs import workload_pods

READ = "clusters:read"
MAX_POINTS = 11_000  # Prometheus' limit on the points of one range query
POINTS = 240  # the points a history has when no step is asked for
LONGEST = timedelta(days=31)
_DURATION = re.compile(r"^(\d+)(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def duration(field: str, value: str) -> timedelta:
    """`30s`, `5m`, `6h`, `7d`, `1w`: a Prometheus duration of one unit."""
    match = _DURATION.match(value.strip())
    if match is None or int(match.group(1)) == 0:
        raise BadUserInput.field(field, "must be a duration such as 30s, 5m, 6h or 7d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def window(ctx: RequestContext, range_text: str, step_text: str | None) -> tuple[datetime, datetime, float]:
    span = duration("range", range_text)
    if span > LONGEST:
        raise BadUserInput.field("range", f"must be at most {LONGEST.days}d")
    end = utcnow()
    return end - span, end, step_of(ctx, span, step_text)


def step_of(ctx: RequestContext, span: timedelta, step_text: str | None) -> float:
    """The step asked for, or the span over `POINTS` (never below the sampling interval); at most
    `MAX_POINTS` of them over the span."""
    floor = ctx.services.sampler.interval
    step = duration("step", step_text).total_seconds() if step_text else max(floor, span.total_seconds() / POINTS)
    if span.total_seconds() / step > MAX_POINTS:
        raise BadUserInput.field("step", f"gives more than {MAX_POINTS} points over the range: make it longer")
    return step


async def cluster_history(ctx: RequestContext, cluster_id: str, range_text: str, step_text: str | None) -> History:
    start, end, step = window(ctx, range_text, step_text)
    return await history(ctx.services.metrics, cluster_id, HistoryTarget("cluster", None, None), start, end, step)


async def namespace_history(
    ctx: RequestContext, cluster_id: str, namespace: str, range_text: str, step_text: str | None
) -> History:
    start, end, step = window(ctx, range_text, step_text)
    target = HistoryTarget("namespace", namespace, None)
    return await history(ctx.services.metrics, cluster_id, target, start, end, step)


async def pod_history(
    ctx: RequestContext, cluster_id: str, namespace: str, pod: str, range_text: str, step_text: str | None
) -> History:
    start, end, step = window(ctx, range_text, step_text)
    target = HistoryTarget("pod", namespace, ((namespace, pod),))
    return await history(ctx.services.metrics, cluster_id, target, start, end, step)


async def workload_history(
    ctx: RequestContext, cluster_id: str, kind: str, namespace: str, name: str, range_text: str, step_text: str | None
) -> History:
    start, end, step = window(ctx, range_text, step_text)
    pods = await workload_pods(ctx, cluster_id, kind, namespace, name)
    target = HistoryTarget("workload", namespace, tuple((namespace_of(p), name_of(p)) for p in pods))
    return await history(ctx.services.metrics, cluster_id, target, start, end, step)


async def node_history(
    ctx: RequestContext, cluster_id: str, node: str, range_text: str, step_text: str | None
) -> History:
    start, end, step = window(ctx, range_text, step_text)
    on_node = [p for p in await kube.items(ctx, cluster_id, "Pod") if (p.get("spec") or {}).get("nodeName") == node]
    target = HistoryTarget("node", None, tuple((namespace_of(p), name_of(p)) for p in on_node))
    return await history(ctx.services.metrics, cluster_id, target, start, end, step)


async def query(
    ctx: RequestContext, tenant_id: str, promql: str, start: datetime | None, end: datetime | None, step: str | None
) -> dict[str, Any]:
    """PromQL over the caller's readable clusters: a range query with `start`, an instant one without."""
    clusters = await readable_clusters(ctx, tenant_id)
    backend = ctx.services.metrics
    if start is None:
        if end is not None or step is not None:
            raise BadUserInput.field("start", "a range query needs start (end and step go with it)")
        return await backend.query_instant(promql, clusters, utcnow())
    errors = FieldErrors()
    end = end or utcnow()
    if end < start:
        errors.add("end", "must not be before start")
    if end - start > LONGEST:
        errors.add("start", f"the range must be at most {LONGEST.days}d")
    errors.raise_if_any()
    return await backend.query_range(promql, clusters, start, end, step_of(ctx, end - start, step))
