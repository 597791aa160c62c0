"""Subscribers that ask the same thing share each event's execution and encoding, counted.

An app of its own (so its counters see only this module's subscribers) over the shared
database; ConfigMaps are written straight into kubesim's store, one watch event each, and every
subscriber must have an event before the next is written, so none is coalesced away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
import websockets
from websockets.asyncio.client import ClientConnection

from app.realtime.expiry import SessionChecks
from app.realtime.shared import SharingStats
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.api.conftest import SECRET
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.server import serving

NAMESPACE = "sharing"
EVENTS = """subscription($c:ID, $n:String){ resourceEvents(clusterId:$c, kind:"ConfigMap", namespace:$n){
  type clusterId name resourceVersion object } }"""
Message = dict[str, Any]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(2, profile="small", seed=58, control=False) as fleet:
        for name in ("cluster-0", "cluster-1"):
            state = fleet.cluster(name).state
            namespaces = state.resources.get("", "v1", "namespaces")
            assert namespaces is not None
            state.create(namespaces, {"metadata": {"name": NAMESPACE}})
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(database_url: str) -> AsyncIterator[tuple[str, Services]]:
    settings = load_settings(database_url=database_url, secret_key=SECRET, subscription_recheck_seconds=0.5)
    services = Services.from_settings(settings)
    async with serving(create_app(settings, services)) as url:
        yield url, services


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tenants(api: Api, provider_token: str, kube: Fleet) -> tuple[TenantUsers, str, TenantUsers, str]:
    """Tenant A on cluster-0 and tenant B on cluster-1, each with two viewers."""
    a = await make_tenant(api, provider_token, roles=("viewer", "developer"))
    b = await make_tenant(api, provider_token, roles=("viewer",))
    cluster_a = await register_cluster(api, a, kube, "share-a")
    return a, cluster_a, b, await register_cluster(api, b, kube, "share-b", "cluster-1")


async def subscribe(
    base_url: str, token: str, variables: dict[str, Any], protocol: str = "graphql-transport-ws", op: str = "s"
) -> ClientConnection:
    socket = await websockets.connect(
        base_url.replace("http://", "ws://") + "/graphql", subprotocols=[protocol]  # type: ignore[list-item]
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    kind = "subscribe" if protocol == "graphql-transport-ws" else "start"
    await socket.send(json.dumps({"id": op, "type": kind, "payload": {"query": EVENTS, "variables": variables}}))
    return socket


def write(kube: Fleet, name: str, value: str, cluster: str = "cluster-0") -> None:
    state = kube.cluster(cluster).state
    configmaps = state.resources.get("", "v1", "configmaps")
    assert configmaps is not None
    body = {"metadata": {"name": name, "namespace": NAMESPACE}, "data": {"v": value}}
    if state.get(configmaps, NAMESPACE, name) is None:
        state.create(configmaps, body)
    else:
        state.update(configmaps, body)


async def receive(socket: ClientConnection, within: float = 5) -> tuple[str, Message]:
    text = await asyncio.wait_for(socket.recv(), timeout=within)
    assert isinstance(text, str)
    return text, json.loads(text)


def event_of(message: Message) -> Message:
    assert message["type"] in ("next", "data"), message
    event: Message = message["payload"]["data"]["resourceEvents"]
    return event


async def until_value(socket: ClientConnection, name: str, value: str) -> tuple[str, Message]:
    while True:
        text, message = await receive(socket)
        event = event_of(message)
        if event["name"] == name and (event["object"] or {}).get("data", {}).get("v") == value:
            return text, message


async def live(kube: Fleet, sockets: list[ClientConnection], probe: str, cluster: str = "cluster-0") -> None:
    """Write until every subscriber has seen the probe: from then on all of them are subscribed."""
    for attempt in range(50):
        write(kube, probe, f"p{attempt}", cluster)
        try:
            await asyncio.gather(*(until_value(s, probe, f"p{attempt}") for s in sockets))
            return
        except TimeoutError:
            continue
    raise AssertionError("the subscriptions never went live")


async def quiet(sockets: list[ClientConnection], within: float = 0.5) -> list[Message]:
    """Whatever else arrives within `within` seconds."""
    extra: list[Message] = []
    for socket in sockets:
        try:
            while True:
                extra.append((await receive(socket, within))[1])
        except TimeoutError:
            pass
    return extra


def data_text(text: str) -> str:
    return text[text.index('"data":') : text.index(',"extensions":')]


def counts(stats: SharingStats) -> tuple[int, int, int]:
    return stats.executions, stats.encodings, stats.deliveries


async def changes(kube: Fleet, sockets: list[ClientConnection], name: str, count: int) -> list[list[str]]:
    """`count` changes of one ConfigMap; the text each subscriber received for each."""
    texts: list[list[str]] = []
    for i in range(count):
        write(kube, name, str(i))
        received = await asyncio.gather(*(until_value(s, name, str(i)) for s in sockets))
        texts.append([text for text, _ in received])
    return texts


async def test_identical_subscribers_share_one_execution_and_encoding_per_event(
    app: tuple[str, Services], tenants: tuple[TenantUsers, str, TenantUsers, str], kube: Fleet
) -> None:
    base_url, services = app
    tenant, cluster_id, _, _ = tenants
    subscribers, events = 6, 8
    variables = {"c": cluster_id, "n": NAMESPACE}
    sockets = [await subscribe(base_url, tenant.tokens["viewer"], variables) for _ in range(subscribers)]
    await live(kube, sockets, "probe-same")
    assert len(services.selections) == 1
    before = counts(services.selections.stats)
    texts = await changes(kube, sockets, "same", events)
    executions, encodings, deliveries = (a - b for a, b in zip(counts(services.selections.stats), before, strict=True))
    assert (executions, encodings, deliveries) == (events, events, subscribers * events)
    for i, per_subscriber in enumerate(texts):
        # the same encoded data for all; only the cost extension (each subscribe's own budget) differs
        assert len({data_text(text) for text in per_subscriber}) == 1, "every subscriber was sent the same data"
        for text in per_subscriber:
            message = json.loads(text)
            assert text == json.dumps(message, separators=(",", ":")), "encoded as the whole message would be"
            assert message["id"] == "s" and message["type"] == "next" and message["payload"]["extensions"]["cost"]
            event = event_of(message)
            assert (event["type"], event["clusterId"]) == ("ADDED" if i == 0 else "MODIFIED", cluster_id)
    assert await quiet(sockets) == []
    await asyncio.gather(*(s.close() for s in sockets))


async def test_different_variables_or_visibility_are_not_merged(
    app: tuple[str, Services],
    tenants: tuple[TenantUsers, str, TenantUsers, str],
    kube: Fleet,
    provider_token: str,
) -> None:
    """The same events to a namespace filter and to none, and to a tenant's developer and the
    provider's staff: four selections, each event executed four times, not once."""
    base_url, services = app
    tenant, cluster_id, _, _ = tenants
    sockets = [
        await subscribe(base_url, tenant.tokens["viewer"], {"c": cluster_id, "n": NAMESPACE}),
        await subscribe(base_url, tenant.tokens["viewer"], {"c": cluster_id, "n": None}),
        await subscribe(base_url, tenant.tokens["developer"], {"c": cluster_id, "n": NAMESPACE}),
        await subscribe(base_url, provider_token, {"c": cluster_id, "n": NAMESPACE}),
    ]
    await live(kube, sockets, "probe-apart")
    assert len(services.selections) == 4
    before = counts(services.selections.stats)
    await changes(kube, sockets, "apart", 3)
    executions, encodings, deliveries = (a - b for a, b in zip(counts(services.selections.stats), before, strict=True))
    assert (executions, encodings, deliveries) == (4 * 3, 4 * 3, 4 * 3)
    await asyncio.gather(*(s.close() for s in sockets))


