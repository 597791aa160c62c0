"""Caches that follow another replica's watch: no watch of their own, one LIST, the published
changes applied in order (older ones ignored), a RESYNC re-listed, and a watch once owned.

``Relay`` stands in for the replicas' bus: what the owner's watching cache emits is handed to
every following cache of this process, and ``owned`` says which clusters this process watches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest_asyncio

from app.k8s.cache import CacheOptions, ResourceCache
from app.k8s.gateway import Gateway
from app.k8s.resources import ResourceKind
from app.k8s.transport import ClientOptions
from app.realtime.publisher import event_payload
from kubesim.fleet import Fleet
from tests.support import waiting

from .conftest import FAST, Control, connection

CACHE = CacheOptions(idle_seconds=60, sync_timeout=5, stale_wait=0.3, backoff_initial=0.05, backoff_max=0.2)
Message = dict[str, Any]


class Relay:
    def __init__(self) -> None:
        self.owned: set[str] = set()
        self.wanted: Counter[tuple[str, str]] = Counter()
        self._queues: list[asyncio.Queue[Message]] = []

    def remote(self, cluster_id: str) -> bool:
        return cluster_id not in self.owned

    @contextlib.asynccontextmanager
    async def follow(self, cluster_id: str, kind: ResourceKind) -> AsyncIterator[AsyncIterator[Message]]:
        queue: asyncio.Queue[Message] = asyncio.Queue()
        self._queues.append(queue)
        self.wanted[(cluster_id, kind.kind)] += 1
        try:
            yield _drain(queue)
        finally:
            self._queues.remove(queue)
            self.wanted[(cluster_id, kind.kind)] -= 1

    def publish(self, message: Message) -> None:
        for queue in self._queues:
            queue.put_nowait(message)

    def relay_from(self, cache: ResourceCache) -> None:
        cache.add_listener(lambda etype, obj: self.publish(event_payload("cluster-0", "ConfigMap", etype, obj)))


async def _drain(queue: asyncio.Queue[Message]) -> AsyncIterator[Message]:
    while True:
        yield await queue.get()


@pytest_asyncio.fixture(loop_scope="session")
async def relay() -> Relay:
    return Relay()


@pytest_asyncio.fixture(loop_scope="session")
async def owner(fleet: Fleet, control: Control, relay: Relay) -> AsyncIterator[Gateway]:
    """The replica that watches: its ConfigMap cache's changes are published to the relay."""
    gw = Gateway(ClientOptions(**FAST), CACHE)
    gw.register("cluster-0", connection(fleet))
    cache = gw.cache("cluster-0", "ConfigMap")
    relay.relay_from(cache)
    await cache.items()
    await control.wait_calls("watch", "configmaps")
    yield gw
    await gw.close()


@pytest_asyncio.fixture(loop_scope="session")
async def follower(fleet: Fleet, relay: Relay) -> AsyncIterator[Gateway]:
    gw = Gateway(ClientOptions(**FAST), CACHE)
    gw.feeds = relay
    gw.register("cluster-0", connection(fleet))
    yield gw
    await gw.close()


async def make_configmap(kube: httpx.AsyncClient, name: str, **data: str) -> None:
    (await kube.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": name}, "data": data})
     ).raise_for_status()


async def names(cache: ResourceCache) -> set[str]:
    return {o["metadata"]["name"] for o in await cache.items("default")}


async def eventually(cache: ResourceCache, present: set[str], absent: tuple[str, ...] = ()) -> None:
    for _ in range(250):
        seen = await names(cache)
        if present <= seen and not seen.intersection(absent):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{sorted(await names(cache))}: wanted {sorted(present)} without {sorted(absent)}")


def change(event_type: str, name: str, resource_version: int, **data: str) -> Message:
    obj = {"metadata": {"name": name, "namespace": "default", "resourceVersion": str(resource_version)}, "data": data}
    return event_payload("cluster-0", "ConfigMap", event_type, obj)


async def test_a_following_cache_lists_once_and_keeps_current_without_a_watch(
        owner: Gateway, follower: Gateway, relay: Relay, control: Control, kube: httpx.AsyncClient) -> None:
    await make_configmap(kube, "before", a="1")
    cache = follower.cache("cluster-0", "ConfigMap")
    await eventually(cache, {"before"})
    assert relay.wanted[("cluster-0", "ConfigMap")] == 1
    await make_configmap(kube, "after", a="1")
    await eventually(cache, {"before", "after"})
    (await kube.delete("/api/v1/namespaces/default/configmaps/before")).raise_for_status()
    await eventually(cache, {"after"}, ("before",))
    counters = (await control.stats())["counters"]
    assert counters["watch configmaps"] == 1, "the owner's watch only"
    assert counters["list configmaps"] == 2 and cache.lists == 1


