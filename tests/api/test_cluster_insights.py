"""Cluster insights over HTTP: each answer checked against the objects kubesim serves.

The cluster is a kubesim `small` profile; the expectations are computed from what kubesim returns
over HTTP, so they follow the profile rather than hard-coded guesses.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio

from app.services import Services
from kubesim.fleet import start_fleet
from tests.support.api import Api, TenantUsers, make_tenant
from tests.support.cluster_writes import Setup
from tests.support.clusters import REGISTER
from tests.support.waiting import watches_open
from tests.test_insights_unit import make_certificate

CLUSTER = "cluster-0"
GI = 1024.0**3
ALL = """query($i:ID!){ cluster(id:$i){ insights {
  serviceEndpoints(namespace:"shop", name:"web") { readyCount endpoints { ip } }
  consumers(kind:"ConfigMap", namespace:"shop", name:"web-config") { consumers { name } }
  secretTlsInfo(namespace:"shop", name:"app-tls") { error }
  storageClassUsage { name }
  namespaceCounts { namespace total }
  serviceAccountTokens { name tokens }
  loadBalancer { provider }
  search(query:"web") { totalCount } } } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def setup(api: Api, provider_token: str, tenant_b: TenantUsers, database_url: str) -> AsyncIterator[Setup]:
    """A small-profile cluster of this module's own, per database backend, registered to a new tenant."""
    async with start_fleet(1, profile="small", seed=53, control=True) as fleet:
        tenant = await make_tenant(api, provider_token, roles=("viewer",), maxClusters=1)
        variables = {"t": tenant.id, "in": {"name": CLUSTER, "kubeconfig": fleet.kubeconfigs[CLUSTER].read_text()}}
        cluster_id = (await api.ok(REGISTER, variables, tenant.tokens["tenant_admin"]))["registerCluster"]["id"]
        headers = {"Authorization": f"Bearer {fleet.cluster(CLUSTER).token}"}
        async with httpx.AsyncClient(base_url=fleet.server_url(CLUSTER), headers=headers) as http:
            yield Setup(tenant, tenant_b, cluster_id, fleet, http)


async def insights(api: Api, s: Setup, selection: str, variables: dict[str, Any] | None = None,
                   types: str = "") -> Any:
    """`selection` under the cluster's insights, as the tenant's viewer; `types` declares `variables`."""
    query = f"query($i:ID!{types}){{ cluster(id:$i){{ insights {{ {selection} }} }} }}"
    data = await api.ok(query, {"i": s.cluster_id, **(variables or {})}, s.tenant.tokens["viewer"])
    return data["cluster"]["insights"]


async def kube_list(s: Setup, path: str) -> list[dict[str, Any]]:
    response = await s.http.get(path)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def settles(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """The GraphQL answer matches kubesim once the watches have caught up."""
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    assert await check()


COLD = """query($i:ID!){ cluster(id:$i){ insights {
  serviceEndpoints(namespace:"shop", name:"web") { readyCount }
  a: consumers(kind:"ConfigMap", namespace:"shop", name:"web-config") { consumers { name } }
  b: consumers(kind:"ConfigMap", namespace:"shop", name:"api-config") { consumers { name } }
  storageClassUsage { name } } } }"""


def calls(s: Setup) -> dict[str, int]:
    return {k: v for k, v in s.fleet.cluster(CLUSTER).control.counters.items() if v and not k.startswith("watch ")}


async def test_cold_insights_cost_at_most_one_list_per_kind_and_no_get(api: Api, setup: Setup) -> None:
    setup.fleet.cluster(CLUSTER).control.counters.clear()
    data = await api.ok(COLD, {"i": setup.cluster_id}, setup.tenant.tokens["viewer"])
    assert data["cluster"]["insights"]["a"]["consumers"] and data["cluster"]["insights"]["b"]["consumers"]
    lists = {k: v for k, v in calls(setup).items() if k.startswith("list ")}
    assert len(lists) == 10 and all(v == 1 for v in lists.values()), calls(setup)
    assert not [k for k in calls(setup) if k.startswith("get ")], calls(setup)


async def test_another_tenant_gets_not_found(api: Api, setup: Setup) -> None:
    body = await api.run(ALL, {"i": setup.cluster_id}, setup.other.tokens["tenant_admin"])
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
    assert body["data"] is None or body["data"]["cluster"] is None


async def test_service_endpoints_match_the_pods_behind_the_service(api: Api, setup: Setup) -> None:
    pods = await kube_list(setup, "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb")
    expected = {p["status"]["podIP"]: (p["metadata"]["name"], p["spec"]["nodeName"]) for p in pods}
    selection = """serviceEndpoints(namespace:"shop", name:"web") { namespace name type clusterIp source
      readyCount notReadyCount endpoints { ip ready nodeName zone targetRef { kind name namespace }
      ports { name port protocol } } }"""
    found = (await insights(api, setup, selection))["serviceEndpoints"]
    assert found["source"] == "EndpointSlice" and found["type"] == "ClusterIP" and found["clusterIp"]
    got = {e["ip"]: (e["targetRef"]["name"], e["nodeName"]) for e in found["endpoints"]}
    assert got == expected and len(expected) >= 2
    assert found["readyCount"] + found["notReadyCount"] == len(expected)
    assert all(e["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}] for e in found["endpoints"])
    assert all(e["targetRef"]["kind"] == "Pod" and e["zone"] for e in found["endpoints"])
    api_server = (await insights(api, setup, 'serviceEndpoints(namespace:"default", name:"kubernetes") '
                                             "{ source endpoints { ip ready ports { port } } }"))
    endpoints = await setup.get("/api/v1/namespaces/default/endpoints/kubernetes")
    assert endpoints is not None
    assert api_server["serviceEndpoints"] == {"source": "Endpoints", "endpoints": [
        {"ip": a["ip"], "ready": True, "ports": [{"port": 6443}]} for a in endpoints["subsets"][0]["addresses"]]}
    missing = 'query($i:ID!){ cluster(id:$i){ insights { serviceEndpoints(namespace:"shop", name:"nope") { name } } } }'
    assert await api.code(missing, {"i": setup.cluster_id}, setup.tenant.tokens["viewer"]) == "NOT_FOUND"


CONSUMERS = """consumers(kind:$k, namespace:$n, name:$m) { kind namespace name
  consumers { kind namespace name via workload { kind name namespace } } workloads { kind name } }"""


async def consumers_of(api: Api, s: Setup, kind: str, namespace: str, name: str) -> dict[str, Any]:
    variables = {"k": kind, "n": namespace, "m": name}
    return dict((await insights(api, s, CONSUMERS, variables, ",$k:String!,$n:String!,$m:String!"))["consumers"])


async def test_consumers_of_configmaps_secrets_and_claims(api: Api, setup: Setup) -> None:
    pods = await kube_list(setup, "/api/v1/namespaces/shop/pods")
    by_app: dict[str, set[str]] = {}
    for p in pods:
        by_app.setdefault(p["metadata"]["labels"].get("app", ""), set()).add(p["metadata"]["name"])
    config = await consumers_of(api, setup, "ConfigMap", "shop", "web-config")
    assert {c["name"] for c in config["consumers"]} == by_app["web"]
    assert all(c["via"] == ["envFrom", "projectedVolume", "volume"] for c in config["consumers"])
    assert config["workloads"] == [{"kind": "Deployment", "name": "web"}]
    creds = await consumers_of(api, setup, "secrets", "shop", "db-credentials")
    assert {c["name"] for c in creds["consumers"]} == by_app["api"] | by_app["db"]
    assert creds["workloads"] == [{"kind": "Deployment", "name": "api"}, {"kind": "StatefulSet", "name": "db"}]
    assert all(c["via"] == ["env"] for c in creds["consumers"])
    tls = await consumers_of(api, setup, "Secret", "shop", "app-tls")
    assert {c["name"] for c in tls["consumers"]} == by_app["web"]
    claims = await kube_list(setup, "/api/v1/namespaces/shop/persistentvolumeclaims")
    claim = sorted(c["metadata"]["name"] for c in claims)[0]
    users = {p["metadata"]["name"] for p in pods if any(
        (v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in p["spec"].get("volumes") or [])}
    pvc = await consumers_of(api, setup, "pvc", "shop", claim)
    assert pvc["kind"] == "PersistentVolumeClaim" and {c["name"] for c in pvc["consumers"]} == users
    assert users and pvc["workloads"] == [{"kind": "StatefulSet", "name": "db"}]
    assert (await consumers_of(api, setup, "ConfigMap", "shop", "api-config"))["consumers"]
    query = ('query($i:ID!,$k:String!){ cluster(id:$i){ insights { consumers(kind:$k,namespace:"shop",name:"x")'
             "{ name } } } }")
    viewer = setup.tenant.tokens["viewer"]
    assert await api.code(query, {"i": setup.cluster_id, "k": "Pod"}, viewer) == "BAD_USER_INPUT"
    assert await api.code(query, {"i": setup.cluster_id, "k": "ConfigMap"}, viewer) == "NOT_FOUND"


TLS = """secretTlsInfo(namespace:"shop", name:$m) { namespace name type hasKey keyMatches error chain { subject }
  certificate { subject issuer commonName sans validFrom validTo daysRemaining serialNumber expired selfSigned
  isCa signatureAlgorithm publicKeyAlgorithm } }"""


async def test_secret_tls_info_parses_a_certificate_made_here(api: Api, setup: Setup) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    crt, key = make_certificate("shop.example.com", ["shop.example.com", "api.shop.example.com"],
                                now - timedelta(days=1), now + timedelta(days=45, hours=1))
    data = {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-cert"},
              "type": "kubernetes.io/tls", "data": data}
    created = await setup.http.post("/api/v1/namespaces/shop/secrets", json=secret)
    assert created.status_code == 201, created.text
    variables = {"m": "shop-cert"}
    query = f"query($i:ID!,$m:String!){{ cluster(id:$i){{ insights {{ {TLS} }} }} }}"

    async def visible() -> bool:
        body = await api.run(query, {"i": setup.cluster_id, "m": "shop-cert"}, setup.tenant.tokens["viewer"])
        return not body.get("errors")

    await settles(visible)
    info = (await insights(api, setup, TLS, variables, ",$m:String!"))["secretTlsInfo"]
    cert = info["certificate"]
    assert (info["type"], info["hasKey"], info["keyMatches"], info["error"], info["chain"]) == (
        "kubernetes.io/tls", True, True, None, [])
    assert cert["subject"] == cert["issuer"] == "CN=shop.example.com" and cert["selfSigned"] and not cert["isCa"]
    assert cert["sans"] == ["shop.example.com", "api.shop.example.com"] and cert["commonName"] == "shop.example.com"
    assert cert["validTo"] == (now + timedelta(days=45, hours=1)).isoformat().replace("+00:00", "Z")
    assert cert["validFrom"].endswith("Z") and cert["daysRemaining"] == 45 and not cert["expired"]
    assert (cert["serialNumber"], cert["signatureAlgorithm"], cert["publicKeyAlgorithm"]) == (
        "C0FFEE", "sha256", "EC secp256r1")
    raw = await api.run(query, {"i": setup.cluster_id, "m": "shop-cert"}, setup.tenant.tokens["viewer"])
    assert data["tls.key"] not in str(raw) and data["tls.crt"] not in str(raw) and "PRIVATE" not in str(raw)
    broken = (await insights(api, setup, TLS, {"m": "app-tls"}, ",$m:String!"))["secretTlsInfo"]
    assert broken["certificate"] is None and "no readable" in broken["error"] and broken["hasKey"]
    opaque = await api.code(query, {"i": setup.cluster_id, "m": "api-secrets"}, setup.tenant.tokens["viewer"])
    assert opaque == "BAD_USER_INPUT"


async def test_storage_class_usage_matches_the_volumes_and_claims(api: Api, setup: Setup) -> None:
    classes = await kube_list(setup, "/apis/storage.k8s.io/v1/storageclasses")
    pvs = await kube_list(setup, "/api/v1/persistentvolumes")
    pvcs = await kube_list(setup, "/api/v1/persistentvolumeclaims")
    selection = """storageClassUsage { name provisioner isDefault reclaimPolicy volumeBindingMode
      persistentVolumeCount persistentVolumeClaimCount boundClaimCount requestedBytes capacityBytes }"""
    usage = {u["name"]: u for u in (await insights(api, setup, selection))["storageClassUsage"]}
    assert set(usage) == {c["metadata"]["name"] for c in classes}
    for sc in classes:
        name, got = sc["metadata"]["name"], usage[sc["metadata"]["name"]]
        claims = [c for c in pvcs if c["spec"].get("storageClassName") == name]
        assert got["persistentVolumeCount"] == sum(1 for v in pvs if v["spec"].get("storageClassName") == name)
        assert got["persistentVolumeClaimCount"] == len(claims)
        assert got["boundClaimCount"] == sum(1 for c in claims if c["status"].get("phase") == "Bound")
        assert got["requestedBytes"] == sum(float(c["spec"]["resources"]["requests"]["storage"][:-2]) * GI
                                            for c in claims)
        assert got["provisioner"] == sc["provisioner"] and got["reclaimPolicy"] == sc.get("reclaimPolicy")
    assert [n for n, u in usage.items() if u["isDefault"]] == ["gp3"]
    assert usage["manual"]["persistentVolumeCount"] == 2 and usage["manual"]["capacityBytes"] == 100 * GI
    assert usage["gp3"]["persistentVolumeClaimCount"] >= 2


COUNTED = {"pods": "/api/v1/pods", "deployments": "/apis/apps/v1/deployments",
           "statefulSets": "/apis/apps/v1/statefulsets", "daemonSets": "/apis/apps/v1/daemonsets",
           "jobs": "/apis/batch/v1/jobs", "cronJobs": "/apis/batch/v1/cronjobs", "services": "/api/v1/services",
           "configMaps": "/api/v1/configmaps", "secrets": "/api/v1/secrets",
           "persistentVolumeClaims": "/api/v1/persistentvolumeclaims",
           "ingresses": "/apis/networking.k8s.io/v1/ingresses"}


async def test_namespace_counts_match_kubesim(api: Api, setup: Setup) -> None:
    selection = "namespaceCounts { namespace total " + " ".join(COUNTED) + " }"

    async def matches() -> bool:
        namespaces = {n["metadata"]["name"] for n in await kube_list(setup, "/api/v1/namespaces")}
        expected = {ns: {f: 0 for f in COUNTED} for ns in namespaces}
        for field, path in COUNTED.items():
            for o in await kube_list(setup, path):
                expected[o["metadata"]["namespace"]][field] += 1
        got = {c.pop("namespace"): c for c in (await insights(api, setup, selection))["namespaceCounts"]}
        return all(got[ns].pop("total") == sum(e.values()) for ns, e in expected.items()) and got == expected

    await settles(matches)
    one = (await insights(api, setup, 'namespaceCounts(namespace:"shop") { namespace pods deployments ingresses }'))
    assert one["namespaceCounts"][0]["namespace"] == "shop" and one["namespaceCounts"][0]["ingresses"] == 1
    missing = 'query($i:ID!){ cluster(id:$i){ insights { namespaceCounts(namespace:"nope") { total } } } }'
    assert await api.code(missing, {"i": setup.cluster_id}, setup.tenant.tokens["viewer"]) == "NOT_FOUND"


async def test_service_account_tokens_count_token_secrets_and_pods(api: Api, setup: Setup) -> None:
    for name in ("api-token-a", "api-token-b"):
        token = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                 "metadata": {"name": name, "annotations": {"kubernetes.io/service-account.name": "api"}}}
        created = await setup.http.post("/api/v1/namespaces/shop/secrets", json=token)
        assert created.status_code == 201, created.text
    accounts = await kube_list(setup, "/api/v1/serviceaccounts")
    pods = await kube_list(setup, "/api/v1/pods")
    selection = "serviceAccountTokens { namespace name tokens tokenSecrets pods }"

    async def counted() -> bool:
        got = {(a["namespace"], a["name"]): a for a in (await insights(api, setup, selection))["serviceAccountTokens"]}
        return got.get(("shop", "api"), {}).get("tokens") == 2

    await settles(counted)
    got = {(a["namespace"], a["name"]): a for a in (await insights(api, setup, selection))["serviceAccountTokens"]}
    assert set(got) == {(a["metadata"]["namespace"], a["metadata"]["name"]) for a in accounts}
    assert got[("shop", "api")]["tokenSecrets"] == ["api-token-a", "api-token-b"]
    for (ns, name), account in got.items():
        running = [p for p in pods if p["metadata"]["namespace"] == ns
                   and (p["spec"].get("serviceAccountName") or "default") == name]
        assert account["pods"] == len(running), (ns, name)
    assert got[("shop", "web")]["pods"] >= 2 and got[("shop", "web")]["tokens"] == 0
    only = await insights(api, setup, 'serviceAccountTokens(namespace:"kube-system") { namespace }')
    assert {a["namespace"] for a in only["serviceAccountTokens"]} == {"kube-system"}


LB = """loadBalancer { detected enabled provider details version addressPools { name addresses autoAssign }
  services { namespace name ingressIps hostnames pending ports { port protocol } } }"""
POOL_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "ipaddresspools.metallb.io"},
    "spec": {"group": "metallb.io", "scope": "Namespaced",
             "names": {"plural": "ipaddresspools", "singular": "ipaddresspool", "kind": "IPAddressPool",
                       "listKind": "IPAddressPoolList"},
             "versions": [{"name": "v1beta1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def _workload(kind: str, name: str, image: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": name}
    spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": {
        "metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": image}]}}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "labels": labels}, "spec": spec}


