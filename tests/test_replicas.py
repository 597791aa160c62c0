"""Two `fleetgraph serve` processes on one PostgreSQL and one Redis, kubesim in a third.

A subscriber on either replica receives the events of the one watch the deployment holds;
when the watching replica is killed (-9), the other takes its lock over and its subscriber
learns of a delete that happened while nobody watched. Plain GraphQL reads on either replica
are served from that same watch too, and stay correct across the takeover.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import require_postgres, require_redis
from tests.support.databases import scratch_postgres
from tests.support.processes import create_admin, gql, healthy, kubesim_ready, processes, spawn
from tests.support.server import free_port
from tests.support.waiting import eventually
from tests.support.watch_locks import watch_locks

SECRET = "replica-test-secret-key-0123456789abcdef"
ADMIN = ("root@replicas.test", "replica-admin-pass-1")
READ = 'query($c:ID!){ resources(clusterId:$c, kind:"ConfigMap", namespace:"default"){ name } }'
EVENTS = """subscription($c:ID!){ resourceEvents(clusterId:$c, kind:"ConfigMap", namespace:"default",
  includeInitial:true){ type name resourceVersion } }"""


async def subscribe(url: str, token: str, cluster_id: str) -> Any:
    socket = await websockets.connect(url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    await socket.send(
        json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS, "variables": {"c": cluster_id}}})
    )
    return socket


async def next_event(socket: Any, name: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=max(0.01, deadline - time.monotonic())))
        assert message["type"] == "next", message
        event = message["payload"]["data"]["resourceEvents"]
        if event["name"] == name:
            return dict(event)


async def kube(kubeconfig: Path, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    text = kubeconfig.read_text()
    server, token = text.split("server: ", 1)[1].split()[0], text.split("token: ", 1)[1].split()[0]
    async with httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {token}"}) as http:
        response = await http.request(method, path, json=body)
        assert response.status_code in (200, 201), response.text


async def read_until(
    url: str, token: str, cluster_id: str, present: set[str], absent: set[str], seconds: float
) -> None:
    """Reads ConfigMaps on one replica until ``present`` show and ``absent`` do not, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        seen = {o["name"] for o in (await gql(url, READ, {"c": cluster_id}, token))["resources"]}
        if present <= seen and not absent & seen:
            return
        assert time.monotonic() < deadline, f"{url} reads {sorted(seen)}, wanted {sorted(present)} - {sorted(absent)}"
        await asyncio.sleep(0.1)


async def watch_opens(control: str) -> int:
    async with httpx.AsyncClient() as http:
        counters = (await http.get(f"{control}/clusters/cluster-0/stats")).json()["counters"]
    return int(counters.get("watch configmaps", 0))


async def setup_tenant_cluster(url: str, kubeconfig: Path) -> tuple[str, str]:
    token = (
        await gql(
            url,
            "mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken } }",
            {"e": ADMIN[0], "p": ADMIN[1]},
        )
    )["login"]["accessToken"]
    tenant = await gql(
        url,
        'mutation { createTenant(input:{name:"Replica Co", adminEmail:"a@replica.test"}){ tenant { id } } }',
        {},
        token,
    )
    registered = await gql(
        url,
        'mutation($t:ID!,$k:String!){ registerCluster(tenantId:$t, input:{name:"one", kubeconfig:$k}){ id } }',
        {"t": tenant["createTenant"]["tenant"]["id"], "k": kubeconfig.read_text()},
        token,
    )
    return token, registered["registerCluster"]["id"]


def replica_env(database_url: str, redis: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLEETGRAPH_")},
        "FLEETGRAPH_DATABASE_URL": database_url,
        "FLEETGRAPH_BROADCAST_URL": redis,
        "FLEETGRAPH_SECRET_KEY": SECRET,
        "FLEETGRAPH_WATCH_OWNERSHIP_SECONDS": "1",
        "FLEETGRAPH_CLUSTER_ALLOWED_NETWORKS": "127.0.0.0/8",  # kubesim listens on loopback
        "FLEETGRAPH_CLUSTER_HEALTH_SECONDS": "0",
    }


def start_kubesim(started: list[subprocess.Popen[str]], env: dict[str, str], out: Path) -> tuple[str, Path]:
    """kubesim with one small cluster: its control URL and the cluster's kubeconfig."""
    args = ["--clusters", "1", "--profile", "small", "--seed", "9", "--port", "0", "--kubeconfig-out", str(out)]
    control, kubeconfig = kubesim_ready(spawn(started, env, "kubesim", *args, "--control"))
    assert kubeconfig is not None
    return control, kubeconfig


