"""Live streams: Kubernetes changes and cluster status, authorised once at subscribe time and
ended when the caller's token expires or their session is revoked."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

from app.auth.authenticate import still_signed_in
from app.auth.principal import Principal
from app.context import RequestContext
from app.errors import BadUserInput, RateLimited, Unauthenticated
from app.k8s import secret_policy
from app.k8s.resources import ResourceKind
from app.realtime.bus import resource_channel, status_channel
from app.realtime.expiry import Alarm, seconds_until
from app.realtime.mailbox import RESYNC, Mailbox, ObjectKey, object_key
from app.realtime.publisher import event_payload
from loaders.clusters import ensure_registered
from resolvers import kube
from resolvers.cluster_access import may_on_cluster
from resolvers.clusters import get_cluster
from resolvers.fleet import tenant_clusters

Event = dict[str, Any]


async def _resolve_kind(ctx: RequestContext, cluster_id: str, kind: str) -> ResourceKind:
    return await ctx.services.gateway.client(cluster_id).kind(kind)


async def _clusters(ctx: RequestContext, cluster_id: str | None) -> list[str]:
    """The clusters streamed: the one asked for (its readers checked by whoever asks: the field's
    declaration, the legacy websocket), or every one of the tenant the caller may read."""
    principal = ctx.require_principal()
    if cluster_id is not None:
        chosen = [await get_cluster(ctx, cluster_id)]
    elif principal.tenant_id is None:
        raise BadUserInput.field("clusterId", "provider staff must name a cluster")
    else:
        everyone = await tenant_clusters(ctx, principal.tenant_id)
        chosen = [c for c in everyone if await may_on_cluster(ctx, c.id, "clusters:read")]
    for cluster in chosen:
        ensure_registered(ctx.services.gateway, ctx.services.sealer, cluster)
    return [c.id for c in chosen]


class _View:
    """What one subscriber sees: its filter, and which objects it has been shown."""

    def __init__(self, namespace: str | None, label_selector: str | None) -> None:
        self.namespace = namespace
        self.matches = kube.parse_label_selector(label_selector)
        self.visible: dict[ObjectKey, int] = {}
        self.primed = False  # set once an initial list (or a re-list) has been sent

    def admits(self, obj: Event) -> bool:
        meta = obj.get("metadata") or {}
        return (self.namespace is None or meta.get("namespace") == self.namespace) and self.matches(
            meta.get("labels") or {}
        )

    def diff(self, cluster_id: str, kind: str, objects: list[Event]) -> list[Event]:
        """The events that bring this subscriber from what it was shown to `objects`."""
        self.primed = True
        events = [e for e in (self.translate(event_payload(cluster_id, kind, "ADDED", o)) for o in objects) if e]
        present = {object_key(event_payload(cluster_id, kind, "ADDED", o)) for o in objects}
        for key in [k for k in self.visible if k[0] == cluster_id and k[1] == kind and k not in present]:
            del self.visible[key]
            events.append(
                {
                    "type": "DELETED",
                    "clusterId": cluster_id,
                    "kind": kind,
                    "namespace": key[2],
                    "name": key[3],
                    "resourceVersion": None,
                    "object": None,
                    "timestamp": None,
                }
            )
        return events

    def translate(self, event: Event) -> Event | None:
        """The event as this subscriber should see it: a move out of its filter is a DELETED."""
        if event["type"] == RESYNC:
            self.visible.clear()
            return event
        key, rv = object_key(event), _rv(event)
        shown = key in self.visible
        if shown and rv is not None and rv <= self.visible[key] and event["type"] != "DELETED":
            return None  # already in the initial list
        if event["type"] == "DELETED" or not self.admits(event["object"]):
            self.visible.pop(key, None)
            return {**event, "type": "DELETED"} if shown else None
        self.visible[key] = rv or 0
        if not shown and not self.primed:
            return event  # no initial list was sent: report the change as the cluster did
        seen_as = "MODIFIED" if shown else "ADDED"
        return event if event["type"] == seen_as else {**event, "type": seen_as}  # the same dict shares best


def _rv(event: Event) -> int | None:
    try:
        return int(event.get("resourceVersion") or "")
    except ValueError:
        return None


@contextlib.contextmanager
def _tenant_slot(ctx: RequestContext) -> Iterator[None]:
    """Counts a tenant's open streams in this process; past the cap a new one is refused."""
    key = ctx.require_principal().tenant_id or "provider"
    open_streams = ctx.services.stream_counts
    if open_streams[key] >= ctx.settings.max_subscriptions_per_tenant:
        raise RateLimited(f"this tenant already has {open_streams[key]} live streams open; close some first")
    open_streams[key] += 1
    try:
        yield
    finally:
        open_streams[key] -= 1


