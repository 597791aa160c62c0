"""What one sample of a cluster is: the series kube-state-metrics and cAdvisor would report for it.

``sample_cluster`` reads a cluster's Pods, Deployments, Nodes and ResourceQuotas (as the watch-fed
caches hold them) and its metrics.k8s.io PodMetrics, and returns every series under the names and
labels a real cluster's exporters use (kubesim's ``/metrics`` serves the same), each also labelled
``cluster_id`` so one query language scopes them the same way in both metrics backends:

- ``kube_pod_status_phase{namespace,pod,uid,phase}``: 1 for the pod's phase, 0 for the others;
- ``kube_pod_container_status_restarts_total{namespace,pod,uid,container}``;
- ``kube_deployment_status_replicas_available{namespace,deployment}``;
- ``kube_node_status_condition{node,condition,status}``: one-hot over true, false and unknown;
- ``kube_resourcequota{namespace,resourcequota,resource,type}``: hard and used, in base units;
- ``container_memory_working_set_bytes{namespace,pod,container}``: the PodMetrics memory;
- ``container_cpu_usage_seconds_total{namespace,pod,container}``: see ``CpuCounter``.

With them come the recorded sums of ``app.metrics.recording`` (per namespace and per cluster: CPU
cores, working set, running pods, restarts), which a cluster's or a namespace's history reads.

The function is pure: everything it needs comes in, the counters it integrates go out with the
sample. A ``SeriesMemo`` may be passed to reuse, across samples, the series of objects that did not
change (the caches replace an object when it changes and never edit it); the result is the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from app.metrics.promql import CLUSTER_LABEL
from app.metrics.recording import CPU_CORES, MEMORY, RESTARTS, RUNNING, Totals
from app.topology.builder import paused_gc

PHASES = ("Pending", "Succeeded", "Failed", "Unknown", "Running")
CONDITION_STATUSES = (("true", "True"), ("false", "False"), ("unknown", "Unknown"))
NODE_LOST = "NodeLost"
KINDS = ("Pod", "Deployment", "Node", "ResourceQuota")  # what a sample reads from the caches
CPU_SECONDS = "container_cpu_usage_seconds_total"
WORKING_SET = "container_memory_working_set_bytes"

Obj = Mapping[str, Any]
Labels = Mapping[str, str]
Entry = tuple[str, Labels, float]  # (metric name, labels, value)
ContainerRef = tuple[str, str, str]  # (namespace, pod, container)

_SPECIAL = re.compile(r'["\\\x00-\x1f\x7f]')
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal(10**3),
            "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15),
            "E": Decimal(10**18)}


class PodSums(NamedTuple):
    """What one pod adds to its namespace's recorded sums (None: it has no such series)."""

    namespace: str
    running: float | None
    restarts: float | None


class CpuCounter(NamedTuple):
    """One container's integrated CPU time, as ``container_cpu_usage_seconds_total`` reports it.

    metrics.k8s.io reports a rate: the cores a container used over its last window, which ends at
    the PodMetrics' ``timestamp``. The counter adds that usage × the seconds from the end of the
    window counted before (``until``) to the end of this one, so a window is counted once however
    often the cluster is sampled, and the counter starts from 0 when the container is first seen
    (or its pod is replaced: another ``uid``). This approximates cAdvisor's counter: it is exact
    at each window's end when the sampling interval is at most the metrics window (15 s), and a
    longer gap is filled at the latest window's usage. Its rate is what matters, not its level.
    """

    uid: str
    value: float
    until: float  # epoch seconds of the last usage window's end already counted


@dataclass
class Sample:
    """Every series of one cluster at one moment, and the CPU counters to carry to the next."""

    at: datetime
    values: dict[str, Entry]  # series key → (name, labels, value)
    counters: dict[ContainerRef, CpuCounter]


@dataclass
class SeriesMemo:
    """The series of the objects of the previous sample, by object identity.

    Entries hold the object they were made from, so an ``id`` is never reused while remembered;
    each sample keeps only the objects it saw.
    """

    objects: dict[int, tuple[Obj, dict[str, Entry], PodSums | None]] = field(default_factory=dict)
    containers: dict[ContainerRef, tuple[str, Labels, str, Labels]] = field(default_factory=dict)


# -- keys ------------------------------------------------------------------------------------------


def quoted(value: str) -> str:
    """A label value as a PromQL string: double-quoted, with Go's escapes (JSON's are a subset)."""
    return json.dumps(value, ensure_ascii=False) if _SPECIAL.search(value) else f'"{value}"'


def series_key(name: str, labels: Labels) -> str:
    """The canonical identity of a series: ``name{a="x",b="y"}``, labels sorted by name."""
    inner = ",".join(f"{label}={quoted(labels[label])}" for label in sorted(labels))
    return f"{name}{{{inner}}}"


