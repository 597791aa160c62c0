"""Kubilitics's metrics and events (seed 002, "Metrics" and "Events").

Usage is read now from metrics.k8s.io (`Cluster.metrics`): CPU in cores, memory in bytes, each
written as text with its unit, as the summary's example does. A node's, a pod's or a workload's
metrics are those of an object that exists (else 404); one that exists but has no reading yet
(a pod still starting) answers `used: null`. A workload's pods are those its selector picks;
a CronJob's are those of the Jobs it owns (picked by the `batch.kubernetes.io/controller-uid`
label Kubernetes puts on a Job's pods)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, Field

from app.rest.rows import Call, Data, Listing, Row
from app.rest.values import UnknownId

DOC = "observability.graphql"
TAG = "Kubilitics: metrics and events"
METRICS = "/api/v1/clusters/{clusterId}/metrics"
JOB_POD_LABEL = "batch.kubernetes.io/controller-uid"
WORKLOADS = {
    "deployment": "Deployment",
    "replicaset": "ReplicaSet",
    "statefulset": "StatefulSet",
    "daemonset": "DaemonSet",
    "job": "Job",
    "cronjob": "CronJob",
}
# Where each kind's status says how many replicas it wants, has ready and has available.
REPLICAS = {
    "Deployment": ("spec.replicas", "status.readyReplicas", "status.availableReplicas"),
    "ReplicaSet": ("spec.replicas", "status.readyReplicas", "status.availableReplicas"),
    "StatefulSet": ("spec.replicas", "status.readyReplicas", "status.availableReplicas"),
    "DaemonSet": ("status.desiredNumberScheduled", "status.numberReady", "status.numberAvailable"),
}
_started: ContextVar[float] = ContextVar("kubilitics_metrics_started")


class EventQuery(BaseModel):
    namespace: str | None = Field(None, min_length=1, max_length=63)


def _number(value: float) -> str:
    """A quantity as text: whole numbers without a fraction (bytes), cores to four places."""
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0")


def _usage(cpu: float | None, memory: float | None) -> dict[str, Any]:
    return {
        "cpu": {"used": None if cpu is None else _number(cpu), "unit": "cores"},
        "memory": {"used": None if memory is None else _number(memory), "unit": "bytes"},
    }


def _entry(usage: Data) -> dict[str, Any]:
    found = {"name": usage["name"], **_usage(usage["cpuCores"], usage["memoryBytes"])}
    return found | ({"namespace": usage["namespace"]} if usage.get("namespace") else {})


def _named(entries: Iterable[Data], name: str) -> dict[str, Any]:
    """The usage of the entry called `name`, `used: null` where metrics.k8s.io has none."""
    usage = next((e for e in entries if e["name"] == name), None)
    return _usage(usage["cpuCores"], usage["memoryBytes"]) if usage else _usage(None, None)


def _summary_started(call: Call, _: Data) -> Data:
    _started.set(time.perf_counter())
    return {"clusterId": call.path["clusterId"]}


def _summary(value: Data, _: Call) -> dict[str, Any]:
    """`query_ms` is how long reading the usage took; nothing is cached, so `cache_hit` is false."""
    took = (time.perf_counter() - _started.get(time.perf_counter())) * 1000
    cpu = {"total": _number(value["cpuCapacity"]), "used": _number(value["cpuCores"]), "unit": "cores"}
    memory = {"total": _number(value["memoryCapacity"]), "used": _number(value["memoryBytes"]), "unit": "bytes"}
    return {"summary": {"cpu": cpu, "memory": memory}, "query_ms": round(took, 1), "cache_hit": False}


def _cluster(value: Data, _: Call) -> dict[str, Any]:
    """Nodes as metrics.k8s.io reads them; namespaces as the sums of their pods."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for pod in value["pods"]:
        total = sums[pod.get("namespace") or ""]
        total[0], total[1], total[2] = total[0] + pod["cpuCores"], total[1] + pod["memoryBytes"], total[2] + 1
    namespaces = [{"name": n, **_usage(c, m), "pods": int(p)} for n, (c, m, p) in sorted(sums.items())]
    return {"nodes": [_entry(n) for n in value["nodes"]], "namespaces": namespaces}


def _found(data: Data) -> Data:
    """The object the path names, which the earlier operation read."""
    found = data.get("kubeObject")
    if not found:
        raise UnknownId("not found")
    return dict(found)


def _object(kind: str, name_param: str, namespaced: bool = True) -> Callable[[Call, Data], Data]:
    def variables(call: Call, _: Data) -> Data:
        found = {"clusterId": call.path["clusterId"], "kind": kind, "name": call.path[name_param]}
        return found | ({"namespace": call.path["namespace"]} if namespaced else {})

    return variables


def _after_object(call: Call, data: Data) -> Data:
    _found(data)
    return {"clusterId": call.path["clusterId"], "namespace": call.path["namespace"]}


def _node_metrics(call: Call, data: Data) -> Data:
    _found(data)
    return {"clusterId": call.path["clusterId"]}


def selector_text(selector: Data) -> str:
    """A LabelSelector (`matchLabels`, `matchExpressions`) written as `kubectl -l` takes it."""
    terms = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("In", "NotIn"):
            terms.append(f"{key} {operator.lower()} ({','.join(values)})")
        elif operator == "Exists":
            terms.append(str(key))
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def _selector(kind: str, data: Data) -> str:
    workload = _found(data)
    raw = workload.get("raw") or {}
    if kind != "CronJob":
        return selector_text((raw.get("spec") or {}).get("selector") or {})
    owned = [
        (job.get("raw") or {}).get("metadata", {}).get("uid")
        for job in data.get("resources") or []
        if any(
            o.get("uid") == workload["uid"]
            for o in (job.get("raw") or {}).get("metadata", {}).get("ownerReferences") or []
        )
    ]
    # With no Job yet, the CronJob's own UID: no pod carries it, so no pod is picked.
    return f"{JOB_POD_LABEL} in ({','.join(u for u in owned if u) or workload['uid']})"


