"""When a live stream must end: its token expires, or the session behind it ended.

Each stream holds one timer (a `loop.call_at` handle, re-armed after each check), never a
timeout per event; and the streams of one session share a single database check per interval,
however many of them that session holds open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from app.auth.principal import Principal
from app.db.types import utcnow

SessionKey = tuple[str | None, str | None]


class Alarm:
    """One timer for one stream: `due` turns true when it fires, and `wake` is called."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self.due = False
        self._handle: asyncio.TimerHandle | None = None

    def set(self, seconds: float) -> None:
        self.cancel()
        self.due = False
        self._handle = asyncio.get_running_loop().call_later(max(0.0, seconds), self._fire)

    def _fire(self) -> None:
        self._handle = None
        self.due = True
        self.wake()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def seconds_until(moment: datetime) -> float:
    return (moment - utcnow()).total_seconds()


class SessionChecks:
    """`still_signed_in` answers shared by every stream of a session for `max_age` seconds.

    Thousands of streams opened with one token would otherwise each query the database once per
    interval; here a check in flight is awaited by all of them, and a fresh answer is reused.
    A failed check is not remembered.
    """

    def __init__(self) -> None:
        self.queries = 0
        self._answers: dict[SessionKey, tuple[float, asyncio.Future[bool]]] = {}

    async def signed_in(self, principal: Principal, check: Callable[[], Awaitable[bool]], max_age: float) -> bool:
        loop = asyncio.get_running_loop()
        key = (principal.session_id, principal.api_token_id)
        now = loop.time()
        answer = self._answers.get(key)
        if answer is None or now - answer[0] > max_age or _failed(answer[1]):
            if len(self._answers) > 1024:
                self._forget_older_than(now - max_age)
            answer = (now, asyncio.ensure_future(self._ask(check)))
            self._answers[key] = answer
        return await asyncio.shield(answer[1])

    async def _ask(self, check: Callable[[], Awaitable[bool]]) -> bool:
        self.queries += 1
        return await check()

    def _forget_older_than(self, moment: float) -> None:
        for key in [k for k, (at, future) in self._answers.items() if at < moment and future.done()]:
            del self._answers[key]


def _failed(future: asyncio.Future[bool]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)