# -- quantities ------------------------------------------------------------------------------------


def quantity(text: Any) -> float:
    """A Kubernetes quantity ("250m", "64Mi", "1.5", "2e3") in base units; 0 when unreadable."""
    if not isinstance(text, str):
        text = str(text)
    # metrics.k8s.io writes nanocores and kibibytes: read those without Decimal (same result:
    # an exact integer divided by 1e9 rounds once, as the Decimal product converted to float does)
    if text[-1:] == "n" and text[:-1].isdigit():
        return int(text[:-1]) / 1e9
    if text[-2:] == "Ki" and text[:-2].isdigit():
        return float(int(text[:-2]) * 1024)
    return _quantity(text)


@lru_cache(maxsize=8192)
def _quantity(text: str) -> float:
    text = text.strip()
    factor: Decimal | int = 1
    for suffix, binary in _BINARY.items():
        if text.endswith(suffix):
            text, factor = text[: -len(suffix)], binary
            break
    else:
        if text[-1:] in _DECIMAL:
            text, factor = text[:-1], _DECIMAL[text[-1]]
    try:
        return float(Decimal(text) * factor)
    except (InvalidOperation, ValueError):
        return 0.0


# -- kube-state-metrics ------------------------------------------------------------------------------


def pod_phase(pod: Obj) -> str | None:
    """The phase kube-state-metrics reports: none before the kubelet sets one, Unknown for a lost node's pod."""
    status = pod.get("status") or {}
    phase = status.get("phase")
    if not phase:
        return None
    if pod["metadata"].get("deletionTimestamp") and status.get("reason") == NODE_LOST:
        return "Unknown"
    return str(phase)


def _add(into: dict[str, Entry], name: str, labels: dict[str, str], value: float) -> None:
    into[series_key(name, labels)] = (name, labels, value)


def pod_series(cluster_id: str, pod: Obj) -> dict[str, Entry]:
    meta = pod["metadata"]
    base = {CLUSTER_LABEL: cluster_id, "namespace": meta.get("namespace", ""), "pod": meta["name"],
            "uid": meta.get("uid", "")}
    found: dict[str, Entry] = {}
    current = pod_phase(pod)
    if current is not None:
        for phase in PHASES:
            _add(found, "kube_pod_status_phase", {**base, "phase": phase}, 1.0 if phase == current else 0.0)
    for entry in (pod.get("status") or {}).get("containerStatuses") or []:
        labels = {**base, "container": entry.get("name", "")}
        _add(found, "kube_pod_container_status_restarts_total", labels, float(entry.get("restartCount", 0)))
    return found


def deployment_series(cluster_id: str, deployment: Obj) -> dict[str, Entry]:
    meta = deployment["metadata"]
    labels = {CLUSTER_LABEL: cluster_id, "namespace": meta.get("namespace", ""), "deployment": meta["name"]}
    count = (deployment.get("status") or {}).get("availableReplicas") or 0
    found: dict[str, Entry] = {}
    _add(found, "kube_deployment_status_replicas_available", labels, float(count))
    return found


def node_series(cluster_id: str, node: Obj) -> dict[str, Entry]:
    name = node["metadata"]["name"]
    found: dict[str, Entry] = {}
    for condition in (node.get("status") or {}).get("conditions") or []:
        for label, status in CONDITION_STATUSES:
            labels = {CLUSTER_LABEL: cluster_id, "node": name, "condition": condition.get("type", ""),
                      "status": label}
            _add(found, "kube_node_status_condition", labels, 1.0 if condition.get("status") == status else 0.0)
    return found


def quota_series(cluster_id: str, quota: Obj) -> dict[str, Entry]:
    meta, status = quota["metadata"], quota.get("status") or {}
    found: dict[str, Entry] = {}
    for kind in ("hard", "used"):
        for resource, amount in sorted((status.get(kind) or {}).items()):
            labels = {CLUSTER_LABEL: cluster_id, "namespace": meta.get("namespace", ""),
                      "resourcequota": meta["name"], "resource": resource, "type": kind}
            _add(found, "kube_resourcequota", labels, quantity(amount))
    return found


def pod_sums(pod: Obj) -> PodSums:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    phase = pod_phase(pod)
    return PodSums(pod["metadata"].get("namespace", ""), None if phase is None else float(phase == "Running"),
                   float(sum(s.get("restartCount", 0) for s in statuses)) if statuses else None)


_OBJECT_SERIES = {"Pod": pod_series, "Deployment": deployment_series, "Node": node_series,
                  "ResourceQuota": quota_series}


