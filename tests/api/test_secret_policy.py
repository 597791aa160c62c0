"""The one Secret policy on every read path that can carry a Secret.

Secrets holding a canary value (tests/support/secret_canary.py) sit in a kubesim cluster. Callers
whose role on the cluster lacks `secrets:read` (a viewer, a custom operator role without it, an
operator whose per-cluster role is developer) and callers who hold it (an operator, a viewer whose
per-cluster role is operator) read each path: the canary, in base64 or in clear, is in no response
body and no websocket frame, except `Cluster.secrets(includeData: true)` asked by a holder.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import networkx as nx
import pytest
import pytest_asyncio

from app.k8s import secret_policy
from app.seed import ensure_provider_admin
from app.services import Services
from app.settings import load_settings
from app.web import create_app
from kubesim.fleet import Fleet, start_fleet
from tests.api.conftest import SECRET as SECRET_KEY
from tests.conftest import require_postgres
from tests.support.api import Api
from tests.support.databases import fresh_database, scratch_postgres
from tests.support.secret_canary import (
    CANARY,
    KEPT,
    NAMESPACE,
    NON_READERS,
    READERS,
    SECRET,
    SPARE,
    Canary,
    Message,
    Socket,
    assert_clean,
    b64,
    legacy,
    payload,
    prepare,
    secret_body,
    subscribe,
)
from tests.support.server import serving

OBJECT = "kind name namespace annotations raw"
GRAPH = "nodes { id kind name namespace labels status missing hidden } edges { id source target type }"
SECRET_REF = {"kind": "Secret", "namespace": NAMESPACE, "name": SECRET}
POD_REF = {"kind": "Pod", "namespace": NAMESPACE, "name": "vault-reader"}
SECRET_NODE = f"Secret/{NAMESPACE}/{SECRET}"
EVENTS = """subscription($c:ID, $k:String!){ resourceEvents(clusterId:$c, kind:$k, namespace:"shop",
  includeInitial:true){ type clusterId kind namespace name resourceVersion object } }"""
TOPOLOGY_EVENTS = """subscription($c:ID!){ topologyEvents(clusterId:$c, namespace:"shop", includeInitial:true){
  type id node { id kind name missing hidden } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kube(database_url: str) -> AsyncIterator[Fleet]:
    """A fleet per database backend: the Secrets are made afresh in each."""
    async with start_fleet(1, profile="small", seed=47, control=True) as fleet:
        yield fleet


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(services: Services) -> AsyncIterator[tuple[Api, str, Services]]:
    """An app of this module's own: a cold graph reads about 26 kinds, more than the shared app's
    2 s upstream timeout allows at the default request rate; its counters see only these streams."""
    settings = services.settings.model_copy(update={"k8s_timeout_seconds": 10.0})
    own = Services.from_settings(settings)
    async with serving(create_app(settings, own)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        yield Api(http), url, own


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def canary(app: tuple[Api, str, Services], provider_token: str, kube: Fleet) -> Canary:
    api, url, _ = app
    return await prepare(api, url, provider_token, kube)


def on_cluster(selection: str, types: str = "") -> str:
    return f"query($c:ID!{types}){{ cluster(id:$c){{ {selection} }} }}"


def on_query(selection: str, types: str = "") -> str:
    return f"query($c:ID!{types}){{ {selection} }}"


ONE = f'kubeObject(clusterId:$c, kind:$k, name:"{SECRET}", namespace:"shop"){{ {OBJECT} }}'
SEARCH = f'insights {{ search(query:"creds", kinds:["Secret"]){{ results {{ object {{ {OBJECT} }} }} }} }}'
AROUND = f"resourceTopology(clusterId:$c, object:$o){{ {GRAPH} }}"
BLAST = f"blastRadius(clusterId:$c, object:$o){{ {GRAPH} }}"
PATH = f"dependencyPath(clusterId:$c, from:$a, to:$b){{ {GRAPH} }}"
PROJECT = f'projectTopology(tenantId:$t, namespaces:[{{clusterId:$c, namespace:"shop"}}]){{ {GRAPH} }}'
DIFF = "topologyDiff(left:$s, right:$s){ nodesAdded nodesChanged }"


def reads(c: str, t: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(what, query, variables) of every query that can carry a Secret without asking for its values."""
    k, ref = ",$k:String!", ",$o:ObjectRefInput!"
    listed = on_cluster(f'secrets(namespace:"shop"){{ nodes {{ {OBJECT} }} }}')
    found: list[tuple[str, str, dict[str, Any]]] = [("Cluster.secrets", listed, {"c": c})]
    for kind in ("Secret", "secrets", "secret"):
        query = on_cluster(f'resources(kind:$k, namespace:"shop"){{ nodes {{ {OBJECT} }} }}', k)
        found.append((f"Cluster.resources({kind})", query, {"c": c, "k": kind}))
    for crd in ("secrets", "Secret", "secret", "secrets.v1"):
        query = on_cluster(f"customResources(crd:$k){{ nodes {{ {OBJECT} }} }}", k)
        found.append((f"Cluster.customResources({crd})", query, {"c": c, "k": crd}))
    for kind in ("Secret", "secrets", "secrets.v1"):
        found.append((f"kubeObject({kind})", on_query(ONE, k), {"c": c, "k": kind}))
        many = on_query(f"resources(clusterId:$c, kind:$k, fieldSelector:$f){{ {OBJECT} }}", k + ",$f:String")
        found.append((f"resources({kind})", many, {"c": c, "k": kind, "f": None}))
        found.append((f"resources({kind}, fieldSelector)", many, {"c": c, "k": kind, "f": f"metadata.name={SECRET}"}))
    found += [
        ("Cluster.insights.search", on_cluster(SEARCH), {"c": c}),
        ("topology", on_query(f'topology(clusterId:$c, namespace:"shop"){{ {GRAPH} }}'), {"c": c}),
        ("topology(kinds)", on_query(f'topology(clusterId:$c, kinds:["Secret","Pod"]){{ {GRAPH} }}'), {"c": c}),
        ("Cluster.topology", on_cluster(f"topology {{ {GRAPH} }}"), {"c": c}),
    ]
    for fmt in ("JSON", "SVG", "PNG", "DRAWIO", "GRAPHML"):
        export = on_query(f"topologyExport(clusterId:$c, format:{fmt}){{ contentType content }}")
        found.append((f"topologyExport({fmt})", export, {"c": c}))
    found += [
        ("resourceTopology", on_query(AROUND, ref), {"c": c, "o": SECRET_REF}),
        ("blastRadius", on_query(BLAST, ref), {"c": c, "o": SECRET_REF}),
        ("dependencyPath", on_query(PATH, ",$a:ObjectRefInput!,$b:ObjectRefInput!"),
         {"c": c, "a": POD_REF, "b": SECRET_REF}),
        ("topologyOrphans", on_query("topologyOrphans(clusterId:$c){ id kind name hidden missing }"), {"c": c}),
        ("projectTopology", on_query(PROJECT, ",$t:ID!"), {"t": t, "c": c}),
        ("fleetTopology", "query($t:ID!){ fleetTopology(tenantId:$t){ nodes { id kind name } } }", {"t": t}),
        ("topologyDiff", f"query($s:TopologySideInput!){{ {DIFF} }}", {"s": {"clusterId": c, "namespace": "shop"}}),
        ("topologySnapshots", on_query("topologySnapshots(clusterId:$c){ id name nodeCount }"), {"c": c}),
    ]  # fmt: skip
    return found


async def read_clean(api: Api, query: str, variables: dict[str, Any], token: str, where: str) -> dict[str, Any]:
    response = await api.post(query, variables, token)
    assert response.status_code == 200, response.text
    assert_clean(response.text, where)
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), f"{where}: {body['errors']}"
    data: dict[str, Any] = body["data"]
    return data


async def test_no_query_carries_secret_values_unless_asked_for(canary: Canary) -> None:
    for role in (*NON_READERS, *READERS):
        token = canary.tokens[role]
        for what, query, variables in reads(canary.cluster_id, canary.tenant.id):
            data = await read_clean(canary.api, query, variables, token, f"{what} for {role}")
            if what == "kubeObject(Secret)":
                raw = data["kubeObject"]["raw"]
                assert raw["dataKeys"] == ["password", "token"] and "data" not in raw, raw
                assert "managedFields" not in raw["metadata"] and data["kubeObject"]["annotations"] == KEPT, raw
        save = 'mutation($c:ID!,$n:String!){ saveTopologySnapshot(clusterId:$c, name:$n){ id } }'
        saver = canary.tokens["ops"] if role == "viewer" else token  # saving takes workloads:write
        saved = await read_clean(canary.api, save, {"c": canary.cluster_id, "n": f"by {role}"}, saver, "snapshot")
        sides = {"l": {"snapshotId": saved["saveTopologySnapshot"]["id"]}, "r": {"clusterId": canary.cluster_id}}
        compare = "query($l:TopologySideInput!,$r:TopologySideInput!){ topologyDiff(left:$l, right:$r){ nodesAdded } }"
        await read_clean(canary.api, compare, sides, token, f"topologyDiff with a snapshot for {role}")


async def test_only_a_role_that_may_read_them_gets_the_values_and_only_by_asking(canary: Canary) -> None:
    query = 'query($c:ID!){ cluster(id:$c){ secrets(namespace:"shop", includeData:true){ nodes { name raw } } } }'
    for role in NON_READERS:
        response = await canary.api.post(query, {"c": canary.cluster_id}, canary.tokens[role])
        assert_clean(response.text, f"secrets(includeData) for {role}")
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, response.text)
    for role in READERS:
        found = (await canary.api.ok(query, {"c": canary.cluster_id}, canary.tokens[role]))["cluster"]["secrets"]
        raw = next(s["raw"] for s in found["nodes"] if s["name"] == SECRET)
        assert raw["data"] == {"password": b64(CANARY), "token": b64(f"{CANARY}-token")}, (role, raw)


async def test_topology_shows_a_secret_it_may_not_open_as_hidden_and_names_it_as_secrets_does(
    canary: Canary,
) -> None:
    graph = f'query($c:ID!){{ topology(clusterId:$c, namespace:"shop"){{ {GRAPH} }} }}'
    names = 'query($c:ID!){ cluster(id:$c){ secrets(namespace:"shop", first:100){ nodes { name } } } }'
    orphans = "query($c:ID!){ topologyOrphans(clusterId:$c){ id hidden missing } }"
    for role in (*NON_READERS, *READERS):
        token, hidden = canary.tokens[role], role in NON_READERS
        nodes = {n["id"]: n for n in (await canary.api.ok(graph, {"c": canary.cluster_id}, token))["topology"]["nodes"]}
        node = nodes.get(SECRET_NODE)
        assert node is not None, f"{role} does not see the Secret the pod mounts"
        assert (node["name"], node["missing"], node["hidden"]) == (SECRET, False, hidden), (role, node)
        assert all(not n["hidden"] for n in nodes.values() if n["kind"] != "Secret"), role
        listed = (await canary.api.ok(names, {"c": canary.cluster_id}, token))["cluster"]["secrets"]
        shown_names = {n["name"] for n in nodes.values() if n["kind"] == "Secret" and not n["missing"]}
        assert shown_names == {s["name"] for s in listed["nodes"]}, f"{role}: the topology and Cluster.secrets disagree"
        unused = (await canary.api.ok(orphans, {"c": canary.cluster_id}, token))["topologyOrphans"]
        spare = next(o for o in unused if o["id"] == f"Secret/{NAMESPACE}/{SPARE}")
        assert (spare["hidden"], spare["missing"]) == (hidden, False), (role, spare)
    export = on_query('topologyExport(clusterId:$c, namespace:"shop", format:$f){ content }', ",$f:TopologyFormat!")
    files = {fmt: (await canary.api.ok(export, {"c": canary.cluster_id, "f": fmt}, canary.tokens["viewer"]))
             ["topologyExport"]["content"] for fmt in ("JSON", "SVG", "DRAWIO", "GRAPHML")}  # fmt: skip
    exported = next(n for n in json.loads(files["JSON"])["nodes"] if n["id"] == SECRET_NODE)
    assert (exported["hidden"], exported["missing"]) == (True, False)
    svg_texts = [t.text for t in ET.fromstring(files["SVG"]).iter("{http://www.w3.org/2000/svg}text")]
    assert "Secret (hidden)" in svg_texts
    assert any(c.get("value") == f"Secret (hidden)\n{SECRET}" for c in ET.fromstring(files["DRAWIO"]).iter("mxCell"))
    assert nx.parse_graphml(files["GRAPHML"]).nodes[SECRET_NODE]["hidden"] is True


def event_named(name: str, type_: str) -> Callable[[Message], bool]:
    def wanted(message: Message) -> bool:
        if message["type"] not in ("next", "data"):
            return False
        event = payload(message, "resourceEvents")
        return bool(event["name"] == name and event["type"] == type_)

    return wanted


async def test_resource_events_carry_secrets_without_their_values(canary: Canary) -> None:
    """Initial list, then a Secret made, changed and deleted: over both protocols, for one cluster
    and fleet-wide, to callers without `secrets:read` and to an operator (no stream asks for values)."""
    c, url = canary.cluster_id, canary.url
    sockets = [
        await subscribe(url, canary.tokens["viewer"], EVENTS, {"c": c, "k": "Secret"}),
        await subscribe(url, canary.tokens["ops"], EVENTS, {"c": c, "k": "secrets"}, "graphql-ws"),
        await subscribe(url, canary.tokens["downgraded"], EVENTS, {"c": None, "k": "secret"}),
        await subscribe(url, canary.tokens["operator"], EVENTS, {"c": c, "k": "Secret"}),
    ]
    try:
        for socket in sockets:
            initial = payload(await socket.until(event_named(SECRET, "ADDED")), "resourceEvents")
            assert initial["object"]["dataKeys"] == ["password", "token"] and "data" not in initial["object"]
        await canary.put_secret("short-lived")
        for socket in sockets:
            await socket.until(event_named("short-lived", "ADDED"))
        await canary.change_secret("short-lived", f"{CANARY}-2")
        for socket in sockets:
            changed = payload(await socket.until(event_named("short-lived", "MODIFIED")), "resourceEvents")
            assert changed["kind"] == "Secret" and "data" not in changed["object"], changed
        await canary.delete_secret("short-lived")
        for socket in sockets:
            await socket.until(event_named("short-lived", "DELETED"))
    finally:
        await asyncio.gather(*(s.close() for s in sockets))


async def test_subscribers_alike_still_share_each_redacted_secret_event(
    canary: Canary, app: tuple[Api, str, Services]
) -> None:
    """Three viewers share one execution per event, an operator-like role without `secrets:read`
    another: the redacted object is one dict for everyone, not a copy per subscriber."""
    _, url, services = app
    await _no_streams_left(services)
    await canary.put_secret("shared-creds")
    tokens = [canary.tokens["viewer"]] * 3 + [canary.tokens["ops"]]
    sockets = [await subscribe(url, token, EVENTS, {"c": canary.cluster_id, "k": "Secret"}) for token in tokens]
    try:
        for socket in sockets:
            await socket.until(event_named("shared-creds", "ADDED"))
        await _initial_lists_sent(canary, sockets)
        stats = services.selections.stats
        before = (stats.executions, stats.deliveries)
        for value in (f"{CANARY}-2", f"{CANARY}-3", CANARY):
            version = (await canary.change_secret("shared-creds", value))["metadata"]["resourceVersion"]
            for socket in sockets:
                await socket.until(at_version(version))
        assert (stats.executions - before[0], stats.deliveries - before[1]) == (2 * 3, 4 * 3)
    finally:
        await asyncio.gather(*(s.close() for s in sockets))
        await canary.delete_secret("shared-creds")


def at_version(version: str) -> Callable[[Message], bool]:
    return lambda message: bool(payload(message, "resourceEvents")["resourceVersion"] == version)


async def _no_streams_left(services: Services, within: float = 10.0) -> None:
    """Streams of earlier tests are released once the server sees their sockets close."""
    deadline = time.monotonic() + within
    while len(services.selections):
        assert time.monotonic() < deadline, "earlier subscriptions never ended"
        await asyncio.sleep(0.05)


async def _initial_lists_sent(canary: Canary, sockets: list[Socket]) -> None:
    """Every subscriber has had the whole initial list (so what follows is only live events)."""
    query = 'query($c:ID!){ cluster(id:$c){ secrets(namespace:"shop", first:100){ nodes { name } } } }'
    names = {s["name"] for s in (await canary.api.ok(query, {"c": canary.cluster_id}, canary.tokens["viewer"]))
             ["cluster"]["secrets"]["nodes"]}  # fmt: skip
    for socket in sockets:
        seen = {payload(json.loads(t), "resourceEvents")["name"] for t in socket.texts if '"resourceEvents"' in t}
        while not names <= seen:
            seen.add(payload(await socket.next(10.0), "resourceEvents")["name"])


async def test_topology_events_report_the_secret_hidden_to_whoever_may_not_open_it(canary: Canary) -> None:
    for role in ("viewer", "downgraded", "operator", "upgraded"):
        socket = await subscribe(canary.url, canary.tokens[role], TOPOLOGY_EVENTS, {"c": canary.cluster_id})
        try:
            added = await socket.until(
                lambda m: m["type"] == "next" and payload(m, "topologyEvents")["id"] == SECRET_NODE
            )
            node = payload(added, "topologyEvents")["node"]
            assert (node["name"], node["missing"], node["hidden"]) == (SECRET, False, role in NON_READERS), role
        finally:
            await socket.close()


async def test_the_legacy_websocket_carries_secrets_without_their_values(canary: Canary) -> None:
    c = canary.cluster_id
    sockets = [
        await legacy(canary.url, canary.tokens["viewer"], cluster_id=c, namespace="shop", kind="Secret"),
        await legacy(canary.url, canary.tokens["ops"], namespace="shop", kind="secrets"),
    ]

    def named(name: str, type_: str) -> Any:
        return lambda m: m.get("type") == type_ and m["resource"]["name"] == name

    try:
        for socket in sockets:
            first = await socket.until(named(SECRET, "RESOURCE_ADDED"))
            assert first["resource"]["data"]["dataKeys"] == ["password", "token"], first
        await canary.put_secret("legacy-creds")
        for socket in sockets:
            await socket.until(named("legacy-creds", "RESOURCE_ADDED"))
        await canary.change_secret("legacy-creds", f"{CANARY}-2")
        for socket in sockets:
            await socket.until(named("legacy-creds", "RESOURCE_UPDATED"))
        await canary.delete_secret("legacy-creds")
        for socket in sockets:
            await socket.until(named("legacy-creds", "RESOURCE_DELETED"))
    finally:
        await asyncio.gather(*(s.close() for s in sockets))


async def test_write_results_and_their_audit_never_carry_secret_values(canary: Canary) -> None:
    c = canary.cluster_id
    patch = f"""mutation($c:ID!,$n:String!,$p:JSON!,$t:PatchType!){{ patchResource(clusterId:$c, kind:"Secret",
      name:$n, namespace:"shop", patch:$p, patchType:$t){{ {OBJECT} }} }}"""
    for role in ("ops", "operator"):
        token = canary.tokens[role]
        merge = {"c": c, "n": SECRET, "p": {"metadata": {"labels": {"patched-by": role}}}, "t": "MERGE"}
        patched = (await read_clean(canary.api, patch, merge, token, f"patchResource for {role}"))["patchResource"]
        raw = patched["raw"]
        assert raw["metadata"]["labels"]["patched-by"] == role and "data" not in raw, raw
        assert "managedFields" not in raw["metadata"] and patched["annotations"] == KEPT, raw
        ops = [{"op": "add", "path": "/metadata/labels/json-patched", "value": role}]
        await read_clean(canary.api, patch, {**merge, "p": ops, "t": "JSON"}, token, f"JSON patch for {role}")
    token = canary.tokens["ops"]
    manifest = json.dumps(secret_body("applied-creds"))
    apply = """mutation($c:ID!,$y:String!,$d:Boolean!){
      applyManifest(clusterId:$c, yaml:$y, dryRun:$d){ kind name action } }"""
    for dry_run in (True, False):
        await read_clean(canary.api, apply, {"c": c, "y": manifest, "d": dry_run}, token, "applyManifest")
    values = {"c": c, "n": "applied-creds", "p": {"stringData": {"extra": f"{CANARY}-3"}}, "t": "MERGE"}
    await read_clean(canary.api, patch, values, token, "a patch of stringData")
    delete = """mutation($c:ID!){ deleteResource(clusterId:$c, kind:"Secret", name:"applied-creds", namespace:"shop",
      confirm:true){ kind namespace name uid pending } }"""
    await read_clean(canary.api, delete, {"c": c}, token, "deleteResource")
    audit = 'query{ auditLogs(filter:{action:"resource.*"}){ nodes { action targetId changes } } }'
    logged = await read_clean(canary.api, audit, {}, canary.tokens["tenant_admin"], "the audit of those writes")
    actions = {n["action"] for n in logged["auditLogs"]["nodes"]}
    assert {"resource.patched", "resource.applied", "resource.deleted"} <= actions, actions


async def test_a_replica_that_lists_for_its_subscribers_redacts_too(database_url: str) -> None:
    """With the bus on PostgreSQL, watches are shared between replicas, and a subscriber's initial
    list is one LIST of the cluster rather than this process's cache: it is redacted just the same."""
    if database_url.startswith("sqlite"):
        pytest.skip("replicas share their watches through PostgreSQL")
    async with scratch_postgres(require_postgres()) as url, start_fleet(1, profile="small", seed=48) as fleet:
        await fresh_database(url)
        bus = url.replace("postgresql+asyncpg://", "postgres://", 1)
        settings = load_settings(database_url=url, secret_key=SECRET_KEY, broadcast_url=bus, operation_workers=0,
                                 k8s_timeout_seconds=10, cluster_health_seconds=0)  # fmt: skip
        services = Services.from_settings(settings)
        await ensure_provider_admin(services.db, "root@replica.test", "provider-password-42")
        app = create_app(settings, services)
        async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
            api = Api(http)
            root = (await api.login("root@replica.test", "provider-password-42"))["accessToken"]
            replica = await prepare(api, base, root, fleet)
            assert services.watches.distributed
            socket = await subscribe(base, replica.tokens["viewer"], EVENTS, {"c": replica.cluster_id, "k": "Secret"})
            try:
                added: Message = payload(await socket.until(event_named(SECRET, "ADDED"), 20), "resourceEvents")
                assert added["object"]["dataKeys"] == ["password", "token"]
            finally:
                await socket.close()
        await services.db.dispose()


def test_redacting_keeps_the_key_names_and_what_names_the_owner_and_is_idempotent() -> None:
    raw = secret_body(SECRET)
    raw["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:password": {}}}}]
    shown = secret_policy.redacted(raw)
    assert shown is secret_policy.redacted(raw), "one redacted object per object"
    assert shown["dataKeys"] == ["password", "token"] and not {"data", "stringData"} & shown.keys()
    assert shown["metadata"]["annotations"] == KEPT and "managedFields" not in shown["metadata"]
    assert_clean(json.dumps(shown), "a redacted Secret")
    again = secret_policy.redacted(copy.deepcopy(shown))  # not remembered: redacted from its content
    assert again == shown
    listed = {k: v for k, v in raw.items() if k not in ("kind", "apiVersion")}  # list items lack their kind
    assert secret_policy.leaving_all("secrets", [listed])[0]["dataKeys"] == ["password", "token"]
    assert secret_policy.leaving("ConfigMap", listed) is listed, "a kind is judged by the list it comes from"