async def test_changes_older_than_the_list_do_not_undo_it(
        owner: Gateway, follower: Gateway, relay: Relay, kube: httpx.AsyncClient) -> None:
    await make_configmap(kube, "kept", a="new")
    cache = follower.cache("cluster-0", "ConfigMap")
    await eventually(cache, {"kept"})
    held = await cache.get("default", "kept") or {}
    version = int(held["metadata"]["resourceVersion"])
    relay.publish(change("MODIFIED", "kept", version - 1, a="old"))
    relay.publish(change("MODIFIED", "kept", version, a="same version"))
    relay.publish(change("DELETED", "kept", version - 1))  # the delete of an earlier object of that name
    relay.publish(change("ADDED", "marker", 10**9))
    await eventually(cache, {"marker"})
    assert (await cache.get("default", "kept") or {})["data"] == {"a": "new"}
    relay.publish(change("MODIFIED", "kept", version + 10**9, a="newer"))
    relay.publish(change("DELETED", "marker", 10**9))  # a delete carrying the held version still deletes
    await eventually(cache, {"kept"}, ("marker",))
    assert (await cache.get("default", "kept") or {})["data"] == {"a": "newer"}


async def test_a_resync_relists_once(follower: Gateway, relay: Relay, control: Control,
                                     kube: httpx.AsyncClient) -> None:
    cache = follower.cache("cluster-0", "ConfigMap")
    await cache.items()
    await make_configmap(kube, "unpublished")  # no owner relays it: only a relist shows it
    await control.reset()
    relay.publish({"type": "RESYNC", "clusterId": "cluster-0", "kind": "ConfigMap"})
    await eventually(cache, {"unpublished"})
    assert cache.lists == 2
    counters = (await control.stats())["counters"]
    assert counters.get("list configmaps") == 1 and counters.get("watch configmaps", 0) == 0


async def test_owning_the_cluster_turns_a_following_cache_into_a_watching_one(
        follower: Gateway, relay: Relay, control: Control, kube: httpx.AsyncClient) -> None:
    cache = follower.cache("cluster-0", "ConfigMap")
    await cache.items()
    events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    cache.add_listener(lambda etype, obj: events.put_nowait((etype, obj["metadata"]["name"])))
    await make_configmap(kube, "while-unwatched")  # nobody watches: the takeover's list finds it
    await control.reset()
    relay.owned.add("cluster-0")
    relay.publish({"type": "RESYNC", "clusterId": "cluster-0", "kind": "ConfigMap", "reason": "takeover"})
    async with asyncio.timeout(5):
        assert await events.get() == ("ADDED", "while-unwatched")
    await control.wait_calls("watch", "configmaps")
    assert relay.wanted[("cluster-0", "ConfigMap")] == 0
    await make_configmap(kube, "watched")
    async with asyncio.timeout(5):
        assert await events.get() == ("ADDED", "watched")
    counters = (await control.stats())["counters"]
    assert counters["list configmaps"] == 1 and counters["watch configmaps"] == 1


async def test_a_cache_of_an_owned_cluster_watches_from_the_start(
        follower: Gateway, relay: Relay, control: Control) -> None:
    relay.owned.add("cluster-0")
    await follower.cache("cluster-0", "Secret").items()
    await control.wait_calls("watch", "secrets")
    assert relay.wanted[("cluster-0", "Secret")] == 0


def _idle(cache: ResourceCache, seconds: float) -> Callable[[], Awaitable[bool]]:
    async def idle() -> bool:
        return cache.idle_for() > seconds

    return idle


async def test_an_idle_following_cache_is_dropped_and_wants_no_more(fleet: Fleet, relay: Relay) -> None:
    gw = Gateway(ClientOptions(**FAST), CacheOptions(idle_seconds=0.05))
    gw.feeds = relay
    gw.register("cluster-0", connection(fleet))
    try:
        cache = gw.cache("cluster-0", "ConfigMap")
        await cache.items()
        assert relay.wanted[("cluster-0", "ConfigMap")] == 1
        await waiting.eventually(_idle(cache, gw.cache_options.idle_seconds), what="the cache idle")
        assert await gw.sweep() == 1
        assert relay.wanted[("cluster-0", "ConfigMap")] == 0
    finally:
        await gw.close()
