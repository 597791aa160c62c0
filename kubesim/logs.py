"""Plausible, deterministic container logs.

Each container has numbered time slots of ``SLOT`` simulated seconds starting when it
started; whether a slot holds a line, when, and what it says are all derived from the
pod, the container and the slot number, so any window of the log can be produced
without generating what came before it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

from kubesim.clock import parse_time
from kubesim.metrics import unit

SLOT = 3.0
MAX_LINES = 5000
FOLLOW_POLL = 1.0
Line = tuple[datetime, str]

PATHS = ["/", "/products", "/products/42", "/cart", "/checkout", "/static/app.js", "/static/site.css",
         "/healthz", "/api/v1/orders", "/api/v1/users/me", "/favicon.ico", "/login"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "kube-probe/1.31", "curl/8.5.0",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)", "Go-http-client/1.1"]
STATUSES = [200] * 14 + [201, 204, 301, 304, 404, 500]
API_MESSAGES = ["request completed", "cache hit", "cache miss", "query executed", "token validated",
                "background sync finished", "published event"]
PG_MESSAGES = ["checkpoint starting: time", "checkpoint complete: wrote 42 buffers (0.3%)",
               "automatic vacuum of table \"app.public.orders\"", "connection received: host=10.244.1.9",
               "connection authorized: user=app database=app", "disconnection: session time: 0:00:01.204"]
PROM_MESSAGES = ["Completed scrape", "Compacting head block", "WAL segment loaded",
                 "Head GC completed", "Rule group evaluation finished"]
JOB_MESSAGES = ["processing batch", "uploaded report chunk", "rows exported", "checkpoint saved"]


def kind_of(container: dict[str, Any]) -> str:
    image = str(container.get("image", "")).lower()
    name = str(container.get("name", "")).lower()
    for kind, needles in (("nginx", ("nginx", "ingress")), ("postgres", ("postgres",)),
                          ("redis", ("redis",)), ("coredns", ("coredns",)),
                          ("prometheus", ("prometheus", "grafana", "alertmanager", "node-exporter")),
                          ("job", ("busybox", "cron", "batch", "backup", "migrate"))):
        if any(n in image or n in name for n in needles):
            return kind
    return "app"


def _client_ip(ident: str, slot: int) -> str:
    return f"10.244.{int(unit(ident, slot, 'a') * 8)}.{2 + int(unit(ident, slot, 'b') * 250)}"


def _pick(options: list[Any], ident: str, slot: int, salt: str) -> Any:
    return options[int(unit(ident, slot, salt) * len(options))]


def _nginx(ident: str, slot: int, at: datetime) -> str:
    stamp = at.strftime("%d/%b/%Y:%H:%M:%S +0000")
    path, status = _pick(PATHS, ident, slot, "path"), _pick(STATUSES, ident, slot, "status")
    size = 200 + int(unit(ident, slot, "size") * 9000)
    agent = _pick(AGENTS, ident, slot, "agent")
    return f'{_client_ip(ident, slot)} - - [{stamp}] "GET {path} HTTP/1.1" {status} {size} "-" "{agent}"'


def _app(ident: str, slot: int, at: datetime) -> str:
    level = "warn" if unit(ident, slot, "lvl") < 0.05 else "info"
    message = _pick(API_MESSAGES, ident, slot, "msg")
    path, status = _pick(PATHS[8:10] + PATHS[1:3], ident, slot, "path"), _pick(STATUSES, ident, slot, "st")
    millis = 1 + int(unit(ident, slot, "ms") * 120)
    return (f'{{"time":"{at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]}Z","level":"{level}","msg":"{message}",'
            f'"method":"GET","path":"{path}","status":{status},"duration_ms":{millis}}}')


def _postgres(ident: str, slot: int, at: datetime) -> str:
    pid = 60 + int(unit(ident, slot, "pid") * 900)
    stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"{stamp} UTC [{pid}] LOG:  {_pick(PG_MESSAGES, ident, slot, 'msg')}"


def _redis(ident: str, slot: int, at: datetime) -> str:
    stamp = at.strftime("%d %b %Y %H:%M:%S.%f")[:-3]
    changes = 1 + int(unit(ident, slot, "c") * 200)
    return f"1:M {stamp} * {changes} changes in 60 seconds. Saving..."


def _coredns(ident: str, slot: int, at: datetime) -> str:
    query_id = int(unit(ident, slot, "id") * 65535)
    host = _pick(["api.shop.svc.cluster.local.", "db.payments.svc.cluster.local.",
                  "kubernetes.default.svc.cluster.local.", "prometheus.monitoring.svc.cluster.local."],
                 ident, slot, "host")
    took = 0.0001 + unit(ident, slot, "t") * 0.002
    return (f'[INFO] {_client_ip(ident, slot)}:{30000 + query_id % 30000} - {query_id} "A IN {host} udp 64 '
            f'false 512" NOERROR qr,aa,rd 106 {took:.6f}s')


def _prometheus(ident: str, slot: int, at: datetime) -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return f'ts={stamp}Z caller=main.go:1234 level=info msg="{_pick(PROM_MESSAGES, ident, slot, "m")}"'


def _job(ident: str, slot: int, at: datetime) -> str:
    count = 100 + int(unit(ident, slot, "n") * 5000)
    return f"{at.strftime('%Y-%m-%dT%H:%M:%SZ')} {_pick(JOB_MESSAGES, ident, slot, 'm')}: {count} items"


FORMATTERS: dict[str, Callable[[str, int, datetime], str]] = {
    "nginx": _nginx, "app": _app, "postgres": _postgres, "redis": _redis,
    "coredns": _coredns, "prometheus": _prometheus, "job": _job,
}
STARTUP: dict[str, list[str]] = {
    "nginx": ["/docker-entrypoint.sh: Configuration complete; ready for start up",
              "nginx: using the \"epoll\" event method", "nginx: start worker processes"],
    "app": ['{"level":"info","msg":"configuration loaded"}', '{"level":"info","msg":"listening on :8080"}'],
    "postgres": ["LOG:  starting PostgreSQL 16.4 on x86_64-pc-linux-gnu",
                 "LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
                 "LOG:  database system is ready to accept connections"],
    "redis": ["1:M * Server initialized", "1:M * Ready to accept connections tcp"],
    "coredns": [".:53", "CoreDNS-1.11.3", "linux/amd64, go1.22.7"],
    "prometheus": ['level=info msg="Starting Prometheus Server"', 'level=info msg="Server is ready"'],
    "job": ["starting job"],
}


def _container(pod: dict[str, Any], name: str) -> dict[str, Any] | None:
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if container.get("name") == name:
            return container
    return None


def _lifetime(pod: dict[str, Any], name: str) -> tuple[datetime | None, datetime | None]:
    """When the container started and (if it did) finished."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") != name:
            continue
        state = entry.get("state") or {}
        if "running" in state and state["running"].get("startedAt"):
            return parse_time(state["running"]["startedAt"]), None
        if "terminated" in state and state["terminated"].get("startedAt"):
            finished = state["terminated"].get("finishedAt")
            return parse_time(state["terminated"]["startedAt"]), parse_time(finished) if finished else None
        return None, None
    return None, None


