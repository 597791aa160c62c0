"""Webhook delivery over real HTTP: a receiver served by uvicorn checks every signature with
``verify``, records what it got and answers from a script; raw TCP listeners count connections
where what matters is whether one was opened at all. Backoff waits are milliseconds, and the
waits asked for are recorded, so the tests count attempts and waits instead of timing them."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.alerts.payloads import AlertStatus, OutgoingAlert, label_fingerprint, rfc3339, webhook_payload
from app.alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from app.alerts.webhooks import Backoff, DeliveryResult, WebhookSender, retry_after, validate_receiver_url
from app.errors import BadUserInput
from app.outbound import OutboundPolicy, Resolve, parse_networks
from tests.support.server import free_port, serving

SECRET = "whsec-canary-7f3a9c2e51d04b86"
LOOPBACK = OutboundPolicy(allowed=parse_networks(["127.0.0.0/8"]))
NO_LOOPBACK = OutboundPolicy()
CAP = 0.05  # seconds: the longest wait of the tests' backoff


# -- a receiver --------------------------------------------------------------------------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """Answers each request with the next scripted (status, headers), then 200 for good."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        verified = verify(SECRET, body, request.headers, time.time())
        self.deliveries.append(Delivery(dict(request.headers), body, verified))
        if not verified:
            return Response(status_code=401)
        status, headers = self.script.pop(0) if self.script else (200, {})
        return Response(f"echo {SECRET} {request.url.query}", status_code=status, headers=headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


@asynccontextmanager
async def receiving(*script: int | tuple[int, dict[str, str]]) -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver([step if isinstance(step, tuple) else (step, {}) for step in script])
    async with serving(receiver.app()) as base:
        yield receiver, f"{base}/hook?token={SECRET}"


@dataclass
class Listener:
    """A raw TCP listener on loopback that counts connections; it answers 204, or nothing when silent."""

    silent: bool = False
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        if not self.silent:
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()


@asynccontextmanager
async def listening(silent: bool = False) -> AsyncIterator[tuple[Listener, int]]:
    listener = Listener(silent)
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    try:
        yield listener, int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for writer in listener.writers:
            writer.close()
        await server.wait_closed()


@dataclass
class Waits:
    """The sleeps a backoff asked for, each slept for real (they are milliseconds)."""

    asked: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(seconds)


def backoff(waits: Waits, attempts: int = 5) -> Backoff:
    return Backoff(attempts=attempts, base=0.002, factor=2.0, cap=CAP, sleep=waits.sleep)


@asynccontextmanager
async def sender(policy: OutboundPolicy = LOOPBACK, waits: Waits | None = None, attempts: int = 5,
                 seconds: float = 10.0, clock: Callable[[], float] = time.time) -> AsyncIterator[WebhookSender]:
    async with WebhookSender(policy, backoff=backoff(waits or Waits(), attempts), timeout=seconds, clock=clock) as s:
        yield s


def stub_resolver(answers: dict[str, list[str]]) -> Resolve:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"no such host {host}")
        return answers[host]

    return resolve


STARTED = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
LABELS = {"alertname": "PodCrashLooping", "cluster": "cls_prod", "namespace": "shop", "severity": "critical"}


def alert(status: AlertStatus = "firing", **labels: str) -> OutgoingAlert:
    values = LABELS | labels
    ends = STARTED + timedelta(minutes=7) if status == "resolved" else None
    return OutgoingAlert(label_fingerprint(values), status, values, {"summary": f"{values['alertname']} in shop"},
                         STARTED, ends, "https://fleetgraph.example/alerts/rul_1")


def payload() -> dict[str, object]:
    return webhook_payload("ops-hook", [alert()], external_url="https://fleetgraph.example",
                           group_labels={"alertname": "PodCrashLooping"})


# -- delivery and retries ----------------------------------------------------------------------


