"""Backpressure end to end: a GraphQL subscriber that stops reading while its cluster changes fast.

Its mailbox stays within the queue size (coalescing per object, then a RESYNC), a subscriber that
keeps reading still gets every latest state within 2 s, and the slow one, reading again, learns
that it must refetch."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import websockets
from websockets.asyncio.client import ClientConnection

import resolvers.realtime
from app.realtime.mailbox import RESYNC, Mailbox
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.api.conftest import SECRET
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.server import serving

QUEUE_SIZE = 20
PATCHES = 2000
DISTINCT = 100
PAD = base64.b64encode(os.urandom(37_500)).decode()  # 50 kB that compression cannot shrink
EVENTS = """subscription($c:ID!){ resourceEvents(clusterId:$c, kind:"ConfigMap", namespace:"shop", includeInitial:true){
  type name resourceVersion object } }"""
Event = dict[str, Any]


class RecordingMailbox(Mailbox):
    """The resolver's mailbox, remembering the most it ever held."""

    created: list[RecordingMailbox] = []

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(capacity)
        self.high_water = 0
        RecordingMailbox.created.append(self)

    def put(self, event: Event) -> None:
        super().put(event)
        self.high_water = max(self.high_water, len(self))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=47, control=False) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def small_queue(database_url: str) -> AsyncIterator[str]:
    """A second app on the same database whose subscribers' mailboxes hold 20 events."""
    settings = load_settings(database_url=database_url, secret_key=SECRET, subscription_queue_size=QUEUE_SIZE)
    async with serving(create_app(settings, Services.from_settings(settings))) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster(api: Api, provider_token: str, kube: Fleet) -> tuple[TenantUsers, str]:
    tenant = await make_tenant(api, provider_token, roles=("viewer",))
    return tenant, await register_cluster(api, tenant, kube, "burst")


async def subscribe(base_url: str, token: str, cluster_id: str, slow: bool) -> ClientConnection:
    """A graphql-transport-ws subscriber; a slow one has tiny receive buffers, so it stops the server's
    writes soon after it stops reading (rather than after megabytes of kernel buffer)."""
    parts = urlsplit(base_url)
    sock = socket.socket()
    if slow:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.connect((parts.hostname, parts.port))
    client = await websockets.connect(
        f"ws://{parts.netloc}/graphql",
        sock=sock,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_queue=1 if slow else 1024,
        max_size=None,
        compression=None,
    )
    await client.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await client.recv())["type"] == "connection_ack"
    message = {"id": "s", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"c": cluster_id}}}
    await client.send(json.dumps(message))
    return client


async def next_event(client: ClientConnection, within: float) -> Event:
    message = json.loads(await asyncio.wait_for(client.recv(), timeout=within))
    assert message["type"] == "next", message
    event: Event = message["payload"]["data"]["resourceEvents"]
    return event


async def until_named(client: ClientConnection, name: str) -> None:
    while (await next_event(client, 10))["name"] != name:
        pass


def configmaps(kube: Fleet) -> tuple[Any, Any]:
    state = kube.cluster("cluster-0").state
    return state, state.resources.get("", "v1", "configmaps")


class FastReader:
    """A subscriber that keeps reading: the latest event per object, and how long each wait took."""

    def __init__(self, client: ClientConnection) -> None:
        self.client = client
        self.latest: dict[str, Event] = {}
        self.slowest = 0.0
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            event = await next_event(self.client, 30)
            self.latest[event["name"]] = event
            self._changed.set()

    def value(self, name: str, key: str) -> str | None:
        obj = self.latest.get(name, {}).get("object") or {}
        return (obj.get("data") or {}).get(key)

    async def sees(self, name: str, key: str, value: str, within: float = 2) -> None:
        started = asyncio.get_running_loop().time()
        async with asyncio.timeout(within):
            while self.value(name, key) != value:
                self._changed.clear()
                await self._changed.wait()
        self.slowest = max(self.slowest, asyncio.get_running_loop().time() - started)

    def stop(self) -> None:
        self._task.cancel()


async def burst(kube: Fleet, fast: FastReader) -> None:
    """2,000 changes of one large ConfigMap, then 100 new small ones, written straight into kubesim's
    store (faster than a client could send them; the app still learns of them over its watch).
    After each batch, the reading subscriber must have it within 2 s."""
    state, rt = configmaps(kube)
    for i in range(1, PATCHES + 1):
        state.update(rt, {"metadata": {"name": "hot", "namespace": "shop"}, "data": {"n": str(i), "pad": PAD}})
        if i % 20 == 0:
            await fast.sees("hot", "n", str(i))
    for i in range(DISTINCT):
        state.create(rt, {"metadata": {"name": f"burst-{i}", "namespace": "shop"}, "data": {"i": str(i)}})
        if i % 5 == 4:
            await fast.sees(f"burst-{i}", "i", str(i))


async def drain(client: ClientConnection, quiet: float = 1.5) -> list[Event]:
    events: list[Event] = []
    try:
        while True:
            events.append(await next_event(client, quiet))
    except TimeoutError:
        return events


async def test_a_slow_subscriber_is_bounded_and_never_delays_another(
    small_queue: str, cluster: tuple[TenantUsers, str], kube: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, cluster_id = cluster
    state, rt = configmaps(kube)
    for name in ["hot", *(f"burst-{i}" for i in range(DISTINCT))]:  # left by the run on the other database
        if state.get(rt, "shop", name) is not None:
            state.delete(rt, "shop", name)
    state.create(rt, {"metadata": {"name": "hot", "namespace": "shop"}, "data": {"n": "0"}})
    monkeypatch.setattr(resolvers.realtime, "Mailbox", RecordingMailbox)
    RecordingMailbox.created = []
    slow = await subscribe(small_queue, tenant.tokens["viewer"], cluster_id, slow=True)
    await until_named(slow, "hot")  # subscribed and listed: from here on it reads nothing
    fast = await subscribe(small_queue, tenant.tokens["viewer"], cluster_id, slow=False)
    await until_named(fast, "hot")
    slow_box, fast_box = RecordingMailbox.created
    reader = FastReader(fast)
    try:
        await burst(kube, reader)
    finally:
        reader.stop()
    assert reader.slowest < 2
    assert all(f"burst-{i}" in reader.latest for i in range(DISTINCT)), "the reading subscriber lost events"
    assert fast_box.resyncs == 0 and fast_box.high_water <= QUEUE_SIZE
    assert slow_box.high_water <= QUEUE_SIZE, "the slow subscriber's mailbox grew past its size"
    assert slow_box.coalesced > PATCHES // 2 and slow_box.resyncs > 0, (slow_box.coalesced, slow_box.resyncs)
    late = await drain(slow)
    await asyncio.gather(slow.close(), fast.close())
    assert len(late) < (PATCHES + DISTINCT) // 2, "the slow subscriber was sent nearly everything"
    types = [e["type"] for e in late]
    assert RESYNC in types, types[-30:]
    last_resync = len(types) - 1 - types[::-1].index(RESYNC)
    stale = [e["object"]["data"]["n"] for e in late[last_resync:] if e["name"] == "hot" and e["object"]]
    assert all(n == str(PATCHES) for n in stale), f"stale states after the RESYNC: {stale}"
