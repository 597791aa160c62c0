"""Every write is checked against the object's type schema, as the apiserver does: 422 Invalid with causes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim.fleet import Fleet, start_fleet

from .conftest import deployment
from .kubectl import KUBECTL, Kubectl

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
SMP = {"Content-Type": "application/strategic-merge-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}
REPLICAS_MESSAGE = 'Invalid value: "string": spec.replicas in body must be of type integer: "string"'

WIDGETS_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object",
                 "properties": {"spec": {
                     "type": "object", "required": ["size"],
                     "properties": {
                         "size": {"type": "integer", "minimum": 1},
                         "mode": {"type": "string", "enum": ["fast", "safe"]},
                         "port": {"x-kubernetes-int-or-string": True},
                         "tags": {"type": "array", "items": {"type": "string"}},
                         "limits": {"type": "object", "additionalProperties": {"type": "number"}},
                         "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}}}]},
}
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fleet() -> AsyncIterator[Fleet]:
    """The API server alone, over TLS: kubectl sends its bearer token only over TLS."""
    async with start_fleet(1, profile=None, seed=11, controllers=False, tls=True) as running:
        yield running


def widget(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


def causes(response: httpx.Response) -> dict[str, str]:
    """field -> reason of a 422 Invalid answer, after checking it has the apiserver's shape."""
    assert response.status_code == 422, response.text
    status = response.json()
    assert (status["kind"], status["status"], status["reason"], status["code"]) == ("Status", "Failure",
                                                                                     "Invalid", 422)
    return {c["field"]: c["reason"] for c in status["details"]["causes"]}


async def _create(raw: httpx.AsyncClient, name: str) -> dict[str, Any]:
    created = await raw.post(DEPLOYMENTS, json=deployment(name))
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_merge_patch_with_string_replicas_is_refused_over_the_typed_client(
        raw: httpx.AsyncClient, api: client.ApiClient) -> None:
    before = await _create(raw, "web")
    apps: Any = client.AppsV1Api(api)  # its stubs do not name _content_type
    with pytest.raises(ApiException) as refused:
        await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": "many"}},
                                               _content_type="application/merge-patch+json")
    assert refused.value.status == 422
    status = json.loads(refused.value.body or b"{}")
    assert status["message"] == f'Deployment.apps "web" is invalid: spec.replicas: {REPLICAS_MESSAGE}'
    assert status["details"] == {"name": "web", "kind": "Deployment", "group": "apps", "causes": [
        {"reason": "FieldValueTypeInvalid", "message": REPLICAS_MESSAGE, "field": "spec.replicas"}]}
    unchanged = await apps.read_namespaced_deployment("web", "default")
    assert unchanged.spec.replicas == 1
    assert unchanged.metadata.resource_version == before["metadata"]["resourceVersion"]
    scaled = await apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}},
                                                    _content_type="application/merge-patch+json")
    assert scaled.spec.replicas == 3


