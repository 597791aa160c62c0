"""Kubilitics' apply takes YAML as 002 says (`Content-Type: application/yaml`), several documents
applied as one List; a path that takes only JSON refuses YAML with 415, bad YAML is a 400."""

from __future__ import annotations

import uuid

from tests.rest.world import NAMESPACE, World

MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: {a}, namespace: {ns}}}
data: {{mode: yaml}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {b}, namespace: {ns}}}
data: {{mode: yaml}}
"""


async def test_apply_takes_yaml_with_several_documents(world: World) -> None:
    a, b = (f"yaml-{uuid.uuid4().hex[:8]}" for _ in range(2))
    headers = {"Authorization": f"Bearer {world.token('operator')}", "Content-Type": "application/yaml"}
    url = f"/api/v1/clusters/{world.cluster_id}/apply"
    applied = await world.api.http.post(url, content=MANIFESTS.format(a=a, b=b, ns=NAMESPACE), headers=headers)
    assert applied.status_code == 200, applied.text
    names = {item["name"] for item in applied.json()["applied"]}
    assert {a, b} <= names, applied.json()
    found = await world.gql(
        'query($c:ID!,$ns:String!,$n:String!){ kubeObject(clusterId:$c, kind:"ConfigMap", namespace:$ns, name:$n) '
        "{ name } }",
        {"c": world.cluster_id, "ns": NAMESPACE, "n": b},
    )
    assert found["kubeObject"]["name"] == b
    broken = await world.api.http.post(url, content=b"kind: [unclosed", headers=headers)
    assert broken.status_code == 400 and broken.json()["details"][0]["field"] == "body"
    json_only = await world.api.http.post("/api/v1/users", content=b"username: x", headers=headers)
    assert json_only.status_code == 415 and "error" in json_only.json()