async def resource_events(
    ctx: RequestContext,
    cluster_id: str | None,
    kind: str,
    namespace: str | None,
    label_selector: str | None,
    include_initial: bool,
) -> AsyncIterator[Event]:
    with _tenant_slot(ctx):
        async with ctx.services.handshakes:  # a burst of subscribes queues for the database
            cluster_ids = await _clusters(ctx, cluster_id)
        view = _View(namespace, label_selector)
        mailbox = Mailbox(ctx.settings.subscription_queue_size)
        kinds = {cid: await _resolve_kind(ctx, cid, kind) for cid in cluster_ids}
        async with contextlib.AsyncExitStack() as stack:
            for cid, rk in kinds.items():
                await stack.enter_async_context(ctx.services.bus.listen(resource_channel(cid, rk.kind), mailbox.put))
                await ctx.services.watches.want(cid, rk)
            if include_initial:
                for cid, rk in kinds.items():
                    for event in view.diff(cid, rk.kind, await _snapshot(ctx, cid, rk)):
                        yield _leaving(event)
            signed_in = _SignedIn(ctx, mailbox)
            stack.callback(signed_in.close)
            while True:
                event = await signed_in.next()
                if event["type"] == RESYNC and event.get("reason") == "takeover":
                    cid = str(event["clusterId"])
                    for change in view.diff(cid, kinds[cid].kind, await _snapshot(ctx, cid, kinds[cid])):
                        yield _leaving(change)
                    continue
                seen = view.translate(event)
                if seen is not None:
                    yield _leaving(seen)


def _leaving(event: Event) -> Event:
    """The event as the Secret policy lets it leave: a Secret's values never do (no stream asks
    for them). The redacted object is the same for every subscriber, so they still share the event."""
    obj = event.get("object")
    if not isinstance(obj, dict):
        return event
    shown = secret_policy.leaving(event.get("kind"), obj)
    return event if shown is obj else {**event, "object": shown}


async def _snapshot(ctx: RequestContext, cluster_id: str, kind: ResourceKind) -> list[Event]:
    """The objects now: from this process's cache, or, when another replica owns the cluster's
    watches, from one LIST (so the deployment still holds a single watch per kind); Secrets redacted."""
    if ctx.services.watches.distributed:
        result = await ctx.services.gateway.client(cluster_id).list(kind, identity=None)
        return secret_policy.leaving_all(kind, result.items)
    return await ctx.services.gateway.objects(cluster_id, kind)


async def cluster_status(ctx: RequestContext, tenant_id: str | None) -> AsyncIterator[Event]:
    mailbox = Mailbox(ctx.settings.subscription_queue_size)
    async with ctx.services.bus.listen(status_channel(tenant_id), mailbox.put):
        async for event in _until_signed_out(ctx, mailbox):
            yield event


class _SignedIn:
    """A mailbox read while its caller is signed in: one timer per stream wakes the reader when the
    token expires or the session is due a recheck (no timeout per event)."""

    def __init__(self, ctx: RequestContext, mailbox: Mailbox) -> None:
        self.ctx, self.mailbox = ctx, mailbox
        self.principal = ctx.require_principal()
        self.alarm = Alarm(mailbox.wake)
        _arm(ctx, self.principal, self.alarm)
        # a sign-out from now on rings the alarm; one before now is found by the first check
        self._stop_watching = ctx.services.sign_outs.watch(self.principal, self.alarm)
        self._checked = False

    async def next(self) -> Event:
        while True:
            await self._recheck_if_due()  # also when the alarm rang while no one was waiting
            event = await self.mailbox.next()
            await self._recheck_if_due()
            if event is not None:
                return event

    async def _recheck_if_due(self) -> None:
        if self.alarm.due or not self._checked:
            await _check_signed_in(self.ctx, self.principal)
            _arm(self.ctx, self.principal, self.alarm)
            self._checked = True

    def close(self) -> None:
        self.alarm.cancel()
        self._stop_watching()


async def _until_signed_out(ctx: RequestContext, mailbox: Mailbox) -> AsyncGenerator[Event, None]:
    """The mailbox's events until the token expires or the session is revoked."""
    signed_in = _SignedIn(ctx, mailbox)
    try:
        while True:
            yield await signed_in.next()
    finally:
        signed_in.close()


def _arm(ctx: RequestContext, principal: Principal, alarm: Alarm) -> None:
    """The next check: at the recheck interval, or when the token expires if that is sooner."""
    wait = ctx.settings.subscription_recheck_seconds
    if principal.expires_at is not None:
        left = seconds_until(principal.expires_at)
        if left <= 0:
            raise Unauthenticated("token expired: subscribe again with a fresh token")
        wait = min(wait, left)
    alarm.set(wait)


async def _check_signed_in(ctx: RequestContext, principal: Principal) -> None:
    if principal.expires_at is not None and seconds_until(principal.expires_at) <= 0:
        raise Unauthenticated("token expired: subscribe again with a fresh token")
    checks, max_age = ctx.services.session_checks, ctx.settings.subscription_recheck_seconds / 2
    if not await checks.signed_in(principal, lambda: still_signed_in(ctx.db, principal), max_age):
        raise Unauthenticated("session ended: sign in again")


# for the other live streams (operations, notifications, topology)
until_signed_out = _until_signed_out
snapshot = _snapshot
tenant_slot = _tenant_slot
