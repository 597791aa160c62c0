"""Manifests and rollouts through GraphQL: apply, rollout history, rollback, restart, CronJob and Job runs.

Checked as in test_cluster_writes: in kubesim over HTTP, in the audit trail, in the impersonation
headers kubesim recorded, and refused to viewers and other tenants without a write.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from app.errors import BadUserInput
from resolvers.manifests import parse_manifest
from tests.support.api import Api, TenantUsers
from tests.support.cluster_writes import (
    CREATE_WORKLOAD,
    Setup,
    assert_impersonated,
    audited,
    cluster_setup,
    deployment,
    eventually,
    make_namespace,
    refused,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def setup(api: Api, provider_token: str, tenant_b: TenantUsers, database_url: str) -> AsyncIterator[Setup]:
    """A cluster of this module's own, per database backend."""
    async with cluster_setup(api, provider_token, tenant_b, seed=32) as s:
        yield s


MANIFEST = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {mode}
---
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector: {{app: api}}
  ports: [{{port: 80}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers: [{{name: api, image: "api:1"}}]
"""
APPLY = """mutation($c:ID!,$y:String!,$d:Boolean!){ applyManifest(clusterId:$c,yaml:$y,dryRun:$d,namespace:"team-m"){
  kind namespace name action } }"""


async def test_apply_manifest_created_unchanged_configured(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-m")

    async def apply(text: str, dry_run: bool = False) -> list[tuple[str, str, str]]:
        data = await api.ok(APPLY, {"c": s.cluster_id, "y": text, "d": dry_run}, s.operator)
        return [(r["kind"], r["name"], r["action"]) for r in data["applyManifest"]]

    await refused(api, s, APPLY, {"c": s.cluster_id, "y": MANIFEST.format(mode="a"), "d": False})
    assert await s.get("/api/v1/namespaces/team-m/configmaps/settings") is None
    preview = await apply(MANIFEST.format(mode="a"), dry_run=True)
    assert [a for _, _, a in preview] == ["created"] * 3
    assert await s.get("/api/v1/namespaces/team-m/configmaps/settings") is None
    assert await apply(MANIFEST.format(mode="a")) == [
        ("ConfigMap", "settings", "created"),
        ("Service", "api", "created"),
        ("Deployment", "api", "created"),
    ]
    assert [a for _, _, a in await apply(MANIFEST.format(mode="a"))] == ["unchanged"] * 3
    assert [a for _, _, a in await apply(MANIFEST.format(mode="b"), dry_run=True)] == ["configured"] + ["unchanged"] * 2
    stored = await s.get("/api/v1/namespaces/team-m/configmaps/settings")
    assert stored and stored["data"] == {"mode": "a"}
    assert [a for _, _, a in await apply(MANIFEST.format(mode="b"))] == ["configured", "unchanged", "unchanged"]
    stored = await s.get("/api/v1/namespaces/team-m/configmaps/settings")
    assert stored and stored["data"] == {"mode": "b"}
    row = await audited(api, s, "resource.applied", f"{s.cluster_id}/ConfigMap/team-m/settings")
    assert row["changes"]["action"] in ("created", "configured")
    assert_impersonated(s, "PATCH", "/apis/apps/v1/namespaces/team-m/deployments/api")


async def test_apply_manifest_conflicts_unless_forced(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-f")
    text = MANIFEST.format(mode="a").split("---\n")[2]
    query = """mutation($c:ID!,$y:String!,$f:Boolean!){ applyManifest(clusterId:$c,yaml:$y,namespace:"team-f",force:$f){
      name action } }"""
    await api.ok(query, {"c": s.cluster_id, "y": text, "f": False}, s.operator)
    scale = await s.http.patch(
        "/apis/apps/v1/namespaces/team-f/deployments/api/scale",
        json={"spec": {"replicas": 4}},
        headers={"Content-Type": "application/merge-patch+json"},
        params={"fieldManager": "kubectl-scale"},
    )
    assert scale.status_code == 200, scale.text
    conflict = await api.error(query, {"c": s.cluster_id, "y": text, "f": False}, s.operator)
    assert conflict["extensions"]["code"] == "CONFLICT" and "spec.replicas" in conflict["message"]
    assert "document 1" in conflict["message"]
    forced = await api.ok(query, {"c": s.cluster_id, "y": text, "f": True}, s.operator)
    assert forced["applyManifest"] == [{"name": "api", "action": "configured"}]
    stored = await s.get("/apis/apps/v1/namespaces/team-f/deployments/api")
    assert stored and stored["spec"]["replicas"] == 1


async def test_apply_manifest_rejects_bad_documents(api: Api, setup: Setup) -> None:
    s = setup
    before = s.writes()
    bad_yaml = MANIFEST.format(mode="a") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a\n"
    error = await api.error(APPLY, {"c": s.cluster_id, "y": bad_yaml, "d": False}, s.operator)
    detail = error["extensions"]["details"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert detail["document"] == 4 and detail["line"] == 32, detail
    assert "document 4" in error["message"] and "line 32" in error["message"]
    nameless = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\n"
    error = await api.error(APPLY, {"c": s.cluster_id, "y": nameless, "d": False}, s.operator)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "document 2" in error["message"] and "metadata.name" in error["message"]
    assert s.writes() == before


HISTORY = """query($c:ID!){ rolloutHistory(clusterId:$c,namespace:"team-r",name:"site"){
  revision replicaSet images current createdAt } }"""


async def test_rollout_history_rollback_and_restart(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-r")
    await api.ok(CREATE_WORKLOAD, {"c": s.cluster_id, "n": "team-r", "m": deployment("site", "site:1")}, s.operator)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "site:2"}]}}}}
    await api.ok(
        """mutation($c:ID!,$p:JSON!){ updateWorkload(clusterId:$c,kind:"Deployment",namespace:"team-r",name:"site",
        patch:$p){ name } }""",
        {"c": s.cluster_id, "p": patch},
        s.operator,
    )

    async def history() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await api.ok(HISTORY, {"c": s.cluster_id}, s.tenant.tokens["viewer"]))[
            "rolloutHistory"
        ]
        return found if len(found) == 2 and found[-1]["current"] else []

    revisions = await eventually(history)
    assert [(r["revision"], r["images"]) for r in revisions] == [(1, ["site:1"]), (2, ["site:2"])]
    assert revisions[0]["createdAt"].endswith("Z")
    assert await api.code(HISTORY, {"c": s.cluster_id}, s.other.tokens["tenant_admin"]) == "NOT_FOUND"

    rollback = """mutation($c:ID!,$r:Int!){ rollbackDeployment(clusterId:$c,namespace:"team-r",name:"site",
      revision:$r){ images } }"""
    await refused(api, s, rollback, {"c": s.cluster_id, "r": 1})
    assert (await api.ok(rollback, {"c": s.cluster_id, "r": 1}, s.operator))["rollbackDeployment"]["images"] == [
        "site:1"
    ]
    stored = await s.get("/apis/apps/v1/namespaces/team-r/deployments/site")
    assert stored and stored["spec"]["template"]["spec"]["containers"][0]["image"] == "site:1"
    assert "pod-template-hash" not in stored["spec"]["template"]["metadata"]["labels"]
    row = await audited(api, s, "deployment.rolled_back", f"{s.cluster_id}/Deployment/team-r/site")
    assert row["changes"]["toRevision"] == 1
    assert await api.code(rollback, {"c": s.cluster_id, "r": 9}, s.operator) == "NOT_FOUND"

    restart = """mutation($c:ID!){ restartDeployment(clusterId:$c,namespace:"team-r",name:"site"){ name } }"""
    await refused(api, s, restart, {"c": s.cluster_id})
    await api.ok(restart, {"c": s.cluster_id}, s.operator)
    stored = await s.get("/apis/apps/v1/namespaces/team-r/deployments/site")
    assert stored and "kubectl.kubernetes.io/restartedAt" in stored["spec"]["template"]["metadata"]["annotations"]
    await audited(api, s, "deployment.restarted", f"{s.cluster_id}/Deployment/team-r/site")
    assert_impersonated(s, "PATCH", "/apis/apps/v1/namespaces/team-r/deployments/site")


def job_spec(fail: bool, run_seconds: int = 1) -> dict[str, Any]:
    annotations = {"kubesim.io/run-seconds": str(run_seconds), "kubesim.io/fail": "true" if fail else "false"}
    return {
        "backoffLimit": 0,
        "template": {
            "metadata": {"annotations": annotations},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "task", "image": "busybox"}]},
        },
    }


async def test_trigger_cronjob(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-j")
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 3 * * *",
            "suspend": True,
            "jobTemplate": {"metadata": {"labels": {"run": "nightly"}}, "spec": job_spec(False)},
        },
    }
    await api.ok(CREATE_WORKLOAD, {"c": s.cluster_id, "n": "team-j", "m": cronjob}, s.operator)
    trigger = """mutation($c:ID!){ triggerCronJob(clusterId:$c,namespace:"team-j",name:"nightly"){ kind name } }"""
    await refused(api, s, trigger, {"c": s.cluster_id})
    job = (await api.ok(trigger, {"c": s.cluster_id}, s.operator))["triggerCronJob"]
    assert job["kind"] == "Job" and job["name"].startswith("nightly-manual-")
    stored = await s.get(f"/apis/batch/v1/namespaces/team-j/jobs/{job['name']}")
    assert stored and stored["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert stored["metadata"]["labels"]["run"] == "nightly"
    row = await audited(api, s, "cronjob.triggered", f"{s.cluster_id}/CronJob/team-j/nightly")
    assert row["changes"]["job"] == job["name"]
    assert_impersonated(s, "POST", "/apis/batch/v1/namespaces/team-j/jobs")


async def test_retry_failed_job(api: Api, setup: Setup) -> None:
    s = setup
    await make_namespace(api, s, "team-k")
    failing = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}, "spec": job_spec(True)}
    await api.ok(CREATE_WORKLOAD, {"c": s.cluster_id, "n": "team-k", "m": failing}, s.operator)
    retry = """mutation($c:ID!,$n:String!){ retryJob(clusterId:$c,namespace:"team-k",name:$n){ name } }"""
    running = {**failing, "metadata": {"name": "steady"}, "spec": job_spec(False, run_seconds=3600)}
    await api.ok(CREATE_WORKLOAD, {"c": s.cluster_id, "n": "team-k", "m": running}, s.operator)
    assert await api.code(retry, {"c": s.cluster_id, "n": "steady"}, s.operator) == "BAD_USER_INPUT"

    async def failed() -> bool:
        current = await s.get("/apis/batch/v1/namespaces/team-k/jobs/migrate") or {}
        return any(
            c["type"] == "Failed" and c["status"] == "True" for c in current.get("status", {}).get("conditions", [])
        )

    await eventually(failed, 20)
    await refused(api, s, retry, {"c": s.cluster_id, "n": "migrate"})
    retried = (await api.ok(retry, {"c": s.cluster_id, "n": "migrate"}, s.operator))["retryJob"]["name"]
    assert retried.startswith("migrate-retry-")
    old = await s.get("/apis/batch/v1/namespaces/team-k/jobs/migrate")
    new = await s.get(f"/apis/batch/v1/namespaces/team-k/jobs/{retried}")
    assert old and new and new["spec"]["selector"] != old["spec"]["selector"]
    assert new["spec"]["template"]["metadata"]["labels"]["controller-uid"] == new["metadata"]["uid"]
    assert new["metadata"]["annotations"]["fleetgraph.io/retry-of"] == "migrate"
    await audited(api, s, "job.retried", f"{s.cluster_id}/Job/team-k/migrate")


def test_manifest_parsing_limits() -> None:
    """JSON and kind: List are read too; a YAML alias bomb is refused before it is expanded."""
    item = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}'
    listed = '{"apiVersion":"v1","kind":"List","items":[' + item + "]}"
    assert [o.body["metadata"]["name"] for o in parse_manifest(listed)] == ["a"]
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(BadUserInput, match="too large"):
        parse_manifest("\n".join(levels))


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