async def test_two_server_errors_then_success_is_delivered_on_the_third_attempt() -> None:
    waits, ticks = Waits(), iter(range(10))
    base = time.time()
    async with receiving(500, 500) as (receiver, url), \
            sender(waits=waits, clock=lambda: base + next(ticks)) as s:
        result = await s.send(url, SECRET, payload())
    assert result == DeliveryResult(delivered=True, attempts=3, status=200, error=None)
    assert len(receiver.deliveries) == 3 and all(d.verified for d in receiver.deliveries)
    assert [json.loads(d.body) for d in receiver.deliveries] == [payload()] * 3
    # each attempt is signed at its own time
    assert [int(d.headers[TIMESTAMP_HEADER.lower()]) for d in receiver.deliveries] == [int(base) + i for i in range(3)]
    assert receiver.deliveries[0].headers["content-type"] == "application/json"
    # exponential: the second wait's range starts where the first's ends
    first, second = waits.asked
    assert 0.001 <= first <= 0.002 <= second <= 0.004


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_answers_are_tried_again(status: int) -> None:
    async with receiving(status) as (receiver, url), sender() as s:
        result = await s.send(url, SECRET, payload())
    assert (result.delivered, result.attempts, result.status) == (True, 2, 200)
    assert len(receiver.deliveries) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
async def test_other_client_errors_are_final(status: int) -> None:
    waits = Waits()
    async with receiving(status) as (receiver, url), sender(waits=waits) as s:
        result = await s.send(url, SECRET, payload())
    assert result == DeliveryResult(delivered=False, attempts=1, status=status,
                                    error=f"the receiver answered {status}")
    assert len(receiver.deliveries) == 1 and waits.asked == []


async def test_a_redirect_is_not_followed() -> None:
    async with receiving((307, {"Location": "/hook"})) as (receiver, url), sender() as s:
        result = await s.send(url, SECRET, payload())
    assert (result.delivered, result.attempts, result.status) == (False, 1, 307)
    assert len(receiver.deliveries) == 1


async def test_retry_after_is_honoured_up_to_the_cap() -> None:
    waits = Waits()
    async with receiving((429, {"Retry-After": "0"}), (429, {"Retry-After": "30"})) as (receiver, url), \
            sender(waits=waits) as s:
        result = await s.send(url, SECRET, payload())
    assert (result.delivered, result.attempts) == (True, 3)
    assert waits.asked == [0.0, CAP]  # the backoff alone would have waited between 1 and 4 ms
    assert len(receiver.deliveries) == 3


def test_retry_after_reads_seconds_and_dates() -> None:
    now = time.time()
    assert retry_after("12", now) == 12.0
    later = datetime.fromtimestamp(int(now) + 90, UTC)
    assert retry_after(format_datetime(later, usegmt=True), now) == pytest.approx(int(now) + 90 - now)
    assert retry_after(format_datetime(later - timedelta(hours=1), usegmt=True), now) == 0.0
    assert retry_after("soon", now) is None and retry_after(None, now) is None


async def test_delivery_gives_up_after_the_last_attempt() -> None:
    waits = Waits()
    async with receiving(*[503] * 10) as (receiver, url), sender(waits=waits, attempts=4) as s:
        result = await s.send(url, SECRET, payload())
    assert (result.delivered, result.attempts, result.status) == (False, 4, 503)
    assert result.error == "the receiver answered 503 (gave up after 4 attempts)"
    assert len(receiver.deliveries) == 4 and len(waits.asked) == 3


async def test_a_silent_receiver_times_out_and_is_retried() -> None:
    async with listening(silent=True) as (listener, port), sender(attempts=2, seconds=0.2) as s:
        result = await s.send(f"http://127.0.0.1:{port}/hook", SECRET, payload())
    assert (result.delivered, result.attempts, result.status) == (False, 2, None)
    assert result.error == "the receiver did not answer within 0.2s (gave up after 2 attempts)"
    assert listener.connections == 2


# -- the outbound policy -----------------------------------------------------------------------


