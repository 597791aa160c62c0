"""When a live stream must end: its token expires, or the session behind it ended.

Each stream holds one timer (a `loop.call_at` handle, re-armed after each check), never a
timeout per event; and the streams of one session share a single database check per interval,
however many of them that session holds open.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

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

    def fire_now(self) -> None:
        """Ring before the time set: the stream rechecks at its next read."""
        self.cancel()
        self._fire()

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

    def forget(self, keys: Iterable[SessionKey]) -> None:
        """Drop remembered answers, so the next check asks the database again."""
        for key in keys:
            self._answers.pop(key, None)

    def forget_all(self) -> None:
        self._answers.clear()

    def _forget_older_than(self, moment: float) -> None:
        for key in [k for k, (at, future) in self._answers.items() if at < moment and future.done()]:
            del self._answers[key]


def _failed(future: asyncio.Future[bool]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


SIGN_OUT_CHANNEL = "fleetgraph:sign-outs"


def sign_out_message(
    sessions: Iterable[str] = (),
    api_tokens: Iterable[str] = (),
    users: Iterable[str] = (),
    tenants: Iterable[str] = (),
) -> dict[str, Any]:
    """What the bus carries when sessions, API tokens, or all of a user's or a tenant's credentials end."""
    return {
        "sessions": sorted(set(sessions)),
        "apiTokens": sorted(set(api_tokens)),
        "users": sorted(set(users)),
        "tenants": sorted(set(tenants)),
    }


class SignOuts:
    """The live streams of this process by the session, API token and user behind them.

    A sign-out published on the bus (by whichever replica revoked the credential, after its
    commit) reaches every replica: each forgets its remembered answer for those credentials and
    fires their streams' alarms at once, so the streams recheck now and end, rather than at
    their next recheck interval.
    """

    def __init__(self, checks: SessionChecks) -> None:
        self.checks = checks
        self._alarms: dict[str, set[Alarm]] = defaultdict(set)
        self.received = 0  # sign-outs heard on the bus
        self.woken = 0  # streams they rang

    def watch(self, principal: Principal, alarm: Alarm) -> Callable[[], None]:
        """Ring `alarm` when `principal`'s credentials end; returns what stops that."""
        keys = self._keys(principal)
        for key in keys:
            self._alarms[key].add(alarm)

        def stop() -> None:
            for key in keys:
                alarms = self._alarms.get(key)
                if alarms is not None:
                    alarms.discard(alarm)
                    if not alarms:
                        del self._alarms[key]

        return stop

    def ended(self, message: dict[str, Any]) -> None:
        """A sign-out from the bus: the streams of those credentials recheck now."""
        self.received += 1
        sessions, tokens = message.get("sessions") or [], message.get("apiTokens") or []
        users, tenants = message.get("users") or [], message.get("tenants") or []
        self.checks.forget([(s, None) for s in sessions] + [(None, t) for t in tokens])
        if users or tenants:
            self.checks.forget_all()
        keys = [f"s:{s}" for s in sessions] + [f"t:{t}" for t in tokens]
        keys += [f"u:{u}" for u in users] + [f"n:{n}" for n in tenants]
        woken = {alarm for key in keys for alarm in self._alarms.get(key, ())}
        for alarm in woken:
            alarm.fire_now()
        self.woken += len(woken)

    @staticmethod
    def _keys(principal: Principal) -> list[str]:
        keys = [f"u:{principal.user_id}"]
        if principal.tenant_id:
            keys.append(f"n:{principal.tenant_id}")
        if principal.session_id:
            keys.append(f"s:{principal.session_id}")
        if principal.api_token_id:
            keys.append(f"t:{principal.api_token_id}")
        return keys
