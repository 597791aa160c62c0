"""core/v1 Events for controller actions, aggregated like the client-go recorder does."""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kubesim.clock import format_time
from kubesim.errors import ApiError

if TYPE_CHECKING:
    from kubesim.store import ClusterState

EVENT_TTL = timedelta(hours=1)
log = logging.getLogger("kubesim.events")


class Recorder:
    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.rt = state.resources.get("", "v1", "events")
        self._known: dict[tuple[str, str, str, str], tuple[str, str]] = {}
        self._order: deque[tuple[datetime, str, str, tuple[str, str, str, str]]] = deque()
        self._sequence = 0

    def record(self, obj: dict[str, Any], kind: str, reason: str, message: str, component: str) -> None:
        if self.rt is None:
            return
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), reason, message, kind)
        now = self.state.clock.now()
        known = self._known.get(key)
        try:
            if known is not None and self._bump(known, now):
                return
            self._create(obj, namespace, kind, reason, message, component, key, now)
        except ApiError as exc:  # the namespace may be terminating; events are best effort
            log.debug("event %s for %s not recorded: %s", reason, meta.get("name"), exc.message)

    def _bump(self, known: tuple[str, str], now: datetime) -> bool:
        current = self.state.get(self.rt, known[0], known[1])  # type: ignore[arg-type]
        if current is None:
            return False
        current["count"] = int(current.get("count") or 1) + 1
        current["lastTimestamp"] = format_time(now)
        self.state.update(self.rt, current)  # type: ignore[arg-type]
        return True

    def _create(
        self, obj: dict[str, Any], namespace: str, kind: str, reason: str, message: str, component: str,
        key: tuple[str, str, str, str], now: datetime,
    ) -> None:
        meta = obj["metadata"]
        self._sequence += 1
        stamp = int(now.timestamp() * 1e9) + self._sequence
        name = f"{meta['name']}.{stamp:x}"
        involved = {"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta["name"],
                    "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion"),
                    "resourceVersion": meta.get("resourceVersion")}
        host = (obj.get("spec") or {}).get("nodeName") if component == "kubelet" else None
        event = {
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {k: v for k, v in involved.items() if v},
            "reason": reason, "message": message, "type": kind,
            "source": {"component": component, **({"host": host} if host else {})},
            "firstTimestamp": format_time(now), "lastTimestamp": format_time(now), "count": 1,
            "eventTime": None, "reportingComponent": component, "reportingInstance": host or "",
        }
        self.state.create(self.rt, event)  # type: ignore[arg-type]
        self._known[key] = (namespace, name)
        self._order.append((now, namespace, name, key))

    def expire(self) -> None:
        """Delete events older than the apiserver's default one-hour TTL."""
        if self.rt is None:
            return
        cutoff = self.state.clock.now() - EVENT_TTL
        while self._order and self._order[0][0] < cutoff:
            _, namespace, name, key = self._order.popleft()
            self._known.pop(key, None)
            with contextlib.suppress(ApiError):
                self.state.delete(self.rt, namespace, name)