async def test_both_protocols_share_a_selection_and_keep_their_own_envelope(
    app: tuple[str, Services], tenants: tuple[TenantUsers, str, TenantUsers, str], kube: Fleet
) -> None:
    base_url, services = app
    tenant, cluster_id, _, _ = tenants
    variables = {"c": cluster_id, "n": NAMESPACE}
    current = await subscribe(base_url, tenant.tokens["viewer"], variables, op="new")
    legacy = await subscribe(base_url, tenant.tokens["viewer"], variables, "graphql-ws", op="old")
    await live(kube, [current, legacy], "probe-protocols")
    before = counts(services.selections.stats)
    [[current_text, legacy_text]] = await changes(kube, [current, legacy], "protocols", 1)
    assert [a - b for a, b in zip(counts(services.selections.stats), before, strict=True)] == [1, 1, 2]
    new, old = json.loads(current_text), json.loads(legacy_text)
    assert (new["id"], new["type"], old["id"], old["type"]) == ("new", "next", "old", "data")
    assert new["payload"]["data"] == old["payload"]["data"] and data_text(current_text) == data_text(legacy_text)
    await asyncio.gather(current.close(), legacy.close())


async def test_tenant_b_never_receives_tenant_a_events(
    app: tuple[str, Services], tenants: tuple[TenantUsers, str, TenantUsers, str], kube: Fleet
) -> None:
    """The same fleet-wide document and variables from two tenants: each sees its own cluster only."""
    base_url, services = app
    a, cluster_a, b, cluster_b = tenants
    variables = {"c": None, "n": NAMESPACE}
    a_sockets = [await subscribe(base_url, a.tokens["viewer"], variables) for _ in range(2)]
    b_sockets = [await subscribe(base_url, b.tokens["viewer"], variables) for _ in range(2)]
    await live(kube, a_sockets, "probe-a")
    await live(kube, b_sockets, "probe-b", "cluster-1")
    assert len(services.selections) == 2
    await quiet(a_sockets + b_sockets)
    before = counts(services.selections.stats)
    write(kube, "tenant-a-only", "1")
    for socket in a_sockets:
        _, message = await until_value(socket, "tenant-a-only", "1")
        assert event_of(message)["clusterId"] == cluster_a
    write(kube, "tenant-b-only", "1", "cluster-1")
    for socket in b_sockets:
        _, message = await until_value(socket, "tenant-b-only", "1")
        assert event_of(message)["clusterId"] == cluster_b
    assert [a - b for a, b in zip(counts(services.selections.stats), before, strict=True)] == [2, 2, 4]
    leaked = [event_of(m) for m in await quiet(a_sockets + b_sockets)]
    assert leaked == [], leaked
    await asyncio.gather(*(s.close() for s in a_sockets + b_sockets))


