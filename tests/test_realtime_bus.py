"""The realtime bus on each backend: two bus instances (two connections, as two replicas would hold)
carry messages in order, keep channels apart and round-trip JSON payloads."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from app.realtime.bus import RealtimeBus, resource_channel
from tests.conftest import require_postgres, require_redis


def postgres_bus_url() -> str:
    """broadcaster's postgres backend hands the URL to asyncpg, which knows no SQLAlchemy driver suffix."""
    url = require_postgres()
    scheme, rest = url.split("://", 1)
    return "postgres://" + rest if scheme.startswith("postgres") else url


def bus_url(kind: str) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "redis":
        return require_redis()
    return postgres_bus_url()


@pytest.fixture(params=["memory", "redis", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def connected(url: str) -> RealtimeBus:
    bus = RealtimeBus(url)
    await bus.connect()
    return bus


@pytest.fixture
async def buses(backend: str) -> AsyncIterator[tuple[RealtimeBus, RealtimeBus]]:
    """A publishing and a subscribing bus: one shared instance for memory:// (it is in-process only)."""
    url = bus_url(backend)
    publisher = await connected(url)
    subscriber = publisher if backend == "memory" else await connected(url)
    async with AsyncExitStack() as stack:
        for bus in {id(b): b for b in (publisher, subscriber)}.values():
            stack.push_async_callback(bus.disconnect)
        yield publisher, subscriber


def channel() -> str:
    return resource_channel(str(uuid.uuid4()), "ConfigMap")


async def collect(messages: AsyncIterator[dict[str, Any]], count: int, within: float = 5) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(within):
        async for message in messages:
            out.append(message)
            if len(out) == count:
                return out
    return out


async def test_messages_cross_instances_in_order(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    publisher, subscriber = buses
    name = channel()
    async with subscriber.subscribe(name) as messages:
        for i in range(200):
            await publisher.publish(name, {"seq": i})
        received = await collect(messages, 200)
    assert [m["seq"] for m in received] == list(range(200))


async def test_a_subscriber_never_gets_another_channels_messages(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    publisher, subscriber = buses
    a, b = channel(), channel()
    async with subscriber.subscribe(a) as on_a, subscriber.subscribe(b) as on_b:
        for i in range(20):
            await publisher.publish(a if i % 2 else b, {"channel": "a" if i % 2 else "b", "seq": i})
        got_a = await collect(on_a, 10)
        got_b = await collect(on_b, 10)
        await publisher.publish(b, {"channel": "b", "seq": "last"})
        await publisher.publish(a, {"channel": "a", "seq": "marker"})
        marker = await collect(on_a, 1)
    assert {m["channel"] for m in got_a} == {"a"} and [m["seq"] for m in got_a] == list(range(1, 20, 2))
    assert {m["channel"] for m in got_b} == {"b"} and [m["seq"] for m in got_b] == list(range(0, 20, 2))
    assert marker == [{"channel": "a", "seq": "marker"}], "b's last message reached a's subscriber"


async def test_a_json_payload_round_trips(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    publisher, subscriber = buses
    name = channel()
    payload: dict[str, Any] = {
        "type": "MODIFIED",
        "clusterId": "c-1",
        "namespace": None,
        "object": {"metadata": {"name": "naïve-ünïcode-名前", "labels": {"a": "b"}}, "data": {"n": 1.5, "ok": True}},
        "list": [1, "two", None, {"three": []}],
    }
    async with subscriber.subscribe(name) as messages:
        await publisher.publish(name, payload)
        assert await collect(messages, 1) == [payload]


async def test_subscribers_on_both_instances_get_each_message(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    publisher, subscriber = buses
    name = channel()
    async with subscriber.subscribe(name) as remote, publisher.subscribe(name) as local:
        for i in range(5):
            await publisher.publish(name, {"seq": i})
        assert [m["seq"] for m in await collect(remote, 5)] == list(range(5))
        assert [m["seq"] for m in await collect(local, 5)] == list(range(5))


async def test_the_first_subscription_of_a_fresh_bus_hears_messages(backend: str) -> None:
    url = bus_url(backend)
    publisher = await connected(url)
    subscriber = publisher if backend == "memory" else await connected(url)
    try:
        name = channel()
        async with subscriber.subscribe(name) as messages:
            for i in range(5):
                await publisher.publish(name, {"seq": i})
            received = await collect(messages, 5, within=2)
    finally:
        await publisher.disconnect()
        if subscriber is not publisher:
            await subscriber.disconnect()
    assert [m["seq"] for m in received] == list(range(5))


async def test_a_kubernetes_sized_payload_is_carried(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    """A pod with its status, or a ConfigMap with some data, easily passes 8 kB of JSON."""
    publisher, subscriber = buses
    name = channel()
    payload = {"type": "MODIFIED", "object": {"data": {f"key-{i}": "v" * 100 for i in range(100)}}}
    async with subscriber.subscribe(name) as messages:
        await publisher.publish(name, payload)
        assert await collect(messages, 1, within=2) == [payload]


async def test_concurrent_publishes_are_all_carried(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    """The watch publisher and the cluster-health task publish from different tasks at once."""
    publisher, subscriber = buses
    name = channel()
    async with subscriber.subscribe(name) as messages:
        await asyncio.gather(*(publisher.publish(name, {"seq": i}) for i in range(20)))
        received = await collect(messages, 20, within=2)
    assert sorted(m["seq"] for m in received) == list(range(20))


async def test_subscriptions_opened_at_once_all_hear_their_channel(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    """Subscribers arrive together (a burst of websocket subscribes, an evaluator's tenants): every
    channel's subscription is in place and hears its own messages."""
    publisher, subscriber = buses
    names = [channel() for _ in range(12)]
    async with AsyncExitStack() as stack:
        streams = await asyncio.gather(*(stack.enter_async_context(subscriber.subscribe(n)) for n in names))
        for index, name in enumerate(names):
            await publisher.publish(name, {"seq": index})
        heard = await asyncio.gather(*(collect(stream, 1, within=5) for stream in streams))
    assert [h[0]["seq"] for h in heard] == list(range(len(names)))


async def test_a_long_channel_name_is_carried(buses: tuple[RealtimeBus, RealtimeBus]) -> None:
    """PostgreSQL channel names stop at 63 bytes; a custom kind can make ours longer."""
    publisher, subscriber = buses
    name = resource_channel(str(uuid.uuid4()), "VeryLongCustomResourceKindNameFromSomeOperator" * 2)
    other = resource_channel(str(uuid.uuid4()), "VeryLongCustomResourceKindNameFromSomeOperator" * 2)
    async with subscriber.subscribe(name) as messages, subscriber.subscribe(other) as others:
        await publisher.publish(name, {"seq": 1})
        assert await collect(messages, 1, within=2) == [{"seq": 1}]
        with pytest.raises(TimeoutError):
            await collect(others, 1, within=0.3)  # the other long name is its own channel


async def test_local_listeners_share_one_bus_subscription_per_channel() -> None:
    bus = await connected("memory://")
    name = channel()
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    try:
        async with bus.listen(name, first.append), bus.listen(name, second.append):
            assert list(bus._local) == [name] and len(bus._local[name].listeners) == 2
            await bus.publish(name, {"seq": 1})
            for _ in range(50):
                if first and second:
                    break
                await asyncio.sleep(0.01)
        assert first == second == [{"seq": 1}]
        assert bus._local == {}, "the bus subscription ends with its last listener"
    finally:
        await bus.disconnect()
