"""Posting notifications to the webhook receivers tenants register, signed and retried.

A receiver's URL is a tenant's choice, so every connection to it passes the outbound policy at
connect time, through the same connector the Kubernetes clients use (``app.k8s.connector``):
names resolve to allowed addresses only, literals are checked before connecting, environment
proxies are ignored and redirects are not followed (a redirect is the receiver's answer, not a
new address to call). ``validate_receiver_url`` tells a tenant admin at registration what can
be told without connecting: a malformed URL, a scheme other than http or https, credentials in
the URL (the signature authenticates us; a receiver's own secret belongs in its query or path),
or a literal address the policy refuses.

``deliver`` is the retry loop shared with the Alertmanager forwarder: connection errors,
timeouts, 408, 429 and 5xx are tried again after an exponential backoff with jitter (429's and
503's ``Retry-After`` is honoured, up to the backoff's cap); any other answer is final. A
``DeliveryResult``'s error is written here, from the kind of failure and the status code only,
so it never carries the secret, the URL's query or anything the receiver answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from app import __version__
from app.alerts.signing import sign
from app.errors import BadUserInput
from app.k8s.connector import PolicyConnector, refused
from app.outbound import METADATA_NAMES, OutboundPolicy, literal_address

log = logging.getLogger("fleetgraph.alerts")

TIMEOUT_SECONDS = 10.0
USER_AGENT = f"Fleetgraph/{__version__}"
SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 2048
RETRY_STATUSES = frozenset({408, 429})  # and every 5xx
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Backoff:
    """When to try again: the n-th retry waits ``min(cap, base * factor**(n-1))``, its upper half
    chosen at random (so receivers coming back are not hit by every sender at once), or what the
    receiver's ``Retry-After`` asks, never more than ``cap``; at most ``attempts`` tries in all."""

    attempts: int = 5
    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: Callable[[], float] = field(default=random.random, compare=False)  # in [0, 1)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError("a backoff needs attempts >= 1, base >= 0, factor >= 1 and cap >= 0")

    def delay(self, retry: int, asked: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the second attempt)."""
        if asked is not None:
            return min(self.cap, max(0.0, asked))
        ceiling = min(self.cap, self.base * self.factor ** (retry - 1))
        return ceiling / 2 + ceiling / 2 * self.jitter()


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    attempts: int
    status: int | None = None  # the last HTTP status received, if any
    error: str | None = None  # why it was not delivered, for the admin to read


@dataclass(frozen=True)
class _Outcome:
    """What one attempt came to."""

    status: int | None
    error: str | None
    retry: bool = False
    asked: float | None = None  # seconds the answer's Retry-After asked for


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` asks to wait (delta-seconds or an HTTP date); ``None`` if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def _answer(status: int, asked: float | None, what: str) -> _Outcome:
    if 200 <= status < 300:
        return _Outcome(status, None)
    if 300 <= status < 400:
        return _Outcome(status, f"the {what} answered {status}; redirects are not followed")
    retry = status in RETRY_STATUSES or status >= 500
    return _Outcome(status, f"the {what} answered {status}", retry=retry, asked=asked)


def _failure(exc: aiohttp.ClientError, what: str) -> _Outcome:
    """An attempt that got no answer: the error text names the kind of failure, never the exception's own text."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return _Outcome(None, f"the TLS connection to the {what} failed")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if refused(exc):  # told apart in the log only: to the tenant it looks like a closed port
            log.warning("a connection to a %s was refused by the outbound policy: %s", what, exc.os_error)
            return _Outcome(None, f"could not connect to the {what}")
        return _Outcome(None, f"could not connect to the {what}", retry=True)
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return _Outcome(None, f"the connection to the {what} was lost", retry=True)
    return _Outcome(None, f"the request to the {what} failed ({type(exc).__name__})")


