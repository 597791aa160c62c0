"""A cluster's active conditions, kept current from its watch events at a constant cost per event.

`ClusterState.apply` evaluates only the object an event is about, plus what that object can change:
the cluster-wide totals behind ClusterRequestsOverCapacity (each pod's effective requests and each
node's allocatable are kept in dicts, so an event adds and subtracts its own share), and, when a Job
starts or stops being finished, that Job's own pods for PodNotReady. The answer is a `Change`: the
conditions that appeared, disappeared, or still hold with a new value.

Some answers change with time alone (a crash-looping container's restart leaving the 5-minute window,
a certificate entering its 14-day window). The state remembers those objects with the moment they
must be looked at again: `next_check()` says when, `recheck(now)` does it, so the runtime can sleep
until then instead of polling.

Quantities are summed as integers (millicores, bytes), so totals kept by adding and subtracting never
drift.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING
from typing import Any

from app.alerts.rules import (
    CLUSTER_REF,
    OBJECT_KINDS,
    RULES,
    TERMINAL_PHASES,
    Condition,
    Evaluation,
    cluster_condition,
    controller_of,
    evaluate,
    identity,
    job_finished,
    make_condition,
    quantity,
)

Obj = Mapping[str, Any]
Key = tuple[str, str | None, str]  # (kind, namespace, name)
Resources = tuple[int, int]  # (CPU millicores, memory bytes)
NONE: Resources = (0, 0)
RESOURCES = ("cpu", "memory")
WATCHED_KINDS = OBJECT_KINDS
EVENT_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED"})


@dataclass(frozen=True)
class Change:
    """What one event (or recheck, or re-list) changed in the active conditions."""

    appeared: tuple[Condition, ...] = ()
    disappeared: tuple[Condition, ...] = ()
    updated: tuple[Condition, ...] = ()  # still holding, with a new value or new annotations

    def __bool__(self) -> bool:
        return bool(self.appeared or self.disappeared or self.updated)

    def __add__(self, other: Change) -> Change:
        return Change(self.appeared + other.appeared, self.disappeared + other.disappeared,
                      self.updated + other.updated)

    @property
    def appeared_fingerprints(self) -> tuple[str, ...]:
        return tuple(c.fingerprint for c in self.appeared)

    @property
    def disappeared_fingerprints(self) -> tuple[str, ...]:
        return tuple(c.fingerprint for c in self.disappeared)


NO_CHANGE = Change()


def _millicores(value: Any) -> int:
    amount = quantity(value)
    return int((amount * 1000).to_integral_value(ROUND_CEILING)) if amount is not None and amount > 0 else 0


def _bytes(value: Any) -> int:
    amount = quantity(value)
    return int(amount.to_integral_value(ROUND_CEILING)) if amount is not None and amount > 0 else 0


def _requests(container: Any) -> Resources:
    if not isinstance(container, dict):
        return NONE
    resources = container.get("resources")
    requests = resources.get("requests") if isinstance(resources, dict) else None
    if not isinstance(requests, dict):
        return NONE
    return _millicores(requests.get("cpu")), _bytes(requests.get("memory"))


def pod_requests(pod: Obj) -> Resources:
    """What the scheduler reserves for a pod that is running or pending: the larger of its app containers'
    (and restartable init containers') sum and its largest ordinary init container, plus its overhead.
    A finished pod (Succeeded, Failed) reserves nothing."""
    status, spec = pod.get("status"), pod.get("spec")
    if isinstance(status, dict) and status.get("phase") in TERMINAL_PHASES or not isinstance(spec, dict):
        return NONE
    cpu = memory = init_cpu = init_memory = 0
    for container in spec.get("containers") or ():
        c, m = _requests(container)
        cpu, memory = cpu + c, memory + m
    for container in spec.get("initContainers") or ():
        c, m = _requests(container)
        if isinstance(container, dict) and container.get("restartPolicy") == "Always":
            cpu, memory = cpu + c, memory + m
        else:
            init_cpu, init_memory = max(init_cpu, c), max(init_memory, m)
    overhead = spec.get("overhead")
    extra = (_millicores(overhead.get("cpu")), _bytes(overhead.get("memory"))) if isinstance(overhead, dict) else NONE
    return max(cpu, init_cpu) + extra[0], max(memory, init_memory) + extra[1]


def node_allocatable(node: Obj) -> Resources:
    status = node.get("status")
    allocatable = status.get("allocatable") if isinstance(status, dict) else None
    if not isinstance(allocatable, dict):
        return NONE
    return _millicores(allocatable.get("cpu")), _bytes(allocatable.get("memory"))


class ClusterState:
    """The active conditions of one cluster. Not thread-safe: one owner feeds it, in event order.

    On a first list, `reset` Nodes and Jobs before Pods: pods listed before the nodes raise no capacity
    alert in between, but pods of finished Jobs listed before their Jobs are briefly not ready (a pending
    PodNotReady, dropped when the Jobs arrive, never fired).
    """

    def __init__(self) -> None:
        self._active: dict[Key, dict[str, Condition]] = {}
        self._cluster_wide: dict[str, Condition] = {}
        self._connection: Condition | None = None
        self._requests: dict[tuple[str, str], Resources] = {}
        self._allocatable: dict[str, Resources] = {}
        self._requested = [0, 0]
        self._capacity = [0, 0]
        self._finished_jobs: set[tuple[str, str]] = set()
        self._job_pods: dict[tuple[str, str], dict[str, Obj]] = {}
        self._pod_job: dict[tuple[str, str], str] = {}
        self._known: dict[str, set[tuple[str | None, str]]] = {kind: set() for kind in WATCHED_KINDS}
        self._rechecks: dict[Key, tuple[datetime, Obj]] = {}
        self._queue: list[tuple[datetime, int, Key]] = []
        self._sequence = itertools.count()
        self.evaluations = 0  # objects evaluated so far: the work an event costs, for tests and benchmarks

    # -- reading ----------------------------------------------------------------------------------

    def active(self) -> dict[str, Condition]:
        """Every condition holding now, by fingerprint."""
        found = {fp: c for per_object in self._active.values() for fp, c in per_object.items()}
        found.update(self._cluster_wide)
        if self._connection is not None:
            found[self._connection.fingerprint] = self._connection
        return found

    def totals(self) -> dict[str, tuple[int, int]]:
        """(requested, allocatable) per resource: CPU in millicores, memory in bytes."""
        return {name: (self._requested[i], self._capacity[i]) for i, name in enumerate(RESOURCES)}

    def next_check(self) -> datetime | None:
        """The next moment an object's answer changes with no event; `recheck` it then."""
        while self._queue:
            at, _, key = self._queue[0]
            pending = self._rechecks.get(key)
            if pending is not None and pending[0] == at:
                return at
            heapq.heappop(self._queue)
        return None

    # -- feeding ----------------------------------------------------------------------------------

    def apply(self, event_type: str, kind: str, obj: Obj, now: datetime) -> Change:
        """One watch event. Kinds no rule reads, and BOOKMARK or ERROR events, change nothing."""
        if kind not in WATCHED_KINDS or event_type not in EVENT_TYPES:
            return NO_CHANGE
        ref = identity(kind, obj)
        key: Key = (kind, ref.namespace, ref.name)
        deleted = event_type == "DELETED"
        if deleted:
            self._known[kind].discard(key[1:])
            self._rechecks.pop(key, None)
            change = self._replace(key, ())
        else:
            self._known[kind].add(key[1:])
            change = self._evaluate(key, obj, now)
        if kind == "Pod":
            change += self._pod_totals(key, None if deleted else obj)
        elif kind == "Node":
            change += self._node_totals(ref.name, None if deleted else obj)
        elif kind == "Job":
            change += self._job_finished(ref.namespace or "", ref.name, not deleted and job_finished(obj), now)
        return change

    def reset(self, kind: str, objects: Iterable[Obj], now: datetime) -> Change:
        """A re-list of one kind: the objects missing from the list are deleted, the others re-evaluated."""
        if kind not in WATCHED_KINDS:
            return NO_CHANGE
        objects = list(objects)
        listed = {(ref.namespace, ref.name) for ref in (identity(kind, obj) for obj in objects)}
        change = NO_CHANGE
        for namespace, name in sorted(self._known[kind], key=lambda k: (k[0] or "", k[1])):
            if (namespace, name) not in listed:
                change += self.apply("DELETED", kind, {"metadata": {"namespace": namespace, "name": name}}, now)
        for obj in objects:
            change += self.apply("MODIFIED", kind, obj, now)
        return change

    def recheck(self, now: datetime) -> Change:
        """Re-evaluate the objects whose answer was due to change by `now`."""
        change = NO_CHANGE
        while (at := self.next_check()) is not None and at <= now:
            _, _, key = heapq.heappop(self._queue)
            _, obj = self._rechecks.pop(key)
            change += self._evaluate(key, obj, now)
        return change

    def connection(self, status: str) -> Change:
        """The cluster's connection status ("connected", "degraded", "disconnected")."""
        before, after = self._connection, cluster_condition(status)
        self._connection = after
        if before is None and after is not None:
            return Change(appeared=(after,))
        if before is not None and after is None:
            return Change(disappeared=(before,))
        return NO_CHANGE

    # -- internals --------------------------------------------------------------------------------

    def _evaluate(self, key: Key, obj: Obj, now: datetime) -> Change:
        self.evaluations += 1
        result: Evaluation = evaluate(key[0], obj, now, self._finished_jobs)
        if result.recheck_at is None:
            self._rechecks.pop(key, None)
        else:
            self._schedule(key, result.recheck_at, obj)
        return self._replace(key, result.conditions)

    def _schedule(self, key: Key, at: datetime, obj: Obj) -> None:
        """Queue entries whose object moved on are skipped when they come up; the queue is rebuilt when
        they outnumber the live ones, so it stays proportional to the objects waiting for a recheck."""
        previous = self._rechecks.get(key)
        self._rechecks[key] = (at, obj)
        if previous is not None and previous[0] == at:
            return
        heapq.heappush(self._queue, (at, next(self._sequence), key))
        if len(self._queue) > 2 * len(self._rechecks) + 64:
            self._queue = [(when, next(self._sequence), k) for k, (when, _) in self._rechecks.items()]
            heapq.heapify(self._queue)

    def _replace(self, key: Key, holding: tuple[Condition, ...]) -> Change:
        before = self._active.get(key)
        if not holding:
            if before is None:
                return NO_CHANGE
            del self._active[key]
            return Change(disappeared=tuple(before.values()))
        after = {c.fingerprint: c for c in holding}
        self._active[key] = after
        if before is None:
            return Change(appeared=tuple(after.values()))
        appeared = tuple(c for fp, c in after.items() if fp not in before)
        disappeared = tuple(c for fp, c in before.items() if fp not in after)
        updated = tuple(c for fp, c in after.items() if fp in before and before[fp] != c)
        return Change(appeared, disappeared, updated)

    def _pod_totals(self, key: Key, pod: Obj | None) -> Change:
        pod_key = (key[1] or "", key[2])
        self._index_job_pod(pod_key, pod)
        new = pod_requests(pod) if pod is not None else NONE
        old = self._requests.pop(pod_key, NONE) if new == NONE else self._requests.get(pod_key, NONE)
        if new != NONE:
            self._requests[pod_key] = new
        if new == old:
            return NO_CHANGE
        self._requested[0] += new[0] - old[0]
        self._requested[1] += new[1] - old[1]
        return self._capacity_conditions()

    def _node_totals(self, name: str, node: Obj | None) -> Change:
        new = node_allocatable(node) if node is not None else NONE
        old = self._allocatable.pop(name, NONE) if new == NONE else self._allocatable.get(name, NONE)
        if new != NONE:
            self._allocatable[name] = new
        if new == old:
            return NO_CHANGE
        self._capacity[0] += new[0] - old[0]
        self._capacity[1] += new[1] - old[1]
        return self._capacity_conditions()

    def _capacity_conditions(self) -> Change:
        """ClusterRequestsOverCapacity per resource; not raised before any node's allocatable is known (at
        start, pods are often listed before nodes)."""
        rule = RULES["ClusterRequestsOverCapacity"]
        appeared: list[Condition] = []
        disappeared: list[Condition] = []
        updated: list[Condition] = []
        for index, resource in enumerate(RESOURCES):
            requested, capacity = self._requested[index], self._capacity[index]
            before = self._cluster_wide.get(resource)
            if capacity <= 0 or requested <= capacity:
                if before is not None:
                    del self._cluster_wide[resource]
                    disappeared.append(before)
                continue
            ratio = requested / capacity
            if before is not None and before.value == ratio:
                continue
            condition = make_condition(rule, CLUSTER_REF, ratio, {"resource": resource}, {
                "requested": str(requested), "allocatable": str(capacity), "percent": f"{ratio * 100:.0f}"})
            self._cluster_wide[resource] = condition
            (updated if before is not None else appeared).append(condition)
        if not (appeared or disappeared or updated):
            return NO_CHANGE
        return Change(tuple(appeared), tuple(disappeared), tuple(updated))

    def _index_job_pod(self, pod_key: tuple[str, str], pod: Obj | None) -> None:
        """Pods owned by a Job, by Job: they are re-evaluated when their Job finishes or restarts."""
        old_job = self._pod_job.pop(pod_key, None)
        if old_job is not None:
            pods = self._job_pods.get((pod_key[0], old_job))
            if pods is not None:
                pods.pop(pod_key[1], None)
                if not pods:
                    del self._job_pods[(pod_key[0], old_job)]
        owner = controller_of(pod) if pod is not None else None
        if pod is not None and owner is not None and owner[0] == "Job":
            self._pod_job[pod_key] = owner[1]
            self._job_pods.setdefault((pod_key[0], owner[1]), {})[pod_key[1]] = pod

    def _job_finished(self, namespace: str, name: str, finished: bool, now: datetime) -> Change:
        job = (namespace, name)
        if finished == (job in self._finished_jobs):
            return NO_CHANGE
        if finished:
            self._finished_jobs.add(job)
        else:
            self._finished_jobs.discard(job)
        change = NO_CHANGE
        for pod_name, pod in sorted((self._job_pods.get(job) or {}).items()):
            change += self._evaluate(("Pod", namespace or None, pod_name), pod, now)
        return change
