"""Forwarding to a real Alertmanager (Debian's ``prometheus-alertmanager``), started for each test.

Alertmanager's v2 API lists only alerts that have not ended, so a resolved alert is seen in two
ways: it leaves ``GET /api/v2/alerts``, and Alertmanager's own webhook notification (to a receiver
served by the test, ``send_resolved``) reports it resolved, with our resolution time. The same
notifications check ``webhook_payload`` against the real thing: for the same alerts, our message
equals Alertmanager's, key for key.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.alerts.alertmanager import AlertmanagerForwarder
from app.alerts.payloads import OutgoingAlert, label_fingerprint, webhook_payload
from app.alerts.webhooks import Backoff
from tests.support.server import free_port, serving
from tests.support.waiting import eventually

ALERTMANAGER_ENV = "FLEETGRAPH_TEST_ALERTMANAGER"
BINARY = "/usr/bin/prometheus-alertmanager"
RECEIVER = "fleetgraph-test"
NOTIFIED_WITHIN = 30.0  # seconds


def alertmanager_binary() -> str:
    found = shutil.which("prometheus-alertmanager") or (BINARY if os.access(BINARY, os.X_OK) else None)
    if found is None:
        if os.environ.get(ALERTMANAGER_ENV):
            pytest.fail(f"{ALERTMANAGER_ENV} is set but {BINARY} is missing (install Debian's prometheus-alertmanager)")
        pytest.skip(f"needs Alertmanager ({BINARY}, Debian package prometheus-alertmanager)")
    return found


@dataclass
class Notifications:
    """Alertmanager's webhook messages, as they arrive."""

    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    async def hook(self, request: Request) -> Response:
        await self.queue.put(await request.json())
        return Response(status_code=200)

    async def next(self, status: str) -> dict[str, Any]:
        """The next message of ``status``; earlier ones (a firing repeat, say) are passed over."""
        async with asyncio.timeout(NOTIFIED_WITHIN):
            while True:
                message = await self.queue.get()
                if message["status"] == status:
                    return message


@dataclass
class Alertmanager:
    url: str
    notifications: Notifications
    http: httpx.AsyncClient

    async def alerts(self) -> list[dict[str, Any]]:
        answer = await self.http.get(f"{self.url}/api/v2/alerts",
                                     params={"active": "true", "silenced": "true", "inhibited": "true",
                                             "unprocessed": "true"})
        assert answer.status_code == 200, answer.text
        return list(answer.json())


