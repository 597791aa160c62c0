"""A kubesim cluster holding Secrets with a canary value, and callers on both sides of `secrets:read`.

The canary is in `data` (base64), in `stringData` (kubesim folds it into `data`), in kubectl's
last-applied annotation (in clear) and in another annotation that copies it. `LEAKS` lists
every form it takes; none may show in what a caller without an explicit, allowed ask receives.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from kubesim.fleet import Fleet
from tests.support.api import PASSWORD, Api, TenantUsers, make_tenant
from tests.support.clusters import register_cluster

CANARY = "s3cr3t-canary"
CLUSTER = "cluster-0"
NAMESPACE = "shop"
SECRET = "vault-creds"  # mounted by the pod `vault-reader`
SPARE = "spare-creds"  # used by nothing: a topology orphan
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KEPT = {"meta.helm.sh/release-name": "vault"}  # names its owner: shown to every reader
# secrets:read on the cluster: the operator by its tenant role, `upgraded` (a viewer) by its role there
READERS = ("operator", "upgraded")
# without it: a viewer, a custom operator role without it, an operator whose role there is developer
NON_READERS = ("viewer", "ops", "downgraded")
OPS_ROLE = ["clusters:read", "clusters:write", "workloads:read", "workloads:write"]
Message = dict[str, Any]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


LEAKS = (CANARY, b64(CANARY), b64(f"{CANARY}-token"), b64(f"{CANARY}-2"), b64(f"{CANARY}-3"))


def assert_clean(text: str, where: str) -> None:
    leaked = [form for form in LEAKS if form in text]
    assert not leaked, f"{where} carried the Secret's value {leaked}: {text[:1500]}"


def secret_body(name: str, value: str = CANARY, namespace: str = NAMESPACE) -> dict[str, Any]:
    """A Secret holding `value` as kubectl apply would leave it: in data, and in its annotations."""
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
               "stringData": {"password": value, "token": f"{value}-token"}}  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": "vault"},
            "annotations": {LAST_APPLIED: json.dumps(applied), "example.com/copy": b64(value), **KEPT},
        },
        "data": {"password": b64(value)},
        "stringData": {"token": f"{value}-token"},
    }


READER_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "vault-reader", "namespace": NAMESPACE, "labels": {"app": "vault-reader"}},
    "spec": {
        "containers": [{"name": "app", "image": "busybox:1.36", "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": SECRET, "key": "password"}}}]}],
        "volumes": [{"name": "creds", "secret": {"secretName": SECRET}}],
    },
}  # fmt: skip


@dataclass
class Canary:
    api: Api
    url: str
    fleet: Fleet
    tenant: TenantUsers
    cluster_id: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def kube(self, method: str, path: str, body: Any = None, content_type: str | None = None) -> Message:
        """A call straight to kubesim, as the cluster's admin (what happens behind Fleetgraph's back)."""
        headers = {"Authorization": f"Bearer {self.fleet.cluster(CLUSTER).token}"}
        if content_type:
            headers["Content-Type"] = content_type
        async with httpx.AsyncClient(base_url=self.fleet.server_url(CLUSTER), headers=headers) as http:
            content = json.dumps(body) if body is not None else None
            response = await http.request(method, path, content=content)
        assert response.status_code in (200, 201), response.text
        reply: Message = response.json()
        return reply

    async def put_secret(self, name: str, value: str = CANARY) -> Message:
        return await self.kube("POST", f"/api/v1/namespaces/{NAMESPACE}/secrets", secret_body(name, value))

    async def change_secret(self, name: str, value: str) -> Message:
        patch = {"data": {"password": b64(value)}}
        path = f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}"
        return await self.kube("PATCH", path, patch, "application/merge-patch+json")

    async def delete_secret(self, name: str) -> Message:
        return await self.kube("DELETE", f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}")


async def prepare(api: Api, url: str, provider_token: str, fleet: Fleet) -> Canary:
    """The Secrets and their reader in kubesim first (the first LIST holds them), then the tenant,
    its callers and their per-cluster roles, then the cluster."""
    tenant = await make_tenant(api, provider_token, roles=("viewer", "operator"))
    canary = Canary(api, url, fleet, tenant, "")
    for name in (SECRET, SPARE):
        await canary.put_secret(name)
    await canary.kube("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", READER_POD)
    admin = tenant.tokens["tenant_admin"]
    await api.ok(
        "mutation($p:[String!]!){ createRole(input:{name:\"ops-no-secrets\", permissions:$p}){ id } }",
        {"p": OPS_ROLE}, admin,
    )  # fmt: skip
    for user, role in (("ops", "ops-no-secrets"), ("downgraded", "operator"), ("upgraded", "viewer")):
        email = f"{user}@{tenant.slug}.test"
        created = await api.ok(
            "mutation($t:ID!,$in:CreateUserInput!){ createUser(tenantId:$t, input:$in){ id } }",
            {"t": tenant.id, "in": {"email": email, "name": user.title(), "role": role, "password": PASSWORD}},
            admin,
        )
        tenant.user_ids[user] = created["createUser"]["id"]
    canary.cluster_id = await register_cluster(api, tenant, fleet, "vault")
    for user, role in (("downgraded", "developer"), ("upgraded", "operator")):
        await api.ok(
            "mutation($t:ID!,$u:ID!,$c:ID!,$r:String){ setClusterRole(tenantId:$t, userId:$u, clusterId:$c, role:$r)"
            "{ id } }",
            {"t": tenant.id, "u": tenant.user_ids[user], "c": canary.cluster_id, "r": role}, admin,
        )  # fmt: skip
    canary.tokens = {role: tenant.tokens[role] for role in ("viewer", "operator", "tenant_admin")}
    for user in ("ops", "downgraded", "upgraded"):
        canary.tokens[user] = (await api.login(f"{user}@{tenant.slug}.test", PASSWORD))["accessToken"]
    return canary


class Socket:
    """A websocket whose every text frame is kept, to be checked for the canary."""

    def __init__(self, connection: ClientConnection, where: str) -> None:
        self.connection, self.where = connection, where
        self.texts: list[str] = []

    async def next(self, within: float) -> Message:
        text = await asyncio.wait_for(self.connection.recv(), timeout=within)
        assert isinstance(text, str)
        self.texts.append(text)
        assert_clean(text, self.where)
        message: Message = json.loads(text)
        return message

    async def until(self, wanted: Callable[[Message], bool], within: float = 10.0) -> Message:
        async with asyncio.timeout(within):
            while True:
                message = await self.next(within)
                if wanted(message):
                    return message

    async def close(self) -> None:
        await self.connection.close()


async def subscribe(
    url: str, token: str, query: str, variables: dict[str, Any], protocol: str = "graphql-transport-ws"
) -> Socket:
    connection = await websockets.connect(
        url.replace("http://", "ws://") + "/graphql", subprotocols=[protocol]  # type: ignore[list-item]
    )
    socket = Socket(connection, f"a {protocol} subscription")
    await connection.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    await socket.until(lambda m: m["type"] == "connection_ack")
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    await connection.send(json.dumps({"id": "s", "type": start, "payload": {"query": query, "variables": variables}}))
    return socket


async def legacy(url: str, token: str, **params: str) -> Socket:
    address = url.replace("http://", "ws://") + "/ws/resources?" + urlencode({"token": token, **params})
    return Socket(await websockets.connect(address), "the legacy websocket")


def payload(message: Message, field_name: str) -> Message:
    """The event of a subscription message (either protocol); errors fail the test."""
    assert message["type"] in ("next", "data"), message
    assert not message["payload"].get("errors"), message
    event: Message = message["payload"]["data"][field_name]
    return event
