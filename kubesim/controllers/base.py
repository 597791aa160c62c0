"""What every controller is given: the cluster, the cache, a work queue and timers."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubesim.controllers.cache import Cache, TypeKey
from kubesim.resources import ResourceType

if TYPE_CHECKING:
    from kubesim.controllers.events import Recorder
    from kubesim.store import ClusterState

Key = tuple[str, ...]
Triggers = Callable[["Context", str, ResourceType, dict[str, Any], "dict[str, Any] | None"], Iterable[Key]]
Reconcile = Callable[["Context", Key], None]
Tick = Callable[["Context"], None]


@dataclass(frozen=True)
class Controller:
    name: str
    triggers: Triggers
    reconcile: Reconcile
    tick: Tick | None = None


class Context:
    """Shared by all controllers of one cluster; reconcilers read the cache and write the store."""

    def __init__(self, state: ClusterState, cache: Cache) -> None:
        self.state = state
        self.cache = cache
        self.settling = False
        self.recorder: Recorder | None = None
        self._queue: dict[tuple[str, Key], None] = {}
        self._timers: list[tuple[float, int, str, Key]] = []
        self._timer_due: dict[tuple[str, Key], float] = {}
        self._seq = 0
        self.used_names: set[str] = set()
        self.memory: dict[str, Any] = {}  # per-controller bookkeeping that is not in the store

    # -- types ----------------------------------------------------------------------------------

    def rt(self, group: str, plural: str) -> ResourceType:
        found = self.cache.types.get((group, plural))
        if found is not None:
            return found
        version = {"": "v1", "apps": "v1", "batch": "v1", "discovery.k8s.io": "v1",
                   "storage.k8s.io": "v1", "autoscaling": "v2"}.get(group, "v1")
        rt = self.state.resources.get(group, version, plural)
        if rt is None:
            raise LookupError(f"{plural}.{group} is not served")
        self.cache.types[rt.key] = rt
        return rt

    def obj(self, key: TypeKey, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cache.get(key, namespace, name)

    def now(self) -> datetime:
        return self.state.clock.now()

    # -- queue ----------------------------------------------------------------------------------

    def enqueue(self, controller: str, key: Key) -> None:
        self._queue[(controller, key)] = None

    def pop(self) -> tuple[str, Key] | None:
        if not self._queue:
            return None
        item = next(iter(self._queue))
        del self._queue[item]
        return item

    def pending(self) -> int:
        return len(self._queue)

    # -- time -----------------------------------------------------------------------------------

    def wait_until(self, due: datetime, controller: str, key: Key, instant_when_settling: bool = True) -> bool:
        """True when ``due`` has passed; otherwise arrange a reconcile then and return False.

        While the cluster is being settled, lifecycle delays are skipped entirely.
        """
        if self.settling and instant_when_settling:
            return True
        remaining = (due - self.now()).total_seconds()
        if remaining <= 0:
            return True
        self.after(remaining, controller, key)
        return False

    def after(self, seconds: float, controller: str, key: Key) -> None:
        due = self.state.clock.monotonic() + max(seconds, 0.0)
        known = self._timer_due.get((controller, key))
        if known is not None and known <= due:
            return
        self._timer_due[(controller, key)] = due
        self._seq += 1
        heapq.heappush(self._timers, (due, self._seq, controller, key))

    def fire_due_timers(self) -> int:
        now = self.state.clock.monotonic()
        fired = 0
        while self._timers and self._timers[0][0] <= now:
            due, _, controller, key = heapq.heappop(self._timers)
            if self._timer_due.get((controller, key)) == due:
                del self._timer_due[(controller, key)]
                self.enqueue(controller, key)
                fired += 1
        return fired

    # -- events ---------------------------------------------------------------------------------

    def event(self, obj: dict[str, Any], kind: str, reason: str, message: str, component: str) -> None:
        if self.recorder is not None:
            self.recorder.record(obj, kind, reason, message, component)