async def test_refused_addresses_are_never_connected_to(caplog: pytest.LogCaptureFixture) -> None:
    resolve = stub_resolver({"hooks.tenant.test": ["127.0.0.1"]})
    strict = OutboundPolicy(resolve=resolve)
    lenient = OutboundPolicy(allowed=parse_networks(["127.0.0.0/8"]), resolve=resolve)
    async with listening() as (listener, port):
        async with sender(strict) as s:
            literal = await s.send(f"http://127.0.0.1:{port}/hook", SECRET, payload())
            metadata = await s.send("http://169.254.169.254/latest/meta-data/", SECRET, payload())
            caplog.set_level(logging.WARNING, "fleetgraph.alerts")
            named = await s.send(f"http://hooks.tenant.test:{port}/hook", SECRET, payload())
        assert listener.connections == 0
        # caught before any attempt: a literal address is refused as the URL is read
        assert (literal.delivered, literal.attempts) == (False, 0)
        assert literal.error == "the receiver's URL 127.0.0.1 is not an address this service may call"
        assert (metadata.delivered, metadata.attempts) == (False, 0)
        # caught at connect time, once: a refusal is not worth retrying, and it looks like a closed port
        assert named == DeliveryResult(False, 1, None, "could not connect to the receiver")
        assert "outbound policy" in caplog.text and SECRET not in caplog.text
        async with sender(lenient) as s:  # the same name, where loopback is allowed, does connect
            allowed = await s.send(f"http://hooks.tenant.test:{port}/hook", SECRET, payload())
        assert (allowed.delivered, allowed.status, listener.connections) == (True, 204, 1)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("hooks.example.com/alerts", "must start with https:// or http://"),
        ("ftp://hooks.example.com/alerts", "must start with https:// or http://"),
        ("file:///etc/passwd", "must start with https:// or http://"),
        ("https://", "must name a host"),
        ("https://hooks.example.com:99999/", "is not a valid URL"),
        ("https://hooks.example.com/a b", "may not contain spaces or control characters"),
        ("https://user:pw@hooks.example.com/alerts?token=abc", "may not contain a user name or password"),
        ("http://169.254.169.254/latest", "169.254.169.254 is not an address this service may call"),
        ("http://[fe80::1]/x", "fe80::1 is not an address this service may call"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is not an address"
                                                                 " this service may call"),
        ("http://127.0.0.1:9000/hook?token=abc", "127.0.0.1 is not an address this service may call"),
        ("http://10.1.2.3/hook", "10.1.2.3 is not an address this service may call"),
        ("", "must be a URL of at most 2048 characters"),
    ],
)
def test_unacceptable_receiver_urls_are_bad_input(url: str, message: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        validate_receiver_url(url, NO_LOOPBACK)
    assert raised.value.details == [{"field": "url", "message": message}]
    assert "abc" not in raised.value.message


@pytest.mark.parametrize("url", [
    "https://hooks.example.com/alerts?token=abc",
    "http://hooks.example.com:8080/alerts",
    "https://93.184.215.14/alerts",  # a global address
    "https://hooks.example.com./alerts",
])
def test_acceptable_receiver_urls_pass(url: str) -> None:
    validate_receiver_url(url, NO_LOOPBACK)


def test_loopback_passes_only_where_allowed() -> None:
    validate_receiver_url("http://127.0.0.1:9000/hook", LOOPBACK)
    with pytest.raises(BadUserInput):
        validate_receiver_url("http://127.0.0.1:9000/hook", NO_LOOPBACK)


# -- what errors may say -----------------------------------------------------------------------


async def test_the_secret_and_the_query_never_appear_in_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    closed_port = free_port()
    results: list[DeliveryResult] = []
    async with receiving(400, *[500] * 3) as (_, url), sender(attempts=3) as s:
        results.append(await s.send(url, SECRET, payload()))  # the receiver echoes the secret and the query
        results.append(await s.send(url, SECRET, payload()))
    async with sender(attempts=2, seconds=0.2) as s, listening(silent=True) as (_, port):
        results.append(await s.send(f"http://127.0.0.1:{closed_port}/hook?token={SECRET}", SECRET, payload()))
        results.append(await s.send(f"http://127.0.0.1:{port}/hook?token={SECRET}", SECRET, payload()))
    async with sender(NO_LOOPBACK) as s:
        results.append(await s.send(f"http://127.0.0.1:{port}/hook?token={SECRET}", SECRET, payload()))
    assert [r.error for r in results] == [
        "the receiver answered 400",
        "the receiver answered 500 (gave up after 3 attempts)",
        "could not connect to the receiver (gave up after 2 attempts)",
        "the receiver did not answer within 0.2s (gave up after 2 attempts)",
        "the receiver's URL 127.0.0.1 is not an address this service may call",
    ]
    for result in results:
        assert result.error is not None and SECRET not in result.error and "token" not in result.error
    assert SECRET not in caplog.text


# -- signatures --------------------------------------------------------------------------------


def test_a_signature_verifies_only_the_same_body_secret_and_recent_time() -> None:
    body, now = b'{"status":"firing"}', 1_714_564_800.7
    headers = sign(SECRET, body, now)
    assert headers[TIMESTAMP_HEADER] == "1714564800" and headers[SIGNATURE_HEADER].startswith("sha256=")
    assert len(headers[SIGNATURE_HEADER]) == len("sha256=") + 64
    assert verify(SECRET, body, headers, now)
    assert verify(SECRET, body.decode(), {k.lower(): v for k, v in headers.items()}, now + 299)
    assert not verify(SECRET, body + b" ", headers, now)
    assert not verify("another-secret", body, headers, now)
    assert not verify(SECRET, body, headers, now + 301)
    assert not verify(SECRET, body, headers, now - 301)
    assert not verify(SECRET, body, {TIMESTAMP_HEADER: "1714564801", SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, now)
    assert not verify(SECRET, body, {TIMESTAMP_HEADER: headers[TIMESTAMP_HEADER]}, now)
    assert not verify(SECRET, body, headers | {SIGNATURE_HEADER: headers[SIGNATURE_HEADER][7:]}, now)
    assert not verify("", body, headers, now)
    assert SECRET not in "".join(headers.values())


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    headers = sign("k", "{}", 1700000000)
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"


# -- the payload -------------------------------------------------------------------------------


def test_the_payload_has_alertmanagers_keys_and_times() -> None:
    firing, resolved = alert(), alert("resolved", namespace="billing")
    message = webhook_payload("ops-hook", [firing, resolved], external_url="https://fleetgraph.example",
                              group_labels={"alertname": "PodCrashLooping"})
    assert list(message) == ["receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations",
                             "externalURL", "version", "groupKey", "truncatedAlerts"]
    assert message["status"] == "firing" and message["version"] == "4" and message["truncatedAlerts"] == 0
    assert message["groupKey"] == '{}:{alertname="PodCrashLooping"}'
    assert message["commonLabels"] == {"alertname": "PodCrashLooping", "cluster": "cls_prod", "severity": "critical"}
    assert message["commonAnnotations"] == {"summary": "PodCrashLooping in shop"}
    first, second = message["alerts"]
    assert list(first) == ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"]
    assert (first["startsAt"], first["endsAt"]) == ("2024-05-01T12:00:00.25Z", "0001-01-01T00:00:00Z")
    assert (second["status"], second["endsAt"]) == ("resolved", "2024-05-01T12:07:00.25Z")
    only_resolved = webhook_payload("ops-hook", [resolved], external_url="", max_alerts=0)
    assert only_resolved["status"] == "resolved" and only_resolved["groupKey"] == "{}:{}"
    truncated = webhook_payload("ops-hook", [firing, resolved], external_url="", max_alerts=1)
    assert truncated["truncatedAlerts"] == 1 and len(truncated["alerts"]) == 1
    assert truncated["commonLabels"] == LABELS


def test_times_are_rfc3339_utc_with_z() -> None:
    in_paris = datetime(2024, 5, 1, 14, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    assert rfc3339(in_paris) == "2024-05-01T14:00:00Z"
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 0, 123456)) == "2024-05-01T12:00:00.123456Z"
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 0, 120000, tzinfo=UTC)) == "2024-05-01T12:00:00.12Z"


def test_an_alert_is_firing_or_resolved_with_its_resolution_time() -> None:
    with pytest.raises(ValueError):
        OutgoingAlert("f", "resolved", LABELS, {}, STARTED, None, "")
    with pytest.raises(ValueError):
        OutgoingAlert("f", "pending", LABELS, {}, STARTED, None, "")  # type: ignore[arg-type]
