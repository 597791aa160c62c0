"""A cluster's ``/metrics``: what kube-state-metrics and the kubelets' cAdvisor endpoints would serve.

One scrape of a simulated cluster answers, in the Prometheus text exposition format (or OpenMetrics
when the scraper asks for it), the series a real cluster spreads over kube-state-metrics and each
node's ``/metrics/cadvisor``, with their names, types, help texts and labels:

- object state, as kube-state-metrics reports it: pod phases, container restarts, available replicas
  of deployments, node conditions and resource quotas;
- container usage, as cAdvisor reports it: ``container_memory_working_set_bytes`` is the memory
  metrics.k8s.io reports for the container at the same moment, and ``container_cpu_usage_seconds_total``
  is the CPU time consumed since the pod started running, such that its increase over each 15-second
  sample window, divided by 15, is the usage metrics.k8s.io reports for that window (metrics-server
  derives its figure from this counter in the same way).  It counts simulated seconds, and kubesim
  keeps reporting usage for a container waiting in a crash loop, so the counter keeps growing
  through restarts instead of starting again.

The path is served as the API server serves its own ``/metrics``: only to a client presenting the
cluster's bearer token (Prometheus: ``authorization: {credentials: ...}``), like every other path.
Samples carry no timestamp: the scraper stamps them, as it does for kube-state-metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from kubesim.clock import parse_time
from kubesim.metrics import DEFAULT_CPU, RESOLUTION, container_usage, sample_time, unit
from kubesim.quantity import parse_quantity
from kubesim.store import ClusterState

PHASES = ("Pending", "Succeeded", "Failed", "Unknown", "Running")
CONDITION_STATUSES = (("true", "True"), ("false", "False"), ("unknown", "Unknown"))
NODE_LOST = "NodeLost"


def _scan(state: ClusterState, group: str, version: str, plural: str) -> list[dict[str, Any]]:
    rt = state.resources.get(group, version, plural)
    return state.scan(rt) if rt is not None else []


def _pod_labels(pod: dict[str, Any]) -> list[str]:
    meta = pod["metadata"]
    return [meta.get("namespace", ""), meta["name"], meta.get("uid", "")]


# -- kube-state-metrics ------------------------------------------------------------------------------


def pod_phase(pod: dict[str, Any]) -> str | None:
    """The phase kube-state-metrics reports: none before the kubelet sets one, Unknown for a lost node's pod."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if not phase:
        return None
    if pod["metadata"].get("deletionTimestamp") and status.get("reason") == NODE_LOST:
        return "Unknown"
    return str(phase)


def pod_families(pods: Iterable[dict[str, Any]]) -> Iterator[Metric]:
    phases = GaugeMetricFamily(
        "kube_pod_status_phase", "The pods current phase.", labels=["namespace", "pod", "uid", "phase"]
    )
    restarts = CounterMetricFamily(
        "kube_pod_container_status_restarts_total",
        "The number of container restarts per container.",
        labels=["namespace", "pod", "uid", "container"],
    )
    for pod in pods:
        labels = _pod_labels(pod)
        current = pod_phase(pod)
        if current is not None:
            for phase in PHASES:
                phases.add_metric([*labels, phase], 1.0 if phase == current else 0.0)
        for entry in (pod.get("status") or {}).get("containerStatuses") or []:
            restarts.add_metric([*labels, entry.get("name", "")], float(entry.get("restartCount", 0)))
    yield phases
    yield restarts


def deployment_families(deployments: Iterable[dict[str, Any]]) -> Iterator[Metric]:
    available = GaugeMetricFamily(
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
        labels=["namespace", "deployment"],
    )
    for deployment in deployments:
        meta = deployment["metadata"]
        count = (deployment.get("status") or {}).get("availableReplicas") or 0
        available.add_metric([meta.get("namespace", ""), meta["name"]], float(count))
    yield available


def node_families(nodes: Iterable[dict[str, Any]]) -> Iterator[Metric]:
    conditions = GaugeMetricFamily(
        "kube_node_status_condition", "The condition of a cluster node.", labels=["node", "condition", "status"]
    )
    for node in nodes:
        name = node["metadata"]["name"]
        for condition in (node.get("status") or {}).get("conditions") or []:
            for label, status in CONDITION_STATUSES:
                value = 1.0 if condition.get("status") == status else 0.0
                conditions.add_metric([name, condition.get("type", ""), label], value)
    yield conditions


def quota_families(quotas: Iterable[dict[str, Any]]) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "kube_resourcequota",
        "Information about resource quota.",
        labels=["namespace", "resourcequota", "resource", "type"],
    )
    for quota in quotas:
        meta, status = quota["metadata"], quota.get("status") or {}
        for kind in ("hard", "used"):
            for resource, amount in sorted((status.get(kind) or {}).items()):
                family.add_metric(
                    [meta.get("namespace", ""), meta["name"], resource, kind], float(parse_quantity(amount))
                )
    yield family


# -- cAdvisor ----------------------------------------------------------------------------------------