async def test_a_closed_subscription_frees_its_selection_and_slot(
    app: tuple[str, Services], tenants: tuple[TenantUsers, str, TenantUsers, str], kube: Fleet
) -> None:
    base_url, services = app
    tenant, cluster_id, _, _ = tenants
    socket = await subscribe(base_url, tenant.tokens["viewer"], {"c": cluster_id, "n": NAMESPACE})
    await live(kube, [socket], "probe-close")
    assert len(services.selections) == 1 and services.stream_counts[tenant.id] == 1
    await socket.send(json.dumps({"id": "s", "type": "complete"}))
    for _ in range(100):
        if not len(services.selections) and not services.stream_counts[tenant.id]:
            break
        await asyncio.sleep(0.05)
    assert len(services.selections) == 0 and services.stream_counts[tenant.id] == 0
    await socket.close()


async def test_the_streams_of_one_session_share_each_session_check() -> None:
    from app.auth.principal import Principal

    checks, asked = SessionChecks(), []

    async def still_signed_in() -> bool:
        asked.append(1)
        await asyncio.sleep(0.01)
        return True

    one = Principal("usr_1", "a@x.test", "A", "viewer", "ten_1", frozenset(), session_id="ses_1")
    other = Principal("usr_2", "b@x.test", "B", "viewer", "ten_1", frozenset(), session_id="ses_2")
    answers = await asyncio.gather(*(checks.signed_in(one, still_signed_in, 60) for _ in range(50)))
    assert all(answers) and len(asked) == 1
    assert await checks.signed_in(one, still_signed_in, 60) and len(asked) == 1, "a fresh answer is reused"
    assert await checks.signed_in(other, still_signed_in, 60) and len(asked) == 2, "another session asks for itself"
    assert await checks.signed_in(one, still_signed_in, -1) and len(asked) == 3, "an old answer is asked again"
