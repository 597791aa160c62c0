"""Table output: the columns and cells kubectl prints."""

from __future__ import annotations

import httpx
import pytest

from kubesim.tables import human_duration

TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


@pytest.mark.parametrize(("seconds", "text"), [
    (5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 60, "3h1m"), (20 * 3600, "20h"),
    (3 * 86400 + 7200, "3d2h"), (30 * 86400, "30d"), (3 * 365 * 86400, "3y"),
])
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


async def test_pod_and_quota_tables(raw: httpx.AsyncClient) -> None:
    await raw.post("/api/v1/namespaces", json={"metadata": {"name": "tables"}})
    await raw.post("/api/v1/namespaces/tables/pods", json={"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}})
    await raw.patch("/api/v1/namespaces/tables/pods/p/status", headers={
        "Content-Type": "application/merge-patch+json"}, json={"status": {"phase": "Running", "containerStatuses": [
            {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
            {"name": "b", "ready": False, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}})
    pods = (await raw.get("/api/v1/namespaces/tables/pods", headers=TABLE)).json()
    assert pods["kind"] == "Table"
    assert [c["name"] for c in pods["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    assert pods["rows"][0]["cells"][:4] == ["p", "1/2", "CrashLoopBackOff", 3]
    assert pods["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    await raw.post("/api/v1/namespaces/tables/resourcequotas", json={"metadata": {"name": "q"}, "spec": {"hard": {
        "requests.cpu": "4", "limits.cpu": "8", "pods": "20"}}})
    quota = (await raw.get("/api/v1/namespaces/tables/resourcequotas/q", headers=TABLE)).json()
    assert [c["name"] for c in quota["columnDefinitions"]] == ["Name", "Age", "Request", "Limit"]
    assert quota["rows"][0]["cells"][2:] == ["pods: 0/20, requests.cpu: 0/4", "limits.cpu: 0/8"]
    full = (await raw.get("/api/v1/namespaces/tables/pods", params={"includeObject": "Object"},
                          headers=TABLE)).json()
    assert full["rows"][0]["object"]["kind"] == "Pod"
