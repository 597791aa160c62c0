"""Kubilitics' `/ws/resources` websocket: the same live streams as the GraphQL subscription, in its format.

Query parameters: `cluster_id` (without it: every cluster the caller may read), `namespace` (all by
default), and two additions: `kind` (comma-separated; the common workload and networking kinds by
default) and `initial` (`true` by default: the current objects first, as RESOURCE_ADDED, then the
changes, with no gap between them).

Credentials: `Authorization: Bearer <token>`, `X-API-Key: <key>`, or the `token` / `api_key` query
parameter (browsers cannot set headers on a websocket). Failures are sent as one `{"error": ...}`
frame, then the socket closes: 4401 bad or missing credentials (or a session that ended), 4403
forbidden, 4404 unknown cluster (another tenant's included), 4400 bad parameters.

Messages: `{"type": "RESOURCE_ADDED|RESOURCE_UPDATED|RESOURCE_DELETED", "cluster_id", "resource":
{"kind", "namespace", "name", "data"}, "timestamp"}`; `{"type": "RESYNC", ...}` (resource without a
name) tells a reader that fell behind to refetch that kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from app.auth.authenticate import credential_from
from app.context import RequestContext, build_context
from app.errors import AppError, BadUserInput
from app.realtime.mailbox import RESYNC
from app.services import Services
from resolvers.cluster_access import visible_cluster
from resolvers.realtime import resource_events

log = logging.getLogger("fleetgraph.realtime")

DEFAULT_KINDS = (
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Service",
    "ConfigMap",
    "Ingress",
    "PersistentVolumeClaim",
)
MAX_KINDS = 20
QUEUE_SIZE = 64  # frames between the per-kind streams and the socket; each stream coalesces behind it
CLOSE_CODES = {"UNAUTHENTICATED": 4401, "FORBIDDEN": 4403, "NOT_FOUND": 4404, "BAD_USER_INPUT": 4400}
TYPES = {"ADDED": "RESOURCE_ADDED", "MODIFIED": "RESOURCE_UPDATED", "DELETED": "RESOURCE_DELETED", RESYNC: RESYNC}


@dataclass(frozen=True)
class Request:
    cluster_id: str | None
    namespace: str | None
    kinds: tuple[str, ...]
    initial: bool


def parse_request(params: Any) -> Request:
    kinds = tuple(k.strip() for k in (params.get("kind") or "").split(",") if k.strip()) or DEFAULT_KINDS
    if len(kinds) > MAX_KINDS:
        raise BadUserInput.field("kind", f"at most {MAX_KINDS} kinds per connection")
    initial = (params.get("initial") or "true").lower()
    if initial not in ("true", "false", "1", "0"):
        raise BadUserInput.field("initial", "true or false")
    return Request(
        cluster_id=params.get("cluster_id") or None,
        namespace=params.get("namespace") or None,
        kinds=tuple(dict.fromkeys(kinds)),
        initial=initial in ("true", "1"),
    )


def legacy_message(event: dict[str, Any]) -> dict[str, Any]:
    """A resource event in Kubilitics' format."""
    return {
        "type": TYPES.get(event["type"], event["type"]),
        "cluster_id": event.get("clusterId"),
        "resource": {
            "kind": event.get("kind"),
            "namespace": event.get("namespace"),
            "name": event.get("name"),
            "data": event.get("object"),
        },
        "timestamp": event.get("timestamp") or datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error


Frame = dict[str, Any] | _Failed


async def _pump(stream: AsyncIterator[dict[str, Any]], queue: asyncio.Queue[Frame]) -> None:
    """One kind's events into the shared queue; while the queue is full, the stream's mailbox coalesces."""
    try:
        async for event in stream:
            await queue.put(legacy_message(event))
    except Exception as exc:
        await queue.put(_Failed(exc))


async def _watch_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _fail(websocket: WebSocket, error: Exception) -> None:
    if isinstance(error, AppError):
        code, message = CLOSE_CODES.get(error.code, 1011), error.message
    else:
        log.exception("resource stream failed", exc_info=error)
        code, message = 1011, "internal error"
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.send_json({"error": message, "code": code})
            await websocket.close(code=code, reason=message.encode()[:120].decode(errors="ignore"))


async def _stream(websocket: WebSocket, ctx: RequestContext, request: Request) -> None:
    queue: asyncio.Queue[Frame] = asyncio.Queue(QUEUE_SIZE)
    tasks = [
        asyncio.create_task(
            _pump(resource_events(ctx, request.cluster_id, kind, request.namespace, None, request.initial), queue)
        )
        for kind in request.kinds
    ]
    watcher = asyncio.create_task(_watch_disconnect(websocket))
    try:
        while True:
            getter = asyncio.create_task(queue.get())
            await asyncio.wait({getter, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                return  # the client went away
            frame = getter.result()
            if isinstance(frame, _Failed):
                await _fail(websocket, frame.error)
                return
            await websocket.send_json(frame)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the client went away while we were sending
    finally:
        for task in [*tasks, watcher]:
            task.cancel()
        await asyncio.gather(*tasks, watcher, return_exceptions=True)


async def resource_updates(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    params = websocket.query_params
    await websocket.accept()
    try:
        request = parse_request(params)
        credential = credential_from(websocket.headers) or params.get("token") or params.get("api_key")
        ctx = await build_context(services, websocket, None, credential or None)
        ctx.require_principal()
        if request.cluster_id:  # what the GraphQL field resourceEvents declares
            await visible_cluster(ctx, request.cluster_id, "clusters:read")
    except AppError as exc:
        await _fail(websocket, exc)
        return
    await _stream(websocket, ctx, request)
