"""Where metrics history comes from: one interface, two backends, and the typed history on top.

``embedded`` evaluates PromQL over the samples this deployment writes (``app.metrics.embedded``);
``prometheus`` asks a real Prometheus that scrapes the clusters (``app.metrics.prometheus``).
Both limit every query to the caller's clusters (``promql.scope``) before anything else.

``history`` is written once, over ``query_range``, so both backends answer a cluster's,
namespace's, workload's, pod's or node's history with the same four queries. On the embedded
backend, a cluster's or a namespace's history reads instead the sums recorded with each sample
(``app.metrics.recording``: ``cluster:container_cpu_usage:cores``, ``namespace:kube_pod_running:count``
...), one series each rather than every pod's; Prometheus has them only if its operator records
them, so the prometheus backend sums the raw series.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from app.db.session import Database
from app.errors import BadUserInput
from app.metrics.recording import HISTORY, recorded_name
from app.metrics.series import quoted
from app.metrics.store import EmbeddedStore
from app.settings import Settings

USAGE_RESOLUTION = 15.0  # seconds: metrics-server's window, the finest step container usage is known at
MAX_REGEX = 2500  # characters of one pod regex, so each query stays within promql.MAX_QUERY_LENGTH
_RE2_META = frozenset("\\.+*?()|[]{}^$")

Level = Literal["cluster", "namespace", "workload", "pod", "node"]
Point = tuple[datetime, float]


class MetricsBackend(Protocol):
    name: str  # "embedded" | "prometheus"

    async def query_range(self, query: str, cluster_ids: Sequence[str], start: datetime, end: datetime,
                          step: float) -> dict[str, Any]: ...

    async def query_instant(self, query: str, cluster_ids: Sequence[str], at: datetime) -> dict[str, Any]: ...

    def resolution(self, start: datetime) -> float:
        """Seconds between two samples of a series at ``start`` (the scrape or sampling interval,
        or the roll-ups' width where only roll-ups are kept)."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class HistoryTarget:
    """What a history is of. ``pods`` (namespace, name) are the pods of a workload or of a node,
    as the resolver reads them from the cache; without pods, ``namespace`` selects a namespace;
    with neither, the history is the cluster's."""

    level: Level
    namespace: str | None = None
    pods: tuple[tuple[str, str], ...] | None = None


@dataclass
class History:
    """CPU in cores, memory in bytes (working set), running pods, and container restarts."""

    cpu: list[Point] = field(default_factory=list)
    memory: list[Point] = field(default_factory=list)
    pods: list[Point] = field(default_factory=list)
    restarts: list[Point] = field(default_factory=list)


def rate_window(resolution: float, step: float) -> int:
    """The range of ``rate()`` for a history: Grafana's ``$__rate_interval``, max(step + r, 4 × r),
    in whole seconds, where r is the data's resolution but never finer than ``USAGE_RESOLUTION``.

    Four samples at least make the rate robust to a missed sample, and step + r makes every point
    cover its whole step (no usage falls between two points)."""
    r = max(resolution, USAGE_RESOLUTION)
    return math.ceil(max(step + r, 4 * r))


def quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta: ``text`` matched literally in an RE2 (and a Python) regex."""
    return "".join(f"\\{c}" if c in _RE2_META else c for c in text)


def selections(target: HistoryTarget) -> list[list[str]]:
    """The label matchers of each query a history sums: one per namespace (and per chunk of its
    pods, for long lists) when pods are given; [] when they are given but none."""
    if target.pods is not None:
        by_namespace: dict[str, list[str]] = {}
        for namespace, pod in target.pods:
            by_namespace.setdefault(namespace, []).append(pod)
        found = []
        for namespace, pods in sorted(by_namespace.items()):
            for chunk in _chunks(sorted(set(pods))):
                pattern = "|".join(quote_meta(p) for p in chunk)
                found.append([f"namespace={quoted(namespace)}", f"pod=~{quoted(pattern)}"])
        return found
    if target.namespace is not None:
        return [[f"namespace={quoted(target.namespace)}"]]
    if target.level not in ("cluster", "namespace"):
        raise BadUserInput.field("level", f"a {target.level}'s history needs its pods")
    return [[]]


def _chunks(pods: list[str]) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    length = 0
    for pod in pods:
        size = len(quote_meta(pod)) + 1
        if chunks[-1] and length + size > MAX_REGEX:
            chunks.append([])
            length = 0
        chunks[-1].append(pod)
        length += size
    return chunks


def _selector(name: str, matchers: Sequence[str]) -> str:
    return f"{name}{{{','.join(matchers)}}}" if matchers else name


def history_queries(matchers: Sequence[str], window: int) -> dict[str, str]:
    running = ['phase="Running"', *matchers]
    return {
        "cpu": f"sum(rate({_selector('container_cpu_usage_seconds_total', matchers)}[{window}s]))",
        "memory": f"sum({_selector('container_memory_working_set_bytes', matchers)})",
        "pods": f"sum({_selector('kube_pod_status_phase', running)})",
        "restarts": f"sum({_selector('kube_pod_container_status_restarts_total', matchers)})",
    }


def recorded_queries(target: HistoryTarget) -> dict[str, str] | None:
    """The history's queries over the recorded sums, for a cluster or a namespace (None otherwise).

    Each sum is a gauge read at each step as it was last sampled (avg_over_time is not in the
    embedded subset; at steps of at least the data's resolution every sample, or roll-up, is read
    once or stands for its window): CPU is the cores in use then, where the raw query's ``rate`` is
    the mean over its window.
    """
    if target.pods is not None or target.level not in ("cluster", "namespace"):
        return None
    if target.namespace is None:
        return {metric: f"sum({recorded_name('cluster', name)})" for metric, name in HISTORY.items()}
    matcher = f"{{namespace={quoted(target.namespace)}}}"
    return {metric: f"sum({recorded_name('namespace', name)}{matcher})" for metric, name in HISTORY.items()}


def _points(result: dict[str, Any], into: dict[float, float]) -> None:
    """Add a ``sum(...)`` range result into ``into`` (time → value), point by point."""
    for row in result.get("result") or []:
        for t, value in row.get("values") or []:
            into[float(t)] = into.get(float(t), 0.0) + float(value)


async def history(backend: MetricsBackend, cluster_id: str, target: HistoryTarget, start: datetime, end: datetime,
                  step: float, *, raw: bool = False) -> History:
    """CPU, memory, running pods and restarts of the target, at start, start + step, ... end.

    CPU is ``sum(rate(container_cpu_usage_seconds_total[w]))`` with ``w = rate_window(...)``;
    several namespaces' (or chunks of pods') queries are summed point by point here, since the
    embedded subset has no vector + vector. The embedded backend answers a cluster or a namespace
    from the recorded sums (``recorded_queries``) unless ``raw``, or unless the range has none
    (samples written before they were recorded).
    """
    recorded = None if raw or backend.name != "embedded" else recorded_queries(target)
    totals = await _sums(backend, cluster_id, list(recorded.items()), start, end, step) if recorded else None
    if totals is None or not any(totals.values()):
        window = rate_window(backend.resolution(start), step)
        asked = [(metric, query) for matchers in selections(target)
                 for metric, query in history_queries(matchers, window).items()]
        totals = await _sums(backend, cluster_id, asked, start, end, step)

    def series(metric: str) -> list[Point]:
        return [(datetime.fromtimestamp(t, UTC), v) for t, v in sorted(totals[metric].items())]

    return History(series("cpu"), series("memory"), series("pods"), series("restarts"))


async def _sums(backend: MetricsBackend, cluster_id: str, asked: Sequence[tuple[str, str]], start: datetime,
                end: datetime, step: float) -> dict[str, dict[float, float]]:
    """Each metric's queries' results summed point by point (time → value)."""
    results = await asyncio.gather(*(backend.query_range(q, [cluster_id], start, end, step) for _, q in asked))
    totals: dict[str, dict[float, float]] = {"cpu": {}, "memory": {}, "pods": {}, "restarts": {}}
    for (metric, _), result in zip(asked, results, strict=True):
        _points(result, totals[metric])
    return totals


def embedded_store(settings: Settings, db: Database) -> EmbeddedStore:
    """The store the Sampler writes and the embedded backend reads, with the configured retentions."""
    return EmbeddedStore(db, timedelta(hours=settings.metrics_raw_retention_hours),
                         timedelta(days=settings.metrics_rollup_retention_days))


def backend_from_settings(settings: Settings, db: Database, store: EmbeddedStore | None = None) -> MetricsBackend:
    """The configured backend; the embedded one reads ``store`` (the Sampler's), or a new one."""
    from app.metrics.embedded import EmbeddedBackend
    from app.metrics.prometheus import PrometheusBackend

    if settings.metrics_backend == "prometheus":
        if not settings.prometheus_url:
            raise ValueError("FLEETGRAPH_PROMETHEUS_URL must be set for the prometheus metrics backend")
        return PrometheusBackend(settings.prometheus_url)
    return EmbeddedBackend(store or embedded_store(settings, db), sample_interval=settings.metrics_interval_seconds)
