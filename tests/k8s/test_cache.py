"""Watch-fed caches against kubesim: upstream calls counted, changes followed, failures recovered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.errors import NotFound, UpstreamTimeout, UpstreamUnavailable
from app.k8s.cache import CacheFull, CacheOptions, ResourceCache
from app.k8s.gateway import Gateway
from app.k8s.identity import Identity, acting_as
from app.k8s.transport import ClientOptions
from kubesim.fleet import Fleet
from tests.support.waiting import eventually

from .conftest import FAST, Control, connection

CACHE = CacheOptions(idle_seconds=60, sync_timeout=5, stale_wait=0.3, backoff_initial=0.05, backoff_max=0.2)
Events = asyncio.Queue[tuple[str, str]]


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(fleet: Fleet, control: Control) -> AsyncIterator[Gateway]:
    gw = Gateway(ClientOptions(**FAST), CACHE)
    for name in ("cluster-0", "cluster-1"):
        gw.register(name, connection(fleet, name))
    yield gw
    await gw.close()


def recorder(cache: ResourceCache) -> Events:
    events: Events = asyncio.Queue()
    cache.add_listener(lambda etype, obj: events.put_nowait((etype, obj["metadata"]["name"])))
    return events


async def next_event(events: Events) -> tuple[str, str]:
    async with asyncio.timeout(5):
        return await events.get()


async def make_configmap(kube: httpx.AsyncClient, name: str, namespace: str = "default", **data: str) -> None:
    body: dict[str, Any] = {"metadata": {"name": name}, "data": data}
    (await kube.post(f"/api/v1/namespaces/{namespace}/configmaps", json=body)).raise_for_status()


async def test_cold_reads_share_one_list_and_warm_reads_cost_nothing(
        gateway: Gateway, control: Control, kube: httpx.AsyncClient) -> None:
    for i in range(3):
        await make_configmap(kube, f"cold-{i}")
    await control.reset()
    cache = gateway.cache("cluster-0", "ConfigMap")
    one = asyncio.create_task(cache.get("default", "cold-1"))
    lists = await asyncio.gather(*(cache.items() for _ in range(10)), cache.items("default"))
    assert {o["metadata"]["name"] for o in lists[0]} >= {"cold-0", "cold-1", "cold-2"}
    assert all(len(found) == len(lists[0]) for found in lists[:10])
    assert ((await one) or {})["metadata"]["name"] == "cold-1"
    stats = await control.stats()
    assert stats["counters"].get("list configmaps") == 1
    assert stats["counters"].get("get configmaps", 0) == 0
    await control.wait_calls("watch", "configmaps")
    await control.reset()
    for _ in range(5):
        await cache.items()
        await cache.items("default")
        await cache.get("default", "cold-2")
    assert gateway.cache("cluster-0", "configmaps") is cache
    assert (await control.stats())["requests"] == 0
    assert "managedFields" not in (await cache.get("default", "cold-0") or {})["metadata"]


async def test_a_change_shows_within_one_watch_event(gateway: Gateway, kube: httpx.AsyncClient) -> None:
    cache = gateway.cache("cluster-0", "cm")
    await cache.items()
    events = recorder(cache)
    await make_configmap(kube, "live", a="1")
    assert await next_event(events) == ("ADDED", "live")
    assert (await cache.get("default", "live") or {})["data"] == {"a": "1"}
    (await kube.patch("/api/v1/namespaces/default/configmaps/live", json={"data": {"a": "2"}},
                      headers={"Content-Type": "application/merge-patch+json"})).raise_for_status()
    assert await next_event(events) == ("MODIFIED", "live")
    assert (await cache.get("default", "live") or {})["data"] == {"a": "2"}
    (await kube.delete("/api/v1/namespaces/default/configmaps/live")).raise_for_status()
    assert await next_event(events) == ("DELETED", "live")
    assert await cache.get("default", "live") is None
    assert cache.lists == 1


async def test_dropped_watch_resumes_without_relisting(
        gateway: Gateway, control: Control, kube: httpx.AsyncClient) -> None:
    cache = gateway.cache("cluster-0", "cm")
    await cache.items()
    events = recorder(cache)
    await control.wait_calls("watch", "configmaps")
    await control.reset()
    await control.drop_watches()
    await control.wait_calls("watch", "configmaps")  # the cache watches again...
    await make_configmap(kube, "after-drop")  # ...and sees what follows
    assert await next_event(events) == ("ADDED", "after-drop")
    counters = (await control.stats())["counters"]
    assert counters.get("list configmaps", 0) == 0 and counters["watch configmaps"] == 1
    assert cache.lists == 1


async def test_410_relists_and_emits_the_delete_that_happened_meanwhile(
        fleet: Fleet, gateway: Gateway, control: Control, kube: httpx.AsyncClient) -> None:
    await make_configmap(kube, "victim")
    cache = gateway.cache("cluster-0", "cm")
    await cache.items()
    events = recorder(cache)
    state = fleet.cluster("cluster-0").state
    configmaps = state.resources.get("", "v1", "configmaps")
    assert configmaps is not None
    await control.faults(unreachable=True)  # the watch breaks; changes go on behind its back
    state.set_history_size(3)
    try:
        state.delete(configmaps, "default", "victim")
        for i in range(5):
            state.create(configmaps, {"metadata": {"name": f"meanwhile-{i}", "namespace": "default"}})
        await control.reset()  # reachable again: the watch resumes from a version now too old
        seen = {await next_event(events) for _ in range(6)}
    finally:
        state.set_history_size(10_000)
    assert seen == {("DELETED", "victim")} | {("ADDED", f"meanwhile-{i}") for i in range(5)}
    assert cache.lists == 2 and await control.calls("list", "configmaps") == 1
    assert await cache.get("default", "victim") is None


async def test_unreachable_cluster_makes_reads_fail_then_recover(
        gateway: Gateway, control: Control, kube: httpx.AsyncClient) -> None:
    cache = gateway.cache("cluster-0", "cm")
    await cache.items()
    await control.faults(unreachable=True)
    for _ in range(100):  # the watch notices the cut
        if cache.stale:
            break
        await asyncio.sleep(0.02)
    with pytest.raises(UpstreamUnavailable, match="cluster cluster-0") as caught:
        await cache.items()
    assert "stale" in caught.value.message
    fresh = gateway.cache("cluster-0", "secrets")  # never synced: fails at once with the cause
    with pytest.raises(UpstreamUnavailable, match="cluster cluster-0"):
        await fresh.items()
    await control.reset()
    await make_configmap(kube, "back-again")
    for _ in range(200):
        if not cache.stale and await cache.get("default", "back-again"):
            break
        await asyncio.sleep(0.02)
    assert await cache.get("default", "back-again") is not None
    assert isinstance(await fresh.items(), list)


async def test_slow_cluster_times_out_while_other_caches_answer(gateway: Gateway, control: Control) -> None:
    await control.faults("cluster-0", latency=2.0)
    slow, quick = gateway.cache("cluster-0", "serviceaccounts"), gateway.cache("cluster-1", "serviceaccounts")
    slow_read = asyncio.create_task(slow.items())
    quick_read = asyncio.create_task(quick.items())
    done, _ = await asyncio.wait({slow_read, quick_read}, return_when=asyncio.FIRST_COMPLETED)
    assert done == {quick_read} and len(quick_read.result()) == 4
    with pytest.raises(UpstreamTimeout, match="cluster cluster-0 timed out"):
        await slow_read


async def test_watching_says_when_changes_reach_the_cache(gateway: Gateway, control: Control) -> None:
    await control.faults(latency=0.3)  # each call, the watch's too, takes a while to be answered
    cache = gateway.cache("cluster-0", "limitranges")
    await cache.items()
    assert not cache.watching, "listed, the watch not answered yet"
    async with asyncio.timeout(5):
        await cache.until_watching()
    assert cache.watching and await control.calls("watch", "limitranges") == 1
    await control.faults(unreachable=True)
    await control.drop_watches()
    await eventually(_not_watching(cache), seconds=5, what="the dropped watch noticed")
    await control.reset()
    async with asyncio.timeout(5):
        await cache.until_watching()
    assert cache.lists == 1, "resumed, not relisted"


def _not_watching(cache: ResourceCache) -> Callable[[], Awaitable[bool]]:
    async def dropped() -> bool:
        return not cache.watching

    return dropped


async def test_caches_never_impersonate(gateway: Gateway, control: Control) -> None:
    with acting_as(Identity("mallory", ["system:masters"])):
        await gateway.cache("cluster-0", "limitranges").items()
    assert (await control.stats())["impersonations"] == []


async def test_bounded_in_memory(fleet: Fleet, control: Control, kube: httpx.AsyncClient) -> None:
    for i in range(3):
        (await kube.post("/api/v1/namespaces/default/resourcequotas", json={"metadata": {"name": f"q{i}"}}))
    gw = Gateway(ClientOptions(**FAST), CacheOptions(max_objects=2, backoff_initial=0.05))
    gw.register("cluster-0", connection(fleet))
    try:
        with pytest.raises(CacheFull, match="more than 2 resourcequotas"):
            await gw.cache("cluster-0", "quota").items()
    finally:
        await gw.close()


async def test_idle_caches_are_dropped_and_listeners_keep_them(fleet: Fleet, control: Control) -> None:
    gw = Gateway(ClientOptions(**FAST), CacheOptions(idle_seconds=0.2), sweep_interval=0.05)
    gw.register("cluster-0", connection(fleet))
    gw.start()
    try:
        listened = gw.cache("cluster-0", "rolebindings")
        listened.add_listener(lambda etype, obj: None)
        await listened.items()
        read = gw.cache("cluster-0", "roles")
        await read.items()  # used last: the sweep that drops it finds the other idle for longer
        await eventually(lambda: _dropped(gw, read), what="the idle cache dropped by the sweep")
        assert gw.caches() == [listened]
        assert gw.cache("cluster-0", "roles") is not read  # a new one, started again on use
        with pytest.raises(RuntimeError, match="closed"):
            await read.items()
        await gw.unregister("cluster-0")
        with pytest.raises(NotFound, match="cluster 'cluster-0' not found"):
            gw.cache("cluster-0", "roles")
        assert gw.caches() == []
    finally:
        await gw.close()


async def _dropped(gateway: Gateway, cache: ResourceCache) -> bool:
    return cache not in gateway.caches()


async def test_registering_again_replaces_the_client_and_its_caches(fleet: Fleet, control: Control) -> None:
    gw = Gateway(ClientOptions(**FAST), CACHE)
    try:
        first = gw.register("cluster-0", connection(fleet))
        old_cache = gw.cache("cluster-0", "serviceaccounts")
        assert len(await old_cache.items()) == 4
        second = gw.register("cluster-0", connection(fleet, "cluster-1"))
        assert gw.client("cluster-0") is second is not first
        new_cache = gw.cache("cluster-0", "serviceaccounts")
        assert new_cache is not old_cache and new_cache.client is second
        assert len(await new_cache.items()) == 4
    finally:
        await gw.close()
    with pytest.raises(RuntimeError, match="closed"):
        await old_cache.items()


async def test_a_watch_that_cannot_reconnect_in_time_makes_the_cache_stale(
        gateway: Gateway, control: Control) -> None:
    cache = gateway.cache("cluster-0", "cm")
    await cache.items()
    await control.wait_calls("watch", "configmaps")
    await control.faults(latency=3.0)
    await control.drop_watches()
    with pytest.raises(UpstreamUnavailable, match="cluster cluster-0 timed out.*stale"):
        for _ in range(100):
            await cache.items()
            await asyncio.sleep(0.05)
    await control.faults(latency=0.0)
    for _ in range(100):
        if not cache.stale:
            break
        await asyncio.sleep(0.05)
    assert isinstance(await cache.items(), list) and cache.lists == 1  # resumed, not relisted