def config(hook_url: str) -> dict[str, Any]:
    """One route, to a webhook receiver of the test, with groups flushed within milliseconds."""
    return {
        "route": {
            "receiver": RECEIVER,
            "group_by": ["alertname"],
            "group_wait": "10ms",
            "group_interval": "100ms",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": RECEIVER, "webhook_configs": [{"url": hook_url, "send_resolved": True}]}],
    }


async def ready(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    """Polls ``/-/ready``: Alertmanager signals readiness no other way."""
    async with httpx.AsyncClient(timeout=2) as http:

        async def answered() -> bool:
            assert process.returncode is None, f"Alertmanager exited:\n{log.read_text()}"
            try:
                return (await http.get(f"{url}/-/ready")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(answered, seconds=30, what="Alertmanager answering /-/ready")


@pytest_asyncio.fixture(loop_scope="session")
async def alertmanager(tmp_path: Path) -> AsyncIterator[Alertmanager]:
    binary = alertmanager_binary()
    notifications = Notifications()
    hooks = Starlette(routes=[Route("/hook", notifications.hook, methods=["POST"])])
    async with serving(hooks) as hook_base, httpx.AsyncClient(timeout=10) as http:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config(f"{hook_base}/hook")))
        log = tmp_path / "alertmanager.log"
        with log.open("w") as output:
            process = await asyncio.create_subprocess_exec(
                binary,
                f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--web.external-url={url}",
                "--cluster.listen-address=",
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            await ready(url, process, log)
            yield Alertmanager(url, notifications, http)
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()


LABELS = {"alertname": "NodeNotReady", "cluster": "cls_edge", "node": "worker-2", "severity": "warning"}
STARTED = datetime.now(UTC).replace(microsecond=123456) - timedelta(minutes=3)


def firing() -> OutgoingAlert:
    return OutgoingAlert(label_fingerprint(LABELS), "firing", LABELS, {"summary": "worker-2 is not ready"},
                         STARTED, None, "https://fleetgraph.example/alerts/rul_nodes")


def resolved(at: datetime) -> OutgoingAlert:
    alert = firing()
    return OutgoingAlert(alert.fingerprint, "resolved", alert.labels, alert.annotations, alert.starts_at, at,
                         alert.generator_url)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_forwarded_alert_fires_then_resolves_in_alertmanager(alertmanager: Alertmanager) -> None:
    async with AlertmanagerForwarder(alertmanager.url + "/") as forwarder:
        sent = await forwarder.forward([firing()])
        assert (sent.delivered, sent.attempts, sent.status, sent.error) == (True, 1, 200, None)

        [listed] = [a for a in await alertmanager.alerts() if a["labels"] == LABELS]
        assert listed["status"]["state"] == "active"
        assert listed["fingerprint"] == firing().fingerprint  # label_fingerprint is Alertmanager's own
        assert listed["annotations"] == {"summary": "worker-2 is not ready"}
        assert listed["generatorURL"] == "https://fleetgraph.example/alerts/rul_nodes"
        assert parse(listed["startsAt"]) == STARTED.replace(microsecond=123000)  # the API shows milliseconds
        assert parse(listed["endsAt"]) > datetime.now(UTC)  # open: Alertmanager's resolve_timeout ahead

        ours = webhook_payload(RECEIVER, [firing()], external_url=alertmanager.url,
                               group_labels={"alertname": "NodeNotReady"})
        assert await alertmanager.notifications.next("firing") == ours

        resolved_at = datetime.now(UTC)
        sent = await forwarder.forward([resolved(resolved_at)])
        assert (sent.delivered, sent.attempts, sent.status) == (True, 1, 200)

        assert [a for a in await alertmanager.alerts() if a["labels"] == LABELS] == []  # ended: no longer listed
        notified = await alertmanager.notifications.next("resolved")
        [alert] = notified["alerts"]
        assert alert["status"] == "resolved" and parse(alert["endsAt"]) == resolved_at
        ours = webhook_payload(RECEIVER, [resolved(resolved_at)], external_url=alertmanager.url,
                               group_labels={"alertname": "NodeNotReady"})
        assert notified == ours


async def test_alertmanager_refusing_an_alert_is_final(alertmanager: Alertmanager) -> None:
    bad = OutgoingAlert("0", "firing", {"not a label name": "x"}, {}, STARTED, None, "")
    retries: list[float] = []

    async def sleep(seconds: float) -> None:
        retries.append(seconds)

    async with AlertmanagerForwarder(alertmanager.url, backoff=Backoff(sleep=sleep)) as forwarder:
        result = await forwarder.forward([bad])
    assert (result.delivered, result.attempts, result.status) == (False, 1, 400)
    assert result.error == "the Alertmanager answered 400" and retries == []
    assert [a for a in await alertmanager.alerts() if "not a label name" in a["labels"]] == []


async def test_an_unreachable_alertmanager_is_retried_then_given_up() -> None:
    retries: list[float] = []

    async def sleep(seconds: float) -> None:
        retries.append(seconds)

    async with AlertmanagerForwarder(f"http://127.0.0.1:{free_port()}",
                                     backoff=Backoff(attempts=3, sleep=sleep)) as forwarder:
        result = await forwarder.forward([firing()])
    assert (result.delivered, result.attempts, result.status) == (False, 3, None)
    assert result.error == "could not connect to the Alertmanager (gave up after 3 attempts)"
    assert len(retries) == 2 and 0.5 <= retries[0] <= 1.0 <= retries[1] <= 2.0  # base 1s, factor 2, jittered
