"""Per-cluster authorisation as the fields declare it: a per-cluster role decides on that cluster,
and only there, on every path that names the cluster (its ID, an operation's, a snapshot's, a
cluster's own fields, subscriptions, the legacy websocket), at no extra database cost.

The tenant's viewer holds a custom role without any reads on `closed`; its developer holds the
operator role on `open`; its operator holds a custom read-only role on `closed`. A third cluster,
created here, has a queued operation, and the viewer holds the read-less role on it too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest_asyncio
import websockets
from sqlalchemy import event

from app.ids import new_id
from app.services import Services
from kubesim.fleet import Fleet, start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster
from tests.support.live import refusal
from tests.support.waiting import eventually

NO_READS = "badge-only"
READER = "reader"
CREATE_ROLE = "mutation($n:String!,$p:[String!]!){ createRole(input:{name:$n, permissions:$p}){ id } }"
SET_ROLE = """mutation($t:ID!,$u:ID!,$c:ID!,$r:String){
  setClusterRole(tenantId:$t, userId:$u, clusterId:$c, role:$r){ id } }"""
CREATE = """mutation($t:ID!,$n:String!){ createCluster(tenantId:$t, input:{name:$n, version:"1.30.6",
  nodePools:[{name:"general", nodeCount:1}],
  networking:{cni:"calico", serviceCidr:"10.96.0.0/12", podCidr:"10.244.0.0/16"}}){
  cluster { id } operation { id } } }"""


@dataclass
class Setup:
    tenant: TenantUsers
    open: str
    closed: str
    managed: str
    operation: str

    def token(self, role: str) -> str:
        return self.tenant.tokens[role]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube() -> AsyncIterator[Fleet]:
    async with start_fleet(2, profile="small", seed=71) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def setup(api: Api, provider_token: str, kube: Fleet) -> Setup:
    tenant = await make_tenant(api, provider_token, roles=("operator", "developer", "viewer"))
    admin = tenant.tokens["tenant_admin"]
    open_ = await register_cluster(api, tenant, kube, "cluster-0", "cluster-0")
    closed = await register_cluster(api, tenant, kube, "cluster-1", "cluster-1")
    created = (await api.ok(CREATE, {"t": tenant.id, "n": "managed"}, tenant.tokens["operator"]))["createCluster"]
    for name, permissions in ((NO_READS, ["users:read"]), (READER, ["clusters:read", "workloads:read"])):
        await api.ok(CREATE_ROLE, {"n": name, "p": permissions}, admin)
    roles = [
        ("viewer", closed, NO_READS),
        ("viewer", created["cluster"]["id"], NO_READS),
        ("developer", open_, "operator"),
        ("operator", closed, READER),
    ]
    for user, cluster, role in roles:
        await api.ok(SET_ROLE, {"t": tenant.id, "u": tenant.user_ids[user], "c": cluster, "r": role}, admin)
    return Setup(tenant, open_, closed, created["cluster"]["id"], created["operation"]["id"])


def lacks(cluster_id: str, permission: str) -> str:
    return f"your role on cluster {cluster_id} lacks the '{permission}' permission"


def refused(body: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of the one error of a refused operation, whose root field is null."""
    assert not any((body.get("data") or {}).values()) and len(body["errors"]) == 1, body
    return body["errors"][0]["extensions"]["code"], body["errors"][0]["message"]


async def answered(api: Api, op: str, variables: dict[str, Any], token: str) -> Any:
    """The data of an operation the caller may run, once the cluster's cold caches answer in time."""

    async def attempt() -> Any:
        body = await api.run(op, variables, token)
        codes = {e["extensions"]["code"] for e in body.get("errors") or []}
        assert codes <= {"UPSTREAM_TIMEOUT", "UPSTREAM_UNAVAILABLE"}, body["errors"]
        return None if codes else body["data"]

    return await eventually(attempt, 30, "an answer from the cluster")


async def test_a_role_without_reads_on_a_cluster_refuses_it_by_every_id(api: Api, setup: Setup) -> None:
    viewer, closed = setup.token("viewer"), setup.closed
    forbidden = ("FORBIDDEN", lacks(closed, "clusters:read"))
    for op in (
        "query($i:ID!){ cluster(id:$i){ id } }",
        "query($i:ID!){ node(id:$i){ id } }",  # the same declaration as cluster(id)
        'query($i:ID!){ resources(clusterId:$i, kind:"pods"){ name } }',
        'query($i:ID!){ kubeObject(clusterId:$i, kind:"Namespace", name:"default"){ name } }',
    ):
        assert refused(await api.run(op, {"i": closed}, viewer)) == forbidden, op
        assert (await api.ok(op, {"i": setup.open}, viewer)) is not None, op
    missing = new_id("cluster")
    missing_body = await api.run("query($i:ID!){ node(id:$i){ id } }", {"i": missing}, viewer)
    assert refused(missing_body) == ("NOT_FOUND", f"cluster {missing!r} not found")