def log_lines(
    state: Any, pod_obj: dict[str, Any], container: str, since: datetime | None, until: datetime
) -> list[Line]:
    """Lines the container wrote in ``(since, until]``, oldest first, at most ``MAX_LINES``."""
    spec = _container(pod_obj, container)
    started, finished = _lifetime(pod_obj, container)
    if spec is None or started is None:
        return []
    # a container that ran at all wrote its startup lines, however briefly it ran
    end = min(until, max(finished, started + timedelta(seconds=1))) if finished else until
    ident = f"{pod_obj['metadata'].get('uid') or pod_obj['metadata']['name']}/{container}"
    kind = kind_of(spec)
    lines = [(started + timedelta(milliseconds=40 * (i + 1)), text) for i, text in enumerate(STARTUP[kind])]
    first_slot = 0 if since is None else max(0, int((since - started).total_seconds() // SLOT))
    last_slot = int((end - started).total_seconds() // SLOT)
    first_slot = max(first_slot, last_slot - MAX_LINES)
    for slot in range(first_slot, last_slot + 1):
        if unit(ident, slot, "present") < 0.2:
            continue
        at = started + timedelta(seconds=SLOT * (slot + unit(ident, slot, "offset")))
        at = at.replace(microsecond=at.microsecond // 1000 * 1000)
        lines.append((at, FORMATTERS[kind](ident, slot, at)))
    chosen = [(at, text) for at, text in lines if at <= end and (since is None or at > since)]
    return chosen[-MAX_LINES:]


async def follow(state: Any, pod_obj: dict[str, Any], container: str) -> AsyncIterator[Line]:
    """Yield lines written after now, as the simulated clock moves, until the pod disappears."""
    pods = state.resources.get("", "v1", "pods")
    meta = pod_obj["metadata"]
    last: datetime = state.clock.now()
    current: dict[str, Any] | None = pod_obj
    while current is not None:
        await state.clock.sleep(FOLLOW_POLL)
        now: datetime = state.clock.now()
        for line in log_lines(state, current, container, last, now):
            yield line
        last = now
        fresh = state.get(pods, meta.get("namespace"), meta["name"])
        current = fresh if fresh is not None and fresh["metadata"].get("uid") == meta.get("uid") else None