async def _post(s: Setup, path: str, body: dict[str, Any]) -> None:
    response = await s.http.post(path, json=body)
    assert response.status_code == 201, response.text


async def test_load_balancer_detects_metallb_and_lists_addresses(api: Api, setup: Setup) -> None:
    nodes = await kube_list(setup, "/api/v1/nodes")
    before = (await insights(api, setup, LB))["loadBalancer"]
    assert before["detected"] is False and before["services"] == [] and before["details"] == []
    assert before["provider"] == ("cloud" if any(n["spec"].get("providerID") for n in nodes) else "none")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "edge"},
               "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443}]}}
    await _post(setup, "/api/v1/namespaces/shop/services", service)
    edge = await setup.get("/api/v1/namespaces/shop/services/edge")
    assert edge is not None
    edge["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    updated = await setup.http.put("/api/v1/namespaces/shop/services/edge/status", json=edge)
    assert updated.status_code == 200, updated.text
    await _post(setup, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": "metallb-system"}})
    await _post(setup, "/apis/apps/v1/namespaces/metallb-system/deployments",
                _workload("Deployment", "controller", "quay.io/metallb/controller:v0.14.8"))
    await _post(setup, "/apis/apps/v1/namespaces/metallb-system/daemonsets",
                _workload("DaemonSet", "speaker", "quay.io/metallb/speaker:v0.14.8"))
    await _post(setup, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", POOL_CRD)
    pool = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "public"},
            "spec": {"addresses": ["192.0.2.0/28"]}}
    for _ in range(50):  # the new kind is served once the CRD is established
        if (await setup.http.post("/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools",
                                  json=pool)).status_code == 201:
            break
        await asyncio.sleep(0.1)

    async def detected() -> bool:
        found = (await insights(api, setup, LB))["loadBalancer"]
        return bool(found["addressPools"] and len(found["details"]) == 4 and found["services"][0]["ingressIps"])

    await settles(detected)
    found = (await insights(api, setup, LB))["loadBalancer"]
    assert (found["detected"], found["enabled"], found["provider"], found["version"]) == (
        True, True, "metallb", "v0.14.8")
    assert found["details"] == ["namespace metallb-system", "deployment metallb-system/controller",
                                "daemonset metallb-system/speaker", "crd ipaddresspools.metallb.io"]
    assert found["addressPools"] == [{"name": "public", "addresses": ["192.0.2.0/28"], "autoAssign": True}]
    assert found["services"] == [{"namespace": "shop", "name": "edge", "ingressIps": ["192.0.2.10"],
                                  "hostnames": [], "pending": False, "ports": [{"port": 443, "protocol": "TCP"}]}]


SEARCH = """search(query:$q, kinds:$k, limit:$l) { totalCount results { kind namespace name match
  object { kind name namespace raw } } }"""


async def search(api: Api, s: Setup, query: str, kinds: list[str] | None, limit: int) -> dict[str, Any]:
    variables = {"q": query, "k": kinds, "l": limit}
    return dict((await insights(api, s, SEARCH, variables, ",$q:String!,$k:[String!],$l:Int!"))["search"])


async def test_search_across_kinds(api: Api, setup: Setup) -> None:
    paths = {"Deployment": "/apis/apps/v1/deployments", "Service": "/api/v1/services",
             "ConfigMap": "/api/v1/configmaps"}
    expected = set()
    for kind, path in paths.items():
        for o in await kube_list(setup, path):
            labels = (o["metadata"].get("labels") or {}).values()
            if "web" in o["metadata"]["name"].lower() or any("web" in str(v).lower() for v in labels):
                expected.add((kind, o["metadata"]["namespace"], o["metadata"]["name"]))
    found = await search(api, setup, "WEB", list(paths), 200)
    assert {(r["kind"], r["namespace"], r["name"]) for r in found["results"]} == expected
    assert found["totalCount"] == len(expected) and found["results"][0]["match"] == "name"
    assert found["results"][0]["name"] == "web" and all(r["object"]["kind"] == r["kind"] for r in found["results"])
    limited = await search(api, setup, "web", None, 2)
    assert len(limited["results"]) == 2 and limited["totalCount"] > 2
    secrets = await search(api, setup, "credentials", ["Secret"], 10)
    assert secrets["results"] and all("data" not in r["object"]["raw"] for r in secrets["results"])
    assert all(r["object"]["raw"]["dataKeys"] == ["password", "username"] for r in secrets["results"])
    query = f"query($i:ID!,$q:String!,$k:[String!],$l:Int!){{ cluster(id:$i){{ insights {{ {SEARCH} }} }} }}"
    viewer = setup.tenant.tokens["viewer"]
    for q, k, limit in (("web", None, 201), ("", None, 5), ("web", ["nope"], 5)):
        variables = {"i": setup.cluster_id, "q": q, "k": k, "l": limit}
        assert await api.code(query, variables, viewer) == "BAD_USER_INPUT"


async def test_every_insight_once_warm_costs_no_call(api: Api, setup: Setup, services: Services) -> None:
    await api.ok(ALL, {"i": setup.cluster_id}, setup.tenant.tokens["viewer"])
    await watches_open(services.gateway, setup.cluster_id)  # of the kinds listed just now, too
    setup.fleet.cluster(CLUSTER).control.counters.clear()
    warm = await api.ok(ALL, {"i": setup.cluster_id}, setup.tenant.tokens["viewer"])
    assert calls(setup) == {} and warm["cluster"]["insights"]["loadBalancer"]["provider"] == "metallb"