@pytest.mark.parametrize("write", ["create", "update", "json", "merge", "strategic", "apply"])
@pytest.mark.parametrize("dry_run", [False, True])
async def test_every_kind_of_write_is_checked(raw: httpx.AsyncClient, write: str, dry_run: bool) -> None:
    name = f"every-{write}-{'dry' if dry_run else 'real'}"
    query = "?dryRun=All" if dry_run else ""
    bad = deployment(name)
    bad["spec"]["replicas"] = "many"
    if write == "create":
        response = await raw.post(DEPLOYMENTS + query, json=bad)
        assert causes(response) == {"spec.replicas": "FieldValueTypeInvalid"}
        assert (await raw.get(f"{DEPLOYMENTS}/{name}")).status_code == 404
        return
    before = await _create(raw, name)
    url = f"{DEPLOYMENTS}/{name}{query}"
    if write == "update":
        response = await raw.put(url, json=bad)
    elif write == "json":
        response = await raw.patch(url, headers=JSON_PATCH,
                                   json=[{"op": "replace", "path": "/spec/replicas", "value": "many"}])
    elif write == "apply":
        applied = "?fieldManager=tester&force=true" + ("&dryRun=All" if dry_run else "")
        response = await raw.patch(f"{DEPLOYMENTS}/{name}{applied}", headers=APPLY, content=yaml.safe_dump(bad))
    else:
        response = await raw.patch(url, headers=MERGE if write == "merge" else SMP,
                                   json={"spec": {"replicas": "many"}})
    assert causes(response) == {"spec.replicas": "FieldValueTypeInvalid"}
    after = (await raw.get(f"{DEPLOYMENTS}/{name}")).json()
    assert after["spec"]["replicas"] == 1
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_service_port_must_be_an_integer_and_target_port_may_be_a_name(raw: httpx.AsyncClient) -> None:
    services = "/api/v1/namespaces/default/services"
    service: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "front"},
               "spec": {"selector": {"app": "front"}, "ports": [{"name": "http", "port": "http"}]}}
    response = await raw.post(services, json=service)
    assert causes(response) == {"spec.ports[0].port": "FieldValueTypeInvalid"}
    assert 'spec.ports[0].port in body must be of type integer: "string"' in response.json()["message"]
    service["spec"]["ports"] = [{"name": "http", "port": 80, "targetPort": "http"}]
    assert (await raw.post(services, json=service)).status_code == 201
    boolean = await raw.patch(f"{services}/front", headers=MERGE, json={"spec": {"ports": [
        {"name": "http", "port": 80, "targetPort": True}]}})
    assert causes(boolean) == {"spec.ports[0].targetPort": "FieldValueTypeInvalid"}
    assert 'targetPort in body must be of type integer,string: "boolean"' in boolean.json()["message"]


async def test_a_container_list_given_as_an_object_is_refused(raw: httpx.AsyncClient) -> None:
    bad = deployment("listless")
    bad["spec"]["template"]["spec"]["containers"] = {"name": "main", "image": "nginx:1.25"}
    response = await raw.post(DEPLOYMENTS, json=bad)
    assert causes(response) == {"spec.template.spec.containers": "FieldValueTypeInvalid"}
    assert ('spec.template.spec.containers: Invalid value: "object": spec.template.spec.containers in body '
            'must be of type array: "object"') in response.json()["message"]
    await _create(raw, "listed")
    patched = await raw.patch(f"{DEPLOYMENTS}/listed", headers=MERGE, json={"spec": {"template": {"spec": {
        "containers": {"name": "main", "image": "nginx:1.26"}}}}})
    assert causes(patched) == {"spec.template.spec.containers": "FieldValueTypeInvalid"}
    nameless = await raw.patch(f"{DEPLOYMENTS}/listed", headers=SMP, json={"spec": {"template": {"spec": {
        "containers": [{"name": "main", "image": 125}]}}}})
    assert causes(nameless) == {"spec.template.spec.containers[0].image": "FieldValueTypeInvalid"}
    quantities = await raw.patch(f"{DEPLOYMENTS}/listed", headers=SMP, json={"spec": {"template": {"spec": {
        "containers": [{"name": "main", "resources": {"requests": {"cpu": 0.5, "memory": "64Mi"},
                                                      "limits": {"cpu": ["1"]}}}]}}}})
    assert causes(quantities) == {"spec.template.spec.containers[0].resources.limits.cpu": "FieldValueTypeInvalid"}


async def test_labels_are_a_map_of_strings(raw: httpx.AsyncClient) -> None:
    configmaps = "/api/v1/namespaces/default/configmaps"
    created = await raw.post(configmaps, json={"metadata": {"name": "labelled", "labels": {"tier": "web"}}})
    assert created.status_code == 201
    response = await raw.patch(f"{configmaps}/labelled", headers=MERGE,
                               json={"metadata": {"labels": {"tier": 3}}})
    assert causes(response) == {"metadata.labels.tier": "FieldValueTypeInvalid"}
    assert response.json()["message"] == ('ConfigMap "labelled" is invalid: metadata.labels.tier: Invalid value: '
                                          '"integer": metadata.labels.tier in body must be of type string: '
                                          '"integer"')
    listed = await raw.patch(f"{configmaps}/labelled", headers=MERGE, json={"metadata": {"labels": ["tier"]}})
    assert causes(listed) == {"metadata.labels": "FieldValueTypeInvalid"}
    data = await raw.patch(f"{configmaps}/labelled", headers=MERGE, json={"data": {"port": 80}})
    assert causes(data) == {"data.port": "FieldValueTypeInvalid"}
    assert (await raw.get(f"{configmaps}/labelled")).json()["metadata"]["labels"] == {"tier": "web"}


