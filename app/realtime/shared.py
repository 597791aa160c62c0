"""Subscriptions that ask the same thing share the work of each event.

What a subscriber is sent for an event depends on the event, the document and operation, the
variables and what the caller may see. Subscribers alike in the last four share one
`Selection`, which executes the document on an event once and JSON-encodes the result once;
each subscriber then only frames that text with its operation id and writes it to its own
websocket. What decides *which* events a subscriber gets (its authorisation at subscribe
time, its filter, its bounded mailbox) stays per subscriber.

The websocket handlers set a `Delivery` for each operation's task (`current_delivery`); a
subscription field opts in by passing its events through `deliver()`, which then sends them
itself instead of yielding them to graphql-core's per-subscriber execution. Without a
delivery (any other caller of the schema) `deliver()` yields the field's values as usual.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import DocumentNode, ExecutionResult, GraphQLError
from graphql.execution import Executor, execute_subscription_event
from strawberry.types import Info

from app.auth.principal import Principal

Encode = Callable[[object], str]
E = TypeVar("E")
T = TypeVar("T")
RECENT_EVENTS = 512  # results kept per selection (by identity and content), for subscribers a little behind


@dataclass
class SharingStats:
    executions: int = 0  # an event executed for a selection
    encodings: int = 0  # an execution result encoded as JSON
    deliveries: int = 0  # a message written to a subscriber


@dataclass(frozen=True)
class Payload:
    data: Any
    errors: list[GraphQLError] | None
    text: str | None  # `data` encoded, when there are no errors to format per subscriber


def event_key(event: object) -> Hashable:
    """Equal for events that execute alike: a dict's values compared, nested objects (and events
    that are not dicts) by identity; the cache entry keeps its event alive, so an identity is not
    reused while its key is remembered."""
    if not isinstance(event, dict):
        return ("#", id(event))
    return tuple((k, ("#", id(v)) if isinstance(v, dict | list) else v) for k, v in event.items())


class Selection:
    """One (document, operation, variables, visibility): each event executed and encoded once."""

    def __init__(self, executor: Executor, encode: Encode, stats: SharingStats) -> None:
        self.executor = executor
        self.encode = encode
        self.stats = stats
        self.users = 0
        self._recent: OrderedDict[Hashable, tuple[Any, Payload]] = OrderedDict()

    async def payload(self, event: E, to_root: Callable[[E], object]) -> Payload:
        """Found by the event's identity (the same dict handed to every subscriber), else by its
        content (a copy a subscriber's mailbox or filter made), else executed and remembered."""
        known = self._recent.get(id(event))
        if known is not None and known[0] is event:
            return known[1]
        key = event_key(event)
        known = self._recent.get(key)
        if known is not None:
            self._remember(id(event), event, known[1])
            return known[1]
        result = execute_subscription_event(self.executor.build_per_event_executor(to_root(event)))
        if not isinstance(result, ExecutionResult):
            result = await result
        self.stats.executions += 1
        text = None
        if not result.errors:
            text = self.encode(result.data)
            self.stats.encodings += 1
        payload = Payload(result.data, result.errors, text)
        self._remember(key, event, payload)
        self._remember(id(event), event, payload)
        return payload

    def _remember(self, key: Hashable, event: object, payload: Payload) -> None:
        self._recent[key] = (event, payload)
        if len(self._recent) > RECENT_EVENTS:
            self._recent.popitem(last=False)


class Selections:
    """The live selections of this process, each kept while a subscriber uses it."""

    def __init__(self) -> None:
        self.stats = SharingStats()
        self._live: dict[Hashable, Selection] = {}

    def acquire(self, key: Hashable, build: Callable[[], Executor], encode: Encode) -> Selection:
        selection = self._live.get(key)
        if selection is None:
            selection = self._live[key] = Selection(build(), encode, self.stats)
        selection.users += 1
        return selection

    def release(self, key: Hashable, selection: Selection) -> None:
        selection.users -= 1
        if selection.users <= 0 and self._live.get(key) is selection:
            del self._live[key]

    def __len__(self) -> int:
        return len(self._live)


def visibility(principal: Principal | None) -> Hashable:
    """What decides what a caller may see of an event: tenant, role, permissions, per-cluster roles."""
    if principal is None:
        return None
    return (
        principal.tenant_id,
        principal.role,
        principal.permissions,
        tuple(sorted(principal.cluster_roles.items())),
        principal.must_change_password,
    )


@dataclass
class Delivery:
    """One operation's way to its websocket; `envelope` is the message without its payload."""

    send: Callable[[str], Awaitable[bool]]  # False once the client is gone
    envelope: dict[str, object]
    key: Hashable
    variables: dict[str, object] | None
    encode: Encode
    extensions: Callable[[], Awaitable[dict[str, Any]]]
    format_errors: Callable[[list[GraphQLError]], list[dict[str, Any]]]
    selections: Selections

    async def run(self, info: Info, events: AsyncIterator[E], to_root: Callable[[E], object]) -> None:
        """Send each event's shared payload until the events end (or raise)."""
        selection = self.selections.acquire(self.key, lambda: self._executor(info), self.encode)
        stats = self.selections.stats
        try:
            extensions = await self.extensions()
            head, tail = self._frame(extensions)
            async with _closing(events):
                async for event in events:
                    payload = await selection.payload(event, to_root)
                    text = head + payload.text + tail if payload.text else self._with_errors(payload, extensions)
                    if not await self.send(text):
                        return
                    stats.deliveries += 1
        finally:
            self.selections.release(self.key, selection)

    def _frame(self, extensions: dict[str, Any]) -> tuple[str, str]:
        """The message around the encoded data, as the whole message would have been encoded."""
        head = self.encode(self.envelope)[:-1] + ',"payload":{"data":'
        tail = (',"extensions":' + self.encode(extensions) if extensions else "") + "}}"
        return head, tail

    def _with_errors(self, payload: Payload, extensions: dict[str, Any]) -> str:
        body: dict[str, object] = {"data": payload.data, "errors": self.format_errors(payload.errors or [])}
        if extensions:
            body["extensions"] = extensions
        return self.encode({**self.envelope, "payload": body})

    def _executor(self, info: Info) -> Executor:
        raw = info._raw_info
        document = DocumentNode(definitions=(raw.operation, *raw.fragments.values()))
        executor_class: type[Executor] = getattr(info.schema, "execution_context_class", None) or Executor
        executor = executor_class.build(raw.schema, document, None, raw.context, dict(self.variables or {}))
        if isinstance(executor, list):  # the same document and variables were valid a moment ago
            raise RuntimeError(f"cannot share the subscription's execution: {executor}")
        return executor


@contextlib.asynccontextmanager
async def _closing(events: AsyncIterator[E]) -> AsyncIterator[AsyncIterator[E]]:
    """Close the events' generator however the loop over them ends (its `finally` frees its slot)."""
    try:
        yield events
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


current_delivery: ContextVar[Delivery | None] = ContextVar("current_delivery", default=None)


async def deliver(info: Info, events: AsyncIterator[E], to_root: Callable[[E], T]) -> AsyncIterator[T]:
    """A subscription field's values: sent by the operation's delivery when its handler set one
    (nothing is yielded then), else yielded for graphql-core to execute as usual."""
    delivery = current_delivery.get()
    if delivery is None:
        async with _closing(events):
            async for event in events:
                yield to_root(event)
        return
    await delivery.run(info, events, to_root)
