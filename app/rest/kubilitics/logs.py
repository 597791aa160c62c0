"""Kubilitics's pod logs: the last `tail` lines (100 unless asked) of the last `since` (`10m`, `1h`)
as plain text; with `follow=true` the body streams, as `kubectl logs -f` prints them, the lines of
the last `since` and then each line as the container writes it, until the pod goes or the client
leaves (the podLogs subscription, app/rest/rows.py `Stream`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.rest.rows import Attachment, Call, Data, Row, Stream

DOC = "logs.graphql"
TAG = "Kubilitics: logs"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class PodLogs(BaseModel):
    container: str | None = Field(None, min_length=1, max_length=63)
    follow: bool = False
    tail: int = Field(100, ge=1, le=10_000)
    since: str | None = Field(None, pattern=r"^[1-9][0-9]{0,6}[smhd]$", description="A duration: 30s, 10m, 1h, 7d")


def _variables(call: Call, _: Data) -> Data:
    assert isinstance(call.query, PodLogs)
    found: Data = {**call.path, "tail": call.query.tail}
    if call.query.container is not None:
        found["container"] = call.query.container
    if call.query.since is not None:
        found["sinceSeconds"] = int(call.query.since[:-1]) * UNITS[call.query.since[-1]]
    return found


def _following(call: Call) -> bool:
    return isinstance(call.query, PodLogs) and call.query.follow


def _followed(call: Call, data: Data) -> Data:
    return {k: v for k, v in _variables(call, data).items() if k != "tail"}


def _line(data: Data) -> str:
    return str((data.get("podLogs") or {}).get("message", "")) + "\n"


ROWS = [
    Row(
        "GET",
        "/api/v1/clusters/{clusterId}/logs/{namespace}/{pod}",
        DOC,
        ("KubiliticsPodLogs",),
        "Get pod logs",
        TAG,
        query=PodLogs,
        variables=lambda call, data: _followed(call, data) if _following(call) else _variables(call, data),
        pick="cluster.logs",
        attachment=Attachment("text/plain", lambda call, _: f"{call.path['pod']}.log", inline=True),
        stream=Stream("KubiliticsFollowPodLogs", "text/plain", _line, _following),
    ),
]
