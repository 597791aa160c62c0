"""CRUD, errors, discovery and selectors through kubernetes-asyncio and raw HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim.fleet import Fleet

from .conftest import deployment, http, pod


async def test_discovery_lists_groups_resources_and_subresources(raw: httpx.AsyncClient) -> None:
    version = (await raw.get("/version")).json()
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.37")
    groups = {g["name"] for g in (await raw.get("/apis")).json()["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "storage.k8s.io", "autoscaling", "rbac.authorization.k8s.io",
            "discovery.k8s.io", "events.k8s.io", "apiextensions.k8s.io", "metrics.k8s.io"} <= groups
    core = {r["name"]: r for r in (await raw.get("/api/v1")).json()["resources"]}
    assert {"pods/log", "pods/exec", "pods/status", "namespaces/finalize"} <= set(core)
    assert core["pods"]["shortNames"] == ["po"] and core["pods"]["namespaced"] is True
    assert "watch" in core["pods"]["verbs"]
    apps = {r["name"]: r for r in (await raw.get("/apis/apps/v1")).json()["resources"]}
    assert apps["deployments/scale"]["kind"] == "Scale" and apps["deployments/scale"]["group"] == "autoscaling"
    aggregated = await raw.get("/apis", headers={
        "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"})
    assert aggregated.headers["content-type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
    items = {i["metadata"]["name"]: i for i in aggregated.json()["items"]}
    deploy = next(r for r in items["apps"]["versions"][0]["resources"] if r["resource"] == "deployments")
    assert {s["subresource"] for s in deploy["subresources"]} == {"status", "scale"}


async def test_openapi_v3_carries_gvk_and_field_validation(raw: httpx.AsyncClient) -> None:
    index = (await raw.get("/openapi/v3")).json()["paths"]
    assert "apis/apps/v1" in index and "api/v1" in index
    doc = (await raw.get(index["apis/apps/v1"]["serverRelativeURL"])).json()
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}


async def test_requests_without_the_token_get_401(fleet: Fleet) -> None:
    async with http(fleet, token="wrong") as bad:
        response = await bad.get("/api/v1/namespaces")
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized" and response.json()["kind"] == "Status"


def _pb(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def _pb_configmap(extra: bytes = b"") -> bytes:
    meta = _pb(1, _pb(1, b"pb-made"))
    entry = _pb(2, _pb(1, b"key") + _pb(2, b"value"))
    envelope = _pb(1, _pb(1, b"v1") + _pb(2, b"ConfigMap")) + _pb(2, meta + entry + extra)
    return b"k8s\x00" + envelope


async def test_protobuf_bodies_and_accept_fallback(raw: httpx.AsyncClient) -> None:
    proto = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    made = await raw.post("/api/v1/namespaces/default/configmaps", content=_pb_configmap(), headers=proto)
    assert made.status_code == 201 and made.json()["data"] == {"key": "value"}
    unknown = await raw.post("/api/v1/namespaces/default/configmaps", content=_pb_configmap(_pb(9, b"x")),
                             headers=proto)
    assert unknown.status_code == 415 and unknown.json()["reason"] == "UnsupportedMediaType"
    body = await raw.post("/api/v1/namespaces/default/configmaps", content=b"\x6b\x38\x73\x00", headers=proto)
    assert body.status_code == 415 and body.json()["reason"] == "UnsupportedMediaType"
    only = await raw.get("/api/v1/namespaces", headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert only.status_code == 415
    both = await raw.get("/api/v1/namespaces",
                         headers={"Accept": "application/vnd.kubernetes.protobuf, application/json"})
    assert both.status_code == 200 and both.json()["kind"] == "NamespaceList"


async def test_pod_crud_with_real_status_errors(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    created = await core.create_namespaced_pod("default", pod("crud-a", labels={"app": "crud"}))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    assert created.status.phase == "Pending"
    with pytest.raises(ApiException) as dup:
        await core.create_namespaced_pod("default", pod("crud-a"))
    assert dup.value.status == 409
    assert json.loads(dup.value.body)["reason"] == "AlreadyExists"
    assert json.loads(dup.value.body)["message"] == 'pods "crud-a" already exists'
    fetched = await core.read_namespaced_pod("crud-a", "default")
    fetched.metadata.labels["tier"] = "front"
    updated = await core.replace_namespaced_pod("crud-a", "default", fetched)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    with pytest.raises(ApiException) as stale:
        await core.replace_namespaced_pod("crud-a", "default", fetched)
    body = json.loads(stale.value.body)
    assert stale.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on pods "crud-a": the object has been modified; '
                               "please apply your changes to the latest version and try again")
    await core.delete_namespaced_pod("crud-a", "default")
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_pod("crud-a", "default")
    assert missing.value.status == 404 and json.loads(missing.value.body)["message"] == 'pods "crud-a" not found'


async def test_invalid_objects_get_422_with_causes(raw: httpx.AsyncClient) -> None:
    broken = deployment("Bad_Name")
    del broken["spec"]["selector"]
    response = await raw.post("/apis/apps/v1/namespaces/default/deployments", json=broken)
    status = response.json()
    assert response.status_code == 422 and status["reason"] == "Invalid"
    fields = {c["field"]: c["reason"] for c in status["details"]["causes"]}
    assert fields == {"metadata.name": "FieldValueInvalid", "spec.selector": "FieldValueRequired"}
    assert status["message"].startswith('Deployment.apps "Bad_Name" is invalid: [metadata.name: Invalid value')
    no_name = await raw.post("/api/v1/namespaces/default/configmaps", json={"metadata": {}})
    assert no_name.status_code == 422
    assert no_name.json()["details"]["causes"][0]["message"] == "Required value: name or generateName is required"
    missing_ns = await raw.post("/api/v1/namespaces/nowhere/configmaps", json={"metadata": {"name": "x"}})
    assert missing_ns.status_code == 404 and missing_ns.json()["message"] == 'namespaces "nowhere" not found'


async def test_generate_name_generation_and_status_subresource(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    made = await apps.create_namespaced_deployment("default", {**deployment("gen"), "metadata": {
        "generateName": "gen-", "namespace": "default", "labels": {"app": "gen"}}})
    name = made.metadata.name
    assert name.startswith("gen-") and len(name) == 9 and made.metadata.generation == 1
    assert made.spec.replicas == 1 and made.spec.strategy.type == "RollingUpdate"
    labelled = await apps.patch_namespaced_deployment(name, "default", {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = await apps.patch_namespaced_deployment(name, "default", {"spec": {"replicas": 4}})
    assert scaled.metadata.generation == 2
    ignored = await apps.patch_namespaced_deployment(name, "default", {"status": {"replicas": 9}})
    assert ignored.status.replicas is None
    status = await apps.patch_namespaced_deployment_status(name, "default", {"status": {"replicas": 3}})
    assert status.status.replicas == 3 and status.metadata.generation == 2
    scale = await apps.read_namespaced_deployment_scale(name, "default")
    assert scale.spec.replicas == 4 and scale.status.replicas == 3 and scale.status.selector == "app=gen"
    rescaled = await apps.patch_namespaced_deployment_scale(name, "default", {"spec": {"replicas": 6}})
    assert rescaled.spec.replicas == 6
    assert (await apps.read_namespaced_deployment(name, "default")).spec.replicas == 6


async def test_lists_sort_paginate_and_expire(fleet: Fleet, api: client.ApiClient,
                                              raw: httpx.AsyncClient) -> None:
    core = client.CoreV1Api(api)
    for ns in ("page-b", "page-a"):
        await core.create_namespace({"metadata": {"name": ns}})
        for name in ("c", "a", "b"):
            await core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"set": "page"}}})
    listed = await core.list_config_map_for_all_namespaces(label_selector="set=page")
    assert [(i.metadata.namespace, i.metadata.name) for i in listed.items] == [
        ("page-a", "a"), ("page-a", "b"), ("page-a", "c"), ("page-b", "a"), ("page-b", "b"), ("page-b", "c")]
    first = await core.list_config_map_for_all_namespaces(label_selector="set=page", limit=4)
    assert len(first.items) == 4 and first.metadata.remaining_item_count == 2
    rest = await core.list_config_map_for_all_namespaces(label_selector="set=page", limit=4,
                                                         _continue=first.metadata._continue)
    assert [i.metadata.name for i in rest.items] == ["b", "c"] and rest.metadata._continue is None
    empty = await core.list_namespaced_config_map("page-a", label_selector="set=none")
    assert empty.items == []
    state = fleet.cluster("cluster-0").state
    state.set_history_size(5)
    try:
        for i in range(6):
            await core.create_namespaced_config_map("page-b", {"metadata": {"name": f"churn-{i}"}})
        expired = await raw.get("/api/v1/configmaps", params={"continue": first.metadata._continue})
    finally:
        state.set_history_size(10_000)
    assert expired.status_code == 410 and expired.json()["reason"] == "Expired"


@pytest.mark.parametrize(("selector", "expected"), [
    ("tier=web", ["s1", "s2"]),
    ("tier==web,env!=prod", ["s1"]),
    ("tier in (web,db)", ["s1", "s2", "s3"]),
    ("tier notin (web)", ["s3", "s4"]),
    ("env", ["s1", "s2"]),
    ("!env", ["s3", "s4"]),
])
async def test_label_selectors(api: client.ApiClient, selector: str, expected: list[str]) -> None:
    core = client.CoreV1Api(api)
    existing = await core.list_namespaced_config_map("selectors")
    if not existing.items:
        await core.create_namespace({"metadata": {"name": "selectors"}})
        labels = {"s1": {"tier": "web", "env": "dev"}, "s2": {"tier": "web", "env": "prod"}, "s3": {"tier": "db"},
                  "s4": {}}
        for name, value in labels.items():
            await core.create_namespaced_config_map("selectors", {"metadata": {"name": name, "labels": value}})
    found = await core.list_namespaced_config_map("selectors", label_selector=selector)
    assert [i.metadata.name for i in found.items] == expected


async def test_field_selectors_and_unsupported_fields(api: client.ApiClient, raw: httpx.AsyncClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod("default", pod("field-a", node="node-x"))
    await core.create_namespaced_pod("default", pod("field-b"))
    on_node = await core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-x")
    assert [p.metadata.name for p in on_node.items] == ["field-a"]
    by_name = await core.list_namespaced_pod("default", field_selector="metadata.name=field-b,status.phase=Pending")
    assert [p.metadata.name for p in by_name.items] == ["field-b"]
    await core.create_namespaced_event("default", {
        "metadata": {"name": "field-a.1"}, "involvedObject": {"kind": "Pod", "name": "field-a", "namespace": "default"},
        "reason": "Scheduled", "message": "assigned", "type": "Normal"})
    events = await core.list_namespaced_event("default", field_selector="involvedObject.name=field-a")
    assert [e.reason for e in events.items] == ["Scheduled"]
    bad = await raw.get("/api/v1/pods", params={"fieldSelector": "spec.image=x"})
    assert bad.status_code == 400 and bad.json()["reason"] == "BadRequest"


async def test_boolean_query_parameters_follow_the_apiserver(raw: httpx.AsyncClient) -> None:
    async with raw.stream("GET", "/api/v1/namespaces", params={"watch": "yes", "timeoutSeconds": "1"}) as resp:
        first = json.loads(await anext(resp.aiter_lines()))
    assert first["type"] == "ADDED"
    plain = await raw.get("/api/v1/namespaces", params={"watch": "false"})
    assert plain.json()["kind"] == "NamespaceList"


async def test_delete_with_finalizers_propagation_and_collection(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespaced_config_map("default", {"metadata": {"name": "held", "finalizers": ["x/hold"]}})
    await core.delete_namespaced_config_map("held", "default")
    held = await core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None and held.metadata.finalizers == ["x/hold"]
    await core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        await core.read_namespaced_config_map("held", "default")
    assert gone.value.status == 404
    await core.create_namespaced_config_map("default", {"metadata": {"name": "fg"}})
    await core.delete_namespaced_config_map("fg", "default", propagation_policy="Foreground")
    fg = await core.read_namespaced_config_map("fg", "default")
    assert fg.metadata.finalizers == ["foregroundDeletion"] and fg.metadata.deletion_timestamp
    await core.create_namespaced_config_map("default", {"metadata": {"name": "orph"}})
    await core.delete_namespaced_config_map("orph", "default", body={"propagationPolicy": "Orphan"})
    assert (await core.read_namespaced_config_map("orph", "default")).metadata.finalizers == ["orphan"]
    for name in ("dc-1", "dc-2", "dc-keep"):
        labels = {"sweep": "yes"} if name != "dc-keep" else {}
        await core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})
    await core.delete_collection_namespaced_config_map("default", label_selector="sweep=yes")
    left = {c.metadata.name for c in (await core.list_namespaced_config_map("default")).items}
    assert "dc-keep" in left and not {"dc-1", "dc-2"} & left


async def test_custom_resources_appear_in_discovery_and_are_served(api: client.ApiClient,
                                                                   raw: httpx.AsyncClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    await ext.create_custom_resource_definition({
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    crd = await ext.read_custom_resource_definition("widgets.example.com")
    assert {c.type for c in crd.status.conditions} == {"NamesAccepted", "Established"}
    groups = {g["name"] for g in (await raw.get("/apis")).json()["groups"]}
    assert "example.com" in groups
    custom = client.CustomObjectsApi(api)
    await custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}})
    listed = await custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["w1"] and listed["kind"] == "WidgetList"
    smp = await raw.patch("/apis/example.com/v1/namespaces/default/widgets/w1", json={"spec": {"size": 4}},
                          headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert smp.status_code == 415
    await ext.delete_custom_resource_definition("widgets.example.com")
    assert (await raw.get("/apis/example.com/v1")).status_code == 404


async def test_events_api_group_shares_core_events(api: client.ApiClient, raw: httpx.AsyncClient) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespace({"metadata": {"name": "evs"}})
    await core.create_namespaced_event("evs", {
        "metadata": {"name": "core.1"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "evs"},
        "reason": "Started", "message": "Started container", "type": "Normal", "count": 2,
        "source": {"component": "kubelet"}})
    events = client.EventsV1Api(api)
    listed = await events.list_namespaced_event("evs")
    assert [(e.metadata.name, e.note, e.regarding.name, e.deprecated_count) for e in listed.items] == [
        ("core.1", "Started container", "p", 2)]
    assert listed.items[0].reporting_controller == "kubelet"
    await events.create_namespaced_event("evs", {
        "metadata": {"name": "new.1"}, "eventTime": "2026-01-01T00:00:00.000000Z", "reason": "Scaled",
        "note": "Scaled up", "type": "Normal", "action": "Scale", "reportingController": "ctl",
        "reportingInstance": "ctl-1", "regarding": {"kind": "Deployment", "name": "d", "namespace": "evs"}})
    as_core = await core.read_namespaced_event("new.1", "evs")
    assert as_core.message == "Scaled up" and as_core.involved_object.kind == "Deployment"
    async with raw.stream("GET", "/apis/events.k8s.io/v1/namespaces/evs/events",
                          params={"watch": "1", "timeoutSeconds": "1"}) as resp:
        seen = [json.loads(line)["object"] async for line in resp.aiter_lines() if line]
    assert {e["metadata"]["name"] for e in seen} == {"core.1", "new.1"} and seen[0]["apiVersion"] == "events.k8s.io/v1"


async def test_fields_the_typed_clients_require_are_enforced(raw: httpx.AsyncClient) -> None:
    orphan = await raw.post("/api/v1/namespaces/default/configmaps", json={"metadata": {
        "name": "owned", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p"}]}})
    assert orphan.status_code == 422
    assert orphan.json()["details"]["causes"] == [{"reason": "FieldValueRequired", "message": "Required value",
                                                   "field": "metadata.ownerReferences[0].uid"}]
    ingress = await raw.post("/apis/networking.k8s.io/v1/namespaces/default/ingresses", json={
        "metadata": {"name": "ing"}, "spec": {"rules": [{"http": {"paths": [
            {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})
    assert ingress.status_code == 422
    assert ingress.json()["details"]["causes"][0]["field"] == "spec.rules[0].http.paths[0].pathType"
    event = await raw.post("/api/v1/namespaces/default/events", json={
        "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "other"}})
    assert event.status_code == 422 and "does not match event.namespace" in event.json()["message"]


async def test_verbs_a_resource_does_not_serve_get_405(raw: httpx.AsyncClient) -> None:
    response = await raw.delete("/api/v1/namespaces")
    assert response.status_code == 405 and response.json()["reason"] == "MethodNotAllowed"
    metrics = await raw.post("/apis/metrics.k8s.io/v1beta1/nodes", json={})
    assert metrics.status_code == 405
