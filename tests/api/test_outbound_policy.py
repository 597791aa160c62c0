"""Tenant-chosen addresses over HTTP: registerCluster, discoverClusters and testSshConnection.

Two apps of their own over the shared database: ``strict`` allows no private network (loopback
included, where kubesim and the listeners here run), ``local`` allows loopback and has a short
request deadline. A "silent" listener accepts connections and never says a word; it counts them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml

from app.services import Services
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from resolvers.clusters import PROBE_CONCURRENCY
from tests.api.conftest import SECRET
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.server import free_port, serving

DEADLINE = 1.0
MAX_TARGETS = 12
REGISTER = """mutation($t:ID!,$in:RegisterClusterInput!){ registerCluster(tenantId:$t,input:$in){ id serverUrl } }"""
DISCOVER = "mutation($k:String!){ discoverClusters(kubeconfig:$k){ context server reachable version error } }"
TEST_SSH = """mutation($n:[SshNodeInput!]!){ testSshConnection(nodes:$n,
  sshConfig:{username:"root", authMethod:"password", password:"x"}){
    success results{ node message checks{ name ok } } } }"""
CLUSTERS = "query($t:ID!){ clusters(tenantId:$t){ totalCount } }"


@asynccontextmanager
async def app_with(database_url: str, **settings: Any) -> AsyncIterator[Api]:
    config = load_settings(
        database_url=database_url, secret_key=SECRET, cluster_health_seconds=0, operation_workers=0, **settings
    )
    services = Services.from_settings(config)
    async with serving(create_app(config, services)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Api(http)
    await services.db.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def strict(database_url: str) -> AsyncIterator[Api]:
    async with app_with(database_url, cluster_allowed_networks=[], k8s_timeout_seconds=2) as api:
        yield api


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def local(database_url: str) -> AsyncIterator[Api]:
    async with app_with(
        database_url,
        cluster_allowed_networks=["127.0.0.0/8"],
        outbound_deadline_seconds=DEADLINE,
        outbound_max_targets=MAX_TARGETS,
        k8s_timeout_seconds=30,  # so that the request's deadline, not the call's timeout, ends a silent probe
    ) as api:
        yield api


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(1, profile=None, seed=5, controllers=False) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tenant(api: Api, provider_token: str) -> TenantUsers:
    return await make_tenant(api, provider_token, roles=(), maxClusters=5)


@dataclass
class Listener:
    """A TCP port on 127.0.0.1 that accepts and stays silent (or, with ``talk``, answers plain HTTP)."""

    port: int
    talk: bool = False
    connects: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connects += 1
        self.writers.append(writer)
        if self.talk:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()


@asynccontextmanager
async def listening(port: int = 0, talk: bool = False) -> AsyncIterator[Listener]:
    listener = Listener(port, talk)
    server = await asyncio.start_server(listener.handle, "127.0.0.1", port)
    listener.port = server.sockets[0].getsockname()[1]
    try:
        yield listener
    finally:
        for writer in listener.writers:
            writer.close()
        server.close()
        await server.wait_closed()


def kubeconfig(*servers: str, user: dict[str, Any] | None = None) -> str:
    names = [f"c{i}" for i in range(len(servers))]
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": s, "insecure-skip-tls-verify": True}}
                     for n, s in zip(names, servers, strict=True)],
        "users": [{"name": "admin", "user": user or {"token": "t0ken"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "admin"}} for n in names],
        "current-context": names[0],
    })


async def register(api: Api, tenant: TenantUsers, config: str, name: str = "reg") -> dict[str, Any]:
    return await api.run(REGISTER, {"t": tenant.id, "in": {"name": name, "kubeconfig": config}},
                         tenant.tokens["tenant_admin"])


async def cluster_count(api: Api, tenant: TenantUsers) -> int:
    return int((await api.ok(CLUSTERS, {"t": tenant.id}, tenant.tokens["tenant_admin"]))["clusters"]["totalCount"])


@contextmanager
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level("INFO", logger="fleetgraph"):
        yield caplog


async def test_the_metadata_address_is_refused(
    strict: Api, tenant: TenantUsers, caplog: pytest.LogCaptureFixture
) -> None:
    with server_log(caplog):
        body = await register(strict, tenant, kubeconfig("https://169.254.169.254"))
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE"}
    assert error["message"] == "the cluster at https://169.254.169.254 could not be reached"
    assert "169.254.169.254 is a link-local address" in caplog.text, "refused by the policy, not timed out"
    assert await cluster_count(strict, tenant) == 0


async def test_a_name_resolving_to_loopback_is_refused_unless_allowed(
    strict: Api, local: Api, tenant: TenantUsers, kube: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    server = kube.server_url("cluster-0").replace("127.0.0.1", "localhost")
    config = kubeconfig(server, user={"token": kube.cluster("cluster-0").token})
    before = kube.cluster("cluster-0").control.requests
    with server_log(caplog):
        body = await register(strict, tenant, config, "via-localhost")
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert body["errors"][0]["message"] == f"the cluster at {server} could not be reached"
    assert "localhost resolves to no allowed address" in caplog.text
    assert kube.cluster("cluster-0").control.requests == before, "kubesim was never called"
    assert await cluster_count(strict, tenant) == 0
    allowed = await register(local, tenant, config, "via-localhost")  # the same kubeconfig, loopback allowed
    assert not allowed.get("errors") and allowed["data"]["registerCluster"]["serverUrl"] == server


async def test_exec_plugins_are_refused_naming_the_user(strict: Api, tenant: TenantUsers) -> None:
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "sh", "args": ["-c", "id"]}}
    config = kubeconfig("https://k8s.example.com", user=plugin)
    for body in (await register(strict, tenant, config),
                 await strict.run(DISCOVER, {"k": config}, tenant.tokens["tenant_admin"])):
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["details"][0]["field"] == "kubeconfig"
        assert error["extensions"]["details"][0]["user"] == "admin" and "user 'admin'" in error["message"]


async def test_300_contexts_are_refused_without_a_call(local: Api, tenant: TenantUsers) -> None:
    async with listening() as silent:
        config = kubeconfig(*[f"http://127.0.0.1:{silent.port}/{i}" for i in range(300)])
        body = await local.run(DISCOVER, {"k": config}, tenant.tokens["tenant_admin"])
        assert silent.connects == 0
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["details"] == [
        {"field": "kubeconfig", "message": f"has 300 contexts; at most {MAX_TARGETS} can be checked at once"}
    ]


async def test_a_request_shares_one_address_budget(local: Api, tenant: TenantUsers) -> None:
    closed = free_port()
    config = kubeconfig(*[f"http://127.0.0.1:{closed}/{i}" for i in range(MAX_TARGETS // 2 + 1)])
    twice = (
        "mutation($k:String!){ a: discoverClusters(kubeconfig:$k){ error }"
        " b: discoverClusters(kubeconfig:$k){ error } }"
    )
    body = await local.run(twice, {"k": config}, tenant.tokens["tenant_admin"])
    [error] = body["errors"]
    assert error["path"] == ["b"] and error["extensions"]["code"] == "RATE_LIMITED"
    assert "at most 5 more" in error["message"]


async def test_refused_closed_silent_and_not_tls_read_the_same(
    strict: Api, local: Api, tenant: TenantUsers
) -> None:
    token = tenant.tokens["tenant_admin"]
    bodies: dict[str, dict[str, Any]] = {}
    discovered: dict[str, list[dict[str, Any]]] = {}

    async def attempt(case: str, api: Api, server: str) -> None:
        bodies[case] = await register(api, tenant, kubeconfig(server))
        discovered[case] = (await api.ok(DISCOVER, {"k": kubeconfig(server)}, token))["discoverClusters"]

    async with listening() as silent:
        server = f"https://127.0.0.1:{silent.port}"
        await attempt("refused", strict, server)
        assert silent.connects == 0
        await attempt("silent", local, server)
        assert silent.connects == 2, "the silent case did reach the listener"
    async with listening(silent.port, talk=True) as talker:
        await attempt("not TLS", local, server)
        assert talker.connects == 2
    await attempt("closed", local, server)

    expected = {"message": f"the cluster at {server} could not be reached",
                "extensions": {"code": "UPSTREAM_UNAVAILABLE"}}
    for case, body in bodies.items():
        assert body["data"] is None
        assert [{k: e[k] for k in ("message", "extensions")} for e in body["errors"]] == [expected], case
    assert len({str(body["errors"]) for body in bodies.values()}) == 1, "locations and path too"
    assert {str(found) for found in discovered.values()} == {str([{
        "context": "c0", "server": server, "reachable": False, "version": None, "error": expected["message"],
    }])}


async def test_one_deadline_bounds_a_discovery(local: Api, tenant: TenantUsers) -> None:
    async with listening() as silent:
        config = kubeconfig(*[f"http://127.0.0.1:{silent.port}/{i}" for i in range(10)])
        found = (await local.ok(DISCOVER, {"k": config}, tenant.tokens["tenant_admin"]))["discoverClusters"]
        assert 1 <= silent.connects <= PROBE_CONCURRENCY, "contexts still queued at the deadline are not tried"
    assert [f["reachable"] for f in found] == [False] * 10
    assert len({f["error"].replace(f["server"], "") for f in found}) == 1


async def test_one_deadline_bounds_the_fields_of_a_request(local: Api, tenant: TenantUsers) -> None:
    async with listening() as silent:
        config = kubeconfig(f"http://127.0.0.1:{silent.port}")
        aliased = "mutation($k:String!){ " + " ".join(
            f"d{i}: discoverClusters(kubeconfig:$k){{ reachable error }}" for i in range(3)
        ) + " }"
        data = await local.ok(aliased, {"k": config}, tenant.tokens["tenant_admin"])
        assert silent.connects == 1, "the first field used the request's whole deadline; the others made no call"
    assert [data[f"d{i}"] for i in range(3)] == [
        [{"reachable": False, "error": f"the cluster at http://127.0.0.1:{silent.port} could not be reached"}]
    ] * 3


async def test_ssh_addresses_pass_the_same_policy(strict: Api, local: Api, tenant: TenantUsers) -> None:
    token = tenant.tokens["tenant_admin"]

    def nodes(port: int, count: int = 1, host: str = "127.0.0.1") -> dict[str, Any]:
        return {"n": [{"name": f"n{i}", "role": "worker", "ipAddress": host, "sshPort": port, "osType": "ubuntu22"}
                      for i in range(count)]}

    async with listening() as silent:
        port = silent.port
        refused = (await strict.ok(TEST_SSH, nodes(port), token))["testSshConnection"]
        metadata = (await strict.ok(TEST_SSH, nodes(80, host="169.254.169.254"), token))["testSshConnection"]
        assert silent.connects == 0
        quiet = (await local.ok(TEST_SSH, nodes(port, count=10), token))["testSshConnection"]
        assert 1 <= silent.connects <= 8, "nodes still queued at the deadline are not tried"
    closed = (await local.ok(TEST_SSH, nodes(port), token))["testSshConnection"]
    message = f"Could not reach an SSH server at 127.0.0.1:{port}"
    assert refused == closed == {"success": False, "results": [
        {"node": "n0", "message": message, "checks": [{"name": "reachable", "ok": False}]}]}
    assert {r["message"] for r in quiet["results"]} == {message} and len(quiet["results"]) == 10
    assert metadata["results"][0]["message"] == "Could not reach an SSH server at 169.254.169.254:80"
    too_many = await local.error(TEST_SSH, nodes(port, count=MAX_TARGETS + 1), token)
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"
    assert too_many["extensions"]["details"] == [{"field": "nodes", "message": f"must list 1 to {MAX_TARGETS} nodes"}]
