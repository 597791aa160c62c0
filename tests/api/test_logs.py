"""Log entries over real HTTP and websockets, read from a simulated cluster's pods: a cluster's and a
workload's entries, a search by text, severity and time, an entry read back by its ID, a followed
log that delivers what is written after it started and ends when the pod goes, and who may read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from app.log_lines import LEVELS, UNKNOWN, EntryKey, entry_id
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.live import refusal

ENTRY = "id timestamp level message clusterId cluster namespace pod container"
CLUSTER_LOGS = f"""query($c:ID!,$n:String,$p:String,$w:String,$t:Int){{ cluster(id:$c){{
  logEntries(namespace:$n, pod:$p, workload:$w, tail:$t){{ entries {{ {ENTRY} }} errors {{ code pod }}
  truncated }} }} }}"""
WORKLOAD_LOGS = f"""query($c:ID!){{ cluster(id:$c){{ workloads(namespace:"shop"){{ nodes {{ kind name
  logs(tail:20){{ entries {{ {ENTRY} }} errors {{ code }} }} }} }} }} }}"""
SEARCH = f"""query($t:ID!,$c:ID,$n:String,$s:DateTime,$u:DateTime,$v:String,$x:String,$p:Int,$z:Int){{
  logSearch(tenantId:$t, clusterId:$c, namespace:$n, since:$s, until:$u, severity:$v, text:$x, page:$p,
    pageSize:$z){{ totalCount nodes {{ {ENTRY} }} pageInfo {{ hasNextPage }} errors {{ clusterId code }}
    truncated }} }}"""
ONE = f"query($i:ID!){{ logEntry(id:$i){{ {ENTRY} }} }}"
FOLLOW = f"""subscription($c:ID!,$n:String!,$p:String!,$s:Int){{
  podLogs(clusterId:$c, namespace:$n, pod:$p, sinceSeconds:$s){{ {ENTRY} }} }}"""
PODS = 'query($c:ID!){ cluster(id:$c){ pods(namespace:"shop", first:100){ nodes { name phase containers labels } } } }'
NO_READS = "log-less"


@dataclass
class Setup:
    tenant: TenantUsers
    other: TenantUsers
    cluster: str
    fleet: Fleet

    @property
    def admin(self) -> str:
        return self.tenant.tokens["tenant_admin"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile="small", seed=41) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def setup(api: Api, provider_token: str, kube: Fleet) -> Setup:
    tenant = await make_tenant(api, provider_token, roles=("viewer",))
    other = await make_tenant(api, provider_token, roles=())
    cluster = await register_cluster(api, tenant, kube, "logs")
    admin = tenant.tokens["tenant_admin"]
    await api.ok(
        "mutation($n:String!){ createRole(input:{name:$n, permissions:[\"clusters:read\"]}){ id } }", {"n": NO_READS},
        admin,
    )  # fmt: skip
    await api.ok(
        "mutation($t:ID!,$u:ID!,$c:ID!,$r:String){ setClusterRole(tenantId:$t,userId:$u,clusterId:$c,role:$r){ id } }",
        {"t": tenant.id, "u": tenant.user_ids["viewer"], "c": cluster, "r": NO_READS},
        admin,
    )
    return Setup(tenant, other, cluster, kube)


async def _running_pod(api: Api, setup: Setup, last: bool = False) -> dict[str, Any]:
    """A running pod with one container: the first by name, or the last (the follow tests each take one)."""
    pods = (await api.ok(PODS, {"c": setup.cluster}, setup.admin))["cluster"]["pods"]["nodes"]
    running = [p for p in pods if p["phase"] == "Running" and len(p["containers"]) == 1]
    return running[-1] if last else running[0]


async def _shop_entries(api: Api, setup: Setup) -> list[dict[str, Any]]:
    found = await api.ok(CLUSTER_LOGS, {"c": setup.cluster, "n": "shop", "t": 500}, setup.admin)
    lines = found["cluster"]["logEntries"]
    assert lines["errors"] == [] and not lines["truncated"]
    return list(lines["entries"])


async def test_a_namespace_s_entries_are_merged_by_time_with_levels(api: Api, setup: Setup) -> None:
    entries = await _shop_entries(api, setup)
    assert entries and len(entries) <= 500
    stamps = [datetime.fromisoformat(e["timestamp"]) for e in entries]
    assert stamps == sorted(stamps)
    assert {e["namespace"] for e in entries} == {"shop"} and len({e["pod"] for e in entries}) > 1
    assert all(e["clusterId"] == setup.cluster and e["cluster"] == "logs" for e in entries)
    assert {e["level"] for e in entries} <= {*LEVELS, UNKNOWN}
    json_lines = [e for e in entries if e["message"].startswith('{"time"')]
    assert json_lines and all(e["level"] in ("info", "warn") for e in json_lines)
    assert all(e["level"] == "info" for e in entries if " LOG:  " in e["message"])


async def test_one_pod_and_one_workload(api: Api, setup: Setup) -> None:
    pod = await _running_pod(api, setup)
    one = await api.ok(CLUSTER_LOGS, {"c": setup.cluster, "n": "shop", "p": pod["name"], "t": 5}, setup.admin)
    entries = one["cluster"]["logEntries"]["entries"]
    assert 0 < len(entries) <= 5 and {e["pod"] for e in entries} == {pod["name"]}
    workloads = (await api.ok(WORKLOAD_LOGS, {"c": setup.cluster}, setup.admin))["cluster"]["workloads"]["nodes"]
    deployment = next(w for w in workloads if w["kind"] == "Deployment" and w["logs"]["entries"])
    pods = {e["pod"] for e in deployment["logs"]["entries"]}
    assert all(p.startswith(deployment["name"] + "-") for p in pods), pods
    by_name = await api.ok(
        CLUSTER_LOGS, {"c": setup.cluster, "n": "shop", "w": f"deployment/{deployment['name']}", "t": 20}, setup.admin
    )
    named = by_name["cluster"]["logEntries"]["entries"]  # read a moment later: the newest lines may have moved on
    assert all(e["pod"].startswith(deployment["name"] + "-") for e in named)
    assert {e["id"] for e in named} & {e["id"] for e in deployment["logs"]["entries"]}
    missing = await api.run(CLUSTER_LOGS, {"c": setup.cluster, "n": "shop", "w": "deployment/nowhere"}, setup.admin)
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_search_by_text_severity_and_time(api: Api, setup: Setup) -> None:
    entries = await _shop_entries(api, setup)
    base = {"t": setup.tenant.id, "n": "shop", "z": 100}
    word = next(e for e in entries if e["message"].startswith('{"time"'))["message"].split('"msg":"')[1].split('"')[0]
    found = (await api.ok(SEARCH, {**base, "x": word.upper()}, setup.admin))["logSearch"]
    assert found["totalCount"] > 0 and found["errors"] == []
    assert all(word in e["message"] for e in found["nodes"])
    expected = [e for e in entries if word in e["message"]]
    assert found["totalCount"] >= len(expected)

    warned = (await api.ok(SEARCH, {**base, "v": "warning"}, setup.admin))["logSearch"]
    assert all(e["level"] in ("warn", "error", "fatal") for e in warned["nodes"])
    assert warned["totalCount"] < (await api.ok(SEARCH, base, setup.admin))["logSearch"]["totalCount"]

    stamps = sorted(datetime.fromisoformat(e["timestamp"]) for e in entries)
    since, until = stamps[len(stamps) // 4], stamps[len(stamps) // 2]
    window = {**base, "s": since.isoformat(), "u": until.isoformat()}
    timed = (await api.ok(SEARCH, window, setup.admin))["logSearch"]
    assert timed["totalCount"] > 0
    assert all(since - timedelta(seconds=1) < datetime.fromisoformat(e["timestamp"]) <= until for e in timed["nodes"])
    newest_first = [datetime.fromisoformat(e["timestamp"]) for e in timed["nodes"]]
    assert newest_first == sorted(newest_first, reverse=True)

    paged = (await api.ok(SEARCH, {**window, "z": 2, "p": 2}, setup.admin))["logSearch"]
    assert paged["nodes"] == timed["nodes"][2:4] and paged["totalCount"] == timed["totalCount"]
    bad = await api.run(SEARCH, {**base, "v": "loud"}, setup.admin)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_entry_is_read_back_by_its_id(api: Api, setup: Setup) -> None:
    entries = await _shop_entries(api, setup)
    for entry in (entries[0], entries[len(entries) // 2], entries[-1]):
        assert (await api.ok(ONE, {"i": entry["id"]}, setup.admin))["logEntry"] == entry
    edited = EntryKey(setup.cluster, "shop", entries[-1]["pod"], entries[-1]["container"], "2020-01-01T00:00:00Z", "0")
    for missing in (entry_id(edited), "log_nonsense", "cls_123"):
        body = await api.run(ONE, {"i": missing}, setup.admin)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", missing


def _transport(base_url: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=base_url.replace("http://", "ws://") + "/graphql", init_payload={"Authorization": f"Bearer {token}"}
    )


async def _delete_pod(fleet: Fleet, name: str) -> None:
    cluster = fleet.cluster("cluster-0")
    async with httpx.AsyncClient(
        base_url=fleet.server_url("cluster-0"), headers={"Authorization": f"Bearer {cluster.token}"}
    ) as http:
        response = await http.request("DELETE", f"/api/v1/namespaces/shop/pods/{name}", json={"gracePeriodSeconds": 0})
        assert response.status_code == 200, response.text


async def test_following_a_pod_delivers_new_lines_and_ends_when_the_pod_goes(
    base_url: str, api: Api, setup: Setup
) -> None:
    pod = await _running_pod(api, setup)
    clock = setup.fleet.cluster("cluster-0").state.clock
    async with Client(transport=_transport(base_url, setup.admin)) as session:
        stream = session.subscribe(gql(FOLLOW), variable_values={"c": setup.cluster, "n": "shop", "p": pod["name"]})
        started = clock.now()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)  # the subscription is sent; the log writes nothing until the clock moves
        received: list[dict[str, Any]] = []
        while not received:
            clock.advance(60)  # a minute of the pod's life: it writes lines
            with contextlib.suppress(TimeoutError):
                received.append((await asyncio.wait_for(asyncio.shield(first), 2))["podLogs"])
        assert datetime.fromisoformat(received[0]["timestamp"]) > started
        assert received[0]["pod"] == pod["name"]
        assert (await api.ok(ONE, {"i": received[0]["id"]}, setup.admin))["logEntry"] == received[0]
        await _delete_pod(setup.fleet, pod["name"])

        async def rest() -> list[dict[str, Any]]:
            return [r["podLogs"] async for r in stream]

        more = await asyncio.wait_for(rest(), 15)  # the stream ends: the pod is gone
        assert all(datetime.fromisoformat(e["timestamp"]) > started for e in more)


async def test_another_tenant_finds_nothing_and_a_read_less_role_is_forbidden(
    base_url: str, api: Api, setup: Setup
) -> None:
    entries = await _shop_entries(api, setup)
    pod = await _running_pod(api, setup)
    other, viewer = setup.other.tokens["tenant_admin"], setup.tenant.tokens["viewer"]
    calls: list[tuple[str, dict[str, Any]]] = [
        (CLUSTER_LOGS, {"c": setup.cluster, "n": "shop"}),
        (SEARCH, {"t": setup.tenant.id}),
        (SEARCH, {"t": setup.other.id, "c": setup.cluster}),
        (ONE, {"i": entries[0]["id"]}),
    ]
    for query, variables in calls:
        body = await api.run(query, variables, other)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", (variables, body)
        assert entries[0]["message"] not in str(body)
    for query, variables in [calls[0], (SEARCH, {"t": setup.tenant.id, "c": setup.cluster}), calls[3]]:
        body = await api.run(query, variables, viewer)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (variables, body)
    # without a cluster named, the search leaves out the clusters the role may not read
    hidden = (await api.ok(SEARCH, {"t": setup.tenant.id}, viewer))["logSearch"]
    assert hidden["totalCount"] == 0 and hidden["nodes"] == []
    follow = {"c": setup.cluster, "n": "shop", "p": pod["name"]}
    assert await refusal(base_url, other, FOLLOW, follow) == "NOT_FOUND"
    assert await refusal(base_url, viewer, FOLLOW, follow) == "FORBIDDEN"


async def test_kubilitics_follow_streams_the_lines_as_written_until_the_pod_goes(
    base_url: str, api: Api, setup: Setup
) -> None:
    pod = await _running_pod(api, setup, last=True)
    clock = setup.fleet.cluster("cluster-0").state.clock
    path = f"/compat/kubilitics/api/v1/clusters/{setup.cluster}/logs/shop/{pod['name']}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        plain = await http.get(path, params={"tail": 3}, headers={"Authorization": f"Bearer {setup.admin}"})
        assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/plain")
        assert len(plain.text.splitlines()) == 3
        other = {"Authorization": f"Bearer {setup.other.tokens['tenant_admin']}"}
        refused = await http.get(path, params={"follow": "true"}, headers=other)
        assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/json")

        headers = {"Authorization": f"Bearer {setup.admin}"}
        async with http.stream("GET", path, params={"follow": "true"}, headers=headers) as response:
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
            lines = response.aiter_lines()
            pending = asyncio.ensure_future(anext(lines))
            while not pending.done():
                clock.advance(60)  # the pod writes lines; the body carries them
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(pending), 2)
            first = pending.result()
            assert first and first not in plain.text.splitlines()
            await _delete_pod(setup.fleet, pod["name"])

            async def rest() -> list[str]:
                return [line async for line in lines]

            await asyncio.wait_for(rest(), 15)  # the body ends: the pod is gone
