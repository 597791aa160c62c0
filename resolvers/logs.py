"""Log entries read from the pods themselves, through the gateway: nothing is collected or stored.

Every read asks the kubelet for `timestamps=true` lines, so each line carries the time it was
written; its level comes from app/log_lines.py. A search fans out over the pods' logs with the
Kubernetes `sinceTime` and `tailLines` parameters, within fixed bounds:

- at most `MAX_PODS` pods per read or search (the most recently created first; `truncated` says
  when more matched), every started container of each;
- at most `SEARCH_LINES` lines per container in a search (the newest since `since`), and at most
  `MAX_TAIL` for a tail;
- at most `CONCURRENCY` log reads at once per request.

`until`, the severity (that level or more severe) and the text (case-insensitive) are applied
to what the pods return. One cluster or pod that cannot answer is one failure entry beside the
others' lines. `entry(id)` reads the named container's log again from the second before the
entry's time and finds the line by time and hash. `follow` is `kubectl logs -f`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.context import RequestContext
from app.db.models import Cluster
from app.errors import AppError, BadUserInput, NotFound
from app.k8s.reading import Reader, name_of, namespace_of
from app.log_lines import EntryKey, at_least, entry_id, known_level, level_of, line_hash, parse_entry_id, split_stamp
from app.realtime.mailbox import Mailbox
from loaders.clusters import ensure_registered
from resolvers import kube
from resolvers.cluster_access import may_on_cluster
from resolvers.clusters import get_cluster
from resolvers.fleet import tenant_clusters
from resolvers.realtime import tenant_slot, until_signed_out

MAX_PODS = 50
SEARCH_LINES = 500
MAX_TAIL = 1000
CONCURRENCY = 8
ENTRY_BYTES = 1 << 20  # read back from an entry's time: enough for the lines of that second
FOLLOW_BUFFER = 1000  # lines read ahead of a slow subscriber before the log is read no further
READ = "workloads:read"
Obj = dict[str, Any]
_OWNERS = {"ReplicaSet": "Deployment", "Job": "CronJob"}  # a pod's owner, and that owner's owner


@dataclass(frozen=True)
class LogEntry:
    id: str
    timestamp: datetime
    level: str
    message: str
    cluster_id: str
    cluster_name: str
    namespace: str
    pod: str
    container: str


@dataclass(frozen=True)
class LogFailure:
    cluster_id: str
    cluster_name: str
    code: str
    message: str
    namespace: str | None = None
    pod: str | None = None


@dataclass
class LogLines:
    entries: list[LogEntry] = field(default_factory=list)
    failures: list[LogFailure] = field(default_factory=list)
    truncated: bool = False  # more pods matched than one read covers


@dataclass(frozen=True)
class Source:
    """One container's log, and how much of it to read."""

    cluster: Cluster
    namespace: str
    pod: str
    container: str


@dataclass(frozen=True)
class Window:
    since: datetime | None = None
    since_seconds: int | None = None
    tail: int | None = None


@dataclass(frozen=True)
class Filters:
    until: datetime | None = None
    severity: str | None = None
    text: str | None = None

    def keeps(self, entry: LogEntry) -> bool:
        return (
            (self.until is None or entry.timestamp <= self.until)
            and (self.severity is None or at_least(entry.level, self.severity))
            and (self.text is None or self.text.lower() in entry.message.lower())
        )


def entries_of(raw: str, source: Source) -> list[LogEntry]:
    """The stamped lines of a log read with `timestamps=true`, as entries (unstamped lines are skipped)."""
    found = []
    for line in raw.splitlines():
        stamped = split_stamp(line)
        if stamped is not None:
            found.append(_entry(source, stamped.stamp, stamped.moment, stamped.text))
    return found


def _entry(source: Source, stamp: str, moment: datetime, text: str) -> LogEntry:
    key = EntryKey(source.cluster.id, source.namespace, source.pod, source.container, stamp, line_hash(text))
    return LogEntry(entry_id(key), moment, level_of(text), text, source.cluster.id, source.cluster.name,
                    source.namespace, source.pod, source.container)  # fmt: skip


