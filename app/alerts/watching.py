"""How a cluster's alerts are fed from the gateway's watch-fed caches, with no polling of the cluster.

One listener per kind a rule reads queues each watch event in the inbox; the kind's full list is
queued as one re-list (priming), the events queued before it being older than the list. A kind that
cannot be listed (Forbidden, unreachable...) is listed again later, less and less often.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.alerts.inbox import Inbox, Relist, WatchEvent
from app.alerts.planning import ClusterAlerts
from app.errors import AppError
from app.k8s.cache import ResourceCache
from app.k8s.gateway import Gateway

log = logging.getLogger("fleetgraph.alerts")
KINDS = ("Pod", "Deployment", "Job", "Node", "ResourceQuota", "Secret")
RELIST_BACKOFF = (1.0, 300.0)  # seconds before listing a kind again after its list failed: first, longest


@dataclass
class WatchedCluster(ClusterAlerts):
    """A cluster this replica evaluates: what it remembers of its alerts, and the caches it listens to."""

    watched: dict[str, tuple[ResourceCache, Callable[[str, dict[str, Any]], None]]] = field(default_factory=dict)
    priming: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    retry: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind: (monotonic time, last delay)
    detached: bool = False  # no longer evaluated here: a list that completes now is not queued


def keep_watching(cluster: WatchedCluster, gateway: Gateway, inbox: Inbox) -> None:
    """One listener per kind on the gateway's current cache (a re-registered cluster has new ones)."""
    for kind in KINDS:
        try:
            cache = gateway.cache(cluster.ref.id, kind)
        except AppError:
            return  # no client any more: the next round finds the cluster gone or registers it
        attached = cluster.watched.get(kind)
        if attached is not None and attached[0] is cache:
            if kind not in cluster.primed and time.monotonic() >= cluster.retry.get(kind, (0.0, 0.0))[0]:
                prime(cluster, kind, inbox)
            continue
        if attached is not None:
            attached[0].remove_listener(attached[1])
            cluster.primed.discard(kind)
        listener = _listener(inbox, cluster.ref.id, kind)
        cache.add_listener(listener)
        cluster.watched[kind] = (cache, listener)
        prime(cluster, kind, inbox)


def stop_watching(cluster: WatchedCluster) -> None:
    cluster.detached = True
    for cache, listener in cluster.watched.values():
        cache.remove_listener(listener)
    for task in cluster.priming.values():
        task.cancel()


def prime(cluster: WatchedCluster, kind: str, inbox: Inbox) -> None:
    """List the kind again, unless a list of it is running."""
    running = cluster.priming.get(kind)
    if running is not None and not running.done():
        return
    cluster.priming[kind] = asyncio.create_task(_list(cluster, kind, inbox), name=f"alerts-prime {kind}")


def _listener(inbox: Inbox, cluster_id: str, kind: str) -> Callable[[str, dict[str, Any]], None]:
    def on_change(event_type: str, obj: dict[str, Any]) -> None:
        inbox.put(WatchEvent(cluster_id, kind, event_type, obj))

    return on_change


async def _list(cluster: WatchedCluster, kind: str, inbox: Inbox) -> None:
    """The kind's full list as one re-list; the events queued before it are older than the list."""
    cache = cluster.watched[kind][0]
    try:
        objects = await cache.items()
    except AppError as exc:  # Forbidden, unreachable...: tried again later, less and less often
        delay = min(RELIST_BACKOFF[1], max(RELIST_BACKOFF[0], cluster.retry.get(kind, (0.0, 0.0))[1] * 2))
        cluster.retry[kind] = (time.monotonic() + delay, delay)
        log.info("cluster %s: %s not listed for alerts (again in %gs): %s", cluster.ref.id, kind, delay,
                 exc.message)
        return
    finally:
        cluster.priming.pop(kind, None)
    cluster.retry.pop(kind, None)
    if cluster.detached or cluster.watched.get(kind, (None,))[0] is not cache:
        return
    inbox.drop_events(cluster.ref.id, kind)
    inbox.put(Relist(cluster.ref.id, kind, objects))
