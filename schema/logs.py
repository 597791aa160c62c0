"""Log entries: a cluster's, a workload's, a search across the tenant's clusters, one entry again by
its ID, and a followed pod log. Reading any of them takes what reading a pod's log takes
(`workloads:read` on its cluster). resolvers/logs.py says how far a read or a search reaches."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry
from strawberry.types import Info

from app.errors import BadUserInput
from resolvers import logs as resolve
from schema.base import PageInfo, encode_cursor, page_from
from schema.permissions import SignedIn, requires, requires_on_cluster

READ = resolve.READ


@strawberry.type(description="One line of a container's log, with the level it states.")
class LogEntry:
    id: strawberry.ID = strawberry.field(description="Names the line: logEntry(id) reads it again")
    timestamp: datetime = strawberry.field(description="When the container wrote it (the kubelet's time)")
    level: str = strawberry.field(description="trace, debug, info, warn, error, fatal, or unknown")
    message: str = strawberry.field(description="The line as written")
    cluster_id: strawberry.ID
    cluster: str = strawberry.field(description="The cluster's name")
    namespace: str
    pod: str
    container: str

    @classmethod
    def of(cls, e: resolve.LogEntry) -> LogEntry:
        return cls(
            id=strawberry.ID(e.id), timestamp=e.timestamp, level=e.level, message=e.message,
            cluster_id=strawberry.ID(e.cluster_id), cluster=e.cluster_name, namespace=e.namespace, pod=e.pod,
            container=e.container,
        )  # fmt: skip


@strawberry.type(description="A cluster, or one pod of it, whose log could not be read.")
class LogFailure:
    cluster_id: strawberry.ID
    cluster_name: str
    code: str
    message: str
    namespace: str | None = None
    pod: str | None = None

    @classmethod
    def of(cls, f: resolve.LogFailure) -> LogFailure:
        return cls(
            cluster_id=strawberry.ID(f.cluster_id), cluster_name=f.cluster_name, code=f.code, message=f.message,
            namespace=f.namespace, pod=f.pod,
        )  # fmt: skip


@strawberry.type(description="Log entries of several pods merged by time, oldest first.")
class LogLines:
    entries: list[LogEntry]
    errors: list[LogFailure] = strawberry.field(description="The pods whose log could not be read")
    truncated: bool = strawberry.field(description=f"More pods matched than one read covers ({resolve.MAX_PODS})")

    @classmethod
    def of(cls, lines: resolve.LogLines) -> LogLines:
        return cls(
            entries=[LogEntry.of(e) for e in lines.entries],
            errors=[LogFailure.of(f) for f in lines.failures],
            truncated=lines.truncated,
        )


@strawberry.type(description="A page of matching log entries, newest first, and what could not be searched.")
class LogSearchConnection:
    nodes: list[LogEntry]
    total_count: int
    page_info: PageInfo
    errors: list[LogFailure] = strawberry.field(description="The clusters, or pods, that could not be searched")
    truncated: bool = strawberry.field(
        description=f"A cluster had more matching pods than one search reads ({resolve.MAX_PODS})"
    )


def parse_workload(value: str) -> tuple[str, str]:
    """`deployment/web` as (kind, name), as kubectl names a workload."""
    kind, _, name = value.partition("/")
    if not kind or not name:
        raise BadUserInput.field("workload", "must be kind/name, e.g. deployment/web")
    return kind, name


async def cluster_log_entries(
    cluster_id: str, info: Info, namespace: str | None, pod: str | None, container: str | None,
    workload: str | None, since_seconds: int | None, tail: int | None,
) -> LogLines:  # fmt: skip
    if workload is not None:
        if namespace is None:
            raise BadUserInput.field("namespace", "a workload is named within its namespace: give one")
        kind, name = parse_workload(workload)
        found = await resolve.workload_entries(info.context, cluster_id, kind, namespace, name, since_seconds, tail)
        return LogLines.of(found)
    lines = await resolve.cluster_entries(info.context, cluster_id, namespace, pod, container, since_seconds, tail)
    return LogLines.of(lines)


@strawberry.type
class LogQuery:
    @strawberry.field(
        permission_classes=[requires(READ), requires_on_cluster(READ)],
        description="Log entries of the tenant's clusters (or one), newest first: from the pods' logs since "
        f"`since` (at most {resolve.SEARCH_LINES} lines per container, {resolve.MAX_PODS} pods per cluster), "
        "until `until`, at `severity` or more severe, containing `text` (any case).",
    )
    async def log_search(
        self,
        info: Info,
        tenant_id: strawberry.ID,
        cluster_id: strawberry.ID | None = None,
        namespace: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        severity: str | None = None,
        text: str | None = None,
        first: int | None = None,
        after: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
    ) -> LogSearchConnection | None:
        paging = page_from(first, after, page, page_size)
        cid = str(cluster_id) if cluster_id else None
        found = await resolve.search(
            info.context, str(tenant_id), cid, namespace, since, until, severity, text, paging.offset, paging.limit
        )
        cursors = [encode_cursor(paging.offset + i) for i in range(len(found.entries))]
        return LogSearchConnection(
            nodes=[LogEntry.of(e) for e in found.entries],
            total_count=found.total,
            page_info=PageInfo(
                has_next_page=paging.offset + len(found.entries) < found.total,
                has_previous_page=paging.offset > 0,
                start_cursor=cursors[0] if cursors else None,
                end_cursor=cursors[-1] if cursors else None,
            ),
            errors=[LogFailure.of(f) for f in found.failures],
            truncated=found.truncated,
        )

    @strawberry.field(
        permission_classes=[SignedIn, requires_on_cluster(READ, "id", via=resolve.entry_cluster)],
        description="One log entry again, read from its container's log (NOT_FOUND once the log no longer has it).",
    )
    async def log_entry(self, info: Info, id: strawberry.ID) -> LogEntry | None:
        return LogEntry.of(await resolve.entry(info.context, str(id)))


@strawberry.type
class LogSubscription:
    @strawberry.subscription(
        permission_classes=[SignedIn, requires_on_cluster(READ)],
        description="A pod's log as `kubectl logs -f` follows it: the lines of the last `sinceSeconds` (none "
        "without it), then each line as it is written. It ends when the container stops or the pod goes.",
    )
    async def pod_logs(
        self,
        info: Info,
        cluster_id: strawberry.ID,
        namespace: str,
        pod: str,
        container: str | None = None,
        since_seconds: int | None = None,
    ) -> AsyncGenerator[LogEntry, None]:
        stream = resolve.follow(info.context, str(cluster_id), namespace, pod, container, since_seconds)
        async with contextlib.aclosing(stream):
            async for entry in stream:
                yield LogEntry.of(entry)
