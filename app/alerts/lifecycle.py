"""An alert's life, with Prometheus' semantics: pending → firing → resolved.

A condition that starts holding makes a pending alert (or a firing one at once when the rule's `for`
is 0). A pending alert fires once its condition has held for `for` seconds; one that stops holding
before then is dropped, never having fired (Prometheus deletes it; nothing was notified). A firing
alert whose condition stops holding is resolved. A resolved alert whose condition holds again is a
new alert (a new stored row, with its own start), pending again.

`advance` is called with each evaluation of a condition (on every event that touches its object, and
at the moment `due` names), so a pending alert fires on time without polling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.alerts.rules import Rule

PENDING, FIRING, RESOLVED = "pending", "firing", "resolved"
DROPPED = "dropped"


@dataclass(frozen=True)
class AlertState:
    """What is stored for one fingerprint; `rule` is the rule's code, which `due` needs for its `for`."""

    fingerprint: str
    rule: str
    state: str  # "pending" | "firing" | "resolved"
    active_since: datetime
    fired_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """A change of state. `kind` is the state entered ("pending", "firing", "resolved") or "dropped"
    (a pending alert whose condition stopped: `state` is None, delete the row). `new_alert` is true when
    the state belongs to a new alert row: the first time the condition holds, or again after a resolve."""

    kind: str
    state: AlertState | None
    previous: AlertState | None
    new_alert: bool = False


def _start(fingerprint: str, rule: str, now: datetime, for_seconds: int) -> AlertState:
    if for_seconds == 0:
        return AlertState(fingerprint, rule, FIRING, now, fired_at=now)
    return AlertState(fingerprint, rule, PENDING, now)


def advance(current: AlertState | None, holding: bool, now: datetime, for_seconds: int, *,
            fingerprint: str | None = None, rule: str | None = None) -> Transition | None:
    """The transition one evaluation causes, or None when the state stays as it is.

    `fingerprint` and `rule` name a new alert; they are needed only when `current` is None (they default
    to those of `current` after a resolve).
    """
    if for_seconds < 0:
        raise ValueError("for_seconds must be 0 or more")
    if current is None or current.state == RESOLVED:
        if not holding:
            return None
        fingerprint = fingerprint or (current.fingerprint if current else None)
        rule = rule or (current.rule if current else None)
        if not fingerprint or not rule:
            raise ValueError("a new alert needs its fingerprint and rule")
        state = _start(fingerprint, rule, now, for_seconds)
        return Transition(state.state, state, current, new_alert=True)
    if current.state == PENDING:
        if not holding:
            return Transition(DROPPED, None, current)
        if now - current.active_since >= timedelta(seconds=for_seconds):
            return Transition(FIRING, replace(current, state=FIRING, fired_at=now), current)
        return None
    if current.state == FIRING and not holding:
        return Transition(RESOLVED, replace(current, state=RESOLVED, resolved_at=now), current)
    return None


def fires_at(state: AlertState, for_seconds: int) -> datetime | None:
    """When a pending alert is due to fire if its condition keeps holding."""
    return state.active_since + timedelta(seconds=for_seconds) if state.state == PENDING else None


def due(states: Iterable[AlertState], now: datetime, rules: Mapping[str, Rule]) -> datetime | None:
    """The next moment a pending alert is due to fire (never earlier than `now`: an overdue one is due
    now), so the runtime can sleep until then. Alerts of rules no longer in `rules` are left out."""
    moments = [moment for state in states if state.state == PENDING and state.rule in rules
               if (moment := fires_at(state, rules[state.rule].for_seconds)) is not None]
    return max(min(moments), now) if moments else None