async def _cluster(ctx: RequestContext, cluster_id: str) -> Cluster:
    cluster = await get_cluster(ctx, cluster_id)
    ensure_registered(ctx.services.gateway, ctx.services.sealer, cluster)
    return cluster


async def _read(ctx: RequestContext, source: Source, window: Window) -> list[LogEntry]:
    client = ctx.services.gateway.client(source.cluster.id)
    raw = await client.logs(source.namespace, source.pod, source.container, window.tail, window.since_seconds,
                            since_time=window.since, timestamps=True, identity=ctx.kube_identity())  # fmt: skip
    return entries_of(raw, source)


def started_containers(pod: dict[str, Any]) -> list[str]:
    """The containers of a pod that have run (a waiting one has no log yet), in spec order."""
    r = Reader(pod, "Pod")
    started = {
        s.text("name")
        for s in (*r.each("status.containerStatuses"), *r.each("status.initContainerStatuses"))
        if {"running", "terminated"} & set(s.mapping("state"))
    }
    names = [c.text("name") for c in (*r.each("spec.initContainers"), *r.each("spec.containers"))]
    return [n for n in names if n and n in started]


def check_window(since_seconds: int | None, tail: int | None) -> None:
    if tail is not None and not 1 <= tail <= MAX_TAIL:
        raise BadUserInput.field("tail", f"must be between 1 and {MAX_TAIL}")
    if since_seconds is not None and since_seconds < 1:
        raise BadUserInput.field("sinceSeconds", "must be 1 or more")


