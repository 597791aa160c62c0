"""One cluster's Kubernetes API, as plain JSON dicts, for every kind.

Calls go through the cluster's ``Transport`` (timeout, concurrency slots, token bucket, circuit
breaker, retries of reads) and fail only with the errors of ``app.errors``: connection
errors, 5xx and an open circuit are ``UpstreamUnavailable``, timeouts ``UpstreamTimeout``,
404 ``NotFound``, 409 ``Conflict``, 410 ``ResourceExpired`` (a ``Conflict``), 422 and 400
``BadUserInput`` (422 causes become per-field details), 401/403 ``Forbidden``, 429 after the
retries ``RateLimited``.

Impersonation: each call takes ``identity=``. Left out, the identity bound with
``app.k8s.identity.acting_as`` (the ``current_identity`` context variable) is used;
``identity=None`` calls with the cluster's own credentials. See ``app.k8s.identity``.

Names: a request is addressed by ``app.k8s.paths``, which checks every name, namespace and kind
(``app.k8s.names``) before anything is sent; a verb on one object takes an ``ObjectPath``, which
cannot be made without a valid name. A bad one is ``BadUserInput`` on ``name``, ``namespace`` or
``kind``, and the cluster never sees it.

``calls`` counts the HTTP requests sent, per (verb, kind), retries included.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
from purgatory import AsyncCircuitBreakerFactory

from app.errors import BadUserInput, UpstreamTimeout, UpstreamUnavailable

from .identity import FROM_CONTEXT, IdentityArg, resolve_identity
from .kubeconfig import ClusterConnection
from .names import LABEL, check, check_kind
from .paths import VERSION, ApiPath, CollectionPath, ObjectPath
from .resources import BUILTIN_KINDS, ResourceKind, find_kind, kind_from_crd
from .status import status_error
from .transport import ClientOptions, Reply, Transport

KindRef = str | ResourceKind
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
FIELD_MANAGER = "fleetgraph"


@dataclass(frozen=True)
class ListResult:
    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str | None = None


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED or BOOKMARK
    object: dict[str, Any]

    @property
    def resource_version(self) -> str | None:
        return (self.object.get("metadata") or {}).get("resourceVersion")


class ClusterClient:
    def __init__(self, name: str, connection: ClusterConnection, options: ClientOptions | None = None, *,
                 breakers: AsyncCircuitBreakerFactory | None = None, **settings: Any) -> None:
        self.name = name
        self.options = replace(options or ClientOptions(), **settings)
        self._transport = Transport(name, connection, self.options, breakers)
        self._custom: dict[str, ResourceKind] = {}

    @property
    def errors(self) -> int:
        """Requests and watches that failed (unreachable, timed out, 5xx, circuit open)."""
        return self._transport.errors

    @property
    def calls(self) -> Counter[tuple[str, str]]:
        return self._transport.calls

    @property
    def connection(self) -> ClusterConnection:
        return self._transport.connection

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> ClusterClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def circuit_state(self) -> str:
        return await self._transport.circuit_state()

    # -- kinds ----------------------------------------------------------------------------------

    async def kind(self, kind: KindRef) -> ResourceKind:
        if isinstance(kind, ResourceKind):
            return kind
        return find_kind(kind) or self._custom.get(kind.lower()) or await self.discover_kind(kind)

    async def discover_kind(self, name: str) -> ResourceKind:
        """A built-in kind, or a custom one served by this cluster (one LIST of its CRDs on a miss)."""
        check_kind(name)
        found = find_kind(name) or self._custom.get(name.strip().lower())
        if found is not None:
            return found
        crds = await self.list(BUILTIN_KINDS["CustomResourceDefinition"], identity=None)
        for crd in crds.items:
            custom = kind_from_crd(crd)
            if custom is not None:
                self._custom.update({alias: custom for alias in custom.names()})
        found = self._custom.get(name.strip().lower())
        if found is None:
            raise BadUserInput.field("kind", f"unknown resource kind {name!r} on cluster {self.name}")
        return found

    # -- verbs ----------------------------------------------------------------------------------

    async def _call(self, method: str, verb: str, kind: ResourceKind, path: ApiPath, *,
                    query: list[tuple[str, str]] | None = None, body: Any = None, content_type: str | None = None,
                    identity: IdentityArg = FROM_CONTEXT) -> Reply:
        reply = await self._transport.request(method, path, verb=verb, kind=kind.kind, query=query, body=body,
                                              content_type=content_type, identity=resolve_identity(identity))
        if reply.status >= 400:
            raise status_error(self.name, reply.status, reply.body)
        return reply

    async def get(self, kind: KindRef, namespace: str | None, name: str, *,
                  identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        rk = await self.kind(kind)
        return (await self._call("GET", "get", rk, ObjectPath(rk, namespace, name), identity=identity)).json()

    async def list(self, kind: KindRef, namespace: str | None = None, label_selector: str | None = None,
                   field_selector: str | None = None, *, limit: int | None = None,
                   continue_token: str | None = None, identity: IdentityArg = FROM_CONTEXT) -> ListResult:
        rk = await self.kind(kind)
        query = _query(labelSelector=label_selector, fieldSelector=field_selector, limit=limit,
                       **{"continue": continue_token})
        path = CollectionPath(rk, namespace)
        data = (await self._call("GET", "list", rk, path, query=query, identity=identity)).json()
        meta = data.get("metadata") or {}
        return ListResult(data.get("items") or [], str(meta.get("resourceVersion", "")), meta.get("continue") or None)

    async def create(self, kind: KindRef, namespace: str | None, body: dict[str, Any], *, dry_run: bool = False,
                     field_manager: str = FIELD_MANAGER, identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        rk = await self.kind(kind)
        if rk.namespaced and namespace is None:
            raise BadUserInput.field("namespace", f"a {rk.kind} lives in a namespace: give one")
        query = _query(fieldManager=field_manager, dryRun="All" if dry_run else None)
        path = CollectionPath(rk, namespace)
        reply = await self._call("POST", "create", rk, path, query=query, body=body, identity=identity)
        return reply.json()

    async def replace(self, kind: KindRef, namespace: str | None, name: str, body: dict[str, Any], *,
                      dry_run: bool = False, field_manager: str = FIELD_MANAGER,
                      identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        rk = await self.kind(kind)
        query = _query(fieldManager=field_manager, dryRun="All" if dry_run else None)
        reply = await self._call("PUT", "update", rk, ObjectPath(rk, namespace, name), query=query, body=body,
                                 identity=identity)
        return reply.json()

    async def patch(self, kind: KindRef, namespace: str | None, name: str, body: Any, patch_type: str = "merge",
                    *, field_manager: str = FIELD_MANAGER, force: bool = False, dry_run: bool = False,
                    subresource: str | None = None, identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        """``patch_type`` is ``merge``, ``strategic``, ``json`` (a list of operations) or ``apply``."""
        if patch_type not in PATCH_TYPES:
            raise BadUserInput.field("patchType", f"must be one of {', '.join(PATCH_TYPES)}")
        rk = await self.kind(kind)
        query = _query(fieldManager=field_manager, dryRun="All" if dry_run else None,
                       force="true" if force and patch_type == "apply" else None)
        reply = await self._call("PATCH", "patch", rk, ObjectPath(rk, namespace, name, subresource), query=query,
                                 body=body, content_type=PATCH_TYPES[patch_type], identity=identity)
        return reply.json()

    async def delete(self, kind: KindRef, namespace: str | None, name: str, *, propagation: str = "Background",
                     grace_period: int | None = None, dry_run: bool = False,
                     identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        """The deleted object (or the object pending deletion), or the Status Kubernetes answers with."""
        rk = await self.kind(kind)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if dry_run:
            options["dryRun"] = ["All"]
        path = ObjectPath(rk, namespace, name)
        reply = await self._call("DELETE", "delete", rk, path, body=options, identity=identity)
        return reply.json()

    async def get_subresource(self, kind: KindRef, namespace: str | None, name: str, subresource: str, *,
                              identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        rk = await self.kind(kind)
        reply = await self._call("GET", "get", rk, ObjectPath(rk, namespace, name, subresource), identity=identity)
        return reply.json()

    async def create_subresource(self, kind: KindRef, namespace: str | None, name: str, subresource: str,
                                 body: dict[str, Any], *, identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        """POST to a subresource (a pod's `eviction`, say)."""
        rk = await self.kind(kind)
        reply = await self._call("POST", "create", rk, ObjectPath(rk, namespace, name, subresource), body=body,
                                 identity=identity)
        return reply.json()

    async def patch_subresource(self, kind: KindRef, namespace: str | None, name: str, subresource: str,
                                body: Any, patch_type: str = "merge", *,
                                identity: IdentityArg = FROM_CONTEXT) -> dict[str, Any]:
        return await self.patch(kind, namespace, name, body, patch_type, subresource=subresource, identity=identity)

    async def logs(self, namespace: str, pod: str, container: str | None = None, tail_lines: int | None = None,
                   since_seconds: int | None = None, *, since_time: datetime | None = None, timestamps: bool = False,
                   limit_bytes: int | None = None, identity: IdentityArg = FROM_CONTEXT) -> str:
        """A container's log as text; with ``timestamps`` each line starts with the kubelet's RFC 3339 time."""
        path = _log_path(namespace, pod, container)
        query = _log_query(container, tail_lines, since_seconds, since_time, timestamps)
        query += _query(limitBytes=limit_bytes)
        reply = await self._call("GET", "logs", BUILTIN_KINDS["Pod"], path, query=query, identity=identity)
        return reply.body.decode(errors="replace")

    @contextlib.asynccontextmanager
    async def follow_logs(self, namespace: str, pod: str, container: str | None = None, *,
                          tail_lines: int | None = None, since_seconds: int | None = None, timestamps: bool = True,
                          identity: IdentityArg = FROM_CONTEXT) -> AsyncIterator[AsyncIterator[str]]:
        """``kubectl logs -f``: entering returns once the kubelet accepted; the lines then come as
        they are written, until the container stops or the pod goes (the server ends the stream).
        A quiet log is not a failure: the stream has no read deadline, only the connect one."""
        path = _log_path(namespace, pod, container)
        query = _log_query(container, tail_lines, since_seconds, None, timestamps) + [("follow", "true")]
        async with self._transport.stream(path, kind="Pod", verb="logs", query=query, read_timeout=None,
                                          identity=resolve_identity(identity)) as response:
            lines = self._log_lines(pod, response)
            try:
                yield lines
            finally:
                await lines.aclose()

    async def _log_lines(self, pod: str, response: aiohttp.ClientResponse) -> AsyncGenerator[str, None]:
        try:
            async for line in response.content:
                yield line.decode(errors="replace").rstrip("\r\n")
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"cluster {self.name}: the log of pod {pod} broke off: {exc}") from None

    async def version(self) -> dict[str, Any]:
        reply = await self._transport.request("GET", VERSION, verb="get", kind="Version")
        if reply.status >= 400:
            raise status_error(self.name, reply.status, reply.body)
        data = reply.json()
        return data if isinstance(data, dict) else {}

    # -- watch ----------------------------------------------------------------------------------

    async def watch(self, kind: KindRef, namespace: str | None = None, resource_version: str | None = None, *,
                    label_selector: str | None = None, field_selector: str | None = None,
                    timeout_seconds: int | None = None,
                    identity: IdentityArg = FROM_CONTEXT) -> AsyncGenerator[WatchEvent, None]:
        """Events from ``resource_version`` on, bookmarks included, until the server ends the stream.

        An ERROR event raises its mapped error: ``ResourceExpired`` (410) means list again. Close
        the iterator (``contextlib.aclosing``) when leaving it early, to end the request.
        """
        async with self.open_watch(kind, namespace, resource_version, label_selector=label_selector,
                                   field_selector=field_selector, timeout_seconds=timeout_seconds,
                                   identity=identity) as events:
            async for event in events:
                yield event

    @contextlib.asynccontextmanager
    async def open_watch(self, kind: KindRef, namespace: str | None = None, resource_version: str | None = None, *,
                         label_selector: str | None = None, field_selector: str | None = None,
                         timeout_seconds: int | None = None,
                         identity: IdentityArg = FROM_CONTEXT) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        """``watch`` in two steps: entering returns once the server accepted the watch."""
        rk = await self.kind(kind)
        seconds = timeout_seconds or self.options.watch_timeout
        query = _query(watch="1", allowWatchBookmarks="true", timeoutSeconds=seconds,
                       resourceVersion=resource_version, labelSelector=label_selector, fieldSelector=field_selector)
        async with self._transport.stream(CollectionPath(rk, namespace), kind=rk.kind, query=query,
                                          read_timeout=seconds + self.options.timeout,
                                          identity=resolve_identity(identity)) as response:
            events = self._events(rk, response)
            try:
                yield events
            finally:
                await events.aclose()

    async def _events(self, rk: ResourceKind, response: aiohttp.ClientResponse) -> AsyncGenerator[WatchEvent, None]:
        try:
            async for line in response.content:
                if line.strip():
                    yield self._event(line)
        except TimeoutError:
            raise UpstreamTimeout(f"cluster {self.name}: watch of {rk.qualified} went silent") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"cluster {self.name}: watch of {rk.qualified} broke: {exc}") from None

    def _event(self, line: bytes) -> WatchEvent:
        try:
            event = json.loads(line)
            etype, obj = str(event["type"]), event["object"]
        except (ValueError, KeyError, TypeError):
            raise UpstreamUnavailable(f"cluster {self.name} sent a malformed watch event") from None
        if etype == "ERROR":
            raise status_error(self.name, int(obj.get("code") or 500), obj)
        return WatchEvent(etype, obj)


def _log_path(namespace: str, pod: str, container: str | None) -> ObjectPath:
    if container is not None:
        check("container", container, LABEL)
    return ObjectPath(BUILTIN_KINDS["Pod"], namespace, pod, "log", name_field="pod")


def _log_query(container: str | None, tail_lines: int | None, since_seconds: int | None,
               since_time: datetime | None, timestamps: bool) -> list[tuple[str, str]]:
    since = since_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since_time is not None else None
    return _query(container=container, tailLines=tail_lines, sinceSeconds=since_seconds, sinceTime=since,
                  timestamps="true" if timestamps else None)


def _query(**params: Any) -> list[tuple[str, str]]:
    return [(key, str(value)) for key, value in params.items() if value is not None]