async def serve(started: list[subprocess.Popen[str]], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """A `fleetgraph serve` replica, once it answers: the process and its URL."""
    port = free_port()
    process = spawn(started, env, "app", "serve", "--port", str(port), "--no-migrate")
    url = f"http://127.0.0.1:{port}"
    await healthy(url)
    return process, url


async def first_watch(control: str) -> None:
    for _ in range(100):
        if await watch_opens(control) >= 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no replica opened the watch")


async def lock_refused_to_another(database_url: str, seconds: float = 15) -> None:
    """Once B, wanting the cluster, has asked for its lock again (a round of B's after this point)
    and A, which holds it, kept it."""
    async with watch_locks(database_url) as locks:
        holders, since = await locks.holders(), await locks.now()
        assert len(holders) == 1, holders

        async def asked_by_another() -> set[int]:
            return await locks.asked_since(since) - holders

        await eventually(asked_by_another, seconds, what="another replica asking for the lock")
        assert await locks.holders() == holders, "A keeps the lock"


@pytest.mark.postgres
@pytest.mark.redis
async def test_one_watch_for_two_replicas_and_failover_without_missing_a_delete(tmp_path: Path) -> None:
    postgres, redis = require_postgres(), require_redis()
    async with scratch_postgres(postgres) as url:
        env = replica_env(url, redis)
        with processes() as started:
            await create_admin(env, *ADMIN)
            control, kubeconfig = start_kubesim(started, env, tmp_path)
            replica_a, a_url = await serve(started, env)
            token, cluster_id = await setup_tenant_cluster(a_url, kubeconfig)
            on_a = await subscribe(a_url, token, cluster_id)
            await first_watch(control)  # A announced its want and took the cluster's lock
            _, b_url = await serve(started, env)
            on_b = await subscribe(b_url, token, cluster_id)
            await lock_refused_to_another(url)
            await kube(
                kubeconfig,
                "POST",
                "/api/v1/namespaces/default/configmaps",
                {"metadata": {"name": "cm-one"}, "data": {"k": "v"}},
            )
            assert (await next_event(on_a, "cm-one", 2))["type"] == "ADDED"
            assert (await next_event(on_b, "cm-one", 2))["type"] == "ADDED"
            assert await watch_opens(control) == 1, "the deployment holds one watch for the kind"
            replica_a.send_signal(signal.SIGKILL)
            replica_a.wait(timeout=10)
            await kube(kubeconfig, "DELETE", "/api/v1/namespaces/default/configmaps/cm-one")
            started_at = time.monotonic()
            deleted = await next_event(on_b, "cm-one", 15)
            assert deleted["type"] == "DELETED" and time.monotonic() - started_at < 15
            await kube(
                kubeconfig,
                "POST",
                "/api/v1/namespaces/default/configmaps",
                {"metadata": {"name": "cm-two"}, "data": {"k": "v"}},
            )
            assert (await next_event(on_b, "cm-two", 2))["type"] == "ADDED"
            assert await watch_opens(control) == 2, "B opened the one watch after A died"
            await on_b.close()


@pytest.mark.postgres
@pytest.mark.redis
async def test_reads_on_two_replicas_share_one_watch_and_stay_correct_across_a_takeover(tmp_path: Path) -> None:
    postgres, redis = require_postgres(), require_redis()
    async with scratch_postgres(postgres) as url:
        env = replica_env(url, redis)
        with processes() as started:
            await create_admin(env, *ADMIN)
            control, kubeconfig = start_kubesim(started, env, tmp_path)
            replica_a, a_url = await serve(started, env)
            token, cluster_id = await setup_tenant_cluster(a_url, kubeconfig)
            await read_until(a_url, token, cluster_id, set(), set(), 0)
            await first_watch(control)  # A announced its want and took the cluster's lock
            _, b_url = await serve(started, env)
            await read_until(b_url, token, cluster_id, set(), set(), 0)
            await lock_refused_to_another(url)
            assert await watch_opens(control) == 1, "reads on both replicas share one watch"

            path = "/api/v1/namespaces/default/configmaps"
            await kube(kubeconfig, "POST", path, {"metadata": {"name": "cm-read"}, "data": {"k": "v"}})
            await read_until(b_url, token, cluster_id, {"cm-read"}, set(), 2)
            await read_until(a_url, token, cluster_id, {"cm-read"}, set(), 2)
            await kube(kubeconfig, "DELETE", f"{path}/cm-read")
            await read_until(b_url, token, cluster_id, set(), {"cm-read"}, 2)
            await kube(kubeconfig, "POST", path, {"metadata": {"name": "cm-doomed"}, "data": {"k": "v"}})
            await read_until(b_url, token, cluster_id, {"cm-doomed"}, set(), 2)
            assert await watch_opens(control) == 1

            replica_a.send_signal(signal.SIGKILL)
            replica_a.wait(timeout=10)
            await kube(kubeconfig, "DELETE", f"{path}/cm-doomed")  # while nobody watches
            await read_until(b_url, token, cluster_id, set(), {"cm-doomed"}, 15)
            await kube(kubeconfig, "POST", path, {"metadata": {"name": "cm-after"}, "data": {"k": "v"}})
            await read_until(b_url, token, cluster_id, {"cm-after"}, set(), 2)
            assert await watch_opens(control) == 2, "B opened the one watch after A died"
