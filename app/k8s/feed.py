"""Keeping a cache current from the changes another process watches, without a watch of its own.

With several replicas, each cluster's watches run in the one replica that owns the cluster
(``app/realtime/ownership.py``) and their changes are published on the realtime bus. A cache in
any other replica follows them instead of watching: it subscribes to the kind's changes (which
also asks the owner to watch the kind), lists once, then applies each published change newer
than what it holds; a RESYNC (changes were lost, or the watches moved) makes it list again.
``Feeds`` is what a cache needs of that arrangement; without one, every cache watches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from .client import WatchEvent
from .resources import ResourceKind

RESYNC = "RESYNC"
Published = dict[str, Any]  # a change as published: {"type", "object", ...}, or {"type": "RESYNC", ...}


class Feeds(Protocol):
    def remote(self, cluster_id: str) -> bool:
        """True while another process is to watch this cluster: its caches here follow, not watch."""
        ...

    def follow(self, cluster_id: str, kind: ResourceKind) -> AbstractAsyncContextManager[AsyncIterator[Published]]:
        """Inside, the kind is wanted, and every change published after entry is yielded in order."""
        ...


def published_change(message: Published) -> WatchEvent:
    return WatchEvent(str(message.get("type")), message.get("object") or {})


def already_held(event: WatchEvent, held: dict[str, Any] | None) -> bool:
    """Whether the cache already reflects ``event``: changes published before the cache's LIST
    arrive after it, and must not bring back an older state nor delete an object made again since.
    A DELETED carrying the held version itself (not the deletion's own) still deletes."""
    if held is None:
        return event.type == "DELETED"
    new, old = _number(event.resource_version), _number((held.get("metadata") or {}).get("resourceVersion"))
    if new is None or old is None:
        return False
    return new < old if event.type == "DELETED" else new <= old


def _number(resource_version: Any) -> int | None:
    try:
        return int(resource_version)
    except (TypeError, ValueError):
        return None  # opaque: assume newer