def _workload_pods(kind: str) -> Callable[[Call, Data], Data]:
    def variables(call: Call, data: Data) -> Data:
        return {**_after_object(call, data), "labelSelector": _selector(kind, data)}

    return variables


def _at(raw: Data, dotted: str) -> int:
    value: Any = raw
    for step in dotted.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return int(value or 0)  # Kubernetes leaves out a count that is zero


def _workload(kind: str) -> Callable[[Any, Call], dict[str, Any]]:
    def shape(value: Data, call: Call) -> dict[str, Any]:
        raw = (value.get("kubeObject") or {}).get("raw") or {}
        metrics = value["cluster"]["metrics"]
        names = {p["name"] for p in value["cluster"]["pods"]["nodes"]}
        found: dict[str, Any] = {"name": call.path["name"], "namespace": call.path["namespace"], "kind": kind}
        if kind in REPLICAS:
            desired, ready, available = (_at(raw, path) for path in REPLICAS[kind])
            found["replicas"] = {"desired": desired, "ready": ready, "available": available}
        found["pods"] = [_entry(p) for p in metrics["pods"] if p["name"] in names]
        return found | _named(metrics["workloads"], f"{kind}/{call.path['name']}")

    return shape


def _event(value: Data, _: Call) -> dict[str, Any]:
    """A Kubernetes event as `kubectl get events -o json` gives it; `eventTime` or the time it was
    recorded stands in for a timestamp the event leaves out."""
    raw = value.get("raw") or {}
    involved = raw.get("involvedObject") or raw.get("regarding") or {}
    recorded = raw.get("eventTime") or value.get("createdAt")
    first = raw.get("firstTimestamp") or recorded
    return {
        "name": value["name"],
        "namespace": value.get("namespace") or "",
        "type": raw.get("type") or "",
        "reason": raw.get("reason") or "",
        "message": raw.get("message") or raw.get("note") or "",
        "firstTimestamp": first,
        "lastTimestamp": raw.get("lastTimestamp") or first,
        "count": int(raw.get("count") or (raw.get("series") or {}).get("count") or 1),
        "involvedObject": {k: involved[k] for k in ("kind", "namespace", "name") if involved.get(k)},
        "metadata": raw.get("metadata") or {},
    }


def _workload_row(segment: str, kind: str) -> Row:
    jobs = ("KubiliticsMetricsJobs",) if kind == "CronJob" else ()
    pods = _workload_pods(kind)
    return Row(
        "GET",
        f"{METRICS}/{{namespace}}/{segment}/{{name}}",
        DOC,
        ("KubiliticsMetricsObject", *jobs, "KubiliticsWorkloadPodMetrics"),
        f"Get {segment} metrics",
        TAG,
        variables=lambda call, data: _object(kind, "name")(call, data) if not data else _next(call, data, jobs, pods),
        shape=_workload(kind),
    )


def _next(call: Call, data: Data, jobs: tuple[str, ...], pods: Callable[[Call, Data], Data]) -> Data:
    """The CronJob's Jobs come second, when they have not been read yet; then the pods' usage."""
    if jobs and "resources" not in data:
        return _after_object(call, data)
    return pods(call, data)


ROWS = [
    Row(
        "GET",
        f"{METRICS}/summary",
        DOC,
        ("KubiliticsMetricsSummary",),
        "Get unified metrics summary",
        TAG,
        variables=_summary_started,
        pick="cluster.metrics",
        shape=_summary,
    ),
    Row(
        "GET",
        METRICS,
        DOC,
        ("KubiliticsClusterMetrics",),
        "Get cluster metrics",
        TAG,
        pick="cluster.metrics",
        shape=_cluster,
    ),
    Row(
        "GET",
        f"{METRICS}/nodes/{{nodeName}}",
        DOC,
        ("KubiliticsMetricsObject", "KubiliticsNodeMetrics"),
        "Get node metrics",
        TAG,
        variables=lambda call, data: (
            _node_metrics(call, data) if data else _object("Node", "nodeName", False)(call, data)
        ),
        pick="cluster.metrics",
        shape=lambda value, call: {"name": call.path["nodeName"], **_named(value["nodes"], call.path["nodeName"])},
    ),
    *(_workload_row(segment, kind) for segment, kind in WORKLOADS.items()),
    Row(
        "GET",
        f"{METRICS}/{{namespace}}/{{pod}}",
        DOC,
        ("KubiliticsMetricsObject", "KubiliticsPodMetrics"),
        "Get pod metrics",
        TAG,
        variables=lambda call, data: _after_object(call, data) if data else _object("Pod", "pod")(call, data),
        pick="cluster.metrics",
        shape=lambda value, call: {
            "name": call.path["pod"],
            "namespace": call.path["namespace"],
            **_named(value["pods"], call.path["pod"]),
        },
    ),
    Row(
        "GET",
        "/api/v1/clusters/{clusterId}/events",
        DOC,
        ("KubiliticsEvents",),
        "Get Kubernetes events",
        TAG,
        query=EventQuery,
        pick="cluster.events",
        listing=Listing("items"),
        shape=_event,
    ),
]