def _newest_first(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def created(pod: dict[str, Any]) -> str:
        return kube.meta(pod).get("creationTimestamp") or ""

    return sorted(sorted(pods, key=kube.order), key=created, reverse=True)


async def _gather(ctx: RequestContext, cluster: Cluster, pods: list[dict[str, Any]], window: Window,
                  lines: LogLines, limit: asyncio.Semaphore) -> None:  # fmt: skip
    """Every started container of the pods (within MAX_PODS), read `CONCURRENCY` at a time."""
    chosen = _newest_first(pods)
    lines.truncated = lines.truncated or len(chosen) > MAX_PODS
    sources = [
        Source(cluster, namespace_of(p), name_of(p), c) for p in chosen[:MAX_PODS] for c in started_containers(p)
    ]

    async def one(source: Source) -> None:
        try:
            async with limit:
                lines.entries.extend(await _read(ctx, source, window))
        except AppError as exc:
            lines.failures.append(LogFailure(cluster.id, cluster.name, exc.code, exc.message, source.namespace,
                                             source.pod))  # fmt: skip

    await asyncio.gather(*(one(s) for s in sources))


def _merged(lines: LogLines, tail: int | None) -> LogLines:
    """Oldest first; the newest `tail` of all when a tail is asked for."""
    lines.entries.sort(key=lambda e: (e.timestamp, e.namespace, e.pod, e.container))
    if tail is not None:
        lines.entries = lines.entries[-tail:]
    lines.failures.sort(key=lambda f: (f.cluster_name, f.namespace or "", f.pod or ""))
    return lines


async def cluster_entries(ctx: RequestContext, cluster_id: str, namespace: str | None, pod: str | None,
                          container: str | None, since_seconds: int | None, tail: int | None) -> LogLines:  # fmt: skip
    """A pod's entries (its one container, or the one named), or those of every pod of a namespace
    or of the cluster, merged by time."""
    check_window(since_seconds, tail)
    cluster = await _cluster(ctx, cluster_id)
    window = Window(since_seconds=since_seconds, tail=tail)
    if pod is not None:
        if namespace is None:
            raise BadUserInput.field("namespace", "a pod is named within its namespace: give one")
        found = await kube.find(ctx, cluster.id, "Pod", namespace, pod)
        names = [container] if container else started_containers(found)
        lines = LogLines()
        for name in names:
            lines.entries += await _read(ctx, Source(cluster, namespace, pod, name), window)
        return _merged(lines, tail)
    pods = [p for p in await kube.items(ctx, cluster.id, "Pod") if namespace is None or namespace_of(p) == namespace]
    lines = LogLines()
    await _gather(ctx, cluster, pods, window, lines, asyncio.Semaphore(CONCURRENCY))
    return _merged(lines, tail)


async def workload_entries(ctx: RequestContext, cluster_id: str, kind: str, namespace: str, name: str,
                           since_seconds: int | None, tail: int | None) -> LogLines:  # fmt: skip
    """The entries of a workload's pods, merged by time."""
    check_window(since_seconds, tail)
    cluster = await _cluster(ctx, cluster_id)
    pods = await workload_pods(ctx, cluster.id, kind, namespace, name)
    lines = LogLines()
    await _gather(ctx, cluster, pods, Window(since_seconds=since_seconds, tail=tail), lines,
                  asyncio.Semaphore(CONCURRENCY))  # fmt: skip
    return _merged(lines, tail)


async def workload_pods(ctx: RequestContext, cluster_id: str, kind: str, namespace: str, name: str) -> list[Obj]:
    """A workload's pods now (through a Deployment's ReplicaSets, a CronJob's Jobs); NOT_FOUND without it."""
    workload = await kube.find(ctx, cluster_id, kind, namespace, name)
    kind = str(workload.get("kind") or kind)
    owners = {
        (_OWNERS[k], namespace_of(o), name_of(o)): name_of(o)
        for k in _OWNERS
        for o in await kube.items(ctx, cluster_id, k)
        if (owner := _owner(o)) is not None and owner == (_OWNERS[k], name) and namespace_of(o) == namespace
    }
    middle = {n for (_, _, n) in owners}

    def belongs(pod: Obj) -> bool:
        owner = _owner(pod)
        if namespace_of(pod) != namespace or owner is None:
            return False
        return owner == (kind, name) or (owner[0] in _OWNERS and _OWNERS[owner[0]] == kind and owner[1] in middle)

    return [p for p in await kube.items(ctx, cluster_id, "Pod") if belongs(p)]


def _owner(obj: dict[str, Any]) -> tuple[str, str] | None:
    first = next(Reader(obj).each("metadata.ownerReferences"), None)
    kind, name = (first.text("kind"), first.text("name")) if first is not None else (None, None)
    return (kind, name) if kind and name else None


@dataclass
class SearchResult:
    entries: list[LogEntry]  # the page asked for
    total: int
    failures: list[LogFailure]
    truncated: bool


async def search(ctx: RequestContext, tenant_id: str, cluster_id: str | None, namespace: str | None,
                 since: datetime | None, until: datetime | None, severity: str | None, text: str | None,
                 offset: int, limit: int) -> SearchResult:  # fmt: skip
    """Entries of the tenant's clusters (those the caller may read workloads of), newest first."""
    filters = _filters(since, until, severity, text)
    if cluster_id is not None:
        clusters = [await get_cluster(ctx, cluster_id)]
    else:
        clusters = [c for c in await tenant_clusters(ctx, tenant_id) if await may_on_cluster(ctx, c.id, READ)]
    window = Window(since=since, tail=SEARCH_LINES)
    lines, limit_reads = LogLines(), asyncio.Semaphore(CONCURRENCY)

    async def one(cluster: Cluster) -> None:
        try:
            ensure_registered(ctx.services.gateway, ctx.services.sealer, cluster)
            pods = [p for p in await kube.items(ctx, cluster.id, "Pod") if namespace in (None, namespace_of(p))]
        except AppError as exc:
            lines.failures.append(LogFailure(cluster.id, cluster.name, exc.code, exc.message))
            return
        await _gather(ctx, cluster, pods, window, lines, limit_reads)

    await asyncio.gather(*(one(c) for c in clusters))
    kept = sorted((e for e in lines.entries if filters.keeps(e)), key=lambda e: (e.timestamp, e.id), reverse=True)
    failures = sorted(lines.failures, key=lambda f: (f.cluster_name, f.namespace or "", f.pod or ""))
    return SearchResult(kept[offset : offset + limit], len(kept), failures, lines.truncated)


def _filters(since: datetime | None, until: datetime | None, severity: str | None, text: str | None) -> Filters:
    level = None
    if severity is not None and severity.strip():
        level = known_level(severity)
        if level is None:
            raise BadUserInput.field("severity", "must be trace, debug, info, warn, error or fatal")
    if since is not None and until is not None and until < since:
        raise BadUserInput.field("until", "must not be before since")
    if text is not None and len(text) > 200:
        raise BadUserInput.field("text", "must be at most 200 characters")
    return Filters(until, level, text or None)


def entry_key(identifier: str) -> EntryKey:
    key = parse_entry_id(identifier)
    if key is None:
        raise NotFound.of("log entry", identifier)
    return key


async def entry_cluster(ctx: RequestContext, identifier: str) -> str:
    """The cluster an entry's ID names, if the caller sees it (NOT_FOUND worded for the entry otherwise)."""
    key = entry_key(identifier)
    try:
        await get_cluster(ctx, key.cluster_id)
    except NotFound:
        raise NotFound.of("log entry", identifier) from None
    return key.cluster_id


async def entry(ctx: RequestContext, identifier: str) -> LogEntry:
    """The line an ID names, read again from its container's log."""
    key = entry_key(identifier)
    moment = key.moment
    assert moment is not None  # parse_entry_id keeps only IDs with a readable time
    cluster = await _cluster(ctx, key.cluster_id)
    source = Source(cluster, key.namespace, key.pod, key.container)
    since = moment.replace(microsecond=0) - timedelta(seconds=1)
    client = ctx.services.gateway.client(cluster.id)
    try:
        raw = await client.logs(key.namespace, key.pod, key.container, since_time=since, timestamps=True,
                                limit_bytes=ENTRY_BYTES, identity=ctx.kube_identity())  # fmt: skip
    except NotFound:
        raise NotFound.of("log entry", identifier) from None
    for found in entries_of(raw, source):
        if found.id == identifier:
            return found
    raise NotFound.of("log entry", identifier)


async def follow(ctx: RequestContext, cluster_id: str, namespace: str, pod: str, container: str | None,
                 since_seconds: int | None) -> AsyncGenerator[LogEntry]:  # fmt: skip
    """`kubectl logs -f`: the lines of the last `sinceSeconds` (none without it), then each line as
    it is written; it ends when the container stops or the pod goes, or when the caller's session
    ends. Lines wait in a bounded buffer: a slow subscriber slows the reading, never loses lines."""
    check_window(since_seconds, None)
    with tenant_slot(ctx):
        cluster = await _cluster(ctx, cluster_id)
        found = await kube.find(ctx, cluster.id, "Pod", namespace, pod)
        name = container or next((c.text("name") or "" for c in Reader(found, "Pod").each("spec.containers")), "")
        source = Source(cluster, namespace, pod, name)
        client = ctx.services.gateway.client(cluster.id)
        tail = None if since_seconds is not None else 0
        opened = client.follow_logs(namespace, pod, container, tail_lines=tail, since_seconds=since_seconds,
                                    identity=ctx.kube_identity())  # fmt: skip
        async with opened as raw_lines, contextlib.aclosing(_relayed(ctx, raw_lines, source)) as entries:
            async for one in entries:
                yield one


async def _relayed(ctx: RequestContext, raw_lines: AsyncIterator[str], source: Source) -> AsyncGenerator[LogEntry]:
    """The log's lines as entries, read by a task into a bounded queue; the subscriber is woken through a
    mailbox read while it is signed in, so a sign-out ends the stream even when the log is quiet."""
    queue: asyncio.Queue[LogEntry] = asyncio.Queue(FOLLOW_BUFFER)
    mailbox = Mailbox(2)
    ended: list[BaseException | None] = []

    async def read() -> None:
        try:
            async for line in raw_lines:
                stamped = split_stamp(line)
                if stamped is not None:
                    await queue.put(_entry(source, stamped.stamp, stamped.moment, stamped.text))
                    mailbox.put({"type": "LINES"})
            ended.append(None)
        except AppError as exc:
            ended.append(exc)
        mailbox.put({"type": "END", "kind": "END"})

    reader = asyncio.create_task(read())
    stream = until_signed_out(ctx, mailbox)
    try:
        async for _ in stream:
            while not queue.empty():
                yield queue.get_nowait()
            if ended and queue.empty():
                if ended[0] is not None:
                    raise ended[0]
                return
    finally:
        await stream.aclose()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