async def test_status_and_scale_writes_are_checked(raw: httpx.AsyncClient) -> None:
    await _create(raw, "counted")
    status = await raw.patch(f"{DEPLOYMENTS}/counted/status", headers=MERGE,
                             json={"status": {"readyReplicas": "all"}})
    assert causes(status) == {"status.readyReplicas": "FieldValueTypeInvalid"}
    for replicas in ("many", True, 1.5):
        scale = await raw.patch(f"{DEPLOYMENTS}/counted/scale", headers=MERGE, json={"spec": {"replicas": replicas}})
        assert causes(scale) == {"spec.replicas": "FieldValueTypeInvalid"}, replicas
    assert (await raw.get(f"{DEPLOYMENTS}/counted")).json()["spec"]["replicas"] == 1


async def test_custom_resources_follow_their_crd_schema(raw: httpx.AsyncClient) -> None:
    created = await raw.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
    assert created.status_code == 201, created.text
    wrong = await raw.post(WIDGETS, json=widget("w-type", {"size": "big"}))
    assert causes(wrong) == {"spec.size": "FieldValueTypeInvalid"}
    assert wrong.json()["message"] == ('Widget.example.com "w-type" is invalid: spec.size: Invalid value: "string": '
                                       'spec.size in body must be of type integer: "string"')
    missing = await raw.post(WIDGETS, json=widget("w-missing", {"mode": "fast"}))
    assert causes(missing) == {"spec.size": "FieldValueRequired"}
    several = await raw.post(WIDGETS, json=widget("w-several", {
        "size": 0, "mode": "slow", "port": False, "tags": ["a", 2], "limits": {"cpu": "x"}}))
    assert causes(several) == {"spec.size": "FieldValueInvalid", "spec.mode": "FieldValueNotSupported",
                               "spec.port": "FieldValueTypeInvalid", "spec.tags[1]": "FieldValueTypeInvalid",
                               "spec.limits.cpu": "FieldValueTypeInvalid"}
    message = several.json()["message"]
    assert 'spec.mode: Unsupported value: "slow": supported values: "fast", "safe"' in message
    assert "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1" in message
    good = widget("w-good", {"size": 2, "mode": "safe", "port": "http", "tags": ["a"], "limits": {"cpu": 0.5},
                             "extra": {"anything": [1, {"goes": True}]}, "unknown": "tolerated"})
    assert (await raw.post(WIDGETS, json=good)).status_code == 201
    patched = await raw.patch(f"{WIDGETS}/w-good", headers=MERGE, json={"spec": {"size": "huge"}})
    assert causes(patched) == {"spec.size": "FieldValueTypeInvalid"}
    assert (await raw.get(f"{WIDGETS}/w-good")).json()["spec"]["size"] == 2
    labelled = await raw.patch(f"{WIDGETS}/w-good", headers=MERGE, json={"metadata": {"labels": {"n": 1}}})
    assert causes(labelled) == {"metadata.labels.n": "FieldValueTypeInvalid"}
    assert (await raw.patch(f"{WIDGETS}/w-good", headers=MERGE, json={"spec": {"size": 5}})).json()["spec"]["size"] == 5