def _object_series(cluster_id: str, objects: Mapping[str, Sequence[Obj]], memo: SeriesMemo | None,
                   into: dict[str, Entry], totals: Totals) -> None:
    kept: dict[int, tuple[Obj, dict[str, Entry], PodSums | None]] = {}
    for kind, make in _OBJECT_SERIES.items():
        for obj in objects.get(kind) or ():
            remembered = memo.objects.get(id(obj)) if memo is not None else None
            if remembered is None or remembered[0] is not obj:
                remembered = (obj, make(cluster_id, obj), pod_sums(obj) if kind == "Pod" else None)
            kept[id(obj)] = remembered
            into.update(remembered[1])
            sums = remembered[2]
            if sums is not None:
                if sums.running is not None:
                    totals.add(sums.namespace, RUNNING, sums.running)
                if sums.restarts is not None:
                    totals.add(sums.namespace, RESTARTS, sums.restarts)
    if memo is not None:
        memo.objects = kept


# -- cAdvisor ----------------------------------------------------------------------------------------


def _epoch(text: Any, fallback: float) -> float:
    return (_parse_epoch(text) if isinstance(text, str) else None) or fallback


@lru_cache(maxsize=64)
def _parse_epoch(text: str) -> float | None:
    """A metav1.Time as unix seconds (every PodMetrics of one LIST shares its timestamp)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _container_keys(cluster_id: str, ref: ContainerRef,
                    into: dict[ContainerRef, tuple[str, Labels, str, Labels]]) -> tuple[str, Labels, str, Labels]:
    namespace, pod, container = ref
    labels = {CLUSTER_LABEL: cluster_id, "namespace": namespace, "pod": pod, "container": container}
    made = into[ref] = (series_key(CPU_SECONDS, labels), labels, series_key(WORKING_SET, labels), labels)
    return made


def _pod_uids(pods: Iterable[Obj]) -> dict[tuple[str, str], str]:
    return {(p["metadata"].get("namespace", ""), p["metadata"]["name"]): p["metadata"].get("uid", "") for p in pods}


def container_series(cluster_id: str, pods: Iterable[Obj], pod_metrics: Iterable[Obj],
                     previous: Mapping[ContainerRef, CpuCounter], now: datetime, memo: SeriesMemo | None,
                     into: dict[str, Entry], totals: Totals) -> dict[ContainerRef, CpuCounter]:
    """Memory and integrated CPU of every container metrics.k8s.io reports; the counters carried on;
    their usage added to ``totals``."""
    uids = _pod_uids(pods)
    counters: dict[ContainerRef, CpuCounter] = {}
    fallback = now.timestamp()
    names = memo.containers if memo is not None else {}
    for metrics in pod_metrics:
        meta = metrics.get("metadata") or {}
        namespace, pod = meta.get("namespace") or "", meta.get("name") or ""
        uid = uids.get((namespace, pod), "")
        until = _epoch(metrics.get("timestamp"), fallback)
        containers = metrics.get("containers") or ()
        pod_cores = pod_bytes = 0.0
        for container in containers:
            ref = (namespace, pod, container.get("name") or "")
            usage = container.get("usage") or {}
            cores = quantity(usage.get("cpu", "0"))
            counter = previous.get(ref)
            if counter is None or counter.uid != uid:
                counter = CpuCounter(uid, 0.0, until)
            elif until > counter.until:
                counter = CpuCounter(uid, counter.value + cores * (until - counter.until), until)
            counters[ref] = counter
            keys = names.get(ref) or _container_keys(cluster_id, ref, names)
            working_set = quantity(usage.get("memory", "0"))
            into[keys[0]] = (CPU_SECONDS, keys[1], counter.value)
            into[keys[2]] = (WORKING_SET, keys[3], working_set)
            pod_cores += cores
            pod_bytes += working_set
        if containers:
            totals.add(namespace, CPU_CORES, pod_cores)
            totals.add(namespace, MEMORY, pod_bytes)
    if memo is not None and len(names) > len(counters):  # forget the containers gone
        memo.containers = {ref: names[ref] for ref in counters}
    return counters


def sample_cluster(objects: Mapping[str, Sequence[Obj]], pod_metrics: Sequence[Obj],
                   previous: Mapping[ContainerRef, CpuCounter], now: datetime, *, cluster_id: str,
                   memo: SeriesMemo | None = None) -> Sample:
    """One sample of a cluster from its cached objects (by kind, ``KINDS``) and its PodMetrics,
    with the recorded sums of ``app.metrics.recording``.

    ``previous`` is the last sample's ``counters`` (empty at first): the CPU counters continue
    from it.
    """
    values: dict[str, Entry] = {}
    totals = Totals()
    with paused_gc():  # tens of thousands of small containers, no cycles: as a topology build (see there)
        _object_series(cluster_id, objects, memo, values, totals)
        counters = container_series(cluster_id, objects.get("Pod") or (), pod_metrics, previous, now, memo, values,
                                    totals)
        for name, labels, value in totals.entries(cluster_id):
            _add(values, name, labels, value)
    return Sample(now, values, counters)
