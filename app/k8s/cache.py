"""Watch-fed caches: one LIST then one WATCH per (cluster, kind), shared by every reader.

A ``ResourceCache`` starts on first use. Its single task lists the kind across all namespaces,
then watches from the list's resourceVersion; a watch that ends or drops is resumed from the
last version seen (bookmarks included), and only a 410 Gone makes it list again, emitting the
difference (deletes included) to its listeners. Errors mark the cache stale and are retried with
capped exponential backoff and jitter.

Reading a stale cache: readers wait up to ``stale_wait`` seconds for it to recover, then get
``UpstreamUnavailable`` naming the cluster and the cause. A cache that has never synced answers
with the error of its last LIST (``UpstreamUnavailable``, ``UpstreamTimeout``, ``Forbidden``...)
as soon as that LIST fails, so a fleet-wide query is not held up by one broken cluster.

Memory: objects are kept as parsed JSON without ``metadata.managedFields`` (often half of an
object) and with their strings interned (``compact.py``); a cache holds at most ``max_objects``,
past that it stops with ``CacheFull`` rather than answer with part of the kind. Objects handed
out are shared, not copied: treat them as read-only (a change replaces the stored dict, it never
edits it, so a reader's copy stays whole).

``watching`` says whether changes reach the cache now: its watch request is open (or, following
another replica, it has listed and follows the published changes); ``until_watching()`` waits for
that, for a caller that must know the watch has been opened before it counts or changes anything.

Listeners are plain callables ``(event_type, obj)`` called for every change after the first sync,
on the event loop; they must not block (hand the event to a queue when there is real work).

The caches call the cluster with its own credentials (``identity=None``): they are shared by all
users, whose rights the application checks before reading them.

Given ``Feeds`` (several replicas), a cache of a cluster that another replica watches opens no
watch: it follows that replica's published changes instead (``feed.py``), and starts watching
itself once this replica owns the cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from app.errors import AppError, UpstreamUnavailable
from app.k8s.compact import compact

from .client import ClusterClient, WatchEvent
from .feed import RESYNC, Feeds, already_held, published_change
from .resources import ResourceKind
from .status import ResourceExpired
from .throttle import Backoff

log = logging.getLogger("fleetgraph.k8s")
Listener = Callable[[str, dict[str, Any]], None]


class CacheFull(UpstreamUnavailable):
    """More objects of one kind than a cache may hold."""


@dataclass(frozen=True)
class CacheOptions:
    idle_seconds: float = 300.0  # dropped after this long without readers or listeners
    max_objects: int = 50_000
    sync_timeout: float = 30.0  # longest wait for the first LIST
    stale_wait: float = 2.0  # how long a reader waits for a stale cache to recover
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    strip_managed_fields: bool = True
    intern_strings: bool = True  # about 40% less memory per cached object (see compact.py)


class ResourceCache:
    def __init__(self, client: ClusterClient, kind: ResourceKind, options: CacheOptions | None = None, *,
                 feeds: Feeds | None = None) -> None:
        self.client, self.kind = client, kind
        self.options = options or CacheOptions()
        self.feeds = feeds
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}  # namespace ("" if cluster-scoped) → name → obj
        self._count = 0
        self._rv: str | None = None
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._synced = False
        self._failures = 0
        self._changed = asyncio.Event()  # set, then replaced, whenever the cache syncs, recovers or fails
        self._wake = asyncio.Event()  # a reader wants a retry now rather than at the end of the backoff
        self._error: AppError | None = None
        self._last_used = time.monotonic()
        self._waiting = 0  # readers waiting for a sync: the cache is in use
        self._closed = False
        self._current = asyncio.Event()  # set while a watch (or a followed feed) brings changes in
        self.lists = 0  # LISTs made, the first one included: relists are lists - 1

    # -- reading --------------------------------------------------------------------------------

    @property
    def resource_version(self) -> str | None:
        return self._rv

    @property
    def stale(self) -> bool:
        return self._error is not None

    @property
    def error(self) -> AppError | None:
        return self._error

    async def items(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of the kind, or of one namespace, sorted by namespace and name."""
        await self._ready()
        if namespace is not None and self.kind.namespaced:
            bucket = self._objects.get(namespace, {})
            return [bucket[name] for name in sorted(bucket)]
        return [b[name] for ns in sorted(self._objects) for b in (self._objects[ns],) for name in sorted(b)]

    async def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        await self._ready()
        return self._objects.get((namespace or "") if self.kind.namespaced else "", {}).get(name)

    @property
    def watching(self) -> bool:
        """Whether changes reach the cache now: its watch is open, or it follows another replica's."""
        return self._current.is_set()

    async def until_watching(self) -> None:
        """Start the cache if needed and return once ``watching``."""
        self._touch()
        await self._current.wait()

    def __len__(self) -> int:
        return self._count

    def add_listener(self, callback: Listener) -> None:
        """Start the cache if needed and call ``callback(event_type, obj)`` for each change."""
        self._listeners.append(callback)
        self._touch()

    def remove_listener(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)
        self._last_used = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last read; 0 while someone listens or waits for a read."""
        return 0.0 if self._listeners or self._waiting else time.monotonic() - self._last_used

    async def stop(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._objects.clear()
        self._count = 0
        self._listeners.clear()
        self._current.clear()
        self._error = UpstreamUnavailable(f"the {self.kind.qualified} cache of cluster {self.client.name} is closed")
        self._failures += 1
        self._notify()  # readers still waiting learn it now

    def _touch(self) -> None:
        if self._closed:
            raise RuntimeError(f"the {self.kind.qualified} cache of cluster {self.client.name} is closed")
        self._last_used = time.monotonic()
        if self._task is None:
            # A clean context: the loop outlives the request that started it and must not act as its user.
            self._task = asyncio.create_task(self._run(), name=f"k8s-cache {self.client.name} {self.kind.qualified}",
                                             context=contextvars.Context())

    async def _ready(self) -> None:
        """Return once the cache is synced and current; raise the cluster's error otherwise.

        A reader of a failing cache asks for an immediate retry and waits for its outcome (the
        circuit breaker keeps this from hammering a cluster that is down): at most
        ``sync_timeout`` for the first sync, ``stale_wait`` for a stale cache.
        """
        self._touch()
        if self._synced and self._error is None:
            return
        failures, limit = self._failures, self.options.stale_wait if self._synced else self.options.sync_timeout
        if self._task is not None and self._task.done():
            limit = 0  # stopped for good (CacheFull): nothing to wait for
        if self._error is not None:
            self._wake.set()
        self._waiting += 1
        try:
            async with asyncio.timeout(limit):
                while not (self._synced and self._error is None) and self._failures == failures:
                    await self._changed.wait()
        except TimeoutError:
            pass
        finally:
            self._waiting -= 1
        if self._synced and self._error is None:
            return
        error = self._error or UpstreamUnavailable(
            f"cluster {self.client.name}: {self.kind.qualified} not listed within {limit:g}s")
        if self._synced:
            raise UpstreamUnavailable(f"{error.message} (cached {self.kind.qualified} are stale)")
        raise type(error)(error.message, details=error.details)  # a copy per reader: tracebacks differ

    # -- keeping current ------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(self.options.backoff_initial, self.options.backoff_max)
        relist = True
        while True:
            try:
                if self.feeds is not None and self.feeds.remote(self.client.name):
                    relist = True  # should this replica start watching, it lists first
                    await self._follow(self.feeds)
                    continue
                if relist:
                    await self._list()
                    relist = False
                started = time.monotonic()
                if await self._watch() or time.monotonic() - started > 1.0:
                    backoff.reset()
                    continue
                await self._pause(backoff.next())  # a watch ending at once, again and again
            except ResourceExpired:
                relist = True
            except CacheFull as exc:
                self._fail(exc)
                return
            except AppError as exc:
                self._fail(exc)
                await self._pause(backoff.next())
            except Exception as exc:  # keep the loop alive whatever happens
                log.exception("cache of %s on cluster %s failed", self.kind.qualified, self.client.name)
                self._fail(UpstreamUnavailable(f"cluster {self.client.name}: {exc.__class__.__name__}"))
                await self._pause(backoff.next())

    def _fail(self, error: AppError) -> None:
        if self._error is None:
            log.warning("cache of %s on cluster %s is stale: %s", self.kind.qualified, self.client.name, error)
        self._error = error
        self._failures += 1
        self._notify()

    def _recover(self) -> None:
        if self._error is not None:
            self._error = None
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def _list(self) -> None:
        self.lists += 1
        result = await self.client.list(self.kind, identity=None)
        if len(result.items) > self.options.max_objects:
            raise self._full()
        fresh: dict[str, dict[str, dict[str, Any]]] = {}
        for obj in result.items:
            obj = self._trim(obj)
            fresh.setdefault(self._namespace(obj), {})[obj["metadata"]["name"]] = obj
        old, self._objects = self._objects, fresh
        self._count = len(result.items)
        self._rv = result.resource_version
        if self._synced:
            self._emit_difference(old, fresh)
        self._synced, self._error = True, None
        self._notify()

    async def _watch(self) -> int:
        """Follow one watch request to its end; the number of events it carried."""
        seen = 0
        async with self.client.open_watch(self.kind, None, self._rv, identity=None) as events:
            self._recover()
            with self._keeping_current():
                async for event in events:
                    seen += 1
                    self._apply(event)
        return seen

    @contextlib.contextmanager
    def _keeping_current(self) -> Iterator[None]:
        self._current.set()
        try:
            yield
        finally:
            self._current.clear()

    async def _follow(self, feeds: Feeds) -> None:
        """Subscribe, list, then apply the published changes until a RESYNC (or a takeover) asks for more."""
        async with feeds.follow(self.client.name, self.kind) as messages:
            if not feeds.remote(self.client.name):
                return  # this replica took the cluster's watches over meanwhile
            await self._list()
            with self._keeping_current():
                async for message in messages:
                    if message.get("type") == RESYNC:
                        return
                    event = published_change(message)
                    name = str((event.object.get("metadata") or {}).get("name"))
                    if not already_held(event, self._objects.get(self._namespace(event.object), {}).get(name)):
                        self._apply(event)

    def _apply(self, event: WatchEvent) -> None:
        obj = self._trim(event.object)
        if event.resource_version:
            self._rv = event.resource_version
        if event.type == "BOOKMARK":
            return
        meta = obj.get("metadata") or {}
        namespace, name = self._namespace(obj), meta.get("name")
        if not name:
            return
        bucket = self._objects.setdefault(namespace, {})
        existed = name in bucket
        if event.type == "DELETED":
            if existed:
                del bucket[name]
                self._count -= 1
            self._emit("DELETED", obj)
            return
        if not existed:
            if self._count >= self.options.max_objects:
                raise self._full()
            self._count += 1
        bucket[name] = obj
        self._emit("MODIFIED" if existed else "ADDED", obj)

    def _emit_difference(self, old: dict[str, dict[str, dict[str, Any]]],
                         new: dict[str, dict[str, dict[str, Any]]]) -> None:
        for namespace in sorted(old.keys() | new.keys()):
            before, after = old.get(namespace, {}), new.get(namespace, {})
            for name in sorted(before.keys() - after.keys()):
                self._emit("DELETED", before[name])
            for name in sorted(after):
                if name not in before:
                    self._emit("ADDED", after[name])
                elif _version(before[name]) != _version(after[name]):
                    self._emit("MODIFIED", after[name])

    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(event_type, obj)
            except Exception:  # one bad listener must not stop the others
                log.exception("listener of the %s cache on cluster %s failed", self.kind.qualified, self.client.name)

    def _trim(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.get("metadata")
        if self.options.strip_managed_fields and isinstance(meta, dict) and "managedFields" in meta:
            obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
        return compact(obj) if self.options.intern_strings else obj

    def _namespace(self, obj: dict[str, Any]) -> str:
        return str((obj.get("metadata") or {}).get("namespace") or "") if self.kind.namespaced else ""

    def _full(self) -> CacheFull:
        return CacheFull(f"cluster {self.client.name} has more than {self.options.max_objects} "
                         f"{self.kind.qualified}, more than one cache may hold")


def _version(obj: dict[str, Any]) -> Any:
    return (obj.get("metadata") or {}).get("resourceVersion")
