"""How one cluster is called: the kubernetes-asyncio ``ApiClient`` plus the guards around each call.

Order of the guards for every call: a concurrency slot (``asyncio.Semaphore``) and a token from
the bucket, both waited for within the call's timeout; then the circuit breaker (purgatory),
which fails at once while open; then the HTTP exchange with the time left. Connection errors,
timeouts and 5xx answers count as breaker failures; 4xx answers, 429 included, do not (the
cluster is up and answering). Reads (GET) are retried with exponential backoff and jitter on
connection errors, 5xx and 429 (waiting ``Retry-After`` when given); writes are never retried;
a timeout is not retried either, since the same wait would follow.

Watches take a token and pass the breaker to open, but no concurrency slot: they last minutes.
Their tokens come from a bucket of their own, so the watches a cold dashboard opens right after
its LISTs never delay the LISTs that the request is waiting for.

Connections: with ``ClientOptions.outbound`` set, every connection (redirects included) goes only
to an address the outbound policy allows, checked at connect time (``app.k8s.connector``); a
refusal is not retried. Why a cluster could not be reached goes to the log, not to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode

import aiohttp
from kubernetes_asyncio import client as k8s
from multidict import CIMultiDict
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from app.errors import AppError, UpstreamTimeout, UpstreamUnavailable
from app.outbound import OutboundPolicy

from .connector import install, refused
from .identity import Identity
from .kubeconfig import ClusterConnection
from .paths import ApiPath, CollectionPath, FixedPath, ObjectPath
from .status import parse_status, retry_after, status_error
from .throttle import TokenBucket

log = logging.getLogger("fleetgraph.k8s")


@dataclass(frozen=True)
class ClientOptions:
    """Per-cluster call settings; every field can also be given to ``ClusterClient`` as a keyword."""

    timeout: float = 10.0  # seconds per attempt, waiting for a slot and a token included
    max_concurrency: int = 16
    qps: float = 5.0
    burst: int = 10
    retries: int = 3  # extra attempts for reads
    backoff_base: float = 0.2
    backoff_max: float = 5.0
    max_retry_after: float = 10.0  # cap on a server's Retry-After
    breaker_threshold: int = 5  # consecutive failures that open the circuit
    breaker_reset: float = 30.0  # seconds open before one trial call (half-open)
    watch_timeout: int = 300  # server-side timeoutSeconds of one watch request
    impersonate: bool = True  # send Impersonate-* headers for the caller's identity
    user_agent: str = "fleetgraph"
    outbound: OutboundPolicy | None = None  # the policy for tenants' addresses; None: any (operator-chosen)


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Failure(Exception):
    """A failed attempt: counts against the breaker when raised inside it; retried when ``retry`` is set."""

    def __init__(self, error: AppError, retry: bool, wait: float | None = None) -> None:
        super().__init__(error.message)
        self.error, self.retry, self.wait = error, retry, wait


@dataclass
class _Files:
    """Credentials as files, because ``ssl`` loads CA and client certificates only from paths."""

    directory: str | None = None
    paths: dict[str, str] = field(default_factory=dict)

    def write(self, name: str, data: str | None) -> str | None:
        if not data:
            return None
        if self.directory is None:
            self.directory = tempfile.mkdtemp(prefix="fleetgraph-k8s-")
        path = os.path.join(self.directory, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(data)
        self.paths[name] = path
        return path

    def remove(self) -> None:
        for path in self.paths.values():
            with contextlib.suppress(OSError):
                os.unlink(path)
        if self.directory:
            with contextlib.suppress(OSError):
                os.rmdir(self.directory)
        self.paths.clear()


def configuration(connection: ClusterConnection, files: _Files) -> k8s.Configuration:
    config = k8s.Configuration(host=connection.server)
    if connection.token:
        config.api_key = {"BearerToken": connection.token}
        config.api_key_prefix = {"BearerToken": "Bearer"}
    config.ssl_ca_cert = files.write("ca.crt", connection.ca_data)
    config.cert_file = files.write("client.crt", connection.client_cert_data)
    config.key_file = files.write("client.key", connection.client_key_data)
    config.verify_ssl = not connection.insecure_skip_tls_verify
    config.tls_server_name = connection.tls_server_name
    return config


class Transport:
    def __init__(self, name: str, connection: ClusterConnection, options: ClientOptions,
                 breakers: AsyncCircuitBreakerFactory | None = None) -> None:
        self.name, self.connection, self.options = name, connection, options
        self.calls: Counter[tuple[str, str]] = Counter()
        self.errors = 0  # requests and watches that failed: unreachable, timed out, 5xx, circuit open
        self._files = _Files()
        self._config = configuration(connection, self._files)
        self._api: k8s.ApiClient | None = None
        self._slots = asyncio.Semaphore(max(1, options.max_concurrency))
        self._bucket = TokenBucket(options.qps, options.burst)
        self._watch_bucket = TokenBucket(options.qps, options.burst)
        self._breakers = breakers or AsyncCircuitBreakerFactory(
            default_threshold=options.breaker_threshold, default_ttl=options.breaker_reset)

    @property
    def api(self) -> k8s.ApiClient:
        """Made on first use, so a client can be built outside a running event loop."""
        if self._api is None:
            self._api = k8s.ApiClient(self._config)
            self._api.user_agent = self.options.user_agent
            install(self._api, self._config, self.options.outbound)
        return self._api

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()
            self._api = None
        self._files.remove()

    async def circuit_state(self) -> str:
        """``closed``, ``opened`` or ``half-opened``."""
        return str((await self._breaker()).context.state)

    async def _breaker(self) -> Any:
        return await self._breakers.get_breaker(
            self.name, self.options.breaker_threshold, self.options.breaker_reset,
            exclude=[asyncio.CancelledError])

    async def _headers(self, identity: Identity | None, content_type: str | None) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict({"Accept": "application/json"})
        headers["Content-Type"] = content_type or "application/json"
        auth: dict[str, str] = {}
        await self.api.update_params_for_auth(auth, [], ["BearerToken"])
        headers.update(auth)
        if identity is not None and self.options.impersonate:
            for key, value in identity.headers():
                headers.add(key, value)
        return headers

    async def request(self, method: str, path: ApiPath, *, verb: str, kind: str,
                      query: list[tuple[str, str]] | None = None, body: Any = None, content_type: str | None = None,
                      identity: Identity | None = None) -> Reply:
        """One call, retried when it is a read; a 4xx answer is returned, anything else raises."""
        attempts = 1 + (max(0, self.options.retries) if method == "GET" else 0)
        for attempt in range(attempts):
            try:
                return await self._attempt(method, path, verb, kind, query, body, content_type, identity)
            except _Failure as failure:
                if not failure.retry or attempt + 1 >= attempts:
                    raise failure.error from None
                await asyncio.sleep(self._delay(attempt, failure.wait))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, wait: float | None) -> float:
        if wait is not None:
            return min(wait, self.options.max_retry_after)
        ceiling = min(self.options.backoff_max, self.options.backoff_base * 2 ** attempt)
        return ceiling * random.uniform(0.5, 1.0)

    async def _attempt(self, method: str, path: ApiPath, verb: str, kind: str, query: list[tuple[str, str]] | None,
                       body: Any, content_type: str | None, identity: Identity | None) -> Reply:
        deadline = time.monotonic() + self.options.timeout
        try:
            async with asyncio.timeout(self.options.timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise self._timeout("waiting for a free connection") from None
        try:
            reply = await self._guarded(method, path, verb, kind, query, body, content_type, identity, deadline)
        except _Failure:
            self.errors += 1
            raise
        finally:
            self._slots.release()
        if reply.status == 429:
            error = status_error(self.name, 429, reply.body)
            raise _Failure(error, retry=True, wait=retry_after(reply.headers, parse_status(reply.body)))
        return reply

    async def _guarded(self, method: str, path: ApiPath, verb: str, kind: str, query: list[tuple[str, str]] | None,
                       body: Any, content_type: str | None, identity: Identity | None, deadline: float) -> Reply:
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await self._bucket.acquire()
            headers = await self._headers(identity, content_type)
            async with await self._breaker():
                self.calls[(verb, kind)] += 1
                return await self._exchange(method, path, query, headers, body, deadline)
        except OpenedState:
            raise _Failure(self._circuit_open(), retry=False) from None
        except TimeoutError:
            raise _Failure(self._timeout(), retry=False) from None
        except aiohttp.ClientError as exc:
            raise _Failure(self._unreachable(exc), retry=not refused(exc)) from None

    async def _exchange(self, method: str, path: ApiPath, query: list[tuple[str, str]] | None,
                        headers: CIMultiDict[str], body: Any, deadline: float) -> Reply:
        timeout = aiohttp.ClientTimeout(total=max(0.001, deadline - time.monotonic()))
        response = await self.api.rest_client.request(
            method, self._url(path, query), headers=cast(Any, headers), body=body,
            _preload_content=False, _request_timeout=timeout)
        try:
            data = await response.read()
        finally:
            response.release()
        if response.status >= 500:
            status = parse_status(data)
            raise _Failure(status_error(self.name, response.status, status), retry=True,
                           wait=retry_after(response.headers, status) if response.status == 503 else None)
        return Reply(response.status, response.headers, data)

    @contextlib.asynccontextmanager
    async def stream(self, path: ApiPath, *, kind: str, query: list[tuple[str, str]], read_timeout: float | None,
                     identity: Identity | None = None, verb: str = "watch") -> AsyncIterator[aiohttp.ClientResponse]:
        """An open streaming GET (a watch, a followed log); a non-200 answer raises its mapped error.
        ``read_timeout`` bounds the silence between two reads (None: a stream may stay quiet)."""
        try:
            async with asyncio.timeout(self.options.timeout):
                await self._watch_bucket.acquire()
            headers = await self._headers(identity, None)
            async with await self._breaker():
                self.calls[(verb, kind)] += 1
                async with asyncio.timeout(self.options.timeout):  # for the answer; the stream may then last
                    response, refused = await self._open(path, query, headers, read_timeout)
        except OpenedState:
            self.errors += 1
            raise self._circuit_open() from None
        except TimeoutError:
            self.errors += 1
            raise self._timeout() from None
        except aiohttp.ClientError as exc:
            self.errors += 1
            raise self._unreachable(exc) from None
        except _Failure as failure:
            self.errors += 1
            raise failure.error from None
        if refused is not None:
            raise refused
        try:
            yield response
        finally:
            response.close()

    async def _open(self, path: ApiPath, query: list[tuple[str, str]], headers: CIMultiDict[str],
                    read_timeout: float | None) -> tuple[aiohttp.ClientResponse, AppError | None]:
        """The open response, or the error a 4xx answer maps to (returned: it is no breaker failure)."""
        timeout = aiohttp.ClientTimeout(total=None, connect=self.options.timeout,
                                        sock_connect=self.options.timeout, sock_read=read_timeout)
        response = await self.api.rest_client.request(
            "GET", self._url(path, query), headers=cast(Any, headers), _preload_content=False,
            _request_timeout=timeout)
        if response.status == 200:
            return response, None
        try:
            data = await response.read()
        finally:
            response.release()
        error = status_error(self.name, response.status, data)
        if response.status >= 500:
            raise _Failure(error, retry=False)
        return response, error

    def _url(self, path: ApiPath, query: list[tuple[str, str]] | None) -> str:
        """The full URL, from a path whose parts were checked when it was made (``app.k8s.paths``).

        Headers go as a multidict so that ``Impersonate-Group`` can repeat.
        """
        if not isinstance(path, CollectionPath | ObjectPath | FixedPath):
            raise TypeError(f"a request path must be built by app.k8s.paths, not {type(path).__name__}")
        return self.connection.server.rstrip("/") + str(path) + (f"?{urlencode(query)}" if query else "")

    def _timeout(self, doing: str = "answering") -> UpstreamTimeout:
        return UpstreamTimeout(f"cluster {self.name} timed out {doing} (limit {self.options.timeout:g}s)")

    def _unreachable(self, exc: BaseException) -> UpstreamUnavailable:
        """The same error whatever failed (refused address, closed port, TLS): the detail is logged only."""
        log.info("cluster %s is unreachable: %s: %s", self.name, exc.__class__.__name__, exc)
        return UpstreamUnavailable(f"cluster {self.name} is unreachable")

    def _circuit_open(self) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            f"cluster {self.name} is unavailable: calls are suspended after repeated failures "
            f"(retrying within {self.options.breaker_reset:g}s)")