async def test_a_listed_cluster_answers_each_live_field_by_the_role_held_on_it(api: Api, setup: Setup) -> None:
    op = """query($t:ID!){ clusters(tenantId:$t){ nodes { id name summary { nodes } pods { nodes { name } }
      insights { storageClassUsage { name } } } } }"""
    body = await api.run(op, {"t": setup.tenant.id}, setup.token("viewer"))
    listed = {c["id"]: (i, c) for i, c in enumerate(body["data"]["clusters"]["nodes"])}
    index, closed = listed[setup.closed]
    assert closed["name"] == "cluster-1" and closed["summary"] is None and closed["pods"] is None
    assert closed["insights"]["storageClassUsage"] is None
    errors = {tuple(e["path"]): (e["extensions"]["code"], e["message"]) for e in body["errors"]}
    base = ("clusters", "nodes", index)
    expected = ("FORBIDDEN", lacks(setup.closed, "clusters:read"))
    wanted = (base + ("summary",), base + ("pods",), base + ("insights", "storageClassUsage"))
    assert {path: errors.get(path) for path in wanted} == dict.fromkeys(wanted, expected)
    _, open_ = listed[setup.open]
    assert open_["summary"]["nodes"] > 0 and open_["pods"]["nodes"] and open_["insights"]["storageClassUsage"]
    assert all(e["path"][2] != listed[setup.open][0] for e in body["errors"]), body["errors"]

    fleet = "query($t:ID!){ namespaces(tenantId:$t){ items { clusterId } errors { clusterId } } }"
    seen = (await api.ok(fleet, {"t": setup.tenant.id}, setup.token("viewer")))["namespaces"]
    assert {n["clusterId"] for n in seen["items"]} == {setup.open}, "a cluster without reads is left out"


async def test_a_role_on_one_cluster_grants_its_writes_there_only(api: Api, setup: Setup) -> None:
    op = "mutation($i:ID!,$n:String!){ createNamespace(clusterId:$i, input:{name:$n}){ name } }"
    developer = setup.token("developer")  # clusters:write only as the operator it is on `open`
    made = await api.ok(op, {"i": setup.open, "n": "made-by-developer"}, developer)
    assert made["createNamespace"]["name"] == "made-by-developer"
    body = await api.run(op, {"i": setup.closed, "n": "refused"}, developer)
    assert refused(body) == ("FORBIDDEN", lacks(setup.closed, "clusters:write"))
    listed = await api.ok("query($i:ID!){ cluster(id:$i){ namespaces(first:100) { nodes { name } } } }",
                          {"i": setup.closed}, developer)  # fmt: skip
    assert "refused" not in {n["name"] for n in listed["cluster"]["namespaces"]["nodes"]}


async def test_secret_values_take_secrets_read_only_when_asked_for(api: Api, setup: Setup) -> None:
    op = 'query($i:ID!,$d:Boolean!){ cluster(id:$i){ id secrets(namespace:"shop", includeData:$d){ nodes { name } } } }'
    names = await api.ok(op, {"i": setup.open, "d": False}, setup.token("viewer"))
    assert names["cluster"]["secrets"]["nodes"], "the viewer reads the names"
    body = await api.run(op, {"i": setup.open, "d": True}, setup.token("viewer"))
    assert body["data"]["cluster"] == {"id": setup.open, "secrets": None}
    error = body["errors"][0]
    assert (error["path"], error["extensions"]["code"]) == (["cluster", "secrets"], "FORBIDDEN")
    assert error["message"] == lacks(setup.open, "secrets:read")
    assert (await api.ok(op, {"i": setup.open, "d": True}, setup.token("operator")))["cluster"]["secrets"]["nodes"]


async def test_an_operation_is_read_as_its_cluster_is(api: Api, setup: Setup) -> None:
    forbidden = ("FORBIDDEN", lacks(setup.managed, "clusters:read"))
    for op in ("query($i:ID!){ operation(id:$i){ id } }", "query($i:ID!){ node(id:$i){ id } }"):
        assert refused(await api.run(op, {"i": setup.operation}, setup.token("viewer"))) == forbidden, op
        assert (await api.ok(op, {"i": setup.operation}, setup.token("operator"))) is not None, op
    listing = "query($t:ID!,$c:ID){ operations(tenantId:$t, clusterId:$c){ totalCount } }"
    variables = {"t": setup.tenant.id, "c": setup.managed}
    assert refused(await api.run(listing, variables, setup.token("viewer"))) == forbidden
    assert (await api.ok(listing, variables, setup.token("operator")))["operations"]["totalCount"] == 1
    missing = new_id("cluster")  # a filter by a cluster that is not there is refused like any missing ID
    body = await api.run(listing, {"t": setup.tenant.id, "c": missing}, setup.token("operator"))
    assert refused(body) == ("NOT_FOUND", f"cluster {missing!r} not found")