async def _attempt(session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str],
                   seconds: float, clock: Callable[[], float], what: str) -> _Outcome:
    try:
        async with session.post(url, data=body, headers=dict(headers), allow_redirects=False,
                                timeout=aiohttp.ClientTimeout(total=seconds)) as response:
            asked = None
            if response.status in RETRY_AFTER_STATUSES:
                asked = retry_after(response.headers.get("Retry-After"), clock())
            return _answer(response.status, asked, what)
    except TimeoutError:
        return _Outcome(None, f"the {what} did not answer within {seconds:g}s", retry=True)
    except aiohttp.ClientError as exc:
        return _failure(exc, what)


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    *,
    headers: Callable[[], Mapping[str, str]],
    backoff: Backoff,
    attempt_seconds: float = TIMEOUT_SECONDS,
    clock: Callable[[], float] = time.time,
    what: str = "receiver",
) -> DeliveryResult:
    """POST ``body`` to ``url`` until it is accepted (2xx), refused for good, or ``backoff`` gives up.
    Each attempt may take ``attempt_seconds``; ``headers`` is called before every attempt, so each
    one can be signed at its own time."""
    attempt = 0
    while True:
        attempt += 1
        outcome = await _attempt(session, url, body, headers(), attempt_seconds, clock, what)
        if outcome.error is None:
            return DeliveryResult(True, attempt, outcome.status)
        if not outcome.retry:
            return DeliveryResult(False, attempt, outcome.status, outcome.error)
        if attempt >= backoff.attempts:
            return DeliveryResult(False, attempt, outcome.status, f"{outcome.error} (gave up after {attempt} attempts)")
        await backoff.sleep(backoff.delay(attempt, outcome.asked))


def receiver_url_problem(url: str, policy: OutboundPolicy) -> str | None:
    """Why ``url`` cannot be a receiver's, or ``None``; the text never repeats the URL's query."""
    if not url or len(url) > MAX_URL_LENGTH:
        return f"must be a URL of at most {MAX_URL_LENGTH} characters"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "may not contain spaces or control characters"
    try:
        parsed = URL(url)
        port = parsed.port
        host = parsed.raw_host
    except (ValueError, TypeError):
        return "is not a valid URL"
    if parsed.scheme.lower() not in SCHEMES:
        return "must start with https:// or http://"
    if not host:
        return "must name a host"
    if parsed.user is not None or parsed.password is not None:
        return "may not contain a user name or password"
    if host.rstrip(".").lower() in METADATA_NAMES:
        return f"{host} is not an address this service may call"
    literal = literal_address(host)
    if literal is not None and policy.refusal(literal, port or 0) is not None:
        return f"{host} is not an address this service may call"
    return None


def validate_receiver_url(url: str, policy: OutboundPolicy) -> None:
    """``BadUserInput`` on the ``url`` field when ``url`` cannot be a receiver's."""
    problem = receiver_url_problem(url, policy)
    if problem is not None:
        raise BadUserInput.field("url", problem)


def encode(payload: Mapping[str, Any] | list[Any]) -> bytes:
    """A payload as the compact UTF-8 JSON that is sent and signed."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSender:
    """Posts signed notifications to receivers, every connection through ``policy``; one
    connection pool for all receivers, opened on first use, closed by ``close``."""

    def __init__(self, policy: OutboundPolicy, *, backoff: Backoff | None = None,
                 timeout: float = TIMEOUT_SECONDS, clock: Callable[[], float] = time.time,
                 connections: int = 100) -> None:
        self.policy = policy
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.clock = clock
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = PolicyConnector(self.policy, limit=self.connections)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def send(self, url: str, secret: str, payload: Mapping[str, Any]) -> DeliveryResult:
        """Deliver ``payload`` (a webhook message) to ``url``, signed with the receiver's ``secret``."""
        problem = receiver_url_problem(url, self.policy)
        if problem is not None:
            return DeliveryResult(False, 0, None, f"the receiver's URL {problem}")
        body = encode(payload)

        def headers() -> dict[str, str]:
            return {"Content-Type": "application/json", "User-Agent": USER_AGENT, **sign(secret, body, self.clock())}

        return await deliver(self.session(), url, body, headers=headers, backoff=self.backoff,
                             attempt_seconds=self.timeout, clock=self.clock)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