def running_since(pod: dict[str, Any]) -> datetime | None:
    """When the pod's containers started, for a pod metrics.k8s.io reports usage for; None otherwise."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
        return None
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodReadyToStartContainers"
            and condition.get("status") == "True"
            and condition.get("lastTransitionTime")
        ):
            return parse_time(condition["lastTransitionTime"])
    started = status.get("startTime") or pod["metadata"].get("creationTimestamp")
    return parse_time(started) if started else None


def _cpu_capacity(container: dict[str, Any]) -> float:
    """The CPU that bounds a container's usage: its request, else its limit, else metrics' default."""
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        value = (resources.get(section) or {}).get("cpu")
        if value is not None and parse_quantity(value) > 0:
            return float(parse_quantity(value))
    return float(DEFAULT_CPU)


@lru_cache(maxsize=65536)
def _wave_terms(identity: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """(period, phase) of the slow and the fast sine of kubesim.metrics' CPU wave for one container."""
    key = identity + "/cpu"
    slow = 600 + 1800 * unit(key, "p1")
    fast = 60 + 240 * unit(key, "p2")
    return (slow, unit(key, "f1")), (fast, unit(key, "f2"))


def _sine_sum(period: float, phase: float, first: int, count: int) -> float:
    """sum(sin(2π(RESOLUTION·j/period + phase)) for j in first..first+count-1), in closed form."""
    if count <= 0:
        return 0.0
    step = 2 * math.pi * RESOLUTION / period
    start = 2 * math.pi * (RESOLUTION * first / period + phase)
    return math.sin(count * step / 2) / math.sin(step / 2) * math.sin(start + (count - 1) * step / 2)


def _usage_sum(identity: str, cap: float, first: int, count: int) -> float:
    """The CPU cores metrics.k8s.io reports at sample times first..first+count-1 (in RESOLUTIONs), summed."""
    if count <= 0:
        return 0.0
    (slow, slow_phase), (fast, fast_phase) = _wave_terms(identity)
    waves = 0.7 * _sine_sum(slow, slow_phase, first, count) + 0.3 * _sine_sum(fast, fast_phase, first, count)
    return cap * (0.05 * count + 0.85 * (waves + count) / 2)


def cpu_seconds(identity: str, container: dict[str, Any], since: datetime, now: datetime) -> float:
    """CPU seconds used from ``since`` to ``now``: each window (T - 15 s, T] runs at the usage sampled at T."""
    start, end = since.timestamp(), now.timestamp()
    if end <= start:
        return 0.0
    cap = _cpu_capacity(container)
    first, last = math.ceil(start / RESOLUTION), math.floor(end / RESOLUTION)
    if first > last:
        return (end - start) * _usage_sum(identity, cap, first, 1)
    head = (first * RESOLUTION - start) * _usage_sum(identity, cap, first, 1)
    body = RESOLUTION * _usage_sum(identity, cap, first + 1, last - first)
    tail = (end - last * RESOLUTION) * _usage_sum(identity, cap, last + 1, 1)
    return head + body + tail


def container_families(state: ClusterState, pods: Iterable[dict[str, Any]]) -> Iterator[Metric]:
    labels = ["namespace", "pod", "container"]
    cpu = CounterMetricFamily(
        "container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", labels=labels
    )
    memory = GaugeMetricFamily(
        "container_memory_working_set_bytes", "Current working set of the container in bytes", labels=labels
    )
    now, at = state.clock.now(), sample_time(state)
    for pod in pods:
        since = running_since(pod)
        if since is None:
            continue
        meta = pod["metadata"]
        namespace = meta.get("namespace", "")
        for container in (pod.get("spec") or {}).get("containers") or []:
            identity = f"{namespace}/{meta['name']}/{container['name']}"
            _, working_set = container_usage(identity, container, at)
            values = [namespace, meta["name"], container["name"]]
            cpu.add_metric(values, cpu_seconds(identity, container, since, now))
            memory.add_metric(values, float(working_set // Decimal(1024) * 1024))
    yield cpu
    yield memory


# -- exposition --------------------------------------------------------------------------------------


class ClusterCollector(Collector):
    """Every family of one cluster, read from its state at collection time."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state

    def collect(self) -> Iterable[Metric]:
        pods = _scan(self.state, "", "v1", "pods")
        yield from pod_families(pods)
        yield from deployment_families(_scan(self.state, "apps", "v1", "deployments"))
        yield from node_families(_scan(self.state, "", "v1", "nodes"))
        yield from quota_families(_scan(self.state, "", "v1", "resourcequotas"))
        yield from container_families(self.state, pods)


def exposition(state: ClusterState, accept: str = "") -> tuple[bytes, str]:
    """The scrape body and its content type, in the format the Accept header asks for."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClusterCollector(state))
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


def metrics_response(state: ClusterState, request: Request) -> Response:
    body, content_type = exposition(state, request.headers.get("accept", ""))
    if request.method == "HEAD":
        body = b""
    return Response(body, media_type=content_type)
