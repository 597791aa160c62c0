"""PATCH in all four content types, including strategic merge directives and server-side apply."""

from __future__ import annotations

from typing import Any

import httpx
import yaml

from kubesim.patch import json_patch, merge_patch, strategic_merge

from .conftest import deployment

SMP = {"Content-Type": "application/strategic-merge-patch+json"}


def test_strategic_merge_directives() -> None:
    current = {"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]},
                                       {"name": "b", "image": "y"}],
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
               "metadata": {"finalizers": ["f1", "f2"]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                      "containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]},
                                     {"name": "b", "$patch": "delete"}, {"name": "c", "image": "z"}],
                      "strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
             "metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"], "finalizers": ["f3"]}}
    result = strategic_merge(current, patch, "Pod")
    assert [c["name"] for c in result["spec"]["containers"]] == ["c", "a"]
    assert result["spec"]["containers"][1]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["metadata"]["finalizers"] == ["f2", "f3"]
    replaced = strategic_merge(current, {"spec": {"containers": [{"name": "q", "image": "q"}, {"$patch": "replace"}]}})
    assert replaced["spec"]["containers"] == [{"name": "q", "image": "q"}]
    whole = strategic_merge(current, {"spec": {"strategy": {"$patch": "replace", "type": "Recreate"}}})
    assert whole["spec"]["strategy"] == {"type": "Recreate"}


def test_merge_and_json_patch() -> None:
    doc: dict[str, Any] = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    assert merge_patch(doc, {"a": {"b": None, "c": [3]}, "e": 1}) == {"a": {"c": [3]}, "d": "x", "e": 1}
    ops = [{"op": "add", "path": "/a/c/-", "value": 3}, {"op": "replace", "path": "/d", "value": "y"},
           {"op": "move", "from": "/a/b", "path": "/b"}, {"op": "test", "path": "/b", "value": 1}]
    assert json_patch(doc, ops) == {"a": {"c": [1, 2, 3]}, "d": "y", "b": 1}
    assert doc == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}


async def test_patch_content_types_over_http(raw: httpx.AsyncClient) -> None:
    base = "/apis/apps/v1/namespaces/default/deployments"
    await raw.post(base, json=deployment("patchy"))
    smp = await raw.patch(f"{base}/patchy", headers=SMP, json={"spec": {"template": {"spec": {
        "containers": [{"name": "side", "image": "busybox"}]}}}})
    assert [c["name"] for c in smp.json()["spec"]["template"]["spec"]["containers"]] == ["main", "side"]
    merge = await raw.patch(f"{base}/patchy", headers={"Content-Type": "application/merge-patch+json"},
                            json={"metadata": {"labels": {"merged": "yes"}}})
    assert merge.json()["metadata"]["labels"] == {"app": "patchy", "merged": "yes"}
    jp = await raw.patch(f"{base}/patchy", headers={"Content-Type": "application/json-patch+json"},
                         json=[{"op": "replace", "path": "/spec/replicas", "value": 5}])
    assert jp.json()["spec"]["replicas"] == 5
    failed = await raw.patch(f"{base}/patchy", headers={"Content-Type": "application/json-patch+json"},
                             json=[{"op": "remove", "path": "/spec/nothing"}])
    assert failed.status_code == 422
    unknown = await raw.patch(f"{base}/patchy", headers={"Content-Type": "text/plain"}, content=b"x")
    assert unknown.status_code == 415
    strict = await raw.patch(f"{base}/patchy", params={"fieldValidation": "Strict"}, headers=SMP,
                             json={"spec": {"replicaz": 2}})
    assert strict.status_code == 400
    assert strict.json()["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: '
                                        'strict decoding error: unknown field "spec.replicaz"')


def _apply_body(replicas: int, image: str) -> bytes:
    obj = deployment("ssa", replicas=replicas, image=image)
    return yaml.safe_dump(obj).encode()


async def test_server_side_apply_managers_conflicts_and_force(raw: httpx.AsyncClient) -> None:
    url = "/apis/apps/v1/namespaces/default/deployments/ssa"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    no_manager = await raw.patch(url, headers=headers, content=_apply_body(2, "nginx:1"))
    assert no_manager.status_code == 400
    created = await raw.patch(url, params={"fieldManager": "alice"}, headers=headers, content=_apply_body(2, "nginx:1"))
    assert created.status_code == 201
    entry = created.json()["metadata"]["managedFields"][0]
    assert entry["manager"] == "alice" and entry["operation"] == "Apply"
    assert "f:replicas" in entry["fieldsV1"]["f:spec"]
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert 'k:{"name":"main"}' in containers
    same = await raw.patch(url, params={"fieldManager": "bob"}, headers=headers, content=_apply_body(2, "nginx:1"))
    assert same.status_code == 200
    clash = await raw.patch(url, params={"fieldManager": "bob"}, headers=headers, content=_apply_body(3, "nginx:1"))
    status = clash.json()
    assert clash.status_code == 409 and status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "alice" using apps/v1: .spec.replicas'
    assert status["details"]["causes"][0]["reason"] == "FieldManagerConflict"
    forced = await raw.patch(url, params={"fieldManager": "bob", "force": "true"}, headers=headers,
                             content=_apply_body(3, "nginx:1"))
    assert forced.status_code == 200 and forced.json()["spec"]["replicas"] == 3
    owners = {e["manager"]: e["fieldsV1"] for e in forced.json()["metadata"]["managedFields"]}
    assert "f:replicas" in owners["bob"]["f:spec"] and "f:replicas" not in owners["alice"]["f:spec"]
    updated = await raw.patch(url, params={"fieldManager": "carol"}, headers=SMP,
                              json={"metadata": {"labels": {"owner": "carol"}}})
    carol = next(e for e in updated.json()["metadata"]["managedFields"] if e["manager"] == "carol")
    assert carol["operation"] == "Update" and carol["fieldsV1"] == {"f:metadata": {"f:labels": {"f:owner": {}}}}


async def test_apply_removes_fields_the_manager_dropped(raw: httpx.AsyncClient) -> None:
    url = "/api/v1/namespaces/default/configmaps/ssa-cm"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-cm"}, "data": {"a": "1", "b": "2"}}
    await raw.patch(url, params={"fieldManager": "tool"}, headers=headers, content=yaml.safe_dump(cm).encode())
    cm["data"] = {"a": "1"}
    again = await raw.patch(url, params={"fieldManager": "tool"}, headers=headers, content=yaml.safe_dump(cm).encode())
    assert again.json()["data"] == {"a": "1"}


async def test_unknown_fields_warn_by_default(raw: httpx.AsyncClient) -> None:
    body = deployment("warned")
    body["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = "x"
    made = await raw.post("/apis/apps/v1/namespaces/default/deployments", json=body)
    assert made.status_code == 201
    assert made.headers["warning"] == '299 - "unknown field \\"spec.template.spec.containers[0].imagePolicy\\""'
    ignored = await raw.patch("/apis/apps/v1/namespaces/default/deployments/warned", headers=SMP,
                              params={"fieldValidation": "Ignore"}, json={"spec": {"bogus": 1}})
    assert ignored.status_code == 200 and "warning" not in ignored.headers
    assert "bogus" not in ignored.json()["spec"]
    assert "imagePolicy" not in ignored.json()["spec"]["template"]["spec"]["containers"][0]
