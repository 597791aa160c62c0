"""Recorded series: per-namespace and per-cluster sums written with each sample.

A cluster's or a namespace's history summed at query time touches every pod's points (a 5,000-pod
cluster's day is millions of them); these sums, written once per sample in Prometheus'
recording-rule naming (``level:metric:operation``), make it one series each. Every one is labelled
``cluster_id``, the namespace level also ``namespace``:

- ``namespace:container_cpu_usage:cores`` / ``cluster:container_cpu_usage:cores``: a gauge, the
  cores metrics.k8s.io reports for the containers (the usage ``container_cpu_usage_seconds_total``
  integrates), not a counter: no ``rate`` needed;
- ``namespace:container_memory_working_set_bytes:sum`` / ``cluster:...:sum``;
- ``namespace:kube_pod_running:count`` / ``cluster:...``: pods whose phase is Running;
- ``namespace:kube_pod_container_status_restarts:sum`` / ``cluster:...``.

A sum is written only where the raw series it sums exist in the sample (containers with metrics,
pods with a phase, containers with a status), so ``sum(...)`` of the raw series and the recorded
series have points at the same moments. None ends in ``_total``: roll-ups keep their mean over the
window (for restarts, the last value would be what the raw counters' roll-ups give; they differ only
within a window in which a container restarted).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from app.metrics.promql import CLUSTER_LABEL

CPU_CORES = "container_cpu_usage:cores"
MEMORY = "container_memory_working_set_bytes:sum"
RUNNING = "kube_pod_running:count"
RESTARTS = "kube_pod_container_status_restarts:sum"
RECORDED = (CPU_CORES, MEMORY, RUNNING, RESTARTS)
LEVELS = ("namespace", "cluster")
# what each history metric reads at the namespace and cluster levels
HISTORY = {"cpu": CPU_CORES, "memory": MEMORY, "pods": RUNNING, "restarts": RESTARTS}


def recorded_name(level: str, metric: str) -> str:
    """``namespace:kube_pod_running:count`` for ("namespace", RUNNING)."""
    return f"{level}:{metric}"


RECORDED_NAMES = frozenset(recorded_name(level, metric) for level in LEVELS for metric in RECORDED)


@dataclass
class Totals:
    """The sums of one sample, by namespace; a metric is absent where nothing was summed."""

    by_namespace: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, namespace: str, metric: str, value: float) -> None:
        sums = self.by_namespace.get(namespace)
        if sums is None:
            sums = self.by_namespace[namespace] = {}
        sums[metric] = sums.get(metric, 0.0) + value

    def entries(self, cluster_id: str) -> Iterator[tuple[str, dict[str, str], float]]:
        """(name, labels, value) of every recorded series: each namespace's, then the cluster's."""
        cluster: dict[str, float] = {}
        for namespace in sorted(self.by_namespace):
            for metric, value in self.by_namespace[namespace].items():
                cluster[metric] = cluster.get(metric, 0.0) + value
                labels = {CLUSTER_LABEL: cluster_id, "namespace": namespace}
                yield recorded_name("namespace", metric), labels, value
        for metric, value in cluster.items():
            yield recorded_name("cluster", metric), {CLUSTER_LABEL: cluster_id}, value