async def test_topology_across_clusters_checks_each_one(api: Api, setup: Setup) -> None:
    viewer, forbidden = setup.token("viewer"), ("FORBIDDEN", lacks(setup.closed, "workloads:read"))
    project = """query($t:ID!,$p:[ClusterNamespaceInput!]!){ projectTopology(tenantId:$t, namespaces:$p){
      meta { nodeCount } } }"""
    pairs = [{"clusterId": setup.open, "namespace": "shop"}, {"clusterId": setup.closed, "namespace": "shop"}]
    assert refused(await api.run(project, {"t": setup.tenant.id, "p": pairs}, viewer)) == forbidden
    assert await answered(api, project, {"t": setup.tenant.id, "p": pairs[:1]}, viewer)

    diff = """query($l:TopologySideInput!,$r:TopologySideInput!){ topologyDiff(left:$l, right:$r){ nodesAdded } }"""
    sides = {"l": {"clusterId": setup.open}, "r": {"clusterId": setup.closed}}
    assert refused(await api.run(diff, sides, viewer)) == forbidden
    save = 'mutation($i:ID!){ saveTopologySnapshot(clusterId:$i, name:"kept"){ id } }'
    saved = (await answered(api, save, {"i": setup.closed}, setup.token("tenant_admin")))["saveTopologySnapshot"]["id"]
    with_snapshot = {"l": {"clusterId": setup.open}, "r": {"snapshotId": saved}}
    assert refused(await api.run(diff, with_snapshot, viewer)) == forbidden, "a snapshot is read as its cluster"
    assert await answered(api, diff, with_snapshot, setup.token("operator"))
    missing = new_id("topology_snapshot")
    body = await api.run(diff, {"l": {"clusterId": setup.open}, "r": {"snapshotId": missing}}, viewer)
    assert refused(body) == ("NOT_FOUND", f"topology snapshot {missing!r} not found")


async def test_subscriptions_check_the_cluster_when_they_start(base_url: str, setup: Setup) -> None:
    viewer = setup.token("viewer")
    resources = 'subscription($c:ID){ resourceEvents(clusterId:$c, kind:"Pod"){ type } }'
    topology = "subscription($c:ID!){ topologyEvents(clusterId:$c){ type } }"
    assert await refusal(base_url, viewer, resources, {"c": setup.closed}) == "FORBIDDEN"
    assert await refusal(base_url, viewer, topology, {"c": setup.closed}) == "FORBIDDEN"
    assert await refusal(base_url, viewer, resources, {"c": new_id("cluster")}) == "NOT_FOUND"
    updates = "subscription($i:ID!){ operationUpdates(id:$i){ kind } }"
    assert await refusal(base_url, viewer, updates, {"i": setup.operation}) == "FORBIDDEN"


async def test_the_legacy_websocket_checks_the_cluster_it_names(base_url: str, setup: Setup) -> None:
    query = urlencode({"cluster_id": setup.closed, "token": setup.token("viewer"), "kind": "Pod"})
    url = base_url.replace("http://", "ws://") + "/ws/resources?" + query
    async with websockets.connect(url) as socket:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
        await asyncio.wait_for(socket.wait_closed(), timeout=5)
    assert frame == {"error": lacks(setup.closed, "clusters:read"), "code": 4403}
    assert socket.close_code == 4403


@contextmanager
def statements(services: Services) -> Iterator[list[str]]:
    """Every SQL statement the app runs meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def fewest_statements(api: Api, services: Services, op: str, variables: dict[str, Any], token: str) -> int:
    """The statements one request costs: the fewest of three runs, so nothing running beside it counts."""
    counts = []
    for _ in range(3):
        with statements(services) as seen:
            assert await api.ok(op, variables, token)
        counts.append(len(seen))
    return min(counts)


async def test_the_checks_cost_no_statement_per_field(api: Api, services: Services, setup: Setup) -> None:
    """A cluster's fields each check the caller's role on it, from the request's loaders: twenty
    checked fields cost the statements of one, on a tenant role, a system and a custom per-cluster role."""
    few = "query($i:ID!){ cluster(id:$i){ id } }"
    many = """query($i:ID!){ cluster(id:$i){ id summary { nodes } nodes { nodes { name } } namespaces { nodes { name } }
      pods { nodes { name } } services { nodes { name } } configMaps { nodes { name } } secrets { nodes { name } }
      events { nodes { name } } workloads { nodes { name } }
      insights { storageClassUsage { name } namespaceCounts { total } loadBalancer { provider } }
      topology { meta { nodeCount } } overview { health } } }"""
    for role, cluster in (("viewer", setup.open), ("developer", setup.open), ("operator", setup.closed)):
        token, variables = setup.token(role), {"i": cluster}
        await answered(api, many, variables, token)  # the caches warm
        assert await fewest_statements(api, services, many, variables, token) == await fewest_statements(
            api, services, few, variables, token
        ), role
