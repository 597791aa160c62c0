"""ClusterClient against kubesim over HTTP: verbs, error mapping, impersonation, retries, breaker."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from app.errors import BadUserInput, Conflict, Forbidden, NotFound, RateLimited, UpstreamTimeout, UpstreamUnavailable
from app.k8s.client import ClusterClient, ListResult
from app.k8s.identity import Identity, acting_as
from app.k8s.kubeconfig import ClusterConnection
from kubesim.fleet import Fleet
from tests.support.waiting import eventually

from .conftest import Control, connection, make_client


def configmap(name: str, **data: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(name: str, replicas: int = 1) -> dict[str, object]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}}}}


async def test_crud_as_plain_dicts(control: Control, k8s: ClusterClient) -> None:
    created = await k8s.create("ConfigMap", "default", configmap("crud", a="1"))
    assert created["metadata"]["uid"] and created["data"] == {"a": "1"}
    assert (await k8s.get("cm", "default", "crud"))["metadata"]["uid"] == created["metadata"]["uid"]
    listed = await k8s.list("configmaps", "default")
    assert "crud" in [o["metadata"]["name"] for o in listed.items] and int(listed.resource_version) > 0
    created["data"] = {"a": "2"}
    assert (await k8s.replace("cm", "default", "crud", created))["data"] == {"a": "2"}
    assert (await k8s.patch("cm", "default", "crud", {"data": {"b": "3"}}))["data"] == {"a": "2", "b": "3"}
    ops = [{"op": "remove", "path": "/data/a"}]
    assert (await k8s.patch("cm", "default", "crud", ops, "json"))["data"] == {"b": "3"}
    applied = await k8s.patch("cm", "default", "crud", configmap("crud", c="4"), "apply", force=True)
    assert applied["data"]["c"] == "4"
    await k8s.delete("cm", "default", "crud")
    with pytest.raises(NotFound, match='configmaps "crud" not found'):
        await k8s.get("cm", "default", "crud")
    assert await control.calls("list", "configmaps") == 1
    assert k8s.calls[("list", "ConfigMap")] == 1 and k8s.calls[("patch", "ConfigMap")] == 3


async def test_selectors_scale_subresource_logs_and_version(k8s: ClusterClient) -> None:
    await k8s.create("Deployment", "default", deployment("scaled"))
    await k8s.create("cm", "default", {"metadata": {"name": "labelled", "labels": {"tier": "web"}}})
    assert [o["metadata"]["name"] for o in (await k8s.list("cm", None, label_selector="tier=web")).items] == [
        "labelled"]
    assert [o["metadata"]["name"] for o in (await k8s.list("cm", field_selector="metadata.name=labelled")).items] \
        == ["labelled"]
    await k8s.patch_subresource("deploy", "default", "scaled", "scale", {"spec": {"replicas": 4}})
    assert (await k8s.get_subresource("deploy", "default", "scaled", "scale"))["spec"]["replicas"] == 4
    assert (await k8s.patch("deploy", "default", "scaled", {"spec": {"replicas": 2}}, "strategic"))["spec"][
        "replicas"] == 2
    await k8s.create("Pod", "default", {"metadata": {"name": "talker"},
                                        "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}})
    with pytest.raises(BadUserInput, match='container "main" in pod "talker" is waiting to start'):
        await k8s.logs("default", "talker")
    running = {"status": {"phase": "Running", "startTime": "2026-01-01T00:00:00Z", "containerStatuses": [
        {"name": "main", "ready": True, "restartCount": 0, "image": "nginx:1.25",
         "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}}
    await k8s.patch_subresource("pods", "default", "talker", "status", running)
    lines = (await k8s.logs("default", "talker", "main", tail_lines=3)).splitlines()
    assert 0 < len(lines) <= 3
    assert (await k8s.version())["gitVersion"].startswith("v1.")


async def test_409_is_conflict_with_kubernetes_message(k8s: ClusterClient) -> None:
    first = await k8s.create("cm", "default", configmap("twice"))
    with pytest.raises(Conflict, match='configmaps "twice" already exists'):
        await k8s.create("cm", "default", configmap("twice"))
    await k8s.patch("cm", "default", "twice", {"data": {"x": "1"}})
    with pytest.raises(Conflict, match="the object has been modified"):
        await k8s.replace("cm", "default", "twice", first)


async def test_422_is_bad_user_input_with_causes(k8s: ClusterClient) -> None:
    with pytest.raises(BadUserInput) as caught:
        await k8s.create("cm", "default", configmap("Not_Valid"))
    assert "is invalid" in caught.value.message
    assert caught.value.details and caught.value.details[0]["field"] == "metadata.name"
    assert "RFC 1123" in caught.value.details[0]["message"]
    with pytest.raises(BadUserInput, match="does not match the expected kind"):  # 400
        await k8s.create("cm", "default", {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "x"}})
    with pytest.raises(BadUserInput, match="patchType"):
        await k8s.patch("cm", "default", "x", {}, "yaml")


async def test_401_from_the_cluster_is_forbidden(fleet: Fleet) -> None:
    wrong = ClusterConnection(server=fleet.server_url("cluster-0"), token="not-the-token")
    async with ClusterClient("cluster-0", wrong, timeout=1) as bad:
        with pytest.raises(Forbidden, match="cluster cluster-0: Unauthorized"):
            await bad.list("pods")


async def test_impersonation_headers_from_argument_or_context(control: Control, k8s: ClusterClient) -> None:
    await k8s.create("cm", "default", configmap("imp-a"), identity=Identity("alice@acme", ["tenant:acme", "ops"]))
    with acting_as(Identity("bob@acme", ["viewers"])):
        await k8s.get("cm", "default", "imp-a")
        await k8s.list("pods", identity=None)  # explicitly as the service itself
    await k8s.get("cm", "default", "imp-a")  # no identity bound
    records = (await control.stats())["impersonations"]
    assert [(r["user"], r["groups"], r["method"]) for r in records] == [
        ("alice@acme", ["tenant:acme", "ops"], "POST"),
        ("bob@acme", ["viewers"], "GET"),
    ]


async def test_impersonation_can_be_switched_off(fleet: Fleet, control: Control) -> None:
    async with make_client(fleet, impersonate=False) as client:
        await client.list("pods", identity=Identity("alice@acme", ["ops"]))
    assert (await control.stats())["impersonations"] == []


async def test_custom_kinds_by_discovery(kube: httpx.AsyncClient, k8s: ClusterClient) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}]}}
    (await kube.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)).raise_for_status()
    widget = await k8s.discover_kind("wd")
    assert (widget.kind, widget.api_version, widget.plural, widget.namespaced) == (
        "Widget", "example.com/v1", "widgets", True)
    await k8s.create("widgets", "default", {"apiVersion": "example.com/v1", "kind": "Widget",
                                            "metadata": {"name": "w1"}, "spec": {"size": 3}})
    assert [o["spec"]["size"] for o in (await k8s.list("Widget", "default")).items] == [3]
    assert k8s.calls[("list", "CustomResourceDefinition")] == 1  # found once, remembered
    with pytest.raises(BadUserInput, match="unknown resource kind 'gadgets' on cluster cluster-0"):
        await k8s.discover_kind("gadgets")


async def test_429_is_retried_for_reads_after_retry_after(control: Control, k8s: ClusterClient) -> None:
    await control.faults(errorCode=429, errorRate=1.0, retryAfter=1)
    read = asyncio.create_task(k8s.list("configmaps", "default"))
    for _ in range(250):  # until the first answer, a 429, has been sent
        if (await control.stats())["statuses"].get("429"):
            break
        await asyncio.sleep(0.02)
    await control.faults(errorCode=None, errorRate=0.0)
    assert (await read).resource_version  # the retry, after Retry-After, succeeded
    stats = await control.stats()
    assert stats["statuses"] == {"429": 1, "200": 1}
    assert k8s.calls[("list", "ConfigMap")] == 2


async def test_429_reads_give_up_and_writes_are_never_retried(control: Control, k8s: ClusterClient) -> None:
    await control.faults(errorCode=429, errorRate=1.0, retryAfter=0)
    with pytest.raises(RateLimited, match="cluster cluster-0 is throttling"):
        await k8s.get("cm", "default", "anything")
    assert (await control.stats())["statuses"] == {"429": 3}  # 1 + 2 retries
    with pytest.raises(RateLimited):
        await k8s.create("cm", "default", configmap("never"))
    assert (await control.stats())["statuses"] == {"429": 4}  # one more, not retried
    assert await k8s.circuit_state() == "closed"  # throttling is not a failure of the cluster


async def test_503_opens_the_circuit_then_it_recovers(fleet: Fleet, control: Control) -> None:
    async with make_client(fleet, retries=0, breaker_reset=0.5) as client:
        await control.faults(errorCode=503, errorRate=1.0)
        for _ in range(3):
            with pytest.raises(UpstreamUnavailable, match="cluster cluster-0: the server is currently unable"):
                await client.list("pods")
        assert await client.circuit_state() == "opened"
        with pytest.raises(UpstreamUnavailable, match="calls are suspended"):
            await client.list("pods")
        assert (await control.stats())["requests"] == 3  # the open circuit did not call
        await control.faults(errorCode=None, errorRate=0.0)
        assert (await after_the_reset_delay(client)).items == []
        assert await client.circuit_state() == "closed"


async def test_unreachable_cluster_opens_the_circuit_then_recovers(fleet: Fleet, control: Control) -> None:
    async with make_client(fleet, breaker_reset=0.5) as client:
        await client.version()
        await control.faults(unreachable=True)
        with pytest.raises(UpstreamUnavailable, match="cluster cluster-0 is unreachable"):
            await client.list("pods")  # 3 attempts: the read is retried, then the circuit opens
        assert client.calls[("list", "Pod")] == 3 and await client.circuit_state() == "opened"
        for _ in range(5):
            with pytest.raises(UpstreamUnavailable, match="cluster cluster-0 is unavailable"):
                await client.get("pods", "default", "x")
        assert client.calls[("get", "Pod")] == 0  # nothing sent while open
        await control.faults(unreachable=False)
        assert (await after_the_reset_delay(client)).items == []
        assert await client.circuit_state() == "closed"


async def after_the_reset_delay(client: ClusterClient) -> ListResult:
    """The first call the open circuit lets through: until its reset delay is over, each call fails
    at once without reaching the cluster."""

    async def trial() -> ListResult | None:
        try:
            return await client.list("pods", "kube-public")
        except UpstreamUnavailable as exc:
            if "calls are suspended" not in exc.message:
                raise
            return None

    return await eventually(trial, seconds=5, what="a call let through after the reset delay")


async def test_slow_cluster_times_out_while_another_answers(fleet: Fleet, control: Control) -> None:
    await control.faults("cluster-0", latency=3.0)
    async with make_client(fleet, "cluster-0", timeout=0.5) as slow, make_client(fleet, "cluster-1") as quick:
        slow_call = asyncio.create_task(slow.list("pods"))
        quick_call = asyncio.create_task(quick.list("pods"))
        done, _ = await asyncio.wait({slow_call, quick_call}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {quick_call} and quick_call.result().items == []
        with pytest.raises(UpstreamTimeout, match="cluster cluster-0 timed out"):
            await slow_call
        assert slow.calls[("list", "Pod")] == 1  # timeouts are not retried


async def test_watch_stream_with_bookmarks(k8s: ClusterClient, kube: httpx.AsyncClient) -> None:
    start = (await k8s.list("cm", "default")).resource_version
    await kube.post("/api/v1/namespaces/default/configmaps", json=configmap("watched"))
    events = []
    async with contextlib.aclosing(k8s.watch("cm", "default", start, timeout_seconds=5)) as stream:
        async for event in stream:
            events.append(event)
            if event.type == "ADDED":
                break
    assert events[-1].object["metadata"]["name"] == "watched" and events[-1].resource_version


async def test_tls_kubeconfig_verifies_the_ca(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="fleetgraph.k8s")
    from kubesim.fleet import start_fleet

    async with start_fleet(1, profile=None, seed=3, controllers=False, tls=True) as secure:
        good = connection(secure)
        assert good.server.startswith("https://") and good.ca_data
        async with ClusterClient("secure", good, timeout=2) as client:
            assert (await client.version())["major"] == "1"
        other_ca = connection(secure)
        other_ca.ca_data = None  # the system store does not know kubesim's CA
        async with ClusterClient("secure", other_ca, timeout=2, retries=0) as client:
            with pytest.raises(UpstreamUnavailable, match="^cluster secure is unreachable$"):
                await client.version()
        assert "certificate verify failed" in caplog.text  # the detail is for the log, not the caller
        skip = ClusterConnection(server=good.server, token=good.token, insecure_skip_tls_verify=True)
        async with ClusterClient("secure", skip, timeout=2) as client:
            assert (await client.version())["major"] == "1"


async def test_concurrency_is_bounded_per_cluster(fleet: Fleet, control: Control) -> None:
    """kubesim (in this event loop) records impersonated requests as they arrive, then holds each
    for its latency: when the first answer comes back, only the two calls with a slot have arrived."""
    server = fleet.cluster("cluster-0").control
    arrived_at_answers: list[int] = []
    await control.faults(latency=1.0)
    async with make_client(fleet, max_concurrency=2, timeout=5) as client:
        with acting_as(Identity("counted")):
            calls = [asyncio.create_task(client.list("pods", "kube-public")) for _ in range(4)]
            for call in calls:
                call.add_done_callback(lambda _: arrived_at_answers.append(len(server.impersonations)))
            await asyncio.gather(*calls)
    assert arrived_at_answers[0] == 2, "the other two waited for a slot, not for the server"
    assert len((await control.stats())["impersonations"]) == 4