async def test_malformed_writes_are_refused_not_crashed_on(raw: httpx.AsyncClient) -> None:
    generated = deployment("unused")
    generated["metadata"] = {"generateName": 5, "namespace": "default"}
    assert causes(await raw.post(DEPLOYMENTS, json=generated)) == {"metadata.generateName": "FieldValueTypeInvalid"}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "specless"}, "spec": "none"}
    assert causes(await raw.post("/api/v1/namespaces/default/pods", json=pod)) == {"spec": "FieldValueTypeInvalid"}
    await _create(raw, "malformed")
    for headers, body in ((MERGE, {"spec": []}), (SMP, {"spec": "x"}), (MERGE, {"metadata": {"labels": "a=b"}})):
        field = next(iter(body)) if "spec" in body else "metadata.labels"
        assert causes(await raw.patch(f"{DEPLOYMENTS}/malformed", headers=headers, json=body)) == {
            field: "FieldValueTypeInvalid"}
    for ops in (["replace"], [{"op": "add", "path": 5, "value": 1}], [{"op": "move", "from": 1, "path": "/a"}]):
        refused = await raw.patch(f"{DEPLOYMENTS}/malformed", headers=JSON_PATCH, json=ops)
        assert refused.status_code == 400 and refused.json()["reason"] == "BadRequest", ops


# -- the same through the real kubectl -----------------------------------------------------------

@pytest.fixture
def kubectl(fleet: Fleet, tmp_path: Path) -> Iterator[Kubectl]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    yield Kubectl(fleet.kubeconfigs["cluster-0"], tmp_path / "cache")


async def _kubectl(tool: Kubectl, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """kubectl in a worker thread: the simulated cluster is served by this test's event loop."""
    done = await asyncio.to_thread(tool.run, *args, stdin=stdin, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.kubectl
async def test_kubectl_sees_422_for_a_bad_merge_patch_and_a_good_one_still_works(
        raw: httpx.AsyncClient, kubectl: Kubectl) -> None:
    before = await _create(raw, "kubectl-web")
    code, _, err = await _kubectl(kubectl, "patch", "deployment", "kubectl-web", "--type", "merge",
                                  "-p", '{"spec":{"replicas":"many"}}')
    assert code != 0
    assert f'The Deployment "kubectl-web" is invalid: spec.replicas: {REPLICAS_MESSAGE}' in err
    after = (await raw.get(f"{DEPLOYMENTS}/kubectl-web")).json()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    code, out, err = await _kubectl(kubectl, "patch", "deployment", "kubectl-web", "--type", "merge",
                                    "-p", '{"spec":{"replicas":4}}')
    assert code == 0, err
    assert out.strip() == "deployment.apps/kubectl-web patched"
    assert (await raw.get(f"{DEPLOYMENTS}/kubectl-web")).json()["spec"]["replicas"] == 4


@pytest.mark.kubectl
async def test_kubectl_apply_of_invalid_objects_is_refused_with_the_causes(
        raw: httpx.AsyncClient, kubectl: Kubectl) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kubectl-svc", "namespace": "default"},
               "spec": {"selector": {"app": "x"}, "ports": [{"port": "eighty"}]}}
    code, _, err = await _kubectl(kubectl, "apply", "-f", "-", stdin=yaml.safe_dump(service))
    assert code != 0
    assert 'The Service "kubectl-svc" is invalid: spec.ports[0].port: Invalid value: "string"' in err
    await _kubectl(kubectl, "create", "configmap", "kubectl-cm")
    code, _, err = await _kubectl(kubectl, "patch", "configmap", "kubectl-cm", "--type", "merge",
                                  "-p", '{"metadata":{"labels":{"replicas":3}}}')
    assert code != 0
    assert ('The ConfigMap "kubectl-cm" is invalid: metadata.labels.replicas: Invalid value: "integer": '
            'metadata.labels.replicas in body must be of type string: "integer"') in err
    if (await raw.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")).status_code \
            == 404:
        await raw.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=WIDGETS_CRD)
    code, _, err = await _kubectl(kubectl, "apply", "-f", "-", stdin=yaml.safe_dump(widget("kw", {"size": "big"})))
    assert code != 0
    assert 'The Widget "kw" is invalid: spec.size: Invalid value: "string"' in err
    code, out, err = await _kubectl(kubectl, "apply", "-f", "-", stdin=yaml.safe_dump(widget("kw", {"size": 3})))
    assert code == 0, err
    assert out.strip() == "widget.example.com/kw created"
